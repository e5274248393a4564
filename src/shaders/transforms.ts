// Kernels of the data pipeline: turning uploaded uint8 pixels into float32, and the GPU image
// transforms (normalize, crop/pad/flip, bilinear resize). None of them has a backward: they prepare
// inputs, they are not part of a model.
//
// Layout: images are contiguous float32 NCHW batches [B, C, H, W]; per-image random parameters are
// an int32 array with a fixed number of values per image.
// Mapping: one thread per output element (per packed word for the uint8 conversion), 256 threads
// per workgroup, 1-D grid folded into y past 65535 workgroups (see LINEAR_INDEX).

import { LINEAR_INDEX, MAIN_1D } from './common.js';

/**
 * Unpack uint8 pixels stored 4 per u32 (little-endian: byte k of word w is pixel 4w + k) and map each
 * through a table of 256 float32 values per channel: OUT[i] = LUT[256 * c + pixel i], with
 * c = (i / hw) % lut_channels. The tables are computed on the CPU: float32(v / 255), so the result
 * is exactly the correctly rounded pixels/255 whatever the GPU's division accuracy, or, when the
 * pipeline starts with a normalization, float32((v / 255 - mean[c]) / std[c]), which folds that
 * normalization into the conversion for free. One thread per word writes its (up to) 4 pixels.
 * Params: n (number of pixels), hw (pixels per channel plane), lut_channels (1 or C).
 */
export const U8_TO_F32_WGSL = /* wgsl */ `// u8ToF32: OUT[i] = LUT[256 * c + ((P[i / 4] >> (8 * (i % 4))) & 255)], c the channel of pixel i
struct Params { n: u32, hw: u32, lut_channels: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> LUT: array<f32>;
@group(0) @binding(2) var<storage, read> P: array<u32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let w = linear_index(gid, nwg);
  let base = w * 4u;
  if (base >= p.n) { return; }
  let word = P[w];
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < p.n) {
      let c = (i / p.hw) % p.lut_channels;
      OUT[i] = LUT[256u * c + ((word >> (8u * k)) & 255u)];
    }
  }
}`;

/** Most channels `normalize` takes (its means and stds travel in the 64-word parameter block). */
export const NORMALIZE_MAX_CHANNELS = 24;

/**
 * Per-channel normalization of an NCHW batch, OUT[i] = (X[i] - mean[c]) / std[c] with
 * c = (i / (H*W)) % C, the same arithmetic as torchvision's Normalize.
 * Params: n, hw, c, then mean[24] and sdev[24] (the stds; `std` is a reserved word in WGSL).
 */
export const NORMALIZE_WGSL = /* wgsl */ `// normalize: OUT[i] = (X[i] - mean[c]) / std[c], c the channel of element i
struct Params { n: u32, hw: u32, c: u32, mean: array<f32, ${NORMALIZE_MAX_CHANNELS}>, sdev: array<f32, ${NORMALIZE_MAX_CHANNELS}> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let c = (i / p.hw) % p.c;
  OUT[i] = (X[i] - p.mean[c]) / p.sdev[c];
}`;

/**
 * Crop with zero padding and optional horizontal flip, per image: the output image is the window
 * of size OH x OW at (oy, ox) of the input padded by `pad` zeros on every side, mirrored left-right
 * when the image's flip flag is set:
 *   OUT[b, c, y, x] = Xpadded[b, c, y + oy, x' + ox],  x' = flip ? OW - 1 - x : x,
 * reading 0 outside the input. R holds 3 int32 values per image: oy, ox, flip. A plain flip is the
 * case pad = 0, oy = ox = 0, OH = H, OW = W; a plain crop has every flip flag 0.
 * Params: n, c, h, w, oh, ow, pad.
 */
export const CROP_FLIP_WGSL = /* wgsl */ `// cropFlip: OUT[b,c,y,x] = Xpadded[b, c, y + oy[b], (flip[b] ? OW-1-x : x) + ox[b]], zeros outside X
struct Params { n: u32, c: u32, h: u32, w: u32, oh: u32, ow: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> R: array<i32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let x = i % p.ow;
  let y = (i / p.ow) % p.oh;
  let plane = i / (p.ow * p.oh);          // b * C + c
  let b = plane / p.c;
  let oy = R[3u * b];
  let ox = R[3u * b + 1u];
  let flip = R[3u * b + 2u] != 0;
  let xx = select(x, p.ow - 1u - x, flip);
  // Coordinates in the unpadded input; negative or too large means a padding zero.
  let sy = i32(y) + oy - i32(p.pad);
  let sx = i32(xx) + ox - i32(p.pad);
  var v = 0.0;
  if (sy >= 0 && sy < i32(p.h) && sx >= 0 && sx < i32(p.w)) {
    v = X[(plane * p.h + u32(sy)) * p.w + u32(sx)];
  }
  OUT[i] = v;
}`;

/**
 * Bilinear resize of every plane, PyTorch's F.interpolate(mode='bilinear', align_corners=False)
 * without antialiasing: the output pixel centre maps to src = (dst + 0.5) * in / out - 0.5 (clamped
 * at 0), which is blended from its two neighbours per axis; the upper neighbour is clamped to the
 * last row/column. Params: n, h, w, oh, ow, scale_h = h / oh, scale_w = w / ow (float32, as PyTorch).
 */
export const RESIZE_BILINEAR_WGSL = /* wgsl */ `// resizeBilinear: OUT[b,c,y,x] = bilinear sample of X[b,c] at ((y+0.5)*h/oh-0.5, (x+0.5)*w/ow-0.5)
struct Params { n: u32, h: u32, w: u32, oh: u32, ow: u32, scale_h: f32, scale_w: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let x = i % p.ow;
  let y = (i / p.ow) % p.oh;
  let plane = i / (p.ow * p.oh);
  let sy = max(p.scale_h * (f32(y) + 0.5) - 0.5, 0.0);
  let sx = max(p.scale_w * (f32(x) + 0.5) - 0.5, 0.0);
  let y0 = min(u32(sy), p.h - 1u);
  let x0 = min(u32(sx), p.w - 1u);
  let y1 = min(y0 + 1u, p.h - 1u);
  let x1 = min(x0 + 1u, p.w - 1u);
  let ly = sy - f32(y0);
  let lx = sx - f32(x0);
  let base = plane * p.h * p.w;
  let top = (1.0 - lx) * X[base + y0 * p.w + x0] + lx * X[base + y0 * p.w + x1];
  let bottom = (1.0 - lx) * X[base + y1 * p.w + x0] + lx * X[base + y1 * p.w + x1];
  OUT[i] = (1.0 - ly) * top + ly * bottom;
}`;
