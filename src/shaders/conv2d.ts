// 2-D convolution kernels (NCHW, groups = 1), forward and backward, as implicit GEMMs.
//
// Layout: every tensor is contiguous row-major float32.
//   x  [N, C, H, W]      input
//   w  [CO, C, KH, KW]   weight
//   b  [CO]              bias
//   y  [N, CO, OH, OW]   output, OH = floor((H + 2*ph - dh*(KH-1) - 1) / sh) + 1 (same for OW)
//
// Each op is a matrix product C[M, NN] = A[M, K] * B[K, NN] whose operands are never materialized:
// the tile loaders gather A and B straight from x, w or the upstream gradient (zero where a tap
// falls in the padding), so no im2col buffer of K times the input's size is ever allocated.
//
// Shared core (`implicitGemmWGSL`): a workgroup of 256 threads owns a 64x64 tile of C. Per step it
// stages a 64x16 slice of A and a 16x64 slice of B in workgroup memory (each thread loads 4 + 4
// values), then every thread accumulates a 4x4 block of C in registers: 16 FMAs per 8 shared-memory
// reads, instead of 1 per 2 for a plain 16x16 tiling. Thread (tm, tn) = (lane % 16, lane / 16) owns
// rows tm + 16i and columns tn + 16j: consecutive lanes hold consecutive rows, and every GEMM below
// puts the output's contiguous axis on the rows, so stores coalesce.
// Tiles are numbered t = wg.x + wg.y * nwg.x (folded past 65535 workgroups like grid1d) with
// t -> (t % mTiles, t / mTiles); wg.z selects a slice of K (split-K) whose partial result goes to
// OUT + wg.z * splitStride, summed afterwards by the caller (used by grad-weight, whose K is large
// and whose output is small).

/** Workgroup tile: BM rows x BN columns of C, BK deep along K per step. */
export const TILE = { BM: 64, BN: 64, BK: 16 } as const;

/** Geometry words shared by every conv kernel, in this order (see `convParams` in ops/conv.ts). */
const GEOMETRY = `N: u32, C: u32, H: u32, W: u32, CO: u32, KH: u32, KW: u32, OH: u32, OW: u32,
  sh: u32, sw: u32, ph: u32, pw: u32, dh: u32, dw: u32`;

const PARAMS = /* wgsl */ `struct Params {
  ${GEOMETRY},
  M: u32, NN: u32, K: u32, mTiles: u32, kChunk: u32, splitStride: u32
}
@group(0) @binding(0) var<storage, read> p: Params;`;

interface GemmParts {
  /** The kernel's opening comment: what it computes and its GEMM view. */
  doc: string;
  /** Bindings 1..n (binding 0 is the Params block above). */
  bindings: string;
  /** Per-thread code run once before the K loop (may use m0, n0, lane, kBegin, kEnd). */
  setup: string;
  /** Code that defines `v`, the A value for the slot with local k `ka = lane / 64 + 4r` and row `ma = lane % 64`
   *  (global k `k = k0 + ka`; loaders must return 0 when k >= kEnd or the row is >= M). */
  loadA: string;
  /** Same for B: local k `kb`, local column `nb`, global k `k`; loaders own the slot's mapping (see `bSlots`). */
  loadB: string;
  /** How B's 1024 slots map to (kb, nb): 'k-fastest' (kb = lane % 16, nb = lane / 16 + 16r) when consecutive
   *  k are contiguous in memory, 'n-fastest' (nb = lane % 64, kb = lane / 64 + 4r) otherwise. */
  bSlots: 'k-fastest' | 'n-fastest';
  /** Stores `v` at row `m`, column `n` of C (only called inside bounds); `split` is wg.z. */
  store: string;
}

function bSlot(mode: GemmParts['bSlots'], r: number): string {
  return mode === 'k-fastest'
    ? `let kb = lane % 16u; let nb = lane / 16u + ${16 * r}u;`
    : `let nb = lane % 64u; let kb = lane / 64u + ${4 * r}u;`;
}

/** The register-tiled implicit GEMM skeleton (see the header comment); the parts supply the gathers. */
function implicitGemmWGSL(parts: GemmParts): string {
  const r4 = [0, 1, 2, 3];
  const loadA = r4.map((r) => `  {
    let ma = lane % 64u; let ka = lane / 64u + ${4 * r}u; let k = k0 + ka;
    var v = 0.0;
${parts.loadA}
    As[ka * 64u + ma] = v;
  }`).join('\n');
  const loadB = r4.map((r) => `  {
    ${bSlot(parts.bSlots, r)} let k = k0 + kb;
    var v = 0.0;
${parts.loadB}
    Bs[kb * 64u + nb] = v;
  }`).join('\n');
  const fmas = r4.map((i) => `      acc${i} = fma(vec4<f32>(As[kk * 64u + tm + ${16 * i}u]), b, acc${i});`).join('\n');
  const stores = r4.map((i) => r4.map((j) => `  {
    let m = m0 + tm + ${16 * i}u; let n = n0 + tn + ${16 * j}u;
    if (m < p.M && n < p.NN) { let v = acc${i}[${j}]; ${parts.store} }
  }`).join('\n')).join('\n');
  return /* wgsl */ `${parts.doc}
${PARAMS}
${parts.bindings}
var<workgroup> As: array<f32, 1024>; // [BK=16][BM=64], A slice, k-major so a row of 64 m is contiguous
var<workgroup> Bs: array<f32, 1024>; // [BK=16][BN=64], B slice

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let t = wg.x + wg.y * nwg.x;
  let nTiles = (p.NN + 63u) / 64u;
  if (t >= p.mTiles * nTiles) { return; } // padding workgroup of a folded grid (uniform: whole group leaves)
  let m0 = (t % p.mTiles) * 64u;
  let n0 = (t / p.mTiles) * 64u;
  let split = wg.z;
  let kBegin = split * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);
  let tm = lane % 16u;
  let tn = lane / 16u;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
${parts.setup}
  for (var k0 = kBegin; k0 < kEnd; k0 += 16u) {
${loadA}
${loadB}
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let b = vec4<f32>(Bs[kk * 64u + tn], Bs[kk * 64u + tn + 16u], Bs[kk * 64u + tn + 32u], Bs[kk * 64u + tn + 48u]);
${fmas}
    }
    workgroupBarrier();
  }
${stores}
}`;
}

// Padding trick used by the gathers: input coordinates are computed in u32 as `o*s + k*d - pad`.
// A tap in the top/left padding wraps around to a huge value, so the single test `ih < H` rejects
// both sides of the padding (u32 arithmetic wraps by definition in WGSL).

/**
 * Forward: y[n,co,oh,ow] = b[co] + sum_{c,kh,kw} x[n, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw] * w[co,c,kh,kw].
 * GEMM view: M = N*OH*OW (output pixels, row m = (n, oh, ow)), NN = CO, K = C*KH*KW (k = (c, kh, kw)).
 * A[m,k] = the input tap gathered on the fly (the im2col matrix, never stored), B[k,co] = w[co*K + k].
 * Rows are output pixels so that the 16 consecutive lanes storing consecutive m write consecutive ow.
 * Bindings: X, Wt, [Bias], Y.
 */
export function conv2dForwardWGSL(hasBias: boolean): string {
  return implicitGemmWGSL({
    doc: `// conv2d forward (implicit GEMM, 64x64 tile, 4x4 per thread${hasBias ? ', bias in the epilogue' : ''}):
//   y[n,co,oh,ow] = ${hasBias ? 'b[co] + ' : ''}sum_{c,kh,kw} x[n,c,oh*sh-ph+kh*dh,ow*sw-pw+kw*dw] * w[co,c,kh,kw]
// NCHW. GEMM M = N*OH*OW (m = (n,oh,ow)), NN = CO, K = C*KH*KW (k = (c,kh,kw)); A = input patches
// gathered on the fly (0 in the padding), B[k,co] = w[co*K + k]. One workgroup per 64x64 tile of y.`,
    bindings: `@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
${hasBias ? '@group(0) @binding(3) var<storage, read> Bias: array<f32>;\n@group(0) @binding(4)' : '@group(0) @binding(3)'} var<storage, read_write> Y: array<f32>;`,
    // This thread's A row is fixed (m = m0 + lane % 64): decode the output pixel once.
    setup: `  let khw = p.KH * p.KW;
  let ohw = p.OH * p.OW;
  let mA = m0 + lane % 64u;
  let rowOk = mA < p.M;
  let pixA = mA % ohw;
  let xBase = (mA / ohw) * p.C * p.H * p.W;
  let ihBase = (pixA / p.OW) * p.sh - p.ph; // may wrap: see the padding note
  let iwBase = (pixA % p.OW) * p.sw - p.pw;`,
    loadA: `    if (rowOk && k < kEnd) {
      let c = k / khw; let rk = k % khw;
      let ih = ihBase + (rk / p.KW) * p.dh;
      let iw = iwBase + (rk % p.KW) * p.dw;
      if (ih < p.H && iw < p.W) { v = X[xBase + (c * p.H + ih) * p.W + iw]; }
    }`,
    bSlots: 'k-fastest',
    loadB: `    let co = n0 + nb;
    if (co < p.NN && k < kEnd) { v = Wt[co * p.K + k]; }`,
    store: `let pix = m % ohw; Y[((m / ohw) * p.CO + n) * ohw + pix] = v${hasBias ? ' + Bias[n]' : ''};`,
  });
}

/**
 * Gradient of the input: dx[n,c,h,w] = sum over (co, kh, kw) with oh = (h + ph - kh*dh) / sh integral
 * and in [0, OH) (same for w) of g[n,co,oh,ow] * w[co,c,kh,kw].
 * GEMM view: M = N*H*W (row m = (n, h, w)), NN = C, K = CO*KH*KW (k = (co, kh, kw)).
 * A[m,k] = g at the output pixel that tap (kh, kw) of input pixel (h, w) feeds, 0 when there is none
 * (stride does not divide, or out of range); B[k,c] = w[co, c, kh, kw]. Rows are input pixels so
 * stores of consecutive lanes are contiguous in dx. Bindings: G, Wt, DX.
 */
export const CONV2D_GRAD_INPUT_WGSL = implicitGemmWGSL({
  doc: `// conv2d grad-input (implicit GEMM, 64x64 tile, 4x4 per thread):
//   dx[n,c,h,w] = sum_{co,kh,kw : oh=(h+ph-kh*dh)/sh, ow=(w+pw-kw*dw)/sw integral, in range} g[n,co,oh,ow] * w[co,c,kh,kw]
// NCHW. GEMM M = N*H*W (m = (n,h,w)), NN = C, K = CO*KH*KW (k = (co,kh,kw)); A = g gathered (0 where
// no output pixel uses the tap), B[k,c] = w[co,c,kh,kw]. One workgroup per 64x64 tile of dx.`,
  bindings: `@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;`,
  setup: `  let khw = p.KH * p.KW;
  let hw = p.H * p.W;
  let mA = m0 + lane % 64u;
  let rowOk = mA < p.M;
  let pixA = mA % hw;
  let gBase = (mA / hw) * p.CO * p.OH * p.OW;
  let hP = pixA / p.W + p.ph; // padded coordinates: oh*sh = hP - kh*dh
  let wP = pixA % p.W + p.pw;`,
  loadA: `    if (rowOk && k < kEnd) {
      let co = k / khw; let rk = k % khw;
      let offH = (rk / p.KW) * p.dh;
      let offW = (rk % p.KW) * p.dw;
      if (hP >= offH && wP >= offW) {
        let th = hP - offH; let tw = wP - offW;
        let oh = th / p.sh; let ow = tw / p.sw;
        if (th % p.sh == 0u && tw % p.sw == 0u && oh < p.OH && ow < p.OW) {
          v = G[gBase + (co * p.OH + oh) * p.OW + ow];
        }
      }
    }`,
  // Consecutive c are KH*KW apart in w and consecutive k mostly adjacent: keep the column fixed per thread.
  bSlots: 'n-fastest',
  loadB: `    let c = n0 + nb;
    if (c < p.NN && k < kEnd) { v = Wt[((k / khw) * p.C + c) * khw + k % khw]; }`,
  store: `let pix = m % hw; DX[((m / hw) * p.C + n) * hw + pix] = v;`,
});

/**
 * Gradient of the weight: dw[co,c,kh,kw] = sum_{n,oh,ow} g[n,co,oh,ow] * x[n, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw].
 * GEMM view (transposed, dw^T): M = C*KH*KW (row m = (c, kh, kw)), NN = CO, K = N*OH*OW (k = (n, oh, ow)).
 * dw^T rather than dw: rows are the contiguous axis of dw, so stores coalesce, and C*KH*KW is usually
 * the larger side, giving more row tiles. A[m,k] = x tap (0 in padding), B[k,co] = g[n,co,oh,ow].
 * K grows with batch and image size while dw stays small, so the caller splits K over wg.z and sums
 * the partial results (DW + split * splitStride). Bindings: X, G, DW.
 */
export const CONV2D_GRAD_WEIGHT_WGSL = implicitGemmWGSL({
  doc: `// conv2d grad-weight (implicit GEMM on dw^T, 64x64 tile, 4x4 per thread, split-K over wg.z):
//   dw[co,c,kh,kw] = sum_{n,oh,ow} g[n,co,oh,ow] * x[n,c,oh*sh-ph+kh*dh,ow*sw-pw+kw*dw]
// NCHW. GEMM M = C*KH*KW (m = (c,kh,kw)), NN = CO, K = N*OH*OW (k = (n,oh,ow)); A = x gathered (0 in
// the padding), B[k,co] = g. Workgroup (tile, split) writes its partial sum to DW[split * splitStride + ...].`,
  bindings: `@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;`,
  setup: `  let khw = p.KH * p.KW;
  let ohw = p.OH * p.OW;
  let mA = m0 + lane % 64u;
  let rowOk = mA < p.M;
  let cA = mA / khw; let rkA = mA % khw;
  let offH = (rkA / p.KW) * p.dh - p.ph; // may wrap: see the padding note
  let offW = (rkA % p.KW) * p.dw - p.pw;`,
  loadA: `    if (rowOk && k < kEnd) {
      let n = k / ohw; let pix = k % ohw;
      let ih = (pix / p.OW) * p.sh + offH;
      let iw = (pix % p.OW) * p.sw + offW;
      if (ih < p.H && iw < p.W) { v = X[((n * p.C + cA) * p.H + ih) * p.W + iw]; }
    }`,
  // Consecutive k are consecutive output pixels of g: let lanes run along k.
  bSlots: 'k-fastest',
  loadB: `    let co = n0 + nb;
    if (co < p.NN && k < kEnd) { v = G[((k / ohw) * p.CO + co) * ohw + k % ohw]; }`,
  store: `DW[split * p.splitStride + n * p.M + m] = v;`,
});

/**
 * Gradient of the bias: db[co] = sum_{n,oh,ow} g[n,co,oh,ow]. One workgroup of 256 threads per
 * channel: strided partial sums over the N*OH*OW pixels, then a tree reduction in workgroup memory.
 * Params: the geometry block (only N, CO, OH, OW are read). Bindings: G, DB.
 */
export const CONV2D_GRAD_BIAS_WGSL = /* wgsl */ `// conv2d grad-bias: db[co] = sum_{n,oh,ow} g[n,co,oh,ow]
// NCHW. Workgroup co (x, folded into y past 65535) reduces channel co: 256 lanes stride over the
// N*OH*OW pixels, then halve in workgroup memory.
${PARAMS}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> DB: array<f32>;
var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let co = wg.x + wg.y * nwg.x;
  if (co >= p.CO) { return; }
  let ohw = p.OH * p.OW;
  let total = p.N * ohw;
  var s = 0.0;
  for (var i = lane; i < total; i += 256u) {
    s += G[((i / ohw) * p.CO + co) * ohw + i % ohw];
  }
  part[lane] = s;
  workgroupBarrier();
  for (var span = 128u; span > 0u; span >>= 1u) {
    if (lane < span) { part[lane] += part[lane + span]; }
    workgroupBarrier();
  }
  if (lane == 0u) { DB[co] = part[0]; }
}`;

/**
 * The oracle: naive direct convolution, one thread per output element looping over (c, kh, kw).
 * Slow (every input value is re-read KH*KW*CO times from global memory) but obviously right; tests
 * check the implicit-GEMM forward against it. Bindings: X, Wt, [Bias], Y. 1-D grid of 256-thread
 * workgroups folded into y (see LINEAR_INDEX).
 */
export function conv2dDirectWGSL(hasBias: boolean): string {
  return /* wgsl */ `// conv2d direct (naive oracle): y[n,co,oh,ow] = ${hasBias ? 'b[co] + ' : ''}sum_{c,kh,kw} x[n,c,oh*sh-ph+kh*dh,ow*sw-pw+kw*dw] * w[co,c,kh,kw]
// NCHW. One thread per output element (linear index over [N, CO, OH, OW]), 256 per workgroup.
${PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
${hasBias ? '@group(0) @binding(3) var<storage, read> Bias: array<f32>;\n@group(0) @binding(4)' : '@group(0) @binding(3)'} var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.N * p.CO * p.OH * p.OW) { return; }
  let ow = i % p.OW;
  let oh = (i / p.OW) % p.OH;
  let co = (i / (p.OW * p.OH)) % p.CO;
  let n = i / (p.OW * p.OH * p.CO);
  var s = ${hasBias ? 'Bias[co]' : '0.0'};
  for (var c = 0u; c < p.C; c++) {
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = i32(oh * p.sh + kh * p.dh) - i32(p.ph);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      for (var kw = 0u; kw < p.KW; kw++) {
        let iw = i32(ow * p.sw + kw * p.dw) - i32(p.pw);
        if (iw < 0 || iw >= i32(p.W)) { continue; }
        s += X[((n * p.C + c) * p.H + u32(ih)) * p.W + u32(iw)] * Wt[((co * p.C + c) * p.KH + kh) * p.KW + kw];
      }
    }
  }
  Y[i] = s;
}`;
}
