import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { ImageDataset } from '../../src/data/dataset.js';
import type { GpuTransform } from '../../src/data/transforms.js';
import { classIncremental, runScenario, ReservoirBuffer, type Task, type ReplayBatch } from '../../src/cl/index.js';
import { Naive, ExperienceReplay, expandClassifier, classesNeeded } from '../../src/cl/strategies/index.js';
import { useGPU } from '../helpers/gpu.js';
import { syntheticImages } from './synthetic.js';

useGPU();

// ------------------------------------------------------------------ synthetic data

const SIDE = 4; // 1x4x4 images
const D = SIDE * SIDE;

/** Images of `classes` around one random prototype per class (see synthetic.ts). */
function synthetic(classes: number[], perClass: number, seed: number, noise = 40): ImageDataset {
  return syntheticImages(classes, perClass, seed, { side: SIDE, noise, base: 40, range: 175, protoSeed: 1000 });
}

/** Two tasks of two classes each: {0, 1} then {2, 3}. */
function twoTasks(perClass = 100): Task[] {
  return classIncremental(synthetic([0, 1, 2, 3], perClass, 1), synthetic([0, 1, 2, 3], 50, 2), [[0, 1], [2, 3]]);
}

/** A linear model that records the batch size of every forward call. */
class SpyNN extends E.SimpleNN {
  sizes: number[] = [];
  override forward(x: E.Tensor): E.Tensor {
    this.sizes.push(x.shape[0]!);
    return super.forward(x);
  }
}

/** Features with parameters (Linear + ReLU), then the linear head. */
class TinyNet extends E.Classifier {
  readonly body: E.Sequential;
  constructor(numClasses: number) {
    super();
    this.body = this.registerModule('features', new E.Sequential(new E.Flatten(), new E.Linear(D, 8), new E.ReLU()));
    this.registerModule('classifier', new E.Linear(8, numClasses));
  }
  features(x: E.Tensor): E.Tensor {
    return this.body.forward(x);
  }
}

/** A reservoir that records every memory batch it hands out: (requested k, returned rows). */
class SpyReservoir extends ReservoirBuffer {
  draws: [number, number][] = [];
  override sampleBatch(k: number, g?: E.Generator): ReplayBatch {
    const b = super.sampleBatch(k, g);
    this.draws.push([k, b.x.shape[0]!]);
    return b;
  }
}

async function values(t: E.Tensor): Promise<Float32Array> {
  return (await t.toArray()) as Float32Array;
}

const common = { lr: 0.5, batchSize: 16, seed: 3 };

// ------------------------------------------------------------------ tests

describe('Naive vs experience replay', () => {
  it('naive forgets task 0 after task 1; replay keeps it (2x2 accuracy matrices)', async () => {
    const tasks = twoTasks();
    E.manualSeed(0);
    const naive = new Naive({ model: new E.SimpleNN(D, 4), ...common, epochs: 3 });
    const rn = await runScenario(naive, tasks);
    E.manualSeed(0);
    const er = new ExperienceReplay({ model: new E.SimpleNN(D, 4), ...common, epochs: 3, capacity: 40 });
    const rr = await runScenario(er, tasks);
    for (const r of [rn, rr]) {
      expect(r.accuracyMatrix).toHaveLength(2);
      for (const row of r.accuracyMatrix) expect(row).toHaveLength(2);
      expect(r.trainSeconds).toHaveLength(2);
    }
    // Both learn task 0 first, and task 1 second; future tasks score 0 (their classes are unseen).
    expect(rn.accuracyMatrix[0]![0]).toBeGreaterThan(0.9);
    expect(rn.accuracyMatrix[0]![1]).toBe(0);
    expect(rn.accuracyMatrix[1]![1]).toBeGreaterThan(0.9);
    expect(rr.accuracyMatrix[1]![1]).toBeGreaterThan(0.8);
    // The collapse and the recovery.
    expect(rn.accuracyMatrix[1]![0]).toBeLessThan(0.2);
    expect(rr.accuracyMatrix[1]![0]).toBeGreaterThan(rn.accuracyMatrix[1]![0]! + 0.5);
    expect(rn.forgetting).toBeGreaterThan(0.7);
    expect(rn.memory).toEqual({ exemplars: 0, bytes: 0 });
    expect(rr.memory).toEqual({ exemplars: 40, bytes: 40 * D * 4 });
    expect(naive.taskLosses.every(Number.isFinite)).toBe(true);
    naive.dispose();
    er.dispose();
  });

  it('online ER with 3 epochs offers each stream example once: the memory never holds the same example twice', async () => {
    const tasks = twoTasks(10); // 20 images per task
    // A memory larger than 3 epochs of the task: with re-offering it would hold 60 exemplars.
    const buffer = new ReservoirBuffer({ shape: [1, SIDE, SIDE], capacity: 100, format: 'uint8', seed: 5 });
    E.manualSeed(0);
    const er = new ExperienceReplay({ model: new E.SimpleNN(D, 4), ...common, epochs: 3, buffer });
    await er.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(buffer.seen).toBe(20);
    expect(buffer.size).toBe(20);
    // Every stored exemplar is a distinct training image.
    const keys = new Set<string>();
    for (let i = 0; i < buffer.size; i++) keys.add(Array.from(buffer.store.decode(i), (v) => Math.round(v * 255)).join(','));
    const train = tasks[0]!.train;
    const distinct = new Set(Array.from({ length: train.length }, (_, j) => Array.from(train.images.subarray(j * D, (j + 1) * D)).join(',')));
    expect(keys.size).toBe(distinct.size);
    await er.learnTask(tasks[1]!, tasks);
    expect(buffer.seen).toBe(40);
    er.dispose();
  });

  it('ER with downscaled exemplars: a byte budget of 10 full images holds 40 at factor 2, replayed at full size', async () => {
    const tasks = twoTasks(30);
    E.manualSeed(0);
    const er = new ExperienceReplay({ model: new E.SimpleNN(D, 4), ...common, capacityBytes: 10 * D * 4, downscale: 2 });
    const r = await runScenario(er, tasks);
    expect(er.buffer!.store.storedShape).toEqual([1, 2, 2]);
    expect(r.memory).toEqual({ exemplars: 40, bytes: 40 * 4 * 4 });
    const batch = er.buffer!.sampleBatch(3);
    expect(batch.x.shape).toEqual([3, 1, SIDE, SIDE]);
    for (const t of [batch.x, batch.y, batch.task]) t.dispose();
    expect(r.accuracyMatrix[1]!.every(Number.isFinite)).toBe(true);
    er.dispose();
  });

  it('ER draws one memory batch of the stream batch size per step and updates the buffer online', async () => {
    const tasks = twoTasks(10); // 20 images per task: batches 16, 4
    const buffer = new SpyReservoir({ shape: [1, SIDE, SIDE], capacity: 12, format: 'uint8', seed: 5 });
    const model = new SpyNN(D, 4);
    const er = new ExperienceReplay({ model, ...common, buffer });
    await er.learnTask(tasks[0]!, tasks.slice(0, 1));
    // Step 1 sees an empty memory (no draw); step 2 draws 4 for its 4-image batch from the 16 offered so far.
    expect(buffer.draws).toEqual([[4, 4]]);
    expect(buffer.seen).toBe(20);
    expect(buffer.size).toBe(12);
    expect(model.sizes).toEqual([16, 4, 4]);
    buffer.draws = [];
    model.sizes = [];
    const live = E.memory().undisposed;
    await er.learnTask(tasks[1]!, tasks);
    expect(E.memory().undisposed).toBe(live); // every step's tensors, memory batches included, are freed
    expect(buffer.draws).toEqual([[16, 12], [4, 4]]);
    expect(model.sizes).toEqual([16, 12, 4, 4]);
    expect(buffer.seen).toBe(40);
    // The memory now mixes both tasks, labelled with the dataset's labels and task ids.
    const labels = [...buffer.store.labels()];
    const taskIds = [...buffer.store.tasks()];
    labels.forEach((l, i) => expect(taskIds[i]).toBe(l < 2 ? 0 : 1));
    expect(er.memoryStats()).toEqual({ exemplars: 12, bytes: 12 * D });
    // Stored exemplars are the raw images (uint8 'image' format: exact pixels / 255).
    const all = [...tasks[0]!.train.images, ...tasks[1]!.train.images];
    const px = buffer.store.decode(0);
    const found = Array.from({ length: 40 }, (_, i) => i).some((i) => px.every((v, k) => Math.round(v * 255) === all[i * D + k]));
    expect(found).toBe(true);
    er.dispose();
  });

  it('concat mode trains on the concatenated stream + memory batch; memory batches go through the same transform', async () => {
    const tasks = twoTasks(10);
    const model = new SpyNN(D, 4);
    // A transform that is not a normalize (so the DataLoader does not fold it away) and counts its batches.
    const seen: number[] = [];
    const transform: GpuTransform = {
      name: 'spy',
      outputShape: (s) => [...s],
      apply(x) {
        seen.push(x.shape[0]!);
        return E.noGrad(() => E.sub(E.mul(x, 2), 1));
      },
    };
    const er = new ExperienceReplay({ model, ...common, capacity: 100, mode: 'concat', memoryBatchSize: 8, transform });
    expect(er.name).toBe('er-concat');
    await er.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(model.sizes).toEqual([16, 4 + 8]);
    expect(seen.sort((a, b) => a - b)).toEqual([4, 8, 16]); // stream 16 and 4, memory 8
    model.sizes = [];
    seen.length = 0;
    await er.learnTask(tasks[1]!, tasks);
    expect(model.sizes).toEqual([16 + 8, 4 + 8]);
    expect(seen.sort((a, b) => a - b)).toEqual([4, 8, 8, 16]);
    er.dispose();
  });

  it('end-of-task updates store round(fraction * n) images of each task at its end', async () => {
    const tasks = twoTasks(25); // 50 images per task
    const buffer = new SpyReservoir({ shape: [1, SIDE, SIDE], capacity: 1000, seed: 1 });
    const er = new ExperienceReplay({ model: new E.SimpleNN(D, 4), ...common, buffer, update: 'end-of-task', fraction: 0.1 });
    await er.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(buffer.draws).toEqual([]); // nothing to replay during the first task
    expect(buffer.size).toBe(5);
    expect([...buffer.store.labels()].every((l) => l === 0 || l === 1)).toBe(true);
    await er.learnTask(tasks[1]!, tasks);
    expect(buffer.draws.map(([k, n]) => [k, n])).toEqual([[16, 5], [16, 5], [16, 5], [2, 2]]);
    expect(buffer.size).toBe(10);
    expect([...buffer.store.tasks()].sort()).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    er.dispose();
    // Without a capacity an end-of-task memory keeps everything it is offered; 'online' needs one.
    const unbounded = new ExperienceReplay({ model: new E.SimpleNN(D, 4), ...common, update: 'end-of-task', fraction: 0.5, memoryFormat: 'fp16' });
    await unbounded.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(unbounded.memoryStats()).toEqual({ exemplars: 25, bytes: 25 * D * 2 });
    unbounded.dispose();
    // A per-task fraction: 20% of task 0, nothing of task 1.
    const firstOnly = new ExperienceReplay({ model: new E.SimpleNN(D, 4), ...common, update: 'end-of-task', fraction: (t) => (t.id === 0 ? 0.2 : 0) });
    await runScenario(firstOnly, tasks);
    expect(firstOnly.memoryStats().exemplars).toBe(10);
    expect([...firstOnly.buffer!.store.tasks()].every((t) => t === 0)).toBe(true);
    firstOnly.dispose();
    expect(() => new ExperienceReplay({ model: new E.SimpleNN(D, 4) })).toThrow(/online updates need a capacity/);
    expect(() => new ExperienceReplay({ model: new E.SimpleNN(D, 4), capacity: 5, fraction: 0.1 })).toThrow(/fraction applies to update: 'end-of-task'/);
    expect(() => new ExperienceReplay({ model: new E.SimpleNN(D, 4), update: 'end-of-task', fraction: 1.5 })).toThrow(/fraction must be in \(0, 1\] or a function/);
    expect(() => new ExperienceReplay({ model: new E.SimpleNN(D, 4), capacity: 5, mode: 'sum' as never })).toThrow(/mode must be one of 'er', 'concat', 'concat-data'/);
    expect(() => new ExperienceReplay({ model: new E.SimpleNN(D, 4), capacity: 5, bufferKind: 'lru' as never })).toThrow(/bufferKind must be one of/);
  });
});

describe('classifier expansion', () => {
  it('keeps the old logits exactly, initializes new rows, keeps requiresGrad and lets gradients reach the new rows', async () => {
    E.manualSeed(7);
    const model = new E.SimpleNN(D, 2);
    const head = model.classifier;
    const x = E.rand([5, 1, SIDE, SIDE]);
    const before = await values(E.noGrad(() => model.forward(x)));
    const oldW = await values(head.weight);
    const out = expandClassifier(model, 5, new E.Generator(1));
    expect(model.classifier).toBe(out); // the new head took the old one's place
    expect(head.weight.disposed).toBe(true); // and the old head was freed
    expect(model.numClasses).toBe(5);
    expect(out.weight.shape).toEqual([5, D]);
    expect(out.bias!.shape).toEqual([5]);
    expect([...model.stateDict().keys()]).toEqual(['classifier.weight', 'classifier.bias']);
    expect(model.parameters()[0]).toBe(out.weight);
    expect(model.parameters()[1]).toBe(out.bias);
    expect(out.weight.requiresGrad && out.bias!.requiresGrad).toBe(true);
    const after = await values(E.noGrad(() => model.forward(x)));
    for (let i = 0; i < 5; i++) for (let c = 0; c < 2; c++) expect(after[i * 5 + c]).toBe(before[i * 2 + c]);
    const w = await values(out.weight);
    expect([...w.subarray(0, 2 * D)]).toEqual([...oldW]);
    const bound = 1 / Math.sqrt(D);
    expect([...w.subarray(2 * D)].every((v) => Math.abs(v) <= bound) && w.subarray(2 * D).some((v) => v !== 0)).toBe(true);
    // A loss on a new class reaches the new rows.
    const y = E.tensor([4, 3, 2, 4, 0], [5], { dtype: 'int32' });
    E.crossEntropy(model.forward(x), y).backward();
    const g = await values(out.weight.grad!);
    for (const c of [2, 3, 4]) expect(g.subarray(c * D, (c + 1) * D).some((v) => v !== 0)).toBe(true);
    // requiresGrad is preserved when false; equal size is a no-op; shrinking is refused.
    model.freeze();
    const six = expandClassifier(model, 6);
    expect(six.weight.requiresGrad || six.bias!.requiresGrad).toBe(false);
    expect(expandClassifier(model, 6).outFeatures).toBe(6);
    expect(() => expandClassifier(model, 3)).toThrow(/must be an integer >= the current 6/);
    expect(classesNeeded([{ classes: [0, 1] }, { classes: [4, 2] }])).toBe(5);
    model.dispose();
    x.dispose();
    y.dispose();
  });

  it('expandHeads grows the head task by task; without it a too-small head is an error', async () => {
    const tasks = twoTasks(10);
    const naive = new Naive({ model: new E.SimpleNN(D, 2), ...common, epochs: 3, expandHeads: true });
    const r = await runScenario(naive, tasks);
    expect(naive.model.numClasses).toBe(4);
    expect(r.accuracyMatrix[1]![1]).toBeGreaterThan(0.9);
    naive.dispose();
    const strict = new Naive({ model: new E.SimpleNN(D, 2), ...common });
    await strict.learnTask(tasks[0]!, tasks.slice(0, 1));
    await expect(strict.learnTask(tasks[1]!, tasks)).rejects.toThrow(/labels up to 3 but the classifier has 2 outputs/);
    strict.dispose();
  });

  it('freezeFeaturesAfterFirstTask: features bit-identical after task 1 while the (expanded) head trains', async () => {
    const tasks = twoTasks(20);
    E.manualSeed(11);
    const model = new TinyNet(2);
    const featureParams = model.body.parameters();
    const init = await Promise.all(featureParams.map(values));
    const er = new ExperienceReplay({
      model, ...common, expandHeads: true, freezeFeaturesAfterFirstTask: true, headLr: 0.1,
      bufferKind: 'class-balanced', capacity: 8, update: 'end-of-task',
    });
    await er.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(er.featuresFrozen).toBe(false);
    const afterTask0 = await Promise.all(featureParams.map(values));
    expect(afterTask0.some((v, i) => v.some((x, k) => x !== init[i]![k]))).toBe(true); // task 0 trains the features
    const head0 = await values(model.classifier.weight);
    await er.learnTask(tasks[1]!, tasks);
    expect(er.featuresFrozen).toBe(true);
    const afterTask1 = await Promise.all(featureParams.map(values));
    afterTask1.forEach((v, i) => expect([...v]).toEqual([...afterTask0[i]!]));
    expect(featureParams.every((p) => !p.requiresGrad && p.grad === null)).toBe(true);
    const head1 = await values(model.classifier.weight);
    expect(head1.length).toBe(4 * 8);
    expect(head1.subarray(0, 2 * 8).some((v, k) => v !== head0[k])).toBe(true);
    // Class-balanced end-of-task memory: 4 of each class of task 0, then 2 of each of the 4 classes.
    const counts = new Map<number, number>();
    for (const l of er.buffer!.store.labels()) counts.set(l, (counts.get(l) ?? 0) + 1);
    expect([...counts.entries()].sort()).toEqual([[0, 2], [1, 2], [2, 2], [3, 2]]);
    er.dispose();
  });

  it('validates options', () => {
    expect(() => new Naive({} as never)).toThrow(/options need a Classifier model/);
    expect(() => new Naive({ model: new E.SimpleNN(D, 2), lr: -1 })).toThrow(/lr must be a positive number/);
    expect(() => new Naive({ model: new E.SimpleNN(D, 2), batchSize: 2.5 })).toThrow(/batchSize must be a positive integer/);
  });
});
