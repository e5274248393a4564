// The pieces of the replay methods of issue 18, each against a float64 reference or a hand-computed case:
// ER-ACE's masked cross-entropy and DER's logit matching (values and gradients, with finite differences),
// A-GEM's projection, WA's weight aligning, GDumb's greedy class-balanced memory and its reset, MIR's
// interference scores and selection, and DER's logits in the packed memory.
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { createExemplarStore, ReservoirBuffer, ClassBalancedBuffer, GreedyClassBalancedBuffer, type Task, type StrategyContext } from '../../src/cl/index.js';
import {
  Naive, DER, GDumb, AGEMPlugin, WAPlugin, BiC, maskedCrossEntropy, logitMatchingLoss, agemProject, weightAlign, mirScores, fitBiasLayer,
} from '../../src/cl/strategies/index.js';
import { storeAsDataset } from '../../src/cl/strategies/replay-memory.js';
import { useGPU } from '../helpers/gpu.js';
import { syntheticImages } from './synthetic.js';

useGPU();

const SIDE = 4;
const D = SIDE * SIDE;
const DATA = { side: SIDE, noise: 40, base: 40, range: 175, protoSeed: 1000 };

async function f64(t: E.Tensor): Promise<Float64Array> {
  return Float64Array.from((await t.toArray()) as Float32Array);
}

function closeTo(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i]!)));
}

/** Central differences of f at z (float64). */
function numericGrad(f: (z: Float64Array) => number, z: Float64Array, h = 1e-5): Float64Array {
  return z.map((_, i) => {
    const zp = Float64Array.from(z);
    const zm = Float64Array.from(z);
    zp[i] = zp[i]! + h;
    zm[i] = zm[i]! - h;
    return (f(zp) - f(zm)) / (2 * h);
  });
}

function ctxOf(model: E.Classifier, tasksSoFar: readonly Task[]): StrategyContext {
  return { strategy: 'manual', model, transform: undefined, batchSize: 16, seed: 0, tasksSoFar };
}

// ------------------------------------------------------------------ losses

describe('new loss terms against float64 references, with gradient checks', () => {
  it('maskedCrossEntropy (ER-ACE): softmax over the listed classes only; no gradient to the others', async () => {
    E.manualSeed(1);
    const B = 4;
    const K = 5;
    const classes = [1, 3, 4];
    const labels = [3, 1, 4, 3];
    const z = E.mul(E.randn([B, K]), 2).detach();
    z.requiresGrad = true;
    const out = maskedCrossEntropy(z, labels, classes);
    out.backward();
    const Z = await f64(z);
    const ref = (zz: Float64Array) => {
      let tot = 0;
      for (let b = 0; b < B; b++) {
        const m = Math.max(...classes.map((c) => zz[b * K + c]!));
        const lse = m + Math.log(classes.reduce((s, c) => s + Math.exp(zz[b * K + c]! - m), 0));
        tot += lse - zz[b * K + labels[b]!]!;
      }
      return tot / B;
    };
    const analytic = new Float64Array(B * K);
    for (let b = 0; b < B; b++) {
      const m = Math.max(...classes.map((c) => Z[b * K + c]!));
      const s = classes.reduce((acc, c) => acc + Math.exp(Z[b * K + c]! - m), 0);
      for (const c of classes) analytic[b * K + c] = (Math.exp(Z[b * K + c]! - m) / s - (c === labels[b] ? 1 : 0)) / B;
    }
    expect(Math.abs((await out.item()) - ref(Z))).toBeLessThan(1e-5 * (1 + ref(Z)));
    closeTo(analytic, numericGrad(ref, Z), 1e-6);
    const g = await f64(z.grad!);
    closeTo(g, analytic, 1e-5);
    for (let b = 0; b < B; b++) for (const c of [0, 2]) expect(g[b * K + c]).toBe(0);
    // All classes in order: the plain cross-entropy.
    const full = maskedCrossEntropy(z, labels, [0, 1, 2, 3, 4]);
    const plain = E.crossEntropy(z, E.tensor(labels, [B], { dtype: 'int32' }));
    expect(await full.item()).toBeCloseTo(await plain.item(), 6);
    expect(() => maskedCrossEntropy(z, [0, 1, 4, 3], classes)).toThrow(/label 0 of row 0 is not among the classes \[1, 3, 4\]/);
    expect(() => maskedCrossEntropy(z, labels, [1, 7])).toThrow(/class 7 is not a column of the 5 logits/);
    expect(() => maskedCrossEntropy(z, [1], classes)).toThrow(/one label per row/);
    z.dispose();
  });

  it('logitMatchingLoss (DER): mean squared error over each row\'s stored columns; gradient 2 (z − s) / N there, 0 elsewhere', async () => {
    E.manualSeed(2);
    const B = 3;
    const K = 5;
    const C = 4;
    const counts = [4, 2, 3];
    const z = E.randn([B, K]).detach();
    z.requiresGrad = true;
    const s = E.randn([B, C]);
    const out = logitMatchingLoss(z, s, counts);
    out.backward();
    const Z = await f64(z);
    const S = await f64(s);
    const N = counts.reduce((a, b) => a + b, 0);
    const ref = (zz: Float64Array) => {
      let tot = 0;
      for (let b = 0; b < B; b++) for (let c = 0; c < counts[b]!; c++) tot += (zz[b * K + c]! - S[b * C + c]!) ** 2;
      return tot / N;
    };
    const analytic = new Float64Array(B * K);
    for (let b = 0; b < B; b++) for (let c = 0; c < counts[b]!; c++) analytic[b * K + c] = (2 * (Z[b * K + c]! - S[b * C + c]!)) / N;
    expect(Math.abs((await out.item()) - ref(Z))).toBeLessThan(1e-5 * (1 + ref(Z)));
    closeTo(analytic, numericGrad(ref, Z), 1e-6);
    closeTo(await f64(z.grad!), analytic, 1e-5);
    // Without counts (or all full): torch's mse_loss(z[:, :C], s).
    const plain = logitMatchingLoss(z, s);
    const mse = E.mseLoss(E.narrow(z, 1, 0, C), s);
    expect(await plain.item()).toBeCloseTo(await mse.item(), 6);
    expect(() => logitMatchingLoss(s, z)).toThrow(/C <= K/);
    expect(() => logitMatchingLoss(z, s, [4, 0, 1])).toThrow(/count 0 of row 1 is not an integer in \[1, 4\]/);
    z.dispose();
    s.dispose();
  });
});

// ------------------------------------------------------------------ A-GEM

describe('A-GEM projection', () => {
  it('projects g ← g − (g·r / r·r) r over all tensors flattened when g·r < 0 (hand-computed), and changes nothing when g·r >= 0', async () => {
    // g = ([1, -3], [0, 2]), r = ([1, 1], [1, -1]): g·r = 1 − 3 + 0 − 2 = −4, r·r = 4, so g + r.
    const g1 = E.tensor([1, -3], [2]);
    const g2 = E.tensor([0, 2], [1, 2]);
    const r1 = E.tensor([1, 1], [2]);
    const r2 = E.tensor([1, -1], [1, 2]);
    agemProject([g1, g2], [r1, r2]);
    expect([...(await g1.toArray())]).toEqual([2, -2]);
    expect([...(await g2.toArray())]).toEqual([1, 1]);
    // Now g·r = 2 − 2 + 1 − 1 = 0: unchanged; and a clearly positive case, unchanged bit for bit.
    agemProject([g1, g2], [r1, r2]);
    expect([...(await g1.toArray())]).toEqual([2, -2]);
    expect([...(await g2.toArray())]).toEqual([1, 1]);
    const h = E.tensor([0.1, 0.7], [2]);
    const before = [...(await h.toArray())];
    agemProject([h], [E.tensor([0.3, 0.2], [2])]);
    expect([...(await h.toArray())]).toEqual(before);
    // A zero reference leaves g alone (no 0/0).
    agemProject([h], [E.tensor([0, 0], [2])]);
    expect([...(await h.toArray())]).toEqual(before);
    expect(() => agemProject([g1], [r2, r1])).toThrow(/one reference per gradient/);
    expect(() => agemProject([g1], [E.zeros([3])])).toThrow(/gradient 0 has 2 values but its reference has 3/);
    for (const t of [g1, g2, r1, r2, h]) t.dispose();
  });

  it('AGEMPlugin on any strategy: stores patternsPerExperience images per task, projects every step once the memory is not empty', async () => {
    const tasks: Task[] = [0, 1].map((id) => ({
      id, classes: [2 * id, 2 * id + 1],
      train: syntheticImages([2 * id, 2 * id + 1], 10, 1 + id, DATA), test: syntheticImages([2 * id, 2 * id + 1], 5, 9, DATA),
    }));
    const agem = new AGEMPlugin({ patternsPerExperience: 6, sampleSize: 4 });
    const s = new Naive({ model: new E.SimpleNN(D, 4), lr: 0.1, batchSize: 8, plugins: [agem] });
    await s.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(agem.projectedSteps).toBe(0);
    expect(agem.buffer!.size).toBe(6);
    const live = E.memory().undisposed;
    await s.learnTask(tasks[1]!, tasks);
    expect(E.memory().undisposed).toBe(live); // the reference gradients are freed every step
    expect(agem.projectedSteps).toBe(3); // 20 images in batches of 8: 3 steps
    expect(agem.buffer!.size).toBe(12);
    expect([...agem.buffer!.store.tasks()].sort()).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    s.dispose();
    expect(() => new AGEMPlugin({ patternsPerExperience: 0 })).toThrow(/patternsPerExperience must be a positive integer/);
  });

  it('the afterBackward hook runs between afterLoss and afterStep, with the step\'s gradients in place', async () => {
    const data = syntheticImages([0, 1], 10, 1, DATA);
    const task: Task = { id: 0, classes: [0, 1], train: data, test: data };
    const log: string[] = [];
    const model = new E.SimpleNN(D, 2);
    const plugin = {
      name: 'log',
      afterLoss: () => void log.push('afterLoss'),
      afterBackward: () => void log.push(`afterBackward grad=${model.classifier.weight.grad !== null}`),
      afterStep: () => void log.push('afterStep'),
    };
    const s = new Naive({ model, lr: 0.1, batchSize: 16, plugins: [plugin] });
    await s.learnTask(task, [task]);
    expect(log).toEqual(['afterLoss', 'afterBackward grad=true', 'afterStep', 'afterLoss', 'afterBackward grad=true', 'afterStep']);
    s.dispose();
  });
});

// ------------------------------------------------------------------ WA

describe('WA weight aligning', () => {
  it('rescales the new classes\' rows to the old classes\' mean norm (hand-computed), bias and old rows untouched', async () => {
    const head = new E.Linear(2, 4);
    // Old rows 0, 1: norms 5 and 1 (mean 3); new rows 2, 3: norms 10 and 2 (mean 6): γ = 0.5.
    head.loadStateDict(new Map([['weight', E.tensor([3, 4, 0, 1, 6, 8, 0, 2], [4, 2])], ['bias', E.tensor([1, 2, 3, 4], [4])]]));
    weightAlign(head, [0, 1], [2, 3]);
    expect([...(await head.weight.toArray())]).toEqual([3, 4, 0, 1, 3, 4, 0, 1]);
    expect([...(await head.bias!.toArray())]).toEqual([1, 2, 3, 4]);
    expect(() => weightAlign(head, [0, 1], [1, 2])).toThrow(/class 1 is both old and new/);
    expect(() => weightAlign(head, [0], [5])).toThrow(/new class 5 is not a row of the 4-class head/);
    head.dispose();
  });

  it('WAPlugin aligns after a task that brings new classes, not after the first', async () => {
    const model = new E.SimpleNN(2, 4);
    model.classifier.loadStateDict(new Map([['weight', E.tensor([3, 4, 0, 1, 6, 8, 0, 2], [4, 2])], ['bias', E.zeros([4])]]));
    const data = new ImageDataset({ images: new Uint8Array(4), labels: new Int32Array([0, 1]), channels: 1, height: 1, width: 2 });
    const t0: Task = { id: 0, classes: [0, 1], train: data, test: data };
    const t1: Task = { id: 1, classes: [2, 3], train: data, test: data };
    const wa = new WAPlugin();
    wa.afterTask(ctxOf(model, [t0]), t0);
    expect([...(await model.classifier.weight.toArray())]).toEqual([3, 4, 0, 1, 6, 8, 0, 2]);
    wa.afterTask(ctxOf(model, [t0, t1]), t1);
    expect([...(await model.classifier.weight.toArray())]).toEqual([3, 4, 0, 1, 3, 4, 0, 1]);
    expect(wa.alignedAfter).toEqual([1]);
    model.dispose();
  });
});

describe('BiC bias layer', () => {
  it('fitBiasLayer: α, β after full-batch gradient descent equal a float64 reference of the same descent', async () => {
    E.manualSeed(8);
    const B = 12;
    const K = 4;
    const fresh = [2, 3];
    const labels = Array.from({ length: B }, (_, b) => b % K);
    // New-class logits inflated by +2, so the fit has something to correct.
    const z = E.add(E.mul(E.randn([B, K]), 1.5), E.tensor([0, 0, 2, 2], [K]));
    const steps = 30;
    const lr = 0.5;
    const fit = await fitBiasLayer(z, E.tensor(labels, [B], { dtype: 'int32' }), fresh, { steps, lr });
    const Z = await f64(z);
    let a = 1;
    let b = 0;
    const isNew = (c: number) => fresh.includes(c);
    const loss = (al: number, be: number) => {
      let tot = 0;
      for (let r = 0; r < B; r++) {
        const zr = Array.from({ length: K }, (_, c) => (isNew(c) ? al * Z[r * K + c]! + be : Z[r * K + c]!));
        const m = Math.max(...zr);
        tot += m + Math.log(zr.reduce((s2, v) => s2 + Math.exp(v - m), 0)) - zr[labels[r]!]!;
      }
      return tot / B;
    };
    const l0 = loss(1, 0);
    for (let s2 = 0; s2 < steps; s2++) {
      let ga = 0;
      let gb = 0;
      for (let r = 0; r < B; r++) {
        const zr = Array.from({ length: K }, (_, c) => (isNew(c) ? a * Z[r * K + c]! + b : Z[r * K + c]!));
        const m = Math.max(...zr);
        const e = zr.map((v) => Math.exp(v - m));
        const sum = e.reduce((x, y) => x + y, 0);
        for (const c of fresh) {
          const d = (e[c]! / sum - (c === labels[r] ? 1 : 0)) / B;
          ga += d * Z[r * K + c]!;
          gb += d;
        }
      }
      a -= lr * ga;
      b -= lr * gb;
    }
    expect(Math.abs(fit.alpha - a)).toBeLessThan(1e-4);
    expect(Math.abs(fit.beta - b)).toBeLessThan(1e-4);
    expect(loss(a, b)).toBeLessThan(l0);
    expect(await fitBiasLayer(z, E.tensor(labels, [B], { dtype: 'int32' }), fresh, { steps: 0 })).toEqual({ alpha: 1, beta: 0 });
    z.dispose();
  });

  it('BiC splits the stream between the replay and the held-out validation memory and fits one layer per new task', async () => {
    const tasks: Task[] = [0, 1].map((id) => ({
      id, classes: [2 * id, 2 * id + 1],
      train: syntheticImages([2 * id, 2 * id + 1], 40, 1 + id, DATA), test: syntheticImages([2 * id, 2 * id + 1], 5, 9, DATA),
    }));
    const bic = new BiC({ model: new E.SimpleNN(D, 4), lr: 0.3, batchSize: 16, capacity: 20, valCapacity: 8, seed: 2 });
    await bic.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(bic.biasLayers).toEqual([]);
    await bic.learnTask(tasks[1]!, tasks);
    const val = bic.validationBuffer!;
    expect(val.size).toBe(8);
    expect(bic.buffer!.size).toBe(20);
    expect(val.seen + bic.buffer!.seen).toBe(160); // every stream image went to exactly one memory
    expect(val.seen).toBeGreaterThan(8);
    expect(bic.memoryStats()).toEqual({ exemplars: 28, bytes: 28 * D * 4 });
    expect(bic.biasLayers.map((l) => [l.task, l.classes])).toEqual([[1, [2, 3]]]);
    expect(Number.isFinite(bic.biasLayers[0]!.alpha) && Number.isFinite(bic.biasLayers[0]!.beta)).toBe(true);
    bic.dispose();
    expect(() => new BiC({ model: new E.SimpleNN(D, 4), capacityBytes: 4096 })).toThrow(/give valCapacity/);
    expect(() => new BiC({ model: new E.SimpleNN(D, 4), update: 'end-of-task' })).toThrow(/update must be 'online'/);
  });
});

// ------------------------------------------------------------------ GDumb

describe('GDumb', () => {
  it('greedy class-balanced memory on a hand-computed stream', async () => {
    // Capacity 4. Stream labels (pixel value = position in the stream):
    //   0 0 0 0 | 1: 0 < 4/2, evicts a 0 | 1: 1 < 2, evicts a 0 | 1: 2 >= 2, dropped | 0: 2 >= 2, dropped
    //   | 2: 0 < 4/3, evicts from the largest (0 or 1, both 2) | 2: 1 < 4/3, evicts from the class still at 2.
    // Whatever the random victims, the end state is one 0 (of items 0-3), one 1 (of items 4-5), both 2s (8, 9).
    const labels = [0, 0, 0, 0, 1, 1, 1, 0, 2, 2];
    for (const seed of [0, 1, 2, 3, 4]) {
      const buf = new GreedyClassBalancedBuffer({ shape: [1], capacity: 4, format: 'uint8', seed });
      buf.add({ values: Uint8Array.from(labels.map((_, i) => i)), labels, task: 0 });
      expect([...buf.classCounts().entries()].sort()).toEqual([[0, 1], [1, 1], [2, 2]]);
      const items = Array.from({ length: buf.size }, (_, i) => Math.round(buf.store.decode(i)[0]! * 255)).sort((a, b) => a - b);
      expect(items[0]).toBeLessThan(4);
      expect(items[1]! >= 4 && items[1]! <= 5).toBe(true);
      expect(items.slice(2)).toEqual([8, 9]);
      expect(buf.seen).toBe(10);
    }
  });

  it('resets the model each task and trains on the memory only: weights equal fine-tuning a fresh model on the memory', async () => {
    const tasks: Task[] = [0, 1].map((id) => ({
      id, classes: [2 * id, 2 * id + 1],
      train: syntheticImages([2 * id, 2 * id + 1], 12, 1 + id, DATA), test: syntheticImages([2 * id, 2 * id + 1], 5, 9, DATA),
    }));
    const opts = { lr: 0.3, batchSize: 8, epochs: 2, seed: 4 };
    E.manualSeed(0);
    const g = new GDumb({ model: new E.SimpleNN(D, 4), ...opts, capacity: 10 });
    await g.learnTask(tasks[0]!, tasks.slice(0, 1));
    await g.learnTask(tasks[1]!, tasks);
    const counts = (g.buffer as GreedyClassBalancedBuffer).classCounts();
    expect([...counts.values()].sort()).toEqual([2, 2, 3, 3]); // 10 over 4 classes, greedy: within one of each other
    // A fresh model with the same initial weights, fine-tuned on the memory as a dataset with the same seeds.
    E.manualSeed(0);
    const ref = new Naive({ model: new E.SimpleNN(D, 4), ...opts });
    const memory = storeAsDataset('test', g.buffer!.store, tasks[1]!.train);
    await ref.learnTask({ ...tasks[1]!, train: memory }, tasks);
    expect([...(await g.model.classifier.weight.toArray())]).toEqual([...(await ref.model.classifier.weight.toArray())]);
    expect([...(await g.model.classifier.bias!.toArray())]).toEqual([...(await ref.model.classifier.bias!.toArray())]);
    expect(g.memoryStats()).toEqual({ exemplars: 10, bytes: 10 * D * 4 });
    g.dispose();
    ref.dispose();
    expect(() => new GDumb({ model: new E.SimpleNN(D, 4) })).toThrow(/needs a memory size/);
    expect(() => new GDumb({ model: new E.SimpleNN(D, 4), capacity: 4, freezeFeaturesAfterFirstTask: true })).toThrow(/freezeFeaturesAfterFirstTask does not apply/);
  });
});

// ------------------------------------------------------------------ MIR

/** Cross-entropy of each row of x under a linear model W [K, F], b [K] (float64). */
function linearCE(W: Float64Array, b: Float64Array, K: number, F: number, x: Float64Array, y: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let n = 0; n < y.length; n++) {
    const z = Array.from({ length: K }, (_, c) => b[c]! + Array.from({ length: F }, (_, f) => W[c * F + f]! * x[n * F + f]!).reduce((s, v) => s + v, 0));
    const m = Math.max(...z);
    out.push(m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) - z[y[n]!]!);
  }
  return out;
}

describe('MIR', () => {
  it('scores each candidate by its loss increase after a virtual SGD step (float64 reference), restores the parameters exactly, and topk picks the largest', async () => {
    E.manualSeed(5);
    const K = 3;
    const F = 4;
    const model = new E.SimpleNN(F, K);
    const W0 = await f64(model.classifier.weight);
    const b0 = await f64(model.classifier.bias!);
    const x = E.mul(E.randn([6, F]), 2);
    const y = [0, 0, 1, 0, 2, 0];
    const xc = E.mul(E.randn([8, F]), 2);
    const yc = [0, 1, 2, 1, 2, 0, 1, 2];
    const lr = 0.5;
    const scores = mirScores(model, x, E.tensor(y, [6], { dtype: 'int32' }), xc, E.tensor(yc, [8], { dtype: 'int32' }), lr);
    // Reference: the stream batch's mean-CE gradient, one step, the loss change of each candidate.
    const X = await f64(x);
    const XC = await f64(xc);
    const gW = new Float64Array(K * F);
    const gb = new Float64Array(K);
    for (let n = 0; n < 6; n++) {
      const z = Array.from({ length: K }, (_, c) => b0[c]! + Array.from({ length: F }, (_, f) => W0[c * F + f]! * X[n * F + f]!).reduce((s, v) => s + v, 0));
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const s = e.reduce((a, v) => a + v, 0);
      for (let c = 0; c < K; c++) {
        const d = (e[c]! / s - (c === y[n] ? 1 : 0)) / 6;
        gb[c] = gb[c]! + d;
        for (let f = 0; f < F; f++) gW[c * F + f] = gW[c * F + f]! + d * X[n * F + f]!;
      }
    }
    const W1 = W0.map((v, i) => v - lr * gW[i]!);
    const b1 = b0.map((v, i) => v - lr * gb[i]!);
    const before = linearCE(W0, b0, K, F, XC, yc);
    const after = linearCE(W1, b1, K, F, XC, yc);
    const refScores = after.map((v, i) => v - before[i]!);
    closeTo(await f64(scores), refScores, 1e-4);
    // Parameters back exactly, gradients cleared.
    expect([...(await f64(model.classifier.weight))]).toEqual([...W0]);
    expect([...(await f64(model.classifier.bias!))]).toEqual([...b0]);
    expect(model.classifier.weight.grad).toBeNull();
    // The 3 largest increases, well separated from the 4th, are what topk selects.
    const order = refScores.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
    expect(order[2]![0] - order[3]![0]).toBeGreaterThan(1e-3);
    const picked = [...((await E.topk(scores, 3).indices.toArray()) as Int32Array)];
    expect(picked).toEqual(order.slice(0, 3).map(([, i]) => i));
    model.dispose();
    for (const t of [x, xc, scores]) t.dispose();
  });
});

// ------------------------------------------------------------------ DER's logits in the packed memory

describe('DER logits in the packed exemplar memory', () => {
  it('the store keeps logitDim float32 logits per exemplar, counted in its bytes, read back exactly; remove moves them', () => {
    const store = createExemplarStore({ shape: [1, 1, 2], format: 'uint8', logitDim: 3 });
    expect(store.bytesPerExemplar).toBe(4 + 12);
    store.add(new Uint8Array([1, 2]), 0, 0, [1.5, -2, 0.1]);
    store.add(new Uint8Array([3, 4]), 1, 1, [7, 8]); // stored while the head had 2 outputs
    expect([...store.logits()]).toEqual([1.5, -2, Math.fround(0.1), 7, 8, 0]);
    expect([...store.logitCounts()]).toEqual([3, 2]);
    expect([...store.logits([1])]).toEqual([7, 8, 0]);
    expect(store.bytes).toBe(2 * 16);
    expect(store.capacityFor(40)).toBe(2);
    store.replace(1, new Uint8Array([5, 6]), 2, 1, [9, 10, 11]);
    expect(store.remove(0)).toBe(1);
    expect([...store.logits()]).toEqual([9, 10, 11]);
    expect([...store.logitCounts()]).toEqual([3]);
    expect(store.label(0)).toBe(2);
    expect(() => store.add(new Uint8Array([1, 2]), 0)).toThrow(/keeps 1 to 3 logits per exemplar \(logitDim 3\), got none/);
    expect(() => store.add(new Uint8Array([1, 2]), 0, 0, [1, 2, 3, 4])).toThrow(/got 4/);
    expect(() => store.add(new Uint8Array([1, 2]), 0, 0, [NaN])).toThrow(/logit 0 is NaN/);
    const plain = createExemplarStore({ shape: [2] });
    expect(() => plain.add(new Float32Array(2), 0, 0, [1])).toThrow(/keeps no logits \(make it with logitDim: 1\)/);
    // A byte budget pays for the logits: 48 bytes hold 3 uint8 exemplars of 2 values with 3 logits (16 bytes each).
    const buf = new ReservoirBuffer({ shape: [1, 1, 2], format: 'uint8', capacityBytes: 48, logitDim: 3 });
    expect(buf.capacity).toBe(3);
    expect(() => buf.add({ values: new Uint8Array(4), labels: [0, 1], task: 0 })).toThrow(/keeps logits \(logitDim 3\); pass logits/);
    buf.add({ values: new Uint8Array([1, 2, 3, 4]), labels: [0, 1], task: 0, logits: Float32Array.from([1, 2, 3, 4]) });
    expect([...buf.store.logits()]).toEqual([1, 2, 0, 3, 4, 0]);
  });

  it('DER stores each stream image with the logits the model gave it (read back exactly), one readback per step', async () => {
    const data = syntheticImages([0, 1, 2], 10, 3, DATA);
    const task: Task = { id: 0, classes: [0, 1, 2], train: data, test: data };
    E.manualSeed(6);
    // lr 1e-30: the updates vanish in float32, so the model that stored the logits is the model now.
    const der = new DER({ model: new E.SimpleNN(D, 3), lr: 1e-30, batchSize: 8, capacity: 100, memoryFormat: 'uint8', alpha: 1, beta: 1 });
    await der.learnTask(task, [task]);
    const store = der.buffer!.store;
    expect(store.size).toBe(30);
    expect(der.logitReadbacks).toBe(4); // 30 images in batches of 8
    expect(der.memoryStats()).toEqual({ exemplars: 30, bytes: 30 * (D + 3 * 4) });
    const idx = Array.from({ length: 30 }, (_, i) => i);
    const now = await f64(E.noGrad(() => der.model.forward(store.toTensor(idx))));
    closeTo(store.logits(), now, 1e-6);
    expect([...store.logitCounts()].every((c) => c === 3)).toBe(true);
    der.dispose();
    expect(() => new DER({ model: new E.SimpleNN(D, 3), capacity: 4, expandHeads: true })).toThrow(/with expandHeads, pass logitDim/);
    expect(() => new DER({ model: new E.SimpleNN(D, 3), buffer: new ReservoirBuffer({ shape: [1, SIDE, SIDE], capacity: 4 }) })).toThrow(/store keeps no logits/);
    expect(() => new DER({ model: new E.SimpleNN(D, 3), capacity: 4, beta: -1 })).toThrow(/beta must be a finite number >= 0/);
    // Any buffer whose store keeps logits: a class-balanced one, fp16 images.
    const balanced = new ClassBalancedBuffer({ shape: [1, SIDE, SIDE], capacity: 9, format: 'fp16', logitDim: 3 });
    const derCb = new DER({ model: new E.SimpleNN(D, 3), lr: 1e-30, batchSize: 8, buffer: balanced });
    await derCb.learnTask(task, [task]);
    expect([...balanced.classCounts().values()]).toEqual([3, 3, 3]);
    // The logits were computed on the stream's float32 images p / 255: recover them from the fp16 copies.
    const pixels = Float32Array.from({ length: 9 * D }, (_, i) => Math.round(balanced.store.decode(Math.floor(i / D))[i % D]! * 255) / 255);
    const nowCb = await f64(E.noGrad(() => derCb.model.forward(E.tensor(pixels, [9, 1, SIDE, SIDE]))));
    closeTo(balanced.store.logits(), nowCb, 1e-6);
    expect(derCb.memoryStats().bytes).toBe(9 * (D * 2 + 3 * 4));
    derCb.dispose();
    const small = new DER({ model: new E.SimpleNN(D, 3), capacity: 4, logitDim: 2 });
    await expect(small.learnTask(task, [task])).rejects.toThrow(/the head has 3 outputs but the memory keeps 2 logits per exemplar/);
    small.dispose();
  });
});
