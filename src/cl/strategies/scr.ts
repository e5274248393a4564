// SCR: supervised contrastive replay (Mai et al. 2021, "Supervised Contrastive Replay: Revisiting
// the Nearest Class Mean Classifier in Online Class-Incremental Continual Learning").
//
// Online training: every stream batch is joined by a batch drawn from the replay memory (a reservoir
// by default), the joined batch is augmented twice into two views, and the feature extractor alone
// is trained with supConLoss on the 2B feature rows (the model's linear classifier is never used).
// The stream batch then enters the memory. At test time, a nearest-class-mean head over the
// L2-normalized features of everything in the memory, recomputed after each task.
//
// As in the paper the stream is seen once (epochs = 1 by default; with more epochs a batch enters the
// memory on its first pass only). The memory holds images (pixels / 255, before any transform) in the
// chosen format, decoded on the GPU for each memory batch; the two views are two independent draws
// of `transform` (the paper's code pairs the image with one augmented copy; two augmented views is
// SupCon's recipe). No readback in a step: memory indices and labels come from the CPU, and stream
// images enter the memory from the dataset's own pixels.

import { EngramError } from '../../engine/runtime.js';
import { zeros, type Tensor } from '../../engine/tensor.js';
import { scope } from '../../engine/scope.js';
import { Generator } from '../../engine/random.js';
import { addInPlace_, concat, reshape } from '../../engine/ops/index.js';
import { shapeStr } from '../../engine/shape.js';
import { DataLoader, streamSeed } from '../../data/loader.js';
import type { GpuTransform } from '../../data/transforms.js';
import type { Classifier } from '../../models/classifier.js';
import type { ExemplarFormat } from '../memory/codecs.js';
import type { ReplayBuffer } from '../buffers/replay-buffer.js';
import { ReservoirBuffer } from '../buffers/reservoir.js';
import { NCMHead } from '../heads/ncm.js';
import { supConLoss } from '../losses.js';
import type { Task } from '../scenarios.js';
import type { Strategy } from '../strategy.js';
import type { TaskLabel } from '../task-incremental.js';
import {
  buildOptimizer, checkModel, fitNCMOnStore, ncmPredict, ncmPredictTask, positiveNumber,
  type OptimizerHandle, type TrainingOptions,
} from './icarl.js';

/**
 * Options of `SCR`: training options plus the replay memory, the augmentation of the two views and the SupCon
 * temperature.
 */
export interface SCROptions extends TrainingOptions {
  /** The replay memory (empty, any policy and format). Default: a ReservoirBuffer of memorySize exemplars. */
  buffer?: ReplayBuffer;
  /** Capacity of the default reservoir, in exemplars (needed when no buffer is given). */
  memorySize?: number;
  /** Format of the default reservoir's store (default 'float32'). */
  memoryFormat?: ExemplarFormat;
  /** Random augmentation drawn independently for each of the two views (e.g. randomCrop + randomHorizontalFlip, plus any normalization). Default: none (identical views). */
  transform?: GpuTransform;
  /** SupCon temperature (default 0.1). */
  temperature?: number;
  /** Exemplars drawn from the memory per step (default batchSize). */
  memoryBatchSize?: number;
}

/**
 * SCR, supervised contrastive replay (Mai et al. 2021): each stream batch joined with a memory batch is
 * augmented into two views and the feature extractor is trained with `supConLoss`; prediction is by the
 * nearest class mean of the memory's L2-normalized features.
 */
export class SCR implements Strategy {
  readonly name = 'scr';
  /** The feature extractor (owned by the strategy; its linear classifier is never used). */
  readonly model: Classifier;
  /** SupCon temperature. */
  readonly temperature: number;
  /** Nearest-class-mean head over the memory's features, rebuilt after each task. */
  readonly head: NCMHead;
  /** Mean SupCon loss of each learned task (one readback per task, after its training). */
  readonly taskLosses: number[] = [];
  private readonly opts: SCROptions;
  /** The running loss sum of the task being learned (GPU) and its step count. */
  private pending: { sum: Tensor; steps: number } | null = null;
  private readonly epochs: number;
  private readonly batchSize: number;
  private readonly memoryBatchSize: number;
  private readonly chunk: number;
  private readonly seed: number;
  private readonly generator: Generator;
  private buffer_: ReplayBuffer | null;
  private optimizer: OptimizerHandle | null = null;

  constructor(opts: SCROptions) {
    const name = 'SCR';
    this.model = checkModel(name, opts);
    this.opts = opts;
    if (opts.buffer) {
      if (opts.memorySize !== undefined || opts.memoryFormat !== undefined) throw new EngramError(`${name}: give either a buffer or memorySize/memoryFormat, not both`);
      if (opts.buffer.size !== 0) throw new EngramError(`${name}: the buffer must start empty (it holds ${opts.buffer.size} exemplars)`);
    } else {
      positiveNumber(name, 'memorySize', opts.memorySize ?? NaN, true);
      if (opts.memoryFormat !== undefined && !['float32', 'fp16', 'uint8'].includes(opts.memoryFormat)) {
        throw new EngramError(`${name}: memoryFormat must be 'float32', 'fp16' or 'uint8', got ${JSON.stringify(opts.memoryFormat)}`);
      }
    }
    this.buffer_ = opts.buffer ?? null;
    this.temperature = positiveNumber(name, 'temperature', opts.temperature ?? 0.1);
    this.epochs = positiveNumber(name, 'epochs', opts.epochs ?? 1, true);
    positiveNumber(name, 'lr', opts.lr ?? 0.01);
    this.batchSize = positiveNumber(name, 'batchSize', opts.batchSize ?? 64, true);
    this.memoryBatchSize = positiveNumber(name, 'memoryBatchSize', opts.memoryBatchSize ?? this.batchSize, true);
    this.chunk = positiveNumber(name, 'featureBatchSize', opts.featureBatchSize ?? 256, true);
    this.seed = opts.seed ?? 0;
    if (!Number.isInteger(this.seed)) throw new EngramError(`${name}: seed must be an integer, got ${this.seed}`);
    this.generator = new Generator(streamSeed(this.seed, 0, 7));
    this.head = new NCMHead(this.model.featureDim);
  }

  /** The replay memory (null before the first task when no buffer was given). */
  get buffer(): ReplayBuffer | null {
    return this.buffer_;
  }

  async learnTask(task: Task, _tasksSoFar: readonly Task[]): Promise<void> {
    this.trainTask(task);
    await this.readTaskLoss();
    await this.updateHead();
  }

  /**
   * The online training pass over one task (records GPU work only: nothing is read back). The mean
   * loss stays on the GPU until learnTask reads it; `learnTask` = trainTask + updateHead.
   */
  trainTask(task: Task): void {
    const ds = task.train;
    const shape = [ds.channels, ds.height, ds.width];
    this.buffer_ ??= new ReservoirBuffer({ shape, capacity: this.opts.memorySize!, format: this.opts.memoryFormat, seed: streamSeed(this.seed, 0, 8) });
    const buffer = this.buffer_;
    if (buffer.store.shape.length !== 3 || buffer.store.shape.some((n, i) => n !== shape[i])) {
      throw new EngramError(`SCR: the buffer holds exemplars of shape ${shapeStr(buffer.store.shape)}, task ${task.id} has images ${shapeStr(shape)}`);
    }
    this.optimizer ??= buildOptimizer(this.opts, this.model.parameters().filter((p) => p.requiresGrad), this.opts.lr ?? 0.01);
    const optimizer = this.optimizer;
    const transform = this.opts.transform;
    const gen = this.generator;
    const loader = new DataLoader(ds, { batchSize: this.batchSize, shuffle: true, seed: streamSeed(this.seed, task.id, 0) });
    const per = ds.imageSize;
    this.pending?.sum.dispose();
    const lossSum = zeros([]).keep();
    this.pending = { sum: lossSum, steps: 0 };
    this.model.train();
    try {
      for (let e = 0; e < this.epochs; e++) {
        for (const batch of loader) {
          scope(() => {
            let x = batch.x;
            let y = batch.y;
            // Retrieve before the stream batch enters the memory, as in the paper.
            if (buffer.size > 0) {
              const mem = buffer.sampleBatch(this.memoryBatchSize, gen);
              x = concat([x, mem.x]);
              y = concat([y, mem.y]);
            }
            const v1 = transform ? transform.apply(x, gen) : x;
            const v2 = transform ? transform.apply(x, gen) : x;
            const loss = supConLoss(this.model.features(concat([v1, v2])), y, this.temperature);
            optimizer.zeroGrad();
            loss.backward();
            optimizer.step();
            addInPlace_(lossSum, reshape(loss.detach(), []));
          });
          this.pending.steps++;
          if (e === 0) {
            const k = batch.indices.length;
            const pixels = new Uint8Array(k * per);
            const labels = new Int32Array(k);
            batch.indices.forEach((i, r) => {
              pixels.set(ds.image(i), r * per);
              labels[r] = ds.labels[i]!;
            });
            buffer.add({ values: pixels, labels, task: task.id });
          }
        }
      }
      optimizer.zeroGrad();
    } finally {
      this.model.eval();
    }
  }

  /** Rebuild the nearest-class-mean head from the features of everything in the memory. */
  async updateHead(): Promise<void> {
    if (!this.buffer_ || this.buffer_.size === 0) throw new EngramError('SCR.updateHead: the memory is empty; train on a task first');
    await fitNCMOnStore(this.head, this.model, this.buffer_.store, this.chunk, this.opts.evalTransform);
  }

  predict(x: Tensor): Tensor {
    return ncmPredict('SCR', this.head, this.model, x);
  }

  /** Task-incremental prediction: nearest class mean among the task's classes. */
  predictTask(x: Tensor, task: TaskLabel): Tensor {
    return ncmPredictTask('SCR', this.head, this.model, x, task.classes);
  }

  memoryStats(): {
    /** Exemplars held. */
    exemplars: number;
    /** Stored payload bytes (see `ExemplarStore.bytes`). */
    bytes: number;
  } {
    return { exemplars: this.buffer_?.size ?? 0, bytes: this.buffer_?.bytes ?? 0 };
  }

  dispose(): void {
    this.pending?.sum.dispose();
    this.pending = null;
    this.optimizer?.dispose();
    this.optimizer = null;
    this.head.dispose();
    this.buffer_?.store.clear();
    this.model.dispose();
  }

  private async readTaskLoss(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    try {
      this.taskLosses.push(p.steps ? (await p.sum.item()) / p.steps : NaN);
    } finally {
      p.sum.dispose();
    }
  }
}
