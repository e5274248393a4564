// Random tensors: rand, uniform, randn and randint, with their argument checks.
//
// Rule: a tensor of at most `randomGpuThreshold()` elements (2^22, 16 MiB of float32) is drawn on
// the CPU from its Generator's xoshiro128** stream, exactly as before, so seeded weights, examples
// and tests keep their numbers (every layer of the bundled models is below it). A larger one is
// generated on the GPU by the counter-based hash of shaders/random.ts, keyed by two 32-bit draws
// from the same Generator: it costs the CPU nothing (2^28 normals no longer take minutes to draw),
// still follows manualSeed, and advances the Generator by those two draws whatever its size.
// The CPU twins below (random*CPU) compute what the GPU kernel must produce, for tests.
//
// Every function checks the shape and its size against the device first, then the arguments, and
// only then does any work.

import { runtime, grid1d, f32bits, EngramError } from '../runtime.js';
import { RANDOM_WGSL, RANDOM_MODE } from '../../shaders/random.js';
import { empty, tensor, type Tensor, type Shape, type DType, type RandomOptions } from '../tensor.js';
import { checkShape, numel } from '../shape.js';
import { defaultGenerator, Generator } from '../random.js';
import { checkBoolean, checkDType, checkNumber, show } from '../validate.js';
import { mix32 } from './dropout.js';

let gpuThreshold = 1 << 22;

/** Tensors with more elements than this are generated on the GPU (see the rule above). */
export function randomGpuThreshold(): number {
  return gpuThreshold;
}

/**
 * Change the threshold (e.g. 0 to generate every random tensor on the GPU, Infinity never to);
 * returns the previous value. Changing it changes which numbers a seed gives for the sizes between.
 */
export function setRandomGpuThreshold(elements: number): number {
  if (typeof elements !== 'number' || Number.isNaN(elements) || elements < 0) {
    throw new EngramError(`setRandomGpuThreshold: elements must be a non-negative number (Infinity allowed), got ${show(elements)}`);
  }
  const prev = gpuThreshold;
  gpuThreshold = elements;
  return prev;
}

function checkOptions(op: string, opts: RandomOptions, dtype: DType): Generator {
  if (opts === null || typeof opts !== 'object') throw new EngramError(`${op}: options must be an object, got ${show(opts)}`);
  checkDType(op, opts.dtype);
  if (opts.dtype !== undefined && opts.dtype !== dtype) {
    throw new EngramError(`${op}: dtype must be '${dtype}' (it draws ${dtype === 'int32' ? 'integers' : 'floats'}), got ${show(opts.dtype)}`);
  }
  if (opts.requiresGrad !== undefined) checkBoolean(op, 'requiresGrad', opts.requiresGrad);
  if (opts.requiresGrad && dtype !== 'float32') {
    throw new EngramError(`${op}: only float32 tensors can require gradients; ${op} draws ${dtype} (drop requiresGrad)`);
  }
  const g = opts.generator ?? defaultGenerator;
  if (!(g instanceof Generator)) throw new EngramError(`${op}: generator must be an engram Generator, got ${show(g)}`);
  return g;
}

function generateOnGpu(shape: Shape, dtype: DType, g: Generator, mode: number, a: number, b: number, low: number, range: number): Tensor {
  const k0 = g.nextU32();
  const k1 = g.nextU32();
  const t = empty(shape, dtype);
  const rt = runtime();
  const k = rt.kernel({ name: 'random', wgsl: RANDOM_WGSL, bindings: ['write'] });
  rt.dispatch(k, [t.buffer], [t.size, k0, k1, mode, f32bits(a), f32bits(b), low >>> 0, range >>> 0], grid1d(t.size));
  return t;
}

/** Uniform on [low, high) (`rand` is [0, 1)); `op` names the public function in errors. */
export function randomUniform(op: string, shape: Shape, low: number, high: number, opts: RandomOptions = {}): Tensor {
  checkShape(shape, op);
  const g = checkOptions(op, opts, 'float32');
  checkNumber(op, 'low', low);
  checkNumber(op, 'high', high);
  if (!(low <= high)) throw new EngramError(`${op}: low must not exceed high (values are drawn from [low, high)), got low=${low}, high=${high}`);
  if (!Number.isFinite(Math.fround(high - low))) {
    throw new EngramError(`${op}: high - low must be finite in float32, got low=${low}, high=${high}; use a narrower range`);
  }
  const n = numel(shape);
  if (n <= gpuThreshold) return tensor(g.uniformArray(n, low, high), shape, { requiresGrad: opts.requiresGrad });
  const t = generateOnGpu(shape, 'float32', g, RANDOM_MODE.uniform, low, high - low, 0, f32Below(low, high));
  return opts.requiresGrad ? t.requiresGrad_() : t;
}

/** Normal with mean `opts.mean` (0) and standard deviation `opts.std` (1). */
export function randomNormal(shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const op = 'randn';
  checkShape(shape, op);
  const g = checkOptions(op, opts, 'float32');
  const mean = checkNumber(op, 'mean', opts.mean ?? 0);
  const std = checkNumber(op, 'std', opts.std ?? 1, { min: 0 });
  const n = numel(shape);
  if (n <= gpuThreshold) return tensor(g.normalArray(n, mean, std), shape, { requiresGrad: opts.requiresGrad });
  const t = generateOnGpu(shape, 'float32', g, RANDOM_MODE.normal, mean, std, 0, 0);
  return opts.requiresGrad ? t.requiresGrad_() : t;
}

/** Integers drawn uniformly from [low, high), as int32. */
export function randomInt(low: number, high: number, shape: Shape, opts: RandomOptions = {}): Tensor {
  const op = 'randint';
  checkShape(shape, op);
  const g = checkOptions(op, opts, 'int32');
  for (const [name, v] of [['low', low], ['high', high]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 31) {
      throw new EngramError(`randint: ${name} must be an integer in [-2^31, 2^31], got ${show(v)}`);
    }
  }
  if (!(high > low)) {
    throw new EngramError(`randint: high must be greater than low (values are drawn from [low, high)), got low=${low}, high=${high}; note the order randint(low, high, shape)`);
  }
  const n = numel(shape);
  if (n <= gpuThreshold) {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = low + g.int(high - low);
    return tensor(a, shape, { dtype: 'int32' });
  }
  const range = high - low; // up to 2^32, passed as 0 (see the kernel)
  return generateOnGpu(shape, 'int32', g, RANDOM_MODE.int, 0, 0, low | 0, range === 2 ** 32 ? 0 : range);
}

// ------------------------------------------------------------------ CPU twins of the GPU kernel

/** The 32 hash bits of counter `c` under key (k0, k1): exactly what the kernel computes. */
export function randomBitsCPU(k0: number, k1: number, c: number): number {
  return mix32((mix32((c + k0) >>> 0) ^ k1) >>> 0);
}

/**
 * The bits of the largest float32 below `high` (of `high` itself when low == high), the uniform
 * kernel's upper clamp: float32 rounding of low + (high - low) * u can otherwise reach high.
 */
function f32Below(low: number, high: number): number {
  const h = Math.fround(high);
  if (Math.fround(low) >= h) return f32bits(h);
  if (h === 0) return 0x80000001; // the largest float below +-0 is -(smallest subnormal)
  const bits = f32bits(h);
  return (h > 0 ? bits - 1 : bits + 1) >>> 0;
}

function unitCPU(k0: number, k1: number, c: number): number {
  return (randomBitsCPU(k0, k1, c) >>> 8) * 5.9604644775390625e-8;
}

/** The kernel's uniforms, with its float32 roundings (exact when low = 0 and high = 1). */
export function randomUniformCPU(n: number, k0: number, k1: number, low: number, high: number): Float32Array {
  const a = Math.fround(low);
  const b = Math.fround(high - low);
  const top = new Float32Array(new Uint32Array([f32Below(low, high)]).buffer)[0]!;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(Math.fround(a + Math.fround(b * unitCPU(k0, k1, i))), top);
  return out;
}

/** The kernel's normals computed in float64 (the GPU's f32 ln, sqrt, cos and sin differ in the last bits). */
export function randomNormalCPU(n: number, k0: number, k1: number, mean: number, std: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = i & ~1;
    const r = Math.sqrt(-2 * Math.log(1 - unitCPU(k0, k1, j)));
    const t = 2 * Math.PI * unitCPU(k0, k1, j + 1) - Math.PI;
    out[i] = mean + std * (i & 1 ? r * Math.sin(t) : r * Math.cos(t));
  }
  return out;
}

/** The kernel's integers, bit for bit (64-bit product by BigInt: an independent check of its 16-bit halves). */
export function randomIntCPU(n: number, k0: number, k1: number, low: number, high: number): Int32Array {
  const range = BigInt(high - low);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + Number((BigInt(randomBitsCPU(k0, k1, i)) * range) >> 32n);
  return out;
}
