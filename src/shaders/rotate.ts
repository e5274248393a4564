// Image rotation of float32 NCHW batches about the image centre, for the Rotated-MNIST scenario (a
// domain-incremental stream: the same classes, each task rotated by its own angle). No backward: a
// data transform, not a model layer.
//
// Layout: X and OUT are contiguous [B, C, H, W]; the output has the input's shape.
// Mapping: one thread per output element, 256 threads per workgroup, 1-D grid folded into y past
// 65535 workgroups (see LINEAR_INDEX).

import { LINEAR_INDEX, MAIN_1D } from './common.js';

/**
 * Rotate every plane counter-clockwise by an angle θ (torchvision's convention) about its centre
 * (cx, cy) = ((W-1)/2, (H-1)/2) in pixel-centre coordinates: output pixel (x, y) samples the input at
 *   sx = cx + cos θ (x - cx) - sin θ (y - cy),   sy = cy + sin θ (x - cx) + cos θ (y - cy)
 * (y grows downwards), reading 0 outside the image (torchvision's fill=0). mode 0: nearest
 * (the pixel at floor(s + 0.5), torchvision's default for RandomRotation and so Avalanche's
 * RotatedMNIST); mode 1: bilinear (the four neighbours weighted by the fractional parts, each 0
 * when outside). cos θ and sin θ come from the CPU in float64, rounded to float32, with multiples of
 * 90° exact (0, ±1), so a quarter turn of a square image moves pixels without blending.
 * Params: n, h, w, mode, cos, sin, cx, cy.
 */
export const ROTATE_WGSL = /* wgsl */ `// rotate: OUT[b,c,y,x] = X[b,c] sampled at the centre-relative point (x,y) turned by -θ (nearest or bilinear), 0 outside
struct Params { n: u32, h: u32, w: u32, mode: u32, c: f32, s: f32, cx: f32, cy: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
fn tap(base: u32, yy: i32, xx: i32) -> f32 {
  if (yy < 0 || yy >= i32(p.h) || xx < 0 || xx >= i32(p.w)) { return 0.0; }
  return X[base + u32(yy) * p.w + u32(xx)];
}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let x = i % p.w;
  let y = (i / p.w) % p.h;
  let base = (i / (p.w * p.h)) * p.h * p.w;
  let dx = f32(x) - p.cx;
  let dy = f32(y) - p.cy;
  let sx = p.cx + p.c * dx - p.s * dy;
  let sy = p.cy + p.s * dx + p.c * dy;
  if (p.mode == 0u) {
    OUT[i] = tap(base, i32(floor(sy + 0.5)), i32(floor(sx + 0.5)));
    return;
  }
  let fx0 = floor(sx);
  let fy0 = floor(sy);
  let lx = sx - fx0;
  let ly = sy - fy0;
  let x0 = i32(fx0);
  let y0 = i32(fy0);
  let top = (1.0 - lx) * tap(base, y0, x0) + lx * tap(base, y0, x0 + 1);
  let bottom = (1.0 - lx) * tap(base, y0 + 1, x0) + lx * tap(base, y0 + 1, x0 + 1);
  OUT[i] = (1.0 - ly) * top + ly * bottom;
}`;
