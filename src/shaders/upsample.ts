// Upsampling of downscaled exemplars back to their stored image size (exemplar memory, see
// src/cl/memory/downscale.ts). The bilinear mode reuses transforms.ts's RESIZE_BILINEAR_WGSL; this
// file holds the block ('nearest') mode, the exact inverse layout of the area-average downscale.
//
// Layout: float32 NCHW batches; the input [B, C, h, w] with h = ceil(H / f), w = ceil(W / f).
// Mapping: one thread per output element, 256 threads per workgroup, 1-D grid folded into y past
// 65535 workgroups (LINEAR_INDEX).

import { LINEAR_INDEX, MAIN_1D } from './common.js';

/**
 * Block upsampling by an integer factor f: every output pixel takes the value of the block it was
 * averaged into, OUT[b, c, y, x] = X[b, c, y / f, x / f] (integer division), for an output of
 * OH x OW (the last block row/column may be partial). Params: n (output elements), h, w, oh, ow, f.
 */
export const UPSAMPLE_BLOCK_WGSL = /* wgsl */ `// upsampleBlock: OUT[b,c,y,x] = X[b, c, y / f, x / f]
struct Params { n: u32, h: u32, w: u32, oh: u32, ow: u32, f: u32 }
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
  OUT[i] = X[(plane * p.h + y / p.f) * p.w + x / p.f];
}`;
