// Grouped and depthwise 2-D convolution kernels (NCHW, groups G > 1), forward and backward, with
// PyTorch's F.conv2d(groups=G) semantics. Channels split into G groups: output channel co belongs
// to group g = co / (CO/G) and sees only input channels g*(C/G) .. (g+1)*(C/G) - 1.
//
// Layout: every tensor is contiguous row-major float32.
//   x  [N, C, H, W]          input
//   w  [CO, C/G, KH, KW]     weight (PyTorch's grouped layout)
//   b  [CO]                  bias
//   y  [N, CO, OH, OW]       output, OH = floor((H + 2*ph - dh*(KH-1) - 1) / sh) + 1 (same for OW)
//
// Grouped convolutions have few multiply-adds per output (C/G per tap; 1 when depthwise), so these
// are direct kernels, not GEMMs: one thread per element of the result, 64 per workgroup, on a 1-D
// grid folded into y past 65535 workgroups (index = gid.x + gid.y * nwg.x * 64).
//  - forward:     one thread per y[n, co, oh, ow], summing its group's C/G channels x KH x KW taps.
//  - grad-input:  one thread per dx[n, c, ih, iw], gathering dy over its group's CO/G output
//                 channels and the taps whose output pixel lands on (ih, iw) (a transposed convolution;
//                 convTranspose2d runs its forward on this kernel).
//  - grad-weight: one thread per dw[co, cl, kh, kw], summing dy * x over (n, oh, ow). The N*OH output
//                 rows are cut into slices of p.rows rows (workgroup z = slice): slice z writes its
//                 partial sums to DW[z * |w| + i], summed afterwards by the caller (few weights, many rows).
// `depthwise` (C/G == 1: groups == in channels, any channel multiplier CO/C) generates kernels of
// their own with the per-group channel loop removed: forward and grad-weight read one input channel,
// grad-input one weight slice per output channel of the group.

import { memoize } from './common.js';

/** Which pass a grouped kernel computes. */
export type GroupedPass = 'forward' | 'gradInput' | 'gradWeight';

const PARAMS = /* wgsl */ `struct Params {
  N: u32, C: u32, H: u32, W: u32, CO: u32, KH: u32, KW: u32, OH: u32, OW: u32,
  sh: u32, sw: u32, ph: u32, pw: u32, dh: u32, dw: u32, G: u32, flags: u32, rows: u32
}
@group(0) @binding(0) var<storage, read> p: Params;`;

const HEAD = `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  let Cg = p.C / p.G; let COg = p.CO / p.G;`;

function forwardWGSL(depthwise: boolean): string {
  const loop = depthwise
    ? `  let c = co / COg; {`
    : `  let c0 = (co / COg) * Cg;
  for (var cl = 0u; cl < Cg; cl++) {
    let c = c0 + cl;`;
  const wRow = depthwise ? 'co' : 'co * Cg + cl';
  return /* wgsl */ `// conv2d ${depthwise ? 'depthwise' : 'grouped'} forward: y[n,co,oh,ow] = b[co] (flags bit 0) + sum_{${depthwise ? '' : 'cl,'}kh,kw} x[n,${depthwise ? 'co/(CO/C)' : 'g*(C/G)+cl'},oh*sh-ph+kh*dh,ow*sw-pw+kw*dw] * w[co,${depthwise ? '0' : 'cl'},kh,kw]; ReLU when flags bit 1
// NCHW. One thread per output element (linear index over [N, CO, OH, OW]), 64 per workgroup.
${PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

${HEAD}
  if (i >= p.N * p.CO * p.OH * p.OW) { return; }
  let ow = i % p.OW;
  let oh = (i / p.OW) % p.OH;
  let co = (i / (p.OW * p.OH)) % p.CO;
  let n = i / (p.OW * p.OH * p.CO);
  var s = select(0.0, Bias[co], (p.flags & 1u) != 0u);
${loop}
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = i32(oh * p.sh + kh * p.dh) - i32(p.ph);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      for (var kw = 0u; kw < p.KW; kw++) {
        let iw = i32(ow * p.sw + kw * p.dw) - i32(p.pw);
        if (iw < 0 || iw >= i32(p.W)) { continue; }
        s += X[((n * p.C + c) * p.H + u32(ih)) * p.W + u32(iw)] * Wt[((${wRow}) * p.KH + kh) * p.KW + kw];
      }
    }
  }
  if ((p.flags & 2u) != 0u) { s = max(s, 0.0); }
  Y[i] = s;
}`;
}

function gradInputWGSL(depthwise: boolean): string {
  const wRow = depthwise ? 'co' : 'co * Cg + cl';
  return /* wgsl */ `// conv2d ${depthwise ? 'depthwise' : 'grouped'} grad-input (= transposed convolution): dx[n,c,ih,iw] = sum over co of c's group and (kh, kw)
// with oh = (ih+ph-kh*dh)/sh, ow = (iw+pw-kw*dw)/sw whole and in range, of dy[n,co,oh,ow] * w[co,${depthwise ? '0' : 'c%(C/G)'},kh,kw]
// NCHW. One thread per input element (linear index over [N, C, H, W]), 64 per workgroup.
${PARAMS}
@group(0) @binding(1) var<storage, read> GY: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;

${HEAD}
  if (i >= p.N * p.C * p.H * p.W) { return; }
  let iw = i % p.W;
  let ih = (i / p.W) % p.H;
  let c = (i / (p.W * p.H)) % p.C;
  let n = i / (p.W * p.H * p.C);
  let cl = c % Cg;
  let co0 = (c / Cg) * COg;
  var s = 0.0;
  for (var j = 0u; j < COg; j++) {
    let co = co0 + j;
    for (var kh = 0u; kh < p.KH; kh++) {
      let th = i32(ih + p.ph) - i32(kh * p.dh);
      // Stride 1 (uniform across the dispatch) skips the integer modulo and division, which a
      // CPU-emulated GPU (lavapipe) runs one lane at a time.
      if (th < 0) { continue; }
      var oh = u32(th);
      if (p.sh != 1u) {
        if (oh % p.sh != 0u) { continue; }
        oh = oh / p.sh;
      }
      if (oh >= p.OH) { continue; }
      for (var kw = 0u; kw < p.KW; kw++) {
        let tw = i32(iw + p.pw) - i32(kw * p.dw);
        if (tw < 0) { continue; }
        var ow = u32(tw);
        if (p.sw != 1u) {
          if (ow % p.sw != 0u) { continue; }
          ow = ow / p.sw;
        }
        if (ow >= p.OW) { continue; }
        s += GY[((n * p.CO + co) * p.OH + oh) * p.OW + ow] * Wt[((${wRow}) * p.KH + kh) * p.KW + kw];
      }
    }
  }
  DX[i] = s;
}`;
}

function gradWeightWGSL(depthwise: boolean): string {
  const c = depthwise ? 'co / COg' : '(co / COg) * Cg + cl';
  return /* wgsl */ `// conv2d ${depthwise ? 'depthwise' : 'grouped'} grad-weight: dw[co,cl,kh,kw] = sum_{n,oh,ow} dy[n,co,oh,ow] * x[n,${depthwise ? 'co/(CO/C)' : 'g*(C/G)+cl'},oh*sh-ph+kh*dh,ow*sw-pw+kw*dw]
// NCHW. One thread per weight element (linear index over [CO, C/G, KH, KW]), 64 per workgroup; z = slice of p.rows output rows (n, oh).
${PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> GY: array<f32>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;

${HEAD}
  let size = p.CO * Cg * p.KH * p.KW;
  if (i >= size) { return; }
  let kw = i % p.KW;
  let kh = (i / p.KW) % p.KH;
  let cl = (i / (p.KW * p.KH)) % Cg;
  let co = i / (p.KW * p.KH * Cg);
  let c = ${c};
  var s = 0.0;
  let r0 = wg.z * p.rows;
  let r1 = min(r0 + p.rows, p.N * p.OH);
  for (var r = r0; r < r1; r++) {
    let n = r / p.OH; let oh = r % p.OH;
    let ih = i32(oh * p.sh + kh * p.dh) - i32(p.ph);
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    let xRow = ((n * p.C + c) * p.H + u32(ih)) * p.W;
    let gRow = ((n * p.CO + co) * p.OH + oh) * p.OW;
    for (var ow = 0u; ow < p.OW; ow++) {
      let iw = i32(ow * p.sw + kw * p.dw) - i32(p.pw);
      if (iw < 0 || iw >= i32(p.W)) { continue; }
      s += GY[gRow + ow] * X[xRow + u32(iw)];
    }
  }
  DW[wg.z * size + i] = s;
}`;
}

/**
 * The blocking of the row-blocked depthwise kernels (`DepthwiseRow` below): PPT adjacent pixels of
 * one row per thread; the kernel width KW and the width stride SW and dilation DW are compile-time
 * constants, so the taps' input columns are known registers.
 */
export interface DepthwiseRow {
  /** Pixels along the width per thread. */
  PPT: number;
  /** Kernel width. */
  KW: number;
  /** Stride along the width (grad-input: 1 only). */
  SW: number;
  /** Dilation along the width. */
  DW: number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// Row-blocked depthwise kernels (CPU-backed adapters, where every lane's load of a lane-varying
// address is a separate scalar load and a load whose address is the same for the whole workgroup is
// one): a thread computes PPT adjacent pixels of one row, loading the input row segment its taps
// cover once per kernel row and reusing it across the KW taps, with no branch per tap (padding by
// clamped loads and select). Forward and grad-input give each workgroup one channel plane
// (workgroup_id.y, folded into z), so the weights are the same for every lane.

/** Forward: y[n,co,oh,ow0+j] for j < PPT; plane (n, co) = wg.y + wg.z * nwg.y; x = block of 64 threads of the plane. */
function depthwiseForwardRowWGSL({ PPT, KW, SW, DW }: DepthwiseRow): string {
  const cols = (PPT - 1) * SW + (KW - 1) * DW + 1;
  return /* wgsl */ `// conv2d depthwise forward, row-blocked: y[n,co,oh,ow] = b[co] (flags bit 0) + sum_{kh,kw} x[n,co/(CO/C),oh*sh-ph+kh*dh,ow*${SW}-pw+kw*${DW}] * w[co,0,kh,kw]; ReLU when flags bit 1
// NCHW. Workgroup (x, plane): plane = (n, co) = wg.y + wg.z * nwg.y (the weights are the workgroup's);
// thread = ${PPT} adjacent output pixels of one row, 64 threads per workgroup over the plane's OH * ceil(OW/${PPT}) blocks.
${PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let plane = wg.y + wg.z * nwg.y;
  if (plane >= p.N * p.CO) { return; }
  let co = plane % p.CO;
  let n = plane / p.CO;
  let c = co / (p.CO / p.C); // depthwise: the input channel of output channel co
  let OWB = (p.OW + ${PPT - 1}u) / ${PPT}u;
  let t = wg.x * 64u + lane;
  if (t >= p.OH * OWB) { return; }
  let ow0 = (t % OWB) * ${PPT}u;
  let oh = t / OWB;
  let xPlane = (n * p.C + c) * p.H * p.W;
  let iw0 = ow0 * ${SW}u - p.pw; // may wrap below zero: iw >= W rejects both sides of the padding
${range(PPT).map((j) => `  var acc${j} = 0.0;`).join('\n')}
  for (var kh = 0u; kh < p.KH; kh++) {
    let ih = oh * p.sh + kh * p.dh - p.ph; // wraps like iw0
    let rowOk = ih < p.H;
    let xRow = xPlane + select(0u, ih, rowOk) * p.W;
${range(cols).map((o) => `    let x${o} = select(0.0, X[xRow + min(iw0 + ${o}u, p.W - 1u)], rowOk && iw0 + ${o}u < p.W);`).join('\n')}
    let wRow = (co * p.KH + kh) * ${KW}u;
${range(KW).map((kw) => `    let w${kw} = Wt[wRow + ${kw}u];`).join('\n')}
${range(PPT).map((j) => `    acc${j} += ${range(KW).map((kw) => `x${j * SW + kw * DW} * w${kw}`).join(' + ')};`).join('\n')}
  }
  let b = select(0.0, Bias[co], (p.flags & 1u) != 0u);
  let yRow = ((n * p.CO + co) * p.OH + oh) * p.OW + ow0;
${range(PPT).map((j) => `  if (ow0 + ${j}u < p.OW) { var v = acc${j} + b; if ((p.flags & 2u) != 0u) { v = max(v, 0.0); } Y[yRow + ${j}u] = v; }`).join('\n')}
}`;
}

/** Stride-1 grad-input: dx[n,c,ih,iw0+j] for j < PPT, the convolution of dy with the flipped kernel; plane (n, c) per workgroup as forward. */
function depthwiseGradInputRowWGSL({ PPT, KW, DW }: DepthwiseRow): string {
  const cols = PPT + (KW - 1) * DW;
  return /* wgsl */ `// conv2d depthwise grad-input, stride 1, row-blocked: dx[n,c,ih,iw] = sum_{j<CO/C,kh,kw} dy[n,c*(CO/C)+j,ih+ph-kh*dh,iw+pw-kw*${DW}] * w[c*(CO/C)+j,0,kh,kw]
// (taps outside dy contribute 0). NCHW. Workgroup (x, plane): plane = (n, c) = wg.y + wg.z * nwg.y (the
// weights are the workgroup's); thread = ${PPT} adjacent pixels of one row of dx, 64 threads per workgroup over the plane's H * ceil(W/${PPT}) blocks.
${PARAMS}
@group(0) @binding(1) var<storage, read> GY: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let plane = wg.y + wg.z * nwg.y;
  if (plane >= p.N * p.C) { return; }
  let c = plane % p.C;
  let n = plane / p.C;
  let M = p.CO / p.C; // channel multiplier: output channels c*M .. c*M+M-1 read input channel c
  let WB = (p.W + ${PPT - 1}u) / ${PPT}u;
  let t = wg.x * 64u + lane;
  if (t >= p.H * WB) { return; }
  let iw0 = (t % WB) * ${PPT}u;
  let ih = t / WB;
  let base = iw0 + p.pw - ${(KW - 1) * DW}u; // dy column of tap kw = ${KW - 1} for pixel iw0 (may wrap below zero)
${range(PPT).map((j) => `  var acc${j} = 0.0;`).join('\n')}
  for (var m = 0u; m < M; m++) {
    let co = c * M + m;
    let gPlane = (n * p.CO + co) * p.OH * p.OW;
    for (var kh = 0u; kh < p.KH; kh++) {
      let oh = ih + p.ph - kh * p.dh; // wraps below zero: oh >= OH rejects it
      let rowOk = oh < p.OH;
      let gRow = gPlane + select(0u, oh, rowOk) * p.OW;
${range(cols).map((o) => `      let g${o} = select(0.0, GY[gRow + min(base + ${o}u, p.OW - 1u)], rowOk && base + ${o}u < p.OW);`).join('\n')}
      let wRow = (co * p.KH + kh) * ${KW}u;
${range(KW).map((kw) => `      let w${kw} = Wt[wRow + ${kw}u];`).join('\n')}
${range(PPT).map((j) => `      acc${j} += ${range(KW).map((kw) => `g${j + (KW - 1 - kw) * DW} * w${kw}`).join(' + ')};`).join('\n')}
    }
  }
  let dxRow = ((n * p.C + c) * p.H + ih) * p.W + iw0;
${range(PPT).map((j) => `  if (iw0 + ${j}u < p.W) { DX[dxRow + ${j}u] = acc${j}; }`).join('\n')}
}`;
}

/** Grad-weight: dw[co,0,kh,0..KW-1] over a slice of rows; thread (co, kh) = linear index, co fastest; z = slice. */
function depthwiseGradWeightRowWGSL({ PPT, KW, SW, DW }: DepthwiseRow): string {
  const cols = (PPT - 1) * SW + (KW - 1) * DW + 1;
  return /* wgsl */ `// conv2d depthwise grad-weight, row-blocked: dw[co,0,kh,kw] = sum_{n,oh,ow} dy[n,co,oh,ow] * x[n,co/(CO/C),oh*sh-ph+kh*dh,ow*${SW}-pw+kw*${DW}]
// NCHW. One thread per kernel row (co, kh) (linear index, co fastest, 64 per workgroup), its ${KW} taps in registers,
// walking a slice of p.rows output rows (n, oh) (z = slice) ${PPT} pixels at a time; slice z writes DW[z * |w| + ...].
${PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> GY: array<f32>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;

${HEAD}
  if (i >= p.CO * p.KH) { return; }
  let co = i % p.CO;
  let kh = i / p.CO;
  let c = co / (p.CO / p.C);
${range(KW).map((kw) => `  var acc${kw} = 0.0;`).join('\n')}
  let r0 = wg.z * p.rows;
  let r1 = min(r0 + p.rows, p.N * p.OH);
  for (var r = r0; r < r1; r++) {
    let n = r / p.OH; let oh = r % p.OH;
    let ih = oh * p.sh + kh * p.dh - p.ph; // may wrap below zero: ih >= H rejects both sides
    if (ih >= p.H) { continue; }
    let xRow = ((n * p.C + c) * p.H + ih) * p.W;
    let gRow = ((n * p.CO + co) * p.OH + oh) * p.OW;
    for (var ow0 = 0u; ow0 < p.OW; ow0 += ${PPT}u) {
${range(PPT).map((j) => `      let g${j} = select(0.0, GY[gRow + min(ow0 + ${j}u, p.OW - 1u)], ow0 + ${j}u < p.OW);`).join('\n')}
      let iw0 = ow0 * ${SW}u - p.pw;
${range(cols).map((o) => `      let x${o} = select(0.0, X[xRow + min(iw0 + ${o}u, p.W - 1u)], iw0 + ${o}u < p.W);`).join('\n')}
${range(KW).map((kw) => `      acc${kw} += ${range(PPT).map((j) => `g${j} * x${j * SW + kw * DW}`).join(' + ')};`).join('\n')}
    }
  }
  let out = wg.z * p.CO * p.KH * ${KW}u + (co * p.KH + kh) * ${KW}u;
${range(KW).map((kw) => `  DW[out + ${kw}u] = acc${kw};`).join('\n')}
}`;
}

/**
 * A grouped (`depthwise` false) or depthwise (C/G == 1, `depthwise` true) convolution kernel for
 * one pass. Bindings: forward X, W, Bias (ignored unless flags bit 0), Y; gradInput GY, W, DX;
 * gradWeight X, GY, DW (one partial [CO, C/G, KH, KW] per slice of `rows` output rows, z). Parameter
 * block: the 15 geometry words of conv2d, then G, flags and rows.
 * `row` (depthwise only) selects the row-blocked depthwise kernels (see DepthwiseRow; ops/conv.ts
 * uses them on CPU-backed adapters): forward and stride-1 grad-input on a grid of (blocks of 64
 * threads of a channel plane, plane), grad-weight one thread per kernel row (co, kh) and slice.
 */
export const convGroupedWGSL = memoize(function convGroupedWGSL(pass: GroupedPass, depthwise: boolean, row: DepthwiseRow | null = null): string {
  if (row) {
    if (!depthwise) throw new Error('convGroupedWGSL: the row-blocked kernels are depthwise only');
    if (pass === 'forward') return depthwiseForwardRowWGSL(row);
    if (pass === 'gradInput') {
      if (row.SW !== 1) throw new Error('convGroupedWGSL: the row-blocked depthwise grad-input needs stride 1');
      return depthwiseGradInputRowWGSL(row);
    }
    return depthwiseGradWeightRowWGSL(row);
  }
  if (pass === 'forward') return forwardWGSL(depthwise);
  if (pass === 'gradInput') return gradInputWGSL(depthwise);
  return gradWeightWGSL(depthwise);
});
