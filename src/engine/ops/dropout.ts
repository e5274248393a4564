// Dropout (torch.nn.functional.dropout): in training, zero each element with probability p and
// scale the survivors by 1 / (1 - p). The mask comes from a counter-based hash evaluated on the GPU
// (shaders/dropout.ts), keyed by (seed, call counter): the same seed and counter give the same
// mask on every device, and successive calls advance the counter so their masks differ.

import { runtime, grid1d, f32bits, EngramError } from '../runtime.js';
import { DROPOUT_WGSL } from '../../shaders/dropout.js';
import { empty, withGrad, type Tensor } from '../tensor.js';
import { shapeStr } from '../shape.js';
import { onManualSeed } from '../random.js';
import { perCallEffect, perCallWords } from '../capture.js';

/** Dropout's own random stream: a seed and the number of masks drawn from it so far. */
const state = { seed: 0, counter: 0 };

/** Reseed dropout's random stream (and restart its call counter, or set it to `counter`). */
export function manualSeedDropout(seed: number, counter = 0): void {
  checkU32(seed, 'seed');
  checkU32(counter, 'counter');
  state.seed = seed >>> 0;
  state.counter = counter >>> 0;
}

// manualSeed() reseeds dropout's stream too, so one call makes a whole run reproducible.
onManualSeed((seed) => manualSeedDropout(seed >>> 0));

/** The current seed and call counter (e.g. to checkpoint and later resume the same masks). */
export function dropoutRngState(): {
  /** Seed of dropout's random stream. */
  seed: number;
  /** The call counter, advanced by each dropout call. */
  counter: number;
} {
  return { ...state };
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new EngramError(`dropout: ${what} must be an integer in [0, 2^32), got ${v}`);
  }
}

/** murmur3's fmix32 on wrapping 32-bit integers (the CPU twin of MIX32_WGSL). */
export function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** The per-call key of the mask hash: k0 = mix32(mix32(seed) + counter), k1 = mix32(k0 + 0x9e3779b9). */
export function dropoutKey(seed: number, counter: number): [number, number] {
  const k0 = mix32((mix32(seed) + counter) >>> 0);
  const k1 = mix32((k0 + 0x9e3779b9) >>> 0);
  return [k0, k1];
}

/** Drop threshold on the top 24 hash bits: an element is dropped when (bits >> 8) < thr. */
export function dropoutThreshold(p: number): number {
  return Math.round(p * 16777216);
}

/**
 * The keep mask (1 = kept) of a call with this seed and counter over `n` elements, computed on the
 * CPU with the same integer arithmetic as the GPU kernel (for tests and debugging).
 */
export function dropoutKeepMask(n: number, p: number, seed: number, counter = 0): Uint8Array {
  const [k0, k1] = dropoutKey(seed, counter);
  const thr = dropoutThreshold(p);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = mix32(mix32(i + k0) ^ k1) >>> 8 < thr ? 0 : 1;
  return out;
}

function applyMask(x: Tensor, cell: { key: [number, number] }, thr: number, scale: number): Tensor {
  const rt = runtime();
  const k = rt.kernel({ name: 'dropout', wgsl: DROPOUT_WGSL, bindings: ['read', 'write'] });
  const y = empty(x.shape);
  const key = cell.key;
  perCallWords(() => [x.size, cell.key[0], cell.key[1], thr, f32bits(scale)]);
  rt.dispatch(k, [x.buffer, y.buffer], [x.size, key[0], key[1], thr, f32bits(scale)], grid1d(x.size));
  return y;
}

/**
 * Randomly zero elements of `x` with probability `p` and scale the rest by 1 / (1 - p) when
 * `training`; otherwise (or when p == 0) return x unchanged (a new tensor sharing x's buffer, with
 * the gradient passing straight through). With `seed`, the mask depends only on (seed, shape): the
 * same seed gives the same mask. Without it, the mask comes from dropout's stream (see
 * `manualSeedDropout`), whose counter advances on each call. p == 1 gives zeros.
 */
export function dropout(x: Tensor, p: number, training: boolean, seed?: number): Tensor {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new EngramError(`dropout: probability has to be between 0 and 1, but got ${p}`);
  }
  if (x.dtype !== 'float32') throw new EngramError(`dropout: expects a float32 input, got ${x.dtype} (shape ${shapeStr(x.shape)})`);
  if (!training || p === 0) return withGrad(x.detach(), 'dropout', [x], (g) => [g], { saved: [] });
  const cell: { key: [number, number] } = { key: [0, 0] };
  if (seed !== undefined) {
    checkU32(seed, 'seed');
    cell.key = dropoutKey(seed, 0);
  } else {
    const draw = () => {
      cell.key = dropoutKey(state.seed, state.counter);
      state.counter = (state.counter + 1) >>> 0;
    };
    draw();
    // A captured step (compile) draws this call's key again at each replay, where the eager call did.
    perCallEffect(draw);
  }
  const thr = dropoutThreshold(p);
  const scale = p === 1 ? 0 : 1 / (1 - p);
  const y = applyMask(x, cell, thr, scale);
  return withGrad(y, 'dropout', [x], (g) => [applyMask(g, cell, thr, scale)], { saved: [] });
}
