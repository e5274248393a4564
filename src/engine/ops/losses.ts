// Regression and probability losses with PyTorch's names, semantics and `reduction`:
// mseLoss, l1Loss, smoothL1Loss, huberLoss, binaryCrossEntropy (on probabilities) and klDiv.
//
// Each is a pointwise loss followed by the reduction. The pointwise part is either a composition of
// ops whose autograd gradient is PyTorch's (l1: |x - t|, composite in PyTorch too) or a table op
// with PyTorch's own forward and backward formulas written out in WGSL (squaredError, smoothL1,
// huber, bce, klDiv, klDivLog in src/shaders/elementwise.ts), where the composed gradient would
// differ from PyTorch's: bce's clamped logs would give a zero gradient at p = 0 where PyTorch gives
// (p - t) / 1e-12, a piecewise loss built from a mask would multiply NaN or inf by 0 in the branch
// not taken, and PyTorch's target gradient of mse, smooth L1 and Huber is the backward with input
// and target swapped (see pointwiseLoss), which differs from -dL/dinput at ties.
// Shapes must be equal: PyTorch broadcasts a mismatched target with a warning ("Using a target
// size that is different to the input size"), which almost always hides a bug, so here it is an error.

import { EngramError } from '../runtime.js';
import type { Tensor } from '../tensor.js';
import { scope } from '../scope.js';
import { shapeStr, sameShape } from '../shape.js';
import { abs, applyBinary, pointwiseLoss, div, mul, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import type { Reduction } from './softmax.js';
import { checkBoolean, checkNumber, show } from '../validate.js';

/** KL divergence's reductions: PyTorch's, plus 'batchmean' (the sum divided by the batch size, the true KL divergence per sample). */
export type KlDivReduction = Reduction | 'batchmean';

/** Options of {@link mseLoss}, {@link l1Loss} and {@link binaryCrossEntropy}. */
export interface LossOptions {
  /** 'mean' (default): the mean over every element; 'sum'; 'none': the per-element losses, in the input's shape. */
  reduction?: Reduction;
}

/** Options of {@link smoothL1Loss}. */
export interface SmoothL1LossOptions extends LossOptions {
  /** Where the loss changes from quadratic to linear (default 1, >= 0; 0 gives l1Loss's value, with PyTorch's gradient -g at ties). */
  beta?: number;
}

/** Options of {@link huberLoss}. */
export interface HuberLossOptions extends LossOptions {
  /** Where the loss changes from quadratic to linear (default 1, > 0). */
  delta?: number;
}

/** Options of {@link binaryCrossEntropy}. */
export interface BinaryCrossEntropyOptions extends LossOptions {
  /** Per-element weights, broadcast to the input's shape (as PyTorch's `weight`). */
  weight?: Tensor;
}

/** Options of {@link klDiv}. */
export interface KlDivOptions {
  /**
   * 'mean' (default, PyTorch's default: the mean over every element, which is not the KL divergence),
   * 'batchmean' (the sum divided by the size of dimension 0: the KL divergence per sample), 'sum', 'none'.
   */
  reduction?: KlDivReduction;
  /** Whether `target` holds log-probabilities (default false: probabilities). */
  logTarget?: boolean;
}

function checkReduction(op: string, r: unknown, allowed: readonly string[]): void {
  if (!allowed.includes(r as string)) {
    throw new EngramError(`${op}: reduction must be ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(r)}`);
  }
}

function checkPair(op: string, input: Tensor, target: Tensor, inputName = 'input'): void {
  for (const [name, t] of [[inputName, input], ['target', target]] as const) {
    if (t.dtype !== 'float32') throw new EngramError(`${op}: ${name} must be float32, got ${t.dtype} (shape ${shapeStr(t.shape)}); convert with toFloat()`);
  }
  if (!sameShape(input.shape, target.shape)) {
    throw new EngramError(
      `${op}: ${inputName} ${shapeStr(input.shape)} and target ${shapeStr(target.shape)} must have the same shape ` +
        '(PyTorch would broadcast them with a warning, which usually hides a bug); reshape the target to the input\'s shape',
    );
  }
}

function reduce(el: Tensor, reduction: KlDivReduction, batch: number): Tensor {
  if (reduction === 'none') return el;
  if (reduction === 'sum') return sum(el);
  if (reduction === 'mean') return mean(el);
  return div(sum(el), batch);
}

function options<T extends LossOptions>(op: string, opts: T): Reduction {
  const reduction = opts.reduction ?? 'mean';
  checkReduction(op, reduction, ['mean', 'sum', 'none']);
  return reduction;
}

/** Mean squared error, (input - target)^2 reduced, as torch.nn.functional.mse_loss. */
export function mseLoss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  const reduction = options('mseLoss', opts);
  checkPair('mseLoss', input, target);
  return scope(() => reduce(pointwiseLoss('squaredError', input, target), reduction, 0));
}

/** Mean absolute error, |input - target| reduced, as torch.nn.functional.l1_loss (gradient 0 where they are equal or NaN). */
export function l1Loss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  const reduction = options('l1Loss', opts);
  checkPair('l1Loss', input, target);
  return scope(() => reduce(abs(sub(input, target)), reduction, 0));
}

/**
 * Smooth L1 loss, as torch.nn.functional.smooth_l1_loss: with d = input - target, 0.5 d² / beta where
 * |d| < beta, else |d| - beta / 2; beta = 0 is l1Loss.
 */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: SmoothL1LossOptions = {}): Tensor {
  const reduction = options('smoothL1Loss', opts);
  const beta = checkNumber('smoothL1Loss', 'beta', opts.beta ?? 1, { min: 0 });
  checkPair('smoothL1Loss', input, target);
  return scope(() => reduce(pointwiseLoss('smoothL1', input, target, beta), reduction, 0));
}

/**
 * Huber loss, as torch.nn.functional.huber_loss: with d = input - target, 0.5 d² where |d| < delta,
 * else delta (|d| - delta / 2) (smoothL1Loss with beta = delta, times delta).
 */
export function huberLoss(input: Tensor, target: Tensor, opts: HuberLossOptions = {}): Tensor {
  const reduction = options('huberLoss', opts);
  const delta = checkNumber('huberLoss', 'delta', opts.delta ?? 1, { min: 0, minInclusive: false });
  checkPair('huberLoss', input, target);
  return scope(() => reduce(pointwiseLoss('huber', input, target, delta), reduction, 0));
}

/**
 * Binary cross-entropy between probabilities `input` and targets in [0, 1], as
 * torch.nn.functional.binary_cross_entropy: -(t log p + (1 - t) log(1 - p)), each log clamped at
 * -100 (so p = 0 or 1 costs at most 100), gradient g (p - t) / max(p (1 - p), 1e-12). PyTorch raises
 * for p outside [0, 1]; checking that here would need a readback, so such p give NaN instead. For
 * logits use binaryCrossEntropyWithLogits, which is also more accurate.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: BinaryCrossEntropyOptions = {}): Tensor {
  const op = 'binaryCrossEntropy';
  const reduction = options(op, opts);
  checkPair(op, input, target);
  const w = opts.weight;
  if (w !== undefined && (w.dtype !== 'float32' || w.shape.length > input.shape.length || w.shape.some((n, i) => n !== 1 && n !== input.shape[input.shape.length - w.shape.length + i]))) {
    throw new EngramError(`${op}: weight (${w.dtype} ${shapeStr(w.shape)}) must be float32 and broadcastable to the input ${shapeStr(input.shape)}`);
  }
  return scope(() => {
    const el = applyBinary('bce', input, target);
    return reduce(w ? mul(el, w) : el, reduction, 0);
  });
}

/**
 * Kullback-Leibler divergence, as torch.nn.functional.kl_div: `input` holds log-probabilities, the
 * pointwise loss is target (log target - input) (xlogy: 0 where target is 0), or with `logTarget`
 * exp(target) (target - input). Note PyTorch's default 'mean' divides by the number of elements;
 * 'batchmean' gives the KL divergence per sample.
 */
export function klDiv(input: Tensor, target: Tensor, opts: KlDivOptions = {}): Tensor {
  const op = 'klDiv';
  const reduction = opts.reduction ?? 'mean';
  checkReduction(op, reduction, ['mean', 'batchmean', 'sum', 'none']);
  const logTarget = checkBoolean(op, 'logTarget', opts.logTarget ?? false);
  checkPair(op, input, target);
  if (reduction === 'batchmean' && input.shape.length === 0) {
    throw new EngramError(`${op}: reduction 'batchmean' divides by the batch size, dimension 0, but the input is 0-d (shape []); use 'sum'`);
  }
  return scope(() => reduce(applyBinary(logTarget ? 'klDivLog' : 'klDiv', input, target), reduction, input.shape[0] ?? 1));
}
