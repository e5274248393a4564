// Reductions: sum, mean, amax, amin (values, differentiable), max, min (the full reduction's value,
// or over one dim the values and their int32 indices, as torch.max) and argmax, argmin (int32 indices).
//
// Every reduction views its input as [outer, R, inner], where R is the product of one run of
// adjacent reduced dimensions. A reduction over several dimensions that are not adjacent becomes
// successive single-run reductions (last run first, so earlier dimension numbers stay valid), each
// its own autograd node. Nothing is read back to the CPU, forward or backward.

import { runtime, grid1d, f32bits, EngramError } from '../runtime.js';
import { REDUCE_EXPAND_WGSL, REDUCE_SCATTER_WGSL, ROW_MAPPING_MIN, TIE_MASK_WGSL, TIE_SPLIT_WGSL, reduceWGSL, type ReduceKind, type ReduceLayout } from '../../shaders/reduce.js';
import { empty, needsGrad, withGrad, type Tensor } from '../tensor.js';
import { noGrad } from '../scope.js';
import { broadcastStrides, normalizeDim, numel, padRank, shapeStr } from '../shape.js';

/** Elements one workgroup reduces before the row is split into chunks for a second pass. */
const ROW_CHUNK = 4096;
/** Elements one thread reduces in the 'col' mapping before R is split into chunks. */
const COL_CHUNK = 256;

interface Reduced {
  values: Tensor;
  indices: Tensor | null;
}

// ------------------------------------------------------------------ the GPU passes (no autograd)

/** How many pieces to split R into so that there is enough parallel work (1 = a single pass). */
function chunkCount(layout: ReduceLayout, outer: number, r: number, inner: number): number {
  if (layout === 'row') {
    // Aim for ~512 workgroups in all, none reducing fewer than ROW_CHUNK elements.
    return Math.max(1, Math.min(Math.ceil(r / ROW_CHUNK), Math.ceil(512 / outer)));
  }
  const threads = outer * inner;
  if (r <= COL_CHUNK || threads >= 16384) return 1;
  return Math.max(1, Math.min(Math.ceil(r / COL_CHUNK), Math.ceil(16384 / threads)));
}

/**
 * Reduce x (viewed as [outer, r, inner]) over r into a tensor of `outShape`. For max/min also the
 * winner's index along r. `indexIn` holds the indices carried by x's elements on a second pass.
 */
function reducePass(kind: ReduceKind, x: Tensor, indexIn: Tensor | null, outer: number, r: number, inner: number, scale: number, outShape: readonly number[]): Reduced {
  const rt = runtime();
  const layout: ReduceLayout = inner === 1 && r >= ROW_MAPPING_MIN ? 'row' : 'col';
  let chunks = chunkCount(layout, outer, r, inner);
  const chunk = Math.max(1, Math.ceil(r / chunks));
  chunks = Math.max(1, Math.ceil(r / chunk));
  const last = chunks === 1;
  const shape = last ? outShape : [outer * chunks * inner];
  const values = empty(shape);
  const indices = kind === 'sum' ? null : empty(shape, 'int32');
  const init = kind === 'sum' ? 0 : kind === 'max' ? -Infinity : Infinity;
  const bindings = ['read', ...(indexIn ? ['read'] : []), 'write', ...(indices ? ['write'] : [])] as ('read' | 'write')[];
  const k = rt.kernel({ name: `reduce_${kind}_${layout}`, wgsl: reduceWGSL(kind, layout, indexIn !== null), bindings });
  const buffers = [x.buffer, ...(indexIn ? [indexIn.buffer] : []), values.buffer, ...(indices ? [indices.buffer] : [])];
  const params = [outer, r, inner, chunk, chunks, f32bits(last ? scale : 1), f32bits(init)];
  const outputs = outer * chunks * inner;
  rt.dispatch(k, buffers, params, layout === 'row' ? grid1d(outputs, 1) : grid1d(outputs));
  if (last) return { values, indices };
  const next = reducePass(kind, values, indices, outer, chunks, inner, scale, outShape);
  values.dispose();
  indices?.dispose();
  return next;
}

function expandBackward(g: Tensor, inShape: readonly number[], r: number, inner: number, scale: number): Tensor {
  const rt = runtime();
  const k = rt.kernel({ name: 'reduce_expand', wgsl: REDUCE_EXPAND_WGSL, bindings: ['read', 'write'] });
  const dx = empty(inShape);
  rt.dispatch(k, [g.buffer, dx.buffer], [dx.size, r, inner, f32bits(scale)], grid1d(dx.size));
  return dx;
}

/**
 * The gradient of amax/amin (and of the full max()/min()) over `dims`: the upstream gradient split
 * evenly among the elements that tie for the extremum, as PyTorch does. `nanSplit`: a NaN result
 * splits among the group's NaNs (max()/min()) instead of making the group's gradient NaN (amax/amin).
 */
function tieSplitBackward(g: Tensor, x: Tensor, values: Tensor, dims: number[], nanSplit: boolean): Tensor {
  const rt = runtime();
  const kept = x.shape.map((s, d) => (dims.includes(d) ? 1 : s));
  const params = [x.size, x.rank, nanSplit ? 1 : 0, f32bits(NaN), ...padRank(x.shape), ...padRank(broadcastStrides(kept, x.shape))];
  const maskK = rt.kernel({ name: 'reduce_tie_mask', wgsl: TIE_MASK_WGSL, bindings: ['read', 'read', 'write'] });
  const mask = empty(x.shape);
  rt.dispatch(maskK, [x.buffer, values.buffer, mask.buffer], params, grid1d(x.size));
  const count = x.rank === 0 ? mask : sum(mask, dims, true); // ties per group (sum is exact for counts < 2^24)
  const splitK = rt.kernel({ name: 'reduce_tie_split', wgsl: TIE_SPLIT_WGSL, bindings: ['read', 'read', 'read', 'read', 'write'] });
  const dx = empty(x.shape);
  rt.dispatch(splitK, [x.buffer, values.buffer, g.buffer, count.buffer, dx.buffer], params, grid1d(x.size));
  if (count !== mask) count.dispose();
  mask.dispose();
  return dx;
}

function scatterBackward(g: Tensor, indices: Tensor, inShape: readonly number[], r: number, inner: number): Tensor {
  const rt = runtime();
  const k = rt.kernel({ name: 'reduce_scatter', wgsl: REDUCE_SCATTER_WGSL, bindings: ['read', 'read', 'write'] });
  const dx = empty(inShape);
  rt.dispatch(k, [g.buffer, indices.buffer, dx.buffer], [dx.size, r, inner], grid1d(dx.size));
  return dx;
}

// ------------------------------------------------------------------ dims and shapes

type Op = 'sum' | 'mean' | 'max' | 'min';

function requireFloat(op: string, x: Tensor): void {
  if (x.dtype !== 'float32') throw new EngramError(`${op}: expects a float32 tensor, got ${x.dtype} (shape ${shapeStr(x.shape)}); convert with toFloat()`);
}

/** Normalized, sorted, duplicate-free dims; undefined (or []) means every dimension, as in PyTorch. */
function resolveDims(op: string, shape: readonly number[], dim: number | readonly number[] | undefined): number[] {
  const rank = shape.length;
  if (dim === undefined || (Array.isArray(dim) && dim.length === 0)) return [...Array(Math.max(rank, 1)).keys()];
  if (typeof dim !== 'number' && !Array.isArray(dim)) throw new EngramError(`${op}: dim must be an integer or an array of integers, got ${String(dim)}`);
  const list: readonly number[] = typeof dim === 'number' ? [dim] : dim;
  const seen = new Set<number>();
  for (const d of list) {
    const n = normalizeDim(d, rank, op);
    if (seen.has(n)) throw new EngramError(`${op}: dimension ${d} appears more than once in dims [${list.join(', ')}] (shape ${shapeStr(shape)})`);
    seen.add(n);
  }
  return [...seen].sort((a, b) => a - b);
}

/** Group sorted dims into runs of adjacent dimensions: [0, 1, 3] -> [[0, 2], [3, 4]] (end-exclusive). */
function runsOf(dims: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const d of dims) {
    const last = runs[runs.length - 1];
    if (last && last[1] === d) last[1] = d + 1;
    else runs.push([d, d + 1]);
  }
  return runs;
}

/** The [outer, R, inner] view of `shape` for reducing dimensions [start, end), and the output shape. */
function viewOf(shape: readonly number[], start: number, end: number, keepdim: boolean) {
  const outer = numel(shape.slice(0, start));
  const r = numel(shape.slice(start, end));
  const inner = numel(shape.slice(end));
  const kept = keepdim ? new Array<number>(end - start).fill(1) : [];
  const outShape = [...shape.slice(0, start), ...kept, ...shape.slice(end)];
  return { outer, r, inner, outShape };
}

// ------------------------------------------------------------------ one differentiable reduction

/** Reduce dimensions [start, end) of x (a scalar is handled as shape [1] by the caller). */
function reduceRun(op: Op, x: Tensor, shape: readonly number[], start: number, end: number, keepdim: boolean, outShapeOverride?: number[], name: string = op): Tensor {
  const { outer, r, inner, outShape: natural } = viewOf(shape, start, end, keepdim);
  const outShape = outShapeOverride ?? natural;
  if ((op === 'max' || op === 'min') && r === 0) {
    throw new EngramError(`${name}: cannot reduce over a dimension of size 0 (shape ${shapeStr(x.shape)}); ${name} has no identity`);
  }
  if (op === 'sum' || op === 'mean') {
    const scale = op === 'mean' ? 1 / r : 1; // mean of nothing is NaN (0 * inf), as in PyTorch
    const { values } = reducePass('sum', x, null, outer, r, inner, scale, outShape);
    return withGrad(values, op, [x], (g) => [expandBackward(g, x.shape, r, inner, scale)], { saved: [] });
  }
  // max/min: the values only. Their gradient is recorded once over all the reduced dims by
  // `extremum`, which runs these staged reductions under noGrad.
  const { values, indices } = reducePass(op, x, null, outer, r, inner, 1, outShape);
  indices!.dispose();
  return values;
}

function reduce(op: Op, x: Tensor, dim: number | readonly number[] | undefined, keepdim: boolean, name: string = op): Tensor {
  requireFloat(name, x);
  if (x.rank === 0) {
    resolveDims(name, x.shape, dim); // validates
    return reduceRun(op, x, [1], 0, 1, false, [], name);
  }
  const runs = runsOf(resolveDims(name, x.shape, dim));
  let cur = x;
  let shape: readonly number[] = x.shape;
  // Last run first: reducing it does not renumber the dimensions of the runs before it.
  for (let k = runs.length - 1; k >= 0; k--) {
    const [start, end] = runs[k]!;
    const next = reduceRun(op, cur, shape, start, end, keepdim, undefined, name);
    if (cur !== x && !next.requiresGrad) cur.dispose(); // an intermediate no graph refers to
    cur = next;
    shape = next.shape;
  }
  return cur;
}

// ------------------------------------------------------------------ public ops

/** Sum over `dim` (a dimension, a list of them, or all when omitted), like torch.sum. */
export function sum(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  return reduce('sum', x, dim, keepdim);
}

/** Mean over `dim` (all when omitted), like torch.mean. Backward: g / count, broadcast. */
export function mean(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  return reduce('mean', x, dim, keepdim);
}

/** The values and (int32) indices of max(x, dim) / min(x, dim), like torch.return_types.max. */
export interface ValuesIndices {
  /** The extrema along the dim (float32; differentiable: the gradient goes to `indices`). */
  values: Tensor;
  /** Where they are along the dim (int32): the first extremum, or the first NaN. */
  indices: Tensor;
}

/**
 * Values only, differentiable with PyTorch's tie-splitting gradient. The values come from the
 * staged single-run reductions (without a graph: staging would split the gradient unevenly); one
 * autograd node covers all of `dim`.
 */
function extremum(kind: 'max' | 'min', name: string, x: Tensor, dim: number | readonly number[] | undefined, keepdim: boolean, nanSplit: boolean): Tensor {
  requireFloat(name, x);
  const dims = resolveDims(name, x.shape, dim);
  const values = noGrad(() => reduce(kind, x, dim, keepdim, name));
  if (!needsGrad(x)) return values;
  // The gradient reads x and the values (the output): withGrad's default saved set.
  return withGrad(values, name, [x], (g) => [tieSplitBackward(g, x, values, x.rank === 0 ? [] : dims, nanSplit)]);
}

/** max(x, dim) / min(x, dim): values and indices along one dimension; the gradient goes to the index. */
function extremumAlong(kind: 'max' | 'min', x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  requireFloat(kind, x);
  if (typeof dim !== 'number') {
    throw new EngramError(`${kind}: dim must be a single integer, got ${JSON.stringify(dim)} (shape ${shapeStr(x.shape)}); for several dimensions use a${kind}(x, dims), which returns the values only`);
  }
  const d = normalizeDim(dim, x.rank, kind);
  const { outer, r, inner, outShape } = x.rank === 0 ? { outer: 1, r: 1, inner: 1, outShape: [] } : viewOf(x.shape, d, d + 1, keepdim);
  if (r === 0) throw new EngramError(`${kind}: cannot reduce over a dimension of size 0 (shape ${shapeStr(x.shape)}); ${kind} has no identity`);
  const { values, indices } = reducePass(kind, x, null, outer, r, inner, 1, outShape);
  // The gradient reads only the returned indices: the graph holds them (not owns: they are the
  // caller's too), so backward still has them if the caller disposes them, as maxPool2d's.
  const v = withGrad(values, kind, [x], (g) => [scatterBackward(g, indices!, x.shape, r, inner)], { saved: [indices!] });
  return { values: v, indices: indices! };
}

/**
 * max(x): the largest element (shape []), like torch.max(x); NaN wins (propagates). Its gradient
 * is split evenly among tied maxima (among the NaNs when the result is NaN), as PyTorch does.
 * max(x, dim, keepdim?): { values, indices } along `dim`, like torch.max(x, dim); ties go to the
 * first index, a NaN (the first one) wins, and the gradient goes to the returned index only.
 * For several dimensions, or values with a tie-splitting gradient, use amax.
 */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined) return extremum('max', 'max', x, undefined, false, true);
  return extremumAlong('max', x, dim, keepdim);
}

/** min(x) / min(x, dim, keepdim?): the mirror image of `max`. */
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined) return extremum('min', 'min', x, undefined, false, true);
  return extremumAlong('min', x, dim, keepdim);
}

/**
 * Maximum over `dim` (a dimension, a list of them, or all when omitted), like torch.amax. NaN
 * propagates. The gradient is split evenly among the tied maxima of each group (PyTorch's
 * (grad / count) * (x == amax)); a group whose maximum is NaN gets a NaN gradient, as in PyTorch.
 */
export function amax(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  return extremum('max', 'amax', x, dim, keepdim, false);
}

/** Minimum over `dim` (all when omitted), like torch.amin; the mirror image of `amax`. */
export function amin(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  return extremum('min', 'amin', x, dim, keepdim, false);
}

function argReduce(op: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  requireFloat(op, x);
  if (dim !== undefined && typeof dim !== 'number') {
    throw new EngramError(`${op}: dim must be a single integer (or omitted for the flattened tensor), got ${JSON.stringify(dim)}`);
  }
  const kind = op === 'argmax' ? 'max' : 'min';
  let view: { outer: number; r: number; inner: number; outShape: number[] };
  if (dim === undefined || x.rank === 0) {
    if (dim !== undefined) normalizeDim(dim, x.rank, op);
    // An index into the flattened tensor, like torch.argmax(x).
    view = { outer: 1, r: x.size, inner: 1, outShape: keepdim ? new Array<number>(x.rank).fill(1) : [] };
  } else {
    const d = normalizeDim(dim, x.rank, op);
    view = viewOf(x.shape, d, d + 1, keepdim);
  }
  if (view.r === 0) throw new EngramError(`${op}: cannot reduce over a dimension of size 0 (shape ${shapeStr(x.shape)})`);
  const { values, indices } = reducePass(kind, x, null, view.outer, view.r, view.inner, 1, view.outShape);
  values.dispose();
  return indices!;
}

/** Index (int32) of the first maximum along `dim`, or into the flattened tensor when omitted. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argReduce('argmax', x, dim, keepdim);
}

/** Index (int32) of the first minimum along `dim`, or into the flattened tensor when omitted. */
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argReduce('argmin', x, dim, keepdim);
}
