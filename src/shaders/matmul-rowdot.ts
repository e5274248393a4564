// Matrix products with few rows or few columns on CPU-backed adapters (lavapipe, SwiftShader): a
// classifier head's x @ W^T (64 x 10 x 4096) and its weight gradient dY^T @ x (10 x 4096 x 64).
//
// What: C[z] = op(A[z]) @ op(B[z]) (+ BIAS[n]) (then ReLU when fused), exactly as the kernels of
//   matmul.ts compute it (same Params, bindings, batch broadcasting and epilogue; see its header).
//   nvec4 sums over k in order; rowdot adds one 4-term dot product per step of 4 in k, so its sums
//   agree with the other kernels' to rounding.
// Why: when M or N is not a multiple of 4 the vec4 and subgroup kernels do not apply, and the naive
//   kernel (one thread per output) pays two scalar loads per multiply-add. On lavapipe every load at a
//   lane-varying address is a loop over the 8 SIMD lanes, so loads are the cost. These kernels need
//   only the contiguous dimension to be a multiple of 4 and read it as vec4:
//  - `matmulRowDotWGSL`: A [M, K] and B^T ([N, K]), K % 4 == 0: both operands are contiguous along k.
//    A thread computes COLS consecutive outputs C[m][n0 .. n0 + COLS - 1] of one row: per step of 4
//    in k it loads one vec4 of A's row m and one vec4 of each of the COLS rows of B^T, and adds COLS
//    dot products, i.e. 1 + COLS loads per 4 * COLS multiply-adds (COLS = 4: 5 per 16, against 32 for
//    the naive kernel). Columns past N (the last block of a row when N % COLS != 0) are clamped to
//    N - 1 on load and never stored. Any M and N.
//  - `matmulNVec4WGSL`: B [K, N] with N % 4 == 0, A either way (a dW = dY^T @ x whose M = 10 rows
//    are not a multiple of 4, or dX = dY @ W whose K = 10 is not). A thread computes ROWS rows of one
//    vec4 of columns, C[m0 .. m0 + ROWS - 1][n0 .. n0 + 3]: per k it loads B[k][n0 .. n0 + 3] once as
//    a vec4 and a(m, k) for its ROWS rows as scalars, and does ROWS rank-1 vec4 updates: 1 + ROWS loads
//    per 4 * ROWS multiply-adds. Rows past M are clamped on load and never stored. Any M and K.
// Mapping (both): a flat index over the threads of batch z, o = global x + global y * (threads along
//   x) (grid1d folds past 65535 workgroups into y), 64 threads per workgroup, the column block
//   fastest so that neighbouring lanes share the same row of A (rowdot) or read neighbouring vec4s of B
//   (nvec4). Grid: x, y = grid1d(threads per batch, 64), z = batch.

import { RELU, memoize } from './common.js';
import { matmulParts, type MatmulVariant } from './matmul.js';


/** Threads per workgroup of both kernels (a flat 1-D workgroup). */
export const ROWDOT_WG = 64;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const L = 'xyzw';

/** Bindings and helpers of both kernels: `aType`/`bType`/`cType` are f32 or vec4<f32> per operand. */
function bindings(v: MatmulVariant, aType: string, bType: string, cType: string): string {
  return /* wgsl */ `struct Params { M: u32, N: u32, K: u32, rank: u32, z0: u32, shape: array<u32, 8>, sa: array<u32, 8>, sb: array<u32, 8> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> A: array<${aType}>;
@group(0) @binding(2) var<storage, read> B: array<${bType}>;
${v.bias ? `@group(0) @binding(3) var<storage, read> BIAS: array<${cType}>;\n` : ''}@group(0) @binding(${v.bias ? 4 : 3}) var<storage, read_write> C: array<${cType}>;

${matmulParts.batchOffsets}
${v.relu ? RELU : ''}`;
}

/**
 * Row dot products (see the header): A [M, K] and B^T [N, K] with K % 4 == 0 read as vec4 over k;
 * thread o of batch z computes C[o / NB][COLS * (o % NB) ..] for NB = ceil(N / COLS) column blocks.
 */
export const matmulRowDotWGSL = memoize(function matmulRowDotWGSL(v: MatmulVariant, COLS: number): string {
  if (v.transA || !v.transB || v.f16) throw new Error('matmulRowDotWGSL: needs A [M, K] and B^T [N, K] (transA false, transB true), float32');
  const cols = range(COLS);
  const accType = COLS === 1 ? 'f32' : `vec${COLS}<f32>`;
  const accAt = (j: number) => (COLS === 1 ? 'acc' : `acc.${L[j]}`);
  return /* wgsl */ `// matmul (row dot products; CPU-backed adapters): C[z] = ${matmulParts.variantName(v)}; K a multiple of 4 (see src/shaders/matmul-rowdot.ts).
// A [M, K] and B^T [N, K] are both contiguous along k and read as vec4 over k (4 values of k per load); C, BIAS scalar.
// Thread o (flat: global x + global y * threads along x) of batch z computes the ${COLS} outputs C[m][n0 .. n0 + ${COLS - 1}],
// m = o / NB, n0 = ${COLS} * (o % NB), NB = ceil(N / ${COLS}) column blocks (fastest, so neighbouring lanes share row m of A).
// Per step of 4 in k: 1 vec4 load of A's row m and ${COLS} of B^T's rows n0.. (rows past N clamped to N - 1, not stored),
// ${COLS} dot products. ${ROWDOT_WG} threads per workgroup; grid x, y = grid1d(M * NB, ${ROWDOT_WG}), z = batch.
${bindings(v, 'vec4<f32>', 'vec4<f32>', 'f32')}
@compute @workgroup_size(${ROWDOT_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let NB = (p.N + ${COLS - 1}u) / ${COLS}u;
  let o = gid.x + gid.y * nwg.x * ${ROWDOT_WG}u;
  if (o >= p.M * NB) { return; }
  let m = o / NB;
  let n0 = (o % NB) * ${COLS}u;
  let K4 = p.K / 4u;
  let z = wg.z + p.z0;
  let offs = batch_offsets(z); // multiples of 4: whole [M, K] and [N, K] matrices, K % 4 == 0
  let rowA = offs.x / 4u + m * K4;
${cols.map((j) => `  let rowB${j} = offs.y / 4u + min(n0 + ${j}u, p.N - 1u) * K4;`).join('\n')}
  var acc = ${accType}(0.0);
  for (var kq = 0u; kq < K4; kq++) {
    let a = A[rowA + kq];
    acc += ${accType}(${cols.map((j) => `dot(a, B[rowB${j} + kq])`).join(', ')});
  }
  let cRow = z * p.M * p.N + m * p.N;
${cols.map((j) => `  if (n0 + ${j}u < p.N) { C[cRow + n0 + ${j}u] = ${matmulParts.epilogue(v, `${accAt(j)}${v.bias ? ` + BIAS[n0 + ${j}u]` : ''}`, 'f32')}; }`).join('\n')}
}`;
});

/**
 * vec4-over-n rank-1 updates (see the header): B [K, N] with N % 4 == 0 read as vec4 over n, A
 * scalar (either layout); thread o of batch z computes rows ROWS * (o / N4) .. of column vec4 o % N4.
 */
export const matmulNVec4WGSL = memoize(function matmulNVec4WGSL(v: MatmulVariant, ROWS: number): string {
  if (v.transB || v.f16) throw new Error('matmulNVec4WGSL: needs B [K, N] (transB false), float32');
  const rows = range(ROWS);
  const aIndex = (r: number) => (v.transA ? `offs.x + k * p.M + mc${r}` : `rowA${r} + k`);
  return /* wgsl */ `// matmul (vec4 over n; CPU-backed adapters): C[z] = ${matmulParts.variantName(v)}; N a multiple of 4 (see src/shaders/matmul-rowdot.ts).
// B [K, N] is read as vec4 over n (4 columns per load), A${v.transA ? '^T [K, M]' : ' [M, K]'} as scalars; C and BIAS as vec4 over n.
// Thread o (flat: global x + global y * threads along x) of batch z computes the vec4s C[m0 + r][4nq .. 4nq + 3], r < ${ROWS},
// nq = o % N4 (fastest, so neighbouring lanes read neighbouring vec4s of B), m0 = ${ROWS} * (o / N4), N4 = N / 4.
// Per k: 1 vec4 load of B[k][4nq ..] and ${ROWS} scalar loads a(m0 + r, k) (rows past M clamped to M - 1, not stored),
// ${ROWS} rank-1 vec4 updates. ${ROWDOT_WG} threads per workgroup; grid x, y = grid1d(ceil(M / ${ROWS}) * N4, ${ROWDOT_WG}), z = batch.
${bindings(v, 'f32', 'vec4<f32>', 'vec4<f32>')}
@compute @workgroup_size(${ROWDOT_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let N4 = p.N / 4u;
  let o = gid.x + gid.y * nwg.x * ${ROWDOT_WG}u;
  if (o >= ((p.M + ${ROWS - 1}u) / ${ROWS}u) * N4) { return; }
  let nq = o % N4;
  let m0 = (o / N4) * ${ROWS}u;
  let z = wg.z + p.z0;
  let offs = batch_offsets(z);
  let offB = offs.y / 4u; // a multiple of 4: whole [K, N] matrices, N % 4 == 0
${rows.map((r) => `  let mc${r} = min(m0 + ${r}u, p.M - 1u);${v.transA ? '' : `\n  let rowA${r} = offs.x + mc${r} * p.K;`}`).join('\n')}
${rows.map((r) => `  var acc${r} = vec4<f32>(0.0);`).join('\n')}
  for (var k = 0u; k < p.K; k++) {
    let b = B[offB + k * N4 + nq];
${rows.map((r) => `    acc${r} = fma(vec4<f32>(A[${aIndex(r)}]), b, acc${r});`).join('\n')}
  }
  let cBase = z * p.M * N4; // batch z's C, in vec4s
${rows.map((r) => `  if (m0 + ${r}u < p.M) { C[cBase + (m0 + ${r}u) * N4 + nq] = ${matmulParts.epilogue(v, `acc${r}${v.bias ? ' + BIAS[nq]' : ''}`, 'vec4')}; }`).join('\n')}
}`;
});
