// Packed exemplar memory: unpacking fp16 / uint8 words into float32 batches, and packing float32
// into fp16 words (src/cl/memory). Formats (see src/cl/memory/codecs.ts):
//  - every exemplar is D values padded to W whole u32 words, exemplar after exemplar: WORDS[e * W + j];
//  - fp16: value 2j is the low half of word j, value 2j + 1 the high half (W = ceil(D / 2));
//  - uint8: value 4j + c is byte c (bits 8c..8c+7) of word j (W = ceil(D / 4)).
// Output (and pack input) is contiguous float32 [k, D].
// Mapping: one thread per packed word (2 or 4 values), 256 threads per workgroup, 1-D grid folded
// into y past 65535 workgroups (LINEAR_INDEX). Words never straddle exemplars, so no thread needs
// two exemplars.
// Only core WGSL builtins are used (pack2x16float/unpack2x16float need no shader-f16 feature).

import { LINEAR_INDEX, MAIN_1D } from './common.js';

const HEAD = /* wgsl */ `struct Params { words: u32, d: u32, w: u32 }
@group(0) @binding(0) var<storage, read> p: Params;`;

/** out[e, 2j + c] = half c of WORDS[e * W + j], widened exactly to f32. Params: words (k * W), d, w. */
export const UNPACK_F16_WGSL = /* wgsl */ `// unpack fp16: two halves per u32 word -> f32 [k, d]
${HEAD}
@group(0) @binding(1) var<storage, read> WORDS: array<u32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let t = linear_index(gid, nwg);
  if (t >= p.words) { return; }
  let e = t / p.w;
  let j = 2u * (t - e * p.w);
  let v = unpack2x16float(WORDS[t]);
  let base = e * p.d + j;
  OUT[base] = v.x;
  if (j + 1u < p.d) { OUT[base + 1u] = v.y; }
}`;

/**
 * out[e, 4j + c] = TABLE[byte c of WORDS[e * W + j]], TABLE[q] = f32(q / 255) computed on the CPU
 * (a division on the GPU is not correctly rounded, a table lookup matches the CPU decode exactly).
 * Params: words, d, w.
 */
export const UNPACK_U8_TABLE_WGSL = /* wgsl */ `// unpack uint8 (image): four bytes per u32 word -> f32 [k, d] via a 256-entry table
${HEAD}
@group(0) @binding(1) var<storage, read> WORDS: array<u32>;
@group(0) @binding(2) var<storage, read> TABLE: array<f32, 256>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let t = linear_index(gid, nwg);
  if (t >= p.words) { return; }
  let e = t / p.w;
  let j = 4u * (t - e * p.w);
  let word = WORDS[t];
  for (var c = 0u; c < 4u; c++) {
    if (j + c < p.d) { OUT[e * p.d + j + c] = TABLE[(word >> (8u * c)) & 0xffu]; }
  }
}`;

/**
 * out[e, 4j + c] = META[2e] + f32(byte c of WORDS[e * W + j]) * META[2e + 1] (per-exemplar offset and
 * step). The step has at most 16 significant bits, so the product is exact and the sum is the only
 * rounding, fused multiply-add or not. Params: words, d, w.
 */
export const UNPACK_U8_AFFINE_WGSL = /* wgsl */ `// unpack uint8 (affine): four bytes per u32 word -> f32 [k, d], x = offset + q * step per exemplar
${HEAD}
@group(0) @binding(1) var<storage, read> WORDS: array<u32>;
@group(0) @binding(2) var<storage, read> META: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let t = linear_index(gid, nwg);
  if (t >= p.words) { return; }
  let e = t / p.w;
  let j = 4u * (t - e * p.w);
  let word = WORDS[t];
  let offset = META[2u * e];
  let step = META[2u * e + 1u];
  for (var c = 0u; c < 4u; c++) {
    if (j + c < p.d) { OUT[e * p.d + j + c] = offset + f32((word >> (8u * c)) & 0xffu) * step; }
  }
}`;

/**
 * WORDS[e * W + j] = halves of X[e, 2j] (low) and X[e, 2j + 1] (high; 0 past the end of a row).
 * pack2x16float converts the normal half range. Everything else is decided on the bit pattern, to
 * match the CPU's round-to-nearest-even exactly: pack2x16float leaves inputs beyond 65504 undefined,
 * WGSL may assume there is no NaN or Infinity, and GPUs may flush half subnormals to zero. So:
 * NaN -> 0x7e00; |x| >= 65520 -> +-Infinity; 65504 < |x| < 65520 -> +-65504; |x| < 2^-14 -> the
 * subnormal half round(|x| * 2^24) (exact product, WGSL's round() is half-to-even; a float32
 * subnormal flushed to 0 gives 0, as it should). Params: words, d, w.
 */
export const PACK_F16_WGSL = /* wgsl */ `// pack fp16: f32 [k, d] -> two halves per u32 word
${HEAD}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> WORDS: array<u32>;
${LINEAR_INDEX}
fn half_bits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let mag = b & 0x7fffffffu;
  if (mag > 0x7f800000u) { return 0x7e00u; }
  let sign = (b >> 16u) & 0x8000u;
  if (mag >= 0x477ff000u) { return sign | 0x7c00u; }
  if (mag > 0x477fe000u) { return sign | 0x7bffu; }
  if (mag < 0x38800000u) { return sign | u32(round(bitcast<f32>(mag) * 16777216.0)); }
  return pack2x16float(vec2<f32>(x, 0.0)) & 0xffffu;
}
${MAIN_1D} {
  let t = linear_index(gid, nwg);
  if (t >= p.words) { return; }
  let e = t / p.w;
  let j = 2u * (t - e * p.w);
  let base = e * p.d + j;
  var hi = 0u;
  if (j + 1u < p.d) { hi = half_bits(X[base + 1u]); }
  WORDS[t] = half_bits(X[base]) | (hi << 16u);
}`;
