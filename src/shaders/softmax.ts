// Softmax, log-softmax and cross-entropy kernels, forward and backward.
//
// Layout: the input is viewed as [outer, R, inner] (softmax over R, contiguous row-major float32);
// a "row" is the R elements (o, 0..R-1, i), at base = o * R * inner + i with stride inner.
// Cross-entropy uses logits [N, C] as outer = N rows of R = C classes, inner = 1.
//
// Mapping (the same two as the reductions, see reduce.ts):
//  - 'row' (inner == 1, long rows): one workgroup of 256 threads per row; threads stride over the
//    row and combine partial maxima and sums through workgroup memory.
//  - 'col' (anything else): one thread per row, looping over it.
// Each kernel body is written once against a small set of helpers (loop over my share of the row,
// combine across the threads that share the row, pick one writer) that the two mappings provide.
//
// Numerical stability: every exponential is of (x - row max), so it never overflows.

import { LINEAR_INDEX, MAIN_1D, memoize } from './common.js';
import type { ReduceLayout } from './reduce.js';

interface Mapping {
  entry: string;
  /** Defines `row`, `valid`, `base`, `stride`, and for 'row' `lid`. */
  prologue: string;
  /** Runs `body` for each of this thread's elements; `j` is the element's index. */
  loop(body: string): string;
  /** Combine a per-thread partial across the threads of a row (identity for 'col'). */
  allMax(v: string): string;
  allSum(v: string): string;
  /** True for exactly one thread per row. */
  leader: string;
  helpers: string;
}

const ROW: Mapping = {
  entry: `@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32)`,
  prologue: `let row = wid.x + wid.y * nwg.x;
  let valid = row < p.outer * p.inner; // never an early return: every thread must reach the barriers
  let base = (row / p.inner) * p.r * p.inner + row % p.inner;
  let stride = p.inner;`,
  loop: (body) => `if (valid) { for (var k = lid; k < p.r; k += 256u) { let j = base + k * stride; ${body} } }`,
  allMax: (v) => `wg_max(${v}, lid)`,
  allSum: (v) => `wg_sum(${v}, lid)`,
  leader: 'valid && lid == 0u',
  helpers: /* wgsl */ `
var<workgroup> red: array<f32, 256>;
fn wg_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // everyone has read red[0] before it is reused
  return r;
}
fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`,
};

const COL: Mapping = {
  entry: MAIN_1D,
  prologue: `let row = linear_index(gid, nwg);
  let valid = row < p.outer * p.inner;
  let base = (row / p.inner) * p.r * p.inner + row % p.inner;
  let stride = p.inner;`,
  loop: (body) => `if (valid) { for (var k = 0u; k < p.r; k++) { let j = base + k * stride; ${body} } }`,
  allMax: (v) => v,
  allSum: (v) => v,
  leader: 'valid',
  helpers: LINEAR_INDEX,
};

const mappingOf = (layout: ReduceLayout): Mapping => (layout === 'row' ? ROW : COL);

/** m = max of the row, s = sum of exp(x - m) over the row (both known to every thread of the row). */
function rowStats(m: Mapping): string {
  return `var mx = 0.0;
  if (valid) { mx = X[base]; }
  ${m.loop('mx = max(mx, X[j]);')}
  mx = ${m.allMax('mx')};
  var s = 0.0;
  ${m.loop('s += exp(X[j] - mx);')}
  s = ${m.allSum('s')};`;
}

/**
 * softmax: y = exp(x - max) / sum(exp(x - max)); log-softmax: y = x - max - log(sum(exp(x - max))).
 * Params: outer, r, inner. Bindings: X, Y.
 */
export const softmaxForwardWGSL = memoize(function softmaxForwardWGSL(log: boolean, layout: ReduceLayout): string {
  const m = mappingOf(layout);
  const write = log ? 'Y[j] = X[j] - lse;' : 'Y[j] = exp(X[j] - mx) * inv;';
  return /* wgsl */ `// ${log ? 'log-softmax' : 'softmax'} forward over R of [outer, R, inner] (${layout} mapping)
struct Params { outer: u32, r: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${m.helpers}
${m.entry} {
  ${m.prologue}
  ${rowStats(m)}
  let lse = mx + log(s);
  let inv = 1.0 / s;
  ${m.loop(write)}
}`;
});

/**
 * softmax: dx = y * (g - sum(g * y)); log-softmax: dx = g - exp(y) * sum(g), sums over the row.
 * Params: outer, r, inner. Bindings: G, Y (the forward output), DX.
 */
export const softmaxBackwardWGSL = memoize(function softmaxBackwardWGSL(log: boolean, layout: ReduceLayout): string {
  const m = mappingOf(layout);
  const acc = log ? 'd += G[j];' : 'd += G[j] * Y[j];';
  const write = log ? 'DX[j] = G[j] - exp(Y[j]) * d;' : 'DX[j] = Y[j] * (G[j] - d);';
  return /* wgsl */ `// ${log ? 'log-softmax' : 'softmax'} backward over R of [outer, R, inner] (${layout} mapping)
struct Params { outer: u32, r: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
${m.helpers}
${m.entry} {
  ${m.prologue}
  var d = 0.0;
  ${m.loop(acc)}
  d = ${m.allSum('d')};
  ${m.loop(write)}
}`;
});

/**
 * Cross-entropy per row of logits [N, C]: loss[n] = logsumexp(x[n, :]) - x[n, label[n]]; also
 * writes lse[n] = logsumexp(x[n, :]) for the backward pass. A label outside [0, C) cannot be
 * reported without reading back to the CPU, so its row gets NaN in both (p.nan holds NaN's bits:
 * WGSL cannot spell NaN as a constant). Params: outer (= N), r (= C), inner (= 1), nan.
 * Bindings: X (logits), LABELS (i32), LOSS, LSE.
 */
export const crossEntropyForwardWGSL = memoize(function crossEntropyForwardWGSL(layout: ReduceLayout): string {
  const m = mappingOf(layout);
  return /* wgsl */ `// cross-entropy forward: loss[n] = logsumexp(x[n, :]) - x[n, label[n]] (${layout} mapping), NaN for a bad label
struct Params { outer: u32, r: u32, inner: u32, nan: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> LABELS: array<i32>;
@group(0) @binding(3) var<storage, read_write> LOSS: array<f32>;
@group(0) @binding(4) var<storage, read_write> LSE: array<f32>;
${m.helpers}
${m.entry} {
  ${m.prologue}
  ${rowStats(m)}
  if (${m.leader}) {
    let label = LABELS[row];
    let ok = label >= 0 && u32(label) < p.r;
    let lse = mx + log(s);
    var picked = 0.0;
    if (ok) { picked = X[base + u32(label) * stride]; }
    LOSS[row] = select(p.nan, lse - picked, ok);
    LSE[row] = select(p.nan, lse, ok);
  }
}`;
});

/**
 * Cross-entropy backward: dx[n, c] = (exp(x[n, c] - lse[n]) - [c == label[n]]) * g[n * gstride] * scale,
 * i.e. (softmax - onehot) times the upstream gradient; gstride is 0 when the loss was reduced to a
 * scalar, and scale is 1/N for the mean. A NaN lse (bad label) makes the row's gradient NaN.
 * One thread per logit. Params: n (= N * C), c, gstride, scale. Bindings: X, LABELS, LSE, G, DX.
 */
export const CROSS_ENTROPY_BACKWARD_WGSL = /* wgsl */ `// cross-entropy backward: dx = (softmax(x) - onehot(label)) * g * scale
struct Params { n: u32, c: u32, gstride: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> LABELS: array<i32>;
@group(0) @binding(3) var<storage, read> LSE: array<f32>;
@group(0) @binding(4) var<storage, read> G: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let j = linear_index(gid, nwg);
  if (j >= p.n) { return; }
  let row = j / p.c;
  let cls = j % p.c;
  let onehot = select(0.0, 1.0, i32(cls) == LABELS[row]);
  DX[j] = (exp(X[j] - LSE[row]) - onehot) * G[row * p.gstride] * p.scale;
}`;
