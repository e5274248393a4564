// Task-balanced memory: the capacity is split evenly across the tasks seen so far, floor(capacity / T)
// each, the capacity % T leftover slots going one each to the earliest tasks. When an exemplar of a
// new task arrives, every older task above its new share is trimmed to it at once by removing
// exemplars at random (seeded). Within its share, a task keeps a uniform sample of its own stream
// (the reservoir rule applied per task), so tasks that come back later refresh their memory too.
// A task with fewer exemplars than its share leaves the rest of its share unused; with more tasks
// than capacity, the latest tasks get a share of 0.

import { BaseReplayBuffer, DROP_EXEMPLAR, type ReplayBufferOptions } from './replay-buffer.js';
import { SlotGroups } from './groups.js';
import { randomIndex } from './sampling.js';

/**
 * Task-balanced replay memory: the capacity is split evenly across the tasks seen so far (older tasks trimmed
 * at random when a new task arrives), each task keeping a uniform sample of its own stream.
 */
export class TaskBalancedBuffer extends BaseReplayBuffer {
  readonly kind = 'TaskBalancedBuffer';
  private readonly byTask = new SlotGroups();
  private readonly taskOrder: number[] = [];
  private readonly seenPerTask = new Map<number, number>();

  constructor(opts: ReplayBufferOptions) {
    super(opts, 'TaskBalancedBuffer');
  }

  /** Tasks in the order they first appeared. */
  get tasks(): readonly number[] {
    return this.taskOrder;
  }

  /** The number of slots task `task` may hold now (0 for a task not seen). */
  share(task: number): number {
    const r = this.taskOrder.indexOf(task);
    if (r < 0) return 0;
    const T = this.taskOrder.length;
    return Math.floor(this.capacity / T) + (r < this.capacity % T ? 1 : 0);
  }

  /** Exemplars held per task. */
  taskCounts(): Map<number, number> {
    return new Map(this.taskOrder.map((t) => [t, this.byTask.count(t)]));
  }

  protected choose(_label: number, task: number): number {
    if (!this.seenPerTask.has(task)) {
      this.taskOrder.push(task);
      for (const t of this.taskOrder) this.trim(t, this.share(t));
    }
    const seenOfTask = (this.seenPerTask.get(task) ?? 0) + 1;
    this.seenPerTask.set(task, seenOfTask);
    const own = this.byTask.count(task);
    // Every other task is at or below its share and the shares sum to the capacity, so a task below
    // its share always finds a free slot.
    if (own < this.share(task)) return this.size;
    const j = randomIndex(this.generator, seenOfTask);
    return j < own ? this.byTask.at(task, j) : DROP_EXEMPLAR;
  }

  protected override placed(slot: number, _label: number, task: number): void {
    this.byTask.assign(slot, task);
  }

  /** Over a byte budget: a random exemplar of a task holding the most. */
  protected override evictionVictim(): number {
    return this.byTask.randomOfLargest(this.generator);
  }

  protected override removed(slot: number, moved: number): void {
    this.byTask.unassign(slot);
    if (moved >= 0) this.byTask.relocate(moved, slot);
  }

  /** Remove random exemplars of `task` until it holds at most `keep`. */
  private trim(task: number, keep: number): void {
    for (let n = this.byTask.count(task); n > keep; n--) {
      const slot = this.byTask.at(task, randomIndex(this.generator, n));
      this.byTask.unassign(slot);
      const moved = this.store.remove(slot); // the last exemplar moves into `slot`
      if (moved >= 0) this.byTask.relocate(moved, slot);
    }
  }
}
