// Statistics and scans: var / std (composed of the reduction ops, so their gradients come from
// those ops' kernels), logsumexp and cumsum (per-row kernels of shaders/scan.ts).

import { runtime, grid1d, EngramError } from '../runtime.js';
import { cumsumWGSL, LOGSUMEXP_WGSL, LOGSUMEXP_BACKWARD_WGSL } from '../../shaders/scan.js';
import { empty, full, withGrad, type Tensor } from '../tensor.js';
import { normalizeDim, shapeStr } from '../shape.js';
import { scope } from '../scope.js';
import { sum, mean } from './reduce.js';
import { sub, mul, sqrt } from './elementwise.js';
import { reshape, permute } from './shape-ops.js';

/** Options of `var` and `std`. */
export interface VarOptions {
  /**
   * Subtracted from the element count in the divisor: sum((x - mean)^2) / max(0, N - correction).
   * Default 1 (Bessel's correction, the unbiased estimate), as torch.var in PyTorch >= 2.0 and
   * torch 1.13's default `unbiased=True`; 0 gives the biased (population) variance.
   */
  correction?: number;
  /** Keep the reduced dimensions with size 1 (default false). */
  keepdim?: boolean;
}

function varianceOf(op: string, x: Tensor, dim: number | number[] | undefined, opts: VarOptions): Tensor {
  if (x.dtype !== 'float32') throw new EngramError(`${op}: expects a float32 input, got ${x.dtype} (shape ${shapeStr(x.shape)})`);
  const correction = opts.correction ?? 1;
  if (!Number.isFinite(correction)) throw new EngramError(`${op}: correction must be a finite number, got ${correction}`);
  const keepdim = opts.keepdim ?? false;
  const dims = dim === undefined ? [...x.shape.keys()] : (Array.isArray(dim) ? dim : [dim]).map((d) => normalizeDim(d, Math.max(x.rank, 1), op));
  const N = x.rank === 0 ? 1 : dims.reduce((a, d) => a * x.shape[d]!, 1);
  // As PyTorch: the divisor is clamped at 0, so N <= correction gives inf (or NaN for 0 / 0).
  const divisor = Math.max(0, N - correction);
  return scope(() => {
    const d = sub(x, mean(x, dim, true)); // two-pass: sums of squares around the mean, not E[x^2] - E[x]^2
    return mul(sum(mul(d, d), dim, keepdim), 1 / divisor);
  });
}

/**
 * Variance over `dim` (a dimension, a list, or all when omitted), like torch.var with
 * `correction` (default 1: unbiased). Differentiable.
 */
export function variance(x: Tensor, dim?: number | number[], opts: VarOptions = {}): Tensor {
  return varianceOf('var', x, dim, opts);
}

/**
 * Standard deviation over `dim` (all when omitted): sqrt(var(x, dim, opts)), like torch.std
 * (`correction` default 1). Its gradient is NaN where the deviation is 0, as PyTorch's.
 */
export function std(x: Tensor, dim?: number | number[], opts: VarOptions = {}): Tensor {
  return scope(() => sqrt(varianceOf('std', x, dim, opts)));
}

export { variance as var };

/** [outer, D, inner] around dimension d (a 0-d tensor is [1, 1, 1]). */
function rowsAround(x: Tensor, d: number): { outer: number; D: number; inner: number } {
  if (x.rank === 0) return { outer: 1, D: 1, inner: 1 };
  let outer = 1;
  let inner = 1;
  for (let k = 0; k < d; k++) outer *= x.shape[k]!;
  for (let k = d + 1; k < x.rank; k++) inner *= x.shape[k]!;
  return { outer, D: x.shape[d]!, inner };
}

/**
 * log(sum(exp(x))) over `dim` (a dimension or a list of them), computed stably (the row maximum
 * factored out), like torch.logsumexp: +inf if the row holds +inf, -inf if it is all -inf (or
 * empty), NaN if it holds NaN. The gradient is softmax(x) times the upstream gradient.
 */
export function logsumexp(x: Tensor, dim: number | number[], keepdim = false): Tensor {
  const op = 'logsumexp';
  if (x.dtype !== 'float32') throw new EngramError(`${op}: expects a float32 input, got ${x.dtype} (shape ${shapeStr(x.shape)})`);
  if (Array.isArray(dim)) {
    const dims = dim.map((d) => normalizeDim(d, Math.max(x.rank, 1), op));
    if (new Set(dims).size !== dims.length) throw new EngramError(`${op}: dimension list [${dim.join(', ')}] repeats a dimension of ${shapeStr(x.shape)}`);
    if (dims.length === 0) throw new EngramError(`${op}: pass at least one dimension to reduce, got [] for input ${shapeStr(x.shape)}`);
    if (dims.length === 1 || x.rank === 0) return logsumexp(x, dims[0]!, keepdim);
    // Several dimensions: move them last, merge them into one row, reduce that row (autograd
    // goes back through the reshape and the permute).
    const kept = [...x.shape.keys()].filter((k) => !dims.includes(k));
    const rowLen = dims.reduce((a, k) => a * x.shape[k]!, 1);
    const outShape = keepdim ? x.shape.map((n, k) => (dims.includes(k) ? 1 : n)) : kept.map((k) => x.shape[k]!);
    return scope(() => reshape(logsumexp(reshape(permute(x, [...kept, ...dims]), [...kept.map((k) => x.shape[k]!), rowLen]), -1), outShape));
  }
  const d = normalizeDim(dim, Math.max(x.rank, 1), op);
  const { outer, D, inner } = rowsAround(x, d);
  const outShape = x.rank === 0 ? [] : keepdim ? x.shape.map((n, k) => (k === d ? 1 : n)) : x.shape.filter((_, k) => k !== d);
  if (D === 0) {
    // The sum of no exponentials is 0, its log -inf (as PyTorch); no element gets a gradient.
    return withGrad(full(outShape, -Infinity), op, [x], () => [empty(x.shape)]);
  }
  const rt = runtime();
  const out = empty(outShape);
  const rows = outer * inner;
  rt.dispatch(rt.kernel({ name: 'logsumexp', wgsl: LOGSUMEXP_WGSL, bindings: ['read', 'write'] }), [x.buffer, out.buffer], [rows, D, inner], grid1d(rows));
  return withGrad(out, op, [x], (g) => {
    const rb = runtime();
    const dx = empty(x.shape);
    const k = rb.kernel({ name: 'logsumexp_bwd', wgsl: LOGSUMEXP_BACKWARD_WGSL, bindings: ['read', 'read', 'read', 'write'] });
    rb.dispatch(k, [g.buffer, x.buffer, out.buffer, dx.buffer], [x.size, D, inner], grid1d(x.size));
    return [dx];
  }, { saved: [x, out] });
}

function scan(x: Tensor, d: number, reverse: boolean): Tensor {
  const { outer, D, inner } = rowsAround(x, d);
  const rt = runtime();
  const y = empty(x.shape);
  const rows = outer * inner;
  if (D > 0) rt.dispatch(rt.kernel({ name: reverse ? 'cumsum_reverse' : 'cumsum', wgsl: cumsumWGSL(reverse), bindings: ['read', 'write'] }), [x.buffer, y.buffer], [rows, D, inner], grid1d(rows));
  return y;
}

/**
 * Running sum along `dim`, like torch.cumsum: y[..., i, ...] = x[..., 0, ...] + ... + x[..., i, ...],
 * added in order. The gradient is the reverse running sum of the upstream gradient.
 */
export function cumsum(x: Tensor, dim: number): Tensor {
  const op = 'cumsum';
  if (x.dtype !== 'float32') throw new EngramError(`${op}: expects a float32 input, got ${x.dtype} (shape ${shapeStr(x.shape)}); convert with toFloat()`);
  const d = normalizeDim(dim, Math.max(x.rank, 1), op);
  return withGrad(scan(x, d, false), op, [x], (g) => [scan(g, d, true)], { saved: [] });
}
