// Sorting along one dimension: sort / argsort / topk (topk is the first k of a sort).
//
// What it computes: a stable sort of each row, ascending or descending, with NaN ordered above
// every number (last ascending, first descending) and -0 equal to +0, as torch.sort(stable=True):
// equal values keep their original order.
// Layout: x contiguous, viewed as [outer, D, inner] around the sorted dimension (length D):
// element (o, d, r) at (o * D + d) * inner + r; a row is the D elements of one (o, r).
// Mapping: a rank sort, one thread per element: the thread counts the elements of its row that
// come before it (smaller, or equal with a smaller index) and writes its value and index at that
// rank. O(D) reads per element, O(D^2) per row: simple, exactly stable, correct for any row length
// (no workgroup-size limit), and fast enough for the rows of classification and retrieval (top-k
// over classes, D in the thousands). The backward is the inverse permutation: each output
// position's gradient goes to the input element it came from (one writer per element, so no
// atomics and deterministic).

import { LINEAR_INDEX, MAIN_1D, NAN_HELPERS, memoize } from './common.js';

/**
 * Sort forward: VALUES[rank] = X[i], INDICES[rank] = d (the position of i in its row, int32).
 * Params: n, D, inner. Bindings: X, VALUES, INDICES.
 */
export const sortWGSL = memoize(function sortWGSL(descending: boolean): string {
  // before(a, b): a sorts strictly before b. NaN counts as the largest value.
  const before = descending
    ? '(!is_nan_f32(b) && (is_nan_f32(a) || a > b))'
    : '(!is_nan_f32(a) && (is_nan_f32(b) || a < b))';
  return /* wgsl */ `// sort (${descending ? 'descending' : 'ascending'}, stable, NaN largest): rank sort, one thread per element
struct Params { n: u32, D: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> VALUES: array<f32>;
@group(0) @binding(3) var<storage, read_write> INDICES: array<i32>;
${NAN_HELPERS}
fn sorts_before(a: f32, b: f32) -> bool { return ${before}; }
// Equal for the sort: both NaN, or numerically equal (so -0 ties with +0).
fn ties(a: f32, b: f32) -> bool { return (is_nan_f32(a) && is_nan_f32(b)) || (!is_nan_f32(a) && !is_nan_f32(b) && a == b); }
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let r = i % p.inner;
  let d = (i / p.inner) % p.D;
  let base = i - d * p.inner; // element (o, 0, r)
  let v = X[i];
  var rank = 0u;
  for (var k = 0u; k < p.D; k++) {
    let w = X[base + k * p.inner];
    if (sorts_before(w, v) || (k < d && ties(w, v))) { rank += 1u; }
  }
  let at = base + rank * p.inner;
  VALUES[at] = v;
  INDICES[at] = i32(d);
}`;
});

/**
 * Sort backward: DX[o, INDICES[o, j, r], r] = G[o, j, r] (the inverse permutation; every element
 * of x receives exactly one gradient). Params: n, D, inner. Bindings: G, INDICES, DX.
 */
export const SORT_BACKWARD_WGSL = /* wgsl */ `// sort backward: each sorted position sends its gradient back to where its value came from
struct Params { n: u32, D: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> INDICES: array<i32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let d = (i / p.inner) % p.D;
  let base = i - d * p.inner;
  DX[base + u32(INDICES[i]) * p.inner] = G[i];
}`;
