// Dark Experience Replay (Buzzega et al. 2020), named as Avalanche names it (`DER`): the memory keeps,
// with each exemplar, the logits the model gave it when it was stored, and rehearsal matches them:
//   loss = CE(stream batch) + α · MSE(logits of memory batch 1, their stored logits)
//                           + β · CE(memory batch 2, their labels)          (β = 0: DER; β > 0: DER++)
// with two memory batches drawn independently, as in the paper. The memory is a reservoir by default
// (any buffer and store format works); the logits live in the packed store next to the images
// (ExemplarStore `logitDim`, float32, counted in its bytes, so capacityBytes pays for them).
//
// A grown head (expandHeads): an exemplar stored when the head had c outputs keeps c logits; the MSE
// compares each exemplar on its own c columns only (the mean over the stored entries).
//
// Readback: the stream batch's logits (B × K floats) must reach the CPU store. Each step starts that
// readback and the next step's afterStep awaits it before offering the batch to the buffer, so the GPU
// is not stalled (the memory lags the stream by one step; the last step is flushed at the task's end).
// `logitReadbacks` counts them: one per step.

import { EngramError } from '../../engine/runtime.js';
import { tensor, type Tensor } from '../../engine/tensor.js';
import { add, crossEntropy, div, mean, mul, narrow, sub, sum } from '../../engine/ops/index.js';
import { shapeStr } from '../../engine/shape.js';
import type { Batch } from '../../data/loader.js';
import type { ImageDataset } from '../../data/dataset.js';
import type { ReplayBuffer } from '../buffers/replay-buffer.js';
import type { Task } from '../scenarios.js';
import { SupervisedStrategy, taskSeed, type StrategyOptions } from './common.js';
import { checkBufferShape, checkMemoryOptions, makeReplayBuffer, offerImages, type ReplayMemoryOptions } from './replay-memory.js';

/**
 * The logit-matching term of DER: the mean of (logits[:, :C] − stored)² over the stored entries, `stored`
 * being [B, C] with C <= K (the head may have grown since). With `counts`, row b compares only its first
 * counts[b] columns (the rest of its stored row is padding) and the mean is over Σ counts entries; without,
 * it is torch's `mse_loss(logits[:, :C], stored)`.
 */
export function logitMatchingLoss(logits: Tensor, stored: Tensor, counts?: ArrayLike<number>): Tensor {
  if (logits.rank !== 2 || stored.rank !== 2 || logits.shape[0] !== stored.shape[0] || stored.shape[1]! > logits.shape[1]!) {
    throw new EngramError(`logitMatchingLoss: logits [B, K] and stored logits [B, C] with C <= K, got ${shapeStr(logits.shape)} and ${shapeStr(stored.shape)}`);
  }
  const [B, C] = stored.shape as [number, number];
  const z = C === logits.shape[1] ? logits : narrow(logits, 1, 0, C);
  const d = sub(z, stored.detach());
  if (!counts || Array.prototype.every.call(counts, (c: number) => c === C)) return mean(mul(d, d));
  if (counts.length !== B) throw new EngramError(`logitMatchingLoss: ${counts.length} counts for ${B} rows`);
  const mask = new Float32Array(B * C);
  let n = 0;
  for (let b = 0; b < B; b++) {
    const c = counts[b]!;
    if (!(Number.isInteger(c) && c >= 1 && c <= C)) throw new EngramError(`logitMatchingLoss: count ${c} of row ${b} is not an integer in [1, ${C}]`);
    mask.fill(1, b * C, b * C + c);
    n += c;
  }
  return div(sum(mul(tensor(mask, [B, C]), mul(d, d))), n);
}

/** Options of `DER`: the shared strategy options, the memory, and the weights α and β. */
export interface DEROptions extends StrategyOptions, ReplayMemoryOptions {
  /** Weight α of the logit-matching (MSE) term (default 0.1, Avalanche's). */
  alpha?: number;
  /** Weight β of the memory cross-entropy term (default 0.5, Avalanche's): 0 gives DER, > 0 DER++. */
  beta?: number;
  /**
   * Logits stored per exemplar (default: the model's outputs at the first task). Needed with expandHeads:
   * the scenario's number of classes, so that exemplars stored after the head grows keep all their logits.
   */
  logitDim?: number;
  /** Exemplars per memory batch, each of the two (default: the stream batch size). */
  memoryBatchSize?: number;
  /** Report name (default 'der' when β = 0, else 'der++'). */
  name?: string;
}

interface PendingLogits {
  logits: Tensor;
  values: Promise<Float32Array>;
  indices: Int32Array;
  data: ImageDataset;
  task: number;
}

/**
 * Dark Experience Replay (Avalanche's `DER`, Buzzega et al. 2020): replay with logit matching. Each exemplar is
 * stored with the logits it had when stored (in the packed memory); each step adds α · MSE on one memory batch's
 * logits and β · CE on another memory batch (β = 0: DER, β > 0: DER++). Reservoir memory by default.
 */
export class DER extends SupervisedStrategy {
  readonly name: string;
  /** Weight α of the logit-matching term. */
  readonly alpha: number;
  /** Weight β of the memory cross-entropy term (0: DER). */
  readonly beta: number;
  /** Readbacks of stream logits so far (one per training step; see the file comment). */
  logitReadbacks = 0;
  private buf: ReplayBuffer | null;
  private readonly dopts: DEROptions;
  private pending: PendingLogits | null = null;
  private streamLogits: Tensor | null = null;

  constructor(opts: DEROptions) {
    super(opts, 'DER');
    this.dopts = opts;
    checkMemoryOptions('DER', opts, true);
    for (const [k, v] of [['alpha', opts.alpha], ['beta', opts.beta]] as const) {
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new EngramError(`DER: ${k} must be a finite number >= 0, got ${v}`);
    }
    this.alpha = opts.alpha ?? 0.1;
    this.beta = opts.beta ?? 0.5;
    this.name = opts.name ?? (this.beta === 0 ? 'der' : 'der++');
    const m = opts.memoryBatchSize;
    if (m !== undefined && !(Number.isInteger(m) && m > 0)) throw new EngramError(`DER: memoryBatchSize must be a positive integer, got ${m}`);
    const L = opts.logitDim;
    if (L !== undefined && !(Number.isInteger(L) && L > 0)) throw new EngramError(`DER: logitDim must be a positive integer, got ${L}`);
    if (opts.buffer) {
      if (L !== undefined) throw new EngramError('DER: give either a buffer (its store sets the logit size) or logitDim, not both');
      if (opts.buffer.store.logitDim === 0) throw new EngramError('DER: the buffer\'s store keeps no logits; make it with logitDim (e.g. new ReservoirBuffer({ shape, capacity, logitDim: 10 }))');
    } else if (opts.expandHeads && L === undefined) {
      throw new EngramError('DER: with expandHeads, pass logitDim (the number of classes of the whole scenario) so stored exemplars keep every logit');
    }
    this.buf = opts.buffer ?? null;
  }

  /** The replay buffer (null until the first task when it is built from options); its store keeps the logits. */
  get buffer(): ReplayBuffer | null {
    return this.buf;
  }

  override memoryStats(): {
    /** Exemplars held. */
    exemplars: number;
    /** Stored bytes: images and logits (see `ExemplarStore.bytes`). */
    bytes: number;
  } {
    return { exemplars: this.buf?.size ?? 0, bytes: this.buf?.bytes ?? 0 };
  }

  override dispose(): void {
    this.pending?.logits.dispose();
    this.pending = null;
    this.streamLogits?.dispose();
    this.streamLogits = null;
    super.dispose();
  }

  protected override async beforeTask(task: Task): Promise<void> {
    const ds = task.train;
    if (!this.buf) this.buf = makeReplayBuffer(this.dopts, [ds.channels, ds.height, ds.width], taskSeed(this.seed, -4), 'reservoir', this.dopts.logitDim ?? this.model.numClasses);
    checkBufferShape('DER', this.buf, ds, task.id);
    const L = this.buf.store.logitDim;
    if (this.model.numClasses > L) {
      throw new EngramError(`DER: the head has ${this.model.numClasses} outputs but the memory keeps ${L} logits per exemplar; pass logitDim: ${this.model.numClasses} (the scenario's number of classes) or a buffer made with it`);
    }
  }

  protected stepLoss(batch: Batch): Tensor {
    const buf = this.buf!;
    const z = this.model.forward(batch.x);
    this.streamLogits = z.detach().keep();
    let loss = crossEntropy(z, batch.y);
    if (buf.size === 0) return loss;
    const k = this.dopts.memoryBatchSize ?? batch.x.shape[0]!;
    if (this.alpha > 0) {
      const m = buf.sampleBatch(k, this.generator);
      const counts = buf.store.logitCounts(m.indices);
      const C = Math.max(...counts);
      if (C > this.model.numClasses) throw new EngramError(`DER: stored logits have ${C} values but the head has ${this.model.numClasses} outputs`);
      const L = buf.store.logitDim;
      const all = buf.store.logits(m.indices);
      const rows = new Float32Array(counts.length * C);
      for (let r = 0; r < counts.length; r++) rows.set(all.subarray(r * L, r * L + C), r * C);
      const zm = this.model.forward(this.applyTransform(m.x));
      loss = add(loss, mul(logitMatchingLoss(zm, tensor(rows, [counts.length, C]), counts), this.alpha));
    }
    if (this.beta > 0) {
      const m = buf.sampleBatch(k, this.generator);
      loss = add(loss, mul(crossEntropy(this.model.forward(this.applyTransform(m.x)), m.y), this.beta));
    }
    return loss;
  }

  protected override async afterStep(batch: Batch, task: Task): Promise<void> {
    const logits = this.streamLogits!;
    this.streamLogits = null;
    const prev = this.pending;
    this.pending = { logits, values: logits.toArray() as Promise<Float32Array>, indices: Int32Array.from(batch.indices), data: task.train, task: task.id };
    this.logitReadbacks++;
    if (prev) await this.store(prev);
  }

  protected override async afterLastStep(): Promise<void> {
    const prev = this.pending;
    this.pending = null;
    if (prev) await this.store(prev);
  }

  /** Offer a step's stream images to the buffer with their logits, once read back. */
  private async store(p: PendingLogits): Promise<void> {
    try {
      offerImages(this.buf!, p.data, p.indices, p.task, await p.values);
    } finally {
      p.logits.dispose();
    }
  }
}
