// Seeded random numbers, computed on the CPU in plain integer arithmetic so that the same seed gives
// the same numbers in Node and in every browser. xoshiro128** (Blackman & Vigna) seeded through
// splitmix32; uniforms keep the top 24 bits (exact in float32); normals use Box-Muller in float64.

import { EngramError } from './runtime.js';

/**
 * A seed must be an integer (like torch.manual_seed): a string, NaN or fraction would otherwise be
 * coerced by `>>> 0` to some unrelated seed (every non-numeric string to 0) without a word.
 */
function checkSeed(op: string, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    const shown = typeof seed === 'string' ? `'${seed}'` : typeof seed === 'object' && seed !== null ? (seed.constructor?.name ?? 'object') : String(seed);
    throw new EngramError(`${op}: seed must be an integer (its low 32 bits are used), got ${shown}`);
  }
  return seed;
}

function checkCount(op: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new EngramError(`${op}: n must be a non-negative integer, got ${String(n)}`);
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A `Generator`'s state (`getState` / `setState`): plain numbers, so it can be copied or stored as JSON. */
export interface GeneratorState {
  /** xoshiro128**'s four 32-bit words (unsigned). */
  words: number[];
  /** The second normal of the last Box-Muller pair, returned by the next `normal()`; null when none is cached. */
  spareNormal: number | null;
}

/**
 * A seeded CPU random number generator (xoshiro128** seeded through splitmix32), like torch.Generator: the
 * same seed gives the same numbers in Node and every browser.
 */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Reset the state from `seed` (taken as a 32-bit unsigned integer); returns this. */
  manualSeed(seed: number): this {
    const st = { s: checkSeed('manualSeed', seed) >>> 0 };
    this.s0 = splitmix32(st);
    this.s1 = splitmix32(st);
    this.s2 = splitmix32(st);
    this.s3 = splitmix32(st);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.spareNormal = null;
    return this;
  }

  /**
   * The generator's state, to resume the same stream later with `setState` (torch.Generator.get_state):
   * the four xoshiro words and the cached second normal of the last Box-Muller pair, if any.
   */
  getState(): GeneratorState {
    return { words: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spareNormal: this.spareNormal };
  }

  /** Resume from a state taken with `getState` (torch.Generator.set_state); returns this. */
  setState(state: GeneratorState): this {
    const w = state?.words;
    if (!Array.isArray(w) || w.length !== 4 || w.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff) || w.every((x) => x === 0)) {
      throw new EngramError(`Generator.setState: words must be four integers in [0, 2^32), not all zero (a state from getState()), got ${JSON.stringify(w)}`);
    }
    const spare = state.spareNormal;
    if (spare !== null && !Number.isFinite(spare)) throw new EngramError(`Generator.setState: spareNormal must be a finite number or null, got ${String(spare)}`);
    [this.s0, this.s1, this.s2, this.s3] = w as [number, number, number, number];
    this.spareNormal = spare;
    return this;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), a multiple of 2^-24 (exactly representable in float32). */
  next(): number {
    return (this.nextU32() >>> 8) * 5.9604644775390625e-8;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A standard normal sample (Box-Muller in float64). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u1 = this.next();
    while (u1 === 0) u1 = this.next();
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** `n` float32 samples uniform in [low, high). */
  uniformArray(n: number, low = 0, high = 1): Float32Array {
    checkCount('uniformArray', n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = low + (high - low) * this.next();
    // Storing as float32 can round a value up to high itself (uniform(1e7, 1e7 + 1): about half of
    // them); [low, high) is the contract, so those become the largest float32 below high. Other
    // values are untouched, so seeded streams keep their numbers.
    const h = Math.fround(high);
    if (Math.fround(low) < h) {
      let top = -1;
      for (let i = 0; i < n; i++) {
        if (out[i]! >= h) {
          if (top === -1) top = nextFloat32Below(h);
          out[i] = top;
        }
      }
    }
    return out;
  }

  /** `n` float32 samples from a normal distribution with the given mean and standard deviation. */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    checkCount('normalArray', n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    checkCount('permutation', n);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The generator used when none is passed (seed 0 until `manualSeed`). */
export const defaultGenerator = new Generator(0);

const seedListeners: ((seed: number) => void)[] = [];

/** Let another random stream (e.g. dropout's GPU counter) be reseeded by `manualSeed`. */
export function onManualSeed(listener: (seed: number) => void): void {
  seedListeners.push(listener);
}

/** Reseed the default generator and every other engram random stream (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  checkSeed('manualSeed', seed);
  defaultGenerator.manualSeed(seed);
  for (const l of seedListeners) l(seed);
}

/** The largest float32 below `x` (a float32 value). */
function nextFloat32Below(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  if (x === 0) u[0] = 0x80000001;
  else if (x > 0) u[0]!--;
  else u[0]!++;
  return f[0]!;
}
