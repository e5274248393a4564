import { describe, it, expect } from 'vitest';
import { ImageDataset } from '../../src/data/dataset.js';
import { permutedMNIST, rotatedMNIST, pixelPermutations } from '../../src/cl/index.js';
import { useGPU } from '../helpers/gpu.js';
import { permuteReference, rotateReference } from '../reference/domain-transforms.js';

useGPU();

/** 30 odd-sized 1x5x3 8-bit images of 3 classes. */
function images(seed: number): ImageDataset {
  const n = 30;
  const px = Uint8Array.from({ length: n * 15 }, (_, i) => (i * 37 + seed * 11) % 256);
  return new ImageDataset({ images: px, labels: Array.from({ length: n }, (_, i) => i % 3), channels: 1, height: 5, width: 3 });
}

describe('domain-incremental scenarios', () => {
  it('permutedMNIST: seeded permutations (every task, the first included), the same classes in every task, images moved exactly', async () => {
    const train = images(1);
    const test = images(2);
    const tasks = await permutedMNIST(train, test, { tasks: 3, seed: 7 });
    expect(tasks.map((t) => t.id)).toEqual([0, 1, 2]);
    expect(tasks.map((t) => t.classes)).toEqual([[0, 1, 2], [0, 1, 2], [0, 1, 2]]);
    const perms = pixelPermutations(15, 3, 7);
    for (const p of perms) expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(pixelPermutations(15, 3, 7)).toEqual(perms); // seeded: the same again
    expect(pixelPermutations(15, 3, 8)).not.toEqual(perms);
    expect(perms[0]).not.toEqual(perms[1]);
    tasks.forEach((t, k) => {
      expect([...t.train.labels]).toEqual([...train.labels]);
      expect([...t.test.labels]).toEqual([...test.labels]);
      expect(t.transform?.name).toBe('permutePixels(15)');
      const want = permuteReference(train.images, [30, 1, 5, 3], perms[k]!);
      expect([...t.train.images], `task ${k} train images`).toEqual([...want]);
      expect([...t.test.images], `task ${k} test images`).toEqual([...permuteReference(test.images, [30, 1, 5, 3], perms[k]!)]);
    });
  });

  it('rotatedMNIST: one task per angle; 0° keeps the images, nearest moves 8-bit pixels exactly, bilinear rounds to 8 bits', async () => {
    const train = images(3);
    const tasks = await rotatedMNIST(train, train, { angles: [0, 90, 180] });
    expect(tasks.map((t) => t.classes)).toEqual([[0, 1, 2], [0, 1, 2], [0, 1, 2]]);
    expect([...tasks[0]!.train.images]).toEqual([...train.images]);
    const v = Float64Array.from(train.images, (p) => p / 255);
    for (const [k, deg] of [[1, 90], [2, 180]] as const) {
      const want = Array.from(rotateReference(v, [30, 1, 5, 3], deg, 'nearest'), (x) => Math.round(x * 255));
      expect([...tasks[k]!.train.images], `${deg}°`).toEqual(want);
    }
    const [bil] = await rotatedMNIST(train, train, { angles: [33], interpolation: 'bilinear' });
    const ref = rotateReference(v, [30, 1, 5, 3], 33, 'bilinear');
    let maxErr = 0;
    bil!.train.images.forEach((p, i) => (maxErr = Math.max(maxErr, Math.abs(p - ref[i]! * 255))));
    expect(maxErr).toBeLessThanOrEqual(0.5 + 1e-3);
    await expect(rotatedMNIST(train, train, { angles: [] })).rejects.toThrow(/options need angles/);
  });
});
