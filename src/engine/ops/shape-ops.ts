// Shape and indexing ops (PyTorch names and semantics): reshape/view, flatten, squeeze, unsqueeze
// share the input's buffer; transpose, permute, expand, slice, narrow, concat/cat, stack copy
// through one strided gather kernel (and its scatter twin); indexSelect and gather have their own
// kernels. Every op works on float32 and int32 (the copies move raw bits); gradients flow for
// float32. Nothing here reads the GPU back.

import { runtime, grid1d, EngramError } from '../runtime.js';
import {
  STRIDED_GATHER_WGSL, STRIDED_SCATTER_WGSL, INDEX_SELECT_WGSL, INDEX_SELECT_BACKWARD_WGSL, GATHER_WGSL, GATHER_BACKWARD_WGSL,
} from '../../shaders/shape.js';
import { Tensor, empty, withGrad, type DType } from '../tensor.js';
import { checkShape, normalizeDim, numel, padRank, sameShape, shapeStr, stridesOf, MAX_RANK } from '../shape.js';
import { sumTo } from './elementwise.js';
import { fill_ } from './fill.js';

/** A list of sizes or dimension indices. */
export type Dims = readonly number[];

// ------------------------------------------------------------------ kernel calls

/** A new tensor of `resultShape` (default `shape`) with OUT[i] = src[offset + coords(i in shape) . strides]. */
function stridedGather(src: Tensor, shape: Dims, strides: Dims, offset: number, resultShape: Dims = shape): Tensor {
  const rt = runtime();
  const k = rt.kernel({ name: 'stridedGather', wgsl: STRIDED_GATHER_WGSL, bindings: ['read', 'write'] });
  const out = empty(resultShape, src.dtype);
  rt.dispatch(k, [src.buffer, out.buffer], [out.size, shape.length, offset, ...padRank(shape, 1), ...padRank(strides)], grid1d(out.size));
  return out;
}

/** dst[offset + coords(i in shape) . strides] = src[i] for every element i of `src` (read as `shape`). */
function stridedScatter(src: Tensor, shape: Dims, dst: Tensor, strides: Dims, offset: number): void {
  const rt = runtime();
  const k = rt.kernel({ name: 'stridedScatter', wgsl: STRIDED_SCATTER_WGSL, bindings: ['read', 'write'] });
  rt.dispatch(k, [src.buffer, dst.buffer], [src.size, shape.length, offset, ...padRank(shape, 1), ...padRank(strides)], grid1d(src.size));
}

/** What an out-of-range index writes: NaN for float32, INT32_MIN for int32 (see shaders/shape.ts). */
function badBits(dtype: DType): number {
  return dtype === 'int32' ? 0x80000000 : 0x7fc00000;
}

function zerosOf(shape: Dims): Tensor {
  return fill_(empty(shape), 0);
}

// ------------------------------------------------------------------ views sharing the buffer

/** A tensor with a new shape over the same buffer (one dimension may be -1 and is inferred). */
export function reshape(x: Tensor, shape: Dims): Tensor {
  if (!Array.isArray(shape)) throw new EngramError(`reshape: shape must be an array of integers, got ${String(shape)}`);
  const holes = shape.filter((d) => d === -1).length;
  if (holes > 1) throw new EngramError(`reshape: only one dimension can be -1, got ${shapeStr(shape)}`);
  let target = [...shape];
  if (holes === 1) {
    const known = numel(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw new EngramError(`reshape: cannot reshape tensor of shape ${shapeStr(x.shape)} (${x.size} elements) into ${shapeStr(shape)}`);
    }
    target = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  checkShape(target, 'reshape');
  if (numel(target) !== x.size) {
    throw new EngramError(`reshape: cannot reshape tensor of shape ${shapeStr(x.shape)} (${x.size} elements) into ${shapeStr(shape)} (${numel(target)} elements)`);
  }
  const out = new Tensor(x.storage.retain(), target, x.dtype);
  return withGrad(out, 'reshape', [x], (g) => [reshape(g, x.shape)], { saved: [] });
}

/** Alias of reshape (every tensor is contiguous, so a view always exists). */
export function view(x: Tensor, shape: Dims): Tensor {
  return reshape(x, shape);
}

/** Merge dimensions startDim..endDim (inclusive) into one. A 0-d tensor becomes shape [1]. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  const s = normalizeDim(startDim, x.rank, 'flatten');
  const e = normalizeDim(endDim, x.rank, 'flatten');
  if (s > e) throw new EngramError(`flatten: startDim ${startDim} comes after endDim ${endDim} for shape ${shapeStr(x.shape)}`);
  if (x.rank === 0) return reshape(x, [1]);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Remove dimensions of size 1: all of them, or only `dim` (one or several) where it has size 1. */
export function squeeze(x: Tensor, dim?: number | Dims): Tensor {
  const drop = new Set<number>();
  if (dim === undefined) {
    x.shape.forEach((d, i) => d === 1 && drop.add(i));
  } else {
    for (const d of typeof dim === 'number' ? [dim] : dim) {
      const n = normalizeDim(d, x.rank, 'squeeze');
      if (x.shape[n] === 1) drop.add(n);
    }
  }
  return reshape(x, x.shape.filter((_, i) => !drop.has(i)));
}

/** Insert a dimension of size 1 at `dim` (from -(rank+1) to rank). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim(dim, x.rank + 1, 'unsqueeze');
  const shape = [...x.shape.slice(0, d), 1, ...x.shape.slice(d)];
  checkShape(shape, 'unsqueeze');
  return reshape(x, shape);
}

// ------------------------------------------------------------------ copies through the strided gather

/** Reorder dimensions: output dimension i is input dimension dims[i]. */
export function permute(x: Tensor, dims: Dims): Tensor {
  const bad = (why: string) => new EngramError(`permute: ${shapeStr(dims)} is not a permutation of the ${x.rank} dimension(s) of shape ${shapeStr(x.shape)} (${why})`);
  if (!Array.isArray(dims) || dims.length !== x.rank) throw bad(`expected ${x.rank} entries`);
  const perm = dims.map((d) => {
    if (!Number.isInteger(d) || d < -x.rank || d >= x.rank) throw bad(`${d} is out of range`);
    return d < 0 ? d + x.rank : d;
  });
  if (new Set(perm).size !== perm.length) throw bad('repeated dimension');
  const outShape = perm.map((d) => x.shape[d]!);
  // Dimensions of size 1 can move freely: if the others keep their order, the data does not move.
  const moved = perm.filter((d) => x.shape[d] !== 1);
  if (moved.every((d, i) => i === 0 || moved[i - 1]! < d)) return reshape(x, outShape);
  const strides = stridesOf(x.shape);
  const out = stridedGather(x, outShape, perm.map((d) => strides[d]!), 0);
  const inverse = new Array<number>(perm.length);
  perm.forEach((d, i) => (inverse[d] = i));
  return withGrad(out, 'permute', [x], (g) => [permute(g, inverse)], { saved: [] });
}

/** Swap two dimensions. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normalizeDim(dim0, x.rank, 'transpose');
  const b = normalizeDim(dim1, x.rank, 'transpose');
  if (x.rank === 0) return reshape(x, x.shape);
  const perm = [...x.shape.keys()];
  [perm[a], perm[b]] = [b, a];
  return permute(x, perm);
}

/**
 * Broadcast size-1 dimensions to `shape` (new leading dimensions may be added); -1 keeps a
 * dimension. Unlike PyTorch's view this copies, since tensors are always contiguous.
 */
export function expand(x: Tensor, shape: Dims): Tensor {
  if (!Array.isArray(shape) || shape.length < x.rank) {
    throw new EngramError(`expand: shape ${shapeStr(shape ?? [])} has fewer dimensions than the tensor's ${shapeStr(x.shape)}`);
  }
  const lead = shape.length - x.rank;
  const xStrides = stridesOf(x.shape);
  const strides: number[] = [];
  const outShape = shape.map((want, i) => {
    const have = i < lead ? undefined : x.shape[i - lead]!;
    if (want === -1) {
      if (have === undefined) throw new EngramError(`expand: -1 is not allowed for the new leading dimension ${i} in ${shapeStr(shape)}`);
      want = have;
    }
    if (have !== undefined && want !== have && have !== 1) {
      throw new EngramError(`expand: cannot expand shape ${shapeStr(x.shape)} to ${shapeStr(shape)} (dimension ${i}: ${have} is neither ${want} nor 1)`);
    }
    strides.push(have === undefined || have !== want ? 0 : xStrides[i - lead]!);
    return want;
  });
  checkShape(outShape, 'expand');
  if (numel(outShape) === x.size) return reshape(x, outShape); // only size-1 dimensions were added
  const out = stridedGather(x, outShape, strides, 0);
  return withGrad(out, 'expand', [x], (g) => [sumTo(g, x.shape)], { saved: [] });
}

/** Python-style x[..., start:end:step, ...] along `dim`: negative bounds count from the end and are clamped. */
export function slice(x: Tensor, dim: number, start: number, end?: number, step = 1): Tensor {
  const d = normalizeDim(dim, x.rank, 'slice');
  if (x.rank === 0) throw new EngramError('slice: cannot slice a 0-d tensor');
  if (!Number.isInteger(step) || step < 1) throw new EngramError(`slice: step must be an integer >= 1, got ${step}`);
  if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) {
    throw new EngramError(`slice: start and end must be integers, got ${start} and ${end}`);
  }
  const size = x.shape[d]!;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const s = clamp(start);
  const e = clamp(end ?? size);
  return stepView('slice', x, d, s, Math.max(0, Math.ceil((e - s) / step)), step);
}

/** The `length` elements of `dim` from `start` (start may be negative; the range must fit). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim(dim, x.rank, 'narrow');
  if (x.rank === 0) throw new EngramError('narrow: cannot narrow a 0-d tensor');
  const size = x.shape[d]!;
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(start) || !Number.isInteger(length) || length < 0 || s < 0 || s + length > size) {
    throw new EngramError(`narrow: start ${start} and length ${length} do not fit dimension ${dim} (size ${size}) of shape ${shapeStr(x.shape)}`);
  }
  return stepView('narrow', x, d, s, length, 1);
}

/** Copy `len` elements of dimension `d` starting at `s` with stride `step`; backward scatters into zeros. */
function stepView(op: string, x: Tensor, d: number, s: number, len: number, step: number): Tensor {
  const outShape = x.shape.map((n, i) => (i === d ? len : n));
  const strides = stridesOf(x.shape).map((st, i) => (i === d ? st * step : st));
  const offset = len > 0 ? s * stridesOf(x.shape)[d]! : 0;
  const out = stridedGather(x, outShape, strides, offset);
  return withGrad(out, op, [x], (g) => {
    const dx = zerosOf(x.shape);
    stridedScatter(g, outShape, dx, strides, offset);
    return [dx];
  }, { saved: [] });
}

// ------------------------------------------------------------------ joining

/**
 * Join tensors along `dim` of their `views` (the inputs' shapes, or for stack the shapes with the
 * new dimension inserted): each input is scattered into its block of the output, and each block
 * of the gradient is gathered back out.
 */
function join(op: string, tensors: readonly Tensor[], views: Dims[], dim: number): Tensor {
  const first = views[0]!;
  const outShape = first.map((n, i) => (i === dim ? views.reduce((a, v) => a + v[dim]!, 0) : n));
  checkShape(outShape, op);
  const out = empty(outShape, tensors[0]!.dtype);
  const outStrides = stridesOf(outShape);
  const offsets: number[] = [];
  let at = 0;
  tensors.forEach((t, k) => {
    offsets.push(at * outStrides[dim]!);
    stridedScatter(t, views[k]!, out, outStrides, offsets[k]!);
    at += views[k]![dim]!;
  });
  return withGrad(out, op, [...tensors], (g) =>
    tensors.map((t, k) => (t.requiresGrad ? stridedGather(g, views[k]!, outStrides, offsets[k]!, t.shape) : null)),
  { saved: [] });
}

function checkList(op: string, tensors: readonly Tensor[]): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new EngramError(`${op}: expects a non-empty array of tensors`);
  const first = tensors[0]!;
  tensors.forEach((t, k) => {
    if (t.dtype !== first.dtype) throw new EngramError(`${op}: tensor ${k} is ${t.dtype} but tensor 0 is ${first.dtype}`);
  });
  return first;
}

/** Concatenate along an existing dimension; all shapes must match except along `dim`. */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  const first = checkList('concat', tensors);
  if (first.rank === 0) throw new EngramError('concat: 0-d tensors cannot be concatenated (use stack)');
  const d = normalizeDim(dim, first.rank, 'concat');
  tensors.forEach((t, k) => {
    if (t.rank !== first.rank || t.shape.some((n, i) => i !== d && n !== first.shape[i])) {
      throw new EngramError(`concat: shapes ${shapeStr(first.shape)} (tensor 0) and ${shapeStr(t.shape)} (tensor ${k}) differ outside dimension ${d}`);
    }
  });
  return join('concat', tensors, tensors.map((t) => t.shape), d);
}

/** Alias of concat (torch.cat). */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return concat(tensors, dim);
}

/** Join equal-shaped tensors along a new dimension `dim` (from -(rank+1) to rank). */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  const first = checkList('stack', tensors);
  const d = normalizeDim(dim, first.rank + 1, 'stack');
  tensors.forEach((t, k) => {
    if (!sameShape(t.shape, first.shape)) {
      throw new EngramError(`stack: shapes ${shapeStr(first.shape)} (tensor 0) and ${shapeStr(t.shape)} (tensor ${k}) differ`);
    }
  });
  if (first.rank + 1 > MAX_RANK) throw new EngramError(`stack: result would have ${first.rank + 1} dimensions; at most ${MAX_RANK} are supported`);
  const view = [...first.shape.slice(0, d), 1, ...first.shape.slice(d)];
  return join('stack', tensors, tensors.map(() => view), d);
}

// ------------------------------------------------------------------ indexing

function checkIndex(op: string, index: Tensor): void {
  if (typeof index !== 'object' || index === null || !('dtype' in index)) throw new EngramError(`${op}: index must be an int32 tensor`);
  if (index.dtype !== 'int32') throw new EngramError(`${op}: index must be an int32 tensor, got ${index.dtype} (shape ${shapeStr(index.shape)})`);
}

/**
 * Rows of `x` along `dim` picked by a 1-D int32 `index` (repeats allowed), like torch.index_select.
 * An index outside [0, size) cannot be detected without reading the GPU back: its output row is
 * NaN (INT32_MIN for int32 tensors). Backward sums the gradient of repeated rows, deterministically:
 * one thread per input-gradient element scans the whole index, O(numel(x) * index length).
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex('indexSelect', index);
  if (index.rank > 1) throw new EngramError(`indexSelect: index must be 1-D, got shape ${shapeStr(index.shape)}`);
  const d = normalizeDim(dim, x.rank, 'indexSelect');
  const shape = x.rank === 0 ? [1] : x.shape; // a 0-d tensor behaves as [1]
  const D = shape[d]!;
  const K = index.size;
  const inner = numel(shape.slice(d + 1));
  const outShape = x.rank === 0 ? (index.rank === 0 ? [] : [K]) : shape.map((n, i) => (i === d ? K : n));
  const rt = runtime();
  // The last binding is the index check's flags: an out-of-range index raises at the next readback.
  const k = rt.kernel({ name: 'indexSelect', wgsl: INDEX_SELECT_WGSL, bindings: ['read', 'read', 'write', 'write'] });
  const out = empty(outShape, x.dtype);
  rt.dispatch(k, [x.buffer, index.buffer, out.buffer, rt.indexFlags()], [out.size, D, K, inner, badBits(x.dtype)], grid1d(out.size));
  return withGrad(out, 'indexSelect', [x], (g) => {
    const rb = runtime();
    const kb = rb.kernel({ name: 'indexSelect_bwd', wgsl: INDEX_SELECT_BACKWARD_WGSL, bindings: ['read', 'read', 'write'] });
    const dx = empty(x.shape);
    rb.dispatch(kb, [g.buffer, index.buffer, dx.buffer], [dx.size, D, K, inner], grid1d(dx.size));
    return [dx];
  }, { saved: [index] });
}

/**
 * torch.gather: out[c] = x[c with c_dim := index[c]], for an int32 `index` of the same rank as x
 * and no larger than x outside `dim`. Out-of-range indices give NaN (INT32_MIN for int32), as in
 * indexSelect. Backward scatter-adds the gradient (repeated indices sum) deterministically, in
 * O(numel(x) * index.shape[dim]).
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex('gather', index);
  const d = normalizeDim(dim, x.rank, 'gather');
  if (index.rank !== x.rank || index.shape.some((n, i) => i !== d && n > x.shape[i]!)) {
    throw new EngramError(`gather: index shape ${shapeStr(index.shape)} does not fit input shape ${shapeStr(x.shape)} along dimension ${d} (same rank, no larger outside dimension ${d})`);
  }
  const xShape = x.rank === 0 ? [1] : x.shape; // a 0-d tensor behaves as [1]
  const iShape = index.rank === 0 ? [1] : index.shape;
  const rt = runtime();
  const k = rt.kernel({ name: 'gather', wgsl: GATHER_WGSL, bindings: ['read', 'read', 'write', 'write'] });
  const out = empty(index.shape, x.dtype);
  const params = [out.size, iShape.length, d, xShape[d]!, badBits(x.dtype), ...padRank(iShape, 1), ...padRank(stridesOf(xShape))];
  rt.dispatch(k, [x.buffer, index.buffer, out.buffer, rt.indexFlags()], params, grid1d(out.size));
  return withGrad(out, 'gather', [x], (g) => {
    const rb = runtime();
    const kb = rb.kernel({ name: 'gather_bwd', wgsl: GATHER_BACKWARD_WGSL, bindings: ['read', 'read', 'write'] });
    const dx = empty(x.shape);
    const bparams = [dx.size, xShape.length, d, 0, ...padRank(xShape, 1), ...padRank(iShape, 1), ...padRank(stridesOf(iShape))];
    rb.dispatch(kb, [g.buffer, index.buffer, dx.buffer], bparams, grid1d(dx.size));
    return [dx];
  }, { saved: [index] });
}
