// Batch-normalization kernels.
//
// Layout: x is contiguous [N, C, S] where S is the product of the spatial dimensions (1 for
// [N, C] input): element (n, c, s) sits at (n * C + c) * S + s. A channel's `count` = N * S
// elements are therefore strided: S contiguous values every C * S.
// Per-channel vectors (invstd, weight, bias, running stats, sums) are [C]; the mean is [2C], hi
// then lo (the mean is hi + lo, see bnStatsWGSL).
//
// Mapping: the per-channel reductions run one workgroup of 256 threads per channel (workgroup
// index folded into y past 65535 channels); each thread accumulates a strided share of the
// channel, then a workgroup-memory tree reduction combines the 256 partial sums. The elementwise
// kernels run one thread per element: on a (spatial, C, N) grid for S >= 64, else 1-D (MAIN_1D).
// The fused training kernels (bnStatsNormalizeWGSL, bnBackwardFusedWGSL) run the reduction and then
// the elementwise pass in the same per-channel workgroup: one dispatch instead of two.

import { LINEAR_INDEX, MAIN_1D, MAIN_WORKGROUP, MEAN_HI_LO, NAN_HELPERS, RELU, RELU_GRAD_VEC4, WG_SUM, memoize } from './common.js';

/** The 256-wide workgroup sum (WG_SUM in common.ts), plus the channel/element index helpers. */
const CHANNEL_REDUCE = /* wgsl */ `${WG_SUM}

// A walk over channel c's elements k = lid, lid + 256, ... (k = n * S + s) that keeps (n, s) and
// divides only when a step crosses into the next image(s), not at every element: integer division
// is slow on CPU-backed adapters (no vector divide).
struct ChanCursor { s: u32, base: u32 }
fn chan_start(lid: u32, c: u32) -> ChanCursor {
  let n = lid / p.S;
  return ChanCursor(lid % p.S, (n * p.C + c) * p.S);
}
fn chan_next(cur: ChanCursor) -> ChanCursor {
  var s = cur.s + 256u;
  var base = cur.base;
  if (s >= p.S) {
    let images = s / p.S;
    s -= images * p.S;
    base += images * p.C * p.S;
  }
  return ChanCursor(s, base);
}`;

/**
 * The same walk in vec4 units, for S % 4 == 0 (the vec4 variants of the fused kernels): channel c's
 * vec4 k = n * S4 + s4 (S4 = S / 4) sits at (n * C + c) * S4 + s4, and a thread's vec4s are lid,
 * lid + 256, ... One load brings four consecutive values of one image's plane.
 */
const CHANNEL_REDUCE_VEC4 = /* wgsl */ `${WG_SUM}

// The cursor carries S4 so that a step does not divide p.S again.
struct ChanCursor { s: u32, base: u32, S4: u32 }
fn chan_start(lid: u32, c: u32) -> ChanCursor {
  let S4 = p.S / 4u;
  let n = lid / S4;
  return ChanCursor(lid % S4, (n * p.C + c) * S4, S4);
}
fn chan_next(cur: ChanCursor) -> ChanCursor {
  var s = cur.s + 256u;
  var base = cur.base;
  if (s >= cur.S4) {
    let images = s / cur.S4;
    s -= images * cur.S4;
    base += images * p.C * cur.S4;
  }
  return ChanCursor(s, base, cur.S4);
}
fn hsum(v: vec4<f32>) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}`;

/**
 * Entry and element index of the elementwise kernels. `planes`: a 3-D grid (ceil(S/64), C, N) of
 * 64-thread workgroups, so the channel is the workgroup's y and no thread divides (for S >= 64,
 * the spatial layers); otherwise the 1-D grid, the channel decoded as (i / S) % C.
 */
function elementMain(planes: boolean): string {
  return planes
    ? `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  if (gid.x >= p.S) { return; }
  let c = wg.y;
  let i = (wg.z * p.C + c) * p.S + gid.x;`
    : `${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let c = (i / p.S) % p.C;`;
}

/**
 * The body of the training-statistics kernels (bnStatsWGSL, bnStatsNormalizeWGSL): channel c's
 * two-pass hi + lo mean and biased variance over its workgroup, written to MEAN and INVSTD (and the
 * running stats with `running`) by thread 0. Leaves c, lid, hi, lo and invstd in scope for a fused
 * normalize pass. Needs RELU, CHANNEL_REDUCE and MEAN_HI_LO.
 */
function channelStats(running: boolean, vec4 = false): string {
  // vec4: X is array<vec4<f32>>, the loops run over count / 4 vec4s and a thread's four lanes are
  // summed (hsum) before the workgroup sum.
  const [zero, first, end, tot] = vec4
    ? ['vec4<f32>(0.0)', 'X[c * (p.S / 4u)].x', 'p.count / 4u', (v: string) => `hsum(${v})`]
    : ['0.0', 'X[c * p.S]', 'p.count', (v: string) => v];
  return `  let c = wid.x + wid.y * nwg.x;
  if (c >= p.C) { return; }
  let lid = lid3.x;
  let n = f32(p.count);
  let shift = stats_shift(${first});
  var acc = ${zero};
  var cur = chan_start(lid, c);
  for (var k = lid; k < ${end}; k += 256u) { acc += X[cur.base + cur.s] - shift; cur = chan_next(cur); }
  let hi = shift + wg_sum(lid, ${tot('acc')}) / n;
  acc = ${zero};
  var acc2 = ${zero};
  cur = chan_start(lid, c);
  for (var k = lid; k < ${end}; k += 256u) {
    let d = X[cur.base + cur.s] - hi;
    acc += d;
    acc2 += d * d;
    cur = chan_next(cur);
  }
  // An infinite mean (an inf in the channel) gets lo = 0 and stays inf, as PyTorch's running mean.
  let lo = mean_lo(hi, wg_sum(lid, ${tot('acc')}), n);
  let v = biased_var(wg_sum(lid, ${tot('acc2')}), lo, n);
  let invstd = 1.0 / sqrt(v + p.eps);
  if (lid == 0u) {
    MEAN[c] = hi;
    MEAN[p.C + c] = lo;
    INVSTD[c] = invstd;
${running ? `    let m = p.momentum;
    RM[c] = (1.0 - m) * RM[c] + m * (hi + lo);
    RV[c] = (1.0 - m) * RV[c] + m * v * (n / (n - 1.0));` : ''}
  }`;
}

/**
 * Training statistics, two-pass for stability, with the mean carried as two floats:
 *   pass 1: hi = shift + sum(x - shift) / n, the shift being the channel's first element (when
 *           finite): x - shift is exact for values within a factor of 2 of it, so a channel at
 *           1e4 + N(0, 1) sums numbers of size 1, not 1e4;
 *   pass 2: with d = x - hi (exact for the same reason), lo = sum(d) / n, the part of the mean that
 *           rounding hi to float32 lost (up to half an ulp of 1e4, 5e-4), and the biased variance
 *           sum(d^2) / n - lo^2 (the corrected two-pass formula).
 * The kernels that normalize use x - hi - lo, which stays accurate at any offset (PyTorch sums in
 * float64 but then computes x * (invstd) + (-mean * invstd), which cancels at a large offset).
 * Writes MEAN[c] = hi, MEAN[C + c] = lo (MEAN is [2C]) and INVSTD[c] = 1 / sqrt(biased_var + eps);
 * with `running`, also updates the running stats in place: rm = (1 - m) rm + m (hi + lo),
 * rv = (1 - m) rv + m biased_var * count / (count - 1).
 * Params: C, S, count, momentum, eps. Bindings: X, MEAN, INVSTD[, RM, RV].
 */
export const bnStatsWGSL = memoize(function bnStatsWGSL(running: boolean): string {
  return /* wgsl */ `// batchNorm statistics: per-channel mean (hi + lo) and 1/sqrt(var + eps)${running ? ', running stats updated in place' : ''}
struct Params { C: u32, S: u32, count: u32, momentum: f32, eps: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> MEAN: array<f32>;
@group(0) @binding(3) var<storage, read_write> INVSTD: array<f32>;
${running ? `@group(0) @binding(4) var<storage, read_write> RM: array<f32>;
@group(0) @binding(5) var<storage, read_write> RV: array<f32>;` : ''}
${RELU}
${CHANNEL_REDUCE}
${MEAN_HI_LO}
${MAIN_WORKGROUP} {
${channelStats(running)}
}`;
});

/**
 * Evaluation statistics from the running stats: MEAN[c] = RM[c], MEAN[C + c] = 0 (the [2C] hi/lo
 * layout of the training statistics; a copy, so later in-place
 * updates of the running stats cannot change what backward sees), INVSTD[c] = 1 / sqrt(RV[c] + eps).
 * One thread per channel. Params: C, eps. Bindings: RM, RV, MEAN, INVSTD.
 */
export const BN_EVAL_STATS_WGSL = /* wgsl */ `// batchNorm eval statistics: mean = running mean, invstd = 1/sqrt(running var + eps)
struct Params { C: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> RM: array<f32>;
@group(0) @binding(2) var<storage, read> RV: array<f32>;
@group(0) @binding(3) var<storage, read_write> MEAN: array<f32>;
@group(0) @binding(4) var<storage, read_write> INVSTD: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let c = linear_index(gid, nwg);
  if (c >= p.C) { return; }
  MEAN[c] = RM[c];
  MEAN[p.C + c] = 0.0;
  INVSTD[c] = 1.0 / sqrt(RV[c] + p.eps);
}`;

/**
 * y = (x - mean[c]) * invstd[c] (* w[c] + b[c] when affine), then ReLU when `relu` (batch norm +
 * ReLU in one pass). One thread per element. Params: n, C, S. Bindings: X, MEAN, INVSTD[, W, B], Y.
 */
export const bnNormalizeWGSL = memoize(function bnNormalizeWGSL(affine: boolean, relu: boolean = false, planes: boolean = false): string {
  const value = affine ? 'xhat * W[c] + B[c]' : 'xhat';
  return /* wgsl */ `// batchNorm normalize: y = ${relu ? 'relu(' : ''}(x - mean[c]) * invstd[c]${affine ? ' * w[c] + b[c]' : ''}${relu ? ')' : ''}
struct Params { n: u32, C: u32, S: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> MEAN: array<f32>;
@group(0) @binding(3) var<storage, read> INVSTD: array<f32>;
${affine ? `@group(0) @binding(4) var<storage, read> W: array<f32>;
@group(0) @binding(5) var<storage, read> B: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y: array<f32>;` : `@group(0) @binding(4) var<storage, read_write> Y: array<f32>;`}
${relu ? RELU : ''}
${LINEAR_INDEX}
${elementMain(planes)}
  let xhat = (X[i] - MEAN[c] - MEAN[p.C + c]) * INVSTD[c]; // mean = hi + lo, see bnStatsWGSL
${relu ? `  let v = ${value};
  Y[i] = relu_f32(v);` : `  Y[i] = ${value};`}
}`;
});

/**
 * The incoming gradient at element i. With a fused ReLU (`relu`), G is the gradient of the ReLU's
 * output Y, and the batch norm's own output gradient is 0 where Y <= 0, else G (NaN passes, as in
 * PyTorch; relu_grad_f32 in common.ts tests the bits).
 */
function gradAt(relu: boolean, vec4 = false): string {
  return relu ? `relu_grad_${vec4 ? 'vec4' : 'f32'}(G[i], Y[i])` : 'G[i]';
}

/**
 * The start of both training-mode backward kernels (bnBackwardReduceWGSL, bnBackwardFusedWGSL): the
 * workgroup's channel c, then sum(g) and sum(g * xhat) over the channel, written to SUMG[c] / SUMGX[c]
 * by lane 0 and left in totalG / totalGX for the fused kernel's dx pass. `g` is the WGSL expression of
 * the incoming gradient at element i (masked by the fused ReLU where there is one). `vec4`: G, X (and
 * Y) are array<vec4<f32>> and the loop runs over count / 4 vec4s (S % 4 == 0).
 */
function channelGradSums(g: string, vec4 = false): string {
  const [zero, end, tot] = vec4 ? ['vec4<f32>(0.0)', 'p.count / 4u', (v: string) => `hsum(${v})`] : ['0.0', 'p.count', (v: string) => v];
  return `  let c = wid.x + wid.y * nwg.x;
  if (c >= p.C) { return; }
  let lid = lid3.x;
  let mean_hi = MEAN[c];
  let mean_lo = MEAN[p.C + c];
  let invstd = INVSTD[c];
  var sg = ${zero};
  var sgx = ${zero};
  var cur = chan_start(lid, c);
  for (var k = lid; k < ${end}; k += 256u) {
    let i = cur.base + cur.s;
    let g = ${g};
    sg += g;
    sgx += g * (X[i] - mean_hi - mean_lo) * invstd;
    cur = chan_next(cur);
  }
  let totalG = wg_sum(lid, ${tot('sg')});
  let totalGX = wg_sum(lid, ${tot('sgx')});
  if (lid == 0u) {
    SUMG[c] = totalG;
    SUMGX[c] = totalGX;
  }
`;
}

/**
 * Backward reductions: SUMG[c] = sum of g over channel c (= dbias), SUMGX[c] = sum of g * xhat
 * (= dweight). One workgroup per channel. Params: C, S, count.
 * Bindings: G, X, MEAN, INVSTD[, Y with a fused ReLU], SUMG, SUMGX.
 */
export const bnBackwardReduceWGSL = memoize(function bnBackwardReduceWGSL(relu: boolean = false): string {
  const y = relu ? 1 : 0;
  return /* wgsl */ `// batchNorm backward reduce: per channel sum(g) and sum(g * xhat)${relu ? ', g masked by the fused ReLU (Y > 0)' : ''}
struct Params { C: u32, S: u32, count: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> MEAN: array<f32>;
@group(0) @binding(4) var<storage, read> INVSTD: array<f32>;
${relu ? '@group(0) @binding(5) var<storage, read> Y: array<f32>;\n' : ''}@group(0) @binding(${5 + y}) var<storage, read_write> SUMG: array<f32>;
@group(0) @binding(${6 + y}) var<storage, read_write> SUMGX: array<f32>;
${relu ? NAN_HELPERS : ''}
${CHANNEL_REDUCE}
${MAIN_WORKGROUP} {
${channelGradSums(gradAt(relu))}}`;
});

/**
 * dx for training mode, where mean and variance depend on x:
 *   dx = (w * invstd / n) * (n * g - sum(g) - xhat * sum(g * xhat))
 * and for eval mode, where they are constants: dx = g * w * invstd (w = 1 without affine).
 * One thread per element; with a fused ReLU, g is masked by Y > 0 first. Params: n, C, S, count (f32).
 * Bindings (training): G, X, MEAN, INVSTD[, W], SUMG, SUMGX[, Y], DX. (eval): G, INVSTD[, W][, Y], DX.
 */
export const bnBackwardDxWGSL = memoize(function bnBackwardDxWGSL(training: boolean, affine: boolean, relu: boolean = false, planes: boolean = false): string {
  const bufs = training ? ['G', 'X', 'MEAN', 'INVSTD'] : ['G', 'INVSTD'];
  if (affine) bufs.push('W');
  if (training) bufs.push('SUMG', 'SUMGX');
  if (relu) bufs.push('Y');
  const g = gradAt(relu);
  const decls = bufs.map((b, k) => `@group(0) @binding(${k + 1}) var<storage, read> ${b}: array<f32>;`).join('\n');
  const w = affine ? 'W[c]' : '1.0';
  const body = training
    ? `  let invstd = INVSTD[c];
  let xhat = (X[i] - MEAN[c] - MEAN[p.C + c]) * invstd;
  DX[i] = (${w} * invstd / p.count) * (p.count * ${g} - SUMG[c] - xhat * SUMGX[c]);`
    : `  DX[i] = ${g} * ${w} * INVSTD[c];`;
  return /* wgsl */ `// batchNorm backward dx (${training ? 'training: batch statistics' : 'eval: running statistics'}${affine ? ', affine' : ''}${relu ? ', through a fused ReLU' : ''})
struct Params { n: u32, C: u32, S: u32, count: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
${decls}
@group(0) @binding(${bufs.length + 1}) var<storage, read_write> DX: array<f32>;
${relu ? NAN_HELPERS : ''}
${LINEAR_INDEX}
${elementMain(planes)}
${body}
}`;
});

/**
 * Training statistics and normalization in one dispatch (forward of a training-mode batch norm when
 * one workgroup per channel is parallelism enough: see engine/ops/batchnorm.ts). Workgroup c runs
 * bnStatsWGSL's two passes over channel c (same expressions, so MEAN, INVSTD and the running stats
 * are those of bn_stats), then a third pass over the channel writes
 * y = (x - hi - lo) * invstd (* w[c] + b[c] when affine), then ReLU when `relu`, as bnNormalizeWGSL.
 * The channel's values are read three times by the same workgroup, so on a CPU-backed adapter the
 * third read mostly hits the core's cache. `vec4` (needs S % 4 == 0): X and Y are read and written
 * four values at a time, a quarter of the loads and bounds checks (what costs most on a CPU-backed
 * adapter); the sums then add in another order, so the statistics match bn_stats to rounding, not
 * bit for bit. Params: C, S, count, momentum, eps. Bindings: X, MEAN, INVSTD[, RM, RV][, W, B], Y.
 */
export const bnStatsNormalizeWGSL = memoize(function bnStatsNormalizeWGSL(running: boolean, affine: boolean, relu: boolean, vec4: boolean = false): string {
  const T = vec4 ? 'vec4<f32>' : 'f32';
  const names = ['MEAN', 'INVSTD', ...(running ? ['RM', 'RV'] : [])];
  const decls = names.map((b, k) => `@group(0) @binding(${k + 2}) var<storage, read_write> ${b}: array<f32>;`);
  let next = names.length + 2;
  if (affine) decls.push(`@group(0) @binding(${next++}) var<storage, read> W: array<f32>;`, `@group(0) @binding(${next++}) var<storage, read> B: array<f32>;`);
  decls.push(`@group(0) @binding(${next}) var<storage, read_write> Y: array<${T}>;`);
  const value = affine ? 'xhat * w + b' : 'xhat';
  return /* wgsl */ `// batchNorm statistics + normalize, one workgroup per channel${vec4 ? ', four values per load' : ''}: y = ${relu ? 'relu(' : ''}(x - mean[c]) * invstd[c]${affine ? ' * w[c] + b[c]' : ''}${relu ? ')' : ''}${running ? ', running stats updated in place' : ''}
struct Params { C: u32, S: u32, count: u32, momentum: f32, eps: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<${T}>;
${decls.join('\n')}
${RELU}
${vec4 ? CHANNEL_REDUCE_VEC4 : CHANNEL_REDUCE}
${MEAN_HI_LO}
${MAIN_WORKGROUP} {
${channelStats(running, vec4)}
${affine ? `  let w = W[c];
  let b = B[c];
` : ''}  cur = chan_start(lid, c);
  for (var k = lid; k < ${vec4 ? 'p.count / 4u' : 'p.count'}; k += 256u) {
    let i = cur.base + cur.s;
    let xhat = (X[i] - hi - lo) * invstd; // as bnNormalizeWGSL: (x - MEAN[c] - MEAN[C + c]) * INVSTD[c]
    Y[i] = ${relu ? `relu_${vec4 ? 'vec4' : 'f32'}(${value})` : value};
    cur = chan_next(cur);
  }
}`;
});

/**
 * Training-mode backward in one dispatch, one workgroup per channel: the sums of
 * bnBackwardReduceWGSL (SUMG[c] = sum(g) = dbias, SUMGX[c] = sum(g * xhat) = dweight), then a second
 * pass over the channel writes bnBackwardDxWGSL's training dx:
 *   dx = (w * invstd / n) * (n * g - sum(g) - xhat * sum(g * xhat))   (w = 1 without affine)
 * with g masked by Y > 0 through a fused ReLU. `vec4` (needs S % 4 == 0): G, X, Y and DX four values
 * per load or store, as bnStatsNormalizeWGSL's. Params: C, S, count.
 * Bindings: G, X, MEAN, INVSTD[, W][, Y], SUMG, SUMGX, DX.
 */
export const bnBackwardFusedWGSL = memoize(function bnBackwardFusedWGSL(affine: boolean, relu: boolean, vec4: boolean = false): string {
  const T = vec4 ? 'vec4<f32>' : 'f32';
  const bufs: [string, string][] = [['G', T], ['X', T], ['MEAN', 'f32'], ['INVSTD', 'f32'], ...(affine ? [['W', 'f32'] as [string, string]] : []), ...(relu ? [['Y', T] as [string, string]] : [])];
  const decls = bufs.map(([b, t], k) => `@group(0) @binding(${k + 1}) var<storage, read> ${b}: array<${t}>;`);
  ([['SUMG', 'f32'], ['SUMGX', 'f32'], ['DX', T]] as const).forEach(([b, t], k) => decls.push(`@group(0) @binding(${bufs.length + 1 + k}) var<storage, read_write> ${b}: array<${t}>;`));
  const g = gradAt(relu, vec4);
  return /* wgsl */ `// batchNorm backward, one workgroup per channel${vec4 ? ', four values per load' : ''}: sum(g), sum(g * xhat), then dx (training${affine ? ', affine' : ''}${relu ? ', through a fused ReLU' : ''})
struct Params { C: u32, S: u32, count: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
${decls.join('\n')}
${relu ? (vec4 ? `${NAN_HELPERS}${RELU_GRAD_VEC4}` : NAN_HELPERS) : ''}
${vec4 ? CHANNEL_REDUCE_VEC4 : CHANNEL_REDUCE}
${MAIN_WORKGROUP} {
${channelGradSums(g, vec4)}  let n = f32(p.count);
  let scale = ${affine ? 'W[c]' : '1.0'} * invstd / n;
  cur = chan_start(lid, c);
  for (var k = lid; k < ${vec4 ? 'p.count / 4u' : 'p.count'}; k += 256u) {
    let i = cur.base + cur.s;
    let xhat = (X[i] - mean_hi - mean_lo) * invstd;
    DX[i] = scale * (n * ${g} - totalG - xhat * totalGX);
    cur = chan_next(cur);
  }
}`;
});
