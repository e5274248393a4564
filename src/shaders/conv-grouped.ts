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
 * A grouped (`depthwise` false) or depthwise (C/G == 1, `depthwise` true) convolution kernel for
 * one pass. Bindings: forward X, W, Bias (ignored unless flags bit 0), Y; gradInput GY, W, DX;
 * gradWeight X, GY, DW (one partial [CO, C/G, KH, KW] per slice of `rows` output rows, z). Parameter
 * block: the 15 geometry words of conv2d, then G, flags and rows.
 */
export const convGroupedWGSL = memoize(function convGroupedWGSL(pass: GroupedPass, depthwise: boolean): string {
  if (pass === 'forward') return forwardWGSL(depthwise);
  if (pass === 'gradInput') return gradInputWGSL(depthwise);
  return gradWeightWGSL(depthwise);
});
