// Class-balanced memory (the greedy balancing rule of GDumb, Prabhu et al. 2020): the capacity is
// split evenly across the classes seen so far, and a class that has fewer exemplars than its share
// keeps all of them, its unused share going to the larger classes. Once the memory is full:
//  - an exemplar of a class that is not among the largest evicts a random exemplar of a largest
//    class (ties between largest classes broken at random);
//  - an exemplar of a largest class replaces a random exemplar of its own class with probability
//    (its class's count) / (exemplars of that class seen so far), the reservoir rule applied within
//    the class, so a class's memory keeps being refreshed from its whole stream.
// Result: class counts differ by at most one, except classes that never had enough exemplars.
// (The other common rule, a fixed n per class, is `capacity = n * classes` with this buffer once all
// classes are seen, but wastes no memory before then.)

import { BaseReplayBuffer, DROP_EXEMPLAR, type ReplayBufferOptions } from './replay-buffer.js';
import { SlotGroups } from './groups.js';
import { randomIndex } from './sampling.js';

/**
 * Class-balanced replay memory (GDumb's greedy rule): the capacity is split evenly across the classes seen so
 * far; once full, a new exemplar evicts a random one of a largest class, or, if its own class is a largest
 * one, replaces one of its class by the reservoir rule within that class.
 */
export class ClassBalancedBuffer extends BaseReplayBuffer {
  readonly kind = 'ClassBalancedBuffer';
  private readonly byClass = new SlotGroups();
  private readonly seenPerClass = new Map<number, number>();

  constructor(opts: ReplayBufferOptions) {
    super(opts, 'ClassBalancedBuffer');
  }

  /** Exemplars held per class label. */
  classCounts(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [c, n] of this.byClass.counts()) if (n > 0) out.set(c, n);
    return out;
  }

  protected choose(label: number): number {
    const seenOfClass = (this.seenPerClass.get(label) ?? 0) + 1;
    this.seenPerClass.set(label, seenOfClass);
    if (this.size < this.capacity) return this.size;
    const own = this.byClass.count(label);
    let max = 0;
    const largest: number[] = [];
    for (const [c, n] of this.byClass.counts()) {
      if (n > max) {
        max = n;
        largest.length = 0;
      }
      if (n === max) largest.push(c);
    }
    if (own < max) {
      const victim = largest[randomIndex(this.generator, largest.length)]!;
      return this.byClass.at(victim, randomIndex(this.generator, max));
    }
    const j = randomIndex(this.generator, seenOfClass);
    return j < own ? this.byClass.at(label, j) : DROP_EXEMPLAR;
  }

  protected override placed(slot: number, label: number): void {
    this.byClass.assign(slot, label);
  }

  /** Over a byte budget: a random exemplar of a largest class (ties at random), as when full. */
  protected override evictionVictim(): number {
    return this.byClass.randomOfLargest(this.generator);
  }

  protected override removed(slot: number, moved: number): void {
    this.byClass.unassign(slot);
    if (moved >= 0) this.byClass.relocate(moved, slot);
  }
}
