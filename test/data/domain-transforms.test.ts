import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { permutePixels, rotate, rotationCosSin } from '../../src/data/index.js';
import { expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { permuteReference, rotateReference } from '../reference/domain-transforms.js';

useGPU();

function randomBatch(shape: [number, number, number, number], seed: number): Float32Array {
  const g = new E.Generator(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.next());
}

async function gpuApply(t: ReturnType<typeof rotate>, data: Float32Array, shape: [number, number, number, number]): Promise<Float32Array> {
  return E.scope(async () => {
    const x = E.tensor(data, shape);
    const y = t.apply(x);
    expect([...y.shape]).toEqual(shape);
    const out = (await y.toArray()) as Float32Array;
    expect(await x.toArray(), `${t.name}: input untouched`).toEqual(data);
    return out;
  });
}

describe('permutePixels', () => {
  it('matches the float64 reference on odd shapes, every channel moved alike', async () => {
    for (const shape of [[3, 2, 5, 7], [1, 1, 1, 3], [2, 3, 4, 1]] as [number, number, number, number][]) {
      const hw = shape[2] * shape[3];
      const perm = new E.Generator(hw).permutation(hw);
      const data = randomBatch(shape, 11);
      const got = await gpuApply(permutePixels(perm), data, shape);
      expect(Array.from(got), `permutePixels on [${shape}]`).toEqual(Array.from(permuteReference(data, shape, perm), Math.fround));
    }
  });

  it('rejects a non-permutation and a mismatched image size, naming the problem', async () => {
    expect(() => permutePixels([0, 1, 1])).toThrow(/index 1 appears twice/);
    expect(() => permutePixels([0, 3, 1])).toThrow(/entry 1 is 3, not an index in \[0, 3\)/);
    const t = permutePixels([2, 0, 1, 3]);
    expect(() => t.outputShape([1, 3, 3])).toThrow(/permutation of 4 positions cannot shuffle 3x3 images/);
  });
});

describe('rotate', () => {
  it('bilinear and nearest match the float64 reference at arbitrary angles on odd shapes', async () => {
    for (const [shape, deg] of [[[2, 3, 5, 7], 30], [[1, 2, 6, 4], -17.5], [[3, 1, 9, 9], 200]] as [[number, number, number, number], number][]) {
      const data = randomBatch(shape, 5);
      const bil = await gpuApply(rotate(deg, { interpolation: 'bilinear' }), data, shape);
      expectClose(bil, rotateReference(data, shape, deg, "bilinear"), { atol: 1e-5, rtol: 1e-5 }, `bilinear ${deg}° on [${shape}]`);
      const near = await gpuApply(rotate(deg), data, shape);
      const ref = rotateReference(data, shape, deg, 'nearest');
      // Nearest: float32 and float64 coordinates may round a point within ~1e-5 of a half-pixel boundary
      // differently; there either neighbour is accepted. Every other pixel must be exactly the reference's.
      const [c, s] = rotationCosSin(deg);
      const [, , h, w] = shape;
      let borderline = 0;
      for (let i = 0; i < ref.length; i++) {
        const x = i % w;
        const y = Math.floor(i / w) % h;
        const base = i - (i % (h * w));
        const sx = (w - 1) / 2 + c * (x - (w - 1) / 2) - s * (y - (h - 1) / 2);
        const sy = (h - 1) / 2 + s * (x - (w - 1) / 2) + c * (y - (h - 1) / 2);
        const options = (v: number): number[] => (Math.abs(v + 0.5 - Math.round(v + 0.5)) < 1e-5 ? [Math.round(v + 0.5), Math.round(v + 0.5) - 1] : [Math.floor(v + 0.5)]);
        const ys = options(sy);
        const xs = options(sx);
        if (ys.length * xs.length === 1) {
          expect(near[i], `nearest ${deg}° on [${shape}] at ${i}`).toBe(Math.fround(ref[i]!));
          continue;
        }
        borderline++;
        const allowed = ys.flatMap((yy) => xs.map((xx) => (yy < 0 || yy >= h || xx < 0 || xx >= w ? 0 : data[base + yy * w + xx]!)));
        expect(allowed, `nearest ${deg}° on [${shape}] at ${i} (on a half-pixel boundary)`).toContain(near[i]);
      }
      expect(borderline).toBeLessThan(ref.length);
    }
  });

  it('0° is the identity and 90° is an exact transpose followed by an up-down flip (counter-clockwise)', async () => {
    const shape: [number, number, number, number] = [2, 3, 5, 5];
    const data = randomBatch(shape, 3);
    for (const interpolation of ['nearest', 'bilinear'] as const) {
      expect(await gpuApply(rotate(0, { interpolation }), data, shape), `${interpolation} 0°`).toEqual(data);
      expect(await gpuApply(rotate(360, { interpolation }), data, shape), `${interpolation} 360°`).toEqual(data);
      const r90 = await gpuApply(rotate(90, { interpolation }), data, shape);
      const n = 5;
      const want = new Float32Array(data.length);
      for (let plane = 0; plane < 6; plane++) {
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) want[plane * 25 + i * n + j] = data[plane * 25 + j * n + (n - 1 - i)]!; // flipud(transpose(m))[i][j] = m[j][n-1-i]
      }
      expect(r90, `${interpolation} 90°`).toEqual(want);
    }
    // A hand-made case: the top-right pixel of a 3x3 image moves to the top-left under a counter-clockwise quarter turn.
    const img = new Float32Array(9);
    img[2] = 1;
    const out = await gpuApply(rotate(90), img, [1, 1, 3, 3]);
    expect(Array.from(out)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('rejects a non-finite angle and an unknown interpolation', () => {
    expect(() => rotate(NaN)).toThrow(/finite number of degrees/);
    expect(() => rotate(10, { interpolation: 'cubic' as 'nearest' })).toThrow(/'nearest' or 'bilinear'/);
  });
});
