import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { classIncremental, runScenario, type Task } from '../../src/cl/index.js';
import { NCMReplay, GaussianHeadStrategy } from '../../src/cl/strategies/head-strategies.js';
import { useGPU } from '../helpers/gpu.js';
import { syntheticImages } from './synthetic.js';

useGPU();

const SIDE = 4; // 1x4x4 images
const D = SIDE * SIDE;

/** Images around one fixed random prototype per class (the same in every split), plus uniform noise. */
function synthetic(classes: number[], perClass: number, seed: number, noise = 30): ImageDataset {
  return syntheticImages(classes, perClass, seed, { side: SIDE, noise, base: 20, range: 215, protoSeed: 500 });
}

/** {0, 1} then {2, 3}: separable classes. */
function twoTasks(perClass = 60): Task[] {
  return classIncremental(synthetic([0, 1, 2, 3], perClass, 1), synthetic([0, 1, 2, 3], 30, 2), [[0, 1], [2, 3]]);
}

/** A learned feature extractor (Linear + ReLU) and a linear head. */
class TinyNet extends E.Classifier {
  readonly body: E.Sequential;
  constructor(numClasses: number, width = 24) {
    super();
    this.body = this.registerModule('features', new E.Sequential(new E.Flatten(), new E.Linear(D, width), new E.ReLU()));
    this.registerModule('classifier', new E.Linear(width, numClasses));
  }
  features(x: E.Tensor): E.Tensor {
    return this.body.forward(x);
  }
}

async function featureWeights(model: E.Classifier): Promise<Float32Array[]> {
  const head = new Set(model.classifier.parameters());
  const out: Float32Array[] = [];
  for (const p of model.parameters()) if (!head.has(p)) out.push((await p.toArray()) as Float32Array);
  return out;
}

const train = { lr: 0.2, batchSize: 16, seed: 3 };

describe('NCMReplay', () => {
  it('trains like ER and predicts by nearest class mean, keeping task 0 after task 1', async () => {
    E.manualSeed(0);
    const s = new NCMReplay({ model: new TinyNet(4), ...train, capacity: 40, bufferKind: 'class-balanced', update: 'end-of-task' });
    const tasks = twoTasks();
    const r = await runScenario(s, tasks);
    expect(r.strategy).toBe('ncm-er');
    expect(r.accuracyMatrix[0]![0]!).toBeGreaterThan(0.9);
    expect(r.accuracyMatrix[1]![0]!).toBeGreaterThan(0.85);
    expect(r.accuracyMatrix[1]![1]!).toBeGreaterThan(0.85);
    expect(s.head.labels).toEqual([0, 1, 2, 3]);
    expect(r.memory).toEqual({ exemplars: 40, bytes: 40 * D * 4 });
    // Equal test sets (60 images per task): both conventions of the curve give the same values.
    const R = r.accuracyMatrix;
    expect(r.accuracyVersusClasses!.classes).toEqual([2, 4]);
    expect(r.accuracyVersusClasses!.sampleWeighted[1]).toBeCloseTo((R[1]![0]! + R[1]![1]!) / 2, 12);
    expect(r.accuracyVersusClasses!.taskAverage[0]).toBe(R[0]![0]!);
    expect(s.taskLosses).toHaveLength(2);
    s.dispose();
  });

  it('fits the head on memory only when includeTaskData is false, and is seeded', async () => {
    const run = async () => {
      E.manualSeed(1);
      const s = new NCMReplay({ model: new TinyNet(4), ...train, capacity: 12, update: 'online', memoryFormat: 'uint8', includeTaskData: false });
      const r = await runScenario(s, twoTasks(30));
      // The head's counts are the memory's: every class it holds, and nothing else.
      const counts = s.head.labels.map((c) => s.head.classCount(c)).reduce((a, b) => a + b, 0);
      expect(counts).toBe(12);
      s.dispose();
      return r.accuracyMatrix;
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    expect(a[1]![0]!).toBeGreaterThan(0.6);
  });

  it('memory only (default): each class mean is the re-normalized mean of the memory exemplars\' normalized features', async () => {
    E.manualSeed(4);
    const s = new NCMReplay({ model: new TinyNet(4), ...train, capacity: 10, bufferKind: 'class-balanced', update: 'end-of-task' });
    const tasks = twoTasks(20);
    await s.learnTask(tasks[0]!, tasks.slice(0, 1));
    await s.learnTask(tasks[1]!, tasks);
    const store = s.buffer!.store;
    const idx = Array.from({ length: store.size }, (_, i) => i);
    s.model.eval();
    const f = E.noGrad(() => s.model.features(store.toTensor(idx)));
    const F = (await f.toArray()) as Float32Array;
    f.dispose();
    const labels = store.labels();
    const dim = s.model.featureDim;
    for (const c of [0, 1, 2, 3]) {
      const sum = new Float64Array(dim);
      let n = 0;
      for (let i = 0; i < store.size; i++) {
        if (labels[i] !== c) continue;
        const row = F.subarray(i * dim, (i + 1) * dim);
        const norm = Math.sqrt(row.reduce((a, v) => a + v * v, 0)) || 1;
        row.forEach((v, j) => (sum[j] = sum[j]! + v / norm));
        n++;
      }
      const len = Math.sqrt(sum.reduce((a, v) => a + v * v, 0)) || 1;
      const mean = s.head.classMean(c);
      expect(s.head.classCount(c)).toBe(n);
      mean.forEach((v, j) => expect(v).toBeCloseTo(sum[j]! / len, 5));
    }
    expect(idx.length).toBe(10);
    s.dispose();
  });

  it('includeTaskData: the task\'s whole training set replaces its exemplars in memory, so no example counts twice', async () => {
    E.manualSeed(5);
    const s = new NCMReplay({ model: new TinyNet(4), ...train, capacity: 10, bufferKind: 'class-balanced', update: 'end-of-task', includeTaskData: true });
    const tasks = twoTasks(20); // 20 training images per class
    await s.learnTask(tasks[0]!, tasks.slice(0, 1));
    // Task 0: its 40 images (20 per class), not 40 + the 10 exemplars of the same images.
    expect([0, 1].map((c) => s.head.classCount(c))).toEqual([20, 20]);
    await s.learnTask(tasks[1]!, tasks);
    // Task 1: old classes from memory (class-balanced: 10 slots over 4 classes, 3/3/2/2 or so), new
    // classes from the task data only.
    const store = s.buffer!.store;
    const memCount = (c: number) => Array.from(store.labels()).filter((l) => l === c).length;
    expect(s.head.classCount(0)).toBe(memCount(0));
    expect(s.head.classCount(1)).toBe(memCount(1));
    expect(s.head.classCount(0) + s.head.classCount(1)).toBeGreaterThan(0);
    expect([2, 3].map((c) => s.head.classCount(c))).toEqual([20, 20]);
    s.dispose();
  });

  it('throws a clear error on a bad featureBatchSize', () => {
    E.manualSeed(0);
    const model = new TinyNet(4);
    expect(() => new NCMReplay({ model, capacity: 4, featureBatchSize: 0 })).toThrow(/NCMReplay: featureBatchSize must be a positive integer, got 0/);
    model.dispose();
  });
});

describe('GaussianHeadStrategy', () => {
  it('trains features on task 0 only, then adds classes to the Gaussian head without gradient steps', async () => {
    E.manualSeed(2);
    const s = new GaussianHeadStrategy({ model: new TinyNet(2), ...train, epochs: 2 });
    const tasks = twoTasks();
    const after: Float32Array[][] = [];
    const r = await runScenario(s, tasks, { onTask: () => undefined });
    // Re-run step by step to look at the weights between tasks.
    E.manualSeed(2);
    const s2 = new GaussianHeadStrategy({ model: new TinyNet(2), ...train, epochs: 2 });
    await s2.learnTask(tasks[0]!, tasks.slice(0, 1));
    after.push(await featureWeights(s2.model));
    await s2.learnTask(tasks[1]!, tasks);
    after.push(await featureWeights(s2.model));
    for (let i = 0; i < after[0]!.length; i++) expect(after[1]![i]).toEqual(after[0]![i]);
    expect(s2.model.parameters().every((p) => !p.requiresGrad)).toBe(true);
    expect(s2.taskLosses).toHaveLength(1);
    s2.dispose();

    expect(r.strategy).toBe('gaussian');
    expect(r.accuracyMatrix[0]![0]!).toBeGreaterThan(0.9);
    expect(r.accuracyMatrix[1]![0]!).toBeGreaterThan(0.85);
    expect(r.accuracyMatrix[1]![1]!).toBeGreaterThan(0.85);
    expect(s.head.labels).toEqual([0, 1, 2, 3]);
    expect(s.head.classCount(2)).toBe(60);
    expect(r.memory).toEqual({ exemplars: 0, bytes: 0 });
    s.dispose();
  });

  it('grows a too-small temporary head for task 0', async () => {
    E.manualSeed(4);
    const s = new GaussianHeadStrategy({ model: new TinyNet(1), ...train });
    const tasks = twoTasks(20);
    await s.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(s.model.numClasses).toBe(2);
    s.dispose();
  });

  it('rejects bad options and predicting before learning', () => {
    expect(() => new GaussianHeadStrategy({} as never)).toThrow(/GaussianHeadStrategy: options need a Classifier model/);
    E.manualSeed(0);
    const model = new TinyNet(2);
    expect(() => new GaussianHeadStrategy({ model, epochs: 1.5 })).toThrow(/GaussianHeadStrategy: epochs must be a positive integer, got 1.5/);
    const s = new GaussianHeadStrategy({ model });
    const x = E.zeros([1, 1, SIDE, SIDE]);
    expect(() => s.predict(x)).toThrow(/GaussianHeadStrategy.predict: no class learned yet/);
    x.dispose();
    s.dispose();
  });
});
