// Kernels for shape and indexing ops: a strided gather and its scatter twin (together they serve
// permute, transpose, slice, narrow, expand, concat and stack, forward and backward), and the
// index kernels (indexSelect, gather) with their deterministic scatter-add backwards.
//
// Layout: every tensor is contiguous row-major with 32-bit elements. The copy kernels move raw
// bits (`array<u32>`), so one kernel serves float32 and int32 and never alters a value (NaN
// payloads included). Mapping: one thread per element of the tensor being written, 256 threads per
// workgroup, 1-D grid folded into y past 65535 workgroups (see LINEAR_INDEX).

import { LINEAR_INDEX, MAIN_1D, indexFlagsWGSL } from './common.js';

/**
 * Strided gather: OUT[i] = IN[offset + sum_d c_d * strides[d]], where c is the coordinate of i in
 * the contiguous output `shape`. Strides may be 0 (expand) or scaled (slice steps), and permuted
 * (permute/transpose). Params: n, rank, offset, shape[8], strides[8] (in elements).
 */
export const STRIDED_GATHER_WGSL = /* wgsl */ `// stridedGather: OUT[i] = IN[offset + sum_d coord_d(i) * strides[d]], coords decoded from the output shape
struct Params { n: u32, rank: u32, offset: u32, shape: array<u32, 8>, strides: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> IN: array<u32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<u32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  var rem = i;
  var src = p.offset;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let c = rem % p.shape[d];
    rem = rem / p.shape[d];
    src += c * p.strides[d];
  }
  OUT[i] = IN[src];
}`;

/**
 * Strided scatter, the gather's twin: OUT[offset + sum_d c_d * strides[d]] = IN[i], where c is the
 * coordinate of i in the contiguous source `shape`. The strided positions must be distinct (no
 * zero strides), so threads never collide; positions not covered keep their value (slice backward
 * zero-fills first; concat/stack cover the whole output with one dispatch per input).
 * Params: n, rank, offset, shape[8], strides[8].
 */
export const STRIDED_SCATTER_WGSL = /* wgsl */ `// stridedScatter: OUT[offset + sum_d coord_d(i) * strides[d]] = IN[i], coords decoded from the source shape
struct Params { n: u32, rank: u32, offset: u32, shape: array<u32, 8>, strides: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> IN: array<u32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<u32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  var rem = i;
  var dst = p.offset;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let c = rem % p.shape[d];
    rem = rem / p.shape[d];
    dst += c * p.strides[d];
  }
  OUT[dst] = IN[i];
}`;

/**
 * indexSelect forward. The input is viewed as [outer, D, inner] around the selected dimension and
 * the output as [outer, K, inner] (K = index length): OUT[o, j, r] = X[o, INDEX[j], r].
 * An index outside [0, D) is reported in FLAGS (the index check, see indexFlagsWGSL: the next
 * readback raises naming it) and its output row is filled with `bad` (the bits of NaN for float32,
 * of INT32_MIN for int32). Params: n, D, K, inner, bad.
 */
export const INDEX_SELECT_WGSL = /* wgsl */ `// indexSelect: OUT[o, j, r] = X[o, INDEX[j], r]; out-of-range index -> the 'bad' bit pattern (NaN)
struct Params { n: u32, d: u32, k: u32, inner: u32, bad: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read> INDEX: array<i32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<u32>;
${indexFlagsWGSL(4)}
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let r = i % p.inner;
  let j = (i / p.inner) % p.k;
  let o = i / (p.inner * p.k);
  let idx = INDEX[j];
  if (idx < 0 || u32(idx) >= p.d) {
    report_bad_index(3u, idx, p.d);
    OUT[i] = p.bad;
    return;
  }
  OUT[i] = X[(o * p.d + u32(idx)) * p.inner + r];
}`;

/**
 * indexSelect backward, a scatter-add written as a gather so it is deterministic: WGSL has no
 * float atomics, and an atomic compare-exchange loop would sum repeated indices in a run-dependent
 * order. One thread per element (o, d, r) of the input gradient loops over the whole index list
 * and sums G[o, j, r] for every j with INDEX[j] == d. Cost O(numel(x) * K) reads instead of
 * O(numel(g)); fine for the embedding-sized K this engine targets, and the loop over INDEX reads
 * the same addresses in every thread, so it is served from cache. Out-of-range indices match no d
 * and contribute nothing. Params: n (= numel(x)), D, K, inner.
 */
export const INDEX_SELECT_BACKWARD_WGSL = /* wgsl */ `// indexSelect backward: DX[o, d, r] = sum over j with INDEX[j] == d of G[o, j, r]
struct Params { n: u32, d: u32, k: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> INDEX: array<i32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let r = i % p.inner;
  let d = i32((i / p.inner) % p.d);
  let o = i / (p.inner * p.d);
  var acc = 0.0;
  for (var j = 0u; j < p.k; j++) {
    if (INDEX[j] == d) {
      acc += G[(o * p.k + j) * p.inner + r];
    }
  }
  DX[i] = acc;
}`;

/**
 * gather forward (torch.gather): OUT[c] = X[c with c_dim replaced by INDEX[c]], for every
 * coordinate c of the index (and output) shape. X is addressed through its strides, so the index
 * may be smaller than X along the other dimensions. An index outside [0, X.shape[dim]) is reported
 * in FLAGS (the index check, see indexFlagsWGSL) and writes `bad` (NaN bits for float32, INT32_MIN
 * for int32).
 * Params: n, rank, dim, dimSize, bad, shape[8] (index shape), xstrides[8].
 */
export const GATHER_WGSL = /* wgsl */ `// gather: OUT[c] = X[c with coordinate dim := INDEX[c]]; out-of-range index -> the 'bad' bit pattern (NaN)
struct Params { n: u32, rank: u32, dim: u32, dimsize: u32, bad: u32, shape: array<u32, 8>, xstrides: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read> INDEX: array<i32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<u32>;
${indexFlagsWGSL(4)}
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let idx = INDEX[i];
  if (idx < 0 || u32(idx) >= p.dimsize) {
    report_bad_index(4u, idx, p.dimsize);
    OUT[i] = p.bad;
    return;
  }
  var rem = i;
  var src = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let c = rem % p.shape[d];
    rem = rem / p.shape[d];
    if (u32(d) == p.dim) {
      src += u32(idx) * p.xstrides[d];
    } else {
      src += c * p.xstrides[d];
    }
  }
  OUT[i] = X[src];
}`;

/**
 * gather backward, a deterministic scatter-add written as a gather (see the indexSelect backward
 * for why). One thread per element e of the input gradient: outside the index's extent (along a
 * dimension other than dim) it is 0; otherwise it loops over the L = index.shape[dim] index
 * positions c that share e's other coordinates and sums G[c] where INDEX[c] == e_dim.
 * Cost O(numel(x) * L). Params: n (= numel(x)), rank, dim, pad, xshape[8], ishape[8], istrides[8].
 */
export const GATHER_BACKWARD_WGSL = /* wgsl */ `// gather backward: DX[e] = sum over c (c agrees with e except on dim) with INDEX[c] == e_dim of G[c]
struct Params { n: u32, rank: u32, dim: u32, pad: u32, xshape: array<u32, 8>, ishape: array<u32, 8>, istrides: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> INDEX: array<i32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  var rem = i;
  var base = 0u;
  var want = 0;
  var inside = true;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let c = rem % p.xshape[d];
    rem = rem / p.xshape[d];
    if (u32(d) == p.dim) {
      want = i32(c);
    } else {
      if (c >= p.ishape[d]) { inside = false; }
      base += c * p.istrides[d];
    }
  }
  var acc = 0.0;
  if (inside) {
    let len = p.ishape[p.dim];
    let istep = p.istrides[p.dim];
    for (var j = 0u; j < len; j++) {
      let pos = base + j * istep;
      if (INDEX[pos] == want) {
        acc += G[pos];
      }
    }
  }
  DX[i] = acc;
}`;
