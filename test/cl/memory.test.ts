import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from '../../src/index.js';
import {
  f32ToF16Bits, f16BitsToF32, createExemplarStore, packF16Gpu, unpackF16Gpu, PIXEL_VALUES, affineStep,
  downsampleArea, downscaledShape, ReservoirBuffer,
  type ExemplarStore, type ExemplarStoreOptions,
} from '../../src/cl/index.js';
import { useGPU } from '../helpers/gpu.js';
import { expectClose } from '../helpers/gradcheck.js';
import { resizeBilinearRef } from '../reference/transforms.js';
import { arr } from '../reference/arr.js';

useGPU();

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}
const ulp32 = (x: number) => 2 ** (Math.floor(Math.log2(Math.abs(x))) - 23);

/** Float64 reference for float32 -> fp16 value (round half to even), |x| < 65520. */
function halfRef(x: number): number {
  if (x === 0) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
  const ulp = 2 ** (e - 10);
  const q = x / ulp;
  const f = Math.floor(q);
  const r = q - f > 0.5 || (q - f === 0.5 && f % 2 !== 0) ? f + 1 : f;
  return r * ulp;
}

/** Float32 values spread over many binades (sign, exponent and mantissa random). */
function randomFloats(g: E.Generator, n: number, minExp: number, maxExp: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const e = minExp + g.int(maxExp - minExp);
    out[i] = (g.next() < 0.5 ? -1 : 1) * (1 + g.next()) * 2 ** e;
  }
  return out;
}

function store(opts: Partial<ExemplarStoreOptions> & { shape: readonly number[] }): ExemplarStore {
  return createExemplarStore(opts);
}

describe('fp16 conversion on the CPU', () => {
  it('half -> float32 -> half is the identity on all 65536 bit patterns (NaN stays NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = f16BitsToF32(h);
      if (Number.isNaN(x)) {
        expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
        expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(x)))).toBe(true);
      } else if (f32ToF16Bits(x) !== h) {
        expect.fail(`half 0x${h.toString(16)} -> ${x} -> 0x${f32ToF16Bits(x).toString(16)}`);
      }
    }
  });

  it('known bit patterns: rounding, ties to even, overflow, subnormals', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [1 / 3, 0x3555], [65504, 0x7bff],
      [65519.99, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-Infinity, 0xfc00], [Infinity, 0x7c00],
      [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -25, 0x0001], [3 * 2 ** -25, 0x0002],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [1 + 2 ** -11 + 2 ** -20, 0x3c01], [2 ** -14 - 2 ** -25, 0x0400],
      [1e-10, 0x0000], [-1e-10, 0x8000], [0.1, 0x2e66],
    ];
    for (const [x, h] of cases) expect(f32ToF16Bits(x), `${x}`).toBe(h);
    expect(f32ToF16Bits(NaN) & 0x7e00).toBe(0x7e00);
  });

  it('matches a float64 round-half-even reference on 40000 random floats across the half range', () => {
    const g = new E.Generator(1);
    const xs = randomFloats(g, 40000, -27, 16);
    for (const x of xs) {
      if (Math.abs(x) >= 65520) continue;
      const got = f16BitsToF32(f32ToF16Bits(x));
      if (got !== halfRef(x)) expect.fail(`${x}: got ${got}, reference ${halfRef(x)}`);
    }
  });
});

describe('round-trip error bounds of each format (CPU decode)', () => {
  it('float32 is exact', () => {
    const s = store({ shape: [37] });
    const x = randomFloats(new E.Generator(2), 37, -30, 30);
    s.add(x, 1);
    expect(Array.from(s.decode(0))).toEqual(Array.from(x));
  });

  it('fp16: relative error <= 2^-11 for normal values, exact for fp16-representable values', () => {
    const g = new E.Generator(3);
    const s = store({ shape: [1000], format: 'fp16' });
    let worst = 0;
    for (let r = 0; r < 10; r++) {
      const x = randomFloats(g, 1000, -14, 15); // |x| in [2^-14, 2^16): normal halves, below the 65504 limit
      for (let i = 0; i < x.length; i++) if (Math.abs(x[i]!) > 65504) x[i] = 65504;
      s.add(x, 0);
      const y = s.decode(s.size - 1);
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(y[i]! - x[i]!) / Math.abs(x[i]!));
    }
    console.log(`fp16 max relative round-trip error over 10000 normal values: ${worst.toExponential(4)} (bound 2^-11 = ${(2 ** -11).toExponential(4)})`);
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(worst).toBeGreaterThan(2 ** -11 * 0.95); // the bound is nearly reached

    const exact = Float32Array.from({ length: 1000 }, (_, i) => f16BitsToF32((i * 61) & 0x7bff) * (i % 2 ? -1 : 1));
    s.add(exact, 0);
    expect(Array.from(s.decode(s.size - 1))).toEqual(Array.from(exact));
  });

  it('fp16 subnormal range: absolute error <= 2^-25', () => {
    const s = store({ shape: [500], format: 'fp16' });
    const x = randomFloats(new E.Generator(4), 500, -26, -14);
    s.add(x, 0);
    const y = s.decode(0);
    for (let i = 0; i < x.length; i++) expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(2 ** -25);
  });

  it('uint8 image: lossless for Uint8Array pixels and for floats p/255; other floats are refused', () => {
    const s = store({ shape: [3, 7, 9], format: 'uint8' });
    const px = Uint8Array.from({ length: 189 }, (_, i) => (i * 37 + 11) & 255);
    s.add(px, 4);
    const asFloats = Float32Array.from(px, (p) => p / 255);
    s.add(asFloats, 5);
    expect(Array.from(s.decode(0))).toEqual(Array.from(asFloats));
    expect(Array.from(s.decode(1))).toEqual(Array.from(asFloats));
    expect(Array.from(s.packed(1).packed.subarray(0, 189))).toEqual(Array.from(px));
    for (let p = 0; p < 256; p++) expect(Math.round(PIXEL_VALUES[p]! * 255)).toBe(p);
    const bad = asFloats.slice();
    bad[5] = 0.5;
    expect(() => s.add(bad, 0)).toThrow(/value 0\.5 at index 5 is not an 8-bit pixel value.*quantization: 'affine'/);
    bad[5] = 1.2;
    expect(() => s.add(bad, 0)).toThrow(/value 1\.2/);
    expect(s.size).toBe(2);
  });

  it('uint8 affine: |err| <= (max - min)/510 (step rounded up by < 2^-15) + half a float32 ulp', () => {
    const g = new E.Generator(5);
    const cases: [string, () => number][] = [
      ['normal(0, 1)', () => g.normal()],
      ['uniform [-3, 5)', () => -3 + 8 * g.next()],
      ['offset 1000, range 1e-3', () => 1000 + 1e-3 * g.next()],
      ['tiny range 1e-6', () => 1e-6 * g.normal()],
    ];
    const s = store({ shape: [517], format: 'uint8', quantization: 'affine' });
    for (const [name, draw] of cases) {
      let worstRatio = 0;
      for (let r = 0; r < 8; r++) {
        const x = Float32Array.from({ length: 517 }, draw);
        let min = Infinity;
        let max = -Infinity;
        for (const v of x) [min, max] = [Math.min(min, v), Math.max(max, v)];
        const i = s.add(x, 0);
        const y = s.decode(i);
        const bound = ((max - min) / 510) * (1 + 2 ** -15) + ulp32(Math.max(Math.abs(min), Math.abs(max))) / 2;
        for (let j = 0; j < x.length; j++) {
          const err = Math.abs(y[j]! - x[j]!);
          expect(err, `${name}: element ${j}`).toBeLessThanOrEqual(bound);
          worstRatio = Math.max(worstRatio, err / ((max - min) / 510));
        }
        expect(y[x.indexOf(min)]).toBe(min); // min is the offset: exact
      }
      console.log(`uint8 affine, ${name}: max |err| = ${worstRatio.toPrecision(7)} x (max - min)/510`);
    }
    // A constant exemplar decodes exactly.
    const c = new Float32Array(517).fill(-2.75);
    expect(Array.from(s.decode(s.add(c, 0)))).toEqual(Array.from(c));
    expect(() => s.add(Float32Array.from({ length: 517 }, (_, i) => (i === 3 ? NaN : 0)), 0)).toThrow(/value NaN at index 3 is not finite/);
  });

  it('affine step has at most 16 significant bits and covers the range', () => {
    const g = new E.Generator(6);
    for (let r = 0; r < 2000; r++) {
      const lo = g.normal() * 10 ** (g.int(12) - 6);
      const hi = lo + g.next() * 10 ** (g.int(12) - 6);
      const step = affineStep(lo, hi);
      expect(step * 255).toBeGreaterThanOrEqual(hi - lo);
      expect(step).toBeLessThanOrEqual(((hi - lo) / 255) * (1 + 2 ** -15));
      const e = Math.floor(Math.log2(step));
      expect(Number.isInteger(step / 2 ** (e - 15))).toBe(true);
      expect(Math.fround(step)).toBe(step);
    }
    expect(affineStep(1, 1)).toBe(0);
  });
});

describe('GPU decode matches the CPU decode', () => {
  it('fp16: all 65536 half bit patterns unpack bit-exactly (NaNs stay NaN)', async () => {
    const halves = Uint16Array.from({ length: 0x10000 }, (_, h) => h);
    const t = unpackF16Gpu(new Uint8Array(halves.buffer), 1, [0x10000]);
    const gpu = new Uint32Array((await t.toArray()).buffer);
    t.dispose();
    let nans = 0;
    for (let h = 0; h < 0x10000; h++) {
      const cpu = f16BitsToF32(h);
      if (Number.isNaN(cpu)) {
        nans++;
        expect((gpu[h]! & 0x7f800000) === 0x7f800000 && (gpu[h]! & 0x7fffff) !== 0, `half 0x${h.toString(16)}`).toBe(true);
      } else if (gpu[h] !== bits(cpu)) {
        expect.fail(`half 0x${h.toString(16)}: GPU 0x${gpu[h]!.toString(16)}, CPU 0x${bits(cpu).toString(16)}`);
      }
    }
    expect(nans).toBe(2046);
  });

  const SHAPES = [[1], [7], [3, 5], [37], [2, 131], [257]];
  const formats: [string, Partial<ExemplarStoreOptions>][] = [
    ['float32', {}],
    ['fp16', { format: 'fp16' }],
    ['uint8 image', { format: 'uint8' }],
    ['uint8 affine', { format: 'uint8', quantization: 'affine' }],
    ['fp16 deflated', { format: 'fp16', compress: true }],
    ['uint8 image deflated', { format: 'uint8', compress: { level: 9 } }],
  ];
  for (const [name, opts] of formats) {
    it(`${name}: toTensor of repeated, unsorted indices equals the CPU decode bit for bit, over shapes ${SHAPES.map((s) => `[${s}]`).join(' ')}`, async () => {
      const g = new E.Generator(7);
      for (const shape of SHAPES) {
        const s = store({ shape, ...opts });
        const d = s.dim;
        for (let i = 0; i < 6; i++) {
          if (opts.format === 'uint8' && opts.quantization !== 'affine') s.add(Uint8Array.from({ length: d }, () => g.int(256)), i, i % 2);
          else s.add(Float32Array.from({ length: d }, () => g.normal() * 3), i, i % 2);
        }
        const idx = [4, 0, 4, 5, 2];
        const t = s.toTensor(idx);
        expect(t.shape).toEqual([idx.length, ...shape]);
        const gpu = await t.toArray();
        t.dispose();
        idx.forEach((i, r) => {
          const cpu = s.decode(i);
          const row = gpu.subarray(r * d, (r + 1) * d);
          if (!row.every((v, j) => bits(v) === bits(cpu[j]!))) expect.fail(`${name} ${shape}: exemplar ${i} differs`);
        });
        const empty = s.toTensor([]);
        expect(empty.shape).toEqual([0, ...shape]);
        empty.dispose();
      }
    });
  }
});

describe('GPU fp16 packing (pack2x16float)', () => {
  it('packs representable values and the special cases exactly like the CPU', async () => {
    const special = [0, -0, 1, -1, 65504, -65504, 65519, 65520, -65520, 1e6, -1e30, Infinity, -Infinity, 2 ** -14, 2 ** -24, -(2 ** -24), 3 * 2 ** -24, 1e-30, 0.5, 1024, 2049];
    const reps = Array.from({ length: 1000 }, (_, i) => f16BitsToF32((i * 131) & 0xfbff));
    const x = Float32Array.from([...special, ...reps, NaN]);
    const t = E.tensor(x, [1, x.length]);
    const w = packF16Gpu(t);
    const halves = new Uint16Array((await w.toArray()).buffer);
    t.dispose();
    w.dispose();
    for (let i = 0; i < x.length - 1; i++) expect(halves[i], `value ${x[i]}`).toBe(f32ToF16Bits(x[i]!));
    expect(halves[x.length - 1]).toBe(0x7e00);
  });

  it('rounds other values to the nearest half or a neighbour (implementation-defined); reports how often it differs from round-to-nearest-even', async () => {
    const g = new E.Generator(8);
    const x = randomFloats(g, 20000, -26, 16);
    const t = E.tensor(x, [20000 / 4, 4]);
    const w = packF16Gpu(t);
    const halves = new Uint16Array((await w.toArray()).buffer);
    t.dispose();
    w.dispose();
    let differ = 0;
    for (let i = 0; i < x.length; i++) {
      const rne = f32ToF16Bits(x[i]!);
      if (halves[i] === rne) continue;
      differ++;
      // A neighbour of the nearest half, on the other side of x (so x lies between the two).
      const gpuValue = f16BitsToF32(halves[i]!);
      const rneValue = f16BitsToF32(rne);
      expect(Math.abs(halves[i]! - rne), `value ${x[i]}`).toBe(1);
      expect((gpuValue - x[i]!) * (rneValue - x[i]!), `value ${x[i]}`).toBeLessThanOrEqual(0);
    }
    console.log(`GPU pack2x16float vs CPU round-to-nearest-even: ${differ} of ${x.length} random values differ by one ulp`);
  });

  it('addFromTensor: fp16 packs on the GPU, other formats encode the read-back floats like add()', async () => {
    const g = new E.Generator(9);
    for (const opts of [{ format: 'fp16' }, { format: 'float32' }, { format: 'uint8', quantization: 'affine' }] as const) {
      const a = store({ shape: [3, 5], ...opts });
      const b = store({ shape: [3, 5], ...opts });
      const x = Float32Array.from({ length: 4 * 15 }, () => Math.round(g.normal() * 64) / 64); // exact in fp16
      const t = E.tensor(x, [4, 3, 5]);
      expect(await a.addFromTensor(t, [1, 2, 3, 4], 7)).toEqual([0, 1, 2, 3]);
      t.dispose();
      for (let r = 0; r < 4; r++) b.add(x.subarray(r * 15, (r + 1) * 15), r + 1, 7);
      for (let r = 0; r < 4; r++) {
        expect(Array.from(a.packed(r).packed)).toEqual(Array.from(b.packed(r).packed));
        expect(a.label(r)).toBe(r + 1);
        expect(a.task(r)).toBe(7);
      }
    }
    const s = store({ shape: [3, 5] });
    const wrong = E.zeros([2, 15]);
    await expect(s.encodeTensor(wrong)).rejects.toThrow(/expects a float32 batch \[k, 3, 5\], got float32 \[2, 15\]/);
    wrong.dispose();
  });
});

describe('byte accounting and capacity at equal budgets', () => {
  it('bytes per exemplar and the exact capacity ratios', () => {
    const per = (shape: readonly number[], o: Partial<ExemplarStoreOptions>) => store({ shape, ...o }).bytesPerExemplar;
    // MNIST 1x28x28 (D = 784) and CIFAR 3x32x32 (D = 3072): fp16 exactly 1/2, uint8 exactly 1/4; affine adds 8 bytes.
    expect([per([1, 28, 28], {}), per([1, 28, 28], { format: 'fp16' }), per([1, 28, 28], { format: 'uint8' }), per([1, 28, 28], { format: 'uint8', quantization: 'affine' })]).toEqual([3136, 1568, 784, 792]);
    expect([per([3, 32, 32], {}), per([3, 32, 32], { format: 'fp16' }), per([3, 32, 32], { format: 'uint8' }), per([3, 32, 32], { format: 'uint8', quantization: 'affine' })]).toEqual([12288, 6144, 3072, 3080]);
    // Odd D pads to whole u32 words: D = 7 -> 28, 16, 8, 16 bytes.
    expect([per([7], {}), per([7], { format: 'fp16' }), per([7], { format: 'uint8' }), per([7], { format: 'uint8', quantization: 'affine' })]).toEqual([28, 16, 8, 16]);

    const budget = 100 * 12288; // 100 float32 CIFAR images
    const cap = (o: Partial<ExemplarStoreOptions>) => store({ shape: [3, 32, 32], ...o }).capacityFor(budget);
    expect([cap({}), cap({ format: 'fp16' }), cap({ format: 'uint8' }), cap({ format: 'uint8', quantization: 'affine' })]).toEqual([100, 200, 400, 398]);
    const mnist = (o: Partial<ExemplarStoreOptions>) => store({ shape: [1, 28, 28], ...o }).capacityFor(100 * 3136);
    expect([mnist({}), mnist({ format: 'fp16' }), mnist({ format: 'uint8' }), mnist({ format: 'uint8', quantization: 'affine' })]).toEqual([100, 200, 400, 395]);
  });

  it('bytes: packed payload, or the deflated size (never more than uncompressed)', () => {
    const plain = store({ shape: [1, 28, 28], format: 'uint8' });
    const packed = store({ shape: [1, 28, 28], format: 'uint8', compress: true });
    const noisy = store({ shape: [1, 28, 28], format: 'uint8', compress: true });
    const g = new E.Generator(10);
    for (let i = 0; i < 5; i++) {
      // A digit-like image: mostly zeros with a bright blob.
      const img = Uint8Array.from({ length: 784 }, (_, j) => (Math.hypot((j % 28) - 14, Math.floor(j / 28) - 14) < 6 + i ? 200 + g.int(56) : 0));
      plain.add(img, i);
      packed.add(img, i);
      noisy.add(Uint8Array.from({ length: 784 }, () => g.int(256)), i);
    }
    expect(plain.bytes).toBe(5 * 784);
    expect(packed.bytes).toBeLessThan(plain.bytes / 2);
    expect(noisy.bytes).toBe(5 * 784); // incompressible: kept raw
    for (let i = 0; i < 5; i++) expect(Array.from(packed.decode(i))).toEqual(Array.from(plain.decode(i)));
    console.log(`deflated uint8 digit-like images: ${packed.bytes} bytes vs ${plain.bytes} packed`);
    const before = packed.bytes;
    packed.remove(0);
    expect(packed.bytes).toBeLessThan(before);
    expect(store({ shape: [7], format: 'uint8', quantization: 'affine' }).capacityFor(15)).toBe(0);
  });
});

describe('store operations and errors', () => {
  it('add / get / replace / remove (the last exemplar moves into the hole)', () => {
    const s = store({ shape: [2], format: 'fp16' });
    for (let i = 0; i < 4; i++) s.add(Float32Array.of(i, -i), 10 + i, i % 2);
    expect(s.size).toBe(4);
    expect(s.get(2)).toEqual({ values: Float32Array.of(2, -2), label: 12, task: 0 });
    s.replace(1, Float32Array.of(9, 9), 99, 5);
    expect(s.get(1)).toEqual({ values: Float32Array.of(9, 9), label: 99, task: 5 });
    expect(s.remove(0)).toBe(3);
    expect(Array.from(s.labels())).toEqual([13, 99, 12]);
    expect(Array.from(s.tasks([2, 0]))).toEqual([0, 1]);
    expect(s.remove(2)).toBe(-1);
    expect(s.size).toBe(2);
    expect(s.bytes).toBe(2 * 4);
    s.clear();
    expect(s.size).toBe(0);
  });

  it('clear errors', () => {
    const s = store({ shape: [3, 5] });
    expect(() => s.add(new Float32Array(14), 0)).toThrow(/got 14 values, a float32 \[3, 5\] exemplar has 15/);
    expect(() => s.add(new Float32Array(15), 1.5)).toThrow(/label 1\.5 is not a 32-bit integer/);
    expect(() => s.get(0)).toThrow(/index 0 is out of range for a store of 0 exemplars/);
    expect(() => s.toTensor([3])).toThrow(/toTensor: index 3 is out of range/);
    expect(() => s.add({ packed: new Uint8Array(8), meta: new Float32Array(0) }, 0)).toThrow(/packed exemplar has 8 bytes.*needs 60/);
    expect(() => store({ shape: [4], format: 'fp16', quantization: 'affine' })).toThrow(/only applies to the 'uint8' format/);
    expect(() => store({ shape: [0] })).toThrow(/has no elements/);
    expect(() => store({ shape: [4], format: 'bf16' as never })).toThrow(/unknown format 'bf16'/);
    expect(() => s.capacityFor(-1)).toThrow(/byte budget/);
  });
});

describe('downscaled exemplars (stored small, resized back on the GPU)', () => {
  it('block means by hand: a 1x3x3 image at factor 2 is [[mean of 4, mean of 2], [mean of 2, the corner]]', () => {
    const img = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
    expect(Array.from(downsampleArea(img, [1, 3, 3], 2))).toEqual([3, 4.5, 7.5, 9]);
    expect(downscaledShape([3, 7, 9], 2)).toEqual([3, 4, 5]);
    // Pixels count as p / 255.
    expect(downsampleArea(Uint8Array.of(0, 255, 255, 0), [1, 2, 2], 2)[0]).toBeCloseTo(0.5, 7);
  });

  it('a factor of 2 stores a quarter of the values: 4x the exemplars at equal budget, combined with fp16 (8x) and uint8 (16x)', () => {
    const cap = (o: Partial<ExemplarStoreOptions>) => store({ shape: [3, 32, 32], ...o }).capacityFor(100 * 12288);
    expect([cap({ downscale: 2 }), cap({ downscale: 2, format: 'fp16' }), cap({ downscale: 2, format: 'uint8' })]).toEqual([400, 800, 1600]);
    const s = store({ shape: [3, 32, 32], downscale: 2 });
    expect([s.dim, s.bytesPerExemplar, s.downscale, [...s.storedShape]]).toEqual([3072, 3072, 2, [3, 16, 16]]);
  });

  const SHAPES: [number, number, number][] = [[3, 7, 9], [1, 5, 5], [2, 4, 6], [1, 1, 3]];
  for (const format of ['float32', 'fp16', 'uint8'] as const) {
    for (const upsample of ['bilinear', 'nearest'] as const) {
      it(`${format}, ${upsample}: CPU decode = float64 resize of the stored small image; GPU toTensor matches it, odd shapes`, async () => {
        const g = new E.Generator(12);
        for (const shape of SHAPES) {
          const D = shape[0] * shape[1] * shape[2];
          const s = store({ shape, format, downscale: 2, upsample });
          const small = downscaledShape(shape, 2);
          for (let i = 0; i < 3; i++) s.add(Uint8Array.from({ length: D }, () => g.int(256)), i);
          for (let i = 0; i < 3; i++) {
            // The stored small image, decoded by a store of the small shape fed the same packed bytes.
            const raw = store({ shape: small, format });
            raw.add(s.packed(i), 0);
            const smallValues = Array.from(raw.decode(0));
            const expected = upsample === 'bilinear'
              ? resizeBilinearRef(arr([1, ...small], smallValues), shape[1], shape[2]).data
              : Array.from({ length: D }, (_, j) => {
                const x = j % shape[2];
                const y = Math.floor(j / shape[2]) % shape[1];
                const c = Math.floor(j / (shape[1] * shape[2]));
                return smallValues[(c * small[1] + Math.floor(y / 2)) * small[2] + Math.floor(x / 2)]!;
              });
            expectClose(s.decode(i), expected, { atol: 1e-6, rtol: 1e-6 }, `decode ${format} ${upsample} [${shape}]`);
          }
          const idx = [2, 0, 2, 1];
          const x = s.toTensor(idx);
          expect(x.shape).toEqual([4, ...shape]);
          const got = (await x.toArray()) as Float32Array;
          x.dispose();
          idx.forEach((i, r) => {
            const part = got.subarray(r * D, (r + 1) * D);
            if (upsample === 'nearest') expect(Array.from(part)).toEqual(Array.from(s.decode(i)));
            else expectClose(part, Array.from(s.decode(i)), { atol: 1e-6, rtol: 1e-6 }, `GPU vs CPU ${format} [${shape}]`);
          });
        }
      });
    }
  }

  it('uint8 image rounds block means to 8-bit levels; the block means of a smooth image come back close', async () => {
    const s = store({ shape: [1, 4, 4], format: 'uint8', downscale: 2, upsample: 'nearest' });
    s.add(Uint8Array.of(0, 1, 10, 10, 0, 2, 10, 10, 20, 20, 30, 31, 20, 20, 30, 31), 0);
    // Block means, in pixel units, 0.75, 10, 20, 30.5 round to the levels 1, 10, 20, 31.
    expect(Array.from(s.decode(0), (v) => Math.round(v * 255))).toEqual([1, 1, 10, 10, 1, 1, 10, 10, 20, 20, 31, 31, 20, 20, 31, 31]);
    // addFromTensor goes through the same CPU downscale for every format (fp16 included).
    const h = store({ shape: [1, 4, 4], format: 'fp16', downscale: 2, upsample: 'nearest' });
    const t = E.tensor(Float32Array.from({ length: 16 }, (_, j) => j), [1, 1, 4, 4]);
    await h.addFromTensor(t, [0]);
    t.dispose();
    expect(Array.from(h.decode(0))).toEqual([2.5, 2.5, 4.5, 4.5, 2.5, 2.5, 4.5, 4.5, 10.5, 10.5, 12.5, 12.5, 10.5, 10.5, 12.5, 12.5]);
  });

  it('matches PyTorch: avg_pool2d(ceil_mode=True) block means, interpolate bilinear / nearest back (fixture from test/fixtures/memory/make_downscale_fixture.py)', async () => {
    const path = fileURLToPath(new URL('../fixtures/memory/downscale_fixture.json', import.meta.url));
    const fx = JSON.parse(readFileSync(path, 'utf8')) as { cases: { shape: [number, number, number]; factor: number; input: number[]; small: number[]; bilinear: number[]; nearest?: number[] }[] };
    expect(fx.cases).toHaveLength(3);
    for (const c of fx.cases) {
      const input = Float32Array.from(c.input);
      expectClose(downsampleArea(input, c.shape, c.factor), c.small, { atol: 1e-6, rtol: 1e-6 }, `block means [${c.shape}] / ${c.factor} vs avg_pool2d`);
      for (const mode of ['bilinear', 'nearest'] as const) {
        const want = mode === 'bilinear' ? c.bilinear : c.nearest;
        if (!want) continue;
        const s = store({ shape: c.shape, downscale: c.factor, upsample: mode });
        s.add(input, 0);
        expectClose(s.decode(0), want, { atol: 2e-6, rtol: 1e-5 }, `decode ${mode} [${c.shape}] vs PyTorch`);
        const x = s.toTensor([0]);
        expectClose(await x.toArray(), want, { atol: 2e-6, rtol: 1e-5 }, `toTensor ${mode} [${c.shape}] vs PyTorch`);
        x.dispose();
      }
    }
  });

  it('replay buffers and ER take the option; clear errors', () => {
    const b = new ReservoirBuffer({ shape: [3, 32, 32], downscale: 2, format: 'uint8', capacityBytes: 100 * 12288 });
    expect(b.capacity).toBe(1600);
    expect(() => store({ shape: [784], downscale: 2 })).toThrow(/ExemplarStore: downscale needs image exemplars \[C, H, W\], got shape \[784\]/);
    expect(() => store({ shape: [1, 4, 4], downscale: 0 })).toThrow(/downscale must be an integer factor >= 1, got 0/);
    expect(() => store({ shape: [1, 4, 4], upsample: 'nearest' })).toThrow(/upsample applies to downscaled exemplars only/);
    expect(() => store({ shape: [1, 2, 2], format: 'uint8', downscale: 2 }).add(Float32Array.of(2, 2, 2, 2), 0)).toThrow(/block mean 2 at index 0 is not in \[0, 1\]/);
  });
});
