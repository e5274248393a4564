// Reduction kernels: sum (and mean, via a scale), max and min with the index of the winner, and
// the backward kernels (broadcast back for sum/mean, route to the winner for max/min over a dim,
// split evenly among tied extrema for amax/amin and the full max()/min()).
//
// Layout: the input is viewed as [outer, R, inner] (R = the reduced extent, contiguous row-major
// float32); element (o, k, i) sits at (o * R + k) * inner + i. A pass may split R into `chunks`
// pieces of `chunk` elements and write one partial result per piece, laid out [outer, chunks,
// inner]; a second pass then reduces those partials (so a long row is not one thread's loop).
//
// Mapping, chosen by the caller:
//  - 'row' (inner == 1, long rows): one workgroup of 256 threads per (outer, chunk) output; the
//    threads stride over the chunk, then combine through workgroup memory in a tree.
//  - 'col' (anything else): one thread per (outer, chunk, inner) output, looping over its chunk;
//    neighbouring threads read neighbouring addresses when inner > 1.

import { LINEAR_INDEX, MAIN_1D, NAN_HELPERS, memoize } from './common.js';

export type ReduceKind = 'sum' | 'max' | 'min';
export type ReduceLayout = 'row' | 'col';

/** Rows (inner == 1) at least this long get a whole workgroup each; shorter ones one thread. */
export const ROW_MAPPING_MIN = 33;

/** Marks "no index yet" in the argmax/argmin state; loses every tie against a real index. */
const NONE = '0xffffffffu';

const PARAMS = `struct Params { outer: u32, r: u32, inner: u32, chunk: u32, chunks: u32, scale: f32, init: f32 }`;

/**
 * Whether candidate (v, id) beats the current (acc, idx) for max/min. Ties go to the smaller index
 * (PyTorch returns the first occurrence), and a NaN beats any number (PyTorch propagates NaN).
 * WGSL has no isnan, and compilers may fold `v != v` to false, so NaN is recognized from its bits.
 */
function betterFn(kind: 'max' | 'min'): string {
  const cmp = kind === 'max' ? '>' : '<';
  return /* wgsl */ `
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}
fn better(v: f32, id: u32, acc: f32, idx: u32) -> bool {
  let vnan = is_nan(v);
  let anan = is_nan(acc);
  if (vnan || anan) { return vnan && (!anan || id < idx); }
  return v ${cmp} acc || (v == acc && id < idx);
}`;
}

/**
 * One reduction pass over [outer, R, inner] -> [outer, chunks, inner].
 * Params: outer, r, inner, chunk (elements per piece), chunks, scale (multiplies a sum, e.g. 1/R for
 * mean; 1 on intermediate passes), init (bit pattern of the identity: 0, -inf or +inf).
 * Bindings: X, [IDX_IN when `indexIn`: i32 indices of X's elements from an earlier pass], OUT,
 * [IDX_OUT for max/min: the winner's index along R (i32)].
 */
export const reduceWGSL = memoize(function reduceWGSL(kind: ReduceKind, layout: ReduceLayout, indexIn: boolean): string {
  const arg = kind !== 'sum';
  let b = 1;
  const bindings = [
    `@group(0) @binding(${b++}) var<storage, read> X: array<f32>;`,
    indexIn ? `@group(0) @binding(${b++}) var<storage, read> IDX_IN: array<i32>;` : '',
    `@group(0) @binding(${b++}) var<storage, read_write> OUT: array<f32>;`,
    arg ? `@group(0) @binding(${b++}) var<storage, read_write> IDX_OUT: array<i32>;` : '',
  ].filter(Boolean).join('\n');
  // The index an element carries: its position along R, or what an earlier pass recorded.
  const idOf = (j: string, k: string) => (indexIn ? `u32(IDX_IN[${j}])` : k);
  // Fold element X[j] (position k) into the thread's running (acc, idx).
  const fold = (j: string, k: string) =>
    arg
      ? `let v = X[${j}]; let id = ${idOf(j, k)}; if (better(v, id, acc, idx)) { acc = v; idx = id; }`
      : `acc += X[${j}];`;
  const write = (o: string) =>
    arg ? `OUT[${o}] = acc; IDX_OUT[${o}] = i32(idx);` : `OUT[${o}] = acc * p.scale;`;
  const header = `// reduce ${kind} (${layout} mapping${indexIn ? ', second pass over partials' : ''}): [outer, R, inner] -> [outer, chunks, inner]
${PARAMS}
@group(0) @binding(0) var<storage, read> p: Params;
${bindings}
${arg ? betterFn(kind) : ''}`;

  if (layout === 'col') {
    return /* wgsl */ `${header}
${LINEAR_INDEX}
${MAIN_1D} {
  let t = linear_index(gid, nwg);
  if (t >= p.outer * p.chunks * p.inner) { return; }
  let i = t % p.inner;
  let oc = t / p.inner;
  let c = oc % p.chunks;
  let o = oc / p.chunks;
  let start = c * p.chunk;
  let end = min(start + p.chunk, p.r);
  var acc = p.init;
  var idx = ${NONE};
  for (var k = start; k < end; k++) {
    let j = (o * p.r + k) * p.inner + i;
    ${fold('j', 'k')}
  }
  ${write('t')}
}`;
  }

  // Row mapping (inner == 1). No early return: every thread must reach the barriers.
  const tree = arg
    ? `if (lid < s && better(sv[lid + s], si[lid + s], sv[lid], si[lid])) { sv[lid] = sv[lid + s]; si[lid] = si[lid + s]; }`
    : `if (lid < s) { sv[lid] += sv[lid + s]; }`;
  return /* wgsl */ `${header}
var<workgroup> sv: array<f32, 256>;
${arg ? 'var<workgroup> si: array<u32, 256>;' : ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x; // the (outer, chunk) pair this workgroup reduces
  let valid = row < p.outer * p.chunks;
  let o = row / p.chunks;
  let c = row % p.chunks;
  let start = c * p.chunk;
  let end = min(start + p.chunk, p.r);
  var acc = p.init;
  var idx = ${NONE};
  if (valid) {
    for (var k = start + lid; k < end; k += 256u) {
      let j = o * p.r + k;
      ${fold('j', 'k')}
    }
  }
  sv[lid] = acc;
  ${arg ? 'si[lid] = idx;' : ''}
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    ${tree}
    workgroupBarrier();
  }
  if (valid && lid == 0u) {
    acc = sv[0];
    ${arg ? 'idx = si[0];' : ''}
    ${write('row')}
  }
}`;
});

/**
 * Backward of sum/mean: dx[(o, k, i)] = g[(o, i)] * scale, i.e. the upstream gradient broadcast
 * back over the reduced extent. One thread per input element. Params: n, r, inner, scale.
 */
export const REDUCE_EXPAND_WGSL = /* wgsl */ `// reduce expand: dx[(o * R + k) * inner + i] = g[o * inner + i] * scale
struct Params { n: u32, r: u32, inner: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let j = linear_index(gid, nwg);
  if (j >= p.n) { return; }
  let i = j % p.inner;
  let o = j / (p.r * p.inner);
  DX[j] = G[o * p.inner + i] * p.scale;
}`;

/**
 * Backward of max/min: the whole upstream gradient goes to the element that won (the first one on
 * ties); every other element gets 0. One thread per input element. Params: n, r, inner.
 */
export const REDUCE_SCATTER_WGSL = /* wgsl */ `// reduce scatter: dx[(o, k, i)] = g[(o, i)] if k == winner[(o, i)] else 0
struct Params { n: u32, r: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> IDX: array<i32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let j = linear_index(gid, nwg);
  if (j >= p.n) { return; }
  let i = j % p.inner;
  let k = (j / p.inner) % p.r;
  let o = j / (p.r * p.inner);
  let out = o * p.inner + i;
  DX[j] = select(0.0, G[out], i32(k) == IDX[out]);
}`;

/**
 * Strided addressing shared by the two tie kernels: x has shape `shape` (rank <= 8); the reduced
 * tensors (values, upstream gradient, tie counts) are laid out like x with the reduced dimensions
 * kept as size 1, so element j of x maps to reduced element sum_d coord_d(j) * vstrides[d], with
 * vstride 0 on every reduced dimension.
 */
const TIE_COMMON = /* wgsl */ `
struct Params { n: u32, rank: u32, nan_split: u32, nan: f32, shape: array<u32, 8>, vstrides: array<u32, 8> }
${NAN_HELPERS}
fn reduced_index(j: u32) -> u32 {
  var rem = j;
  var out = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let s = p.shape[d];
    out += (rem % s) * p.vstrides[d];
    rem = rem / s;
  }
  return out;
}
// Whether x is one of the extrema that tie for v. v NaN: with nan_split (the full max()/min(),
// PyTorch's evenly_distribute_backward) the NaNs of the group tie; otherwise (amax/amin: PyTorch
// compares x == v, false for NaN) nothing does. NaN is recognized from its bits (see betterFn).
fn ties(x: f32, v: f32) -> bool {
  if (is_nan_f32(v)) { return p.nan_split == 1u && is_nan_f32(x); }
  return !is_nan_f32(x) && x == v;
}`;

/**
 * amax/amin backward, step 1: M[j] = 1.0 where x[j] ties for its group's extremum, else 0.0; the
 * caller sums M over the reduced dimensions to count the ties. One thread per element of x.
 * Params: n, rank, nan_split, nan (unused), shape[8], vstrides[8]. Bindings: X, V (values), M.
 */
export const TIE_MASK_WGSL = /* wgsl */ `// tie mask: m[j] = x[j] ties for the extremum of its reduced group (1.0) or not (0.0)
${TIE_COMMON}
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read_write> M: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let j = linear_index(gid, nwg);
  if (j >= p.n) { return; }
  M[j] = select(0.0, 1.0, ties(X[j], V[reduced_index(j)]));
}`;

/**
 * amax/amin backward, step 2: dx[j] = (g / count) * tie(j), PyTorch's (grad / mask.sum()) * mask:
 * the upstream gradient split evenly among the tied extrema of the group, 0 elsewhere (NaN where g
 * is infinite, as 0 * inf is in PyTorch). A group with no tie (amax of a group holding NaN) gets
 * NaN everywhere, which PyTorch reaches as g / 0 * 0. One thread per element of x.
 * Params as TIE_MASK_WGSL. Bindings: X, V (values), G (upstream gradient), COUNT (ties per group), DX.
 */
export const TIE_SPLIT_WGSL = /* wgsl */ `// tie split: dx[j] = g[v(j)] / count[v(j)] * (x[j] ties for v(j))
${TIE_COMMON}
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read> COUNT: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let j = linear_index(gid, nwg);
  if (j >= p.n) { return; }
  let o = reduced_index(j);
  let count = COUNT[o];
  if (count == 0.0) { DX[j] = p.nan; return; }
  DX[j] = (G[o] / count) * select(0.0, 1.0, ties(X[j], V[o]));
}`;
