// Dropout kernel with its random mask generated on the GPU from a counter-based hash, so no mask
// is uploaded or stored: the backward recomputes the very same mask from the same key.
//
// The keep/drop bit of element i under a per-call key (k0, k1) is
//   bits = mix32(mix32(i + k0) ^ k1);  dropped  <=>  (bits >> 8) < thr,  thr = round(p * 2^24)
// where mix32 is the murmur3 32-bit finalizer (a bijection with good avalanche). The key is derived
// on the CPU from (seed, call counter); see dropoutKey in engine/ops/dropout.ts. All arithmetic is
// wrapping u32, so a JS mirror using Math.imul reproduces the mask bit for bit.
//
// Layout: contiguous float32. Mapping: one thread per element, 256 per workgroup (MAIN_1D).

import { LINEAR_INDEX, MAIN_1D } from './common.js';

/** murmur3's fmix32, in WGSL (u32 multiplication wraps). */
export const MIX32_WGSL = /* wgsl */ `
fn mix32(x: u32) -> u32 {
  var z = x;
  z = (z ^ (z >> 16u)) * 0x85ebca6bu;
  z = (z ^ (z >> 13u)) * 0xc2b2ae35u;
  return z ^ (z >> 16u);
}`;

/**
 * y[i] = keep(i) ? x[i] * scale : 0. Serves forward (x = input) and backward (x = upstream
 * gradient), which apply the same mask and scale. Params: n, k0, k1, thr, scale.
 */
export const DROPOUT_WGSL = /* wgsl */ `// dropout: y[i] = x[i] * scale where the hashed bits of i keep it, else 0
struct Params { n: u32, k0: u32, k1: u32, thr: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${LINEAR_INDEX}
${MIX32_WGSL}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let bits = mix32(mix32(i + p.k0) ^ p.k1);
  // select, not multiplication by a 0/1 mask: a dropped inf or NaN must still give 0.
  Y[i] = select(X[i] * p.scale, 0.0, (bits >> 8u) < p.thr);
}`;
