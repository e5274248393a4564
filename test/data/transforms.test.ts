import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from '../../src/index.js';
import { normalize, randomCrop, randomHorizontalFlip, resize, compose, type GpuTransform } from '../../src/data/index.js';
import { expectClose, makeInputs } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { normalizeRef, randomCropRef, randomHorizontalFlipRef, resizeBilinearRef } from '../reference/transforms.js';
import { arr, type Arr } from '../reference/arr.js';

useGPU();

/** Random float32 batch as both an Arr and a GPU tensor. */
function batch(shape: number[], seed = 7): { ref: Arr; x: E.Tensor } {
  const [ref] = makeInputs([{ shape }], new E.Generator(seed));
  return { ref: ref!, x: E.tensor(Float32Array.from(ref!.data), shape) };
}

async function run(t: GpuTransform, shape: number[], seed: number, ref: (x: Arr, gen: E.Generator) => Arr, tol = 1e-6): Promise<void> {
  await E.scope(async () => {
    const { ref: xr, x } = batch(shape);
    const expected = ref(xr, new E.Generator(seed));
    const y = t.apply(x, new E.Generator(seed));
    expect([...y.shape], `${t.name}: output shape`).toEqual(expected.shape);
    expect(t.outputShape(shape.slice(1) as [number, number, number]), `${t.name}: outputShape()`).toEqual(expected.shape.slice(1));
    expectClose(await y.toArray(), expected, { atol: tol, rtol: tol }, `${t.name} on [${shape}]`);
    expect(await x.toArray(), `${t.name}: input untouched`).toEqual(Float32Array.from(xr.data));
  });
}

describe('normalize', () => {
  it('per channel, 3 channels and odd sizes', async () => {
    const mean = [0.4914, 0.4822, 0.4465];
    const std = [0.247, 0.243, 0.261];
    await run(normalize(mean, std), [3, 3, 7, 9], 0, (x) => normalizeRef(x, mean, std));
    await run(normalize(mean, std), [1, 3, 1, 1], 0, (x) => normalizeRef(x, mean, std));
  });
  it('one mean/std applies to every channel', async () => {
    await run(normalize([0.1307], [0.3081]), [5, 1, 11, 13], 0, (x) => normalizeRef(x, [0.1307], [0.3081]));
    await run(normalize([0.5], [2]), [2, 3, 5, 17], 0, (x) => normalizeRef(x, [0.5], [2]));
  });
  it('rejects bad arguments with clear errors', () => {
    expect(() => normalize([0.5], [0])).toThrow(/std must be finite and non-zero/);
    expect(() => normalize([0.5, 0.5], [1])).toThrow(/equal length/);
    expect(() => normalize(new Array(25).fill(0), new Array(25).fill(1))).toThrow(/at most 24 channels/);
    const t = normalize([0, 0], [1, 1]);
    expect(() => t.outputShape([3, 4, 4])).toThrow(/2 means\/stds for images with 3 channels/);
    E.scope(() => {
      expect(() => t.apply(E.zeros([1, 3, 2, 2]))).toThrow(/2 means\/stds for images with 3 channels/);
      expect(() => t.apply(E.zeros([2, 4]))).toThrow(/normalize: expects a float32 batch \[B, C, H, W\], got float32 of shape \[2, 4\]/);
      expect(() => t.apply(E.zeros([1, 2, 2, 2], { dtype: 'int32' }))).toThrow(/got int32 of shape \[1, 2, 2, 2\]/);
    });
  });
});

describe('randomCrop with zero padding, seeded', () => {
  it('3x7x9 images, crop 5x6 with padding 2, matches the reference drawn from the same seed', async () => {
    for (const seed of [0, 1, 42]) {
      await run(randomCrop([5, 6], 2), [4, 3, 7, 9], seed, (x, g) => randomCropRef(x, 5, 6, 2, g));
    }
  });
  it('crop larger than the image (only with padding), square size, no padding, and 1x1', async () => {
    await run(randomCrop([9, 11], 2), [3, 3, 7, 9], 5, (x, g) => randomCropRef(x, 9, 11, 2, g));
    await run(randomCrop(4), [6, 2, 7, 9], 3, (x, g) => randomCropRef(x, 4, 4, 0, g));
    await run(randomCrop(1, 1), [3, 1, 1, 1], 3, (x, g) => randomCropRef(x, 1, 1, 1, g));
    // padding p and size H + 2p: the output is the padded image itself
    await run(randomCrop([11, 13], 2), [2, 3, 7, 9], 9, (x) => randomCropRef(x, 11, 13, 2, new E.Generator(0)));
  });
  it('offsets vary across the images of a batch', async () => {
    // One-pixel images make the offset visible: the pixel lands at (padding - top, padding - left).
    const n = 64;
    const x = E.ones([n, 1, 1, 1]);
    const y = await randomCrop(1, 1).apply(x, new E.Generator(3)).toArray();
    const ones = Array.from(y).reduce((s, v) => s + v, 0);
    // the 1x1 window hits the pixel (offset (1,1) of a 3x3 padded image) with probability 1/9
    expect(ones).toBeGreaterThan(0);
    expect(ones).toBeLessThan(n / 2);
  });
  it('rejects bad arguments with clear errors', () => {
    expect(() => randomCrop(0)).toThrow(/randomCrop: size must be a positive integer, got 0/);
    expect(() => randomCrop([3, 2.5] as [number, number])).toThrow(/width must be a positive integer/);
    expect(() => randomCrop(3, -1)).toThrow(/padding must be a non-negative integer/);
    expect(() => randomCrop(10, 1).outputShape([1, 7, 9])).toThrow(/crop 10x10 is larger than the 7x9 images padded by 1 \(9x11\)/);
  });
});

describe('randomHorizontalFlip, seeded', () => {
  it('p = 0.5 matches the reference with the same seed, odd widths', async () => {
    for (const seed of [0, 11]) {
      await run(randomHorizontalFlip(), [8, 3, 7, 9], seed, (x, g) => randomHorizontalFlipRef(x, 0.5, g));
      await run(randomHorizontalFlip(0.5), [5, 2, 3, 1], seed, (x, g) => randomHorizontalFlipRef(x, 0.5, g));
    }
  });
  it('p = 1 mirrors every image, p = 0 none', async () => {
    const x = E.tensor([1, 2, 3, 4, 5, 6], [1, 1, 2, 3]);
    expect([...(await randomHorizontalFlip(1).apply(x).toArray())]).toEqual([3, 2, 1, 6, 5, 4]);
    expect([...(await randomHorizontalFlip(0).apply(x).toArray())]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => randomHorizontalFlip(1.5)).toThrow(/p must be a probability in \[0, 1\], got 1.5/);
  });
});

describe('resize (bilinear, align_corners=False)', () => {
  it('7x9 -> 4x5, 13x11, 7x9, 1x1 and 3x17 match the reference', async () => {
    for (const [oh, ow] of [[4, 5], [13, 11], [7, 9], [1, 1], [3, 17]] as const) {
      await run(resize(oh, ow), [2, 3, 7, 9], 0, (x) => resizeBilinearRef(x, oh, ow), 1e-5);
    }
    await run(resize(5, 3), [1, 1, 1, 1], 0, (x) => resizeBilinearRef(x, 5, 3), 1e-6);
  });

  it('matches PyTorch F.interpolate (fixture from test/fixtures/transforms/make_resize_fixture.py)', async () => {
    const path = fileURLToPath(new URL('../fixtures/transforms/resize_fixture.json', import.meta.url));
    const fx = JSON.parse(readFileSync(path, 'utf8')) as { input_shape: number[]; input: number[]; cases: { size: [number, number]; output: number[] }[] };
    expect(fx.cases.length).toBeGreaterThanOrEqual(4);
    await E.scope(async () => {
      const x = E.tensor(fx.input, fx.input_shape);
      for (const c of fx.cases) {
        const [oh, ow] = c.size;
        const y = resize(oh, ow).apply(x);
        expectClose(await y.toArray(), c.output, { atol: 2e-6, rtol: 1e-5 }, `resize to ${oh}x${ow} vs PyTorch`);
        // and the float64 reference agrees with PyTorch too
        expectClose(resizeBilinearRef(arr(fx.input_shape, fx.input), oh, ow).data, c.output, { atol: 2e-6, rtol: 1e-5 }, `reference resize to ${oh}x${ow} vs PyTorch`);
      }
    });
  });

  it('rejects bad sizes', () => {
    expect(() => resize(0, 3)).toThrow(/resize: height must be a positive integer, got 0/);
    expect(() => resize(3, 1.5)).toThrow(/width must be a positive integer/);
  });
});

describe('compose', () => {
  it('crop + flip + resize + normalize equals the references chained with one generator', async () => {
    const mean = [0.5, 0.25, 0.125];
    const std = [0.5, 2, 1];
    const t = compose([randomCrop([6, 8], 2), randomHorizontalFlip(), resize(4, 5), normalize(mean, std)]);
    expect(t.outputShape([3, 7, 9])).toEqual([3, 4, 5]);
    await run(t, [5, 3, 7, 9], 123, (x, g) => normalizeRef(resizeBilinearRef(randomHorizontalFlipRef(randomCropRef(x, 6, 8, 2, g), 0.5, g), 4, 5), mean, std), 1e-5);
  });

  it('frees intermediates, and rejects non-transforms and inputs that require a gradient', async () => {
    const t = compose([randomHorizontalFlip(), normalize([0], [1]), resize(3, 3)]);
    const x = E.rand([2, 1, 5, 5]);
    const before = E.memory().tensors;
    const y = t.apply(x);
    expect(E.memory().tensors).toBe(before + 1);
    y.dispose();
    const id = compose([]).apply(x);
    expect(id).not.toBe(x);
    id.dispose();
    expect(() => compose([{} as GpuTransform])).toThrow(/compose: element 0 is not a transform/);
    const g = E.rand([1, 1, 2, 2], { requiresGrad: true });
    expect(() => normalize([0], [1]).apply(g)).toThrow(/transforms carry no gradient/);
    expect(() => E.noGrad(() => normalize([0], [1]).apply(g).dispose())).not.toThrow();
    x.dispose();
    g.dispose();
  });
});
