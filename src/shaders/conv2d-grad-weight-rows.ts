// conv2d's weight gradient for 3x3 "same-width" convolutions of any width, rows read as scalars
// (CPU-backed adapters with the `subgroups` feature):
//
//   dw[co, c, kh, kw] = sum over n, oh, ow of g[n, co, oh, ow] * x[n, c, oh*sh - ph + kh*dh, ow - 1 + kw]
//
// (x is zero outside the image) for KH = KW = 3 with stride 1, dilation 1 and padding 1 along the
// width, so OW = W; the height may have any stride, padding and dilation. conv2d.ts's
// conv2dGradWeightSubgroupWGSL computes the same with rows read as vec4s, which needs W % 4 == 0; this
// kernel serves the other widths (a 28x28 image after 2x2 poolings: 14, 7, 3), where the implicit
// GEMM that would run instead is several times slower.
//
// Layout: contiguous row-major float32. x [N, C, H, W], g [N, CO, OH, W], dw [CO, C/G, 3, 3] (G =
// groups; 1 for a dense convolution). Slice z of the output rows writes its partial dw at
// z * sliceStride; the caller sums the slices.
//
// Mapping: a workgroup is one subgroup of 8 lanes. workgroup_id.x = a block of 8 input channels (lane
// l is channel 8x + l; lanes past the channel count repeat the last one and store nothing),
// workgroup_id.y = a block of CB output channels co0.., workgroup_id.z = a slice of rowsPerSlice output
// rows r = n * OH + oh. A lane accumulates its channel's 3 x 3 x CB weights in registers.
// Per output row, for each kernel row kh the lane keeps a sliding window over x's row ih = oh*sh -
// ph + kh*dh: prev = x[ow - 1], cur = x[ow], next = x[ow + 1], which are exactly the three taps kw = 0,
// 1, 2 of output pixel ow. Stepping to ow + 1 shifts the window and loads one new value. For the
// gradient, lane b < CB loads g[n, co0 + b, oh, ow] and subgroupBroadcast hands all CB values to every
// lane. So per output pixel a lane does 1 + 3 loads and 3 x 3 x CB multiply-adds: on a CPU, where each
// lane's load is a separate scalar load, few loads per multiply-add is what makes it fast.

import { memoize } from './common.js';

/**
 * Grad-weight of a 3x3 same-width convolution (KW = 3, stride and dilation 1 and padding 1 along the
 * width, OW = W) for any W, rows read as scalars; see the file's comment. CB output channels per
 * workgroup (4 or 8; the subgroup must have at least 8 lanes). Params (u32): N, C, H, W, CO, OH, sh,
 * ph, dh, G, rowsPerSlice, sliceStride. Bindings: X, G, DW (slices [z][CO, C/G, 3, 3]).
 * `grouped`: groups G > 1: the lanes are input channels of the output block's group (that block lies
 * in one group: needs (CO/G) % CB == 0).
 */
export const conv2dGradWeightSubgroupRowsWGSL = memoize(function conv2dGradWeightSubgroupRowsWGSL(CB: number, grouped: boolean = false): string {
  const KH = [0, 1, 2];
  const blocks = Array.from({ length: CB }, (_, b) => b);
  const accumulators = KH.flatMap((kh) => [0, 1, 2].map((kw) => `  var acc${kh}${kw} = array<f32, ${CB}>();`)).join('\n');
  // Start of a row: ih wraps around past the top padding (u32), so ih < H rejects both sides.
  const rowStart = KH.map((kh) => `    let ih${kh} = oh * p.sh + ${kh}u * p.dh - p.ph;
    let ok${kh} = ih${kh} < p.H;
    let row${kh} = xPlane + select(0u, ih${kh}, ok${kh}) * p.W;
    var prev${kh} = 0.0; // x[-1]: the left padding
    var cur${kh} = select(0.0, X[row${kh}], ok${kh});`).join('\n');
  // One pixel: load x[ow + 1] (0 past the right edge), accumulate the three taps, shift the window.
  const pixel = KH.map((kh) => `      {
        let next = select(0.0, X[row${kh} + min(ow + 1u, p.W - 1u)], ok${kh} && ow + 1u < p.W);
${blocks.map((b) => `        acc${kh}0[${b}] += prev${kh} * g${b}; acc${kh}1[${b}] += cur${kh} * g${b}; acc${kh}2[${b}] += next * g${b};`).join('\n')}
        prev${kh} = cur${kh};
        cur${kh} = next;
      }`).join('\n');
  const channelsOut = grouped ? 'Cg' : 'p.C'; // dw's dimension 1
  const stores = blocks.map((b) => `    ${KH.map((kh) => [0, 1, 2].map((kw) => `DW[out + (co0 + ${b}u) * ${channelsOut} * 9u + ${grouped ? 'cl' : 'c'} * 9u + ${kh * 3 + kw}u] = acc${kh}${kw}[${b}];`).join(' ')).join('\n    ')}`).join('\n');
  const lanes = grouped
    ? `  let Cg = p.C / p.G;
  let co0 = wg.y * ${CB}u;
  let cRaw = wg.x * 8u + li; // input channel within the group of the output block
  let live = cRaw < Cg;
  let cl = min(cRaw, Cg - 1u); // lanes past C/G repeat the last channel and store nothing
  let c = (co0 / (p.CO / p.G)) * Cg + cl; // its index in x`
    : `  let co0 = wg.y * ${CB}u;
  let cRaw = wg.x * 8u + li;
  let live = cRaw < p.C;
  let c = min(cRaw, p.C - 1u); // lanes past C repeat the last channel and store nothing`;
  return /* wgsl */ `// conv2d${grouped ? ' grouped' : ''} grad-weight, 3x3 same-width, any W (scalar rows, subgroups; CPU-backed adapters): dw[co,${grouped ? 'cl' : 'c'},kh,kw] = sum_{n,oh,ow} g[n,co,oh,ow] * x[n,${grouped ? 'g*(C/G)+cl' : 'c'},oh*sh-ph+kh*dh,ow-1+kw]
// NCHW, OW = W. Workgroup = one subgroup of 8 lanes (lane = input channel${grouped ? ' of the group g = co/(CO/G)' : ''}) x ${CB} output channels x a slice of rows (z).
enable subgroups;
struct Params { N: u32, C: u32, H: u32, W: u32, CO: u32, OH: u32, sh: u32, ph: u32, dh: u32, G: u32, rowsPerSlice: u32, sliceStride: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) sgi: u32) {
${lanes}
  let gLane = co0 + min(sgi, ${CB - 1}u); // the output channel whose g this lane loads for the subgroup
  let gStride = p.OH * p.W; // from one channel of g to the next
${accumulators}
  let rows = p.N * p.OH;
  let r0 = wg.z * p.rowsPerSlice;
  let r1 = min(rows, r0 + p.rowsPerSlice);
  for (var r = r0; r < r1; r++) {
    let n = r / p.OH;
    let oh = r % p.OH;
    let xPlane = (n * p.C + c) * p.H * p.W;
    let gRow = (n * p.CO + gLane) * gStride + oh * p.W;
${rowStart}
    for (var ow = 0u; ow < p.W; ow++) {
      let gl = G[gRow + ow];
${blocks.map((b) => `      let g${b} = subgroupBroadcast(gl, ${b}u);`).join('\n')}
${pixel}
    }
  }
  if (live) {
    let out = wg.z * p.sliceStride;
${stores}
  }
}`;
});
