// Per-row loop kernels along one dimension: cumsum (forward and its reverse, the backward) and
// logsumexp (forward and backward).
//
// Layout: x is contiguous and viewed as [outer, D, inner] around the dimension `dim` of length D:
// element (o, d, r) sits at (o * D + d) * inner + r. A "row" is the D elements of one (o, r), read
// with stride `inner`.
// Mapping: one thread per row (a 1-D grid over outer * inner rows) walks its D elements in order:
// sequential, so a prefix sum is exact in the order PyTorch's CPU loop adds (a parallel scan would
// round differently), and neighbouring threads (consecutive r) read neighbouring addresses.

import { LINEAR_INDEX, MAIN_1D, NAN_HELPERS, memoize } from './common.js';

/** The row of thread t: its first element and stride (rows are (o, r), r fastest). */
const ROW = /* wgsl */ `
  let t = linear_index(gid, nwg);
  if (t >= p.rows) { return; }
  let o = t / p.inner;
  let r = t - o * p.inner;
  let base = o * p.D * p.inner + r;`;

/**
 * cumsum along the row: Y[d] = X[0] + ... + X[d]; with `reverse`, Y[d] = X[d] + ... + X[D - 1]
 * (the gradient of cumsum is the reverse cumsum of the upstream gradient). Params: rows, D, inner.
 * Bindings: X, Y.
 */
export const cumsumWGSL = memoize(function cumsumWGSL(reverse: boolean): string {
  return /* wgsl */ `// cumsum${reverse ? ' reversed (the backward)' : ''}: a running sum along each row, one thread per row
struct Params { rows: u32, D: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {${ROW}
  var acc = 0.0;
  for (var k = 0u; k < p.D; k++) {
    let i = base + ${reverse ? '(p.D - 1u - k)' : 'k'} * p.inner;
    acc += X[i];
    Y[i] = acc;
  }
}`;
});

/**
 * logsumexp along the row, stable: m = max (NaN-aware: a NaN makes the result NaN),
 * OUT = m + log(sum exp(x - m)); an infinite m is the result itself (+inf if any +inf, -inf if all
 * are -inf, as PyTorch), which x - m would turn into NaN. OUT is [outer, inner]. Params: rows, D, inner.
 * Bindings: X, OUT.
 */
export const LOGSUMEXP_WGSL = /* wgsl */ `// logsumexp: m + log(sum(exp(x - m))) along each row, one thread per row
struct Params { rows: u32, D: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${NAN_HELPERS}
${LINEAR_INDEX}
${MAIN_1D} {${ROW}
  var m = X[base];
  for (var k = 1u; k < p.D; k++) { m = max_nan_f32(m, X[base + k * p.inner]); }
  if (is_nan_f32(m) || (bitcast<u32>(m) & 0x7fffffffu) == 0x7f800000u) {
    OUT[t] = m;
    return;
  }
  var s = 0.0;
  for (var k = 0u; k < p.D; k++) { s += exp(X[base + k * p.inner] - m); }
  OUT[t] = m + log(s);
}`;

/**
 * logsumexp backward: DX[o, d, r] = G[o, r] * exp(X[o, d, r] - OUT[o, r]) (softmax times the
 * upstream gradient). One thread per element of x. Params: n, D, inner. Bindings: G, X, OUT, DX.
 */
export const LOGSUMEXP_BACKWARD_WGSL = /* wgsl */ `// logsumexp backward: dx = g * exp(x - logsumexp) = g * softmax(x)
struct Params { n: u32, D: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> OUT: array<f32>;
@group(0) @binding(4) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let r = i % p.inner;
  let o = i / (p.D * p.inner);
  let row = o * p.inner + r;
  DX[i] = G[row] * exp(X[i] - OUT[row]);
}`;
