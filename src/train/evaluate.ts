// evaluate(): loss, accuracy, per-class accuracy and the confusion matrix of a classifier on a
// dataset. Everything accumulates on the GPU (the confusion matrix as one-hot(labels)^T x
// one-hot(predictions), summed over batches) and is read back once at the end.

import { runtime, EngramError } from '../engine/runtime.js';
import { empty, arange, zeros, type Tensor } from '../engine/tensor.js';
import { scope, noGrad } from '../engine/scope.js';
import { crossEntropy, argmax, eq, matmul, transpose, reshape, addInPlace_, concat } from '../engine/ops/index.js';
import { shapeStr } from '../engine/shape.js';
import type { Module } from '../nn/module.js';
import { ImageDataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { deterministicPart, randomPartsOf, type GpuTransform } from '../data/transforms.js';

/** Options of evaluate(). */
export interface EvaluateOptions {
  /** Size of the confusion matrix (default: the model's number of outputs). */
  numClasses?: number;
  /** Batch size when a dataset is passed (default 256). */
  batchSize?: number;
  /**
   * Preprocessing applied to each batch when a dataset is passed: a GPU transform (e.g. the training
   * normalization), or the training DataLoader, whose deterministic part is applied (its normalize
   * and resize, not its random crops and flips: see deterministicPart). A model trained on
   * normalized images and evaluated on raw ones reports a wrong loss and accuracy without any error,
   * so pass the training preprocessing here: the training loader, or its deterministic transforms (a
   * transform with a random part is refused unless `augmented` is set).
   */
  transform?: GpuTransform | DataLoader;
  /**
   * Allow random augmentation in the evaluation preprocessing (test-time augmentation): a `transform`
   * with a random part (randomCrop, randomHorizontalFlip, ...), or a DataLoader whose transform has
   * one. Without it evaluate refuses them, since a randomly cropped or flipped test set gives a lower,
   * noisy accuracy with no error. Default false. Set where nothing is random (e.g. `{ transform:
   * trainLoader }`, which applies only the loader's deterministic part) it is an error too: the
   * augmentation asked for would not happen.
   */
  augmented?: boolean;
}

/** What evaluate() measured. */
export interface EvalResult {
  /** Mean cross-entropy over the evaluated images. */
  loss: number;
  /** Fraction of images whose argmax prediction equals the label. */
  accuracy: number;
  /** Accuracy within each true class (NaN for classes without images). */
  perClassAccuracy: number[];
  /** confusion[t][p]: images of true class t predicted as class p. */
  confusion: number[][];
  /** Number of images evaluated. */
  count: number;
}

/**
 * Evaluate a classifier (logits [B, C]) on a DataLoader (one pass, its epoch 0) or an ImageDataset.
 * The model is in eval mode during the pass; each module's previous mode is restored afterwards.
 * Counts are exact up to 2^24 per confusion cell (float32 accumulation).
 */
export async function evaluate(model: Module, data: DataLoader | ImageDataset, opts: EvaluateOptions = {}): Promise<EvalResult> {
  const loader = toLoader(data, opts, 'evaluate');
  if (opts.numClasses !== undefined && (!Number.isInteger(opts.numClasses) || opts.numClasses <= 0)) {
    throw new EngramError(`evaluate: numClasses must be a positive integer, got ${opts.numClasses}`);
  }
  const modes = model.modules().map((m) => [m, m.training] as const);
  model.eval();
  const nb = loader.len;
  let k = opts.numClasses ?? 0;
  let count = 0;
  // Kept across batches: per-batch loss sums (summed in float64 on the CPU at the end), the running
  // confusion matrix and the class indices the one-hot encodings compare against.
  const lossSums = empty([Math.max(nb, 1)]).keep();
  let confusion: Tensor | null = null;
  let classes: Tensor | null = null;
  try {
    noGrad(() => {
      let s = 0;
      for (const { x, y } of loader.batches(0)) {
        scope(() => {
          const logits = model.forward(x);
          if (logits.rank !== 2 || logits.shape[0] !== x.shape[0] || logits.dtype !== 'float32') {
            throw new EngramError(`evaluate: the model must return float32 logits [B, C]; for a batch ${shapeStr(x.shape)} it returned ${logits.dtype} ${shapeStr(logits.shape)}`);
          }
          const c = logits.shape[1]!;
          if (!confusion) {
            if (opts.numClasses !== undefined && opts.numClasses < c) {
              throw new EngramError(`evaluate: numClasses (${opts.numClasses}) is smaller than the model's ${c} outputs`);
            }
            k = opts.numClasses ?? c;
            checkLabels(loader.labels, c, 'evaluate');
            confusion = zeros([k, k]).keep();
            classes = reshape(arange(0, k), [1, k]).keep();
          }
          const b = x.shape[0]!;
          const loss = crossEntropy(logits, y, { reduction: 'sum' });
          runtime().copy(loss.buffer, 0, lossSums.buffer, 4 * s, 4);
          const truth = eq(reshape(y, [b, 1]), classes!); // [B, K] one-hot of the labels
          const pred = eq(reshape(argmax(logits, 1), [b, 1]), classes!); // [B, K] one-hot of the predictions
          addInPlace_(confusion, matmul(transpose(truth, 0, 1), pred));
          count += b;
        });
        s++;
      }
    });
    if (!confusion) {
      const zerosK = Array.from({ length: k }, () => new Array<number>(k).fill(0));
      return { loss: NaN, accuracy: NaN, perClassAccuracy: new Array<number>(k).fill(NaN), confusion: zerosK, count: 0 };
    }
    // One readback for everything.
    const cm = confusion as Tensor;
    const packed = scope(() => concat([reshape(cm, [k * k]), lossSums], 0));
    try {
      return summarize(await packed.toArray(), k, nb, count);
    } finally {
      packed.dispose();
    }
  } finally {
    lossSums.dispose();
    (confusion as Tensor | null)?.dispose();
    (classes as Tensor | null)?.dispose();
    for (const [m, training] of modes) m.training = training;
  }
}

function summarize(all: ArrayLike<number>, k: number, nb: number, count: number): EvalResult {
  const confusion: number[][] = [];
  let correct = 0;
  const perClassAccuracy: number[] = [];
  for (let t = 0; t < k; t++) {
    const row = Array.from({ length: k }, (_, p) => all[t * k + p]!);
    confusion.push(row);
    const total = row.reduce((a, v) => a + v, 0);
    correct += row[t]!;
    perClassAccuracy.push(total > 0 ? row[t]! / total : NaN);
  }
  let lossSum = 0;
  for (let s = 0; s < nb; s++) lossSum += all[k * k + s]!;
  return { loss: lossSum / count, accuracy: correct / count, perClassAccuracy, confusion, count };
}

/** Labels outside [0, C) would make the loss NaN on the GPU; they are known on the CPU, so say so here. */
function checkLabels(labels: Int32Array, c: number, op: string): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l < 0 || l >= c) throw new EngramError(`${op}: label ${l} of image ${i} is outside the model's ${c} classes [0, ${c})`);
  }
}

/** A DataLoader for `data`: itself, or an unshuffled loader over a dataset. */
export function toLoader(data: DataLoader | ImageDataset, opts: { batchSize?: number; transform?: GpuTransform | DataLoader; augmented?: boolean }, op: string): DataLoader {
  if (data instanceof DataLoader && (opts.batchSize !== undefined || opts.transform !== undefined)) {
    throw new EngramError(`${op}: batchSize and transform apply when passing a dataset; this DataLoader has its own`);
  }
  const random = randomPartsInEvaluation(data, opts.transform);
  const source = data instanceof DataLoader ? "this DataLoader's transform" : 'the transform option';
  if (random.length && !opts.augmented) {
    throw new EngramError(`${op}: ${source} is random (${random.join(', ')}), so the accuracy and loss would be measured on augmented images; pass the dataset with { transform: trainLoader } (its deterministic part: normalize, resize) or with the deterministic transforms only, or set augmented: true for test-time augmentation`);
  }
  if (!random.length && opts.augmented) {
    throw new EngramError(`${op}: augmented: true, but ${opts.transform instanceof DataLoader ? "a DataLoader given as the transform contributes only its deterministic part" : `${source} has no random part`}, so no augmentation would happen; pass a random transform (e.g. compose([randomHorizontalFlip(), normalize(...)])) or leave augmented out`);
  }
  if (data instanceof DataLoader) return data;
  if (data instanceof ImageDataset) return new DataLoader(data, { batchSize: opts.batchSize ?? 256, transform: evalTransform(opts.transform) });
  throw new EngramError(`${op}: expects a DataLoader or an ImageDataset`);
}

/**
 * The random transforms evaluation would apply: the loader's own when `data` is a DataLoader, else the
 * `transform` option's (a loader given as the transform contributes only its deterministic part).
 */
export function randomPartsInEvaluation(data: DataLoader | ImageDataset, transform: GpuTransform | DataLoader | undefined): string[] {
  if (data instanceof DataLoader) return randomPartsOf(data.transform);
  return transform instanceof DataLoader ? [] : randomPartsOf(transform);
}

/** The transform evaluation applies for a `transform` option: itself, or a loader's deterministic part. */
export function evalTransform(t: GpuTransform | DataLoader | undefined): GpuTransform | undefined {
  return t instanceof DataLoader ? deterministicPart(t.transform) : t;
}
