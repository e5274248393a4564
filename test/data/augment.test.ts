import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from '../../src/index.js';
import {
  randomResizedCrop, resizedCropWindow, resizedCrop, colorJitter, adjustColor, randomGrayscale, toGrayscale, randomHorizontalFlip, compose, type GpuTransform,
} from '../../src/data/index.js';
import { expectClose, makeInputs } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { colorJitterRef, randomGrayscaleRef, randomResizedCropRef, resizedCropWindowRef } from '../reference/augment.js';
import { randomHorizontalFlipRef } from '../reference/transforms.js';
import type { Arr } from '../reference/arr.js';

useGPU();

/** Random images in [0, 1] as both an Arr and a GPU tensor. */
function batch(shape: number[], seed = 11): { ref: Arr; x: E.Tensor } {
  const [ref] = makeInputs([{ shape, low: 0, high: 1 }], new E.Generator(seed));
  return { ref: ref!, x: E.tensor(Float32Array.from(ref!.data), shape) };
}

async function run(t: GpuTransform, shape: number[], seed: number, ref: (x: Arr, gen: E.Generator) => Arr, tol = 2e-6): Promise<void> {
  await E.scope(async () => {
    const { ref: xr, x } = batch(shape, seed + 100);
    const expected = ref(xr, new E.Generator(seed));
    const y = t.apply(x, new E.Generator(seed));
    expect([...y.shape], `${t.name}: output shape`).toEqual(expected.shape);
    expect(t.outputShape(shape.slice(1) as [number, number, number]), `${t.name}: outputShape()`).toEqual(expected.shape.slice(1));
    expectClose(await y.toArray(), expected, { atol: tol, rtol: tol }, `${t.name} on [${shape}]`);
    expect(await x.toArray(), `${t.name}: input untouched`).toEqual(Float32Array.from(xr.data));
  });
}

describe('randomResizedCrop (torchvision window, bilinear, no antialias), seeded', () => {
  it('odd shapes and sizes match the float64 reference drawn from the same seed', async () => {
    const cases: [number[], [number, number], [number, number]][] = [
      [[3, 3, 7, 9], [5, 6], [0.08, 1]],
      [[2, 1, 13, 11], [4, 4], [0.2, 1]],
      [[4, 3, 5, 5], [9, 7], [0.2, 1]], // upsampling windows
      [[1, 3, 1, 1], [3, 3], [0.5, 1]],
    ];
    for (const [shape, size, scale] of cases) {
      for (const seed of [0, 1]) {
        await run(randomResizedCrop(size, { scale }), shape, seed, (x, g) => randomResizedCropRef(x, size[0], size[1], scale, [3 / 4, 4 / 3], g), 1e-5);
      }
    }
  });

  it('windows lie inside the image with an area fraction in scale (up to rounding); impossible ratios fall back to the central crop', () => {
    const g = new E.Generator(3);
    for (let i = 0; i < 300; i++) {
      const [top, left, h, w] = resizedCropWindow(g, 32, 32, [0.2, 1], [3 / 4, 4 / 3]);
      expect(top >= 0 && left >= 0 && h >= 1 && w >= 1 && top + h <= 32 && left + w <= 32).toBe(true);
      expect(h * w).toBeGreaterThanOrEqual(Math.floor(0.2 * 1024 * 0.85));
    }
    // A 7x9 image asked for aspect 3-4 at ~all of its area: no attempt fits; the central crop of
    // aspect 3 is 3 rows by 9 columns, starting at row (7 - 3) / 2 = 2.
    expect(resizedCropWindow(new E.Generator(0), 7, 9, [0.99, 1], [3, 4])).toEqual([2, 0, 3, 9]);
    expect(resizedCropWindowRef(new E.Generator(0), 7, 9, [0.99, 1], [3, 4])).toEqual([2, 0, 3, 9]);
  });

  it('rejects bad arguments with clear errors', () => {
    expect(() => randomResizedCrop(0)).toThrow(/randomResizedCrop: size must be a positive integer/);
    expect(() => randomResizedCrop(8, { scale: [0.5, 2] })).toThrow(/scale is a fraction of the image area, at most 1/);
    expect(() => randomResizedCrop(8, { ratio: [2, 1] })).toThrow(/ratio must be \[low, high\] with 0 < low <= high/);
    expect(() => randomResizedCrop(8).apply(E.zeros([2, 8, 8]))).toThrow(/expects a float32 batch \[B, C, H, W\], got float32 of shape \[2, 8, 8\]/);
  });
});

describe('colorJitter (torchvision brightness/contrast/saturation, per-image factors), seeded', () => {
  it('RGB and gray odd shapes, p = 0.8, match the float64 reference (random order, clamping exercised)', async () => {
    for (const shape of [[3, 3, 7, 9], [2, 1, 5, 11], [5, 3, 1, 1], [2, 3, 17, 19]]) {
      for (const seed of [0, 1, 2]) {
        await run(colorJitter(0.4, 0.4, 0.4, { p: 0.8 }), shape, seed, (x, g) => colorJitterRef(x, [0.4, 0.4, 0.4], 0.8, g), 1e-5);
      }
    }
  });

  it('single operations: contrast blends towards the gray mean; brightness 0.9 can reach factor 0.1', async () => {
    await run(colorJitter(0, 0.5, 0), [4, 3, 6, 7], 5, (x, g) => colorJitterRef(x, [0, 0.5, 0], 1, g), 1e-5);
    await run(colorJitter(0.9, 0, 0), [3, 1, 4, 9], 6, (x, g) => colorJitterRef(x, [0.9, 0, 0], 1, g), 1e-5);
    await run(colorJitter(0, 0, 0.8), [3, 3, 4, 9], 7, (x, g) => colorJitterRef(x, [0, 0, 0.8], 1, g), 1e-5);
  });

  it('saturation leaves a 1-channel image unchanged, and p = 0 leaves every image unchanged', async () => {
    const { x } = batch([2, 1, 5, 5]);
    expect(await colorJitter(0, 0, 0.9).apply(x, new E.Generator(0)).toArray()).toEqual(await x.toArray());
    const { x: rgb } = batch([2, 3, 5, 5]);
    expect(await colorJitter(0.4, 0.4, 0.4, { p: 0 }).apply(rgb, new E.Generator(0)).toArray()).toEqual(await rgb.toArray());
  });

  it('rejects bad arguments and channel counts with clear errors', () => {
    expect(() => colorJitter(-0.1)).toThrow(/colorJitter: brightness must be a finite number >= 0, got -0.1/);
    expect(() => colorJitter(0.4, 0, 0, { p: 2 })).toThrow(/colorJitter: p must be a probability in \[0, 1\], got 2/);
    expect(() => colorJitter(0.4).apply(E.zeros([1, 2, 3, 3]))).toThrow(/colorJitter: colour operations need 1 \(gray\) or 3 \(RGB\) channels, got 2/);
  });
});

describe('randomGrayscale, seeded', () => {
  it('p = 0.5 on RGB odd shapes matches the reference; gray images stay as they are', async () => {
    for (const shape of [[5, 3, 7, 9], [3, 3, 1, 13]]) await run(randomGrayscale(0.5), shape, 4, (x, g) => randomGrayscaleRef(x, 0.5, g));
    await run(randomGrayscale(1), [2, 1, 3, 5], 4, (x, g) => randomGrayscaleRef(x, 1, g));
  });

  it('p = 1 makes the three channels equal to 0.2989 R + 0.587 G + 0.114 B', async () => {
    const x = E.tensor([1, 0, 0.5, 0, 1, 0.5, 0, 0, 0.5], [1, 3, 1, 3]);
    const y = [...(await randomGrayscale(1).apply(x).toArray())];
    // R = [1, 0, 0.5], G = [0, 1, 0.5], B = [0, 0, 0.5].
    const expected = [0.2989, 0.587, 0.5 * (0.2989 + 0.587 + 0.114)];
    for (let c = 0; c < 3; c++) for (let p = 0; p < 3; p++) expect(y[c * 3 + p]).toBeCloseTo(expected[p]!, 6);
  });
});

describe("SCR's four augmentations chained", () => {
  it('crop + flip + jitter + grayscale equal the references chained with one generator', async () => {
    const t = compose([randomResizedCrop([8, 8], { scale: [0.2, 1] }), randomHorizontalFlip(), colorJitter(0.4, 0.4, 0.4, { p: 0.8 }), randomGrayscale(0.2)]);
    await run(t, [6, 3, 11, 9], 9, (x, g) => {
      let y = randomResizedCropRef(x, 8, 8, [0.2, 1], [3 / 4, 4 / 3], g);
      y = randomHorizontalFlipRef(y, 0.5, g);
      y = colorJitterRef(y, [0.4, 0.4, 0.4], 0.8, g);
      return randomGrayscaleRef(y, 0.2, g);
    }, 1e-5);
  });
});

describe('PyTorch parity (fixture from test/fixtures/augment/make_augment_fixture.py)', () => {
  interface Fixture {
    inputs: { shape: number[]; values: number[] }[];
    cases: { kind: 'adjust' | 'grayscale' | 'resizedCrop'; op?: 'brightness' | 'contrast' | 'saturation'; input: number; factors?: number[]; windows?: number[][]; size?: [number, number]; output: number[] }[];
  }
  const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/augment/augment_fixture.json', import.meta.url)), 'utf8')) as Fixture;

  it('adjustColor (brightness, contrast, saturation), toGrayscale and resizedCrop match torch, RGB and gray', async () => {
    expect(fx.cases.length).toBe(12);
    await E.scope(async () => {
      for (const c of fx.cases) {
        const { shape, values } = fx.inputs[c.input]!;
        const x = E.tensor(values, shape);
        const y = c.kind === 'adjust' ? adjustColor(x, c.op!, c.factors!)
          : c.kind === 'grayscale' ? toGrayscale(x)
            : resizedCrop(x, c.windows!.flat(), c.size![0], c.size![1]);
        expectClose(await y.toArray(), c.output, { atol: 2e-6, rtol: 1e-5 }, `${c.kind} ${c.op ?? ''} [${shape}] vs PyTorch`);
      }
    });
  });

  it('resizedCrop and adjustColor reject windows outside the image and wrong counts', () => {
    const x = E.zeros([2, 3, 4, 4]);
    expect(() => resizedCrop(x, [0, 0, 4, 4, 1, 1, 4, 4], 2, 2)).toThrow(/resizedCrop: window 1 \[top 1, left 1, 4x4\] does not lie inside the 4x4 image/);
    expect(() => resizedCrop(x, [0, 0, 4, 4], 2, 2)).toThrow(/needs 4 window values .* 8 for 2 images; got 4/);
    expect(() => adjustColor(x, 'brightness', [1])).toThrow(/adjustColor: needs one factor per image \(2\), got 1/);
    expect(() => adjustColor(x, 'hue' as never, [1, 1])).toThrow(/adjustColor: op must be 'brightness', 'contrast' or 'saturation'/);
    expect(() => toGrayscale(x, [1])).toThrow(/toGrayscale: needs one flag per image \(2\), got 1/);
    x.dispose();
  });
});
