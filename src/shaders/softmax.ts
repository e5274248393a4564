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
// Numerical stability: every exponential is of (x - row max), so it never overflows. The row max
// propagates NaN (max_nan_f32, on the bits: WGSL lets compilers assume no NaN), so a row holding a
// NaN is NaN throughout, as in PyTorch.

import { LINEAR_INDEX, MAIN_1D, NAN_HELPERS, indexFlagsWGSL, memoize } from './common.js';
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
  helpers: /* wgsl */ `${NAN_HELPERS}
var<workgroup> red: array<f32, 256>;
fn wg_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max_nan_f32(red[lid], red[lid + s]); }
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
  helpers: `${NAN_HELPERS}${LINEAR_INDEX}`,
};

const mappingOf = (layout: ReduceLayout): Mapping => (layout === 'row' ? ROW : COL);

/** m = max of the row, s = sum of exp(x - m) over the row (both known to every thread of the row). */
function rowStats(m: Mapping): string {
  return `var mx = 0.0;
  if (valid) { mx = X[base]; }
  ${m.loop('mx = max_nan_f32(mx, X[j]);')}
  mx = ${m.allMax('mx')};
  var s = 0.0;
  ${m.loop('s += exp(X[j] - mx);')}
  s = ${m.allSum('s')};`;
}

/**
 * softmax: y = exp(x - max) / sum(exp(x - max)); log-softmax: y = (x - max) - log(sum(exp(x - max))),
 * in that order: x - max is exact for the elements that matter, whereas x - (max + log(sum)) would
 * round max + log(sum) first (by up to 6e-5 at |x| ~ 1e3). Params: outer, r, inner. Bindings: X, Y.
 */
export const softmaxForwardWGSL = memoize(function softmaxForwardWGSL(log: boolean, layout: ReduceLayout): string {
  const m = mappingOf(layout);
  const write = log ? 'Y[j] = (X[j] - mx) - logs;' : 'Y[j] = exp(X[j] - mx) * inv;';
  return /* wgsl */ `// ${log ? 'log-softmax' : 'softmax'} forward over R of [outer, R, inner] (${layout} mapping)
struct Params { outer: u32, r: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${m.helpers}
${m.entry} {
  ${m.prologue}
  ${rowStats(m)}
  let logs = log(s);
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

export type CrossEntropyTarget = 'index' | 'prob';

/**
 * The loss kernels' inputs: `fromLogits` (crossEntropy: log p = log_softmax(x), computed here as
 * (x - max) - log(sum(exp(x - max))), never as x - lse, whose rounding at |x| ~ 1e3 would cost 6e-5
 * in every log-probability) or not (nllLoss: the input already is log p); integer class targets or
 * probability targets; with or without per-class weights.
 */
function lossDecls(fromLogits: boolean, target: CrossEntropyTarget, weighted: boolean): { logp: (j: string) => string; w: (k: string) => string; bindings: string } {
  const logp = (j: string) => (fromLogits ? `((X[${j}] - mx) - logs)` : `X[${j}]`);
  const w = (k: string) => (weighted ? `W[${k}]` : '1.0');
  let b = 1;
  const bindings = [
    `@group(0) @binding(${b++}) var<storage, read> X: array<f32>;`,
    `@group(0) @binding(${b++}) var<storage, read> T: array<${target === 'index' ? 'i32' : 'f32'}>;`,
    weighted ? `@group(0) @binding(${b++}) var<storage, read> W: array<f32>;` : '',
  ].filter(Boolean).join('\n');
  return { logp, w, bindings };
}

/**
 * Loss forward, one row of x [N, C] per workgroup ('row' mapping) or per thread ('col'). Writes, per
 * row n, PARTS[3n..3n+2] = (nll, smooth, den) and STATS[3n..3n+2] = (max, log-sum-exp of x - max,
 * aux) for the backward pass. With logp = the row's log-probabilities and w = the class weights
 * (1 without them):
 *  - class index target y:  nll = -logp[y] * w[y]; smooth = -sum_c logp[c] * w[c] (only when
 *    label smoothing is on, else 0); den = w[y]; aux = sum_c w[c]. A row whose target equals
 *    ignore_index gets (0, 0, 0); a target outside [0, C) is reported in FLAGS (the index check:
 *    the next readback raises naming it, see indexFlagsWGSL) and its row gets NaN (p.nan holds
 *    NaN's bits: WGSL cannot spell NaN as a constant).
 *  - probability target p:  q = p * (1 - eps) + eps / C; smooth = -sum_c (logp[c] * q[c]) * w[c]
 *    (PyTorch's product order); nll = 0; den = 1 (a mean divides by N); aux = sum_c q[c] * w[c].
 * Params: outer (= N), r (= C), inner (= 1), nan, ignore (i32), eps.
 */
export const lossForwardWGSL = memoize(function lossForwardWGSL(layout: ReduceLayout, fromLogits: boolean, target: CrossEntropyTarget, weighted: boolean): string {
  const m = mappingOf(layout);
  const { logp, w, bindings } = lossDecls(fromLogits, target, weighted);
  const stats = fromLogits ? `${rowStats(m)}\n  let logs = log(s);` : 'let mx = 0.0; let logs = 0.0;';
  const acc = target === 'index'
    ? `if (smoothing) { sm += ${weighted ? `${logp('j')} * ${w('k')}` : logp('j')}; } sa += ${w('k')};`
    : `var q = T[j]; if (smoothing) { q = q * (1.0 - p.eps) + p.eps / f32(p.r); } sm += ${weighted ? `(${logp('j')} * q) * ${w('k')}` : `${logp('j')} * q`}; sa += q * ${w('k')};`;
  const finish = target === 'index'
    ? `let label = T[row];
    var nll = 0.0; var smo = 0.0; var den = 0.0;
    if (label != p.ignore) {
      if (label >= 0 && u32(label) < p.r) {
        let wy = ${w('u32(label)')};
        nll = -${logp('base + u32(label) * stride')} * wy;
        if (smoothing) { smo = -sm; }
        den = wy;
      } else {
        report_bad_index(${fromLogits ? 1 : 2}u, label, p.r);
        nll = p.nan; smo = p.nan; den = p.nan;
      }
    }`
    : `let nll = 0.0; let smo = -sm; let den = 1.0;`;
  return /* wgsl */ `// ${fromLogits ? 'cross-entropy' : 'nll loss'} forward, ${target} targets${weighted ? ', class weights' : ''} (${layout} mapping):
// per row n of x [N, C], PARTS[n] = (nll, smooth, den) and STATS[n] = (max, log-sum-exp of x - max, aux)
struct Params { outer: u32, r: u32, inner: u32, nan: f32, ignore: i32, eps: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
${bindings}
@group(0) @binding(${weighted ? 4 : 3}) var<storage, read_write> PARTS: array<f32>;
@group(0) @binding(${weighted ? 5 : 4}) var<storage, read_write> STATS: array<f32>;
${target === 'index' ? indexFlagsWGSL(weighted ? 6 : 5) : ''}
${m.helpers}
${m.entry} {
  ${m.prologue}
  ${stats}
  let smoothing = p.eps > 0.0;
  var sm = 0.0;
  var sa = 0.0;
  ${m.loop(acc)}
  sm = ${m.allSum('sm')};
  sa = ${m.allSum('sa')};
  if (${m.leader}) {
    ${finish}
    PARTS[3u * row] = nll;
    PARTS[3u * row + 1u] = smo;
    PARTS[3u * row + 2u] = den;
    STATS[3u * row] = mx;
    STATS[3u * row + 1u] = logs;
    STATS[3u * row + 2u] = sa;
  }
}`;
});

/**
 * Loss from its parts, one thread per output: PARTS is [count, 3] rows of (nll, smooth, den),
 * per row for reduction 'none' or already summed over the rows (count = 1) for 'sum' and 'mean'.
 *  - class index targets: nll, or (1 - eps) * nll + smooth * (eps / C) with label smoothing;
 *    for 'mean' nll and smooth are each first divided by the summed den (the weight of the rows
 *    not ignored: NaN = 0 / 0 when every row is ignored, as in PyTorch).
 *  - probability targets: smooth, divided by den = N for 'mean'.
 * The branches mirror PyTorch's expression so that the result, -0.0 included, is the same.
 * Params: count, mean (0/1), prob (0/1), smoothing (0/1), a (= 1 - eps), b (= eps / C).
 */
export const LOSS_COMBINE_WGSL = /* wgsl */ `// loss combine: out[i] = (nll, smooth, den)[i] -> the loss, PyTorch's formula per reduction
struct Params { count: u32, mean: u32, prob: u32, smoothing: u32, a: f32, b: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> PARTS: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.count) { return; }
  var nll = PARTS[3u * i];
  var smo = PARTS[3u * i + 1u];
  if (p.mean == 1u) {
    let den = PARTS[3u * i + 2u];
    nll = nll / den;
    smo = smo / den;
  }
  if (p.prob == 1u) {
    OUT[i] = smo;
  } else if (p.smoothing == 1u) {
    OUT[i] = p.a * nll + smo * p.b;
  } else {
    OUT[i] = nll;
  }
}`;

/**
 * Loss backward, one thread per element of x [N, C]. The upstream gradient of row n is
 * g = G[n * gstride] (gstride 0 for a reduced loss), divided by the summed den (SUMS[2]) for
 * 'mean'. The gradient with respect to the log-probabilities is
 *  - class index target y: dlogp[c] = -g * a * w[y] * [c == y] - g * b * w[c], with a = 1 - eps and
 *    b = eps / C (a = 1, b = 0 without smoothing); 0 for an ignored row, NaN for a bad target;
 *  - probability target:   dlogp[c] = -g * q[c] * w[c].
 * nllLoss: dx = dlogp. crossEntropy: dx = dlogp - softmax(x) * sum_c dlogp[c], where
 * sum_c dlogp[c] = -g * (a * w[y] + b * aux) or -g * aux, and softmax = exp((x - max) - logs) from
 * STATS (not exp(x - lse): see the forward).
 * Params: n (= N * C), c, gstride, mean (0/1), nan, ignore (i32), eps, a, b.
 * Bindings: X, T, [W], STATS, SUMS (the summed parts; any buffer unless mean), G, DX.
 */
export const lossBackwardWGSL = memoize(function lossBackwardWGSL(fromLogits: boolean, target: CrossEntropyTarget, weighted: boolean): string {
  const { w, bindings } = lossDecls(fromLogits, target, weighted);
  let b = weighted ? 4 : 3;
  const grad = target === 'index'
    ? `let label = T[row];
  var dlogp = 0.0;
  var total = 0.0;
  if (label != p.ignore) {
    if (label >= 0 && u32(label) < p.c) {
      let wy = ${w('u32(label)')};
      let gn = g * p.a;
      if (i32(cls) == label) { dlogp = -gn * wy; }
      total = -gn * wy;
      if (p.eps > 0.0) {
        let gs = g * p.b;
        dlogp = dlogp - gs * ${w('cls')};
        total = total - gs * STATS[3u * row + 2u];
      }
    } else {
      dlogp = p.nan; total = p.nan;
    }
  }
  // PyTorch sums dlogp over the classes starting from +0, so a zero sum is +0 even when its only
  // term, -g * w[y], is -0 (a zero class weight); keeping -0 would turn the target's gradient
  // -0 - softmax * -0 into +0 where PyTorch has -0. Done on the bits: compilers may ignore the sign of zero.
  if (bitcast<u32>(total) == 0x80000000u) { total = bitcast<f32>(0u); }`
    : `var q = T[j];
  if (p.eps > 0.0) { q = q * (1.0 - p.eps) + p.eps / f32(p.c); }
  let dlogp = -g * q * ${w('cls')};
  let total = -g * STATS[3u * row + 2u];`;
  const write = fromLogits
    ? `let softmax = exp((X[j] - STATS[3u * row]) - STATS[3u * row + 1u]);
  DX[j] = dlogp - softmax * total;`
    : 'DX[j] = dlogp;';
  return /* wgsl */ `// ${fromLogits ? 'cross-entropy' : 'nll loss'} backward, ${target} targets${weighted ? ', class weights' : ''}: one thread per element of x [N, C]
struct Params { n: u32, c: u32, gstride: u32, mean: u32, nan: f32, ignore: i32, eps: f32, a: f32, b: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
${bindings}
@group(0) @binding(${b++}) var<storage, read> STATS: array<f32>;
@group(0) @binding(${b++}) var<storage, read> SUMS: array<f32>;
@group(0) @binding(${b++}) var<storage, read> G: array<f32>;
@group(0) @binding(${b++}) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let j = linear_index(gid, nwg);
  if (j >= p.n) { return; }
  let row = j / p.c;
  let cls = j % p.c;
  var g = G[row * p.gstride];
  if (p.mean == 1u) { g = g / SUMS[2]; }
  ${grad}
  ${write}
}`;
});
