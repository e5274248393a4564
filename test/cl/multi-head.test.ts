import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { MultiHeadClassifier, MultiTaskModel, classIncremental, runScenario, type Strategy, type Task } from '../../src/cl/index.js';
import { Naive, EWC, SI, LwF, ExperienceReplay, DER } from '../../src/cl/strategies/index.js';
import { syntheticImages } from './synthetic.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

// Two heads on F = 3 features: task 0 classes [1, 0] (unsorted: head column k is label classes[k]),
// task 2 classes [4, 2, 5]; label 3 belongs to no task. Global output width 6.
const F = 3;
const SPEC = [{ id: 0, classes: [1, 0] }, { id: 2, classes: [4, 2, 5] }];
const W: Record<number, number[][]> = { 0: [[0.5, -1, 2], [1.5, 0.25, -0.75]], 2: [[-0.5, 1, 0.3], [0.2, -0.4, 1.1], [1, 1, -1]] };
const B: Record<number, number[]> = { 0: [0.1, -0.2], 2: [0.3, 0, -0.6] };
const FEAT = [[1, 2, -1], [0.5, -0.3, 0.8], [-1.2, 0.4, 0.9], [2, 0, 1]];
const ROW_TASK = [0, 2, 2, 0];
const MASK = -1000;

function handSetHeads(): MultiHeadClassifier {
  const h = new MultiHeadClassifier(F);
  for (const t of SPEC) h.adaptation(t);
  const sd: Record<string, E.Tensor> = {};
  for (const t of SPEC) {
    sd[`${t.id}.weight`] = E.tensor(W[t.id]!);
    sd[`${t.id}.bias`] = E.tensor(B[t.id]!);
  }
  h.loadStateDict(sd);
  return h;
}

/** float64 reference: the row's head logits in its task's columns, MASK elsewhere. */
function reference(feat: number[][], rowTask: number[]): number[][] {
  return feat.map((f, r) => {
    const t = SPEC.find((s) => s.id === rowTask[r])!;
    const out = new Array<number>(6).fill(MASK);
    t.classes.forEach((c, k) => (out[c] = W[t.id]![k]!.reduce((a, w, j) => a + w * f[j]!, B[t.id]![k]!)));
    return out;
  });
}

async function values(t: E.Tensor): Promise<number[]> {
  return Array.from(await t.toArray());
}

function tinySplit(): Task[] {
  const o = { side: 4, noise: 40, base: 40, range: 175, protoSeed: 1000 };
  const all = [0, 1, 2, 3, 4, 5, 6, 7];
  return classIncremental(syntheticImages(all, 16, 1, o), syntheticImages(all, 10, 2, o), [[0, 1], [2, 3], [4, 5], [6, 7]]);
}

/** A small multi-head MLP for 1x4x4 images: Flatten, Linear(16, 16), ReLU, then one head per task. */
function multiHeadMLP(): MultiTaskModel {
  return new MultiTaskModel(new E.Sequential(new E.Flatten(), new E.Linear(16, 16), new E.ReLU()), 16);
}

/** The same backbone with a shared 8-class head. */
class SharedMLP extends E.Classifier {
  readonly body = this.registerModule('features', new E.Sequential(new E.Flatten(), new E.Linear(16, 16), new E.ReLU()));
  constructor() {
    super();
    this.registerModule('classifier', new E.Linear(16, 8));
  }
  features(x: E.Tensor): E.Tensor {
    return this.body.forward(x);
  }
}

describe('MultiHeadClassifier', () => {
  it('forward against a float64 reference: one task id, per-row ids, masked columns; CE equals the head-local CE', async () => {
    const h = handSetHeads();
    expect(h.numClasses).toBe(6);
    const f = E.tensor(FEAT);
    const perRow = h.forward(f, E.tensor(ROW_TASK, [4], { dtype: 'int32' }));
    expect(perRow.shape).toEqual([4, 6]);
    const got = await values(perRow);
    reference(FEAT, ROW_TASK).flat().forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    const all2 = await values(h.forward(f, 2));
    reference(FEAT, [2, 2, 2, 2]).flat().forEach((v, i) => expect(all2[i]).toBeCloseTo(v, 5));
    // headLogits: the task's columns in classes order.
    const local = await values(h.headLogits(f, 0));
    FEAT.forEach((row, r) => [0, 1].forEach((k) => expect(local[r * 2 + k]).toBeCloseTo(W[0]![k]!.reduce((a, w, j) => a + w * row[j]!, B[0]![k]!), 5)));
    // Cross-entropy of the global labels = cross-entropy of the task's head alone (the mask is exp(-1000) = 0).
    const y = [0, 5, 2, 1];
    const ce = await E.crossEntropy(perRow, E.tensor(y, [4], { dtype: 'int32' })).item();
    const ref = reference(FEAT, ROW_TASK);
    let want = 0;
    ref.forEach((row, r) => {
      const own = SPEC.find((s) => s.id === ROW_TASK[r])!.classes.map((c) => row[c]!);
      const m = Math.max(...own);
      want += m + Math.log(own.reduce((a, z) => a + Math.exp(z - m), 0)) - row[y[r]!]!;
    });
    expect(ce).toBeCloseTo(want / 4, 5);
    f.dispose();
    h.dispose();
  });

  it('backward against a float64 reference: gradients reach only the rows\' heads, never the masked columns', async () => {
    const h = handSetHeads();
    const f = E.tensor(FEAT).requiresGrad_();
    // G weights every output column, masked ones included: they must pass no gradient.
    const G = [[1, -2, 0.5, 3, -1, 2], [0.25, 1, -1, 2, 0.5, -0.5], [2, 0, 1, -3, 1, 1], [-1, 0.5, 2, 1, 0, 1]];
    E.sum(E.mul(h.forward(f, E.tensor(ROW_TASK, [4], { dtype: 'int32' })), E.tensor(G))).backward();
    for (const t of SPEC) {
      const dW = t.classes.map(() => new Array<number>(F).fill(0));
      const dB = t.classes.map(() => 0);
      FEAT.forEach((row, r) => {
        if (ROW_TASK[r] !== t.id) return;
        t.classes.forEach((c, k) => {
          dB[k] = dB[k]! + G[r]![c]!;
          row.forEach((v, j) => (dW[k]![j] = dW[k]![j]! + G[r]![c]! * v));
        });
      });
      const gw = await values(h.head(t.id).weight.grad!);
      dW.flat().forEach((v, i) => expect(gw[i], `task ${t.id} dW[${i}]`).toBeCloseTo(v, 5));
      const gb = await values(h.head(t.id).bias!.grad!);
      dB.forEach((v, i) => expect(gb[i]).toBeCloseTo(v, 5));
    }
    const dF = FEAT.map((_, r) => {
      const t = SPEC.find((s) => s.id === ROW_TASK[r])!;
      return Array.from({ length: F }, (_, j) => t.classes.reduce((a, c, k) => a + G[r]![c]! * W[t.id]![k]![j]!, 0));
    });
    const gf = await values(f.grad!);
    dF.flat().forEach((v, i) => expect(gf[i]).toBeCloseTo(v, 5));
    // One task id: the other head is not in the graph at all.
    h.zeroGrad();
    E.sum(E.mul(h.forward(E.tensor(FEAT), 2), E.tensor(G))).backward();
    expect(h.head(0).weight.grad).toBeNull();
    expect((await values(h.head(2).weight.grad!)).some((v) => v !== 0)).toBe(true);
    f.dispose();
    h.dispose();
  });

  it('adaptation: lazy heads sized to the task, the same classes again is a no-op, misuse throws', () => {
    const h = new MultiHeadClassifier(5);
    expect(h.numClasses).toBe(0);
    expect(h.adaptation({ id: 3, classes: [7, 6, 8] })).toBe(true);
    expect(h.adaptation({ id: 3, classes: [7, 6, 8] })).toBe(false);
    expect(h.head(3).weight.shape).toEqual([3, 5]);
    expect(h.numClasses).toBe(9);
    expect(() => h.adaptation({ id: 3, classes: [7, 6] })).toThrow(/task 3 has a head for classes \[7,6,8\]/);
    expect(() => h.head(1)).toThrow(/task 1 has no head.*adaptation/);
    expect(() => h.forward(E.zeros([2, 4]), 3)).toThrow(/features must be \[batch, 5\], got \[2, 4\]/);
    expect(() => h.forward(E.zeros([2, 5]), E.tensor([3, 3, 3], [3], { dtype: 'int32' }))).toThrow(/int32 \[2\]/);
    expect(() => h.forward(E.zeros([2, 5]))).toThrow(/which head/);
    h.dispose();
  });
});

describe('MultiTaskModel with the strategies', () => {
  it('Naive creates each head when its task is first seen, sized to its classes; old heads are not trained', async () => {
    const tasks = tinySplit();
    E.manualSeed(3);
    const model = multiHeadMLP();
    const naive = new Naive({ model, lr: 0.1, seed: 0 });
    await naive.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(model.heads.taskIds).toEqual([0]);
    expect(model.heads.head(0).weight.shape).toEqual([2, 16]);
    const head0 = await values(model.heads.head(0).weight);
    const body0 = await values((model.backbone as E.Sequential).stateDict().get('1.weight')!);
    await naive.learnTask(tasks[1]!, tasks.slice(0, 2));
    expect(model.heads.taskIds).toEqual([0, 1]);
    expect(model.heads.classesOf(1)).toEqual([2, 3]);
    expect(model.numClasses).toBe(4);
    // Task 1 trains the backbone and head 1 only: head 0 is bit-identical.
    expect(await values(model.heads.head(0).weight)).toEqual(head0);
    expect(await values((model.backbone as E.Sequential).stateDict().get('1.weight')!)).not.toEqual(body0);
    expect(model.defaultTask).toBeNull(); // restored after learnTask
    naive.dispose();
  });

  it('checkpoint round trip: heads.<taskId>.* keys; a fresh model with the same heads gives the same logits', async () => {
    const tasks = tinySplit();
    E.manualSeed(4);
    const a = multiHeadMLP();
    for (const t of tasks.slice(0, 3)) a.adaptation(t);
    const sd = a.stateDict();
    expect([...sd.keys()].sort()).toEqual(['features.1.bias', 'features.1.weight', 'heads.0.bias', 'heads.0.weight', 'heads.1.bias', 'heads.1.weight', 'heads.2.bias', 'heads.2.weight']);
    expect(sd.get('heads.2.weight')!.shape).toEqual([2, 16]);
    E.manualSeed(99);
    const b = multiHeadMLP();
    expect(() => b.loadStateDict(sd)).toThrow(/unexpected keys: heads\.0\.weight/);
    for (const t of tasks.slice(0, 3)) b.adaptation(t);
    b.loadStateDict(sd);
    const x = E.tensor(Float32Array.from(tasks[1]!.test.images.subarray(0, 3 * 16), (p) => p / 255), [3, 1, 4, 4]);
    const ids = E.tensor([2, 0, 1], [3], { dtype: 'int32' });
    expect(await values(b.forward(x, ids))).toEqual(await values(a.forward(x, ids)));
    a.dispose();
    b.dispose();
  });

  it('class-incremental evaluation throws (no task label: which head?); task-incremental multi-head naive beats shared-head class-incremental naive', async () => {
    const tasks = tinySplit();
    E.manualSeed(5);
    const refused = new Naive({ model: multiHeadMLP(), lr: 0.1, seed: 0 });
    await expect(runScenario(refused, tasks)).rejects.toThrow(/multi-head model.*setting 'task-incremental'/);
    await refused.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(() => refused.predict(E.zeros([2, 1, 4, 4]))).toThrow(/needs the task id.*class-incremental prediction/);
    refused.dispose();

    const opts = { lr: 0.1, momentum: 0.9, epochs: 3, batchSize: 8, seed: 0 };
    E.manualSeed(6);
    const multi = await runScenario(new Naive({ model: multiHeadMLP(), ...opts }), tasks, { setting: 'task-incremental' });
    E.manualSeed(6);
    const shared = await runScenario(new Naive({ model: new SharedMLP(), ...opts }), tasks);
    // A task not learned yet has no head: never predicted (its entries of the matrix are 0).
    expect(multi.accuracyMatrix[0]!.slice(1)).toEqual([0, 0, 0]);
    // Shared-head class-IL naive forgets (only the last task is predicted); the heads keep their tasks apart.
    expect(shared.averageAccuracy).toBeLessThan(0.45);
    expect(multi.averageAccuracy, `multi-head task-IL ${multi.averageAccuracy} vs shared class-IL ${shared.averageAccuracy}`).toBeGreaterThan(shared.averageAccuracy + 0.3);
  });

  it('ER routes each exemplar through its own task\'s head ("er" and "concat"); LwF distils through the old heads; EWC\'s Fisher sees only the task\'s head', async () => {
    const tasks = tinySplit().slice(0, 2);
    const base = { lr: 0.1, seed: 0, batchSize: 8 };
    const head0After = async (make: (m: MultiTaskModel) => Strategy & { dispose(): void }): Promise<boolean> => {
      E.manualSeed(7);
      const m = multiHeadMLP();
      const s = make(m);
      await s.learnTask(tasks[0]!, tasks.slice(0, 1));
      const before = await values(m.heads.head(0).weight);
      await s.learnTask(tasks[1]!, tasks);
      const changed = (await values(m.heads.head(0).weight)).some((v, i) => v !== before[i]);
      s.dispose();
      return changed;
    };
    expect(await head0After((m) => new Naive({ model: m, ...base }))).toBe(false);
    expect(await head0After((m) => new ExperienceReplay({ model: m, ...base, capacity: 16 }))).toBe(true);
    expect(await head0After((m) => new ExperienceReplay({ model: m, ...base, capacity: 16, mode: 'concat' }))).toBe(true);
    expect(await head0After((m) => new LwF({ model: m, ...base, alpha: 1 }))).toBe(true);
    expect(await head0After((m) => new SI({ model: m, ...base, lambda: 1 }))).toBe(false);

    E.manualSeed(8);
    const m = multiHeadMLP();
    const ewc = new EWC({ model: m, ...base, lambda: 10 });
    await ewc.learnTask(tasks[0]!, tasks.slice(0, 1));
    await ewc.learnTask(tasks[1]!, tasks);
    const [f0, f1] = ewc.ewc.penalties;
    expect(f0!.fisher.has('heads.1.weight')).toBe(false); // head 1 did not exist after task 0
    expect((await values(f0!.fisher.get('heads.0.weight')!)).some((v) => v > 0)).toBe(true);
    // Task 1's data goes through head 1 only: head 0's Fisher of task 1 is exactly zero.
    expect((await values(f1!.fisher.get('heads.0.weight')!)).every((v) => v === 0)).toBe(true);
    expect((await values(f1!.fisher.get('heads.1.weight')!)).some((v) => v > 0)).toBe(true);
    ewc.dispose();
  });

  it('strategies that cannot route exemplars to their heads refuse a multi-head model with a clear error', async () => {
    const tasks = tinySplit();
    const der = new DER({ model: multiHeadMLP(), capacity: 8, alpha: 0.1 });
    await expect(der.learnTask(tasks[0]!, tasks.slice(0, 1))).rejects.toThrow(/der.*cannot train a multi-head model/i);
    der.dispose();
    const cd = new ExperienceReplay({ model: multiHeadMLP(), capacity: 8, mode: 'concat-data' });
    await expect(cd.learnTask(tasks[0]!, tasks.slice(0, 1))).rejects.toThrow(/cannot train a multi-head model/);
    cd.dispose();
    expect(() => multiHeadMLP().classifier).toThrow(/no single classifier/);
  });
});
