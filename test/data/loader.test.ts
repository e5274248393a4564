import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { ImageDataset, DataLoader, streamSeed, normalize, randomCrop, randomHorizontalFlip, compose, type Batch } from '../../src/data/index.js';
import { expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { splitLeadingNormalize } from '../../src/data/transforms.js';
import { pixelsRef, normalizeRef, randomCropRef, randomHorizontalFlipRef } from '../reference/transforms.js';

useGPU();

/** n images of c x h x w with pseudo-random bytes (every value 0..255 appears), label i % classes. */
function makeDataset(n: number, c = 1, h = 3, w = 5, classes = 4): ImageDataset {
  const g = new E.Generator(99);
  const images = new Uint8Array(n * c * h * w);
  for (let i = 0; i < images.length; i++) images[i] = i < 256 ? i : g.int(256);
  return new ImageDataset({ images, labels: Int32Array.from({ length: n }, (_, i) => i % classes), channels: c, height: h, width: w });
}

/** Read every batch of one epoch back: shapes, indices, values and labels. */
async function collect(it: Iterable<Batch>): Promise<{ shape: number[]; yShape: number[]; indices: number[]; x: Float32Array; y: Int32Array }[]> {
  const out = [];
  for (const b of it) {
    out.push({ shape: [...b.x.shape], yShape: [...b.y.shape], indices: [...b.indices], x: (await b.x.toArray()) as Float32Array, y: (await b.y.toArray()) as Int32Array });
  }
  return out;
}

describe('DataLoader', () => {
  it('yields float32 pixels/255 (exactly) and int32 labels, with a partial last batch', async () => {
    const ds = makeDataset(23, 1, 3, 5); // 15 bytes per image: batches are not a multiple of 4 bytes
    const loader = new DataLoader(ds, { batchSize: 7 });
    expect(loader.len).toBe(4);
    const batches = await collect(loader);
    expect(batches.map((b) => b.shape)).toEqual([[7, 1, 3, 5], [7, 1, 3, 5], [7, 1, 3, 5], [2, 1, 3, 5]]);
    expect(batches.map((b) => b.yShape)).toEqual([[7], [7], [7], [2]]);
    expect(batches.flatMap((b) => b.indices)).toEqual([...Array(23).keys()]);
    for (const b of batches) {
      const pixels = b.indices.flatMap((i) => [...ds.image(i)]);
      expect(b.x).toEqual(Float32Array.from(pixels, (v) => v / 255)); // float32(v / 255), bit for bit
      expect([...b.y]).toEqual(b.indices.map((i) => ds.label(i)));
    }
  });

  it('dropLast drops the partial batch; a batch larger than the dataset gives one batch', async () => {
    const ds = makeDataset(10);
    const dropped = new DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(dropped.len).toBe(2);
    expect((await collect(dropped)).map((b) => b.indices.length)).toEqual([4, 4]);
    const big = new DataLoader(ds, { batchSize: 64 });
    expect(big.len).toBe(1);
    expect((await collect(big)).map((b) => b.shape)).toEqual([[10, 1, 3, 5]]);
    expect(new DataLoader(ds, { batchSize: 64, dropLast: true }).len).toBe(0);
    expect(await collect(new DataLoader(ds, { batchSize: 64, dropLast: true }))).toEqual([]);
  });

  it('seeded shuffle: reproducible, different each epoch, every index exactly once per epoch', async () => {
    const ds = makeDataset(37, 3, 2, 3);
    const a = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 5 });
    const b = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 5 });
    const c = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 6 });
    const epochs: number[][] = [];
    for (let e = 0; e < 3; e++) {
      const ea = (await collect(a)).flatMap((x) => x.indices);
      const eb = (await collect(b)).flatMap((x) => x.indices);
      expect(ea, `epoch ${e}: same seed, same order`).toEqual(eb);
      expect([...ea].sort((p, q) => p - q), `epoch ${e}: each index once`).toEqual([...Array(37).keys()]);
      expect(ea).toEqual([...a.order(e)]);
      epochs.push(ea);
    }
    expect(a.epoch).toBe(3);
    expect(epochs[0]).not.toEqual(epochs[1]);
    expect(epochs[1]).not.toEqual(epochs[2]);
    expect(epochs[0]).not.toEqual([...Array(37).keys()]);
    expect([...c.order(0)]).not.toEqual(epochs[0]);
    // batches(e) replays epoch e without moving the counter; values follow the indices
    const replay = await collect(a.batches(1));
    expect(replay.flatMap((x) => x.indices)).toEqual(epochs[1]);
    expect(a.epoch).toBe(3);
    const first = replay[0]!;
    expect(first.x).toEqual(Float32Array.from(first.indices.flatMap((i) => [...ds.image(i)]), (v) => v / 255));
    expect([...first.y]).toEqual(first.indices.map((i) => ds.label(i)));
  });

  it('applies the transform on the GPU, seeded per epoch (same as the reference with the documented generator)', async () => {
    const ds = makeDataset(9, 3, 7, 9);
    const mean = [0.5, 0.4, 0.3];
    const std = [0.2, 0.3, 0.4];
    const t = compose([randomCrop(5, 2), randomHorizontalFlip(), normalize(mean, std)]);
    const loader = new DataLoader(ds, { batchSize: 4, transform: t, seed: 3 });
    expect(loader.imageShape).toEqual([3, 5, 5]);
    for (let e = 0; e < 2; e++) {
      const batches = await collect(loader.batches(e));
      // The loader's augmentation generator for epoch e is seeded from (seed, e, stream 1).
      const gen = new E.Generator(streamSeed(3, e, 1));
      for (const b of batches) {
        const n = b.indices.length;
        const x = pixelsRef(b.indices.flatMap((i) => [...ds.image(i)]), [n, 3, 7, 9]);
        const expected = normalizeRef(randomHorizontalFlipRef(randomCropRef(x, 5, 5, 2, gen), 0.5, gen), mean, std);
        expect(b.shape).toEqual([n, 3, 5, 5]);
        expectClose(b.x, expected, { atol: 1e-5, rtol: 1e-5 }, `epoch ${e} batch at ${b.indices[0]}`);
      }
    }
    const e0 = (await collect(loader.batches(0)))[0]!.x;
    const e1 = (await collect(loader.batches(1)))[0]!.x;
    expect(e0).not.toEqual(e1);
    expect((await collect(loader.batches(0)))[0]!.x).toEqual(e0);
  });

  it('folds a leading normalize into the conversion (alone, or at the head of compose)', async () => {
    const ds = makeDataset(11, 3, 7, 9);
    const mean = [0.5, 0.4, 0.3];
    const std = [0.2, 0.3, 0.4];
    const alone = await collect(new DataLoader(ds, { batchSize: 6, transform: normalize(mean, std) }));
    for (const b of alone) {
      const x = pixelsRef(b.indices.flatMap((i) => [...ds.image(i)]), [b.indices.length, 3, 7, 9]);
      expectClose(b.x, normalizeRef(x, mean, std), { atol: 1e-6, rtol: 1e-6 }, 'fused normalize');
    }
    const gray = makeDataset(5, 1, 2, 3);
    const [g] = await collect(new DataLoader(gray, { batchSize: 5, transform: normalize([0.1307], [0.3081]) }));
    expectClose(g!.x, normalizeRef(pixelsRef(gray.images, [5, 1, 2, 3]), [0.1307], [0.3081]), { atol: 1e-6, rtol: 1e-6 }, 'fused normalize, 1 channel');
    // normalize first, then crop with zero padding: the padding zeros are not normalized
    const t = compose([normalize(mean, std), randomCrop(5, 2), randomHorizontalFlip()]);
    const loader = new DataLoader(ds, { batchSize: 6, transform: t, seed: 8 });
    const gen = new E.Generator(streamSeed(8, 0, 1));
    for (const b of await collect(loader)) {
      const x = normalizeRef(pixelsRef(b.indices.flatMap((i) => [...ds.image(i)]), [b.indices.length, 3, 7, 9]), mean, std);
      expectClose(b.x, randomHorizontalFlipRef(randomCropRef(x, 5, 5, 2, gen), 0.5, gen), { atol: 1e-6, rtol: 1e-6 }, 'normalize, crop, flip');
    }
  });

  it('splitLeadingNormalize finds a normalize at the head of (nested) compose only', () => {
    const n = normalize([0.5], [0.25]);
    const c = randomCrop(3);
    expect(splitLeadingNormalize(n)).toEqual([{ mean: [0.5], std: [0.25] }, undefined]);
    expect(splitLeadingNormalize(compose([n, c]))).toEqual([{ mean: [0.5], std: [0.25] }, c]);
    const [norm, rest] = splitLeadingNormalize(compose([compose([n, c]), randomHorizontalFlip()]));
    expect(norm).toEqual({ mean: [0.5], std: [0.25] });
    expect(rest!.name).toBe('compose([randomCrop([3, 3], padding=0), randomHorizontalFlip(p=0.5)])');
    expect(splitLeadingNormalize(compose([c, n]))).toEqual([null, expect.objectContaining({ name: expect.stringContaining('compose') })]);
    expect(splitLeadingNormalize(undefined)).toEqual([null, undefined]);
  });

  it('labelMap relabels without touching the dataset', async () => {
    const ds = makeDataset(8);
    const loader = new DataLoader(ds, { batchSize: 8, labelMap: { 0: 10, 2: 12 } });
    const [b] = await collect(loader);
    expect([...b!.y]).toEqual([10, 1, 12, 3, 10, 1, 12, 3]);
    expect([...ds.labels]).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    const viaMap = new DataLoader(ds, { batchSize: 8, labelMap: new Map([[3, 0]]) });
    expect([...viaMap.labels]).toEqual([0, 1, 2, 0, 0, 1, 2, 0]);
  });

  it('owns its batches: freed when the next one is requested and when the loop ends or breaks', async () => {
    const ds = makeDataset(20);
    const loader = new DataLoader(ds, { batchSize: 4 });
    const before = E.memory().undisposed;
    let prev: Batch | null = null;
    for (const b of loader) {
      if (prev) expect(prev.x.disposed && prev.y.disposed).toBe(true);
      expect(b.x.disposed).toBe(false);
      // the current batch and the prefetched next one are alive (2 tensors each)
      expect(E.memory().undisposed - before).toBeLessThanOrEqual(4);
      E.scope(() => {
        b.x.sum(); // a "step": its intermediates go with the scope, the batch stays
      });
      expect(b.x.disposed).toBe(false);
      prev = b;
    }
    expect(E.memory().undisposed).toBe(before);
    for (const b of loader) {
      prev = b;
      break;
    }
    expect(prev!.x.disposed).toBe(true);
    expect(E.memory().undisposed).toBe(before);
    // `for await` works too (a sync iterable)
    let count = 0;
    for await (const b of loader) count += b.indices.length;
    expect(count).toBe(20);
    expect(E.memory().undisposed).toBe(before);
  });

  it('rejects bad arguments with clear errors', () => {
    const ds = makeDataset(4, 1, 3, 5);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/DataLoader: batchSize must be a positive integer, got 0/);
    expect(() => new DataLoader(ds, { batchSize: 2.5 })).toThrow(/batchSize must be a positive integer, got 2.5/);
    expect(() => new DataLoader(ds, { batchSize: 2, seed: 0.5 })).toThrow(/seed must be an integer/);
    expect(() => new DataLoader({} as ImageDataset, { batchSize: 2 })).toThrow(/must be an ImageDataset/);
    expect(() => new DataLoader(ds, undefined as unknown as { batchSize: number })).toThrow(/options \{ batchSize, \.\.\. \} are required/);
    expect(() => new DataLoader(ds, { batchSize: 2, transform: randomCrop(8) })).toThrow(/crop 8x8 is larger than the 3x5 images/);
    expect(() => new DataLoader(ds, { batchSize: 2, transform: normalize([0, 0], [1, 1]) })).toThrow(/2 means\/stds for images with 1 channels/);
    expect(() => new DataLoader(ds, { batchSize: 2, labelMap: { 1: 0.5 } })).toThrow(/labelMap entry 1 -> 0.5/);
    expect(() => new DataLoader(ds, { batchSize: 2 }).batches(-1).next()).toThrow(/epoch must be a non-negative integer/);
  });
});
