// GDumb (Prabhu et al. 2020, "GDumb: A Simple Approach that Questions Our Progress in Continual
// Learning"), named as Avalanche names it: a greedy class-balanced memory (`GreedyClassBalancedBuffer`)
// takes each task's training images in a seeded random order; then the model is reset to its initial
// weights and trained from scratch on the memory alone (`epochs` passes, shuffled batches). Nothing else
// is learned from the stream. Every `learnTask` does both, so the model evaluated after task t is the one
// trained on the memory as it stands after task t.
//
// Reset: the initial parameters and buffers are copied once, at construction; each task loads them back
// (a grown head gets its initial rows back and fresh rows from the seeded head generator when it grows
// again), and the optimizer starts afresh.

import { EngramError } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import type { Batch } from '../../data/loader.js';
import { ImageDataset } from '../../data/dataset.js';
import { Linear } from '../../nn/layers/linear.js';
import type { ReplayBuffer } from '../buffers/replay-buffer.js';
import { GreedyClassBalancedBuffer } from '../buffers/greedy-class-balanced.js';
import type { Task } from '../scenarios.js';
import { SupervisedStrategy, classificationLoss, taskSeed, type StrategyOptions } from './common.js';
import { checkBufferShape, storeAsDataset, offerImages } from './replay-memory.js';
import type { ExemplarFormat, Uint8Quantization } from '../memory/codecs.js';

/** Options of `GDumb`: the shared strategy options and the memory. */
export interface GDumbOptions extends StrategyOptions {
  /** A ready, empty buffer (any policy); default a `GreedyClassBalancedBuffer` made from the options below. */
  buffer?: ReplayBuffer;
  /** Memory size in exemplars (Avalanche's mem_size). Give this or capacityBytes (or a buffer). */
  capacity?: number;
  /** Memory size in stored bytes (see ExemplarStore.bytesPerExemplar). */
  capacityBytes?: number;
  /** Store format (default 'float32'). */
  memoryFormat?: ExemplarFormat;
  /** uint8 only: 'image' (default) or 'affine'. */
  quantization?: Uint8Quantization;
  /** Deflate each stored exemplar. */
  compress?: boolean | {
    /** Deflate level 0-9 (default 6). */
    level?: number;
  };
}

/**
 * GDumb (Avalanche's `GDumb`, Prabhu et al. 2020): a greedy class-balanced memory of the stream; at every task
 * the model is reset to its initial weights and trained from scratch on the memory only.
 */
export class GDumb extends SupervisedStrategy {
  readonly name = 'gdumb';
  private buf: ReplayBuffer | null;
  private readonly gopts: GDumbOptions;
  private readonly initial: Map<string, Tensor>;
  private readonly initialHead: { inFeatures: number; outFeatures: number; bias: boolean };
  private memoryData: ImageDataset | null = null;

  constructor(opts: GDumbOptions) {
    super(opts, 'GDumb');
    this.gopts = opts;
    if (opts.freezeFeaturesAfterFirstTask) throw new EngramError('GDumb: freezeFeaturesAfterFirstTask does not apply (GDumb retrains the whole model from scratch at every task)');
    const sizing = [opts.capacity, opts.capacityBytes, opts.memoryFormat, opts.quantization, opts.compress].some((v) => v !== undefined);
    if (opts.buffer && sizing) throw new EngramError('GDumb: give either a buffer or capacity/capacityBytes/memoryFormat/quantization/compress, not both');
    if (!opts.buffer && opts.capacity === undefined && opts.capacityBytes === undefined) throw new EngramError('GDumb: needs a memory size: capacity (exemplars) or capacityBytes');
    if (opts.buffer && opts.buffer.size !== 0) throw new EngramError(`GDumb: the buffer must start empty (it holds ${opts.buffer.size} exemplars)`);
    this.buf = opts.buffer ?? null;
    this.initial = new Map([...this.model.stateDict()].map(([k, t]) => [k, t.clone().keep()]));
    const head = this.model.classifier;
    this.initialHead = { inFeatures: head.inFeatures, outFeatures: head.outFeatures, bias: head.bias !== null };
  }

  /** The memory (null before the first task when built from options). */
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

  /** Update the memory with the task's images, reset the model, train it on the memory alone. */
  override async learnTask(task: Task, tasksSoFar: readonly Task[]): Promise<void> {
    const ds = task.train;
    if (!this.buf) {
      const o = this.gopts;
      this.buf = new GreedyClassBalancedBuffer({
        shape: [ds.channels, ds.height, ds.width], format: o.memoryFormat, quantization: o.quantization, compress: o.compress,
        capacity: o.capacity, capacityBytes: o.capacityBytes, seed: taskSeed(this.seed, -4),
      });
    }
    checkBufferShape('GDumb', this.buf, ds, task.id);
    const order = this.generator.permutation(ds.length);
    for (let s = 0; s < order.length; s += 4096) offerImages(this.buf, ds, order.subarray(s, Math.min(order.length, s + 4096)), task.id);
    this.resetModel();
    this.memoryData = storeAsDataset('GDumb', this.buf.store, ds);
    try {
      await super.learnTask(task, tasksSoFar);
    } finally {
      this.memoryData = null;
    }
  }

  override dispose(): void {
    for (const t of this.initial.values()) t.dispose();
    this.initial.clear();
    super.dispose();
  }

  /** The memory, as a dataset (the task's own images enter only through it). */
  protected override trainingData(task: Task): ImageDataset {
    return this.memoryData ?? task.train;
  }

  protected stepLoss(batch: Batch): Tensor {
    return classificationLoss(this.model, batch.x, batch.y);
  }

  /** Back to the initial weights (and head size); the optimizer is rebuilt by the next task's preparation. */
  private resetModel(): void {
    const h = this.initialHead;
    if (this.model.numClasses !== h.outFeatures) {
      const fresh = new Linear(h.inFeatures, h.outFeatures, { bias: h.bias });
      fresh.training = this.model.classifier.training;
      this.model.replaceClassifier(fresh).dispose();
    }
    this.model.loadStateDict(this.initial);
    this.optimizer?.dispose();
    this.optimizer = null;
  }
}
