// Unbiased integer draws for replay buffers. Generator.int(n) scales a 24-bit uniform, which is
// biased once n is not a power of two and cannot reach past 2^24 items; a reservoir over a long
// stream needs exact uniformity over [0, seen), so these draw whole 32-bit (or 53-bit) integers and
// reject the incomplete top range.

import { EngramError } from '../../engine/runtime.js';
import type { Generator } from '../../engine/random.js';

const TWO32 = 4294967296;
const TWO53 = 9007199254740992;

/** A uniform integer in [0, n), for 1 <= n <= 2^53. */
export function randomIndex(g: Generator, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > TWO53) throw new EngramError(`randomIndex: n must be an integer in [1, 2^53], got ${n}`);
  if (n <= TWO32) {
    const limit = TWO32 - (TWO32 % n); // largest multiple of n not above 2^32
    for (;;) {
      const u = g.nextU32();
      if (u < limit) return u % n;
    }
  }
  const limit = TWO53 - (TWO53 % n);
  for (;;) {
    const u = (g.nextU32() >>> 11) * TWO32 + g.nextU32(); // 21 + 32 = 53 bits
    if (u < limit) return u % n;
  }
}

/** `k` distinct indices drawn uniformly from [0, n), in random order (partial Fisher-Yates, O(k) memory). */
export function sampleWithoutReplacement(g: Generator, n: number, k: number): Int32Array {
  if (!Number.isInteger(k) || k < 0 || k > n) throw new EngramError(`sampleWithoutReplacement: cannot draw ${k} distinct indices from ${n}`);
  const swapped = new Map<number, number>(); // the virtual array 0..n-1, only the touched entries
  const out = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    const j = i + randomIndex(g, n - i);
    const vj = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
    out[i] = vj;
  }
  return out;
}
