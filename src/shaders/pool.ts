// 2-D pooling kernels: max, average, adaptive average; forward and backward.
//
// Layout: input [P, H, W] and output [P, OH, OW], contiguous, where P = N * C planes (every plane
// is pooled independently). Max-pool indices are int32 offsets h * W + w within the input plane
// (PyTorch's convention).
// Mapping: one thread per output element in forward, one thread per input element in backward;
// the max-pool kernels for windows that tile the input (backward) and for the common 2x2, stride 2
// case (forward and backward, vec4 loads) give each thread one output or a pair of outputs instead.
// Backward gathers: each input element loops over the few outputs whose window covers it and sums
// their contributions, so overlapping windows need no atomics and the result is deterministic.

import { LINEAR_INDEX, MAIN_1D, NAN_HELPERS } from './common.js';

/** Shared parameter block of the windowed (non-adaptive) kernels; n is the thread count. */
const WINDOW_PARAMS = /* wgsl */ `struct Params {
  n: u32, H: u32, W: u32, OH: u32, OW: u32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  countIncludePad: u32,
}
@group(0) @binding(0) var<storage, read> p: Params;`;

/**
 * The range [lo, hi] of output positions along one axis whose window [o*s - pad, o*s - pad + k)
 * contains input position i; empty when lo > hi.
 */
const COVERING = /* wgsl */ `
fn covering(i: i32, k: i32, s: i32, pad: i32, outSize: u32) -> vec2<i32> {
  let a = i + pad - k + 1;
  let lo = select(0, (a + s - 1) / s, a > 0);
  let hi = min((i + pad) / s, i32(outSize) - 1);
  return vec2<i32>(lo, hi);
}`;

/**
 * Max pool forward: OUT = max over the window (padding acts as -inf), IDX = its plane offset. As in
 * PyTorch's kernels (`val > maxval || isnan(val)`), the first maximum wins among equal values and a
 * NaN wins over everything, the last NaN in row-major order when there are several; the NaN test
 * is on the bits (is_nan_f32), since a compiler may fold `v != v` to false (lavapipe did).
 */
export const MAX_POOL_FWD_WGSL = /* wgsl */ `// maxPool2d forward: out[p, oh, ow] = max of the window (NaN wins), idx = argmax as h * W + w
${WINDOW_PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(3) var<storage, read_write> IDX: array<i32>;
${LINEAR_INDEX}
${NAN_HELPERS}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let ow = i32(i % p.OW);
  let oh = i32((i / p.OW) % p.OH);
  let plane = i / (p.OW * p.OH);
  let base = plane * p.H * p.W;
  let h0 = oh * p.sh - p.ph;
  let w0 = ow * p.sw - p.pw;
  let hs = max(h0, 0);
  let he = min(h0 + p.kh, i32(p.H));
  let ws = max(w0, 0);
  let we = min(w0 + p.kw, i32(p.W));
  // Padding is at most half the kernel, so every window holds at least one real element, and
  // starting from the first of them gives the same result as starting from -inf (padding).
  var arg = hs * i32(p.W) + ws;
  var best = X[base + u32(arg)];
  for (var h = hs; h < he; h++) {
    for (var w = ws; w < we; w++) {
      let off = h * i32(p.W) + w;
      let v = X[base + u32(off)];
      // Once best is NaN only another NaN replaces it (no float comparison with a NaN is trusted).
      if (is_nan_f32(v) || (!is_nan_f32(best) && v > best)) {
        best = v;
        arg = off;
      }
    }
  }
  OUT[i] = best;
  IDX[i] = arg;
}`;

/** Max pool backward: dx[p, h, w] = sum of g over the outputs whose argmax is (h, w). */
export const MAX_POOL_BWD_WGSL = /* wgsl */ `// maxPool2d backward: dx = sum of g[o] over covering outputs o with idx[o] == this element
${WINDOW_PARAMS}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> IDX: array<i32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${COVERING}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let iw = i32(i % p.W);
  let ih = i32((i / p.W) % p.H);
  let plane = i / (p.W * p.H);
  let self_off = ih * i32(p.W) + iw;
  let obase = plane * p.OH * p.OW;
  let rh = covering(ih, p.kh, p.sh, p.ph, p.OH);
  let rw = covering(iw, p.kw, p.sw, p.pw, p.OW);
  var acc = 0.0;
  for (var oh = rh.x; oh <= rh.y; oh++) {
    for (var ow = rw.x; ow <= rw.y; ow++) {
      let o = obase + u32(oh) * p.OW + u32(ow);
      if (IDX[o] == self_off) { acc += G[o]; }
    }
  }
  DX[i] = acc;
}`;

/**
 * Max pool backward for windows that tile the input exactly (stride = kernel, no padding, H and W
 * multiples of the kernel), the common "maxpool 2" case: every input element lies in exactly one
 * window, so one thread per OUTPUT writes its whole window (g at the argmax, 0 elsewhere). That is
 * kh*kw times fewer threads and index decodings than the general gather above.
 */
export const MAX_POOL_BWD_TILED_WGSL = /* wgsl */ `// maxPool2d backward, windows tiling the input: dx[window of o] = (g[o] at idx[o], 0 elsewhere)
${WINDOW_PARAMS}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> IDX: array<i32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let o = linear_index(gid, nwg);
  if (o >= p.n) { return; } // p.n = number of outputs here
  let ow = o % p.OW;
  let oh = (o / p.OW) % p.OH;
  let plane = o / (p.OW * p.OH);
  let base = plane * p.H * p.W;
  let arg = u32(IDX[o]);
  let g = G[o];
  let h0 = oh * u32(p.kh);
  let w0 = ow * u32(p.kw);
  for (var h = h0; h < h0 + u32(p.kh); h++) {
    for (var w = w0; w < w0 + u32(p.kw); w++) {
      let off = h * p.W + w;
      DX[base + off] = select(0.0, g, off == arg);
    }
  }
}`;

/**
 * Max pool forward, 2x2 windows with stride 2 and no padding, input width a multiple of 4: the same
 * results as MAX_POOL_FWD_WGSL (same scan order, tie and NaN rules, indices), a quarter of its loads.
 * One thread per pair of horizontally adjacent outputs: two vec4 loads (four columns of the two input
 * rows) hold both windows, which are scanned side by side as vec2 lanes.
 */
export const MAX_POOL_FWD_2X2_VEC4_WGSL = /* wgsl */ `// maxPool2d forward, kernel 2x2, stride 2, no padding, W % 4 == 0:
// out[p, oh, ow] = max of x[p, 2oh..2oh+1, 2ow..2ow+1] (NaN wins), idx = its argmax as h * W + w.
// Layout: X [P, H, W] read as vec4 (W / 4 per row); OUT and IDX [P, OH, OW] read as vec2 pairs
// (OW = W / 2 is even, so pair q is outputs 2q and 2q + 1, in the same row). An odd H drops the last
// input row (floor mode: OH = floor(H / 2)).
// Mapping: thread q (1-D grid of 256-thread workgroups, p.n = number of pairs) loads columns
// 4c..4c+3 of input rows 2oh and 2oh + 1 and writes outputs (oh, 2c) and (oh, 2c + 1): lane .x of
// every vec2 below is the left window, lane .y the right one.
${WINDOW_PARAMS}
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> OUT: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> IDX: array<vec2<i32>>;
${LINEAR_INDEX}
fn is_nan_vec2(v: vec2<f32>) -> vec2<bool> {
  return (bitcast<vec2<u32>>(v) & vec2<u32>(0x7fffffffu)) > vec2<u32>(0x7f800000u);
}
// Whether v replaces best, per lane (MAX_POOL_FWD_WGSL's rule): a NaN always, a number only a
// non-NaN best it exceeds (the NaN tests are on the bits; no float comparison with a NaN is trusted).
fn replaces(v: vec2<f32>, best: vec2<f32>) -> vec2<bool> {
  return is_nan_vec2(v) | (!is_nan_vec2(best) & (v > best));
}
${MAIN_1D} {
  let q = linear_index(gid, nwg);
  if (q >= p.n) { return; }
  let quads = p.W / 4u;  // vec4s per input row = output pairs per output row
  let c = q % quads;
  let oh = (q / quads) % p.OH;
  let plane = q / (quads * p.OH);
  let top = (plane * p.H + 2u * oh) * quads + c;  // vec4 index of row 2oh, columns 4c..4c+3
  let r0 = X[top];
  let r1 = X[top + quads];
  // Scan each window as the generic kernel does: start from its first element (top left), then row
  // by row, left to right, so the first maximum wins a tie and the last NaN wins among NaNs.
  let first = i32(2u * oh * p.W + 4u * c);
  var best = r0.xz;
  var arg = vec2<i32>(first, first + 2);
  let w = i32(p.W);
  var take = replaces(r0.yw, best);  // (2oh, 2ow + 1)
  best = select(best, r0.yw, take);
  arg = select(arg, vec2<i32>(first + 1, first + 3), take);
  take = replaces(r1.xz, best);  // (2oh + 1, 2ow)
  best = select(best, r1.xz, take);
  arg = select(arg, vec2<i32>(first + w, first + w + 2), take);
  take = replaces(r1.yw, best);  // (2oh + 1, 2ow + 1)
  best = select(best, r1.yw, take);
  arg = select(arg, vec2<i32>(first + w + 1, first + w + 3), take);
  OUT[q] = best;
  IDX[q] = arg;
}`;

/**
 * Max pool backward for the 2x2, stride 2, no padding, W % 4 == 0 case (MAX_POOL_FWD_2X2_VEC4_WGSL):
 * the same dx as MAX_POOL_BWD_TILED_WGSL (and as MAX_POOL_BWD_WGSL for an odd H), written as vec4s.
 */
export const MAX_POOL_BWD_2X2_VEC4_WGSL = /* wgsl */ `// maxPool2d backward, kernel 2x2, stride 2, no padding, W % 4 == 0:
// dx[window of o] = g[o] at idx[o], 0 elsewhere; with an odd H the last input row (in no window) is 0.
// Layout: G and IDX [P, OH, OW] read as vec2 pairs; DX [P, H, W] written as vec4 (W / 4 per row).
// Mapping: thread q (1-D grid of 256-thread workgroups, p.n = number of pairs) reads outputs 2q and
// 2q + 1 and writes the 2x4 block of dx under their two windows (two vec4 stores); the threads of
// the last output row also zero the dropped row below it when H is odd.
${WINDOW_PARAMS}
@group(0) @binding(1) var<storage, read> G: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> IDX: array<vec2<i32>>;
@group(0) @binding(3) var<storage, read_write> DX: array<vec4<f32>>;
${LINEAR_INDEX}
${MAIN_1D} {
  let q = linear_index(gid, nwg);
  if (q >= p.n) { return; }
  let quads = p.W / 4u;
  let c = q % quads;
  let oh = (q / quads) % p.OH;
  let plane = q / (quads * p.OH);
  let top = (plane * p.H + 2u * oh) * quads + c;
  let g2 = G[q];
  let a2 = IDX[q];
  // Columns 0, 1 of the block belong to the left output, 2, 3 to the right one.
  let g = vec4<f32>(g2.x, g2.x, g2.y, g2.y);
  let arg = vec4<i32>(a2.x, a2.x, a2.y, a2.y);
  let row0 = vec4<i32>(i32(2u * oh * p.W + 4u * c)) + vec4<i32>(0, 1, 2, 3);
  DX[top] = select(vec4<f32>(0.0), g, arg == row0);
  DX[top + quads] = select(vec4<f32>(0.0), g, arg == row0 + vec4<i32>(i32(p.W)));
  if (oh == p.OH - 1u && 2u * p.OH < p.H) { DX[top + 2u * quads] = vec4<f32>(0.0); }
}`;

/** Divisor of the average window of output (oh, ow), PyTorch's rule (no ceil mode). */
const AVG_DIVISOR = /* wgsl */ `
fn avg_divisor(oh: i32, ow: i32) -> f32 {
  let h0 = oh * p.sh - p.ph;
  let w0 = ow * p.sw - p.pw;
  if (p.countIncludePad != 0u) {
    // The window lies inside the padded input, so it always counts kh * kw positions.
    return f32(p.kh * p.kw);
  }
  let hc = min(h0 + p.kh, i32(p.H)) - max(h0, 0);
  let wc = min(w0 + p.kw, i32(p.W)) - max(w0, 0);
  return f32(hc * wc);
}`;

/** Average pool forward: OUT = sum over the window (padding counts as 0) / divisor. */
export const AVG_POOL_FWD_WGSL = /* wgsl */ `// avgPool2d forward: out[p, oh, ow] = sum of the window / divisor
${WINDOW_PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${AVG_DIVISOR}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let ow = i32(i % p.OW);
  let oh = i32((i / p.OW) % p.OH);
  let plane = i / (p.OW * p.OH);
  let base = plane * p.H * p.W;
  let h0 = oh * p.sh - p.ph;
  let w0 = ow * p.sw - p.pw;
  var acc = 0.0;
  for (var h = max(h0, 0); h < min(h0 + p.kh, i32(p.H)); h++) {
    for (var w = max(w0, 0); w < min(w0 + p.kw, i32(p.W)); w++) {
      acc += X[base + u32(h) * p.W + u32(w)];
    }
  }
  OUT[i] = acc / avg_divisor(oh, ow);
}`;

/** Average pool backward: dx[p, h, w] = sum over covering outputs o of g[o] / divisor(o). */
export const AVG_POOL_BWD_WGSL = /* wgsl */ `// avgPool2d backward: dx = sum of g[o] / divisor(o) over covering outputs o
${WINDOW_PARAMS}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${COVERING}
${AVG_DIVISOR}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let iw = i32(i % p.W);
  let ih = i32((i / p.W) % p.H);
  let plane = i / (p.W * p.H);
  let obase = plane * p.OH * p.OW;
  let rh = covering(ih, p.kh, p.sh, p.ph, p.OH);
  let rw = covering(iw, p.kw, p.sw, p.pw, p.OW);
  var acc = 0.0;
  for (var oh = rh.x; oh <= rh.y; oh++) {
    for (var ow = rw.x; ow <= rw.y; ow++) {
      acc += G[obase + u32(oh) * p.OW + u32(ow)] / avg_divisor(oh, ow);
    }
  }
  DX[i] = acc;
}`;

/** Adaptive windows: output o along an axis of input size `size` and output size `out` covers [start, end). */
const ADAPTIVE_PARAMS = /* wgsl */ `struct Params { n: u32, H: u32, W: u32, OH: u32, OW: u32 }
@group(0) @binding(0) var<storage, read> p: Params;

// PyTorch's windows: start = floor(o * size / out), end = ceil((o + 1) * size / out).
fn win_start(o: u32, size: u32, out: u32) -> u32 { return (o * size) / out; }
fn win_end(o: u32, size: u32, out: u32) -> u32 { return ((o + 1u) * size + out - 1u) / out; }`;

/** Adaptive average pool forward: OUT = mean of the adaptive window. */
export const ADAPTIVE_AVG_FWD_WGSL = /* wgsl */ `// adaptiveAvgPool2d forward: out[p, oh, ow] = mean of input rows [hs, he) x cols [ws, we)
${ADAPTIVE_PARAMS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let ow = i % p.OW;
  let oh = (i / p.OW) % p.OH;
  let plane = i / (p.OW * p.OH);
  let base = plane * p.H * p.W;
  let hs = win_start(oh, p.H, p.OH);
  let he = win_end(oh, p.H, p.OH);
  let ws = win_start(ow, p.W, p.OW);
  let we = win_end(ow, p.W, p.OW);
  var acc = 0.0;
  for (var h = hs; h < he; h++) {
    for (var w = ws; w < we; w++) { acc += X[base + h * p.W + w]; }
  }
  OUT[i] = acc / f32((he - hs) * (we - ws));
}`;

/**
 * Adaptive average pool backward: dx[p, h, w] = sum over outputs o whose window holds (h, w) of
 * g[o] / |window(o)|. Along an axis those outputs are o in [floor(h * out / size),
 * ceil((h + 1) * out / size) - 1]; the loop re-checks membership so rounding cannot add a stray term.
 */
export const ADAPTIVE_AVG_BWD_WGSL = /* wgsl */ `// adaptiveAvgPool2d backward: dx = sum of g[o] / |window(o)| over outputs o whose window holds the element
${ADAPTIVE_PARAMS}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let iw = i % p.W;
  let ih = (i / p.W) % p.H;
  let plane = i / (p.W * p.H);
  let obase = plane * p.OH * p.OW;
  let oh0 = (ih * p.OH) / p.H;
  let oh1 = min(((ih + 1u) * p.OH + p.H - 1u) / p.H, p.OH);
  let ow0 = (iw * p.OW) / p.W;
  let ow1 = min(((iw + 1u) * p.OW + p.W - 1u) / p.W, p.OW);
  var acc = 0.0;
  for (var oh = oh0; oh < oh1; oh++) {
    let hs = win_start(oh, p.H, p.OH);
    let he = win_end(oh, p.H, p.OH);
    if (ih < hs || ih >= he) { continue; }
    for (var ow = ow0; ow < ow1; ow++) {
      let ws = win_start(ow, p.W, p.OW);
      let we = win_end(ow, p.W, p.OW);
      if (iw < ws || iw >= we) { continue; }
      acc += G[obase + oh * p.OW + ow] / f32((he - hs) * (we - ws));
    }
  }
  DX[i] = acc;
}`;
