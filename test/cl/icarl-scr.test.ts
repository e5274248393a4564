import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { DataLoader, compose, randomCrop, randomHorizontalFlip, type GpuTransform } from '../../src/data/index.js';
import { classIncremental, type Task } from '../../src/cl/scenarios.js';
import { runScenario, strategyAccuracy, type Strategy } from '../../src/cl/strategy.js';
import { ICaRL } from '../../src/cl/strategies/icarl.js';
import { SCR, scrAugmentations } from '../../src/cl/strategies/scr.js';
import { ReservoirBuffer } from '../../src/cl/buffers/reservoir.js';
import { supConLoss } from '../../src/cl/losses.js';
import { useGPU } from '../helpers/gpu.js';
import { SIDE, NUM_CLASSES, synthetic, TinyNet } from '../helpers/icarl-fixtures.js';

useGPU();

const TRAIN = synthetic(24, 1);
const TEST = synthetic(25, 2);
const tasks = (): Task[] => classIncremental(TRAIN, TEST, [[0, 1], [2, 3]]);
const K = 20;

/** Plain fine-tuning with cross-entropy and argmax prediction: the forgetting baseline. */
function naive(model: TinyNet, epochs: number, lr: number): Strategy {
  return {
    name: 'naive',
    async learnTask(task) {
      const opt = new E.SGD(model.parameters(), { lr });
      await E.fit(model, new DataLoader(task.train, { batchSize: 16, shuffle: true, seed: task.id }), { optimizer: opt, epochs, progress: false });
      opt.dispose();
    },
    predict: (x) => E.noGrad(() => E.argmax(model.forward(x), 1)),
    dispose: () => model.dispose(),
  };
}

// ------------------------------------------------------------------ iCaRL

describe('ICaRL', () => {
  it('keeps K / classes exemplars per class, reduces by truncating the herding order, and resists forgetting', async () => {
    const [t0, t1] = tasks() as [Task, Task];
    const icarl = new ICaRL({ model: new TinyNet(3), memorySize: K, epochs: 40, lr: 0.2, batchSize: 16, seed: 4 });
    try {
      await icarl.learnTask(t0, [t0]);
      expect([...icarl.exemplarCounts()]).toEqual([[0, 10], [1, 10]]);
      const before = new Map([0, 1].map((c) => [c, icarl.exemplarSources(c)]));
      const acc00 = await strategyAccuracy(icarl, t0.test);
      expect(acc00).toBeGreaterThan(0.9);

      await icarl.learnTask(t1, [t0, t1]);
      expect([...icarl.exemplarCounts()]).toEqual([[0, 5], [1, 5], [2, 5], [3, 5]]);
      for (const c of [0, 1]) expect(icarl.exemplarSources(c), `class ${c} keeps a prefix`).toEqual(before.get(c)!.slice(0, 5));

      // The store holds the images themselves, grouped by class in herding order.
      const store = icarl.store!;
      expect(store.size).toBe(K);
      expect(icarl.memoryStats()).toEqual({ exemplars: K, bytes: K * 36 * 4 });
      let at = 0;
      for (const [c, task] of [[0, t0], [1, t0], [2, t1], [3, t1]] as const) {
        for (const s of icarl.exemplarSources(c)) {
          expect(store.label(at)).toBe(c);
          const px = Array.from(store.decode(at), (v) => Math.round(v * 255));
          expect(px).toEqual([...task.train.image(s)]);
          at++;
        }
      }
      // Distinct exemplars of the right class.
      for (const [c, task] of [[2, t1], [3, t1]] as const) {
        const src = icarl.exemplarSources(c);
        expect(new Set(src).size).toBe(src.length);
        for (const s of src) expect(task.train.label(s)).toBe(c);
      }

      const acc10 = await strategyAccuracy(icarl, t0.test);
      const acc11 = await strategyAccuracy(icarl, t1.test);
      expect(acc10, 'task 0 after task 1').toBeGreaterThan(0.8);
      expect(acc11, 'task 1 after task 1').toBeGreaterThan(0.8);
      expect(icarl.taskLosses).toHaveLength(2);
      expect(icarl.taskLosses.every(Number.isFinite)).toBe(true);

      // predict gives int32 labels among the classes seen.
      const x = E.tensor(Float32Array.from(TEST.images.subarray(0, 8 * 36), (p) => p / 255), [8, 1, SIDE, SIDE]);
      const y = icarl.predict(x);
      expect(y.dtype).toBe('int32');
      expect([...(await y.toArray())].every((v) => v >= 0 && v < 4)).toBe(true);
      x.dispose();
      y.dispose();
    } finally {
      icarl.dispose();
    }

    // The same budget of training without memory forgets task 0 (class-incremental softmax).
    const base = await runScenario(naive(new TinyNet(3), 40, 0.2), tasks());
    expect(base.accuracyMatrix[1]![0], 'naive fine-tuning forgets').toBeLessThan(0.3);
  });

  for (const format of ['fp16', 'uint8'] as const) {
    it(`works with ${format} exemplars`, async () => {
      const icarl = new ICaRL({ model: new TinyNet(5), memorySize: K, memoryFormat: format, epochs: 40, lr: 0.2, batchSize: 16, seed: 1 });
      try {
        const r = await runScenario(icarl, tasks());
        expect(icarl.store!.format).toBe(format);
        expect(r.memory).toEqual({ exemplars: K, bytes: K * (format === 'fp16' ? 72 : 36) });
        expect(r.accuracyMatrix[1]![0]).toBeGreaterThan(0.8);
        expect(r.accuracyMatrix[1]![1]).toBeGreaterThan(0.8);
      } finally {
        icarl.dispose();
      }
    });
  }

  it("distillationTargets 'augmented-batch' (a frozen copy scoring each batch) equals the precomputed targets when nothing is random", async () => {
    const run = async (distillationTargets: 'precomputed' | 'augmented-batch') => {
      const icarl = new ICaRL({ model: new TinyNet(7), memorySize: K, epochs: 3, lr: 0.2, batchSize: 16, seed: 2, distillationTargets, makeModel: () => new TinyNet(99) });
      try {
        await runScenario(icarl, tasks());
        return icarl.taskLosses;
      } finally {
        icarl.dispose();
      }
    };
    const a = await run('precomputed');
    const b = await run('augmented-batch');
    expect(b).toHaveLength(2);
    expect(b[1]!).toBeCloseTo(a[1]!, 4);
    expect(b[0]!).toBe(a[0]!); // task 0 has no distillation
  });

  it("lossReduction 'mean-over-elements' with lossColumns 'all' (the original code) scales the loss by 1 / C", async () => {
    const run = async (o: { lossReduction?: 'mean' | 'mean-over-elements'; lossColumns?: 'seen' | 'all' }, lr: number) => {
      const icarl = new ICaRL({ model: new TinyNet(8), memorySize: K, epochs: 1, lr, batchSize: 16, seed: 2, ...o });
      try {
        await icarl.learnTask(tasks()[0]!, tasks().slice(0, 1));
        return icarl.taskLosses[0]!;
      } finally {
        icarl.dispose();
      }
    };
    // Same trajectory: the per-element mean with lr * C takes the steps of the per-sample sum with lr.
    const perSample = await run({ lossColumns: 'all' }, 0.05);
    const perElement = await run({ lossReduction: 'mean-over-elements', lossColumns: 'all' }, 0.05 * NUM_CLASSES);
    expect(perElement).toBeCloseTo(perSample / NUM_CLASSES, 5);
  });

  it('rejects bad options and tasks with clear errors', async () => {
    const model = new TinyNet(0);
    expect(() => new ICaRL({ model, memorySize: 0 })).toThrow(/ICaRL: memorySize must be a positive integer, got 0/);
    expect(() => new ICaRL({ model, memorySize: 10, memoryFormat: 'int4' as never })).toThrow(/ICaRL: memoryFormat must be/);
    expect(() => new ICaRL({ model, memorySize: 10, distillationTargets: 'augmented-batch' })).toThrow(/ICaRL: distillationTargets 'augmented-batch' needs makeModel/);
    expect(() => new ICaRL({ model, memorySize: 10, lossReduction: 'sum' as never })).toThrow(/ICaRL: lossReduction must be 'mean' or 'mean-over-elements', got "sum"/);
    expect(() => new ICaRL({} as never)).toThrow(/ICaRL: options need a Classifier model/);
    const icarl = new ICaRL({ model, memorySize: 3 });
    const [t0] = tasks() as [Task];
    await expect(icarl.learnTask({ ...t0, classes: [0, 7] }, [t0])).rejects.toThrow(/ICaRL: task 0 has classes 7, but the model has outputs for 0..3 only/);
    await expect(icarl.learnTask({ ...t0, classes: [0, 1, 2, 3] }, [t0])).rejects.toThrow(/memorySize 3 cannot hold one exemplar for each of the 4 classes/);
    expect(() => icarl.predict(E.zeros([1, 1, SIDE, SIDE]))).toThrow(/ICaRL.predict: no class learned yet/);
    icarl.dispose();
  });
});

// ------------------------------------------------------------------ SCR

describe('SCR', () => {
  const MEM = 60;
  // The classes are left-right symmetric, so a flip keeps them; a shifting crop of these 6x6 images
  // moves bands into each other, so it is used only where accuracy is not measured.
  const options = (format: 'float32' | 'fp16' | 'uint8', seed = 3) => ({
    model: new TinyNet(seed, 32), memorySize: MEM, memoryBatchSize: 16, memoryFormat: format, transform: randomHorizontalFlip(),
    temperature: 0.1, epochs: 5, lr: 0.1, batchSize: 8, seed,
  });

  it('trains online without readback and classifies both tasks by nearest class mean over the memory', async () => {
    const [t0, t1] = tasks() as [Task, Task];
    const scr = new SCR(options('float32'));
    const rt = E.runtime();
    // SupCon of the test images (two identical views): it must fall, i.e. the features are learned.
    const X = E.tensor(Float32Array.from(TEST.images, (p) => p / 255), [TEST.length, 1, SIDE, SIDE]);
    const Y = E.tensor(TEST.labels, [TEST.length], { dtype: 'int32' });
    const testLoss = () => E.noGrad(() => E.scope(() => supConLoss(scr.model.features(E.concat([X, X])), Y, 0.1))).item();
    try {
      const lossBefore = await testLoss();
      for (const task of [t0, t1]) {
        const reads = rt.counters.readbacks;
        scr.trainTask(task);
        expect(rt.counters.readbacks - reads, `task ${task.id}: no readback while training`).toBe(0);
        await scr.updateHead();
      }
      const lossAfter = await testLoss();
      expect(lossAfter, `SupCon of the test set: ${lossBefore} before training`).toBeLessThan(lossBefore - 0.3);
      expect(scr.head.labels).toEqual([0, 1, 2, 3]);
      expect(scr.memoryStats()).toEqual({ exemplars: MEM, bytes: MEM * 144 });
      // A reservoir over the whole stream holds both tasks.
      const tasksHeld = new Set(scr.buffer!.store.tasks());
      expect([...tasksHeld].sort()).toEqual([0, 1]);
      expect(await strategyAccuracy(scr, t0.test), 'task 0 after task 1').toBeGreaterThan(0.8);
      expect(await strategyAccuracy(scr, t1.test), 'task 1 after task 1').toBeGreaterThan(0.8);
      const y = scr.predict(E.zeros([3, 1, SIDE, SIDE]).add(0.5));
      expect(y.dtype).toBe('int32');
      expect(y.shape).toEqual([3]);
      y.dispose();
    } finally {
      scr.dispose();
      X.dispose();
      Y.dispose();
    }
  });

  for (const format of ['fp16', 'uint8'] as const) {
    it(`works with ${format} memory through runScenario`, async () => {
      const scr = new SCR(options(format));
      try {
        const r = await runScenario(scr, tasks());
        expect(scr.buffer!.store.format).toBe(format);
        expect(r.memory).toEqual({ exemplars: MEM, bytes: MEM * (format === 'fp16' ? 72 : 36) });
        expect(r.accuracyMatrix[1]![0]).toBeGreaterThan(0.8);
        expect(r.accuracyMatrix[1]![1]).toBeGreaterThan(0.8);
        expect(scr.taskLosses).toHaveLength(2);
        expect(scr.taskLosses.every(Number.isFinite)).toBe(true);
      } finally {
        scr.dispose();
      }
    });
  }

  it('is deterministic for a seed, and takes a given buffer', async () => {
    const [t0] = tasks() as [Task];
    const augment = compose([randomCrop(SIDE, 1), randomHorizontalFlip()]);
    const run = async (seed: number) => {
      const buffer = new ReservoirBuffer({ shape: [1, SIDE, SIDE], capacity: K, seed: 1 });
      const scr = new SCR({ model: new TinyNet(7, 32), buffer, transform: augment, epochs: 1, lr: 0.1, batchSize: 8, seed });
      await scr.learnTask(t0, [t0]);
      const out = { loss: scr.taskLosses[0]!, labels: [...buffer.store.labels()] };
      expect(scr.buffer).toBe(buffer);
      scr.dispose();
      return out;
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect((await run(6)).loss).not.toBe(a.loss);
  });

  it("defaults to the paper: temperature 0.07, stream batch 10, memory batch 100, original + augmented view, projection F -> F -> 128", () => {
    const scr = new SCR({ model: new TinyNet(0, 32), memorySize: 10 });
    expect([scr.temperature, scr.batchSize, scr.memoryBatchSize, scr.views]).toEqual([0.07, 10, 100, 'original+augmented']);
    expect(scr.projection!.parameters().map((p) => p.shape)).toEqual([[32, 32], [32], [128, 32], [128]]);
    scr.dispose();
    const bare = new SCR({ model: new TinyNet(0, 32), memorySize: 10, projection: 'none' });
    expect(bare.projection).toBeNull();
    bare.dispose();
  });

  it("'original+augmented' augments once per step, 'two-augmented' twice; no step while the memory is empty", async () => {
    const [t0] = tasks() as [Task]; // 48 images: batches of 8, the first one meets an empty memory
    for (const [views, perStep] of [['original+augmented', 1], ['two-augmented', 2]] as const) {
      let calls = 0;
      const flip = randomHorizontalFlip();
      const spy: GpuTransform = { name: 'spy', random: true, outputShape: (s) => [...s], apply: (x, g) => (calls++, flip.apply(x, g)) };
      const model = new TinyNet(7, 16);
      const features = model.features.bind(model);
      const passes: number[] = []; // rows of each forward pass
      model.features = (x: E.Tensor) => (passes.push(x.shape[0]!), features(x));
      const scr = new SCR({ model, memorySize: K, memoryBatchSize: 4, batchSize: 8, transform: spy, views, seed: 1 });
      await scr.learnTask(t0, [t0]);
      const steps = 48 / 8 - 1;
      expect(calls, views).toBe(perStep * steps);
      // No batch norm: one forward pass over both views (2 x (4 + 8) rows) in either mode.
      const training = passes.slice(0, -1); // the last pass is the NCM head's fit over the memory
      expect(training, views).toEqual(new Array(steps).fill(24));
      expect(scr.perViewPasses).toBe(false);
      expect(Number.isFinite(scr.taskLosses[0]!)).toBe(true);
      scr.dispose();
    }
  });

  it('with batch norm in the model, the original and augmented views take one forward pass each (batch statistics per view, as SCR\'s code)', async () => {
    const [t0] = tasks() as [Task];
    const withBN = new (class extends E.Classifier {
      readonly body = this.registerModule('features', new E.Sequential(new E.Flatten(), new E.Linear(SIDE * SIDE, 16), new E.BatchNorm1d(16), new E.ReLU()));
      readonly head = this.registerModule('classifier', new E.Linear(16, NUM_CLASSES));
      features(x: E.Tensor): E.Tensor {
        return this.body.forward(x);
      }
    })();
    const features = withBN.features.bind(withBN);
    const passes: number[] = [];
    withBN.features = (x: E.Tensor) => (passes.push(x.shape[0]!), features(x));
    const scr = new SCR({ model: withBN, memorySize: K, memoryBatchSize: 4, batchSize: 8, transform: randomHorizontalFlip(), seed: 1 });
    expect(scr.perViewPasses).toBe(true);
    await scr.learnTask(t0, [t0]);
    expect(passes.slice(0, -1)).toEqual(new Array(2 * (48 / 8 - 1)).fill(12));
    expect(Number.isFinite(scr.taskLosses[0]!)).toBe(true);
    scr.dispose();
  });

  it("the default augmentation is the paper's four (scrAugmentations), seeded", async () => {
    const [t0] = tasks() as [Task];
    const run = async () => {
      const scr = new SCR({ model: new TinyNet(3, 16), memorySize: K, memoryBatchSize: 8, batchSize: 8, seed: 2 });
      await scr.learnTask(t0, [t0]);
      const loss = scr.taskLosses[0]!;
      scr.dispose();
      return loss;
    };
    const a = await run();
    expect(Number.isFinite(a)).toBe(true);
    expect(await run()).toBe(a);
    expect(scrAugmentations(6, 6).name).toMatch(/randomResizedCrop\(\[6, 6\], scale=\[0.2, 1\].*randomHorizontalFlip\(p=0.5\).*colorJitter\(brightness=0.4, contrast=0.4, saturation=0.4, p=0.8\).*randomGrayscale\(p=0.2\)/);
  });

  it('rejects bad options with clear errors', () => {
    const model = new TinyNet(0);
    expect(() => new SCR({ model })).toThrow(/SCR: memorySize must be a positive integer, got NaN/);
    expect(() => new SCR({ model, memorySize: 10, temperature: -1 })).toThrow(/SCR: temperature must be a positive number, got -1/);
    expect(() => new SCR({ model, memorySize: 10, views: 'three' as never })).toThrow(/SCR: views must be 'original\+augmented' or 'two-augmented'/);
    expect(() => new SCR({ model, memorySize: 10, projection: 'none', projectionDim: 64 })).toThrow(/SCR: projectionDim applies to projection 'mlp' only/);
    const buffer = new ReservoirBuffer({ shape: [1, SIDE, SIDE], capacity: 4 });
    expect(() => new SCR({ model, buffer, memorySize: 4 })).toThrow(/SCR: give either a buffer or memorySize\/memoryFormat, not both/);
    const wrong = new ReservoirBuffer({ shape: [1, 5, 5], capacity: 4 });
    const scr = new SCR({ model, buffer: wrong });
    const [t0] = tasks() as [Task];
    expect(() => scr.trainTask(t0)).toThrow(/SCR: the buffer holds exemplars of shape \[1, 5, 5\], task 0 has images \[1, 6, 6\]/);
    const crop = new SCR({ model: new TinyNet(0), memorySize: 4, transform: randomCrop(4) });
    expect(() => crop.trainTask(t0)).toThrow(/SCR: the augmented view is \[1, 4, 4\] but the original view is \[1, 6, 6\]/);
    crop.dispose();
    expect(() => scr.predict(E.zeros([1, 1, SIDE, SIDE]))).toThrow(/SCR.predict: no class learned yet/);
    scr.dispose();
  });
});

describe('both strategies', () => {
  it('free every tensor they allocated on dispose', async () => {
    const run = async (make: () => ICaRL | SCR) => {
      const s = make();
      await runScenario(s, tasks());
      s.dispose();
    };
    const icarl = () => new ICaRL({ model: new TinyNet(1), memorySize: K, memoryFormat: 'fp16', epochs: 2, lr: 0.2, batchSize: 16 });
    const scr = () => new SCR({ model: new TinyNet(1), memorySize: K, memoryFormat: 'uint8', transform: randomHorizontalFlip(), epochs: 2, lr: 0.1, batchSize: 8 });
    await run(icarl); // first runs create the loader's conversion table, kept for the runtime's life
    await run(scr);
    const before = E.memory().undisposed;
    await run(icarl);
    await run(scr);
    expect(E.memory().undisposed).toBe(before);
  });
});
