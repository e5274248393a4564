// Row-normalization kernels: layerNorm and groupNorm.
//
// What they compute: y = (x - mean) / sqrt(var + eps) [* w + b], mean and the biased variance taken
// over one "row" of x: for layerNorm the last D = prod(normalizedShape) elements of each index of
// the leading dimensions; for groupNorm the (C / G) * S elements of one group of channels of one
// sample. Both are contiguous runs of D floats, so x is seen as [R, D] with row r at r * D.
//
// The affine transform is per channel: element i uses channel ch = (i / S) % C. layerNorm passes
// C = D, S = 1 (w and b have the normalized shape, ch = the position in the row); groupNorm passes
// the real C and S (w and b are [C], one per channel, as nn.GroupNorm).
//
// Mapping: the row kernels (statistics, dx) run one workgroup of 64 threads per row (workgroup
// index folded into y past 65535 rows); each thread accumulates a strided share of the row and a
// workgroup-memory tree combines the 64 partial sums. (64, not 256: on a CPU-backed adapter every
// barrier of the tree suspends and resumes each SIMD group of the workgroup, and LayerNorm runs
// thousands of short rows; measured on lavapipe with GpuTimer, LayerNorm [64,128,256]: statistics
// ~5x and dx ~3x faster; GroupNorm's long rows were not slower.) The normalize kernel runs one thread per
// element. The weight/bias gradient runs one workgroup per channel, summing over every row.
// Rows of at most ROWNORM_SHORT_ROW elements use one thread per row instead (the end of this file).
// The per-row mean is [2R]: hi, then lo (mean = hi + lo, as batchnorm.ts keeps it, so that a row
// sitting at a large offset such as 1e4 + N(0, 1) still normalizes to float32 accuracy).

import { LINEAR_INDEX, MAIN_1D, MAIN_WORKGROUP, MEAN_HI_LO, RELU, WG_SUM, memoize } from './common.js';

/** Threads per row of the per-row kernels. */
const ROW_THREADS = 64;

/** wg_sum(lid, v) over the ROW_THREADS threads of a row's workgroup (common.ts WG_SUM, narrower). */
const ROW_SUM = /* wgsl */ `
var<workgroup> red: array<f32, ${ROW_THREADS}>;
fn wg_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${ROW_THREADS / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier(); // nobody may overwrite red[0] before every thread has read it
  return total;
}`;

/** Entry of the per-row kernels (one workgroup per row): r, the row; lid, the thread; base, where the row starts. */
const ROW_MAIN = /* wgsl */ `@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.R) { return; }
  let lid = lid3.x;
  let base = r * p.D;`;

/**
 * Row statistics, two-pass, the mean as hi + lo (MEAN_HI_LO in common.ts; bnStatsWGSL in
 * batchnorm.ts says why):
 *   pass 1: hi = shift + sum(x - shift) / D, shift = the row's first element when finite;
 *   pass 2: d = x - hi, lo = sum(d) / D, biased var = sum(d^2) / D - lo^2 (clamped at 0 keeping NaN).
 * Writes MEAN[r] = hi, MEAN[R + r] = lo, INVSTD[r] = 1 / sqrt(var + eps).
 * One workgroup per row. Params: R, D, eps. Bindings: X, MEAN, INVSTD.
 */
export const ROWNORM_STATS_WGSL = /* wgsl */ `// row norm statistics: per-row mean (hi + lo) and 1/sqrt(biased var + eps)
struct Params { R: u32, D: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> MEAN: array<f32>;
@group(0) @binding(3) var<storage, read_write> INVSTD: array<f32>;
${RELU}
${ROW_SUM}
${MEAN_HI_LO}
${ROW_MAIN}
  let n = f32(p.D);
  let shift = stats_shift(X[base]);
  var acc = 0.0;
  for (var k = lid; k < p.D; k += ${ROW_THREADS}u) { acc += X[base + k] - shift; }
  let hi = shift + wg_sum(lid, acc) / n;
  acc = 0.0;
  var acc2 = 0.0;
  for (var k = lid; k < p.D; k += ${ROW_THREADS}u) {
    let d = X[base + k] - hi;
    acc += d;
    acc2 += d * d;
  }
  let lo = mean_lo(hi, wg_sum(lid, acc), n);
  let v = biased_var(wg_sum(lid, acc2), lo, n);
  if (lid == 0u) {
    MEAN[r] = hi;
    MEAN[p.R + r] = lo;
    INVSTD[r] = 1.0 / sqrt(v + p.eps);
  }
}`;

/**
 * y = (x - mean[r]) * invstd[r] [* W[ch]] [+ B[ch]], r = i / D, ch = (i / S) % C. One thread per
 * element. Params: n, R, D, C, S. Bindings: X, MEAN, INVSTD[, W][, B], Y.
 */
export const rowNormNormalizeWGSL = memoize(function rowNormNormalizeWGSL(hasWeight: boolean, hasBias: boolean): string {
  const bufs = ['X', 'MEAN', 'INVSTD'];
  if (hasWeight) bufs.push('W');
  if (hasBias) bufs.push('B');
  const decls = bufs.map((b, k) => `@group(0) @binding(${k + 1}) var<storage, read> ${b}: array<f32>;`).join('\n');
  const value = `xhat${hasWeight ? ' * W[ch]' : ''}${hasBias ? ' + B[ch]' : ''}`;
  return /* wgsl */ `// row norm normalize: y = (x - mean[row]) * invstd[row]${hasWeight ? ' * w[ch]' : ''}${hasBias ? ' + b[ch]' : ''}
struct Params { n: u32, R: u32, D: u32, C: u32, S: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
${decls}
@group(0) @binding(${bufs.length + 1}) var<storage, read_write> Y: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let r = i / p.D;
${hasWeight || hasBias ? '  let ch = (i / p.S) % p.C;\n' : ''}  let xhat = (X[i] - MEAN[r] - MEAN[p.R + r]) * INVSTD[r];
  Y[i] = ${hasWeight || hasBias ? value : 'xhat'};
}`;
});

/**
 * dx of a row normalization, one workgroup per row: with gw = g * w[ch] (g without a weight),
 *   dx = invstd * (gw - sum(gw) / D - xhat * sum(gw * xhat) / D)
 * (the mean and variance depend on every x of the row). Params: R, D, C, S.
 * Bindings: G, X, MEAN, INVSTD[, W], DX.
 */
export const rowNormBackwardDxWGSL = memoize(function rowNormBackwardDxWGSL(hasWeight: boolean): string {
  const gw = hasWeight ? 'G[i] * W[((i / p.S) % p.C)]' : 'G[i]';
  return /* wgsl */ `// row norm backward dx: invstd * (gw - mean(gw) - xhat * mean(gw * xhat)), one workgroup per row
struct Params { R: u32, D: u32, C: u32, S: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> MEAN: array<f32>;
@group(0) @binding(4) var<storage, read> INVSTD: array<f32>;
${hasWeight ? '@group(0) @binding(5) var<storage, read> W: array<f32>;\n' : ''}@group(0) @binding(${hasWeight ? 6 : 5}) var<storage, read_write> DX: array<f32>;
${ROW_SUM}
${ROW_MAIN}
  let hi = MEAN[r];
  let lo = MEAN[p.R + r];
  let invstd = INVSTD[r];
  var sg = 0.0;
  var sgx = 0.0;
  for (var k = lid; k < p.D; k += ${ROW_THREADS}u) {
    let i = base + k;
    let gw = ${gw};
    sg += gw;
    sgx += gw * (X[i] - hi - lo) * invstd;
  }
  let n = f32(p.D);
  let meanG = wg_sum(lid, sg) / n;
  let meanGX = wg_sum(lid, sgx) / n;
  for (var k = lid; k < p.D; k += ${ROW_THREADS}u) {
    let i = base + k;
    let xhat = (X[i] - hi - lo) * invstd;
    DX[i] = invstd * (${gw} - meanG - xhat * meanGX);
  }
}`;
});

/**
 * Weight and bias gradients, one workgroup per channel ch: SUMGX[ch] = sum of g * xhat (dweight)
 * and SUMG[ch] = sum of g (dbias) over the elements i = (m * C + ch) * S + s, m in [0, M), s in
 * [0, S), xhat using the row r = i / D. Params: C, S, M, D, R. Bindings: G, X, MEAN, INVSTD, SUMGX, SUMG.
 */
export const ROWNORM_BACKWARD_AFFINE_WGSL = /* wgsl */ `// row norm backward weight/bias: per channel sum(g * xhat) and sum(g)
struct Params { C: u32, S: u32, M: u32, D: u32, R: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> MEAN: array<f32>;
@group(0) @binding(4) var<storage, read> INVSTD: array<f32>;
@group(0) @binding(5) var<storage, read_write> SUMGX: array<f32>;
@group(0) @binding(6) var<storage, read_write> SUMG: array<f32>;
${WG_SUM}
${MAIN_WORKGROUP} {
  let ch = wid.x + wid.y * nwg.x;
  if (ch >= p.C) { return; }
  let lid = lid3.x;
  let count = p.M * p.S;
  var sg = 0.0;
  var sgx = 0.0;
  for (var k = lid; k < count; k += 256u) {
    let m = k / p.S;
    let i = (m * p.C + ch) * p.S + (k - m * p.S);
    let r = i / p.D;
    let g = G[i];
    sg += g;
    sgx += g * (X[i] - MEAN[r] - MEAN[p.R + r]) * INVSTD[r];
  }
  let totalGX = wg_sum(lid, sgx);
  let totalG = wg_sum(lid, sg);
  if (lid == 0u) {
    SUMGX[ch] = totalGX;
    SUMG[ch] = totalG;
  }
}`;

// Short rows (D <= ROWNORM_SHORT_ROW): one THREAD per row instead of one workgroup. With D = 64 (a
// small transformer's width) a 256-thread workgroup leaves 192 threads idle and pays eight
// barrier-separated tree levels per sum; on a CPU-emulated GPU (lavapipe) that made layerNorm the
// largest cost of a vision transformer's step (about 100 us per row per kernel). A thread that walks
// its row serially needs no workgroup memory and no barrier. Same formulas as the workgroup kernels
// above; only the summation order differs.

/** The longest row the one-thread-per-row kernels handle; longer rows use a workgroup per row. */
export const ROWNORM_SHORT_ROW = 128;

/**
 * Row statistics of short rows, one thread per row (row r = the thread's linear index), otherwise as
 * ROWNORM_STATS_WGSL: MEAN[r] = hi, MEAN[R + r] = lo, INVSTD[r] = 1 / sqrt(var + eps). Params: R, D, eps.
 * Bindings: X, MEAN, INVSTD.
 */
export const ROWNORM_STATS_SHORT_WGSL = /* wgsl */ `// row norm statistics, one thread per (short) row: mean (hi + lo) and 1/sqrt(biased var + eps)
struct Params { R: u32, D: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> MEAN: array<f32>;
@group(0) @binding(3) var<storage, read_write> INVSTD: array<f32>;
${RELU}
${MEAN_HI_LO}
${LINEAR_INDEX}
${MAIN_1D} {
  let r = linear_index(gid, nwg);
  if (r >= p.R) { return; }
  let base = r * p.D;
  let n = f32(p.D);
  let shift = stats_shift(X[base]);
  var acc = 0.0;
  for (var k = 0u; k < p.D; k++) { acc += X[base + k] - shift; }
  let hi = shift + acc / n;
  acc = 0.0;
  var acc2 = 0.0;
  for (var k = 0u; k < p.D; k++) {
    let d = X[base + k] - hi;
    acc += d;
    acc2 += d * d;
  }
  let lo = mean_lo(hi, acc, n);
  MEAN[r] = hi;
  MEAN[p.R + r] = lo;
  INVSTD[r] = 1.0 / sqrt(biased_var(acc2, lo, n) + p.eps);
}`;

/**
 * dx of a short-row normalization, one thread per row, otherwise as rowNormBackwardDxWGSL:
 * dx = invstd * (gw - sum(gw) / D - xhat * sum(gw * xhat) / D). Params: R, D, C, S.
 * Bindings: G, X, MEAN, INVSTD[, W], DX.
 */
export const rowNormBackwardDxShortWGSL = memoize(function rowNormBackwardDxShortWGSL(hasWeight: boolean): string {
  const gw = hasWeight ? 'G[i] * W[((i / p.S) % p.C)]' : 'G[i]';
  return /* wgsl */ `// row norm backward dx, one thread per (short) row: invstd * (gw - mean(gw) - xhat * mean(gw * xhat))
struct Params { R: u32, D: u32, C: u32, S: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> MEAN: array<f32>;
@group(0) @binding(4) var<storage, read> INVSTD: array<f32>;
${hasWeight ? '@group(0) @binding(5) var<storage, read> W: array<f32>;\n' : ''}@group(0) @binding(${hasWeight ? 6 : 5}) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let r = linear_index(gid, nwg);
  if (r >= p.R) { return; }
  let base = r * p.D;
  let hi = MEAN[r];
  let lo = MEAN[p.R + r];
  let invstd = INVSTD[r];
  var sg = 0.0;
  var sgx = 0.0;
  for (var k = 0u; k < p.D; k++) {
    let i = base + k;
    let gw = ${gw};
    sg += gw;
    sgx += gw * (X[i] - hi - lo) * invstd;
  }
  let n = f32(p.D);
  let meanG = sg / n;
  let meanGX = sgx / n;
  for (var k = 0u; k < p.D; k++) {
    let i = base + k;
    let xhat = (X[i] - hi - lo) * invstd;
    DX[i] = invstd * (${gw} - meanG - xhat * meanGX);
  }
}`;
});
