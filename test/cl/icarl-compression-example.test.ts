// End-to-end test of examples/cl-icarl-compression.ts on tiny synthetic 1 x 8 x 8 images (6 classes,
// 3 tasks of 2) with a tiny MLP: every format runs iCaRL at the same byte budget, each holds the
// exemplars its stored size allows (computed here from an independent store, not hard-coded), the
// smaller formats hold more, the uncompressed ones stay within the budget, and every metric comes as
// mean ± std over two seeds with an accuracy-versus-classes curve.
import { describe, it, expect } from 'vitest';
import { useGPU } from '../helpers/gpu.js';
import { syntheticImages } from './synthetic.js';
import { createExemplarStore } from '../../src/cl/index.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { BenchMLP } from '../../examples/cl-bench/strategies.js';
import {
  runIcarlCompression, exemplarsInBudget, compressionMarkdown, reductions, channelStats, FORMAT_SPECS, type FormatName,
} from '../../examples/cl-icarl-compression.js';

useGPU();

const classes = [0, 1, 2, 3, 4, 5];
// base -120: about half of each prototype's pixels clip to 0, so deflate has something to remove.
const o = { side: 8, noise: 10, base: -120, range: 300 };
const data = { train: syntheticImages(classes, 20, 1, o), test: syntheticImages(classes, 3, 2, o) };
const formats: FormatName[] = ['float32', 'fp16', 'uint8', 'deflate', 'downscale'];
const budgetImages = 24;
const budget = budgetImages * 64 * 4;

describe('examples/cl-icarl-compression', () => {
  it('K per format: exact floor(budget / stored bytes) uncompressed, the mean deflated size when compressed', () => {
    for (const name of ['float32', 'fp16', 'uint8', 'downscale'] as const) {
      const store = createExemplarStore({ shape: [1, 8, 8], ...FORMAT_SPECS[name] });
      const k = exemplarsInBudget(FORMAT_SPECS[name], data.train, budget);
      expect(k.estimated).toBe(false);
      expect(k.bytesPerExemplar).toBe(store.bytesPerExemplar);
      expect(k.memorySize).toBe(Math.floor(budget / store.bytesPerExemplar));
    }
    const d = exemplarsInBudget(FORMAT_SPECS.deflate, data.train, budget);
    expect(d.estimated).toBe(true);
    const store = createExemplarStore({ shape: [1, 8, 8], format: 'float32', compress: true });
    for (let i = 0; i < data.train.length; i++) store.add(data.train.image(i), data.train.labels[i]!);
    expect(d.bytesPerExemplar).toBeCloseTo(store.bytes / store.size, 6); // fewer images than the calibration sample: all of them
    expect(d.memorySize).toBe(Math.floor(budget / d.bytesPerExemplar));
  });

  it('normalization statistics are the pixels / 255 mean and std', () => {
    const s = channelStats(data.train);
    const v = Array.from(data.train.images, (p) => p / 255);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    expect(s.mean[0]).toBeCloseTo(mean, 10);
    expect(s.std[0]).toBeCloseTo(std, 10);
  });

  it('every format at the same byte budget, two seeds: lower-byte formats hold more exemplars, mean ± std and a curve', async () => {
    const s = {
      formats, seeds: [0, 1], budgetImages, classesPerTask: 2, lr: 0.05, momentum: 0.9, batchSize: 16, epochs: 1,
      model: (inputs: number, n: number) => new BenchMLP(inputs, 8, n), testPerTask: 4,
    };
    expect(reductions(s)).toEqual(['4 test images per task (preset: all)']);
    const r = await runIcarlCompression(data, s);
    expect(r.budgetBytes).toBe(budget);
    expect(r.taskClasses).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(r.testSizes).toEqual([4, 4, 4]);
    expect(r.outcomes.map((x) => x.name)).toEqual(formats);
    const by = Object.fromEntries(r.outcomes.map((x) => [x.name, x]));
    for (const x of r.outcomes) {
      expect(x.seeded.strategy).toBe(`icarl/${x.name}`);
      expect(x.seeded.seeds).toEqual([0, 1]);
      // iCaRL gets the budget in bytes; no format holds more than it, in any seed.
      for (const b of x.heldBytes.perSeed) expect(b).toBeLessThanOrEqual(budget);
      if (!x.spec.compress) {
        // Uncompressed, that is floor(K / classes) per class of the 6 (each class has 20 training images).
        const perClass = Math.min(20, Math.floor(x.memorySize / classes.length));
        expect(x.heldExemplars.perSeed).toEqual([perClass * 6, perClass * 6]);
        expect(x.heldBytes.perSeed).toEqual([perClass * 6 * x.bytesPerExemplar, perClass * 6 * x.bytesPerExemplar]);
      } else {
        // The store really deflates: fewer bytes than the same exemplars uncompressed.
        expect(x.heldBytes.mean).toBeLessThan(x.heldExemplars.mean * 64 * 4);
      }
      expect(x.curve.classes).toEqual([2, 4, 6]);
      expect(x.curve.mean).toHaveLength(3);
      for (const [i, m] of x.curve.mean.entries()) {
        expect(m).toBeGreaterThanOrEqual(0);
        expect(m).toBeLessThanOrEqual(1);
        expect(Number.isFinite(x.curve.std[i]!)).toBe(true);
      }
      expect(x.finalAccuracy.mean).toBe(x.curve.mean[2]);
    }
    // Smaller stored exemplars buy more of them in the same bytes.
    expect(by.fp16!.memorySize).toBe(2 * by.float32!.memorySize);
    expect(by.uint8!.memorySize).toBe(4 * by.float32!.memorySize);
    expect(by.downscale!.memorySize).toBe(4 * by.float32!.memorySize);
    expect(by.deflate!.bytesPerExemplar).toBeLessThan(by.float32!.bytesPerExemplar);
    expect(by.deflate!.memorySize).toBeGreaterThan(by.float32!.memorySize);
    expect(by.uint8!.heldExemplars.mean).toBeGreaterThan(by.fp16!.heldExemplars.mean);
    expect(by.fp16!.heldExemplars.mean).toBeGreaterThan(by.float32!.heldExemplars.mean);
    expect(by.deflate!.heldExemplars.mean).toBeGreaterThan(by.float32!.heldExemplars.mean);
    const md = compressionMarkdown(r);
    for (const name of formats) expect(md).toContain(`| ${name}`);
    expect(md).toContain('accuracy (%) after classes');
  }, 600_000);

  it('3-channel images (the CIFAR-100 path): per-channel statistics, 3 x 8 x 8 inputs, downscaled and deflated memories', async () => {
    // Three channels from three synthetic draws of the same labels, channel-major per image.
    const rgb = (perClass: number, seed: number): ImageDataset => {
      const parts = [0, 1, 2].map((c) => syntheticImages([0, 1, 2, 3], perClass, seed + 10 * c, o));
      const D = 64;
      const images = new Uint8Array(parts[0]!.length * 3 * D);
      for (let i = 0; i < parts[0]!.length; i++) for (let c = 0; c < 3; c++) images.set(parts[c]!.images.subarray(i * D, (i + 1) * D), (i * 3 + c) * D);
      return new ImageDataset({ images, labels: parts[0]!.labels, channels: 3, height: 8, width: 8 });
    };
    const train = rgb(10, 5);
    const stats = channelStats(train);
    expect(stats.mean).toHaveLength(3);
    expect(new Set(stats.mean).size).toBe(3); // three different draws, three different means
    const r = await runIcarlCompression({ train, test: rgb(3, 6) }, {
      formats: ['downscale', 'deflate'], seeds: [0], budgetImages: 8, classesPerTask: 2, lr: 0.05, momentum: 0.9, batchSize: 16, epochs: 1,
      model: (inputs: number, n: number) => new BenchMLP(inputs, 8, n),
    });
    expect(r.budgetBytes).toBe(8 * 3 * 64 * 4);
    const [down, defl] = r.outcomes;
    expect(down!.bytesPerExemplar).toBe(3 * 16 * 4); // 3 x 4 x 4 float32
    expect(down!.memorySize).toBe(32);
    expect(down!.heldExemplars.mean).toBe(Math.min(10, Math.floor(32 / 4)) * 4);
    expect(down!.heldBytes.mean).toBe(down!.heldExemplars.mean * 3 * 16 * 4); // stored small, not at 3 x 8 x 8
    expect(defl!.memorySize).toBeGreaterThan(8);
    expect(defl!.heldExemplars.mean).toBeGreaterThan(8);
    expect(defl!.heldBytes.mean).toBeLessThanOrEqual(r.budgetBytes);
    expect(Number.isNaN(defl!.finalAccuracy.std)).toBe(true); // one seed: no std, never 0
  }, 600_000);
});
