// Layer and group normalization (torch.nn.functional.layer_norm / group_norm semantics): statistics
// per row (biased variance, as PyTorch), no running statistics, the same computation in training
// and evaluation. Both reduce contiguous runs of x, so they share the kernels of
// shaders/layernorm.ts: x is seen as [R, D], the affine weight and bias indexed by channel
// (i / S) % C.

import { runtime, grid1d, f32bits, EngramError } from '../runtime.js';
import {
  ROWNORM_STATS_WGSL, rowNormNormalizeWGSL, rowNormBackwardDxWGSL, ROWNORM_BACKWARD_AFFINE_WGSL,
  ROWNORM_SHORT_ROW, ROWNORM_STATS_SHORT_WGSL, rowNormBackwardDxShortWGSL,
} from '../../shaders/layernorm.js';
import { empty, zeros, withGrad, type Tensor } from '../tensor.js';
import { shapeStr } from '../shape.js';

/** The [R, D] view and the affine channel map: element i uses weight[(i / S) % C]. */
interface RowLayout {
  R: number;
  D: number;
  C: number;
  S: number;
}

function checkAffine(op: string, t: Tensor | null, what: string, x: Tensor, shape: readonly number[], fix: string): void {
  if (!t) return;
  if (t.dtype !== 'float32') throw new EngramError(`${op}: ${what} must be float32, got ${t.dtype} (shape ${shapeStr(t.shape)})`);
  if (t.rank !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
    throw new EngramError(`${op}: ${what} has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)} for input ${shapeStr(x.shape)} (${fix})`);
  }
}

function checkEps(op: string, eps: number): void {
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new EngramError(`${op}: eps must be a finite non-negative number, got ${eps}`);
}

function rowStats(x: Tensor, L: RowLayout, eps: number): [Tensor, Tensor] {
  const rt = runtime();
  // Short rows: one thread per row (see ROWNORM_SHORT_ROW); longer ones: one workgroup per row.
  const short = L.D <= ROWNORM_SHORT_ROW;
  const k = short
    ? rt.kernel({ name: 'rownorm_stats_short', wgsl: ROWNORM_STATS_SHORT_WGSL, bindings: ['read', 'write', 'write'] })
    : rt.kernel({ name: 'rownorm_stats', wgsl: ROWNORM_STATS_WGSL, bindings: ['read', 'write', 'write'] });
  const mean = empty([2 * L.R]); // hi, then lo: see ROWNORM_STATS_WGSL
  const invstd = empty([L.R]);
  rt.dispatch(k, [x.buffer, mean.buffer, invstd.buffer], [L.R, L.D, f32bits(eps)], short ? grid1d(L.R) : grid1d(L.R, 1));
  return [mean, invstd];
}

function normalizeRows(x: Tensor, L: RowLayout, mean: Tensor, invstd: Tensor, w: Tensor | null, b: Tensor | null): Tensor {
  const rt = runtime();
  const bufs = [x.buffer, mean.buffer, invstd.buffer];
  if (w) bufs.push(w.buffer);
  if (b) bufs.push(b.buffer);
  const k = rt.kernel({ name: 'rownorm_normalize', wgsl: rowNormNormalizeWGSL(w !== null, b !== null), bindings: [...bufs.map(() => 'read' as const), 'write'] });
  const y = empty(x.shape);
  rt.dispatch(k, [...bufs, y.buffer], [x.size, L.R, L.D, L.C, L.S], grid1d(x.size));
  return y;
}

function backwardDx(g: Tensor, x: Tensor, L: RowLayout, mean: Tensor, invstd: Tensor, w: Tensor | null): Tensor {
  const rt = runtime();
  const bufs = [g.buffer, x.buffer, mean.buffer, invstd.buffer];
  if (w) bufs.push(w.buffer);
  const short = L.D <= ROWNORM_SHORT_ROW;
  const wgsl = short ? rowNormBackwardDxShortWGSL(w !== null) : rowNormBackwardDxWGSL(w !== null);
  const k = rt.kernel({ name: short ? 'rownorm_backward_dx_short' : 'rownorm_backward_dx', wgsl, bindings: [...bufs.map(() => 'read' as const), 'write'] });
  const dx = empty(x.shape);
  rt.dispatch(k, [...bufs, dx.buffer], [L.R, L.D, L.C, L.S], short ? grid1d(L.R) : grid1d(L.R, 1));
  return dx;
}

/** [sum(g * xhat), sum(g)] per channel: the weight and bias gradients, shaped like the weight. */
function backwardAffine(g: Tensor, x: Tensor, L: RowLayout, mean: Tensor, invstd: Tensor, shape: readonly number[]): [Tensor, Tensor] {
  const rt = runtime();
  const k = rt.kernel({ name: 'rownorm_backward_affine', wgsl: ROWNORM_BACKWARD_AFFINE_WGSL, bindings: ['read', 'read', 'read', 'read', 'write', 'write'] });
  const dw = empty(shape);
  const db = empty(shape);
  const M = x.size / (L.C * L.S);
  rt.dispatch(k, [g.buffer, x.buffer, mean.buffer, invstd.buffer, dw.buffer, db.buffer], [L.C, L.S, M, L.D, L.R], grid1d(L.C, 1));
  return [dw, db];
}

/** The shared forward/backward once the layout is known. */
function rowNorm(op: string, x: Tensor, L: RowLayout, weight: Tensor | null, bias: Tensor | null, eps: number, affineShape: readonly number[]): Tensor {
  const inputs = [x];
  if (weight) inputs.push(weight);
  if (bias) inputs.push(bias);
  if (x.size === 0) {
    // As PyTorch: an empty output; the affine gradients are sums over no elements (zeros).
    return withGrad(empty(x.shape), op, inputs, () => [empty(x.shape), ...(weight ? [zeros(affineShape)] : []), ...(bias ? [zeros(affineShape)] : [])]);
  }
  const [mean, invstd] = rowStats(x, L, eps);
  const y = normalizeRows(x, L, mean, invstd, weight, bias);
  return withGrad(y, op, inputs, (g) => {
    const dx = x.requiresGrad ? backwardDx(g, x, L, mean, invstd, weight) : null;
    const wantAffine = (weight?.requiresGrad ?? false) || (bias?.requiresGrad ?? false);
    const grads: (Tensor | null)[] = [dx];
    if (!wantAffine) {
      if (weight) grads.push(null);
      if (bias) grads.push(null);
      return grads;
    }
    const [dw, db] = backwardAffine(g, x, L, mean, invstd, affineShape);
    if (weight) grads.push(dw);
    else dw.dispose();
    if (bias) grads.push(db);
    else db.dispose();
    return grads;
  }, { saved: [x, ...(weight ? [weight] : [])], owned: [mean, invstd] });
}

/**
 * Layer normalization, like torch.nn.functional.layer_norm: normalizes x over its last
 * `normalizedShape.length` dimensions (which must equal `normalizedShape`) with the mean and the
 * biased variance of each such slice, then applies the elementwise `weight` and `bias` (each of
 * shape `normalizedShape`, each optional). Gradients flow to x, weight and bias.
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps: number = 1e-5): Tensor {
  const op = 'layerNorm';
  if (x.dtype !== 'float32') throw new EngramError(`${op}: expects a float32 input, got ${x.dtype} (shape ${shapeStr(x.shape)})`);
  checkEps(op, eps);
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.rank - k);
  if (k === 0 || k > x.rank || tail.some((d, j) => d !== normalizedShape[j])) {
    throw new EngramError(`${op}: normalizedShape ${shapeStr(normalizedShape)} must be non-empty and equal the last dimensions of the input ${shapeStr(x.shape)} (pass x.shape.slice(-k) to normalize over the last k dimensions)`);
  }
  const fix = 'weight and bias have the normalized shape';
  checkAffine(op, weight, 'weight', x, normalizedShape, fix);
  checkAffine(op, bias, 'bias', x, normalizedShape, fix);
  const D = normalizedShape.reduce((a, b) => a * b, 1);
  const R = D === 0 ? 0 : x.size / D;
  return rowNorm(op, x, { R, D, C: D, S: 1 }, weight, bias, eps, normalizedShape);
}

/**
 * Group normalization, like torch.nn.functional.group_norm: x [N, C, ...] has its C channels split
 * into `numGroups` groups of C / numGroups consecutive channels; each (sample, group) is normalized
 * with its mean and biased variance over the group's channels and all spatial positions, then the
 * per-channel `weight` and `bias` ([C], each optional) are applied. Gradients flow to x, weight and
 * bias.
 */
export function groupNorm(x: Tensor, numGroups: number, weight: Tensor | null = null, bias: Tensor | null = null, eps: number = 1e-5): Tensor {
  const op = 'groupNorm';
  if (x.dtype !== 'float32') throw new EngramError(`${op}: expects a float32 input, got ${x.dtype} (shape ${shapeStr(x.shape)})`);
  checkEps(op, eps);
  if (x.rank < 2) throw new EngramError(`${op}: expected an input of shape [N, C, ...] (2 or more dimensions), got ${shapeStr(x.shape)}`);
  const C = x.shape[1]!;
  if (!Number.isInteger(numGroups) || numGroups < 1 || C % numGroups !== 0) {
    throw new EngramError(`${op}: numGroups must be a positive integer dividing the ${C} channels of input ${shapeStr(x.shape)}, got ${numGroups}`);
  }
  const fix = 'weight and bias have one value per channel';
  checkAffine(op, weight, 'weight', x, [C], fix);
  checkAffine(op, bias, 'bias', x, [C], fix);
  let S = 1;
  for (let d = 2; d < x.rank; d++) S *= x.shape[d]!;
  const D = (C / numGroups) * S;
  const R = x.shape[0]! * numGroups;
  return rowNorm(op, x, { R, D, C, S }, weight, bias, eps, [C]);
}
