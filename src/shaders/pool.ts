// 2-D pooling kernels: max, average, adaptive average; forward and backward.
//
// Layout: input [P, H, W] and output [P, OH, OW], contiguous, where P = N * C planes (every plane
// is pooled independently). Max-pool indices are int32 offsets h * W + w within the input plane
// (PyTorch's convention).
// Mapping: one thread per output element in forward, one thread per input element in backward.
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
