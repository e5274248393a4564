// Losses of the continual-learning strategies, composed of existing GPU ops:
//  - binaryCrossEntropyWithLogits: torch.nn.functional.binary_cross_entropy_with_logits;
//  - icarlLoss: iCaRL's classification + distillation loss (Rebuffi et al. 2017, Algorithm 3): BCE
//    over the seen classes, one-hot targets for the new classes and the previous model's sigmoid
//    outputs for the old ones;
//  - supConLoss: the supervised contrastive loss (Khosla et al. 2020) as SCR uses it (Mai et al. 2021).
// Nothing is read back from the GPU: masks are built on the GPU from the labels (or uploaded from
// class lists the caller already has on the CPU), so these run inside a training step freely.

import { EngramError } from '../engine/runtime.js';
import { empty, tensor, withGrad, type Tensor } from '../engine/tensor.js';
import { noGrad, scope } from '../engine/scope.js';
import { shapeStr } from '../engine/shape.js';
import { abs, add, div, eq, exp, log, mul, neg, relu, sigmoid, sqrt, sub } from '../engine/ops/elementwise.js';
import { mean, sum } from '../engine/ops/reduce.js';
import { concat, reshape } from '../engine/ops/shape-ops.js';
import { arange_ } from '../engine/ops/fill.js';
import { linear } from '../engine/ops/matmul.js';
import { logSoftmax } from '../engine/ops/softmax.js';

/** How a loss reduces its per-element (or per-sample) values: 'mean', 'sum', or 'none' to keep them. */
export type LossReduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, r: unknown): asserts r is LossReduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new EngramError(`${op}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(r)}`);
}

// ------------------------------------------------------------------ BCE with logits

/**
 * Elementwise binary cross-entropy between logits x and probability targets t of the same shape,
 * like torch.nn.functional.binary_cross_entropy_with_logits:
 *     l = -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) = max(x, 0) - x t + log(1 + exp(-|x|)),
 * the right-hand form being the one that never overflows. 'mean' averages over every element.
 *
 * The forward is that composition; the backward is written out (dl/dx = sigmoid(x) - t,
 * dl/dt = -x) rather than left to autograd, because max(x, 0) and |x| each have a kink at 0 whose
 * one-sided derivatives (0 and 0 here) do not add up to the smooth function's 1/2 there.
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor, reduction: LossReduction = 'mean'): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  checkReduction(op, reduction);
  if (logits.dtype !== 'float32' || targets.dtype !== 'float32') {
    throw new EngramError(`${op}: logits and targets must be float32, got ${logits.dtype} ${shapeStr(logits.shape)} and ${targets.dtype} ${shapeStr(targets.shape)}`);
  }
  if (logits.shape.length !== targets.shape.length || logits.shape.some((n, i) => n !== targets.shape[i])) {
    throw new EngramError(`${op}: logits ${shapeStr(logits.shape)} and targets ${shapeStr(targets.shape)} must have the same shape`);
  }
  const out = noGrad(() => scope(() => {
    const el = add(sub(relu(logits), mul(logits, targets)), log(add(exp(neg(abs(logits))), 1)));
    return reduction === 'none' ? el : reduction === 'sum' ? sum(el) : mean(el);
  }));
  const scale = reduction === 'mean' ? 1 / Math.max(1, logits.size) : 1;
  return withGrad(out, op, [logits, targets], (g) => scope(() => {
    // g is [] for 'mean'/'sum' and broadcasts over the elements.
    const gs = scale === 1 ? g : mul(g, scale);
    const dx = logits.requiresGrad ? mul(sub(sigmoid(logits), targets), gs) : null;
    const dt = targets.requiresGrad ? mul(neg(logits), gs) : null;
    return [dx, dt];
  }));
}

// ------------------------------------------------------------------ iCaRL

/** Options of `icarlLoss()`. */
export interface ICaRLLossOptions {
  /**
   * Columns distilled from the previous model (its sigmoid outputs are the targets there, whatever
   * the sample's label). Empty or omitted on the first task: plain one-hot BCE.
   */
  oldClasses?: readonly number[];
  /** The previous model's sigmoid outputs [N, C] for this batch; only the oldClasses columns are read. Constants: no gradient flows to them. */
  oldTargets?: Tensor | null;
  /** Columns the loss covers (old and new classes); default every column. Unseen classes get no gradient. */
  seenClasses?: readonly number[];
  /**
   * 'mean' (default): per-sample sum over the seen classes, averaged over the batch; 'sum'; 'none': [N];
   * 'mean-over-elements': the mean over the N x (seen classes) element losses, the convention of the
   * original iCaRL code (Theano's mean of binary_crossentropy), so its learning rates transfer.
   */
  reduction?: LossReduction | 'mean-over-elements';
}

/** A float32 [C] indicator of `classes` (uploaded: the class lists live on the CPU). */
function classMask(op: string, what: string, classes: readonly number[], C: number): Tensor {
  const m = new Float32Array(C);
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0 || c >= C) throw new EngramError(`${op}: ${what} ${c} is not a column of logits with ${C} classes`);
    m[c] = 1;
  }
  return tensor(m, [C]);
}

/**
 * iCaRL's loss for logits [N, C] and int32 labels [N] (class indices = logit columns):
 *     sum over seen classes y of BCE(x_y, t_y),  t_y = q_y (old y) or [label == y] (new y),
 * with q the previous model's sigmoid outputs (oldTargets). A label outside [0, C) cannot be checked
 * without a readback and gives an all-zero one-hot row.
 */
export function icarlLoss(logits: Tensor, labels: Tensor, opts: ICaRLLossOptions = {}): Tensor {
  const op = 'icarlLoss';
  const reduction = opts.reduction ?? 'mean';
  if (!['mean', 'sum', 'none', 'mean-over-elements'].includes(reduction)) {
    throw new EngramError(`${op}: reduction must be 'mean', 'sum', 'none' or 'mean-over-elements', got ${JSON.stringify(reduction)}`);
  }
  if (logits.dtype !== 'float32' || logits.rank !== 2) throw new EngramError(`${op}: logits must be float32 [N, C], got ${logits.dtype} ${shapeStr(logits.shape)}`);
  const [N, C] = logits.shape as [number, number];
  if (labels.dtype !== 'int32' || labels.rank !== 1 || labels.shape[0] !== N) {
    throw new EngramError(`${op}: labels must be int32 [${N}] to match logits ${shapeStr(logits.shape)}, got ${labels.dtype} ${shapeStr(labels.shape)}`);
  }
  const old = opts.oldClasses ?? [];
  const q = opts.oldTargets ?? null;
  if (old.length > 0 && !q) throw new EngramError(`${op}: oldClasses ${old.join(', ')} need oldTargets (the previous model's sigmoid outputs [${N}, ${C}])`);
  if (q && (q.dtype !== 'float32' || q.rank !== 2 || q.shape[0] !== N || q.shape[1] !== C)) {
    throw new EngramError(`${op}: oldTargets must be float32 [${N}, ${C}] like the logits, got ${q.dtype} ${shapeStr(q.shape)}`);
  }
  const seen = opts.seenClasses;
  if (seen) {
    const s = new Set(seen);
    const stray = old.filter((c) => !s.has(c));
    if (stray.length) throw new EngramError(`${op}: old classes ${stray.join(', ')} are not among the seen classes ${seen.join(', ')}`);
  }

  const { targets, seenMask } = noGrad(() => {
    const cols = arange_(empty([1, C], 'int32'), 0, 1);
    const oneHot = eq(reshape(labels, [N, 1]), cols); // [N, C]
    let t = oneHot;
    if (old.length > 0) {
      const oldMask = classMask(op, 'old class', old, C);
      // t = onehot + old * (q - onehot): q on the old columns, the one-hot elsewhere.
      t = add(oneHot, mul(oldMask, sub(q!, oneHot)));
    }
    return { targets: t, seenMask: seen ? classMask(op, 'seen class', seen, C) : null };
  });
  let el = binaryCrossEntropyWithLogits(logits, targets, 'none');
  if (seenMask) el = mul(el, seenMask);
  const perRow = sum(el, 1);
  if (reduction === 'mean-over-elements') return mul(sum(perRow), 1 / (N * (seen ? new Set(seen).size : C)));
  return reduction === 'none' ? perRow : reduction === 'sum' ? sum(perRow) : mean(perRow);
}

// ------------------------------------------------------------------ supervised contrastive

/** Added to squared norms before the square root, so a zero feature vector normalizes to 0, not NaN. */
const NORM_EPS2 = 1e-24;
/** Subtracted from the self-similarities: exp of it is exactly 0 in float32, yet 0 * it stays finite. */
const SELF_LOGIT = 1e9;

/**
 * Supervised contrastive loss (Khosla et al. 2020, the L_out form) for two views: features [2N, D]
 * holds view 1 of samples 0..N-1 in rows 0..N-1 and view 2 in rows N..2N-1; labels int32 [N].
 * With z the L2-normalized rows and s_ij = z_i . z_j / temperature, each anchor i averages the
 * log-probability of its positives P(i) (same label: the other view and the other samples of its
 * class, never itself) under a softmax over all rows but itself:
 *     L = -1/(2N) sum_i 1/|P(i)| sum_{p in P(i)} (s_ip - log sum_{k != i} exp(s_ik)).
 * Every anchor has at least one positive (its other view), so the average is always defined. The
 * masks are built on the GPU from the labels; nothing is read back.
 */
export function supConLoss(features: Tensor, labels: Tensor, temperature = 0.1): Tensor {
  const op = 'supConLoss';
  if (features.dtype !== 'float32' || features.rank !== 2) throw new EngramError(`${op}: features must be float32 [2N, D], got ${features.dtype} ${shapeStr(features.shape)}`);
  const [M, D] = features.shape as [number, number];
  if (labels.dtype !== 'int32' || labels.rank !== 1 || 2 * labels.shape[0]! !== M) {
    throw new EngramError(`${op}: labels must be int32 [N] for features [2N, D] (two views of N samples); got labels ${labels.dtype} ${shapeStr(labels.shape)} and features ${shapeStr(features.shape)}`);
  }
  if (M === 0 || D === 0) throw new EngramError(`${op}: features ${shapeStr(features.shape)} are empty`);
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new EngramError(`${op}: temperature must be a positive number, got ${temperature}`);

  const { self, positives, count } = noGrad(() => {
    const idx = arange_(empty([M], 'int32'), 0, 1);
    const self = eq(reshape(idx, [M, 1]), reshape(idx, [1, M]));
    const both = concat([labels, labels]);
    const positives = sub(eq(reshape(both, [M, 1]), reshape(both, [1, M])), self);
    return { self, positives, count: sum(positives, 1) };
  });
  const z = div(features, sqrt(add(sum(mul(features, features), 1, true), NORM_EPS2)));
  const sim = mul(linear(z, z), 1 / temperature); // [2N, 2N], z z^T
  const logProb = logSoftmax(sub(sim, mul(self, SELF_LOGIT)), 1);
  const meanPositive = div(sum(mul(positives, logProb), 1), count);
  return neg(mean(meanPositive));
}
