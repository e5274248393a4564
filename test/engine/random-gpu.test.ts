// Random tensors generated on the GPU (counter-based hash, shaders/random.ts) against their CPU
// twins; the rule that small tensors keep the CPU xoshiro stream; the size check before any work.
import { describe, it, expect, afterEach } from 'vitest';
import * as E from '../../src/index.js';
import {
  randomUniform, randomNormal, randomInt, randomGpuThreshold, setRandomGpuThreshold,
  randomUniformCPU, randomNormalCPU, randomIntCPU, randomBitsCPU,
} from '../../src/engine/ops/random.js';
import { dropoutKey, dropoutKeepMask, dropoutThreshold } from '../../src/engine/ops/dropout.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

/** The key a GPU draw takes from a generator seeded with `seed`: its first two 32-bit outputs. */
function keyOf(seed: number): [number, number] {
  const g = new E.Generator(seed);
  return [g.nextU32(), g.nextU32()];
}

let saved: number | null = null;
function gpuAlways(): void {
  saved ??= setRandomGpuThreshold(0);
}
afterEach(() => {
  if (saved !== null) setRandomGpuThreshold(saved);
  saved = null;
});

describe('GPU random numbers match their CPU twins', () => {
  it('rand: the uniforms on [0, 1) are bit-identical (multiples of 2^-24)', async () => {
    gpuAlways();
    const n = 1001; // not a multiple of the workgroup size
    const got = await randomUniform('rand', [7, 11, 13], 0, 1, { generator: new E.Generator(42) }).toArray();
    const want = randomUniformCPU(n, ...keyOf(42), 0, 1);
    expect(got.length).toBe(n);
    expect([...got]).toEqual([...want]);
    expect(Math.min(...got)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...got)).toBeLessThan(1);
  });

  it('uniform(low, high): within one float32 rounding of the twin, inside [low, high)', async () => {
    gpuAlways();
    const got = await randomUniform('uniform', [500], -2, 3, { generator: new E.Generator(1) }).toArray();
    const want = randomUniformCPU(500, ...keyOf(1), -2, 3);
    for (let i = 0; i < 500; i++) {
      expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(5e-7);
      expect(got[i]!).toBeGreaterThanOrEqual(-2);
      expect(got[i]!).toBeLessThan(3);
    }
  });

  it('uniform never returns high, also where float32 rounding of low + (high - low) * u reaches it', async () => {
    // At 1e7 float32 steps by 1, so without the clamp about half of uniform(1e7, 1e7 + 1) rounds up to high.
    for (const gpu of [true, false]) {
      if (gpu) gpuAlways();
      const got = await E.uniform([4096], 1e7, 1e7 + 1, { generator: new E.Generator(5) }).toArray();
      expect(Math.max(...got), gpu ? 'GPU path' : 'CPU path').toBe(1e7);
      if (saved !== null) setRandomGpuThreshold(saved);
      saved = null;
    }
    const twin = randomUniformCPU(4096, ...keyOf(5), 1e7, 1e7 + 1);
    expect(Math.max(...twin)).toBe(1e7);
  });

  it('randint: bit-identical to the twin over small, negative, huge and full int32 ranges', async () => {
    gpuAlways();
    const ranges: [number, number][] = [[0, 10], [-5, 5], [3, 4], [0, 2 ** 31], [-(2 ** 31), 2 ** 31], [-1000, 2 ** 30 + 7]].map((r) => r as [number, number]);
    for (const [i, [low, high]] of ranges.entries()) {
      const got = await randomInt(low, high, [333], { generator: new E.Generator(100 + i) }).toArray();
      const want = randomIntCPU(333, ...keyOf(100 + i), low, high);
      expect([...got], `[${low}, ${high})`).toEqual([...want]);
      for (const v of got) {
        expect(v).toBeGreaterThanOrEqual(low);
        expect(v).toBeLessThan(high);
      }
    }
  });

  it('randn: Box-Muller on the hashed pairs, within float32 accuracy of the float64 twin', async () => {
    gpuAlways();
    const n = 777;
    const got = await randomNormal([n], { generator: new E.Generator(9), mean: 1.5, std: 2 }).toArray();
    const want = randomNormalCPU(n, ...keyOf(9), 1.5, 2);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
    expect(worst).toBeLessThan(2e-5);
  });

  it('the hash stream looks uniform and normal (moments of 2^16 draws; successive calls differ)', async () => {
    gpuAlways();
    const g = new E.Generator(5);
    const u = await randomUniform('rand', [1 << 16], 0, 1, { generator: g }).toArray();
    const u2 = await randomUniform('rand', [1 << 16], 0, 1, { generator: g }).toArray();
    const z = await randomNormal([1 << 16], { generator: g }).toArray();
    const mean = (a: ArrayLike<number>) => { let t = 0; for (let i = 0; i < a.length; i++) t += a[i]!; return t / a.length; };
    const variance = (a: ArrayLike<number>) => { const m = mean(a); let t = 0; for (let i = 0; i < a.length; i++) t += (a[i]! - m) ** 2; return t / a.length; };
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(variance(u) - 1 / 12)).toBeLessThan(0.002);
    expect(Math.abs(mean(z))).toBeLessThan(0.01);
    expect(Math.abs(variance(z) - 1)).toBeLessThan(0.02);
    // Neighbouring counters are uncorrelated (lag-1 correlation of the uniforms).
    let c = 0;
    for (let i = 1; i < u.length; i++) c += (u[i]! - 0.5) * (u[i - 1]! - 0.5);
    expect(Math.abs(c / (u.length - 1) / (1 / 12))).toBeLessThan(0.02);
    expect(u2.some((v, i) => v !== u[i])).toBe(true);
  });

  it('the twin hash is the dropout hash (murmur3 fmix32 twice), pinned by known values', () => {
    // Pinned so that a change of the stream (which changes every seeded large tensor) is deliberate.
    expect([0, 1, 2, 1 << 20].map((c) => randomBitsCPU(0, 0, c))).toEqual([0, 804215951, 3050591713, 490134126]);
    expect([0, 1, 2].map((c) => randomBitsCPU(0x12345678, 0x9abcdef0, c))).toEqual([4155792608, 1348852972, 2389162087]);
    // Dropout drops element i exactly when these bits, under its key, fall below its threshold.
    const [k0, k1] = dropoutKey(77, 3);
    const keep = dropoutKeepMask(256, 0.5, 77, 3);
    for (let i = 0; i < 256; i++) expect(keep[i]).toBe(randomBitsCPU(k0, k1, i) >>> 8 < dropoutThreshold(0.5) ? 0 : 1);
  });
});

describe('which generator a size uses', () => {
  it('tensors up to the threshold (2^22 elements) keep the CPU xoshiro numbers', async () => {
    expect(randomGpuThreshold()).toBe(2 ** 22);
    const a = await randomUniform('uniform', [64], -1, 1, { generator: new E.Generator(3) }).toArray();
    expect([...a]).toEqual([...new E.Generator(3).uniformArray(64, -1, 1)]);
    const z = await randomNormal([65], { generator: new E.Generator(3) }).toArray();
    expect([...z]).toEqual([...new E.Generator(3).normalArray(65)]);
    const r = await randomInt(-3, 9, [50], { generator: new E.Generator(3) }).toArray();
    const g = new E.Generator(3);
    expect([...r]).toEqual(Array.from({ length: 50 }, () => -3 + g.int(12)));
  });

  it('a larger tensor is generated on the GPU and advances its generator by exactly two draws', async () => {
    const g = new E.Generator(11);
    const t = randomUniform('rand', [2 ** 22 + 1], 0, 1, { generator: g });
    const twin = new E.Generator(11);
    const [k0, k1] = [twin.nextU32(), twin.nextU32()];
    expect(g.nextU32()).toBe(twin.nextU32());
    const head = new Float32Array(await E.runtime().read(t.buffer, 64 * 4));
    expect([...head]).toEqual([...randomUniformCPU(64, k0, k1, 0, 1)]);
    t.dispose();
  });

  it('GPU draws follow manualSeed and can require gradients', async () => {
    gpuAlways();
    E.manualSeed(123);
    const a = await randomNormal([300]).toArray();
    E.manualSeed(123);
    const t = randomNormal([300], { requiresGrad: true });
    expect(t.requiresGrad).toBe(true);
    expect([...(await t.toArray())]).toEqual([...a]);
    E.manualSeed(0);
  });
});

describe('sizes are checked before any work', () => {
  it('2^30 elements fail at once, naming the op, the shape, the bytes and the device limit, allocating nothing', () => {
    const created = E.runtime().pool.snapshot().created;
    const limit = Math.min(E.runtime().device.limits.maxBufferSize, E.runtime().device.limits.maxStorageBufferBindingSize);
    expect(limit).toBeLessThan(2 ** 32); // the shapes below must exceed it
    const calls: [string, () => unknown][] = [
      ['rand', () => randomUniform('rand', [2 ** 30], 0, 1)],
      ['randn', () => randomNormal([2 ** 15, 2 ** 15])],
      ['randint', () => randomInt(0, 5, [2 ** 30])],
      // The creation ops of tensor.ts reach the same check through checkShape.
      ['(?:rand|uniform)', () => E.rand([2 ** 30])], // tensor.ts's rand reports 'uniform' until it delegates to randomUniform('rand', ...)
      ['randn', () => E.randn([2 ** 30])],
      ['uniform', () => E.uniform([2 ** 30], 0, 1)],
      ['randint', () => E.randint(0, 5, [2 ** 30])],
      ['empty', () => E.zeros([2 ** 30])],
      ['empty', () => E.arange(0, 2 ** 31)],
    ];
    for (const [op, call] of calls) {
      const t0 = performance.now();
      expect(call).toThrow(new RegExp(`^${op}: shape \\[[0-9, ]+\\] has \\d+ elements \\(\\d+ bytes\\), more than one tensor can hold on this device \\(${limit} bytes, its max\\w+\\); split`));
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    expect(E.runtime().pool.snapshot().created).toBe(created);
  });

  it('a tensor at the limit is still allowed by the check', () => {
    const limit = Math.min(E.runtime().device.limits.maxBufferSize, E.runtime().device.limits.maxStorageBufferBindingSize);
    const t = E.empty([Math.floor(limit / 4)]);
    expect(t.size).toBe(Math.floor(limit / 4));
    t.dispose();
  });
});
