// Reference for dropout: the keep mask recomputed from its specification (shaders/dropout.ts) with
// JS integer arithmetic, and the forward/gradient given a mask.
import { map, type Arr } from './arr.js';

/** murmur3's 32-bit finalizer on wrapping unsigned integers. */
function fmix32(h: number): number {
  h >>>= 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Keep bits for call (seed, counter): key k0 = fmix32(fmix32(seed) + counter), k1 = fmix32(k0 +
 * 0x9e3779b9); element i is dropped when fmix32(fmix32(i + k0) ^ k1) >>> 8 < round(p * 2^24).
 */
export function keepMaskRef(n: number, p: number, seed: number, counter = 0): Uint8Array {
  const k0 = fmix32(fmix32(seed) + counter);
  const k1 = fmix32(k0 + 0x9e3779b9);
  const thr = Math.round(p * 2 ** 24);
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const bits = fmix32(fmix32(i + k0) ^ k1);
    keep[i] = bits >>> 8 >= thr ? 1 : 0;
  }
  return keep;
}

export function dropoutRef(p: number, keep: Uint8Array) {
  const scale = p === 1 ? 0 : 1 / (1 - p);
  return {
    forward: (x: Arr): Arr => map(x, (v, i) => (keep[i] ? v * scale : 0)),
    grad: (g: Arr, _x: Arr): Arr[] => [map(g, (v, i) => (keep[i] ? v * scale : 0))],
  };
}
