import { describe, it, expect } from 'vitest';
import { ImageDataset } from '../../src/data/dataset.js';
import { classIncremental, splitMNIST2, fiveTaskSplit, appendDatasetClasses } from '../../src/cl/scenarios.js';

function fake(labels: number[], c = 1, h = 2, w = 2): ImageDataset {
  const images = new Uint8Array(labels.length * c * h * w).map((_, i) => i % 251);
  return new ImageDataset({ images, labels, channels: c, height: h, width: w });
}

const tenClasses = fake(Array.from({ length: 40 }, (_, i) => i % 10));

describe('scenarios', () => {
  it('Split-MNIST: digits 0-4 then 5-9, train and test filtered per task', () => {
    const tasks = splitMNIST2(tenClasses, tenClasses);
    expect(tasks.map((t) => t.classes)).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
    expect(tasks[0]!.train.classes()).toEqual([0, 1, 2, 3, 4]);
    expect(tasks[1]!.test.classes()).toEqual([5, 6, 7, 8, 9]);
    expect(tasks[0]!.train.length + tasks[1]!.train.length).toBe(40);
  });

  it('five tasks of two classes', () => {
    const tasks = fiveTaskSplit(tenClasses, tenClasses);
    expect(tasks).toHaveLength(5);
    expect(tasks[3]!.train.classes()).toEqual([6, 7]);
    expect(tasks.map((t) => t.id)).toEqual([0, 1, 2, 3, 4]);
  });

  it('appending another dataset: SVHN digits 7 and 8 become classes 10 and 11 after CIFAR-10', () => {
    const cifar = fake(Array.from({ length: 20 }, (_, i) => i % 10), 3, 2, 2);
    const svhn = fake([7, 8, 1, 7, 8, 0], 3, 2, 2);
    const tasks = appendDatasetClasses({ train: cifar, test: cifar }, { train: svhn, test: svhn }, [7, 8], [10, 11]);
    expect(tasks[0]!.classes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(tasks[1]!.classes).toEqual([10, 11]);
    expect([...tasks[1]!.train.labels]).toEqual([10, 11, 10, 11]);
    // The relabelled images are SVHN's own pixels.
    expect([...tasks[1]!.train.image(0)]).toEqual([...svhn.image(0)]);
  });

  it('rejects overlapping tasks, missing classes and mismatched image shapes', () => {
    expect(() => classIncremental(tenClasses, tenClasses, [[0, 1], [1, 2]])).toThrow(/class 1 appears in more than one task/);
    expect(() => classIncremental(tenClasses, tenClasses, [[0, 42]])).toThrow(/classes 42 do not occur/);
    const mono = fake([7, 8], 1, 2, 2);
    const rgb = fake([0, 1], 3, 2, 2);
    expect(() => appendDatasetClasses({ train: rgb, test: rgb }, { train: mono, test: mono }, [7, 8], [10, 11])).toThrow(/1x2x2 images, the base 3x2x2/);
    expect(() => appendDatasetClasses({ train: rgb, test: rgb }, { train: rgb, test: rgb }, [0], [1])).toThrow(/already base classes/);
  });
});
