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
// Shared core (`implicitGemmWGSL`), generated per tile shape (see `TILES`): a workgroup of T threads
// owns a BM x BN tile of C. Per step it stages a BK-deep slice of A (BK x BM) and of B (BK x BN) in
// workgroup memory, then every thread accumulates a TM x TN block of C in registers, reading its rows
// and columns as vec4s: TM*TN FMAs per (TM + TN) / 4 vector reads of workgroup memory. The tile
// follows the GEMM: NN is a channel count, often 1-32 in small CNNs, so besides a 128x64 tile there
// are tall narrow ones (256x32, 256x16) and a small one for tiny M, and no thread computes columns
// that do not exist.
//  - Thread (tm, tn) = (lane % RT, lane / RT), RT = BM / TM row-threads, CT = BN / TN column-threads,
//    owns rows g*4*RT + 4*tm + i (g < TM/4, i < 4) and columns g*4*CT + 4*tn + j: each group of 4 is
//    one vec4 of workgroup memory.
//  - Loaders move vec4 slots: an A slot is 4 consecutive rows at one k, a B slot 4 consecutive columns
//    at one k. A thread's A rows never change, so their decoding (divisions by the output size) runs
//    once before the K loop; each slot's k is kept as mixed-radix digits (e.g. (c, kh, kw)) advanced
//    by BK per step with carries, so the K loop divides nothing. Gathers return 0 outside the input.
//  - The BK steps between the two barriers are unrolled (constant offsets into workgroup memory).
// Tiles are numbered t = wg.x + wg.y * nwg.x (folded past 65535 workgroups like grid1d) with
// t -> (t % mTiles, t / mTiles); wg.z selects a slice of K (split-K) whose partial result goes to
// OUT + wg.z * splitStride, summed afterwards by the caller (used by grad-weight, whose K is large
// and whose output is small).

import { RELU, memoize } from './common.js';

/** A workgroup tile: BM rows x BN columns of C, BK deep along K per step, TM x TN per thread. */
export interface Tile {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
}

/**
 * The tile shapes the conv kernels are generated for (ops/conv.ts picks one per GEMM from M and NN).
 * Workgroup memory is (BM + BN) * BK * 4 bytes: 6, 9, 8.5 and 1.5 KiB, all under WebGPU's guaranteed
 * 16 KiB. The taller tiles give each thread 8 rows: more FMAs per read of workgroup memory.
 */
export const TILES = {
  /** NN > 32: 256 threads, 8x4 each. */
  wide: { BM: 128, BN: 64, BK: 8, TM: 8, TN: 4 },
  /** 16 < NN <= 32: 256 threads, 8x4 each. */
  mid: { BM: 256, BN: 32, BK: 8, TM: 8, TN: 4 },
  /** NN <= 16: 256 threads, 4x4 each. */
  narrow: { BM: 256, BN: 16, BK: 8, TM: 4, TN: 4 },
  /** Tiny M (grad-weight of a first layer: M = Cin*KH*KW = 25): 32 threads, 4x4 each. */
  small: { BM: 32, BN: 16, BK: 8, TM: 4, TN: 4 },
} as const satisfies Record<string, Tile>;

/** Bytes of workgroup memory a tile needs. */
function tileBytes(t: Tile): number {
  return (t.BM + t.BN) * t.BK * 4;
}

/**
 * The tile for a GEMM C[M, NN]. NN is a channel count, often 1-32 in small CNNs, where a 64-wide tile
 * would leave most threads computing columns that do not exist. Estimated cost = the padded area
 * (M and NN rounded up to whole tiles) divided by the tile's relative speed per multiply-add: 8 rows
 * per thread do ~1.3x the work per read of workgroup memory of 4 (measured on lavapipe), and the
 * 32-thread tile is a little slower than the 256-thread ones. The first cheapest in TILES order wins;
 * tiles over `maxBytes` of workgroup memory are skipped (none is at WebGPU's guaranteed 16 KiB).
 */
function chooseTile(M: number, NN: number, maxBytes: number): Tile {
  let best: Tile | null = null;
  let bestCost = Infinity;
  for (const t of Object.values(TILES) as Tile[]) {
    if (tileBytes(t) > maxBytes) continue;
    const speed = (t.TM * t.TN >= 32 ? 1.3 : 1) * ((t.BM / t.TM) * (t.BN / t.TN) < 256 ? 0.9 : 1);
    const cost = (Math.ceil(M / t.BM) * t.BM * Math.ceil(NN / t.BN) * t.BN) / speed;
    if (cost < bestCost) [best, bestCost] = [t, cost];
  }
  if (!best) throw new Error(`conv2d: no GEMM tile fits in ${maxBytes} bytes of workgroup memory`);
  return best;
}

/**
 * How conv GEMMs pick their tile. (An object, not exported functions: every function this module
 * exports is a WGSL generator, which the shader reader in web/ lists.)
 */
export const tiling = {
  bytes: tileBytes,
  choose: chooseTile,
  /** Tests and benchmarks only: force this tile on every conv GEMM (null: `choose` decides). */
  force: null as Tile | null,
};

/** Geometry words shared by every conv kernel, in this order (see `params` in ops/conv.ts). */
const GEOMETRY = `N: u32, C: u32, H: u32, W: u32, CO: u32, KH: u32, KW: u32, OH: u32, OW: u32,
  sh: u32, sw: u32, ph: u32, pw: u32, dh: u32, dw: u32`;

const PARAMS = /* wgsl */ `struct Params {
  ${GEOMETRY},
  M: u32, NN: u32, K: u32, mTiles: u32, kChunk: u32, splitStride: u32, bias: u32
}
@group(0) @binding(0) var<storage, read> p: Params;`;

// The direct kernels' grouped variants (groups > 1, see conv-grouped.ts for the semantics) read the
// group count G from the word the GEMMs use for M (the direct kernels have no M).
const GROUPED_PARAMS = PARAMS.replace('M: u32,', 'G: u32 /* groups (the GEMMs\' M word) */,');

// The geometry as plain names for the gathers below (WGSL cannot index a struct by name, and short
// names keep the index arithmetic readable).
const GEOMETRY_LETS = `  let N = p.N; let C = p.C; let H = p.H; let W = p.W; let CO = p.CO; let KH = p.KH; let KW = p.KW;
  let OH = p.OH; let OW = p.OW; let sh = p.sh; let sw = p.sw; let ph = p.ph; let pw = p.pw; let dh = p.dh; let dw = p.dw;
  let khw = KH * KW; let ohw = OH * OW; let hw = H * W;`;

const LANES = 'xyzw';

interface GemmParts {
  /** The kernel's opening comment: what it computes and its GEMM view. */
  doc: string;
  /** Bindings 1..n (binding 0 is the Params block above). */
  bindings: string;
  /** Decodes this thread's A row `mA${i}` (i < 4, fixed for the whole kernel) into names suffixed by i;
   *  `okA${i}` (row in range) is defined by the skeleton. */
  rowA: (i: number) => string;
  /** The mixed-radix digits of A's column index k, least significant first, as [name, radix]; the last
   *  digit's radix is ''. The skeleton keeps them per A slot, decoded once and then advanced by BK per
   *  step with carries (no division in the K loop), and defines them by name in `decodeA`. */
  digitsA: [string, string][];
  /** Per A slot, turns the digits of its `k` (k < kEnd) into names shared by the slot's 4 gathers. */
  decodeA: string;
  /** Sets `v.${lane}` to A[mA${i}, k] when it is nonzero (v starts at 0; only called when okA${i}). */
  loadA: (i: number, lane: string) => string;
  /** Same for B's k ([] when B only needs k itself). */
  digitsB: [string, string][];
  /** Per B slot, turns its `k` (k < kEnd) and digits into what `loadB` needs. */
  decodeB: string;
  /** Sets `v.${lane}` to B[k, n] (n < NN guaranteed). */
  loadB: (lane: string) => string;
  /** Per output row `m` (< M) of the thread, defines what `store` needs. */
  storeRow: string;
  /** Stores `v` at row `m`, column `n` of C (both in range); `split` is wg.z. */
  store: string;
}

/**
 * Mixed-radix counters: `init` decodes k (once, with divisions) into per-slot variables `${name}${sfx}`,
 * `step` adds BK, whose digits `${tag}_${name}` are decoded once per thread, with carries.
 */
function counters(digits: [string, string][], tag: string, BK: number) {
  const radixProd = (i: number) => digits.slice(0, i).map(([, r]) => r).join(' * ') || '1u';
  const decode = (k: string, i: number) => {
    const [, r] = digits[i]!;
    const q = i === 0 ? `(${k})` : `((${k}) / (${radixProd(i)}))`;
    return r ? `${q} % ${r}` : q;
  };
  return {
    steps: digits.map(([name], i) => `  let ${tag}_${name} = ${decode(`${BK}u`, i)};`).join('\n'),
    init: (k: string, sfx: string) => digits.map(([name], i) => `  var ${name}${sfx} = ${decode(k, i)};`).join('\n'),
    alias: (sfx: string) => digits.map(([name]) => `let ${name} = ${name}${sfx};`).join(' '),
    step: (sfx: string) => digits.map(([name, r], i) => {
      const v = `${name}${sfx}`;
      const add = `${v} += ${tag}_${name}${i > 0 ? ' + carry' : ''};`;
      return r ? `${add} ${i === 0 ? 'var ' : ''}carry = select(0u, 1u, ${v} >= ${r}); ${v} -= carry * ${r};` : add;
    }).map((l) => `      ${l}`).join('\n'),
  };
}

/**
 * The register-tiled implicit GEMM skeleton (see the header comment); the parts supply the gathers.
 * `f16`: stage the A and B tiles as float16 in workgroup memory (half the bytes and bandwidth; the
 * opt-in 'medium' precision of src/engine/precision.ts), converting back to float32 for the FMAs so
 * the sums accumulate in float32.
 */
function implicitGemmWGSL(parts: GemmParts, tile: Tile, f16 = false): string {
  const { BM, BN, BK, TM, TN } = tile;
  const RT = BM / TM;
  const CT = BN / TN;
  const T = RT * CT; // threads
  const BM4 = BM / 4;
  const BN4 = BN / 4;
  if (!Number.isInteger(RT) || !Number.isInteger(CT) || TM % 4 || TN % 4 || BK % 4 || (BK * BM4) % T || T % BM4) {
    throw new Error(`conv2d: unsupported tile ${JSON.stringify(tile)}`);
  }
  const aSlots = (BK * BM4) / T; // vec4 A slots per thread, local k = aK + s * T / BM4
  const bTotal = BK * BN4; // vec4 B slots per step, slot q = lane + T * s
  const bSlots = Math.ceil(bTotal / T);
  const bGuard = bTotal % T !== 0;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);

  const rowSetup = range(4).map((i) => `  let mA${i} = aRow + ${i}u; let okA${i} = mA${i} < p.M;\n${parts.rowA(i)}`).join('\n');
  const ca = counters(parts.digitsA, 'stepA', BK);
  const cb = counters(parts.digitsB, 'stepB', BK);
  const aKs = range(aSlots).map((s) => `aK + ${(s * T) / BM4}u`);
  const counterSetup = [
    ca.steps,
    ...aKs.map((ka, s) => ca.init(`kBegin + ${ka}`, `A${s}`)),
    cb.steps,
    ...range(bSlots).map((s) => cb.init(`kBegin + (lane + ${T * s}u) % ${BK}u`, `B${s}`)),
  ].filter((l) => l).join('\n');
  const loadA = aKs.map((ka, s) => `    {
      let ka = ${ka}; let k = k0 + ka;
      var v = vec4<f32>(0.0);
      if (k < kEnd) {
        ${ca.alias(`A${s}`)}
${parts.decodeA}
${range(4).map((i) => `        if (okA${i}) { ${parts.loadA(i, LANES[i]!)} }`).join('\n')}
      }
      As[ka * ${BM4}u + aCol] = ${f16 ? 'vec4<f16>(v)' : 'v'};
${ca.step(`A${s}`)}
    }`).join('\n');
  const loadB = range(bSlots).map((s) => `    {
      let q = lane + ${T * s}u; let kb = q % ${BK}u; let nB = n0 + (q / ${BK}u) * 4u; let k = k0 + kb;
      var v = vec4<f32>(0.0);
      if (k < kEnd${bGuard ? ` && q < ${bTotal}u` : ''}) {
        ${cb.alias(`B${s}`)}
${parts.decodeB}
${range(4).map((j) => `        if (nB + ${j}u < p.NN) { let n = nB + ${j}u; ${parts.loadB(LANES[j]!)} }`).join('\n')}
      }
      ${bGuard ? `if (q < ${bTotal}u) { ` : ''}Bs[kb * ${BN4}u + q / ${BK}u] = ${f16 ? 'vec4<f16>(v)' : 'v'};${bGuard ? ' }' : ''}
${cb.step(`B${s}`)}
    }`).join('\n');

  const widen = (e: string) => (f16 ? `vec4<f32>(${e})` : e);
  const accs = range(TM).flatMap((r) => range(TN / 4).map((g) => `  var acc${r}_${g} = vec4<f32>(0.0);`)).join('\n');
  // The BK steps are unrolled (constant workgroup-memory offsets; on CPU-backed adapters this is worth
  // ~30%). Slots past kEnd hold zeros, so a partial last slice needs no bound here.
  const steps = range(BK).map((kk) => [
    ...range(TM / 4).map((g) => `    let a${g}_${kk} = ${widen(`As[${kk * BM4 + g * RT}u + tm]`)};`),
    ...range(TN / 4).map((g) => `    let b${g}_${kk} = ${widen(`Bs[${kk * BN4 + g * CT}u + tn]`)};`),
    ...range(TM).flatMap((r) => range(TN / 4).map((g) =>
      `    acc${r}_${g} = fma(vec4<f32>(a${r >> 2}_${kk}.${LANES[r & 3]}), b${g}_${kk}, acc${r}_${g});`)),
  ].join('\n')).join('\n');
  const stores = range(TM).map((r) => `  {
    let m = m0 + ${(r >> 2) * 4 * RT + (r & 3)}u + 4u * tm;
    if (m < p.M) {
${parts.storeRow}
${range(TN).map((c) => `      { let n = n0 + ${(c >> 2) * 4 * CT + (c & 3)}u + 4u * tn; if (n < p.NN) { let v = acc${r}_${c >> 2}.${LANES[c & 3]}; ${parts.store} } }`).join('\n')}
    }
  }`).join('\n');

  const el = f16 ? 'f16' : 'f32';
  return /* wgsl */ `${parts.doc}
// Tile ${BM}x${BN}, BK = ${BK}, ${TM}x${TN} per thread, ${T} threads (${RT} row-threads x ${CT} column-threads).${f16 ? `
// Operands staged as float16 (rounded on the way into workgroup memory), products summed in float32.
enable f16;` : ''}
${PARAMS}
${parts.bindings}
var<workgroup> As: array<vec4<${el}>, ${BK * BM4}>; // [BK][BM/4]: rows 4q..4q+3 of A at local k
var<workgroup> Bs: array<vec4<${el}>, ${BK * BN4}>; // [BK][BN/4]: columns 4q..4q+3 of B at local k

@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let t = wg.x + wg.y * nwg.x;
  let nTiles = (p.NN + ${BN - 1}u) / ${BN}u;
  if (t >= p.mTiles * nTiles) { return; } // padding workgroup of a folded grid (uniform: whole group leaves)
  let m0 = (t % p.mTiles) * ${BM}u;
  let n0 = (t / p.mTiles) * ${BN}u;
  let split = wg.z;
  let kBegin = split * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);
${GEOMETRY_LETS}
  // This thread's A slots: rows aRow..aRow+3 (decoded once), local k = aK + ${T / BM4}s.
  let aCol = lane % ${BM4}u;
  let aRow = m0 + 4u * aCol;
  let aK = lane / ${BM4}u;
${rowSetup}
${counterSetup}
  let tm = lane % ${RT}u;
  let tn = lane / ${RT}u;
${accs}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${BK}u) {
${loadA}
${loadB}
    workgroupBarrier();
${steps}
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
 * Rows are output pixels so that the lanes storing consecutive m write consecutive ow.
 * Bindings: X, Wt, Bias, Y. The epilogue is chosen by flags in p.bias (one kernel serves every case):
 * bit 0 adds the bias, bit 1 applies ReLU (conv + bias + ReLU in one pass over y).
 */
export const conv2dForwardWGSL = memoize(function conv2dForwardWGSL(tile: Tile, f16: boolean = false): string {
  return implicitGemmWGSL({
    doc: `// conv2d forward (implicit GEMM; epilogue flags in p.bias: bit 0 adds the bias, bit 1 applies ReLU):
//   y[n,co,oh,ow] = [relu]([b[co] +] sum_{c,kh,kw} x[n,c,oh*sh-ph+kh*dh,ow*sw-pw+kw*dw] * w[co,c,kh,kw])
// NCHW. GEMM M = N*OH*OW (m = (n,oh,ow)), NN = CO, K = C*KH*KW (k = (c,kh,kw)); A = input patches
// gathered on the fly (0 in the padding), B[k,co] = w[co*K + k]. One workgroup per tile of y.`,
    bindings: `@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>; // any buffer when bit 0 of p.bias is clear (not read)
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
${RELU}`,
    rowA: (i) => `  let pix${i} = mA${i} % ohw;
  let xBase${i} = (mA${i} / ohw) * C * hw;
  let ihB${i} = (pix${i} / OW) * sh - ph; // may wrap: see the padding note
  let iwB${i} = (pix${i} % OW) * sw - pw;`,
    digitsA: [['kw', 'KW'], ['kh', 'KH'], ['c', '']],
    decodeA: `        let offH = kh * dh; let offW = kw * dw; let cOff = c * hw;`,
    loadA: (i, l) => `let ih = ihB${i} + offH; let iw = iwB${i} + offW; if (ih < H && iw < W) { v.${l} = X[xBase${i} + cOff + ih * W + iw]; }`,
    digitsB: [],
    decodeB: '',
    loadB: (l) => `v.${l} = Wt[n * p.K + k];`,
    storeRow: `      let yBase = (m / ohw) * CO * ohw + m % ohw;`,
    store: `var o = v; if ((p.bias & 1u) != 0u) { o += Bias[n]; } if ((p.bias & 2u) != 0u) { o = relu_f32(o); } Y[yBase + n * ohw] = o;`,
  }, tile, f16);
});

/**
 * Gradient of the input: dx[n,c,h,w] = sum over (co, kh, kw) with oh = (h + ph - kh*dh) / sh integral
 * and in [0, OH) (same for w) of g[n,co,oh,ow] * w[co,c,kh,kw].
 * GEMM view: M = N*H*W (row m = (n, h, w)), NN = C, K = CO*KH*KW (k = (co, kh, kw)).
 * A[m,k] = g at the output pixel that tap (kh, kw) of input pixel (h, w) feeds, 0 when there is none
 * (stride does not divide, or out of range); B[k,c] = w[co, c, kh, kw]. Rows are input pixels so
 * stores of consecutive lanes are contiguous in dx. Bindings: G, Wt, DX.
 * `stride1` generates the variant for sh = sw = 1 (the common case), where every tap in range has
 * an output pixel, so the gather needs neither the divisions by the stride nor the divisibility test.
 */
export const conv2dGradInputWGSL = memoize(function conv2dGradInputWGSL(tile: Tile, stride1: boolean, f16: boolean = false): string {
  return implicitGemmWGSL({
    doc: `// conv2d grad-input (implicit GEMM${stride1 ? ', stride 1' : ''}):
//   dx[n,c,h,w] = sum_{co,kh,kw : oh=(h+ph-kh*dh)/sh, ow=(w+pw-kw*dw)/sw integral, in range} g[n,co,oh,ow] * w[co,c,kh,kw]
// NCHW. GEMM M = N*H*W (m = (n,h,w)), NN = C, K = CO*KH*KW (k = (co,kh,kw)); A = g gathered (0 where
// no output pixel uses the tap), B[k,c] = w[co,c,kh,kw]. One workgroup per tile of dx.`,
    bindings: `@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;`,
    rowA: (i) => `  let pix${i} = mA${i} % hw;
  let gBase${i} = (mA${i} / hw) * CO * ohw;
  let hP${i} = pix${i} / W + ph; // padded coordinates: oh*sh = hP - kh*dh
  let wP${i} = pix${i} % W + pw;`,
    digitsA: [['kw', 'KW'], ['kh', 'KH'], ['co', '']],
    decodeA: `        let offH = kh * dh; let offW = kw * dw; let gOff = co * ohw;`,
    // A tap above/left of the image wraps to a huge u32 and fails the range test (see the padding note).
    loadA: stride1
      ? (i, l) => `let oh = hP${i} - offH; let ow = wP${i} - offW; if (oh < OH && ow < OW) { v.${l} = G[gBase${i} + gOff + oh * OW + ow]; }`
      : (i, l) => `let th = hP${i} - offH; let tw = wP${i} - offW; let oh = th / sh; let ow = tw / sw;
          if (th % sh == 0u && tw % sw == 0u && oh < OH && ow < OW) { v.${l} = G[gBase${i} + gOff + oh * OW + ow]; }`,
    digitsB: [['rk', 'khw'], ['co', '']],
    decodeB: `        let wOff = co * C * khw + rk;`,
    loadB: (l) => `v.${l} = Wt[wOff + n * khw];`,
    storeRow: `      let dxBase = (m / hw) * C * hw + m % hw;`,
    store: `DX[dxBase + n * hw] = v;`,
  }, tile, f16);
});

/**
 * Gradient of the weight: dw[co,c,kh,kw] = sum_{n,oh,ow} g[n,co,oh,ow] * x[n, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw].
 * GEMM view (transposed, dw^T): M = C*KH*KW (row m = (c, kh, kw)), NN = CO, K = N*OH*OW (k = (n, oh, ow)).
 * dw^T rather than dw: rows are the contiguous axis of dw, so stores coalesce, and C*KH*KW is usually
 * the larger side, giving more row tiles. A[m,k] = x tap (0 in padding), B[k,co] = g[n,co,oh,ow].
 * K grows with batch and image size while dw stays small, so the caller splits K over wg.z and sums
 * the partial results (DW + split * splitStride). Bindings: X, G, DW.
 */
export const conv2dGradWeightWGSL = memoize(function conv2dGradWeightWGSL(tile: Tile, f16: boolean = false): string {
  return implicitGemmWGSL({
    doc: `// conv2d grad-weight (implicit GEMM on dw^T, split-K over wg.z):
//   dw[co,c,kh,kw] = sum_{n,oh,ow} g[n,co,oh,ow] * x[n,c,oh*sh-ph+kh*dh,ow*sw-pw+kw*dw]
// NCHW. GEMM M = C*KH*KW (m = (c,kh,kw)), NN = CO, K = N*OH*OW (k = (n,oh,ow)); A = x gathered (0 in
// the padding), B[k,co] = g. Workgroup (tile, split) writes its partial sum to DW[split * splitStride + ...].`,
    bindings: `@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;`,
    rowA: (i) => `  let rkA${i} = mA${i} % khw;
  let cOff${i} = (mA${i} / khw) * hw;
  let offH${i} = (rkA${i} / KW) * dh - ph; // may wrap: see the padding note
  let offW${i} = (rkA${i} % KW) * dw - pw;`,
    digitsA: [['ow', 'OW'], ['oh', 'OH'], ['n', '']],
    decodeA: `        let nOff = n * C * hw; let ihB = oh * sh; let iwB = ow * sw;`,
    loadA: (i, l) => `let ih = ihB + offH${i}; let iw = iwB + offW${i}; if (ih < H && iw < W) { v.${l} = X[nOff + cOff${i} + ih * W + iw]; }`,
    digitsB: [['pix', 'ohw'], ['n', '']],
    decodeB: `        let gOff = n * CO * ohw + pix;`,
    loadB: (l) => `v.${l} = G[gOff + n * ohw];`,
    storeRow: '',
    store: `DW[split * p.splitStride + n * p.M + m] = v;`,
  }, tile, f16);
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
export const conv2dDirectWGSL = memoize(function conv2dDirectWGSL(hasBias: boolean): string {
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
});

/**
 * Register-blocked direct convolution for CPU-backed adapters (ops/conv.ts picks it there): no
 * workgroup memory and no barriers. Each thread computes PPT consecutive output pixels of one row
 * (n, oh, ow0..ow0+PPT-1) for CPT consecutive output channels, walking (c, kh, kw) with plain nested
 * loops (no index division inside them). Per tap it loads PPT input values (zero in the padding) and
 * CPT/4 vec4s of the re-laid-out weight WT[k][co] (k = (c*KH + kh)*KW + kw, see conv2dWeightLayoutWGSL),
 * then does PPT*CPT multiply-adds from registers. Rows of the input that fall in the padding are
 * skipped whole. The epilogue flags in p.bias are the implicit-GEMM forward's (bit 0 bias, bit 1 ReLU).
 * Grid: 1-D over N*OH*ceil(OW/PPT)*(CO/CPT) threads, channel block fastest, 64 per workgroup, folded
 * into y past 65535 workgroups. Needs CO % CPT == 0. Bindings: X, WT (vec4), Bias, Y.
 * Also serves stride-1 grad-input, as the convolution of dy with the flipped, transposed weight.
 */
export const conv2dRegisterWGSL = memoize(function conv2dRegisterWGSL(PPT: number, CPT: number): string {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const Q = CPT / 4;
  const accs = range(PPT).flatMap((j) => range(Q).map((q) => `  var acc${j}_${q} = vec4<f32>(0.0);`)).join('\n');
  const taps = range(PPT).map((j) => `        { let iw = iw0 + ${j}u * p.sw; var xv = 0.0; if (iw < p.W) { xv = X[xRow + iw]; }
${range(Q).map((q) => `          acc${j}_${q} = fma(vec4<f32>(xv), w${q}, acc${j}_${q});`).join('\n')} }`).join('\n');
  const stores = range(PPT).map((j) => `  if (ow0 + ${j}u < p.OW) {
${range(Q).map((q) => range(4).map((l) => `    { let co = co0 + ${q * 4 + l}u; var o = acc${j}_${q}.${LANES[l]}; if ((p.bias & 1u) != 0u) { o += Bias[co]; } if ((p.bias & 2u) != 0u) { o = relu_f32(o); } Y[yBase + ${q * 4 + l}u * ohw + ${j}u] = o; }`).join('\n')).join('\n')}
  }`).join('\n');
  return /* wgsl */ `// conv2d (register-blocked direct, for CPU-backed adapters): y[n,co,oh,ow] = [relu]([b[co] +]
//   sum_{c,kh,kw} x[n,c,oh*sh-ph+kh*dh,ow*sw-pw+kw*dw] * WT[(c*KH+kh)*KW+kw][co])
// NCHW. One thread: ${PPT} pixels along ow x ${CPT} output channels, accumulators in registers.
${PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> WT: array<vec4<f32>>; // [K][CO/4]
@group(0) @binding(3) var<storage, read> Bias: array<f32>; // any buffer when bit 0 of p.bias is clear
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
${RELU}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 64u;
  let COB = p.CO / ${CPT}u;
  let OWB = (p.OW + ${PPT - 1}u) / ${PPT}u;
  if (t >= p.N * p.OH * OWB * COB) { return; }
  let cob = t % COB;
  let owb = (t / COB) % OWB;
  let oh = (t / (COB * OWB)) % p.OH;
  let n = t / (COB * OWB * p.OH);
  let co0 = cob * ${CPT}u;
  let ow0 = owb * ${PPT}u;
  let CO4 = p.CO / 4u;
  let hw = p.H * p.W;
  let ohw = p.OH * p.OW;
${accs}
  for (var c = 0u; c < p.C; c++) {
    let xPlane = (n * p.C + c) * hw;
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = oh * p.sh + kh * p.dh - p.ph; // wraps past the top padding: ih >= H rejects both sides
      if (ih >= p.H) { continue; }
      let xRow = xPlane + ih * p.W;
      let kRow = (c * p.KH + kh) * p.KW;
      for (var kw = 0u; kw < p.KW; kw++) {
        let wBase = (kRow + kw) * CO4 + cob * ${Q}u;
${range(Q).map((q) => `        let w${q} = WT[wBase + ${q}u];`).join('\n')}
        let iw0 = ow0 * p.sw + kw * p.dw - p.pw; // may wrap, as ih
${taps}
      }
    }
  }
  let yBase = (n * p.CO + co0) * ohw + oh * p.OW + ow0;
${stores}
}`;
});

/**
 * Subgroup variant of conv2dRegisterWGSL, for CPU-backed adapters with the `subgroups` feature (lavapipe
 * has it). On a CPU every invocation's buffer load is a scalar load per SIMD lane, so the register
 * kernel spends most of its time loading the same weights into every lane. Here the channel block is
 * the workgroup's (workgroup_id.y), so every lane of a subgroup needs the same weights: lane l loads the
 * vec4 of channels co0+4l..co0+4l+3 once and subgroupBroadcast hands each vec4 to every lane. The
 * input row is loaded once per (c, kh) and reused across the KW taps (KW, stride and dilation along
 * the width are compile-time constants). Loops have uniform trip counts and no early exit, so every
 * broadcast runs in uniform control flow; padding is handled with clamped loads and select.
 * One thread: PPT consecutive output pixels of one row x 4*QB output channels. Needs a subgroup size
 * >= QB and OC % (4*QB) == 0. Grid: x (folded into z) over N*OH*ceil(OW/PPT) threads, 64 per
 * workgroup; y = OC / (4*QB). Bindings and parameters as conv2dRegisterWGSL (also serves stride-1
 * grad-input the same way).
 * `grouped` ('forward' or 'gradInput', the pass it serves, named in its opening comment): the variant
 * for groups G > 1 (word 15 of the parameters = G, WT = [C/G*KH*KW][CO] from the grouped weight
 * layout): the channel block lies in one group (needs (CO/G) % (4*QB) == 0) and the channel loop walks
 * only that group's C/G input channels. Same loop structure as the dense kernel.
 */
export const conv2dSubgroupWGSL = memoize(function conv2dSubgroupWGSL(PPT: number, QB: number, KW: number, SW: number, DW: number, grouped: 'forward' | 'gradInput' | null = null): string {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const CPT = 4 * QB;
  const cols = (PPT - 1) * SW + (KW - 1) * DW + 1; // input columns one row of PPT outputs reads
  const accs = range(PPT).flatMap((j) => range(QB).map((q) => `  var acc${j}_${q} = vec4<f32>(0.0);`)).join('\n');
  const xs = range(cols).map((o) => `      let iw${o} = iw0 + ${o}u; let x${o} = select(0.0, X[xRow + select(0u, iw${o}, iw${o} < p.W)], rowOk && iw${o} < p.W);`).join('\n');
  const taps = range(KW).map((kw) => `      {
        let wl = WT[(kRow + ${kw}u) * CO4 + co4 + lane];
${range(QB).map((q) => `        let w${q} = subgroupBroadcast(wl, ${q}u);`).join('\n')}
${range(PPT).flatMap((j) => range(QB).map((q) => `        acc${j}_${q} = fma(vec4<f32>(x${j * SW + kw * DW}), w${q}, acc${j}_${q});`)).join('\n')}
      }`).join('\n');
  const stores = range(PPT).map((j) => `  if (live && ow0 + ${j}u < p.OW) {
${range(QB).map((q) => range(4).map((l) => `    { let co = co0 + ${q * 4 + l}u; var o = acc${j}_${q}.${LANES[l]}; if ((p.bias & 1u) != 0u) { o += Bias[co]; } if ((p.bias & 2u) != 0u) { o = relu_f32(o); } Y[yBase + ${q * 4 + l}u * ohw + ${j}u] = o; }`).join('\n')).join('\n')}
  }`).join('\n');
  const loop = grouped
    ? `  let Cg = p.C / p.G;
  let c0 = (co0 / (p.CO / p.G)) * Cg; // first input channel of this channel block's group
  for (var cl = 0u; cl < Cg; cl++) {
    let c = c0 + cl;`
    : `  for (var c = 0u; c < p.C; c++) {`;
  return /* wgsl */ `// conv2d${grouped ? ` grouped ${grouped === 'forward' ? 'forward' : 'grad-input (dy convolved with the flipped kernel)'}` : ''} (register-blocked direct, weights shared through subgroups; CPU-backed adapters):
//   y[n,co,oh,ow] = [relu]([b[co] +] sum_{${grouped ? 'cl' : 'c'},kh,kw} x[n,${grouped ? 'g*(C/G)+cl' : 'c'},oh*sh-ph+kh*dh,ow*${SW}-pw+kw*${DW}] * WT[(${grouped ? 'cl' : 'c'}*KH+kh)*${KW}+kw][co])${grouped ? `
//   with g = co / (CO/G), the group of the thread's output channels` : ''}
// NCHW. One thread: ${PPT} pixels along ow x ${CPT} output channels; the channel block is workgroup_id.y.
enable subgroups;
${grouped ? GROUPED_PARAMS : PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> WT: array<vec4<f32>>; // [K][CO/4]
@group(0) @binding(3) var<storage, read> Bias: array<f32>; // any buffer when bit 0 of p.bias is clear
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
${RELU}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sgi: u32) {
  let lane = min(sgi, ${QB - 1}u); // lanes past the block reload its last vec4 (never broadcast)
  let OWB = (p.OW + ${PPT - 1}u) / ${PPT}u;
  let total = p.N * p.OH * OWB;
  let t = gid.x + wg.z * nwg.x * 64u;
  let live = t < total; // threads past the end compute a clamped pixel block and store nothing
  let tc = min(t, total - 1u);
  let ow0 = (tc % OWB) * ${PPT}u;
  let oh = (tc / OWB) % p.OH;
  let n = tc / (OWB * p.OH);
  let co4 = wg.y * ${QB}u;
  let co0 = wg.y * ${CPT}u;
  let CO4 = p.CO / 4u;
  let hw = p.H * p.W;
  let ohw = p.OH * p.OW;
  let iw0 = ow0 * ${SW}u - p.pw; // may wrap below zero, like ih: iw >= W rejects both sides
${accs}
${loop}
    let xPlane = (n * p.C + c) * hw;
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = oh * p.sh + kh * p.dh - p.ph;
      let rowOk = ih < p.H;
      let xRow = xPlane + select(0u, ih, rowOk) * p.W;
      let kRow = (${grouped ? 'cl' : 'c'} * p.KH + kh) * ${KW}u;
${xs}
${taps}
    }
  }
  let yBase = (n * p.CO + co0) * ohw + oh * p.OW + ow0;
${stores}
}`;
});

/**
 * Grad-weight of a 3x3 "same-width" convolution (KW = 3, stride and dilation 1 along the width, width
 * padding 1, OW = W, W % 4 == 0) for CPU-backed adapters with `subgroups`: dw[co, c, kh, kw] = sum over
 * (n, oh, ow) of g[n, co, oh, ow] * x[n, c, oh*sh - ph + kh*dh, ow - 1 + kw]. A workgroup is one
 * subgroup of 8 lanes; lane = input channel c (8 consecutive per workgroup), workgroup_id.y = a block of
 * CB output channels, workgroup_id.z = a slice of the output rows (n, oh). Walking a row four pixels at
 * a time, each lane loads one vec4 of x per kernel row (the next chunk; the window's left neighbour is
 * kept from the previous chunk) and one lane per output channel loads that channel's vec4 of g, which
 * subgroupBroadcast shares; each lane then accumulates its 3 x 3 x CB weights with dot products. Few
 * loads per multiply-add is what matters on a CPU, where every lane's load is a separate scalar load.
 * Slice z writes its partial sums at z * splitStride (summed afterwards when there are several).
 * Params: the conv block with kChunk = rows per slice. Bindings: X (vec4), G (vec4), DW.
 * `grouped`: the variant for groups G > 1 (word 15 of the parameters = G): dw is [CO, C/G, 3, 3], the
 * lanes are the input channels of the output block's group (x: blocks of 8 of its C/G channels), and
 * the output block lies in one group (needs (CO/G) % CB == 0).
 */
export const conv2dGradWeightSubgroupWGSL = memoize(function conv2dGradWeightSubgroupWGSL(CB: number, grouped: boolean = false): string {
  const r3 = [0, 1, 2];
  const rb = Array.from({ length: CB }, (_, b) => b);
  const accs = r3.flatMap((kh) => r3.map((kw) => `  var acc${kh}${kw} = array<f32, ${CB}>();`)).join('\n');
  const rowSetup = r3.map((kh) => `    let ih${kh} = oh * p.sh + ${kh}u * p.dh - p.ph; // wraps past the top padding: >= H rejects both sides
    let ok${kh} = ih${kh} < p.H;
    let row${kh} = (xPlane + select(0u, ih${kh}, ok${kh}) * p.W) / 4u;
    var prev${kh} = 0.0;
    var cur${kh} = select(vec4<f32>(0.0), X[row${kh}], ok${kh});`).join('\n');
  const step = r3.map((kh) => `      {
        let next = select(vec4<f32>(0.0), X[row${kh} + min(q4 + 1u, W4 - 1u)], ok${kh} && q4 + 1u < W4);
        let t0 = vec4<f32>(prev${kh}, cur${kh}.xyz);
        let t2 = vec4<f32>(cur${kh}.yzw, next.x);
${rb.map((b) => `        acc${kh}0[${b}] += dot(t0, g${b}); acc${kh}1[${b}] += dot(cur${kh}, g${b}); acc${kh}2[${b}] += dot(t2, g${b});`).join('\n')}
        prev${kh} = cur${kh}.w;
        cur${kh} = next;
      }`).join('\n');
  const cw = grouped ? 'Cg' : 'p.C'; // dw's channel count (dimension 1)
  const cs = grouped ? 'cl' : 'c'; // the lane's channel index in dw
  const stores = rb.map((b) => r3.map((kh) => [0, 1, 2].map((kw) => `DW[out + (co0 + ${b}u) * ${cw} * 9u + ${cs} * 9u + ${kh * 3 + kw}u] = acc${kh}${kw}[${b}];`).join(' ')).map((l) => `    ${l}`).join('\n')).join('\n');
  const lanes = grouped
    ? `  let Cg = p.C / p.G;
  let co0 = wg.y * ${CB}u;
  let cRaw = wg.x * 8u + li; // input channel within the group of the output block
  let live = cRaw < Cg;
  let cl = min(cRaw, Cg - 1u); // lanes past C/G repeat the last channel and store nothing
  let c = (co0 / (p.CO / p.G)) * Cg + cl;`
    : `  let cRaw = wg.x * 8u + li;
  let live = cRaw < p.C;
  let c = min(cRaw, p.C - 1u); // lanes past C repeat the last channel and store nothing
  let co0 = wg.y * ${CB}u;`;
  return /* wgsl */ `// conv2d${grouped ? ' grouped' : ''} grad-weight, 3x3 same-width (subgroups; CPU-backed adapters): dw[co,${cs},kh,kw] = sum_{n,oh,ow} g[n,co,oh,ow] * x[n,${grouped ? 'g*(C/G)+cl' : 'c'},oh*sh-ph+kh*dh,ow-1+kw]
// NCHW, W % 4 == 0. Workgroup = one subgroup of 8 lanes (lane = input channel${grouped ? ' of the group g = co/(CO/G)' : ''}) x ${CB} output channels x a slice of rows.
enable subgroups;
${grouped ? GROUPED_PARAMS : PARAMS}
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) sgi: u32) {
${lanes}
  let gLane = co0 + min(sgi, ${CB - 1}u); // the output channel whose g this lane loads for the subgroup
  let W4 = p.W / 4u;
  let gStride = p.OH * W4; // vec4s from one channel of g to the next
${accs}
  let rows = p.N * p.OH;
  let r0 = wg.z * p.kChunk;
  let r1 = min(rows, r0 + p.kChunk);
  for (var r = r0; r < r1; r++) {
    let n = r / p.OH;
    let oh = r % p.OH;
    let xPlane = (n * p.C + c) * p.H * p.W;
    let gRow = (n * p.CO + gLane) * gStride + oh * W4;
${rowSetup}
    for (var q4 = 0u; q4 < W4; q4++) {
      let gl = G[gRow + q4];
${rb.map((b) => `      let g${b} = subgroupBroadcast(gl, ${b}u);`).join('\n')}
${step}
    }
  }
  if (live) {
    let out = wg.z * p.splitStride;
${stores}
  }
}`;
});

/**
 * Re-lays out a conv weight w [CO, C/G, KH, KW] as WT [K][OC] for conv2dRegisterWGSL, K = IC/G*KH*KW
 * (G = groups, 1 for a dense convolution; c' = c mod C/G, co' = co mod CO/G, the index in the group):
 *  - forward (p.flip == 0): OC = CO, IC = C: WT[(c'*KH + kh)*KW + kw][co] = w[co, c', kh, kw];
 *  - grad-input (p.flip == 1): the convolution of dy with the flipped kernel, OC = C, IC = CO:
 *    WT[(co'*KH + kh)*KW + kw][c] = w[co, c', KH-1-kh, KW-1-kw], co in c's group.
 * One thread per element of WT (256 per workgroup, folded into y). Params: CO, C, KH, KW, flip, n, G.
 */
export const CONV2D_WEIGHT_LAYOUT_WGSL = /* wgsl */ `// conv2d weight re-layout: w [CO, C/G, KH, KW] -> WT [K][OC] (transposed; flipped for grad-input)
struct Params { CO: u32, C: u32, KH: u32, KW: u32, flip: u32, n: u32, G: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> WT: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let khw = p.KH * p.KW;
  let Cg = p.C / p.G;
  let COg = p.CO / p.G;
  if (p.flip == 0u) {
    let co = i % p.CO;
    let k = i / p.CO; // (c', kh, kw)
    WT[i] = Wt[co * Cg * khw + k];
  } else {
    let c = i % p.C;
    let k = i / p.C; // (co', kh, kw)
    let co = (c / Cg) * COg + k / khw;
    let kh = (k / p.KW) % p.KH;
    let kw = k % p.KW;
    WT[i] = Wt[((co * Cg + c % Cg) * p.KH + (p.KH - 1u - kh)) * p.KW + (p.KW - 1u - kw)];
  }
}`;

/**
 * Register-blocked grad-weight for CPU-backed adapters: dw[co, k] = sum over output pixels m = (n, oh,
 * ow) of dy[n, co, oh, ow] * x-tap k of m, k = (c, kh, kw). Each thread owns 8 consecutive k x 8
 * consecutive co and walks its slice of the output rows (n, oh) four pixels at a time: per step it
 * loads dy as 8 aligned vec4s (OW % 4 == 0) and the 8 taps' 4 input values, then does 64 vec4 dot
 * products from registers; no workgroup memory. Slice z (wg.z) covers rows [z*rowsPerSplit, ...) and
 * writes its partial sums at z * splitStride (summed afterwards when there are several slices).
 * Params: the conv block with K = C*KH*KW, kChunk = rows (n, oh) per slice, splitStride. Grid: 1-D over
 * ceil(K/8) * (CO/8) threads (co block fastest), 64 per workgroup; z = slices. Bindings: X, G (vec4), DW.
 */
export const conv2dGradWeightRegisterWGSL = memoize(function conv2dGradWeightRegisterWGSL(): string {
  const r8 = Array.from({ length: 8 }, (_, j) => j);
  const tapSetup = r8.map((j) => `  let tap${j} = min(k0 + ${j}u, p.K - 1u); let cOff${j} = (tap${j} / khw) * hw; let offH${j} = ((tap${j} / p.KW) % p.KH) * p.dh; let offW${j} = (tap${j} % p.KW) * p.dw;`).join('\n');
  const accs = r8.map((j) => `  var acc${j}_0 = vec4<f32>(0.0); var acc${j}_1 = vec4<f32>(0.0);`).join('\n');
  const gLoads = r8.map((c) => `      let g${c} = G[gRow + (co0 + ${c}u) * gStride + q4];`).join('\n');
  const taps = r8.map((j) => `      {
        let ih = oh * p.sh + offH${j} - p.ph; // wraps past the top padding: ih >= H rejects both sides
        var xv = vec4<f32>(0.0);
        if (ih < p.H) {
          let base = xImg + cOff${j} + ih * p.W;
          let iw = ow * p.sw + offW${j} - p.pw;
          if (iw < p.W) { xv.x = X[base + iw]; }
          if (iw + p.sw < p.W) { xv.y = X[base + iw + p.sw]; }
          if (iw + 2u * p.sw < p.W) { xv.z = X[base + iw + 2u * p.sw]; }
          if (iw + 3u * p.sw < p.W) { xv.w = X[base + iw + 3u * p.sw]; }
        }
        acc${j}_0 += vec4<f32>(dot(xv, g0), dot(xv, g1), dot(xv, g2), dot(xv, g3));
        acc${j}_1 += vec4<f32>(dot(xv, g4), dot(xv, g5), dot(xv, g6), dot(xv, g7));
      }`).join('\n');
  const stores = r8.map((j) => `  if (k0 + ${j}u < p.K) {
${[0, 1].map((q) => [0, 1, 2, 3].map((l) => `    DW[out + (co0 + ${4 * q + l}u) * p.K + k0 + ${j}u] = acc${j}_${q}.${LANES[l]};`).join('\n')).join('\n')}
  }`).join('\n');
  return /* wgsl */ `// conv2d grad-weight (register-blocked, for CPU-backed adapters): dw[co,c,kh,kw] = sum_{n,oh,ow} g[n,co,oh,ow] * x[n,c,oh*sh-ph+kh*dh,ow*sw-pw+kw*dw]
// NCHW. One thread: 8 taps k x 8 output channels, over a slice of the output rows, 4 pixels per step.
${PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 64u;
  let COB = p.CO / 8u;
  let KB = (p.K + 7u) / 8u;
  if (t >= KB * COB) { return; }
  let co0 = (t % COB) * 8u;
  let k0 = (t / COB) * 8u;
  let khw = p.KH * p.KW;
  let hw = p.H * p.W;
  let OW4 = p.OW / 4u;
  // The 8 taps' input plane offset and row/column offsets (taps past K repeat the last; never stored).
${tapSetup}
${accs}
  let rows = p.N * p.OH;
  let r0 = wg.z * p.kChunk;
  let r1 = min(rows, r0 + p.kChunk);
  let gStride = p.OH * OW4; // vec4s from one channel's row to the next channel's
  for (var r = r0; r < r1; r++) {
    let n = r / p.OH;
    let oh = r % p.OH;
    let xImg = n * p.C * hw;
    let gRow = (n * p.CO * p.OH + oh) * OW4; // vec4 index of g[n, 0, oh, 0]
    for (var q4 = 0u; q4 < OW4; q4++) {
${gLoads}
      let ow = q4 * 4u;
${taps}
    }
  }
  let out = wg.z * p.splitStride;
${stores}
}`;
});
