// SCR: supervised contrastive replay (Mai et al. 2021, "Supervised Contrastive Replay: Revisiting
// the Nearest Class Mean Classifier in Online Class-Incremental Continual Learning").
//
// Online training, as the authors' code (RaptorMai/online-continual-learning, agents/scr.py) does it:
// every stream batch (10 images) is joined by a batch drawn at random from the replay memory (100, the
// `--eps_mem_batch 100` of the published SCR command; a reservoir by default), and the joined batch
// gives two views: the images as they are and one augmented copy (the four augmentations of the
// paper: random resized crop with scale [0.2, 1], horizontal flip, colour jitter 0.4/0.4/0.4 with
// p = 0.8, random grayscale p = 0.2; see `scrAugmentations`). The encoder's features go through a
// projection head (Linear(F, F), ReLU, Linear(F, 128)) into supConLoss at temperature 0.07. No step
// is taken while the memory is empty (the code trains only once `mem_x` is non-empty). The stream
// batch then enters the memory. At test time, a nearest-class-mean head over the L2-normalized
// encoder features (before the projection) of everything in the memory, recomputed after each task.
//
// With batch norm in the model, the two views go through it in two forward passes, as in that code
// (batch statistics per view); without, one pass over both computes the same features, with half the
// dispatches. Options keep the older recipe reachable: views 'two-augmented' (SupCon's two random
// views, one forward pass over both),
// projection 'none' (SupCon on the encoder features). Differences from the published code: the
// colour jitter is torchvision's (the kornia version of 2021 differs in its formulas and adds hue
// 0.1, not implemented here); the crop samples bilinearly as torchvision's resized_crop does.
//
// As in the paper the stream is seen once (epochs = 1 by default; with more epochs a batch enters the
// memory on its first pass only). The memory holds images (pixels / 255, before any transform) in the
// chosen format, decoded on the GPU for each memory batch. With a user `transform`, the original view
// gets its deterministic part (e.g. the normalization) and the augmented view all of it. No readback
// in a step: memory indices and labels come from the CPU, and stream images enter the memory from
// the dataset's own pixels.

import { EngramError } from '../../engine/runtime.js';
import { zeros, type Tensor } from '../../engine/tensor.js';
import { scope } from '../../engine/scope.js';
import { Generator } from '../../engine/random.js';
import { addInPlace_, concat, reshape } from '../../engine/ops/index.js';
import { shapeStr } from '../../engine/shape.js';
import { DataLoader, streamSeed } from '../../data/loader.js';
import { compose, deterministicPart, randomHorizontalFlip, type GpuTransform } from '../../data/transforms.js';
import { randomResizedCrop, colorJitter, randomGrayscale } from '../../data/augment.js';
import type { Classifier } from '../../models/classifier.js';
import { Sequential } from '../../nn/layers/container.js';
import { Linear } from '../../nn/layers/linear.js';
import { ReLU } from '../../nn/layers/activation.js';
import { BatchNorm1d, BatchNorm2d } from '../../nn/layers/norm.js';
import type { ExemplarFormat } from '../memory/codecs.js';
import type { ReplayBuffer } from '../buffers/replay-buffer.js';
import { ReservoirBuffer } from '../buffers/reservoir.js';
import { NCMHead } from '../heads/ncm.js';
import { supConLoss } from '../losses.js';
import type { Task } from '../scenarios.js';
import type { Strategy } from '../strategy.js';
import { TrainingMeter, type TrainingStats } from '../costs.js';
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
  /**
   * Augmentation of the augmented view(s), plus any normalization (its deterministic part is applied to
   * the original view). Default: the paper's four augmentations for the task's image size
   * (`scrAugmentations`); null: none (the views are identical).
   */
  transform?: GpuTransform | null;
  /** SupCon temperature (default 0.07, as the paper). */
  temperature?: number;
  /** Exemplars drawn from the memory per step (default 100, the published command's `--eps_mem_batch`). */
  memoryBatchSize?: number;
  /**
   * The two views of the joined batch: 'original+augmented' (default, the authors' code) or
   * 'two-augmented' (two independent draws of `transform`, SupCon's recipe).
   */
  views?: 'original+augmented' | 'two-augmented';
  /** 'mlp' (default): SupCon on a projection head Linear(F, F), ReLU, Linear(F, projectionDim); 'none': on the features. */
  projection?: 'mlp' | 'none';
  /** Output size of the projection head (default 128). */
  projectionDim?: number;
}

/**
 * SCR's four augmentations (Mai et al. 2021) for height x width images: randomResizedCrop with scale
 * [0.2, 1], randomHorizontalFlip, colorJitter(0.4, 0.4, 0.4) with p = 0.8, randomGrayscale(0.2).
 */
export function scrAugmentations(height: number, width: number): GpuTransform {
  return compose([
    randomResizedCrop([height, width], { scale: [0.2, 1] }),
    randomHorizontalFlip(),
    colorJitter(0.4, 0.4, 0.4, { p: 0.8 }),
    randomGrayscale(0.2),
  ]);
}

/**
 * SCR, supervised contrastive replay (Mai et al. 2021): each stream batch joined with a memory batch gives
 * two views (the images and an augmented copy), whose projected features train the encoder with
 * `supConLoss`; prediction is by the nearest class mean of the memory's L2-normalized encoder features.
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
  /** The two views: the images and one augmented copy, or two augmented copies. */
  readonly views: 'original+augmented' | 'two-augmented';
  /** The projection head SupCon is computed on (null: on the encoder's features). */
  readonly projection: Sequential | null;
  /** One forward pass per view (views 'original+augmented' with batch norm in the model) or one over both. */
  readonly perViewPasses: boolean;
  private readonly opts: SCROptions;
  /** The running loss sum of the task being learned (GPU) and its step count. */
  private pending: { sum: Tensor; steps: number } | null = null;
  private readonly epochs: number;
  /** Stream images per step (default 10, as the paper). */
  readonly batchSize: number;
  /** Memory images joined to each stream batch (default 100). */
  readonly memoryBatchSize: number;
  private readonly chunk: number;
  private readonly seed: number;
  private readonly generator: Generator;
  private readonly meter = new TrainingMeter();
  private buffer_: ReplayBuffer | null;
  private optimizer: OptimizerHandle | null = null;
  /** The augmentation in use (null: none), fixed at the first task. */
  private transform_: GpuTransform | null | undefined = undefined;

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
    this.temperature = positiveNumber(name, 'temperature', opts.temperature ?? 0.07);
    this.epochs = positiveNumber(name, 'epochs', opts.epochs ?? 1, true);
    positiveNumber(name, 'lr', opts.lr ?? 0.01);
    this.batchSize = positiveNumber(name, 'batchSize', opts.batchSize ?? 10, true);
    this.memoryBatchSize = positiveNumber(name, 'memoryBatchSize', opts.memoryBatchSize ?? 100, true);
    this.views = opts.views ?? 'original+augmented';
    if (this.views !== 'original+augmented' && this.views !== 'two-augmented') {
      throw new EngramError(`${name}: views must be 'original+augmented' or 'two-augmented', got ${JSON.stringify(opts.views)}`);
    }
    const projection = opts.projection ?? 'mlp';
    if (projection !== 'mlp' && projection !== 'none') throw new EngramError(`${name}: projection must be 'mlp' or 'none', got ${JSON.stringify(opts.projection)}`);
    if (projection === 'none' && opts.projectionDim !== undefined) throw new EngramError(`${name}: projectionDim applies to projection 'mlp' only`);
    const dim = positiveNumber(name, 'projectionDim', opts.projectionDim ?? 128, true);
    this.chunk = positiveNumber(name, 'featureBatchSize', opts.featureBatchSize ?? 256, true);
    this.seed = opts.seed ?? 0;
    if (!Number.isInteger(this.seed)) throw new EngramError(`${name}: seed must be an integer, got ${this.seed}`);
    this.generator = new Generator(streamSeed(this.seed, 0, 7));
    this.head = new NCMHead(this.model.featureDim);
    const batchNorm = this.model.modules().some((m) => m instanceof BatchNorm1d || m instanceof BatchNorm2d);
    this.perViewPasses = this.views === 'original+augmented' && batchNorm;
    const F = this.model.featureDim;
    const generator = new Generator(streamSeed(this.seed, 0, 9));
    this.projection = projection === 'mlp' ? new Sequential(new Linear(F, F, { generator }), new ReLU(), new Linear(F, dim, { generator })) : null;
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
    const params = [...this.model.parameters(), ...(this.projection?.parameters() ?? [])].filter((p) => p.requiresGrad);
    this.optimizer ??= buildOptimizer(this.opts, params, this.opts.lr ?? 0.01);
    const optimizer = this.optimizer;
    this.transform_ ??= this.opts.transform === undefined ? scrAugmentations(ds.height, ds.width) : this.opts.transform;
    const transform = this.transform_ ?? undefined;
    const plain = transform ? deterministicPart(transform) : undefined;
    if (transform && this.views === 'original+augmented') {
      const img: [number, number, number] = [ds.channels, ds.height, ds.width];
      const a = transform.outputShape(img);
      const o = plain ? plain.outputShape(img) : img;
      if (a.some((n, i) => n !== o[i])) {
        throw new EngramError(`SCR: the augmented view is ${shapeStr(a)} but the original view is ${shapeStr(o)} (the transform's deterministic part); views 'original+augmented' need one shape: crop back to the image size, or use views: 'two-augmented'`);
      }
    }
    const project = (f: Tensor) => (this.projection ? this.projection.forward(f) : f);
    const gen = this.generator;
    const loader = new DataLoader(ds, { batchSize: this.batchSize, shuffle: true, seed: streamSeed(this.seed, task.id, 0) });
    const per = ds.imageSize;
    this.pending?.sum.dispose();
    const lossSum = zeros([]).keep();
    this.pending = { sum: lossSum, steps: 0 };
    this.model.train();
    this.projection?.train();
    try {
      this.meter.begin();
      for (let e = 0; e < this.epochs; e++) {
        for (const batch of loader) {
          // Retrieve before the stream batch enters the memory; no step while it is empty (the code
          // trains only on joined batches).
          if (buffer.size > 0) {
            scope(() => {
              const mem = buffer.sampleBatch(this.memoryBatchSize, gen);
              const x = concat([mem.x, batch.x]);
              const y = concat([mem.y, batch.y]);
              const v2 = (): Tensor => (transform ? transform.apply(x, gen) : x);
              const v1 = (): Tensor => (this.views === 'two-augmented' ? v2() : plain ? plain.apply(x) : x);
              // SCR's code scores its two views in two forward passes (batch statistics per view),
              // SupCon's in one over both; without batch norm the two are the same computation.
              const z = this.perViewPasses
                ? concat([project(this.model.features(v1())), project(this.model.features(v2()))])
                : project(this.model.features(concat([v1(), v2()])));
              const loss = supConLoss(z, y, this.temperature);
              optimizer.zeroGrad();
              loss.backward();
              optimizer.step();
              addInPlace_(lossSum, reshape(loss.detach(), []));
            });
            this.pending.steps++;
          }
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
      this.meter.end(this.pending.steps);
      optimizer.zeroGrad();
    } finally {
      this.model.eval();
      this.projection?.eval();
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

  trainingStats(): TrainingStats {
    return this.meter.stats();
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
    this.projection?.dispose();
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
