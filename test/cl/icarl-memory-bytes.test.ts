// ICaRL with a byte budget (memoryBytes) instead of an exemplar count: per class floor(bytes / classes
// seen) stored bytes, the longest herding-order prefix that fits, deflated sizes counted as stored.
import { describe, it, expect } from 'vitest';
import { classIncremental, type Task } from '../../src/cl/scenarios.js';
import { runScenario } from '../../src/cl/strategy.js';
import { ICaRL, type ICaRLOptions } from '../../src/cl/strategies/icarl.js';
import { createExemplarStore } from '../../src/cl/memory/store.js';
import { ImageDataset } from '../../src/data/index.js';
import { useGPU } from '../helpers/gpu.js';
import { SIDE, synthetic, TinyNet } from '../helpers/icarl-fixtures.js';

useGPU();

/** The dataset with pixels rounded to 4 levels (0, 85, 170, 255): their float32 exemplars deflate to varied sizes, well below 144 bytes. */
function fourLevels(ds: ImageDataset): ImageDataset {
  const images = Uint8Array.from(ds.images, (p) => Math.round(p / 85) * 85);
  return new ImageDataset({ images, labels: ds.labels, channels: 1, height: SIDE, width: SIDE });
}
const TRAIN = fourLevels(synthetic(24, 1));
const TEST = fourLevels(synthetic(25, 2));
const tasks = (): Task[] => classIncremental(TRAIN, TEST, [[0, 1], [2, 3]]);
const FLOAT32_BYTES = SIDE * SIDE * 4;

/** Runs both tasks; per task, the exemplar sources of every class and the store's bytes. */
async function run(memory: Pick<ICaRLOptions, 'memorySize' | 'memoryBytes' | 'memoryCompress'>) {
  const icarl = new ICaRL({ model: new TinyNet(3), epochs: 3, lr: 0.2, batchSize: 16, seed: 4, ...memory });
  const after: { sources: Map<number, number[]>; bytes: number; perClassBytes: Map<number, number> }[] = [];
  try {
    const ts = tasks();
    for (let t = 0; t < ts.length; t++) {
      await icarl.learnTask(ts[t]!, ts.slice(0, t + 1));
      const store = icarl.store!;
      const perClassBytes = new Map<number, number>();
      // The store keeps each class's exemplars contiguous; re-store them one class at a time to count bytes.
      for (const c of icarl.classes) {
        const one = createExemplarStore({ shape: store.shape, compress: memory.memoryCompress });
        for (let i = 0; i < store.size; i++) if (store.label(i) === c) one.add(store.packed(i), c);
        perClassBytes.set(c, one.bytes);
      }
      after.push({ sources: new Map(icarl.classes.map((c) => [c, icarl.exemplarSources(c)])), bytes: store.bytes, perClassBytes });
    }
    return { after, taskLosses: [...icarl.taskLosses] };
  } finally {
    icarl.dispose();
  }
}

describe('ICaRL memoryBytes', () => {
  it('uncompressed: the same exemplars and training as memorySize floor(bytes / bytes per exemplar)', async () => {
    const byCount = await run({ memorySize: 20 });
    // 20 exemplars' bytes plus less than one more: the budget buys exactly 20.
    const byBytes = await run({ memoryBytes: 20 * FLOAT32_BYTES + FLOAT32_BYTES - 1 });
    expect(byBytes.after.map((a) => [...a.sources])).toEqual(byCount.after.map((a) => [...a.sources]));
    expect(byBytes.taskLosses).toEqual(byCount.taskLosses);
    expect(byBytes.after.map((a) => a.bytes)).toEqual([20 * FLOAT32_BYTES, 20 * FLOAT32_BYTES]);
  });

  it('deflated: never over budget, more exemplars than the uncompressed count, each class the longest herding prefix that fits', async () => {
    const budget = 12 * FLOAT32_BYTES; // 6 float32 exemplars per class after task 0, 3 after task 1
    const deflated = await run({ memoryBytes: budget, memoryCompress: true });
    // All 24 images of a class, in herding order (task 0 trains the same way whatever the memory).
    const everything = await run({ memorySize: 48 });
    const sizeOf = (img: Uint8Array) => {
      const s = createExemplarStore({ shape: [1, SIDE, SIDE], compress: true });
      s.add(img, 0);
      return s.bytes;
    };
    for (const [t, classes] of [[0, 2], [1, 4]] as const) {
      const a = deflated.after[t]!;
      const perClass = Math.floor(budget / classes);
      expect(a.bytes, `task ${t}: bytes held within the budget`).toBeLessThanOrEqual(budget);
      let held = 0;
      for (const [c, src] of a.sources) {
        held += src.length;
        expect(a.perClassBytes.get(c)!, `task ${t} class ${c}`).toBeLessThanOrEqual(perClass);
        if (t === 0) {
          // A prefix of the class's full herding order, and the next exemplar of that order would not fit.
          const order = everything.after[0]!.sources.get(c)!;
          expect(src).toEqual(order.slice(0, src.length));
          const next = order[src.length];
          if (next !== undefined) expect(a.perClassBytes.get(c)! + sizeOf(TRAIN.image(next))).toBeGreaterThan(perClass);
        } else if (c < 2) {
          // Old classes keep a prefix of what they held.
          expect(src).toEqual(deflated.after[0]!.sources.get(c)!.slice(0, src.length));
        }
      }
      expect(held, `task ${t}: deflating buys exemplars`).toBeGreaterThan(Math.floor(budget / FLOAT32_BYTES));
    }
    // runScenario reports the bytes actually stored.
    const icarl = new ICaRL({ model: new TinyNet(3), epochs: 1, lr: 0.2, batchSize: 16, seed: 4, memoryBytes: budget, memoryCompress: true });
    try {
      const r = await runScenario(icarl, tasks());
      expect(r.memory!.bytes).toBeLessThanOrEqual(budget);
      expect(r.memory!.bytes).toBe(icarl.store!.bytes);
    } finally {
      icarl.dispose();
    }
  });

  it('rejects a missing, doubled or too small budget with clear errors', async () => {
    const model = new TinyNet(0);
    expect(() => new ICaRL({ model })).toThrow(/ICaRL: give exactly one of memorySize \(K exemplars\) and memoryBytes \(a budget in stored bytes\), got neither/);
    expect(() => new ICaRL({ model, memorySize: 4, memoryBytes: 1000 })).toThrow(/got both/);
    expect(() => new ICaRL({ model, memoryBytes: -1 })).toThrow(/ICaRL: memoryBytes must be a positive integer, got -1/);
    const [t0] = tasks() as [Task];
    const small = new ICaRL({ model, memoryBytes: 2 * FLOAT32_BYTES - 1, epochs: 1 });
    await expect(small.learnTask(t0, [t0])).rejects.toThrow(/ICaRL: memoryBytes 287 leaves 143 bytes for each of the 2 classes seen after task 0, less than one float32 exemplar \(144 bytes\); raise memoryBytes to at least 288/);
    small.dispose();
    const tiny = new ICaRL({ model: new TinyNet(1), memoryBytes: 20, memoryCompress: true, epochs: 1 });
    await expect(tiny.learnTask(t0, [t0])).rejects.toThrow(/ICaRL: memoryBytes 20 leaves 10 bytes for each class after task 0, too few for any exemplar of class 0; raise memoryBytes/);
    tiny.dispose();
  });
});
