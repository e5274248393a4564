// iCaRL (Rebuffi et al. 2017, "iCaRL: Incremental Classifier and Representation Learning"):
// exemplar rehearsal with herding selection, a BCE classification + distillation loss, and
// nearest-mean-of-exemplars classification.
//
// Per task:
//  1. Distillation targets (Algorithm 3): before any update, the current model's sigmoid outputs q
//     for every training sample (the task's data and the exemplars) are computed once and kept on
//     the GPU, as the paper's algorithm does, instead of keeping a frozen copy of the model. They are
//     taken on the images under `evalTransform` (no augmentation), so with a random `transform` the
//     targets are those of the un-augmented image. Option distillationTargets 'augmented-batch'
//     keeps a frozen copy of the model instead (built by `makeModel`) and scores every training batch
//     as it is, augmentation included, as the original code does.
//  2. Training on the task's data plus the exemplars with icarlLoss: one-hot targets on the new
//     classes, q on the old ones, over the seen classes only. Each step takes a shuffled batch of new
//     data plus the next slice of a per-epoch permutation of the exemplars, the two in proportion to
//     their set sizes (every exemplar is seen once per epoch, as if the union were shuffled);
//     exemplars are decoded on the GPU from their packed format (ExemplarStore.toTensor) and get the
//     same `transform` as the new data. No readback in a step. The original code's convention
//     (lossReduction 'mean-over-elements', lossColumns 'all': the mean over batch x every output)
//     is an option, so its learning rates (2.0 on CIFAR-100) mean the same here.
//  3. Memory: m = floor(K / classes seen); each old class keeps the first m of its herding order (the
//     herding prefix property makes that the m-exemplar herding set); each new class gets m exemplars
//     by herding on its L2-normalized features (herding.ts), in selection order. With a byte budget
//     (memoryBytes) instead of K, each class may hold floor(bytes / classes seen) stored bytes and keeps
//     the longest prefix of its herding order that fits, so deflated exemplars, whose sizes vary with
//     the image, are counted at the bytes they actually take and the memory's payload never exceeds
//     its budget (labels and task ids, 8 bytes an exemplar in every format, are not counted; store.ts).
//     The budget must give every class at least one uncompressed exemplar's bytes, checked before the
//     task trains, so a too-small budget never leaves a trained model with a stale memory.
//  4. Classifier: an NCMHead over the features of the exemplars (decoded from the store, so the memory
//     format is what the head sees), rebuilt after each task.
//
// Labels are logit columns: the model's classifier must have an output for every label of the
// scenario from the start (e.g. 10 for Split-MNIST); only the seen columns are trained. Exemplars are
// kept as images (pixels / 255, before any transform) in an ExemplarStore of the chosen format,
// optionally deflated (memoryCompress) or stored downscaled (memoryDownscale).

import { checkedTaskLoss, inEvalMode } from './common.js';
import { EngramError } from '../../engine/runtime.js';
import { tensor, zeros, type Tensor } from '../../engine/tensor.js';
import { noGrad, scope } from '../../engine/scope.js';
import { Generator } from '../../engine/random.js';
import { addInPlace_, concat, indexSelect, reshape, sigmoid } from '../../engine/ops/index.js';
import { DataLoader, streamSeed } from '../../data/loader.js';
import type { GpuTransform } from '../../data/transforms.js';
import type { Classifier } from '../../models/classifier.js';
import { createExemplarStore, type ExemplarStore, type ExemplarStoreOptions } from '../memory/store.js';
import { rebuildExemplarSets, type ClassLimit, type ClassSet } from './icarl-memory.js';
import type { ExemplarFormat } from '../memory/codecs.js';
import { sampleWithoutReplacement } from '../buffers/sampling.js';
import { NCMHead } from '../heads/ncm.js';
import { herdingSelectTensor } from '../herding.js';
import { icarlLoss } from '../losses.js';
import type { Task } from '../scenarios.js';
import type { Strategy } from '../strategy.js';
import { TrainingMeter, type TrainingStats } from '../costs.js';
import {
  buildOptimizer, checkModel, fitNCMOnStore, mapDataset, mapStore, ncmPredict, ncmPredictTask, positiveNumber, type TrainingOptions,
} from './exemplar-training.js';

// The helpers moved to exemplar-training.ts; re-exported for the modules that import them from here.
export {
  buildOptimizer, checkModel, fitNCMOnStore, mapDataset, mapStore, ncmPredict, ncmPredictTask, positiveNumber,
  type OptimizerHandle, type TrainingOptions,
} from './exemplar-training.js';
import type { TaskLabel } from '../task-incremental.js';

// ------------------------------------------------------------------ iCaRL

/** Options of `ICaRL`: training options plus the exemplar memory's size and format. */
export interface ICaRLOptions extends TrainingOptions {
  /**
   * K: total exemplars kept, split evenly over the classes seen (m = floor(K / classes)). Give this or
   * memoryBytes, not both.
   */
  memorySize?: number;
  /**
   * The memory's budget in stored bytes instead of an exemplar count: each of the c classes seen may
   * hold floor(memoryBytes / c) bytes (payload and side floats, deflated sizes when compressing, as
   * `ExemplarStore.bytes` counts them: labels and task ids are not counted) and keeps the longest
   * prefix of its herding order that fits. For an uncompressed format this is memorySize =
   * floor(memoryBytes / bytesPerExemplar); for a deflated one it holds as many exemplars as their
   * actual sizes allow. Each class's share must hold one uncompressed exemplar (`bytesPerExemplar`,
   * which no deflated one exceeds); a task that would leave less is refused before it trains. Give
   * this or memorySize, not both.
   */
  memoryBytes?: number;
  /** Storage format of the exemplars (default 'float32'). */
  memoryFormat?: ExemplarFormat;
  /** Deflate each stored exemplar (see ExemplarStoreOptions.compress); memorySize counts exemplars, memoryBytes the deflated bytes. */
  memoryCompress?: ExemplarStoreOptions['compress'];
  /** Store exemplar images downscaled by this integer factor, resized back on the GPU when read (see ExemplarStoreOptions.downscale). */
  memoryDownscale?: number;
  /** Training transform of every batch (new data and exemplars), e.g. augmentation + normalization. */
  transform?: GpuTransform;
  /**
   * How a batch's loss is reduced: 'mean' (default: per-sample sum over the classes, averaged over the
   * batch) or 'mean-over-elements' (averaged over batch x classes, as the original iCaRL code does, so
   * its learning rates transfer; see `icarlLoss`).
   */
  lossReduction?: 'mean' | 'mean-over-elements';
  /**
   * Which output columns the loss covers: 'seen' (default: old and new classes only) or 'all' (every
   * output, unseen classes with target 0, as the original code trains its 100 outputs).
   */
  lossColumns?: 'seen' | 'all';
  /**
   * Where the previous model's distillation targets come from: 'precomputed' (default: once per task,
   * on the un-augmented images under `evalTransform`) or 'augmented-batch' (every step, on the very
   * batch being trained, augmentation included, as the original code does; needs `makeModel`).
   */
  distillationTargets?: 'precomputed' | 'augmented-batch';
  /**
   * A fresh model of the same architecture (weights are overwritten): holds the previous model for
   * distillationTargets 'augmented-batch'.
   */
  makeModel?: () => Classifier;
}

/**
 * iCaRL (Rebuffi et al. 2017): trains with sigmoid BCE plus distillation from the previous model on new data
 * and exemplars, keeps a herding-selected exemplar set per class within a fixed total memory, and predicts
 * with the nearest mean of exemplars.
 */
export class ICaRL implements Strategy {
  readonly name = 'icarl';
  /** The model being trained (owned by the strategy). */
  readonly model: Classifier;
  /** K: total exemplars kept, split evenly over the classes seen (undefined with a byte budget). */
  readonly memorySize: number | undefined;
  /** The byte budget, split evenly over the classes seen (undefined with an exemplar count K). */
  readonly memoryBytes: number | undefined;
  /** Storage format of the exemplars. */
  readonly memoryFormat: ExemplarFormat;
  /** Nearest-mean-of-exemplars classifier, rebuilt after each task. */
  readonly head: NCMHead;
  /** Mean training loss of each learned task (one readback per task, after its training). */
  readonly taskLosses: number[] = [];
  private readonly opts: ICaRLOptions;
  private readonly epochs: number;
  private readonly lr: number;
  private readonly batchSize: number;
  private readonly chunk: number;
  private readonly seed: number;
  private readonly meter = new TrainingMeter();
  private store_: ExemplarStore | null = null;
  /** Exemplar sets by class, in the store's order (a class's exemplars are contiguous, in herding order). */
  private sets = new Map<number, ClassSet>();

  constructor(opts: ICaRLOptions) {
    const name = 'ICaRL';
    this.model = checkModel(name, opts);
    this.opts = opts;
    if ((opts.memorySize === undefined) === (opts.memoryBytes === undefined)) {
      throw new EngramError(`${name}: give exactly one of memorySize (K exemplars) and memoryBytes (a budget in stored bytes), got ${opts.memorySize === undefined ? 'neither' : 'both'}`);
    }
    this.memorySize = opts.memorySize === undefined ? undefined : positiveNumber(name, 'memorySize', opts.memorySize, true);
    this.memoryBytes = opts.memoryBytes === undefined ? undefined : positiveNumber(name, 'memoryBytes', opts.memoryBytes, true);
    this.memoryFormat = opts.memoryFormat ?? 'float32';
    if (!['float32', 'fp16', 'uint8'].includes(this.memoryFormat)) {
      throw new EngramError(`${name}: memoryFormat must be 'float32', 'fp16' or 'uint8', got ${JSON.stringify(opts.memoryFormat)}`);
    }
    this.epochs = positiveNumber(name, 'epochs', opts.epochs ?? 1, true);
    this.lr = positiveNumber(name, 'lr', opts.lr ?? 0.01);
    this.batchSize = positiveNumber(name, 'batchSize', opts.batchSize ?? 64, true);
    this.chunk = positiveNumber(name, 'featureBatchSize', opts.featureBatchSize ?? 256, true);
    this.seed = opts.seed ?? 0;
    if (!Number.isInteger(this.seed)) throw new EngramError(`${name}: seed must be an integer, got ${this.seed}`);
    const oneOf = (what: string, v: unknown, allowed: readonly string[]): void => {
      if (v !== undefined && !allowed.includes(v as string)) throw new EngramError(`${name}: ${what} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${JSON.stringify(v)}`);
    };
    oneOf('lossReduction', opts.lossReduction, ['mean', 'mean-over-elements']);
    oneOf('lossColumns', opts.lossColumns, ['seen', 'all']);
    oneOf('distillationTargets', opts.distillationTargets, ['precomputed', 'augmented-batch']);
    if (opts.distillationTargets === 'augmented-batch' && typeof opts.makeModel !== 'function') {
      throw new EngramError(`${name}: distillationTargets 'augmented-batch' needs makeModel, a function returning a fresh model of the same architecture (it holds the previous model)`);
    }
    this.head = new NCMHead(this.model.featureDim);
  }

  /** The exemplar memory (null before the first task). */
  get store(): ExemplarStore | null {
    return this.store_;
  }

  /** Classes learned so far, ascending. */
  get classes(): number[] {
    return [...this.sets.keys()].sort((a, b) => a - b);
  }

  /** Exemplars per class right now. */
  exemplarCounts(): Map<number, number> {
    return new Map(this.classes.map((c) => [c, this.sets.get(c)!.sources.length]));
  }

  /** The exemplars of a class as indices into its task's training set, in herding order. */
  exemplarSources(label: number): number[] {
    const s = this.sets.get(label);
    if (!s) throw new EngramError(`ICaRL.exemplarSources: no class ${label} (classes: ${this.classes.join(', ') || 'none'})`);
    return [...s.sources];
  }

  async learnTask(task: Task, _tasksSoFar: readonly Task[]): Promise<void> {
    const C = this.model.numClasses;
    const bad = task.classes.filter((c) => !Number.isInteger(c) || c < 0 || c >= C);
    if (bad.length) throw new EngramError(`ICaRL: task ${task.id} has classes ${bad.join(', ')}, but the model has outputs for 0..${C - 1} only (build its classifier with an output per class of the scenario)`);
    const again = task.classes.filter((c) => this.sets.has(c));
    if (again.length) throw new EngramError(`ICaRL: task ${task.id} brings classes ${again.join(', ')} again; class-incremental tasks must introduce new classes`);
    const seen = [...this.sets.keys(), ...task.classes];
    if (this.memorySize !== undefined && this.memorySize < seen.length) throw new EngramError(`ICaRL: memorySize ${this.memorySize} cannot hold one exemplar for each of the ${seen.length} classes seen after task ${task.id}`);
    const ds = task.train;
    this.store_ ??= this.newStore([ds.channels, ds.height, ds.width]);
    const limit: ClassLimit = this.memoryBytes === undefined
      ? { exemplars: Math.floor(this.memorySize! / seen.length) }
      : { bytes: Math.floor(this.memoryBytes / seen.length) };
    // Checked before training: a share of at least one uncompressed exemplar lets every class keep its
    // first herded exemplar (a deflated one is never larger: incompressible data is stored raw), so
    // the memory update after training cannot fail on the budget.
    const one = this.store_.bytesPerExemplar;
    if (limit.bytes !== undefined && limit.bytes < one) {
      const what = `${this.memoryFormat}${this.store_.downscale > 1 ? ` (downscaled ${this.store_.downscale}x)` : ''} exemplar`;
      throw new EngramError(`ICaRL: memoryBytes ${this.memoryBytes} leaves ${limit.bytes} bytes for each of the ${seen.length} classes seen after task ${task.id}, less than one uncompressed ${what} (${one} bytes); raise memoryBytes to at least ${one * seen.length}`);
    }

    await this.train(task, seen);
    await this.updateMemory(task, limit);
    await fitNCMOnStore(this.head, this.model, this.store_, this.chunk, this.opts.evalTransform);
    this.model.eval();
  }

  predict(x: Tensor): Tensor {
    return ncmPredict('ICaRL', this.head, this.model, x);
  }

  trainingStats(): TrainingStats {
    return this.meter.stats();
  }

  /** Task-incremental prediction: nearest class mean among the task's classes. */
  predictTask(x: Tensor, task: TaskLabel): Tensor {
    return ncmPredictTask('ICaRL', this.head, this.model, x, task.classes);
  }

  memoryStats(): {
    /** Exemplars held. */
    exemplars: number;
    /** Stored payload bytes (see `ExemplarStore.bytes`). */
    bytes: number;
  } {
    return { exemplars: this.store_?.size ?? 0, bytes: this.store_?.bytes ?? 0 };
  }

  dispose(): void {
    this.head.dispose();
    this.store_?.clear();
    this.model.dispose();
  }

  // ---------------------------------------------------------------- training

  /** The previous model's sigmoid outputs for the task's data (dataset order) and the exemplars (store order). */
  private distillationTargets(task: Task): { data: Tensor; memory: Tensor } {
    const store = this.store_!;
    const probs = (x: Tensor) => sigmoid(this.model.forward(x));
    return inEvalMode(this.model, () => ({
      data: mapDataset(task.train, this.chunk, this.opts.evalTransform, probs)!,
      memory: mapStore(store, Array.from({ length: store.size }, (_, i) => i), this.chunk, this.opts.evalTransform, probs)!,
    }));
  }

  /** A frozen copy of the current model (eval mode), for per-batch distillation targets. */
  private previousModel(): Classifier {
    const prev = this.opts.makeModel!();
    prev.loadStateDict(this.model.stateDict());
    for (const p of prev.parameters()) p.requiresGrad = false;
    prev.eval();
    return prev;
  }

  private async train(task: Task, seen: number[]): Promise<void> {
    const store = this.store_!;
    const oldClasses = [...this.sets.keys()];
    const M = store.size;
    const n = task.train.length;
    const distill = oldClasses.length > 0 && M > 0;
    const perBatch = this.opts.distillationTargets === 'augmented-batch';
    const q = distill && !perBatch ? this.distillationTargets(task) : null;
    const prev = distill && perBatch ? this.previousModel() : null;
    const columns = this.opts.lossColumns === 'all' ? undefined : seen;
    const reduction = this.opts.lossReduction ?? 'mean';
    // New data and exemplars share each batch in proportion to their sizes.
    const bNew = M > 0 ? Math.max(1, Math.round((this.batchSize * n) / (n + M))) : this.batchSize;
    const loader = new DataLoader(task.train, { batchSize: bNew, shuffle: true, seed: streamSeed(this.seed, task.id, 0), transform: this.opts.transform });
    const gen = new Generator(streamSeed(this.seed, task.id, 1));
    const optimizer = buildOptimizer(this.opts, this.model.parameters().filter((p) => p.requiresGrad), this.lr);
    const lossSum = zeros([]).keep();
    let steps = 0;
    try {
      this.model.train();
      this.meter.begin();
      for (let e = 0; e < this.epochs; e++) {
        const perm = sampleWithoutReplacement(gen, M, M);
        const L = loader.len;
        let k = 0;
        for (const batch of loader) {
          const memIdx = perm.subarray(Math.floor((k * M) / L), Math.floor(((k + 1) * M) / L));
          k++;
          scope(() => {
            let x = batch.x;
            let y = batch.y;
            let qb = q ? indexSelect(q.data, 0, tensor(batch.indices, [batch.indices.length], { dtype: 'int32' })) : null;
            if (memIdx.length > 0) {
              const raw = store.toTensor(memIdx);
              x = concat([x, this.opts.transform ? this.opts.transform.apply(raw, gen) : raw]);
              y = concat([y, tensor(store.labels(memIdx), [memIdx.length], { dtype: 'int32' })]);
              if (q) qb = concat([qb!, indexSelect(q.memory, 0, tensor(memIdx, [memIdx.length], { dtype: 'int32' }))]);
            }
            if (prev) qb = noGrad(() => sigmoid(prev.forward(x)));
            const loss = icarlLoss(this.model.forward(x), y, { oldClasses: distill ? oldClasses : [], oldTargets: qb, seenClasses: columns, reduction });
            optimizer.zeroGrad();
            loss.backward();
            optimizer.step();
            addInPlace_(lossSum, reshape(loss.detach(), []));
          });
          steps++;
        }
      }
      this.meter.end(steps);
      optimizer.zeroGrad();
      this.taskLosses.push(checkedTaskLoss(this.name, task.id, steps ? (await lossSum.item()) / steps : NaN, steps, this.lr));
    } finally {
      lossSum.dispose();
      optimizer.dispose();
      q?.data.dispose();
      q?.memory.dispose();
      prev?.dispose();
      this.model.eval();
    }
  }

  // ---------------------------------------------------------------- memory

  /** An empty store in the memory's format, compression and downscale factor. */
  private newStore(shape: readonly number[]): ExemplarStore {
    return createExemplarStore({ shape, format: this.memoryFormat, compress: this.opts.memoryCompress, downscale: this.opts.memoryDownscale });
  }

  /** Rebuild the memory after a task: old classes truncated to the limit, new classes herded up to it. */
  private async updateMemory(task: Task, limit: ClassLimit): Promise<void> {
    const ds = task.train;
    const { store, sets } = await rebuildExemplarSets({
      old: this.store_!, sets: this.sets, task, limit, newStore: () => this.newStore(this.store_!.shape),
      herd: async (rows, k) => {
        const feats = inEvalMode(this.model, () => mapDataset(ds.subset(rows), this.chunk, this.opts.evalTransform, (x) => this.model.features(x)))!;
        try {
          return await herdingSelectTensor(feats, k);
        } finally {
          feats.dispose();
        }
      },
      budgetNote: `memoryBytes ${this.memoryBytes}`,
    });
    this.store_!.clear();
    this.store_ = store;
    this.sets = sets;
  }
}
