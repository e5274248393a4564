// Replay in alternating optimizer steps: after each step on a stream batch, one separate step on a
// memory batch (stream, memory, stream, memory, ...), as a notebook that loops
//   for (x, y), (xm, ym) in zip(new_loader, cycle(memory_loader)):
//       step(x, y); step(xm, ym)
// The memory batches come from a shuffled DataLoader over the memory's exemplars (each exemplar once
// per pass over the memory, the passes repeating as long as the stream lasts), with the strategy's
// training transform. An empty memory (task 0) gives plain fine-tuning. How the memory is filled is
// ExperienceReplay's (online, or at a task's end by fraction or `select`, e.g. firstPerClass(100)).
// Memory steps go through the same optimizer (and schedule) as the stream steps; plugins see the
// stream steps only, and the task's mean loss counts the stream steps only.

import { EngramError } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import { crossEntropy } from '../../engine/ops/index.js';
import { DataLoader, type Batch } from '../../data/loader.js';
import type { Task } from '../scenarios.js';
import { optimizerStep, taskSeed } from './common.js';
import { ExperienceReplay, type ReplayOptions } from './replay.js';

/** Options of `AlternatingReplay`: ExperienceReplay's, without `mode` (the alternation is the mode). */
export type AlternatingReplayOptions = Omit<ReplayOptions, 'mode'>;

/**
 * Experience replay in alternating optimizer steps: one step on a stream batch, then one step on a memory
 * batch (`memoryBatchSize`, default the stream batch size) from a shuffled, cycled loader over the memory.
 */
export class AlternatingReplay extends ExperienceReplay {
  /** Memory steps taken in the current or last task. */
  memorySteps = 0;
  private memLoader: DataLoader | null = null;
  private memIter: Iterator<Batch> | null = null;
  private memPass = 0;
  private readonly memoryBatch: number | undefined;

  constructor(opts: AlternatingReplayOptions) {
    if ((opts as ReplayOptions | undefined)?.mode !== undefined) throw new EngramError('AlternatingReplay: mode does not apply (the memory is replayed in its own optimizer steps)');
    super({ ...opts, name: opts?.name ?? 'er-alternating' });
    this.memoryBatch = opts.memoryBatchSize;
  }

  protected override async beforeTask(task: Task): Promise<void> {
    await super.beforeTask(task);
    this.closeMemory();
    this.memorySteps = 0;
    const buf = this.buffer!;
    if (buf.size === 0) return;
    this.memLoader = new DataLoader(this.memoryDataset(task.train), {
      batchSize: this.memoryBatch ?? this.batchSize, shuffle: true, seed: taskSeed(this.seed, 10_000 + task.id), transform: this.transform,
    });
    this.memPass = 0;
  }

  /** The stream batch alone: the memory has its own steps. */
  protected override stepLoss(batch: Batch): Tensor {
    return crossEntropy(this.model.forward(batch.x), batch.y);
  }

  protected override afterStep(batch: Batch, task: Task): void {
    super.afterStep(batch, task);
    if (!this.memLoader) return;
    const mb = this.nextMemoryBatch();
    optimizerStep(this.optimizer!, () => crossEntropy(this.model.forward(mb.x), mb.y));
    this.memorySteps++;
  }

  protected override async afterLastStep(task: Task): Promise<void> {
    this.closeMemory();
    await super.afterLastStep(task);
  }

  override dispose(): void {
    this.closeMemory();
    super.dispose();
  }

  private nextMemoryBatch(): Batch {
    for (let tries = 0; tries < 2; tries++) {
      if (!this.memIter) this.memIter = this.memLoader!.batches(this.memPass++);
      const r = this.memIter.next();
      if (!r.done) return r.value;
      this.memIter = null;
    }
    throw new EngramError('AlternatingReplay: the memory loader yielded no batch');
  }

  /** Finish the memory iterator (the loader disposes its pending batches) and drop the loader. */
  private closeMemory(): void {
    this.memIter?.return?.(undefined);
    this.memIter = null;
    this.memLoader = null;
  }
}
