// Matrix multiplication kernels: C[z] = op(A[z]) @ op(B[z]) (+ bias), for a batch of matrices.
//
// What: for every batch index z, C[z][m][n] = sum_k a(m, k) * b(k, n) (+ BIAS[n] when fused),
//   with C of shape [M, N]. The sum runs over k in order, accumulating in f32.
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
// Two kernels compute the same thing:
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

export interface MatmulVariant {
  /** A is stored [K, M] (read as its transpose). */
  transA: boolean;
  /** B is stored [N, K] (read as its transpose). */
  transB: boolean;
  /** Add BIAS[n] to every row of C (bias is bound before C). */
  bias: boolean;
  /** Tiled kernel only: stage the operands as float16 in workgroup memory, accumulate in float32. */
  f16?: boolean;
}

/** Output tile of one workgroup of the tiled kernel (rows and columns). */
export const TILE = 64;
/** Threads per workgroup side (both kernels). */
export const WG_SIDE = 16;

function header(v: MatmulVariant): string {
  const out = v.bias ? 4 : 3;
  return /* wgsl */ `struct Params { M: u32, N: u32, K: u32, rank: u32, z0: u32, shape: array<u32, 8>, sa: array<u32, 8>, sb: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
${v.bias ? '@group(0) @binding(3) var<storage, read> BIAS: array<f32>;\n' : ''}@group(0) @binding(${out}) var<storage, read_write> C: array<f32>;

// Element offsets of batch z's matrices in A and B.
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
}

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
  C[base + m * p.N + n] = v${v.bias ? ' + BIAS[n]' : ''};
}`;
}

function variantName(v: MatmulVariant): string {
  return `A${v.transA ? '^T' : ''} @ B${v.transB ? '^T' : ''}${v.bias ? ' + bias' : ''}`;
}

/** The oracle: one thread per output element. */
export function matmulNaiveWGSL(v: MatmulVariant): string {
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
}

/** The fast kernel: 64x64 output tile per 16x16 workgroup, 4x4 per thread, K in steps of 16. */
export function matmulTiledWGSL(v: MatmulVariant): string {
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
}
