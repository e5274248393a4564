// Two strategies that classify with a head fitted on features instead of the trained linear layer:
//
//   NCMReplay (NCM-ER): experience replay exactly as ExperienceReplay trains (cross-entropy on the
//     stream plus a memory batch, same buffers, formats and update modes), but prediction is by the
//     nearest class mean of the features. After each task the NCMHead is rebuilt from the features of
//     the replay memory only (decoded from its packed format, so the memory format is what the head
//     sees), as the published method does. Option `includeTaskData`: the task's whole training set
//     replaces the memory's exemplars of that task (its classes are best described by all their data,
//     still available at the end of the task), so no example is counted twice.
//
//   GaussianHeadStrategy: the feature extractor is trained on task 0 only (cross-entropy through the
//     model's own linear classifier, which serves as a temporary head) and then frozen; every task's
//     classes, task 0's included, are added to a GaussianHead (streaming LDA) from the features of
//     that task's training data, with no gradient step after task 0. Prediction is
//     GaussianHead.predict(features). Old classes' statistics never change, so forgetting comes only
//     from the new classes competing in the shared discriminant.
//
// Training steps never read back from the GPU; the heads read features back once per chunk, after
// training (as iCaRL's NCM fit does).

import { EngramError } from '../../engine/runtime.js';
import { zeros, type Tensor } from '../../engine/tensor.js';
import { scope } from '../../engine/scope.js';
import { Generator } from '../../engine/random.js';
import { DataLoader } from '../../data/loader.js';
import type { ImageDataset } from '../../data/dataset.js';
import type { GpuTransform } from '../../data/transforms.js';
import type { Classifier } from '../../models/classifier.js';
import { SGD } from '../../optim/sgd.js';
import { NCMHead } from '../heads/ncm.js';
import { GaussianHead, type GaussianHeadOptions } from '../heads/gaussian.js';
import type { Task } from '../scenarios.js';
import type { Strategy } from '../strategy.js';
import { TrainingMeter, type TrainingStats } from '../costs.js';
import { ExperienceReplay, type ReplayOptions } from './replay.js';
import { checkedTaskLoss, classificationLoss, optimizerStep, taskSeed, type StrategyOptimizer } from './common.js';
import { classesNeeded, expandClassifier } from './expansion.js';
import { fitNCMOnStore, mapDataset, ncmPredict, ncmPredictTask } from './icarl.js';
import { maskedArgmax, type TaskLabel } from '../task-incremental.js';
import { inEvalMode } from './common.js';

/** Rows per forward pass when computing features for a head (default 256). */
const DEFAULT_FEATURE_BATCH = 256;

/** Add the features of a whole dataset to a head, chunk by chunk (one readback per chunk). */
async function updateHeadFromDataset(
  head: { update(features: Tensor, labels: ArrayLike<number>): Promise<void> },
  model: Classifier,
  ds: ImageDataset,
  chunk: number,
  transform: GpuTransform | undefined,
): Promise<void> {
  for (let lo = 0; lo < ds.length; lo += chunk) {
    const idx = Array.from({ length: Math.min(chunk, ds.length - lo) }, (_, r) => lo + r);
    const part = ds.subset(idx);
    const f = inEvalMode(model, () => mapDataset(part, chunk, transform, (x) => model.features(x)));
    if (!f) continue;
    try {
      await head.update(f, part.labels);
    } finally {
      f.dispose();
    }
  }
}

// ------------------------------------------------------------------ NCM-ER

/**
 * Options of `NCMReplay`: those of `ExperienceReplay` plus how the nearest-class-mean head gets its features.
 */
export interface NCMReplayOptions extends ReplayOptions {
  /**
   * Deterministic transform before the features the NCM head sees (give runScenario's evalTransform,
   * e.g. the normalization without augmentation). Default: `transform`.
   */
  evalTransform?: GpuTransform;
  /**
   * Fit the head on the task's whole training data too (default false: memory only, the published
   * NCM-ER). The memory's exemplars of the current task are then left out, since the task data holds
   * them already: every example counts once.
   */
  includeTaskData?: boolean;
  /** Rows per forward pass when computing the head's features (default 256). */
  featureBatchSize?: number;
}

/**
 * NCM-ER: experience replay trained exactly as `ExperienceReplay`, but predicting by the nearest class mean
 * of the features; after each task the `NCMHead` is rebuilt from the replay memory's features (plus, with
 * `includeTaskData`, the task's training data in place of the memory's exemplars of that task).
 */
export class NCMReplay extends ExperienceReplay {
  /** Nearest-class-mean head, rebuilt after each task. */
  readonly head: NCMHead;
  private readonly evalTransform: GpuTransform | undefined;
  private readonly includeTaskData: boolean;
  private readonly featureBatch: number;

  constructor(opts: NCMReplayOptions) {
    super({ ...opts, name: opts.name ?? 'ncm-er' });
    const fb = opts.featureBatchSize ?? DEFAULT_FEATURE_BATCH;
    if (!(Number.isInteger(fb) && fb > 0)) throw new EngramError(`NCMReplay: featureBatchSize must be a positive integer, got ${fb}`);
    this.featureBatch = fb;
    this.evalTransform = opts.evalTransform ?? opts.transform;
    this.includeTaskData = opts.includeTaskData ?? false;
    this.head = new NCMHead(this.model.featureDim);
  }

  protected override async afterTask(task: Task): Promise<void> {
    await super.afterTask(task); // end-of-task memory updates first, so the head sees the final memory
    const buf = this.buffer;
    this.head.reset();
    if (buf && buf.size > 0) {
      const store = buf.store;
      // With the task data added below, the memory's exemplars of this task would count twice.
      const tasks = store.tasks();
      const keep: number[] = [];
      for (let i = 0; i < store.size; i++) if (!this.includeTaskData || tasks[i] !== task.id) keep.push(i);
      if (keep.length > 0) await fitNCMOnStore(this.head, this.model, store, this.featureBatch, this.evalTransform, keep);
    }
    if (this.includeTaskData) await updateHeadFromDataset(this.head, this.model, task.train, this.featureBatch, this.evalTransform);
  }

  override predict(x: Tensor): Tensor {
    return ncmPredict('NCMReplay', this.head, this.model, x);
  }

  /** Task-incremental prediction: nearest class mean among the task's classes. */
  override predictTask(x: Tensor, task: TaskLabel): Tensor {
    return ncmPredictTask('NCMReplay', this.head, this.model, x, task.classes);
  }

  override dispose(): void {
    this.head.dispose();
    super.dispose();
  }
}

// ------------------------------------------------------------------ Gaussian head

/**
 * Options of `GaussianHeadStrategy`: the model, task 0's training settings and the `GaussianHead`'s options.
 */
export interface GaussianHeadStrategyOptions extends GaussianHeadOptions {
  /** The feature extractor (its linear classifier is the temporary head of task 0); owned from now on. */
  model: Classifier;
  /** SGD learning rate of task 0 (default 0.01), momentum and weight decay (default 0). */
  lr?: number;
  /** SGD momentum of task 0 (default 0). */
  momentum?: number;
  /** SGD weight decay of task 0 (default 0). */
  weightDecay?: number;
  /** Epochs over task 0 (default 1). */
  epochs?: number;
  /** Batch size of task 0's training (default 64). */
  batchSize?: number;
  /** Training transform of task 0's batches (augmentation, normalization). */
  transform?: GpuTransform;
  /** Deterministic transform before the head's features (default: `transform`). */
  evalTransform?: GpuTransform;
  /** Seeds task 0's shuffle and any new rows of the temporary head (default 0). */
  seed?: number;
  /** Rows per forward pass when computing features (default 256). */
  featureBatchSize?: number;
  /** Build the optimizer of task 0 (default SGD). */
  makeOptimizer?: (params: Tensor[], lr: number) => StrategyOptimizer;
  /** Report name (default 'gaussian'). */
  name?: string;
  /**
   * The model's features are already trained (e.g. by another GaussianHeadStrategy, to compare head
   * conventions on the same features): no training on task 0, every task only adds its classes to the
   * head. Default false.
   */
  pretrained?: boolean;
}

/**
 * Classifies with a `GaussianHead` (streaming LDA) on features: the feature extractor is trained on task 0
 * only (through the model's own classifier) and then frozen; each task's classes are added to the head from
 * the features of its training data, with no gradient step after task 0.
 */
export class GaussianHeadStrategy implements Strategy {
  readonly name: string;
  /** The feature extractor (owned by the strategy). */
  readonly model: Classifier;
  /** The Gaussian head that classifies. */
  readonly head: GaussianHead;
  /** Mean cross-entropy of task 0's training (one readback); empty before. */
  readonly taskLosses: number[] = [];
  private readonly opts: GaussianHeadStrategyOptions;
  private readonly featureBatch: number;
  private trained: boolean;
  private readonly meter = new TrainingMeter();

  constructor(opts: GaussianHeadStrategyOptions) {
    if (!opts || typeof opts !== 'object' || !opts.model || typeof opts.model.features !== 'function') {
      throw new EngramError('GaussianHeadStrategy: options need a Classifier model ({ model: new MnistCNN(5), ... })');
    }
    this.opts = opts;
    this.model = opts.model;
    this.name = opts.name ?? 'gaussian';
    for (const [what, v, int] of [['lr', opts.lr ?? 0.01, false], ['epochs', opts.epochs ?? 1, true], ['batchSize', opts.batchSize ?? 64, true], ['featureBatchSize', opts.featureBatchSize ?? DEFAULT_FEATURE_BATCH, true]] as const) {
      if (!(Number.isFinite(v) && v > 0) || (int && !Number.isInteger(v))) throw new EngramError(`GaussianHeadStrategy: ${what} must be a positive ${int ? 'integer' : 'number'}, got ${v}`);
    }
    if (!Number.isInteger(opts.seed ?? 0)) throw new EngramError(`GaussianHeadStrategy: seed must be an integer, got ${opts.seed}`);
    this.featureBatch = opts.featureBatchSize ?? DEFAULT_FEATURE_BATCH;
    this.trained = opts.pretrained ?? false;
    this.head = new GaussianHead(this.model.featureDim, { shrinkage: opts.shrinkage, priors: opts.priors, freezeCovariance: opts.freezeCovariance, covariance: opts.covariance, ridge: opts.ridge });
  }

  async learnTask(task: Task, _tasksSoFar: readonly Task[]): Promise<void> {
    if (!this.trained) {
      await this.trainFeatures(task);
      this.model.freezeFeatures();
      for (const p of this.model.classifier.parameters()) p.requiresGrad = false;
      this.trained = true;
    }
    const evalT = this.opts.evalTransform ?? this.opts.transform;
    await updateHeadFromDataset(this.head, this.model, task.train, this.featureBatch, evalT);
  }

  predict(x: Tensor): Tensor {
    if (this.head.numClasses === 0) throw new EngramError('GaussianHeadStrategy.predict: no class learned yet; call learnTask first');
    return inEvalMode(this.model, () => scope(() => this.head.predict(this.model.features(x))));
  }

  trainingStats(): TrainingStats {
    return this.meter.stats();
  }

  /** Task-incremental prediction: the best discriminant score among the task's classes. */
  predictTask(x: Tensor, task: TaskLabel): Tensor {
    if (this.head.numClasses === 0) throw new EngramError('GaussianHeadStrategy.predictTask: no class learned yet; call learnTask first');
    const labels = this.head.labels;
    return inEvalMode(this.model, () => scope(() => maskedArgmax(this.head.scores(this.model.features(x)), task.classes, labels)));
  }

  memoryStats(): {
    /** Exemplars held. */
    exemplars: number;
    /** Stored payload bytes (see `ExemplarStore.bytes`). */
    bytes: number;
  } {
    return { exemplars: 0, bytes: 0 };
  }

  dispose(): void {
    this.head.dispose();
    this.model.dispose();
  }

  /** Cross-entropy training of the whole model on task 0 (the classifier grown to its labels if needed). */
  private async trainFeatures(task: Task): Promise<void> {
    const o = this.opts;
    const seed = o.seed ?? 0;
    const needed = classesNeeded([task]);
    if (needed > this.model.numClasses) expandClassifier(this.model, needed, new Generator(taskSeed(seed, -2)));
    const lr = o.lr ?? 0.01;
    const params = this.model.parameters().filter((p) => p.requiresGrad);
    const optimizer: StrategyOptimizer = o.makeOptimizer
      ? o.makeOptimizer(params, lr)
      : new SGD(params, { lr, momentum: o.momentum ?? 0, weightDecay: o.weightDecay ?? 0 });
    const loader = new DataLoader(task.train, { batchSize: o.batchSize ?? 64, shuffle: true, seed: taskSeed(seed, task.id), transform: o.transform });
    const lossSum = zeros([]).keep();
    let steps = 0;
    try {
      this.model.train();
      this.meter.begin();
      for (let e = 0; e < (o.epochs ?? 1); e++) {
        for (const batch of loader) {
          optimizerStep(optimizer, () => classificationLoss(this.model, batch.x, batch.y), lossSum);
          steps++;
        }
      }
      this.meter.end(steps);
      optimizer.zeroGrad();
      this.taskLosses.push(checkedTaskLoss(this.name, task.id, steps ? (await lossSum.item()) / steps : NaN, steps, lr));
    } finally {
      lossSum.dispose();
      optimizer.dispose();
      this.model.eval();
    }
  }
}
