// Kernels of the contrastive-learning augmentations (SCR, SimCLR, SupCon): random resized crop,
// colour jitter (brightness, contrast, saturation) and random grayscale. Like transforms.ts, they
// prepare inputs and have no backward.
//
// Layout: images are contiguous float32 NCHW batches [B, C, H, W] with values in [0, 1]; colour
// operations read channels 0, 1, 2 as R, G, B (C = 3) or the single channel as gray (C = 1). Every
// random choice (crop window, jitter factors, grayscale flag) is drawn on the CPU from a seeded
// Generator and uploaded as a small per-image array, so a float64 CPU reference fed the same
// Generator reproduces the GPU output.
// Mapping: one thread per output element, 256 threads per workgroup, 1-D grid folded into y past
// 65535 workgroups (LINEAR_INDEX); except the per-image gray mean, one workgroup per image.
//
// Gray is torchvision's rgb_to_grayscale: 0.2989 R + 0.587 G + 0.114 B.

import { LINEAR_INDEX, MAIN_1D } from './common.js';

/** The luma weights of torchvision's rgb_to_grayscale, as WGSL constants. */
const GRAY = /* wgsl */ `const WR = 0.2989; const WG = 0.587; const WB = 0.114;`;

/**
 * Random resized crop: each image's window (top, left, ch, cw) of the input, resized to OH x OW by
 * bilinear sampling as F.interpolate(mode='bilinear', align_corners=False, antialias=False) does on
 * the cropped window: output pixel (y, x) samples the window at
 *   sy = max((y + 0.5) * ch / OH - 0.5, 0),  sx = max((x + 0.5) * cw / OW - 0.5, 0),
 * blending the two neighbours per axis (the upper one clamped to the window's last row/column).
 * R holds 4 int32 per image: top, left, ch, cw (the window lies inside the image).
 * Params: n (output elements), c, h, w, oh, ow.
 */
export const RESIZED_CROP_WGSL = /* wgsl */ `// resizedCrop: OUT[b,c,y,x] = bilinear sample of X[b,c] in window R[b] at ((y+0.5)*ch/OH-0.5, (x+0.5)*cw/OW-0.5)
struct Params { n: u32, c: u32, h: u32, w: u32, oh: u32, ow: u32 }
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
  let top = u32(R[4u * b]);
  let left = u32(R[4u * b + 1u]);
  let ch = u32(R[4u * b + 2u]);
  let cw = u32(R[4u * b + 3u]);
  let sy = max((f32(y) + 0.5) * f32(ch) / f32(p.oh) - 0.5, 0.0);
  let sx = max((f32(x) + 0.5) * f32(cw) / f32(p.ow) - 0.5, 0.0);
  let y0 = min(u32(sy), ch - 1u);
  let x0 = min(u32(sx), cw - 1u);
  let y1 = min(y0 + 1u, ch - 1u);
  let x1 = min(x0 + 1u, cw - 1u);
  let ly = sy - f32(y0);
  let lx = sx - f32(x0);
  let base = plane * p.h * p.w + top * p.w + left;
  let t = (1.0 - lx) * X[base + y0 * p.w + x0] + lx * X[base + y0 * p.w + x1];
  let d = (1.0 - lx) * X[base + y1 * p.w + x0] + lx * X[base + y1 * p.w + x1];
  OUT[i] = (1.0 - ly) * t + ly * d;
}`;

/**
 * Per-image mean of the gray image (what adjust_contrast blends towards): M[b] = mean over the H*W
 * pixels of gray(X[b]) (C = 3) or of X[b] itself (C = 1). One workgroup of 256 threads per image:
 * each thread sums pixels t, t + 256, ...; a shared-memory tree adds the 256 partial sums.
 * Launched with B workgroups (B <= 65535). Params: c, hw.
 */
export const GRAY_MEAN_WGSL = /* wgsl */ `// grayMean: M[b] = mean_p gray(X[b, :, p])
struct Params { c: u32, hw: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> M: array<f32>;
${GRAY}
var<workgroup> partial: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let b = wid.x;
  let base = b * p.c * p.hw;
  var s = 0.0;
  for (var k = t; k < p.hw; k += 256u) {
    if (p.c == 3u) {
      s += WR * X[base + k] + WG * X[base + p.hw + k] + WB * X[base + 2u * p.hw + k];
    } else {
      s += X[base + k];
    }
  }
  partial[t] = s;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride >>= 1u) {
    if (t < stride) { partial[t] += partial[t + stride]; }
    workgroupBarrier();
  }
  if (t == 0u) { M[b] = partial[0] / f32(p.hw); }
}`;

/**
 * One colour-jitter operation with a factor per image, torchvision's definitions (all clamp to
 * [0, 1]), for the images whose flag is set (the others are copied unchanged):
 *   op 0, brightness: OUT = clamp(f * x)
 *   op 1, contrast:   OUT = clamp(f * x + (1 - f) * M[b])   (M: the image's gray mean, GRAY_MEAN_WGSL)
 *   op 2, saturation: OUT = clamp(f * x + (1 - f) * gray(pixel)) for C = 3; unchanged for C = 1
 * F holds 2 floats per image: flag (0 or 1) and f. Params: n, c, hw, op.
 */
export const COLOR_JITTER_WGSL = /* wgsl */ `// colorJitter: OUT = flag[b] ? clamp(f[b] * x + (1 - f[b]) * target, 0, 1) : x, target 0 / gray mean / gray pixel
struct Params { n: u32, c: u32, hw: u32, op: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> F: array<f32>;
@group(0) @binding(3) var<storage, read> M: array<f32>;
@group(0) @binding(4) var<storage, read_write> OUT: array<f32>;
${GRAY}
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let b = i / (p.c * p.hw);
  let v = X[i];
  if (F[2u * b] == 0.0 || (p.op == 2u && p.c != 3u)) { OUT[i] = v; return; }
  let f = F[2u * b + 1u];
  var toward = 0.0;
  if (p.op == 1u) {
    toward = M[b];
  } else if (p.op == 2u) {
    let k = i % p.hw;
    let base = b * 3u * p.hw;
    toward = WR * X[base + k] + WG * X[base + p.hw + k] + WB * X[base + 2u * p.hw + k];
  }
  OUT[i] = clamp(f * v + (1.0 - f) * toward, 0.0, 1.0);
}`;

/**
 * Random grayscale: images whose flag R[b] is set become gray in every channel (C = 3:
 * OUT[b, c, p] = gray(X[b, :, p]) for c = 0, 1, 2); others, and 1-channel images (already gray),
 * are copied. Params: n, c, hw.
 */
export const GRAYSCALE_WGSL = /* wgsl */ `// grayscale: OUT[b,c,p] = R[b] != 0 && C == 3 ? 0.2989 R + 0.587 G + 0.114 B : X[b,c,p]
struct Params { n: u32, c: u32, hw: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> R: array<i32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
${GRAY}
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let b = i / (p.c * p.hw);
  if (R[b] == 0 || p.c != 3u) { OUT[i] = X[i]; return; }
  let k = i % p.hw;
  let base = b * 3u * p.hw;
  OUT[i] = WR * X[base + k] + WG * X[base + p.hw + k] + WB * X[base + 2u * p.hw + k];
}`;
