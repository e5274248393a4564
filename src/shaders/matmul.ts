// Matrix multiplication kernels: C[z] = op(A[z]) @ op(B[z]) (+ bias), for a batch of matrices.
//
// What: for every batch index z, C[z][m][n] = sum_k a(m, k) * b(k, n) (+ BIAS[n] when fused),
//   then max(., 0) when the ReLU epilogue is on (Linear followed by ReLU), with C of shape [M, N].
//   The sum runs over k in order, accumulating in f32 (except in the split-K kernel, see below).
// Layout: every matrix is contiguous row-major float32. The transposition flags say how A and B
//   are stored, so a backward pass reads a transposed operand in place instead of materializing it:
//     transA = false: A is [M, K], a(m, k) = A[m * K + k];  transA = true: A is [K, M], a(m, k) = A[k * M + m]
//     transB = false: B is [K, N], b(k, n) = B[k * N + n];  transB = true: B is [N, K], b(k, n) = B[n * K + k]
//   C is always [M, N]; batch z starts at z * M * N. The batch index z is decoded into coordinates of
//   the batch shape and re-encoded with each operand's batch strides (in elements; 0 on a broadcast
//   dimension), so [B, M, K] @ [K, N] and [2, 1, ...] @ [3, ...] need no copies.
// Params: M, N, K, rank (of the batch shape), z0 (first batch index of this dispatch: batches past
//   65535 are split over several dispatches), shape[8], sa[8], sb[8] (batch shape and strides).
//
// Five kernels compute the same thing:
//  - `matmulTiledWGSL`, the fast one. A workgroup of 16x16 threads owns a 64x64 tile of C; each
//    thread owns a 4x4 block of it. K is walked in steps of 16: the workgroup stages the 64x16
//    slice of A and the 16x64 slice of B in workgroup memory (each of the 256 threads loads 4+4
//    values), then every thread does 16 rank-1 updates of its 4x4 block from registers. Each value
//    loaded from global memory is thus reused 64 times from workgroup memory, and each value read
//    from workgroup memory is reused 4 times from registers: that reuse is the whole point.
//    Thread (tx, ty) owns rows ty + 16i and columns tx + 16j (i, j in 0..3) rather than a
//    contiguous 4x4 block, so neighbouring threads read neighbouring workgroup-memory words
//    (no bank conflicts) and write neighbouring words of C (coalesced stores).
//    Out-of-range rows, columns and k are loaded as 0 and never stored: any M, N, K works.
//    Grid: x = ceil(N / 64) column tiles, y = ceil(M / 64) row tiles, z = batch.
//  - `matmulNaiveWGSL`, the oracle: one thread per element of C, a plain loop over k straight from
//    global memory. Obviously right; tests check the tiled kernel against it. It doubles as the
//    small-matrix path (see `gemm` in src/engine/ops/matmul.ts), where a 64x64 tile would be
//    mostly idle threads waiting at barriers.
//    Grid: x = ceil(N / 16), y = ceil(M / 16), z = batch, 16x16 threads per workgroup.
//  - `matmulVec4WGSL`, register blocking without workgroup memory, for M, N, K multiples of 4: each
//    thread owns a 4x4 block of C and walks K four at a time, reading its operands as vec4 straight
//    from global memory (8 vec4 loads per 64 multiply-adds) and relying on the cache for reuse. No
//    barriers and a quarter of the load instructions: on CPU-backed adapters (lavapipe, SwiftShader),
//    where each load of a lane-varying address is a separate scalar load and barriers split the
//    kernel, it measured ~3x the tiled kernel (8 vs 2.7 GFLOP/s at 1024^3), so ops/matmul.ts uses it
//    there. Grid: x = ceil(N/4 / 8), y = ceil(M/4 / 8), z = batch, 8x8 threads per workgroup.
//  - `matmulDotWGSL`, split-K for few outputs and a long K (a classifier head, x [64, 4096] @ W^T
//    [4096, 10]; a weight gradient summed over a large batch): one workgroup of 64 threads per
//    element of C. The naive kernel gives such a product a few hundred threads, each walking all of
//    K alone (latency-bound, the GPU nearly empty); here thread t sums k = t, t + 64, ... (64
//    neighbouring threads read 64 neighbouring words of a row-major A or a transposed B), then the
//    workgroup adds its 64 partial sums in a tree in workgroup memory. The sum is thus not in k order:
//    it agrees with the other kernels to rounding. Grid: the M * N outputs over x (folded into y past
//    65535 workgroups, as runtime.ts's grid1d does), z = batch.
//  - `matmulSubgroupWGSL`, for CPU-backed adapters with the `subgroups` feature (lavapipe), M, N, K
//    multiples of 4. On lavapipe every load at a lane-varying address is a loop over the 8 SIMD lanes
//    (one scalar load each), and anything derived from a loop counter counts as lane-varying, so the
//    vec4 kernel spends its time loading. Here a workgroup owns R rows of C (32 by default) and each
//    thread 4 of its columns: all lanes need the same R rows of A, so lane l loads only the vec4s
//    l, l + 8, ... of them and subgroupBroadcast hands each to every lane (R/8 loads per lane instead of
//    R); B's 4 columns are the thread's own. At R = 32, 8 vec4 loads per lane feed 32 x 4 x 4
//    multiply-adds per step of 4 in k, against 8 per 4 x 4 x 4 in the vec4 kernel. The same idea as conv2dSubgroupWGSL.
//    Measured on lavapipe: 2-4x the vec4 kernel on the MLP's products (bench/RESULTS.md, 2026-12-02).
//    Grid: x = ceil(N/4 / 64) (64 threads along the columns), y = ceil(M / R), z = batch.
// Two more, for CPU-backed adapters where M or N is not a multiple of 4 (a classifier head), are in
// matmul-rowdot.ts: rowdot (A @ B^T read as vec4 along k) and nvec4 (op(A) @ B, B read as vec4 along n).

import { RELU, memoize } from './common.js';

export interface MatmulVariant {
  /** A is stored [K, M] (read as its transpose). */
  transA: boolean;
  /** B is stored [N, K] (read as its transpose). */
  transB: boolean;
  /** Add BIAS[n] to every row of C (bias is bound before C). */
  bias: boolean;
  /** Apply ReLU to C in the epilogue, after the bias (common.ts's RELU, which keeps NaN). */
  relu?: boolean;
  /** Tiled kernel only: stage the operands as float16 in workgroup memory, accumulate in float32. */
  f16?: boolean;
}

/** Output tile of one workgroup of the tiled kernel (rows and columns). */
export const TILE = 64;
/** Threads per workgroup side (tiled and naive kernels). */
export const WG_SIDE = 16;

/** Decodes batch index z into the element offsets of its matrices in A and B (Params shape/sa/sb). */
const BATCH_OFFSETS = /* wgsl */ `// Element offsets of batch z's matrices in A and B.
fn batch_offsets(z: u32) -> vec2<u32> {
  var rem = z;
  var oa = 0u;
  var ob = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let c = rem % p.shape[d];
    rem = rem / p.shape[d];
    oa += c * p.sa[d];
    ob += c * p.sb[d];
  }
  return vec2<u32>(oa, ob);
}`;

function header(v: MatmulVariant): string {
  const out = v.bias ? 4 : 3;
  return /* wgsl */ `struct Params { M: u32, N: u32, K: u32, rank: u32, z0: u32, shape: array<u32, 8>, sa: array<u32, 8>, sb: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
${v.bias ? '@group(0) @binding(3) var<storage, read> BIAS: array<f32>;\n' : ''}@group(0) @binding(${out}) var<storage, read_write> C: array<f32>;

${BATCH_OFFSETS}
${v.relu ? RELU : ''}
// a(m, k) and b(k, n) of the current batch, 0 outside the matrices.
fn load_a(base: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  return A[base + ${v.transA ? 'k * p.M + m' : 'm * p.K + k'}];
}
fn load_b(base: u32, k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
  return B[base + ${v.transB ? 'n * p.K + k' : 'k * p.N + n'}];
}
fn store_c(base: u32, m: u32, n: u32, v: f32) {
  C[base + m * p.N + n] = ${epilogue(v, `v${v.bias ? ' + BIAS[n]' : ''}`, 'f32')};
}`;
}

/** The stored value: `expr` (the sum, plus the bias if any), through the ReLU when it is fused. */
function epilogue(v: MatmulVariant, expr: string, type: 'f32' | 'vec4'): string {
  return v.relu ? `relu_${type}(${expr})` : expr;
}

function variantName(v: MatmulVariant): string {
  const sum = `A${v.transA ? '^T' : ''} @ B${v.transB ? '^T' : ''}${v.bias ? ' + bias' : ''}`;
  return v.relu ? `relu(${sum})` : sum;
}

/**
 * Pieces shared with the kernels of matmul-rowdot.ts: the batch-offset decoder (WGSL, reads Params
 * p), the epilogue (bias already in `expr`, ReLU when fused) and the variant's name for opening
 * comments. An object, not functions, so the shader lab does not list them as kernel generators.
 */
export const matmulParts = { batchOffsets: BATCH_OFFSETS, epilogue, variantName } as const;

/** The oracle: one thread per output element. */
export const matmulNaiveWGSL = memoize(function matmulNaiveWGSL(v: MatmulVariant): string {
  return /* wgsl */ `// matmul (naive oracle): C[z] = ${variantName(v)}; one thread per element of C (see src/shaders/matmul.ts)
${header(v)}

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let n = gid.x;
  let m = gid.y;
  if (m >= p.M || n >= p.N) { return; }
  let z = wg.z + p.z0;
  let offs = batch_offsets(z);
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    acc += load_a(offs.x, m, k) * load_b(offs.y, k, n);
  }
  store_c(z * p.M * p.N, m, n, acc);
}`;
});

/** The fast kernel: 64x64 output tile per 16x16 workgroup, 4x4 per thread, K in steps of 16. */
export const matmulTiledWGSL = memoize(function matmulTiledWGSL(v: MatmulVariant): string {
  // Which tile element the i-th of a thread's 4 loads fills. Consecutive threads take consecutive
  // addresses of the operand as it is stored (k fastest for a row-major A, m fastest for a
  // transposed one), so global loads are coalesced whatever the flags.
  const aIdx = v.transA ? 'let kk = i / 64u; let mm = i % 64u;' : 'let mm = i / 16u; let kk = i % 16u;';
  const bIdx = v.transB ? 'let nn = i / 16u; let kk = i % 16u;' : 'let kk = i / 64u; let nn = i % 64u;';
  const el = v.f16 ? 'f16' : 'f32';
  // With f16 staging, operands are rounded to float16 on the way in and widened for the products.
  const stage = (e: string) => (v.f16 ? `f16(${e})` : e);
  const widen = (e: string) => (v.f16 ? `f32(${e})` : e);
  return /* wgsl */ `// matmul (tiled): C[z] = ${variantName(v)}; 16x16 threads per 64x64 tile of C, 4x4 per thread (see src/shaders/matmul.ts)${v.f16 ? `
// Operands staged as float16 in workgroup memory (opt-in 'medium' precision), products summed in float32.
enable f16;` : ''}
${header(v)}

// Staged slices: AS[k][m] and BS[k][n] for 16 values of k. Rows are padded to 65 words so that the
// strided stores of a non-transposed A (or transposed B) hit distinct banks.
var<workgroup> AS: array<array<${el}, 65>, 16>;
var<workgroup> BS: array<array<${el}, 65>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let z = wg.z + p.z0;
  let offs = batch_offsets(z);
  let m0 = wg.y * 64u;
  let n0 = wg.x * 64u;
  let tx = lid.x;
  let ty = lid.y;
  // acc[i][j] accumulates C[m0 + ty + 16i][n0 + tx + 16j].
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    for (var r = 0u; r < 4u; r++) {
      let i = li + r * 256u;
      {
        ${aIdx}
        AS[kk][mm] = ${stage('load_a(offs.x, m0 + mm, k0 + kk)')};
      }
      {
        ${bIdx}
        BS[kk][nn] = ${stage('load_b(offs.y, k0 + kk, n0 + nn)')};
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let b = ${v.f16 ? 'vec4<f32>(vec4<f16>' : 'vec4<f32>'}(BS[kk][tx], BS[kk][tx + 16u], BS[kk][tx + 32u], BS[kk][tx + 48u])${v.f16 ? ')' : ''};
      acc[0] += ${widen('AS[kk][ty]')} * b;
      acc[1] += ${widen('AS[kk][ty + 16u]')} * b;
      acc[2] += ${widen('AS[kk][ty + 32u]')} * b;
      acc[3] += ${widen('AS[kk][ty + 48u]')} * b;
    }
    workgroupBarrier();
  }
  let cbase = z * p.M * p.N;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty + 16u * i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tx + 16u * j;
      if (n >= p.N) { break; }
      store_c(cbase, m, n, acc[i][j]);
    }
  }
}`;
});

/**
 * Register-blocked vec4 kernel (see the header): thread (gx, gy) computes C[4gy..4gy+3][4gx..4gx+3]
 * of batch z. Needs M, N and K to be multiples of 4 (ops/matmul.ts checks), so every vec4 lies
 * inside one row. Operands by layout, per step of 4 in k:
 *   A [M, K]: 4 rows of A as vec4 over k;  A^T ([K, M]): 4 k-rows as vec4 over m;
 *   B [K, N]: 4 k-rows as vec4 over n;     B^T ([N, K]): 4 rows of B^T as vec4 over k.
 */
export const matmulVec4WGSL = memoize(function matmulVec4WGSL(v: MatmulVariant): string {
  const range = [0, 1, 2, 3];
  const L = 'xyzw';
  // a[r] = the values a(m0 + r, k0..k0+3) (vec4 over k) or, transposed, ak[i] = a(m0..m0+3, k0 + i).
  const loadA = v.transA
    ? range.map((i) => `    let ak${i} = A[offA + (k0 + ${i}u) * M4 + mq];`).join('\n')
    : range.map((r) => `    let a${r} = A[offA + (m0 + ${r}u) * K4 + kq];`).join('\n');
  const loadB = v.transB
    ? range.map((j) => `    let b${j} = B[offB + (n0 + ${j}u) * K4 + kq];`).join('\n')
    : range.map((i) => `    let bk${i} = B[offB + (k0 + ${i}u) * N4 + nq];`).join('\n');
  // acc[r] is the vec4 of C[m0 + r][n0..n0+3].
  let update: string;
  if (!v.transB) {
    // Rank-1 updates over the 4 k: acc[r] += a(m0+r, k) * B[k][n0..n0+3].
    const aAt = (r: number, i: number) => (v.transA ? `ak${i}.${L[r]}` : `a${r}.${L[i]}`);
    update = range.map((r) => `    acc${r} = fma(vec4<f32>(${aAt(r, 0)}), bk0, fma(vec4<f32>(${aAt(r, 1)}), bk1, fma(vec4<f32>(${aAt(r, 2)}), bk2, fma(vec4<f32>(${aAt(r, 3)}), bk3, acc${r}))));`).join('\n');
  } else {
    // B^T rows are vec4 over k: C[m][n] += dot(a row over k, b row over k).
    const aRow = (r: number) => (v.transA ? `vec4<f32>(ak0.${L[r]}, ak1.${L[r]}, ak2.${L[r]}, ak3.${L[r]})` : `a${r}`);
    update = range.map((r) => `    { let ar = ${aRow(r)}; acc${r} += vec4<f32>(dot(ar, b0), dot(ar, b1), dot(ar, b2), dot(ar, b3)); }`).join('\n');
  }
  return /* wgsl */ `// matmul (vec4 register blocks): C[z] = ${variantName(v)}; one 4x4 block of C per thread, operands
// read as vec4 from global memory, no workgroup memory (see src/shaders/matmul.ts). M, N, K multiples of 4.
struct Params { M: u32, N: u32, K: u32, rank: u32, z0: u32, shape: array<u32, 8>, sa: array<u32, 8>, sb: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
${v.bias ? '@group(0) @binding(3) var<storage, read> BIAS: array<vec4<f32>>;\n' : ''}@group(0) @binding(${v.bias ? 4 : 3}) var<storage, read_write> C: array<vec4<f32>>;

// (Offsets are multiples of 4 here: whole matrices whose sizes are multiples of 4.)
${BATCH_OFFSETS}
${v.relu ? RELU : ''}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let M4 = p.M / 4u;
  let N4 = p.N / 4u;
  let K4 = p.K / 4u;
  let nq = gid.x; // column block: C columns 4nq..4nq+3
  let mq = gid.y; // row block: C rows 4mq..4mq+3
  if (nq >= N4 || mq >= M4) { return; }
  let n0 = nq * 4u;
  let m0 = mq * 4u;
  let z = wg.z + p.z0;
  let offs = batch_offsets(z);
  let offA = offs.x / 4u;
  let offB = offs.y / 4u;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var kq = 0u; kq < K4; kq++) {
    let k0 = kq * 4u;
${loadA}
${loadB}
${update}
  }
  let cBase = z * M4 * p.N; // batch z's C, in vec4s
${range.map((r) => `  C[cBase + (m0 + ${r}u) * N4 + nq] = ${epilogue(v, `acc${r}${v.bias ? ' + BIAS[nq]' : ''}`, 'vec4')};`).join('\n')}
}`;
});

/** Threads per workgroup of the split-K kernel, each summing every 64th k of one output. */
export const DOT_THREADS = 64;

/**
 * Split-K kernel (see the header): workgroup o = wg.x + wg.y * num_workgroups.x computes
 * C[z][o / N][o % N]; its 64 threads stride over k and reduce their partial sums in workgroup memory.
 */
export const matmulDotWGSL = memoize(function matmulDotWGSL(v: MatmulVariant): string {
  return /* wgsl */ `// matmul (split-K dot products): C[z] = ${variantName(v)}; one workgroup of ${DOT_THREADS} threads per element of C,
// threads stride over k, then a tree sum in workgroup memory (see src/shaders/matmul.ts)
${header(v)}

var<workgroup> partial: array<f32, ${DOT_THREADS}>;

@compute @workgroup_size(${DOT_THREADS})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  // Depends on the workgroup alone, so a whole workgroup leaves together (the barriers stay uniform).
  let o = wg.x + wg.y * nwg.x;
  if (o >= p.M * p.N) { return; }
  let m = o / p.N;
  let n = o % p.N;
  let z = wg.z + p.z0;
  let offs = batch_offsets(z);
  var acc = 0.0;
  for (var k = li; k < p.K; k += ${DOT_THREADS}u) {
    acc += load_a(offs.x, m, k) * load_b(offs.y, k, n);
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var half = ${DOT_THREADS / 2}u; half > 0u; half >>= 1u) {
    if (li < half) { partial[li] += partial[li + half]; }
    workgroupBarrier();
  }
  if (li == 0u) { store_c(z * p.M * p.N, m, n, partial[0]); }
}`;
});

/** Threads per workgroup of the subgroup kernel (a row of column blocks sharing one block of rows). */
export const SUBGROUP_WG = 64;

/**
 * Subgroup-broadcast kernel for CPU-backed adapters (see `matmulSubgroupWGSL`'s opening comment).
 * `R` rows per workgroup (a multiple of `S`), `Q` vec4 column groups per thread, `S` the subgroup
 * width it relies on (lanes 0..S-1 load the shared rows; needs a subgroup of at least S lanes).
 */
export const matmulSubgroupWGSL = memoize(function matmulSubgroupWGSL(v: MatmulVariant, R: number, Q: number, S: number): string {
  if (R % S !== 0 || R % 4 !== 0) throw new Error(`matmulSubgroupWGSL: R=${R} must be a multiple of S=${S} and of 4`);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const L = 'xyzw';
  const loadsPerLane = R / S; // vec4 loads of A per lane per step of 4 in k (R vec4s in all)
  // A: lane `lane` loads the vec4s numbered lane + S*i; the subgroup then holds the R rows x 4 k.
  //   A [M, K]: vec4 number t = row m0 + t over k0..k0+3.
  //   A^T ([K, M]): vec4 number t = k0 + t / (R/4) over rows m0 + 4(t % (R/4)) .. +3.
  const loadA = range(loadsPerLane).map((i) => (v.transA
    ? `    { let t = lane + ${S * i}u; av${i} = A[offA + (k0 + t / ${R / 4}u) * M4 + min(mq0 + t % ${R / 4}u, M4 - 1u)]; }`
    : `    av${i} = A[offA + min(m0 + lane + ${S * i}u, p.M - 1u) * K4 + kq];`)).join('\n');
  // a(r, k0 + kk) as an expression over the broadcast vec4s (names from `shares`).
  const aAt = (r: number, kk: number) => (v.transA ? `s${kk * (R / 4) + Math.floor(r / 4)}.${L[r % 4]}` : `s${r}.${L[kk]}`);
  const shares = range(R).map((t) => `    let s${t} = subgroupBroadcast(av${Math.floor(t / S)}, ${t % S}u);`).join('\n');
  // B: this thread's own 4Q columns, as bk{kk}_{q} = b(k0 + kk, columns of group q) (vec4 over n).
  const loadB = v.transB
    ? range(Q).map((q) => range(4).map((c) => `    let br${q}_${c} = B[offB + (4u * nq${q} + ${c}u) * K4 + kq];`).join('\n')).join('\n') + '\n'
      + range(4).map((kk) => range(Q).map((q) => `    let bk${kk}_${q} = vec4<f32>(${range(4).map((c) => `br${q}_${c}.${L[kk]}`).join(', ')});`).join('\n')).join('\n')
    : range(4).map((kk) => range(Q).map((q) => `    let bk${kk}_${q} = B[offB + (k0 + ${kk}u) * N4 + nq${q}];`).join('\n')).join('\n');
  const update = range(R).map((r) => range(Q).map((q) => `    acc${r}_${q} = ${range(4).reduce((acc, kk) => `fma(vec4<f32>(${aAt(r, kk)}), bk${kk}_${q}, ${acc})`, `acc${r}_${q}`)};`).join('\n')).join('\n');
  const stores = range(R).map((r) => `  if (m0 + ${r}u < p.M) {
${range(Q).map((q) => `    if (live${q}) { C[cBase + (m0 + ${r}u) * N4 + nq${q}] = ${epilogue(v, `acc${r}_${q}${v.bias ? ` + BIAS[nq${q}]` : ''}`, 'vec4')}; }`).join('\n')}
  }`).join('\n');
  return /* wgsl */ `// matmul (subgroup broadcast; CPU-backed adapters): C[z] = ${variantName(v)}; M, N, K multiples of 4 (see src/shaders/matmul.ts).
// Workgroup (${SUBGROUP_WG} threads) = rows m0 = ${R} * workgroup_id.y .. m0 + ${R - 1} of C; thread gid.x owns columns
// 4 * (${Q} * gid.x + q) .. +3 for q < ${Q}, i.e. a ${R} x ${4 * Q} block of C. Every lane needs the same ${R} rows of A,
// so per step of 4 in k lane l < ${S} loads ${loadsPerLane} vec4 of them and subgroupBroadcast hands each to every lane
// (on lavapipe each lane-varying load is a loop over the SIMD lanes: one load instead of ${S}). B's
// values are the thread's own: ${4 * Q} vec4 loads per step. The k loop has a uniform trip count and no
// early exit (rows and columns past the matrix are clamped on load and not stored), so every broadcast
// runs in uniform control flow. Grid: x = ceil(N/4 / ${Q} / ${SUBGROUP_WG}), y = ceil(M / ${R}), z = batch.
enable subgroups;
struct Params { M: u32, N: u32, K: u32, rank: u32, z0: u32, shape: array<u32, 8>, sa: array<u32, 8>, sb: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
${v.bias ? '@group(0) @binding(3) var<storage, read> BIAS: array<vec4<f32>>;\n' : ''}@group(0) @binding(${v.bias ? 4 : 3}) var<storage, read_write> C: array<vec4<f32>>;

// (Offsets are multiples of 4 here: whole matrices whose sizes are multiples of 4.)
${BATCH_OFFSETS}
${v.relu ? RELU : ''}
@compute @workgroup_size(${SUBGROUP_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) sgi: u32) {
  let lane = min(sgi, ${S - 1}u); // lanes past ${S - 1} repeat lane ${S - 1}'s loads (never broadcast)
  let M4 = p.M / 4u;
  let N4 = p.N / 4u;
  let K4 = p.K / 4u;
  let m0 = wg.y * ${R}u;
  let mq0 = m0 / 4u;
${range(Q).map((q) => `  let live${q} = ${Q}u * gid.x + ${q}u < N4;\n  let nq${q} = min(${Q}u * gid.x + ${q}u, N4 - 1u);`).join('\n')}
  let z = wg.z + p.z0;
  let offs = batch_offsets(z);
  let offA = offs.x / 4u;
  let offB = offs.y / 4u;
${range(R).map((r) => range(Q).map((q) => `  var acc${r}_${q} = vec4<f32>(0.0);`).join('\n')).join('\n')}
${range(loadsPerLane).map((i) => `  var av${i}: vec4<f32>;`).join('\n')}
  for (var kq = 0u; kq < K4; kq++) {
    let k0 = kq * 4u;
${loadA}
${shares}
${loadB}
${update}
  }
  let cBase = z * M4 * p.N; // batch z's C, in vec4s
${stores}
}`;
});
