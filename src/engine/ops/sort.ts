// sort / argsort / topk (torch.sort(stable=True), torch.argsort, torch.topk) along one dimension;
// kernels in shaders/sort.ts. Indices are int32 (PyTorch's are int64, which engram does not have).

import { runtime, grid1d, EngramError } from '../runtime.js';
import { sortWGSL, SORT_BACKWARD_WGSL } from '../../shaders/sort.js';
import { empty, withGrad, type Tensor } from '../tensor.js';
import { normalizeDim, shapeStr } from '../shape.js';
import { scope } from '../scope.js';
import { narrow } from './shape-ops.js';
import type { ValuesIndices } from './reduce.js';

function checkFloat(op: string, x: Tensor): void {
  if (x.dtype !== 'float32') throw new EngramError(`${op}: expects a float32 input, got ${x.dtype} (shape ${shapeStr(x.shape)}); convert with toFloat()`);
}

function layout(x: Tensor, d: number): { D: number; inner: number } {
  if (x.rank === 0) return { D: 1, inner: 1 };
  let inner = 1;
  for (let k = d + 1; k < x.rank; k++) inner *= x.shape[k]!;
  return { D: x.shape[d]!, inner };
}

function sortRows(op: string, x: Tensor, dim: number, descending: boolean): ValuesIndices {
  checkFloat(op, x);
  const d = normalizeDim(dim, Math.max(x.rank, 1), op);
  const { D, inner } = layout(x, d);
  const rt = runtime();
  const values = empty(x.shape);
  const indices = empty(x.shape, 'int32');
  const k = rt.kernel({ name: descending ? 'sort_desc' : 'sort', wgsl: sortWGSL(descending), bindings: ['read', 'write', 'write'] });
  rt.dispatch(k, [x.buffer, values.buffer, indices.buffer], [x.size, D, inner], grid1d(x.size));
  const v = withGrad(values, op, [x], (g) => {
    const rb = runtime();
    const dx = empty(x.shape);
    const kb = rb.kernel({ name: 'sort_bwd', wgsl: SORT_BACKWARD_WGSL, bindings: ['read', 'read', 'write'] });
    rb.dispatch(kb, [g.buffer, indices.buffer, dx.buffer], [x.size, D, inner], grid1d(x.size));
    return [dx];
  }, { saved: [indices] });
  return { values: v, indices };
}

/**
 * Sorts x along `dim` (default -1), like torch.sort(x, dim, descending, stable=True): equal values
 * keep their order, NaN sorts above every number (last ascending, first descending), -0 ties with
 * +0. Returns the values and their int32 positions in the input. The gradient of the values goes
 * back to the elements they came from. Cost O(D^2) per row of length D (a rank sort, see
 * shaders/sort.ts).
 */
export function sort(x: Tensor, dim = -1, descending = false): ValuesIndices {
  return sortRows('sort', x, dim, descending);
}

/** The int32 indices that sort x along `dim` (default -1), like torch.argsort(stable=True). */
export function argsort(x: Tensor, dim = -1, descending = false): Tensor {
  const { values, indices } = sortRows('argsort', x, dim, descending);
  values.dispose();
  return indices;
}

/**
 * The k largest (or, with `largest: false`, smallest) elements along `dim` (default -1), like
 * torch.topk, in sorted order (largest first, or smallest first), with their int32 indices.
 * NaN counts as the largest value, as in PyTorch. Ties resolve to the lower index first (PyTorch
 * leaves the order of tied elements unspecified). `sorted` is accepted for PyTorch parity; the
 * result is always sorted. The gradient flows to the selected elements.
 */
export function topk(x: Tensor, k: number, dim = -1, largest = true, sorted = true): ValuesIndices {
  void sorted; // always sorted: the k elements come out of a full sort
  checkFloat('topk', x);
  const d = normalizeDim(dim, Math.max(x.rank, 1), 'topk');
  const D = x.rank === 0 ? 1 : x.shape[d]!;
  if (!Number.isInteger(k) || k < 0 || k > D) {
    throw new EngramError(`topk: k must be an integer in [0, ${D}] (the size of dimension ${d} of ${shapeStr(x.shape)}), got ${k}`);
  }
  return scope(() => {
    const s = sortRows('topk', x, d, largest);
    if (x.rank === 0) return s;
    return { values: narrow(s.values, d, 0, k), indices: narrow(s.indices, d, 0, k) };
  });
}
