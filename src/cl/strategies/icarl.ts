// iCaRL (Rebuffi et al. 2017, "iCaRL: Incremental Classifier and Representation Learning"):
// exemplar rehearsal with herding selection, a BCE classification + distillation loss, and
// nearest-mean-of-exemplars classification.
//
// Per task:
//  1. Distillation targets (Algorithm 3): before any update, the current model's sigmoid outputs q
//     for every training sample (the task's data and the exemplars) are computed once and kept on
//     the GPU, as the paper's algorithm does, instead of keeping a frozen copy of the model. They are
//     taken on the images under `evalTransform` (no augmentation), so with a random `transform` the
//     targets are those of the un-augmented image.
//  2. Training on the task's data plus the exemplars with icarlLoss: one-hot targets on the new
//     classes, q on the old ones, over the seen classes only. Each step takes a shuffled batch of new
//     data plus the next slice of a per-epoch permutation of the exemplars, the two in proportion to
//     their set sizes (every exemplar is seen once per epoch, as if the union were shuffled);
//     exemplars are decoded on the GPU from their packed format (ExemplarStore.toTensor) and get the
//     same `transform` as the new data. No readback in a step.
//  3. Memory: m = floor(K / classes seen); each old class keeps the first m of its herding order (the
//     herding prefix property makes that the m-exemplar herding set); each new class gets m exemplars
//     by herding on its L2-normalized features (herding.ts), in selection order.
//  4. Classifier: an NCMHead over the features of the exemplars (decoded from the store, so the memory
//     format is what the head sees), rebuilt after each task.
//
// Labels are logit columns: the model's classifier must have an output for every label of the
// scenario from the start (e.g. 10 for Split-MNIST); only the seen columns are trained. Exemplars are
// kept as images (pixels / 255, before any transform) in an ExemplarStore of the chosen format.

import { inEvalMode } from './common.js';
import { EngramError } from '../../engine/runtime.js';
import { tensor, zeros, type Tensor } from '../../engine/tensor.js';
import { scope } from '../../engine/scope.js';
import { Generator } from '../../engine/random.js';
import { addInPlace_, concat, indexSelect, reshape, sigmoid } from '../../engine/ops/index.js';
import { DataLoader, streamSeed } from '../../data/loader.js';
import type { ImageDataset } from '../../data/dataset.js';
import type { GpuTransform } from '../../data/transforms.js';
import type { Classifier } from '../../models/classifier.js';
import { SGD } from '../../optim/sgd.js';
import { createExemplarStore, type ExemplarStore } from '../memory/store.js';
import type { ExemplarFormat } from '../memory/codecs.js';
import { sampleWithoutReplacement } from '../buffers/sampling.js';
import { NCMHead } from '../heads/ncm.js';
import { herdingSelectTensor } from '../herding.js';
import { icarlLoss } from '../losses.js';
import type { Task } from '../scenarios.js';
import type { Strategy } from '../strategy.js';
import { maskedArgmax, type TaskLabel } from '../task-incremental.js';

// ------------------------------------------------------------------ helpers shared with scr.ts

/** What these strategies need of an optimizer (every engram optimizer has it). */
export interface OptimizerHandle {
  /** Clear every parameter's gradient. */
  zeroGrad(): void;
  /** Apply one update to the parameters that have a gradient. */
  step(): void;
  /** Free the optimizer's state. */
  dispose(): void;
}

/** Training options common to iCaRL and SCR. */
export interface TrainingOptions {
  /** The model; the strategy owns it from now on (dispose() frees it). */
  model: Classifier;
  /** Passes over each task's data (default 1). */
  epochs?: number;
  /** Learning rate (default 0.01). */
  lr?: number;
  /** Batch size of a training step (default 64). */
  batchSize?: number;
  /** SGD momentum (default 0) and weight decay (default 0), for the default optimizer. */
  momentum?: number;
  /** SGD weight decay (default 0), for the default optimizer. */
  weightDecay?: number;
  /** Build the optimizer over the model's parameters (default: SGD with lr, momentum, weightDecay). */
  makeOptimizer?: (params: Tensor[], lr: number) => OptimizerHandle;
  /**
   * Deterministic transform of images (pixels / 255) before the features that feed herding and the
   * NCM head (and iCaRL's distillation targets): give the same one as runScenario's evalTransform,
   * e.g. the normalization. Default: none.
   */
  evalTransform?: GpuTransform;
  /** Seeds shuffles, memory sampling and augmentation (default 0). */
  seed?: number;
  /** Rows per forward pass when computing features outside training (default 256). */
  featureBatchSize?: number;
}

export function positiveNumber(name: string, what: string, v: number, integer = false): number {
  if (!(Number.isFinite(v) && v > 0) || (integer && !Number.isInteger(v))) {
    throw new EngramError(`${name}: ${what} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  }
  return v;
}

export function checkModel(name: string, opts: { model?: Classifier } | undefined): Classifier {
  if (!opts || typeof opts !== 'object' || !opts.model || typeof opts.model.features !== 'function') {
    throw new EngramError(`${name}: options need a Classifier model ({ model: new SimpleNN(784, 10), ... })`);
  }
  return opts.model;
}

export function buildOptimizer(opts: TrainingOptions, params: Tensor[], lr: number): OptimizerHandle {
  if (opts.makeOptimizer) return opts.makeOptimizer(params, lr);
  return new SGD(params, { lr, momentum: opts.momentum ?? 0, weightDecay: opts.weightDecay ?? 0 });
}

/**
 * `fn(model, x)` for the exemplars of a store, `chunk` rows at a time, decoded on the GPU and put
 * through `transform`; the per-chunk results are concatenated (kept: the caller disposes).
 */
export function mapStore(store: ExemplarStore, indices: ArrayLike<number>, chunk: number, transform: GpuTransform | undefined, fn: (x: Tensor) => Tensor): Tensor | null {
  const parts: Tensor[] = [];
  for (let lo = 0; lo < indices.length; lo += chunk) {
    const idx = Array.from({ length: Math.min(chunk, indices.length - lo) }, (_, r) => indices[lo + r]!);
    parts.push(scope(() => {
      const x = store.toTensor(idx);
      return fn(transform ? transform.apply(x) : x);
    }).keep());
  }
  return joinParts(parts);
}

/** `fn(x)` over a dataset in order, under `transform`, `chunk` images at a time, concatenated (kept). */
export function mapDataset(ds: ImageDataset, chunk: number, transform: GpuTransform | undefined, fn: (x: Tensor) => Tensor): Tensor | null {
  const parts: Tensor[] = [];
  for (const batch of new DataLoader(ds, { batchSize: chunk, transform })) parts.push(scope(() => fn(batch.x)).keep());
  return joinParts(parts);
}

function joinParts(parts: Tensor[]): Tensor | null {
  if (parts.length <= 1) return parts[0] ?? null;
  const all = scope(() => concat(parts)).keep();
  for (const p of parts) p.dispose();
  return all;
}

/** NCM head over the features of every exemplar of a store (one readback per chunk). */
export async function fitNCMOnStore(head: NCMHead, model: Classifier, store: ExemplarStore, chunk: number, transform: GpuTransform | undefined): Promise<void> {
  head.reset();
  for (let lo = 0; lo < store.size; lo += chunk) {
    const idx = Array.from({ length: Math.min(chunk, store.size - lo) }, (_, r) => lo + r);
    const f = inEvalMode(model, () => mapStore(store, idx, chunk, transform, (x) => model.features(x)))!;
    try {
      await head.update(f, store.labels(idx));
    } finally {
      f.dispose();
    }
  }
}

/** Task-incremental nearest-class-mean prediction: the best of the head's scores among the task's classes. */
export function ncmPredictTask(name: string, head: NCMHead, model: Classifier, x: Tensor, classes: readonly number[]): Tensor {
  if (head.numClasses === 0) throw new EngramError(`${name}.predictTask: no class learned yet; call learnTask first`);
  const labels = head.labels;
  return inEvalMode(model, () => scope(() => maskedArgmax(head.scores(model.features(x)), classes, labels)));
}

/** Nearest-class-mean prediction on the model's features (eval mode, no gradients). */
export function ncmPredict(name: string, head: NCMHead, model: Classifier, x: Tensor): Tensor {
  if (head.numClasses === 0) throw new EngramError(`${name}.predict: no class learned yet; call learnTask first`);
  return inEvalMode(model, () => scope(() => head.predict(model.features(x))));
}

// ------------------------------------------------------------------ iCaRL

/** Options of `ICaRL`: training options plus the exemplar memory's size and format. */
export interface ICaRLOptions extends TrainingOptions {
  /** K: total exemplars kept, split evenly over the classes seen (m = floor(K / classes)). */
  memorySize: number;
  /** Storage format of the exemplars (default 'float32'). */
  memoryFormat?: ExemplarFormat;
  /** Training transform of every batch (new data and exemplars), e.g. augmentation + normalization. */
  transform?: GpuTransform;
}

interface ClassSet {
  /** Task that introduced the class. */
  task: number;
  /** Indices into that task's training set, in herding order. */
  sources: number[];
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
  /** K: total exemplars kept, split evenly over the classes seen. */
  readonly memorySize: number;
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
  private store_: ExemplarStore | null = null;
  /** Exemplar sets by class, in the store's order (a class's exemplars are contiguous, in herding order). */
  private sets = new Map<number, ClassSet>();

  constructor(opts: ICaRLOptions) {
    const name = 'ICaRL';
    this.model = checkModel(name, opts);
    this.opts = opts;
    this.memorySize = positiveNumber(name, 'memorySize', opts.memorySize, true);
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
    if (this.memorySize < seen.length) throw new EngramError(`ICaRL: memorySize ${this.memorySize} cannot hold one exemplar for each of the ${seen.length} classes seen after task ${task.id}`);
    const ds = task.train;
    this.store_ ??= createExemplarStore({ shape: [ds.channels, ds.height, ds.width], format: this.memoryFormat });

    await this.train(task, seen);
    await this.updateMemory(task, Math.floor(this.memorySize / seen.length));
    await fitNCMOnStore(this.head, this.model, this.store_, this.chunk, this.opts.evalTransform);
    this.model.eval();
  }

  predict(x: Tensor): Tensor {
    return ncmPredict('ICaRL', this.head, this.model, x);
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

  private async train(task: Task, seen: number[]): Promise<void> {
    const store = this.store_!;
    const oldClasses = [...this.sets.keys()];
    const M = store.size;
    const n = task.train.length;
    const q = oldClasses.length > 0 && M > 0 ? this.distillationTargets(task) : null;
    // New data and exemplars share each batch in proportion to their sizes.
    const bNew = M > 0 ? Math.max(1, Math.round((this.batchSize * n) / (n + M))) : this.batchSize;
    const loader = new DataLoader(task.train, { batchSize: bNew, shuffle: true, seed: streamSeed(this.seed, task.id, 0), transform: this.opts.transform });
    const gen = new Generator(streamSeed(this.seed, task.id, 1));
    const optimizer = buildOptimizer(this.opts, this.model.parameters().filter((p) => p.requiresGrad), this.lr);
    const lossSum = zeros([]).keep();
    let steps = 0;
    try {
      this.model.train();
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
            const loss = icarlLoss(this.model.forward(x), y, { oldClasses: q ? oldClasses : [], oldTargets: qb, seenClasses: seen });
            optimizer.zeroGrad();
            loss.backward();
            optimizer.step();
            addInPlace_(lossSum, reshape(loss.detach(), []));
          });
          steps++;
        }
      }
      optimizer.zeroGrad();
      this.taskLosses.push(steps ? (await lossSum.item()) / steps : NaN);
    } finally {
      lossSum.dispose();
      optimizer.dispose();
      q?.data.dispose();
      q?.memory.dispose();
      this.model.eval();
    }
  }

  // ---------------------------------------------------------------- memory

  /** Truncate the old classes' sets to m, herd m exemplars for each new class; the store is rebuilt in class order. */
  private async updateMemory(task: Task, m: number): Promise<void> {
    const old = this.store_!;
    const next = createExemplarStore({ shape: old.shape, format: old.format });
    const sets = new Map<number, ClassSet>();
    // Old classes: their exemplars are contiguous in the old store, in herding order; keep a prefix.
    let at = 0;
    for (const [label, set] of this.sets) {
      const keep = Math.min(m, set.sources.length);
      for (let r = 0; r < keep; r++) next.add(old.packed(at + r), label, set.task);
      at += set.sources.length;
      sets.set(label, { task: set.task, sources: set.sources.slice(0, keep) });
    }
    // New classes: herding on the normalized features of all their training images.
    const ds = task.train;
    for (const label of task.classes) {
      const rows: number[] = [];
      for (let i = 0; i < ds.length; i++) if (ds.labels[i] === label) rows.push(i);
      if (rows.length === 0) throw new EngramError(`ICaRL: task ${task.id} lists class ${label} but its training set has no image of it`);
      const feats = inEvalMode(this.model, () => mapDataset(ds.subset(rows), this.chunk, this.opts.evalTransform, (x) => this.model.features(x)))!;
      let picks: number[];
      try {
        picks = await herdingSelectTensor(feats, Math.min(m, rows.length));
      } finally {
        feats.dispose();
      }
      const sources = picks.map((p) => rows[p]!);
      for (const s of sources) next.add(ds.image(s), label, task.id);
      sets.set(label, { task: task.id, sources });
    }
    old.clear();
    this.store_ = next;
    this.sets = sets;
  }
}
