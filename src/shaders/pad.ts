// Padding and one-hot kernels.
//
// pad: the output is the input with `lo[d]` elements added before and `hi[d]` after along each
// dimension d (lo/hi already converted from F.pad's last-dimension-first list). An output
// coordinate c maps to the input coordinate j = c - lo[d]; outside [0, n) the constant mode writes
// `value`, the reflect mode mirrors j around the edges without repeating them (j < 0 -> -j,
// j >= n -> 2(n - 1) - j), as torch.nn.functional.pad.
// Layout: contiguous tensors of rank <= 8; shapes passed padded to 8 dimensions.
// Mapping: one thread per output element (forward) and per input element (backward, a gather so
// it is deterministic: each input element sums the output positions that read it, at most 3 per
// dimension in reflect mode: itself, its left mirror and its right mirror).
//
// oneHot: OUT[i, c] = 1 if INDEX[i] == c else 0 (int32), one thread per output element.

import { LINEAR_INDEX, MAIN_1D, indexFlagsWGSL, memoize } from './common.js';

const PAD_PARAMS = /* wgsl */ `struct Params { n: u32, rank: u32, value: f32, pad0: u32,
  outShape: array<vec4<u32>, 2>, inShape: array<vec4<u32>, 2>, lo: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> p: Params;
fn out_dim(d: u32) -> u32 { return p.outShape[d / 4u][d % 4u]; }
fn in_dim(d: u32) -> u32 { return p.inShape[d / 4u][d % 4u]; }
fn lo_of(d: u32) -> i32 { return i32(p.lo[d / 4u][d % 4u]); }`;

/**
 * pad forward: Y[c] = X[c - lo] inside the input, else `value` (constant) or the mirrored element
 * (reflect). Params: n (output size), rank, value, 0, outShape[8], inShape[8], lo[8]. Bindings: X, Y.
 */
export const padWGSL = memoize(function padWGSL(reflect: boolean): string {
  return /* wgsl */ `// pad (${reflect ? 'reflect' : 'constant'}): one thread per output element
${PAD_PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  var rest = i;
  var src = 0u;
  var stride = 1u;
  for (var k = 0u; k < p.rank; k++) {
    let d = p.rank - 1u - k; // last dimension first: rest peels off the fastest coordinate
    let c = rest % out_dim(d);
    rest = rest / out_dim(d);
    let n = i32(in_dim(d));
    var j = i32(c) - lo_of(d);
${reflect ? `    if (j < 0) { j = -j; }
    if (j >= n) { j = 2 * (n - 1) - j; }` : `    if (j < 0 || j >= n) { Y[i] = p.value; return; }`}
    src += u32(j) * stride;
    stride *= in_dim(d);
  }
  Y[i] = X[src];
}`;
});

/**
 * pad backward: DX[j] = sum of G[c] over the output positions c that read input j (constant: the
 * one at c = j + lo; reflect: per dimension up to 3: j + lo, lo - j (left mirror, 0 < j <= lo) and
 * lo + 2(n - 1) - j (right mirror, inside the output)). Params as padWGSL with n = input size.
 * Bindings: G, DX.
 */
export const padBackwardWGSL = memoize(function padBackwardWGSL(reflect: boolean): string {
  return /* wgsl */ `// pad backward (${reflect ? 'reflect' : 'constant'}): each input element gathers the output gradients that read it
${PAD_PARAMS}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  // Per dimension: the candidate output coordinates (up to 3) and how many there are.
  var cand: array<array<u32, 3>, 8>;
  var cnt: array<u32, 8>;
  var total = 1u;
  var rest = i;
  for (var k = 0u; k < p.rank; k++) {
    let d = p.rank - 1u - k;
    let j = i32(rest % in_dim(d));
    rest = rest / in_dim(d);
    let lo = lo_of(d);
    cand[d][0] = u32(j + lo);
    cnt[d] = 1u;
${reflect ? `    let n = i32(in_dim(d));
    let left = lo - j;
    if (j > 0 && left >= 0) { cand[d][cnt[d]] = u32(left); cnt[d] += 1u; }
    let right = lo + 2 * (n - 1) - j;
    if (j < n - 1 && right < i32(out_dim(d))) { cand[d][cnt[d]] = u32(right); cnt[d] += 1u; }` : ''}
    total *= cnt[d];
  }
  var acc = 0.0;
  for (var combo = 0u; combo < total; combo++) {
    var r = combo;
    var o = 0u;
    for (var d = 0u; d < p.rank; d++) {
      let pick = r % cnt[d];
      r = r / cnt[d];
      o = o * out_dim(d) + cand[d][pick];
    }
    acc += G[o];
  }
  DX[i] = acc;
}`;
});

/**
 * oneHot: OUT[i * C + c] = 1 if INDEX[i] == c else 0, as int32. An index outside [0, C) is
 * reported through the index check (code 6) and its row is all 0. Params: n (= K * C), C.
 * Bindings: INDEX, OUT, FLAGS.
 */
export const ONE_HOT_WGSL = /* wgsl */ `// oneHot: OUT[i, c] = (INDEX[i] == c), int32; out-of-range index reported in FLAGS
struct Params { n: u32, C: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> INDEX: array<i32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<i32>;
${indexFlagsWGSL(3)}
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let row = i / p.C;
  let c = i - row * p.C;
  let idx = INDEX[row];
  if (idx < 0 || u32(idx) >= p.C) {
    if (c == 0u) { report_bad_index(6u, idx, p.C); }
    OUT[i] = 0;
    return;
  }
  OUT[i] = select(0, 1, u32(idx) == c);
}`;
