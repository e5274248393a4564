// softmax, logSoftmax (over any dimension), crossEntropy (logits [N, C] against int32 class indices
// [N] or float32 class probabilities [N, C]) and nllLoss (log-probabilities [N, C], class indices).
// Forward and backward are GPU kernels; nothing is read back to the CPU.

import { runtime, grid1d, f32bits, EngramError } from '../runtime.js';
import { ROW_MAPPING_MIN, type ReduceLayout } from '../../shaders/reduce.js';
import {
  softmaxForwardWGSL, softmaxBackwardWGSL, lossForwardWGSL, lossBackwardWGSL, LOSS_COMBINE_WGSL, type CrossEntropyTarget,
} from '../../shaders/softmax.js';
import { empty, needsGrad, withGrad, type Tensor } from '../tensor.js';
import { noGrad } from '../scope.js';
import { normalizeDim, numel, shapeStr } from '../shape.js';
import { sum } from './reduce.js';

/** Launch a row kernel over `rows` rows of length r: a workgroup per row, or a thread per row. */
function launch(layout: ReduceLayout, rows: number): [number, number] {
  return layout === 'row' ? grid1d(rows, 1) : grid1d(rows);
}

function layoutFor(r: number, inner: number): ReduceLayout {
  return inner === 1 && r >= ROW_MAPPING_MIN ? 'row' : 'col';
}

function softmaxFamily(log: boolean, x: Tensor, dim: number): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  if (x.dtype !== 'float32') throw new EngramError(`${op}: expects a float32 tensor, got ${x.dtype} (shape ${shapeStr(x.shape)}); convert with toFloat()`);
  if (typeof dim !== 'number') throw new EngramError(`${op}: dim must be a single integer, got ${JSON.stringify(dim)}`);
  const d = normalizeDim(dim, x.rank, op);
  const shape = x.rank === 0 ? [1] : x.shape; // a scalar is a row of one
  const outer = numel(shape.slice(0, d));
  const r = shape[d]!;
  const inner = numel(shape.slice(d + 1));
  const layout = layoutFor(r, inner);
  const params = [outer, r, inner];
  const rt = runtime();
  const fwd = rt.kernel({ name: `${op}_fwd_${layout}`, wgsl: softmaxForwardWGSL(log, layout), bindings: ['read', 'write'] });
  const y = empty(x.shape);
  rt.dispatch(fwd, [x.buffer, y.buffer], params, launch(layout, outer * inner));
  return withGrad(y, op, [x], (g) => {
    const bwd = rt.kernel({ name: `${op}_bwd_${layout}`, wgsl: softmaxBackwardWGSL(log, layout), bindings: ['read', 'read', 'write'] });
    const dx = empty(x.shape);
    rt.dispatch(bwd, [g.buffer, y.buffer, dx.buffer], params, launch(layout, outer * inner));
    return [dx];
  }, { saved: [y] });
}

/** softmax along `dim` (default last), like torch.softmax. */
export function softmax(x: Tensor, dim = -1): Tensor {
  return softmaxFamily(false, x, dim);
}

/** log(softmax(x)) along `dim`, computed stably as x - max - log(sum(exp(x - max))). */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return softmaxFamily(true, x, dim);
}

/** How a loss reduces over the batch: the mean, the sum, or one value per row ('none'), as PyTorch's `reduction`. */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options for `nllLoss()` (and, with `labelSmoothing`, `crossEntropy()`). */
export interface NllLossOptions {
  /** Per-class weights, float32 [C]: row n counts w[target[n]] times (and 'mean' divides by their sum). */
  weight?: Tensor;
  /** Rows whose target equals this contribute 0 loss and 0 gradient, and do not count in 'mean' (default -100). */
  ignoreIndex?: number;
  /** 'mean' (default): summed loss / summed weight of the rows not ignored; 'sum'; or 'none' for the per-row losses [N]. */
  reduction?: Reduction;
}

/** Options for `crossEntropy()`. */
export interface CrossEntropyOptions extends NllLossOptions {
  /** eps in [0, 1]: the target becomes (1 - eps) * target + eps / C, as in PyTorch (default 0). */
  labelSmoothing?: number;
}

/** Shared by crossEntropy and nllLoss: validates, runs the loss kernels, records the gradient. */
function classLoss(op: 'crossEntropy' | 'nllLoss', x: Tensor, target: Tensor, opts: CrossEntropyOptions): Tensor {
  const fromLogits = op === 'crossEntropy';
  const what = fromLogits ? 'logits' : 'log-probabilities';
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new EngramError(`${op}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
  }
  const ignoreIndex = opts.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex) || ignoreIndex < -(2 ** 31) || ignoreIndex >= 2 ** 31) {
    throw new EngramError(`${op}: ignoreIndex must be an int32 integer, got ${String(ignoreIndex)}`);
  }
  const eps = opts.labelSmoothing ?? 0;
  if (typeof eps !== 'number' || !(eps >= 0 && eps <= 1)) {
    throw new EngramError(`${op}: labelSmoothing must be a number in [0, 1], got ${String(eps)}`);
  }
  if (x.dtype !== 'float32') {
    throw new EngramError(`${op}: ${what} must be float32, got ${x.dtype} (shape ${shapeStr(x.shape)})`);
  }
  if (x.rank !== 2) {
    throw new EngramError(`${op}: ${what} ${shapeStr(x.shape)} must have shape [N, C]; reshape a batch of sequences to [N * L, C] first`);
  }
  const [n, c] = x.shape as [number, number];
  if (c === 0) throw new EngramError(`${op}: ${what} ${shapeStr(x.shape)} have no classes`);
  let kind: CrossEntropyTarget;
  if (target.dtype === 'int32') {
    if (target.rank !== 1 || target.shape[0] !== n) {
      throw new EngramError(`${op}: ${what} ${shapeStr(x.shape)} and class indices ${shapeStr(target.shape)} do not match; expected ${what} [N, C] and int32 class indices [N]`);
    }
    kind = 'index';
  } else {
    if (!fromLogits) {
      throw new EngramError(`${op}: the target must be int32 class indices [N], got ${target.dtype} ${shapeStr(target.shape)}; for class probabilities use crossEntropy on logits`);
    }
    if (target.rank !== 2 || target.shape[0] !== n || target.shape[1] !== c) {
      throw new EngramError(`${op}: ${what} ${shapeStr(x.shape)} and class probabilities ${shapeStr(target.shape)} do not match; expected int32 class indices [${n}] or float32 probabilities [${n}, ${c}]`);
    }
    if (opts.ignoreIndex !== undefined) {
      throw new EngramError(`${op}: ignoreIndex applies to class index targets only, and the target is float32 probabilities ${shapeStr(target.shape)} (PyTorch rejects it too); drop the option or pass int32 class indices`);
    }
    kind = 'prob';
  }
  const weight = opts.weight;
  if (weight !== undefined && (weight.dtype !== 'float32' || weight.rank !== 1 || weight.shape[0] !== c)) {
    throw new EngramError(`${op}: weight must be a float32 tensor of shape [${c}] (one per class of ${what} ${shapeStr(x.shape)}), got ${weight.dtype} ${shapeStr(weight.shape)}`);
  }
  const weighted = weight !== undefined;

  const rt = runtime();
  const layout = layoutFor(c, 1);
  const inputs = [x.buffer, target.buffer, ...(weighted ? [weight.buffer] : [])];
  const fwd = rt.kernel({
    name: `${op}_fwd_${kind}${weighted ? '_w' : ''}_${layout}`,
    wgsl: lossForwardWGSL(layout, fromLogits, kind, weighted),
    // Class-index targets are range-checked on the GPU (rt.indexFlags(): reported at the next readback).
    bindings: [...inputs.map(() => 'read' as const), 'write', 'write', ...(kind === 'index' ? ['write' as const] : [])],
  });
  const parts = empty([n, 3]);
  const stats = empty([n, 3]);
  const nan = f32bits(NaN);
  const flags = kind === 'index' ? [rt.indexFlags()] : [];
  rt.dispatch(fwd, [...inputs, parts.buffer, stats.buffer, ...flags], [n, c, 1, nan, ignoreIndex >>> 0, f32bits(eps)], launch(layout, n));

  // 'sum' and 'mean' combine the summed parts (one reduction over the rows), 'none' each row's.
  const summed = reduction === 'none' ? parts : noGrad(() => sum(parts, 0));
  const count = reduction === 'none' ? n : 1;
  const a = 1 - eps;
  const b = eps / c;
  const out = empty(reduction === 'none' ? [n] : []);
  const combine = rt.kernel({ name: 'loss_combine', wgsl: LOSS_COMBINE_WGSL, bindings: ['read', 'write'] });
  const mean = reduction === 'mean' ? 1 : 0;
  rt.dispatch(combine, [summed.buffer, out.buffer], [count, mean, kind === 'prob' ? 1 : 0, eps > 0 ? 1 : 0, f32bits(a), f32bits(b)], grid1d(count));
  if (summed !== parts) parts.dispose();

  if (!needsGrad(x)) {
    stats.dispose();
    summed.dispose();
    return out;
  }
  const gstride = reduction === 'none' ? 1 : 0; // a reduced loss has one upstream value for all rows
  // The graph owns the row statistics and the summed parts (bound even for 'none'): freed with it,
  // kept by retainGraph. It reads the logits, the target and the weight.
  return withGrad(out, op, [x, target], (g) => {
    const bwd = rt.kernel({
      name: `${op}_bwd_${kind}${weighted ? '_w' : ''}`,
      wgsl: lossBackwardWGSL(fromLogits, kind, weighted),
      bindings: [...inputs.map(() => 'read' as const), 'read', 'read', 'read', 'write'],
    });
    const dx = empty(x.shape);
    const params = [n * c, c, gstride, mean, nan, ignoreIndex >>> 0, f32bits(eps), f32bits(a), f32bits(b)];
    rt.dispatch(bwd, [...inputs, stats.buffer, summed.buffer, g.buffer, dx.buffer], params, grid1d(n * c));
    return [dx, null];
  }, { saved: weighted ? [x, target, weight] : [x, target], owned: [stats, summed] });
}

/**
 * Cross-entropy between logits [N, C] (float32) and a target, like torch.nn.functional.cross_entropy:
 *  - int32 class indices [N]: per row -w[y] * log_softmax(x)[y], with `weight`, `ignoreIndex`
 *    (default -100: those rows give 0 loss and 0 gradient and do not count in the mean; a mean over
 *    no counted rows is NaN, as in PyTorch) and `labelSmoothing` eps (adds eps / C * -sum_c w[c] logp[c]);
 *  - float32 class probabilities [N, C]: per row -sum_c w[c] q[c] logp[c] with q the (smoothed)
 *    target; 'mean' divides by N. ignoreIndex is rejected, as in PyTorch.
 * 'mean' divides by the summed weight of the rows not ignored (N without weights or ignored rows).
 *
 * log_softmax is (x - max) - log(sum(exp(x - max))) in one kernel, so logits of any size are
 * stable, and the gradient (softmax - target) * g uses the same form: at logits around 1e3 it is
 * within float32 rounding of PyTorch's.
 *
 * Class indices outside [0, C) (other than ignoreIndex) cannot be detected without a GPU->CPU
 * readback, which this op never does; instead the row's loss (and so a 'mean'/'sum' loss) and its
 * gradient come out NaN. Neither the target nor the weight receives a gradient.
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  return classLoss('crossEntropy', logits, target, opts);
}

/**
 * Negative log-likelihood of log-probabilities [N, C] (e.g. logSoftmax's output) at int32 class
 * indices [N], like torch.nn.functional.nll_loss: per row -w[y] * logProbs[n, y], with `weight`,
 * `ignoreIndex` (default -100) and `reduction` as in crossEntropy (which is nllLoss(logSoftmax(x))
 * in one kernel). Out-of-range indices give NaN rows, as in crossEntropy.
 */
export function nllLoss(logProbs: Tensor, target: Tensor, opts: NllLossOptions = {}): Tensor {
  if ((opts as CrossEntropyOptions).labelSmoothing !== undefined) {
    throw new EngramError(`nllLoss: labelSmoothing is a crossEntropy option (PyTorch's nll_loss has none); use crossEntropy on the logits`);
  }
  return classLoss('nllLoss', logProbs, target, opts);
}
