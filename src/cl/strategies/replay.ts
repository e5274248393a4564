// Experience replay (ER): a bounded memory of past exemplars is rehearsed alongside the stream.
// Per stream batch, one memory batch (by default of the stream batch's size) is drawn from the
// replay buffer, and the step trains on
//   mode 'er'     : CE(stream batch) + CE(memory batch)  (two forward passes, Chaudhry et al. 2019)
//   mode 'concat' : CE(stream batch ++ memory batch)     (one forward pass on the concatenation)
//   mode 'concat-data': no memory batch; at the start of each task the memory's exemplars are
//                   concatenated with the task's training data and the union is trained as one
//                   shuffled dataset (PyTorch's ConcatDataset([task, memory]) with shuffle=True), so
//                   each exemplar is seen once per epoch, in proportion to its share of the union.
//                   The protocol of the Split-MNIST blog post (10% of task 1 mixed into task 2).
// The memory is filled either online (every stream batch is offered to the buffer after its step,
// so the buffer's policy, e.g. reservoir, decides what stays; with several epochs only an example's
// first pass is offered, so no example enters the memory twice) or at the end of each task (a seeded
// random `fraction` of the task's training data is offered; the Split-MNIST baseline keeps 10%).
//
// The memory holds the raw 8-bit images (pixels / 255, taken from the dataset by the batch's
// indices: no GPU readback), in any store format; a memory batch is decoded on the GPU and then goes
// through the same transform as the stream batches.

import { EngramError } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import { add, concat, crossEntropy } from '../../engine/ops/index.js';
import { full } from '../../engine/tensor.js';
import { asMultiTask, forwardForTask } from '../multi-head.js';
import { shapeStr } from '../../engine/shape.js';
import type { Batch } from '../../data/loader.js';
import { ImageDataset } from '../../data/dataset.js';
import type { ExemplarFormat, Uint8Quantization } from '../memory/codecs.js';
import type { ReplayBuffer } from '../buffers/replay-buffer.js';
import { makeReplayBuffer } from './replay-memory.js';
import type { Task } from '../scenarios.js';
import type { ExemplarSelection } from '../selection.js';
import { SupervisedStrategy, taskSeed, type StrategyOptions } from './common.js';

/**
 * The replay memory policy: `ReservoirBuffer`, `FifoBuffer`, `ClassBalancedBuffer` or `TaskBalancedBuffer`.
 */
export type BufferKind = 'reservoir' | 'fifo' | 'class-balanced' | 'task-balanced';

/**
 * How the memory is rehearsed: 'er' (stream loss + memory-batch loss), 'concat' (one loss on stream batch ++
 * memory batch) or 'concat-data' (the memory concatenated into the task's training data).
 */
export type ReplayMode = 'er' | 'concat' | 'concat-data';
const REPLAY_MODES: readonly ReplayMode[] = ['er', 'concat', 'concat-data'];
const BUFFER_KINDS: readonly BufferKind[] = ['reservoir', 'fifo', 'class-balanced', 'task-balanced'];

/**
 * Options of `ExperienceReplay`: the shared strategy options plus the replay memory and how it is filled and
 * rehearsed.
 */
export interface ReplayOptions extends StrategyOptions {
  /** A ready, empty replay buffer over [C, H, W] images; otherwise one is made from the options below. */
  buffer?: ReplayBuffer;
  /** Memory policy (default 'reservoir'). */
  bufferKind?: BufferKind;
  /** Capacity in exemplars. Online updates need this or capacityBytes; end-of-task updates default to unbounded. */
  capacity?: number;
  /** Capacity in stored payload bytes (`ExemplarStore.bytes`: the deflated sizes when compressing). */
  capacityBytes?: number;
  /** Store images downscaled by this integer factor, resized back on the GPU when replayed (see ExemplarStoreOptions.downscale). */
  downscale?: number;
  /** Store format (default 'float32'). */
  memoryFormat?: ExemplarFormat;
  /** uint8 only: 'image' (lossless for 8-bit images, default) or 'affine'. */
  quantization?: Uint8Quantization;
  /** Deflate each stored exemplar. */
  compress?: boolean | {
    /** Deflate level 0-9 (default 6). */
    level?: number;
  };
  /**
   * 'er' (default): sum of the stream and memory losses; 'concat': one loss on the concatenated batch;
   * 'concat-data': the memory is concatenated into the task's training data (one shuffled dataset, each
   * exemplar seen once per epoch, no separate memory batch).
   */
  mode?: ReplayMode;
  /** 'online' (default): offer every stream batch after its step; 'end-of-task': offer a selection of each task's data at its end. */
  update?: 'online' | 'end-of-task';
  /**
   * End-of-task only: the fraction of the task's training images offered, round(fraction * n) of them
   * at random (default 1); or a function of the task (0 stores nothing, e.g. `(t) => (t.id === 0 ? 0.1 : 0)`
   * keeps 10% of the first task only).
   */
  fraction?: number | ((task: Task) => number);
  /**
   * End-of-task only, instead of fraction: which of the task's training images are offered, in offer order
   * (`firstPerClass(100)`: the first 100 of each class in dataset order; `randomChoice(k)`: k at random).
   */
  select?: ExemplarSelection;
  /**
   * End-of-task only: how fraction * n becomes a count: 'round' (default) or 'floor' (Python's
   * int(0.1 * n), as in the Split-MNIST post: 3059 of task 1's 30596 images, not 3060).
   */
  fractionRounding?: 'round' | 'floor';
  /** Exemplars per memory batch (default: the stream batch's size). */
  memoryBatchSize?: number;
  /** Report name (default 'er', or 'er-concat'). */
  name?: string;
}


/**
 * Experience replay (ER): a bounded memory of past exemplars (raw 8-bit images, any store format) is
 * rehearsed alongside the stream, one memory batch per stream batch; the memory is filled online or at the
 * end of each task.
 */
export class ExperienceReplay extends SupervisedStrategy {
  readonly name: string;
  /**
   * 'er': sum of the stream and memory losses; 'concat': one loss on the concatenated batch; 'concat-data':
   * the memory concatenated into the task's training data.
   */
  readonly mode: ReplayMode;
  /** End-of-task only: 'round' or 'floor' of fraction * n. */
  readonly fractionRounding: 'round' | 'floor';
  /**
   * 'online': every stream batch is offered to the buffer after its step; 'end-of-task': a selection of each
   * task's data is offered at its end.
   */
  readonly update: 'online' | 'end-of-task';
  /** End-of-task only: the fraction of each task's training images offered (or a function of the task). */
  readonly fraction: number | ((task: Task) => number);
  private buf: ReplayBuffer | null;
  private readonly ropts: ReplayOptions;
  /** Online updates: which of the current task's training examples were offered already. */
  private offered = new Uint8Array(0);

  constructor(opts: ReplayOptions) {
    super(opts, 'ExperienceReplay');
    this.ropts = opts;
    this.mode = opts.mode ?? 'er';
    this.update = opts.update ?? 'online';
    this.fraction = opts.fraction ?? 1;
    this.fractionRounding = opts.fractionRounding ?? 'round';
    this.name = opts.name ?? (this.mode === 'concat' ? 'er-concat' : this.mode === 'concat-data' ? 'er-concat-data' : 'er');
    if (!REPLAY_MODES.includes(this.mode)) throw new EngramError(`ExperienceReplay: mode must be one of ${REPLAY_MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(this.mode)}`);
    if (this.fractionRounding !== 'round' && this.fractionRounding !== 'floor') {
      throw new EngramError(`ExperienceReplay: fractionRounding must be 'round' or 'floor', got ${JSON.stringify(this.fractionRounding)}`);
    }
    if (opts.fractionRounding !== undefined && this.update !== 'end-of-task') throw new EngramError(`ExperienceReplay: fractionRounding applies to update: 'end-of-task' only`);
    if (this.mode === 'concat-data' && opts.memoryBatchSize !== undefined) throw new EngramError(`ExperienceReplay: mode 'concat-data' draws no memory batches; memoryBatchSize does not apply`);
    if (this.update !== 'online' && this.update !== 'end-of-task') {
      throw new EngramError(`ExperienceReplay: update must be 'online' or 'end-of-task', got ${JSON.stringify(this.update)}`);
    }
    if (typeof this.fraction !== 'function' && !(this.fraction > 0 && this.fraction <= 1)) {
      throw new EngramError(`ExperienceReplay: fraction must be in (0, 1] or a function of the task, got ${this.fraction}`);
    }
    if (opts.fraction !== undefined && this.update !== 'end-of-task') throw new EngramError(`ExperienceReplay: fraction applies to update: 'end-of-task' only`);
    if (opts.select !== undefined) {
      if (typeof opts.select !== 'function') throw new EngramError('ExperienceReplay: select must be a function (task, generator) => indices, e.g. firstPerClass(100)');
      if (this.update !== 'end-of-task') throw new EngramError(`ExperienceReplay: select applies to update: 'end-of-task' only`);
      if (opts.fraction !== undefined || opts.fractionRounding !== undefined) throw new EngramError('ExperienceReplay: give either select or fraction/fractionRounding, not both');
    }
    const m = opts.memoryBatchSize;
    if (m !== undefined && !(Number.isInteger(m) && m > 0)) throw new EngramError(`ExperienceReplay: memoryBatchSize must be a positive integer, got ${m}`);
    const sizing = [opts.bufferKind, opts.capacity, opts.capacityBytes, opts.memoryFormat, opts.quantization, opts.compress, opts.downscale].some((v) => v !== undefined);
    if (opts.buffer && sizing) {
      throw new EngramError('ExperienceReplay: give either a buffer or bufferKind/capacity/capacityBytes/memoryFormat/quantization/compress/downscale, not both');
    }
    if (!opts.buffer && this.update === 'online' && opts.capacity === undefined && opts.capacityBytes === undefined) {
      throw new EngramError('ExperienceReplay: online updates need a capacity (exemplars) or capacityBytes');
    }
    if (opts.bufferKind !== undefined && !BUFFER_KINDS.includes(opts.bufferKind)) {
      throw new EngramError(`ExperienceReplay: bufferKind must be one of ${BUFFER_KINDS.map((k) => `'${k}'`).join(', ')}, got ${JSON.stringify(opts.bufferKind)}`);
    }
    if (opts.buffer && opts.buffer.size !== 0) throw new EngramError(`ExperienceReplay: the buffer must start empty (it holds ${opts.buffer.size} exemplars)`);
    this.buf = opts.buffer ?? null;
  }

  /** The replay buffer (null until the first task when it is built from options). */
  get buffer(): ReplayBuffer | null {
    return this.buf;
  }

  override memoryStats(): {
    /** Exemplars held. */
    exemplars: number;
    /** Stored payload bytes (see `ExemplarStore.bytes`). */
    bytes: number;
  } {
    return { exemplars: this.buf?.size ?? 0, bytes: this.buf?.bytes ?? 0 };
  }

  protected override async beforeTask(task: Task): Promise<void> {
    const ds = task.train;
    const shape = [ds.channels, ds.height, ds.width];
    if (!this.buf) this.buf = this.makeBuffer(shape);
    this.offered = new Uint8Array(this.update === 'online' ? ds.length : 0);
    const have = this.buf.store.shape;
    if (have.length !== 3 || have.some((n, i) => n !== shape[i])) {
      throw new EngramError(`ExperienceReplay: the buffer holds exemplars of shape ${shapeStr(have)} but task ${task.id} has ${shapeStr(shape)} images`);
    }
  }

  protected stepLoss(batch: Batch, task: Task): Tensor {
    const buf = this.buf!;
    const { x, y } = batch;
    // 'concat-data': the memory is already part of the batches (trainingData).
    if (buf.size === 0 || this.mode === 'concat-data') return crossEntropy(this.model.forward(x), y);
    const mem = buf.sampleBatch(this.ropts.memoryBatchSize ?? x.shape[0]!, this.generator);
    const xm = this.applyTransform(mem.x);
    // A multi-head model sends each exemplar through its own task's head (the buffer keeps its task id).
    if (this.mode === 'concat') {
      const tasks = asMultiTask(this.model) ? concat([full([x.shape[0]!], task.id, { dtype: 'int32' }), mem.task], 0) : task.id;
      return crossEntropy(forwardForTask(this.model, concat([x, xm], 0), tasks), concat([y, mem.y], 0));
    }
    return add(crossEntropy(this.model.forward(x), y), crossEntropy(forwardForTask(this.model, xm, mem.task), mem.y));
  }

  /**
   * Multi-head models: 'er' and 'concat' route each exemplar through its task's head; 'concat-data' (task ids
   * lost in the concatenated dataset) and subclasses with their own step loss do not.
   */
  protected override multiHeadSupport(): boolean {
    return this.mode !== 'concat-data' && this.stepLoss === ExperienceReplay.prototype.stepLoss;
  }

  protected override afterStep(batch: Batch, task: Task): void {
    if (this.update !== 'online') return;
    // Each example of the task once: later epochs see it again, but it is not re-offered (that would
    // let a reservoir hold copies). Indices past the task's data are memory exemplars ('concat-data').
    const fresh: number[] = [];
    for (const j of batch.indices) {
      if (j < this.offered.length && !this.offered[j]) {
        this.offered[j] = 1;
        fresh.push(j);
      }
    }
    if (fresh.length > 0) this.offer(task.train, fresh, task.id);
  }

  protected override async afterTask(task: Task): Promise<void> {
    if (this.update !== 'end-of-task') return;
    if (this.ropts.select) {
      const raw = this.ropts.select(task, this.generator);
      const n = task.train.length;
      for (let i = 0; i < raw.length; i++) {
        const j = raw[i]!;
        if (!(Number.isInteger(j) && j >= 0 && j < n)) throw new EngramError(`ExperienceReplay: select returned index ${j} at position ${i}; task ${task.id} has ${n} training images`);
      }
      const picked = Int32Array.from(raw);
      for (let s = 0; s < picked.length; s += 4096) this.offer(task.train, picked.subarray(s, Math.min(picked.length, s + 4096)), task.id);
      return;
    }
    const f = typeof this.fraction === 'function' ? this.fraction(task) : this.fraction;
    if (!(f >= 0 && f <= 1)) throw new EngramError(`ExperienceReplay: fraction(task ${task.id}) must be in [0, 1], got ${f}`);
    const n = task.train.length;
    const k = this.fractionRounding === 'floor' ? Math.floor(f * n) : Math.round(f * n);
    if (k === 0) return;
    const order = this.generator.permutation(n);
    // In chunks, so the pixels of a large task are not copied all at once.
    for (let s = 0; s < k; s += 4096) this.offer(task.train, order.subarray(s, Math.min(k, s + 4096)), task.id);
  }

  /**
   * 'concat-data': the task's training data followed by the memory's exemplars, as one dataset (the
   * loader shuffles the union). The exemplars are decoded from their stored format and turned back into
   * 8-bit pixels (round(255 v), exact for pixels stored as float32, fp16 or uint8 'image').
   */
  protected override trainingData(task: Task): ImageDataset {
    if (this.mode !== 'concat-data' || !this.buf || this.buf.size === 0) return task.train;
    return ImageDataset.concat([task.train, this.memoryDataset(task.train)]);
  }

  /** The memory as an ImageDataset of 8-bit images shaped like `like` (store order). */
  memoryDataset(like: ImageDataset): ImageDataset {
    const store = this.buf!.store;
    const d = store.dim;
    if (d !== like.imageSize) throw new EngramError(`ExperienceReplay: the memory holds ${d}-value exemplars, the task's images have ${like.imageSize}`);
    const n = store.size;
    const images = new Uint8Array(n * d);
    const row = new Float32Array(d);
    for (let i = 0; i < n; i++) {
      store.decode(i, row);
      for (let j = 0; j < d; j++) images[i * d + j] = Math.min(255, Math.max(0, Math.round(row[j]! * 255)));
    }
    return new ImageDataset({ images, labels: store.labels(), channels: like.channels, height: like.height, width: like.width });
  }

  /** Offer the dataset images at `indices` (raw pixels, the dataset's labels) to the buffer. */
  private offer(ds: ImageDataset, indices: ArrayLike<number>, taskId: number): void {
    const d = ds.imageSize;
    const values = new Uint8Array(indices.length * d);
    const labels = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i]!;
      values.set(ds.images.subarray(j * d, (j + 1) * d), i * d);
      labels[i] = ds.labels[j]!;
    }
    this.buf!.add({ values, labels, task: taskId });
  }

  private makeBuffer(shape: number[]): ReplayBuffer {
    return makeReplayBuffer(this.ropts, shape, taskSeed(this.seed, -4), 'reservoir');
  }

}
