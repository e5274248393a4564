// Random numbers generated on the GPU from a counter-based hash: element i of a tensor is a pure
// function of (key, i), so no state is uploaded and any thread computes its element alone. The key
// (k0, k1) is drawn on the CPU from the tensor's Generator (engine/ops/random.ts), so results follow
// manualSeed and are reproducible.
//
//   bits(c) = mix32(mix32(c + k0) ^ k1)      (mix32: murmur3's 32-bit finalizer; the dropout hash)
//   uniform:  u(c) = (bits(c) >> 8) * 2^-24   in [0, 1), exact in f32;  out[i] = low + (high - low) * u(i)
//   normal:   Box-Muller on the pair of counters (2j, 2j + 1), j = i / 2:
//             r = sqrt(-2 ln(1 - u(2j))), t = 2 pi u(2j + 1) - pi;  out[2j] = mean + std * r cos t,
//             out[2j + 1] = mean + std * r sin t   (1 - u is in (0, 1]: ln never sees 0)
//   integer:  out[i] = low + floor(bits(i) * range / 2^32)   (the high word of a 32x32-bit product,
//             computed from 16-bit halves; range = high - low, 0 standing for 2^32)
// All of the hash is wrapping u32 arithmetic, identical on every device and in the JS twin
// (randomBitsCPU); uniforms on [0, 1) and integers are therefore the same numbers in Node and in
// every browser. The other floats go through f32 multiply-add (and ln, sqrt, cos, sin for normals),
// whose last bits WGSL lets implementations round differently.
//
// Layout: contiguous 32-bit output, written as raw bits (f32 or i32). Mapping: one thread per
// element, 256 per workgroup (MAIN_1D, folded into y beyond 65535 workgroups).

import { LINEAR_INDEX, MAIN_1D } from './common.js';
import { MIX32_WGSL } from './dropout.js';

/** What the random kernel generates (its `mode` parameter). */
export const RANDOM_MODE = { uniform: 0, normal: 1, int: 2 } as const;

/**
 * Params: n, k0, k1, mode, a, b (f32: low and high - low, or mean and std), low (i32), range (u32).
 */
export const RANDOM_WGSL = /* wgsl */ `// random: out[i] = a uniform, normal or integer draw from the hash of (key, i)
struct Params { n: u32, k0: u32, k1: u32, mode: u32, a: f32, b: f32, low: i32, range: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read_write> OUT: array<u32>;
${LINEAR_INDEX}
${MIX32_WGSL}
fn bits(c: u32) -> u32 { return mix32(mix32(c + p.k0) ^ p.k1); }
fn unit(c: u32) -> f32 { return f32(bits(c) >> 8u) * 5.9604644775390625e-8; }
// floor(a * b / 2^32) exactly, from 16-bit halves (WGSL has no 64-bit integers).
fn mulhi(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu; let a1 = a >> 16u;
  let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p01 = a0 * b1; let p10 = a1 * b0;
  let mid = ((a0 * b0) >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  if (p.mode == 0u) {
    // Rounding can carry low + (high - low) * u up to high itself; p.range holds the bits of the
    // largest float32 below high (the uniform mode has no other use for it), keeping [low, high).
    OUT[i] = bitcast<u32>(min(p.a + p.b * unit(i), bitcast<f32>(p.range)));
  } else if (p.mode == 1u) {
    let j = i & ~1u;
    let r = sqrt(-2.0 * log(1.0 - unit(j)));
    let t = 6.283185307179586 * unit(j + 1u) - 3.141592653589793;
    let z = select(r * cos(t), r * sin(t), (i & 1u) == 1u);
    OUT[i] = bitcast<u32>(p.a + p.b * z);
  } else {
    let v = select(mulhi(bits(i), p.range), bits(i), p.range == 0u);
    OUT[i] = bitcast<u32>(p.low) + v;
  }
}`;
