// Helpers shared by the strategies that train on exemplars outside the fine-tuning loop (iCaRL, SCR,
// NCM-ER, the regularizers' previous-model passes): the training options and optimizer they take,
// checks at the door, feature passes over a store or a dataset in chunks (decoded on the GPU, under
// a transform), and the nearest-class-mean head fitted on a store's exemplars.

import { inEvalMode } from './common.js';
import { EngramError } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import { scope } from '../../engine/scope.js';
import { concat } from '../../engine/ops/index.js';
import { DataLoader } from '../../data/loader.js';
import type { ImageDataset } from '../../data/dataset.js';
import type { GpuTransform } from '../../data/transforms.js';
import type { Classifier } from '../../models/classifier.js';
import { SGD } from '../../optim/sgd.js';
import type { ExemplarStore } from '../memory/store.js';
import type { NCMHead } from '../heads/ncm.js';
import { maskedArgmax } from '../task-incremental.js';

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
  /** Batch size of a training step (default 64; SCR: 10, as its paper). */
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

/**
 * NCM head over the features of the exemplars of a store (all of them, or those at `indices`), one
 * readback per chunk. The head is reset first.
 */
export async function fitNCMOnStore(
  head: NCMHead, model: Classifier, store: ExemplarStore, chunk: number, transform: GpuTransform | undefined, indices?: ArrayLike<number>,
): Promise<void> {
  head.reset();
  const all = indices ?? Array.from({ length: store.size }, (_, i) => i);
  for (let lo = 0; lo < all.length; lo += chunk) {
    const idx = Array.from({ length: Math.min(chunk, all.length - lo) }, (_, r) => all[lo + r]!);
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
