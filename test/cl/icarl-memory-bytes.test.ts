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
async function run(memory: Pick<ICaRLOptions, 'memorySize' | 'memoryBytes' | 'memoryCompress' | 'memoryFormat' | 'memoryDownscale'>) {
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
        const one = createExemplarStore({ shape: store.shape, format: memory.memoryFormat, compress: memory.memoryCompress, downscale: memory.memoryDownscale });
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
  // Stored bytes of one 1x6x6 exemplar: float32 36 x 4, fp16 36 x 2, uint8 36, float32 downscaled 2x (3x3) 9 x 4.
  for (const [label, format, bytes] of [
    ['float32', { memoryFormat: 'float32' }, FLOAT32_BYTES],
    ['fp16', { memoryFormat: 'fp16' }, 72],
    ['uint8', { memoryFormat: 'uint8' }, 36],
    ['float32 downscaled 2x', { memoryDownscale: 2 }, 36],
  ] as const) {
    it(`uncompressed ${label}: the same exemplars and training as memorySize floor(bytes / ${bytes})`, async () => {
      const byCount = await run({ memorySize: 20, ...format });
      // 20 exemplars' bytes plus less than one more: the budget buys exactly 20.
      const byBytes = await run({ memoryBytes: 21 * bytes - 1, ...format });
      expect(byBytes.after.map((a) => [...a.sources])).toEqual(byCount.after.map((a) => [...a.sources]));
      expect(byBytes.taskLosses).toEqual(byCount.taskLosses);
      expect(byBytes.after.map((a) => a.bytes)).toEqual([20 * bytes, 20 * bytes]);
      expect(byCount.after[1]!.sources.get(0)!.length).toBe(5); // K / classes, as memorySize has always kept
    });
  }

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
    // Exemplar sources index the training set of the task that brought the class.
    const task0Train = tasks()[0]!.train;
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
          if (next !== undefined) expect(a.perClassBytes.get(c)! + sizeOf(task0Train.image(next))).toBeGreaterThan(perClass);
        } else {
          expect(src.length, `task 1 class ${c} keeps at least one exemplar`).toBeGreaterThan(0);
          // Old classes keep the longest prefix of what they held that fits; new ones of their herding order.
          const order = c < 2 ? deflated.after[0]!.sources.get(c)! : null;
          if (order) {
            expect(src).toEqual(order.slice(0, src.length));
            const next = order[src.length];
            if (next !== undefined) expect(a.perClassBytes.get(c)! + sizeOf(task0Train.image(next))).toBeGreaterThan(perClass);
          }
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
    const [t0, t1] = tasks() as [Task, Task];
    // Refused before training: nothing is learned, nothing stored.
    const small = new ICaRL({ model, memoryBytes: 2 * FLOAT32_BYTES - 1, epochs: 1 });
    await expect(small.learnTask(t0, [t0])).rejects.toThrow(/ICaRL: memoryBytes 287 leaves 143 bytes for each of the 2 classes seen after task 0, less than one uncompressed float32 exemplar \(144 bytes\); raise memoryBytes to at least 288/);
    expect(small.taskLosses).toEqual([]);
    expect(small.classes).toEqual([]);
    small.dispose();
    // Deflated too: a share below one uncompressed exemplar is refused, though some deflated ones might fit.
    const tiny = new ICaRL({ model: new TinyNet(1), memoryBytes: 20, memoryCompress: true, epochs: 1 });
    await expect(tiny.learnTask(t0, [t0])).rejects.toThrow(/ICaRL: memoryBytes 20 leaves 10 bytes for each of the 2 classes seen after task 0, less than one uncompressed float32 exemplar \(144 bytes\)/);
    expect(tiny.taskLosses).toEqual([]);
    tiny.dispose();
    // A budget that fits task 0's 2 classes but not task 1's 4: task 1 is refused before it trains, the
    // strategy stays as task 0 left it.
    const shrinking = new ICaRL({ model: new TinyNet(2), memoryBytes: 3 * FLOAT32_BYTES, memoryCompress: true, epochs: 1 });
    await shrinking.learnTask(t0, [t0]);
    const held = shrinking.memoryStats();
    await expect(shrinking.learnTask(t1, [t0, t1])).rejects.toThrow(/leaves 108 bytes for each of the 4 classes seen after task 1, less than one uncompressed float32 exemplar \(144 bytes\); raise memoryBytes to at least 576/);
    expect(shrinking.taskLosses).toHaveLength(1);
    expect(shrinking.classes).toEqual([0, 1]);
    expect(shrinking.memoryStats()).toEqual(held);
    shrinking.dispose();
    // Downscaled stores name the factor.
    const down = new ICaRL({ model: new TinyNet(3), memoryBytes: 40, memoryDownscale: 2, epochs: 1 });
    await expect(down.learnTask(t0, [t0])).rejects.toThrow(/less than one uncompressed float32 \(downscaled 2x\) exemplar \(36 bytes\)/);
    down.dispose();
  });
});
