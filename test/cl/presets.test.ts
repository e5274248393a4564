// The pieces the faithful presets need (examples/cl-presets.ts): alternating replay steps, first-n-per-class
// and random-choice selection, a per-epoch StepLR inside a strategy, ConvStackCNN (features = conv stack),
// frozen features kept in train mode, and per-class accuracy.
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { classIncremental, firstPerClass, randomChoice, classAccuracies, FifoBuffer, type Task, type Strategy } from '../../src/cl/index.js';
import { Naive, ExperienceReplay, AlternatingReplay, adamOptimizer, stepLRPerEpoch, expandClassifier } from '../../src/cl/strategies/index.js';
import type { Optimizer, LrOptions } from '../../src/optim/optimizer.js';
import { useGPU } from '../helpers/gpu.js';
import { syntheticImages } from './synthetic.js';

useGPU();

const SIDE = 4;
const D = SIDE * SIDE;
const opts = { side: SIDE, noise: 40, base: 40, range: 175, protoSeed: 1000 };

/** {0, 1} then {2, 3}, perClass images of each class. */
function twoTasks(perClass: number): Task[] {
  return classIncremental(syntheticImages([0, 1, 2, 3], perClass, 1, opts), syntheticImages([0, 1, 2, 3], 5, 2, opts), [[0, 1], [2, 3]]);
}

/** Records every forward's batch size ('F<n>') and every optimizer step ('S'), in order. */
const events: string[] = [];
class SpyNN extends E.SimpleNN {
  override forward(x: E.Tensor): E.Tensor {
    events.push(`F${x.shape[0]}`);
    return super.forward(x);
  }
}
const spySGD = (params: E.Tensor[], lr: number) => {
  const o = new E.SGD(params, { lr });
  const step = o.step.bind(o);
  o.step = () => {
    events.push('S');
    step();
  };
  return o;
};

async function values(ps: E.Tensor[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of ps) out.push(...((await p.toArray()) as Float32Array));
  return out;
}

describe('firstPerClass / randomChoice', () => {
  const labels = [1, 0, 1, 2, 0, 1, 1, 0];
  const ds = new ImageDataset({ images: new Uint8Array(labels.length), labels: Int32Array.from(labels), channels: 1, height: 1, width: 1 });
  const task: Task = { id: 0, classes: [0, 1, 2], train: ds, test: ds };

  it('firstPerClass(2) picks the first two of each class in dataset order', () => {
    expect(Array.from(firstPerClass(2)(task, new E.Generator(0)))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(firstPerClass(1)(task, new E.Generator(0)))).toEqual([0, 1, 3]);
    expect(Array.from(firstPerClass(2, (t) => t.id === 1)(task, new E.Generator(0)))).toEqual([]);
  });

  it('randomChoice(k) draws k distinct indices, the same for the same generator seed', () => {
    const a = Array.from(randomChoice(5)(task, new E.Generator(3)));
    expect(a).toHaveLength(5);
    expect(new Set(a).size).toBe(5);
    expect(a.every((i) => i >= 0 && i < labels.length)).toBe(true);
    expect(Array.from(randomChoice(5)(task, new E.Generator(3)))).toEqual(a);
    expect(Array.from(randomChoice(100)(task, new E.Generator(3))).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(() => randomChoice(-1)).toThrow(/non-negative integer/);
  });

  it('ExperienceReplay select stores exactly the selected images, in offer order; select needs end-of-task', async () => {
    const tasks = twoTasks(6);
    const buffer = new FifoBuffer({ shape: [1, SIDE, SIDE], capacity: 100 });
    E.manualSeed(0);
    const er = new ExperienceReplay({ model: new E.SimpleNN(D, 4), lr: 0.1, batchSize: 4, buffer, update: 'end-of-task', select: firstPerClass(2) });
    await er.learnTask(tasks[0]!, tasks.slice(0, 1));
    const want = Array.from(firstPerClass(2)(tasks[0]!, new E.Generator(0)));
    expect(want).toHaveLength(4);
    expect(Array.from(buffer.store.labels())).toEqual(want.map((i) => tasks[0]!.train.labels[i]));
    const mem = er.memoryDataset(tasks[0]!.train);
    expect(Array.from(mem.images)).toEqual(want.flatMap((i) => Array.from(tasks[0]!.train.images.subarray(i * D, (i + 1) * D))));
    er.dispose();
    expect(() => new ExperienceReplay({ model: new E.SimpleNN(D, 4), capacity: 10, select: firstPerClass(2) })).toThrow(/select applies to update: 'end-of-task' only/);
  });
});

describe('AlternatingReplay', () => {
  it('takes a stream step, then a memory step: S, M, S, M exactly, with the memory batch size', async () => {
    const tasks = twoTasks(6); // 12 images per task: 4 stream batches of 3
    E.manualSeed(0);
    const st = new AlternatingReplay({
      model: new SpyNN(D, 4), lr: 0.1, batchSize: 3, memoryBatchSize: 2, seed: 1, makeOptimizer: spySGD,
      update: 'end-of-task', bufferKind: 'fifo', capacity: 100, select: firstPerClass(3, (t) => t.id === 0),
    });
    events.length = 0;
    await st.learnTask(tasks[0]!, tasks.slice(0, 1)); // empty memory: stream steps only
    expect(events).toEqual(['F3', 'S', 'F3', 'S', 'F3', 'S', 'F3', 'S']);
    expect(st.buffer!.size).toBe(6);
    events.length = 0;
    await st.learnTask(tasks[1]!, tasks);
    // 4 stream steps of 3, each followed by a memory step of 2 (the 6-exemplar memory cycles: 2, 2, 2, then a new pass).
    expect(events).toEqual(['F3', 'S', 'F2', 'S', 'F3', 'S', 'F2', 'S', 'F3', 'S', 'F2', 'S', 'F3', 'S', 'F2', 'S']);
    expect(st.memorySteps).toBe(4);
    expect(st.buffer!.size).toBe(6); // task 1 stores nothing (select excludes it)
    st.dispose();
    expect(() => new AlternatingReplay({ model: new E.SimpleNN(D, 4), capacity: 4, mode: 'concat' } as never)).toThrow(/mode does not apply/);
  });
});

describe('lrSchedule: stepLRPerEpoch inside a strategy', () => {
  it("gives StepLR's lr sequence, one step per epoch, restarted at each task", async () => {
    const tasks = twoTasks(4); // 8 images per task, batch 4: 2 steps per epoch
    let opt: Optimizer<LrOptions> | null = null;
    const seen: number[] = [];
    E.manualSeed(0);
    const naive = new Naive({
      model: new E.SimpleNN(D, 4), lr: 0.01, epochs: 5, batchSize: 4,
      makeOptimizer: (p, lr) => (opt = adamOptimizer()(p, lr)), lrSchedule: stepLRPerEpoch(2, 0.5),
      plugins: [{ name: 'lr-spy', beforeStep: () => seen.push(opt!.groups[0]!.options.lr) }],
    });
    await naive.learnTask(tasks[0]!, tasks.slice(0, 1));
    // torch: StepLR(step_size=2, gamma=0.5) over 5 epochs: 0.01, 0.01, 0.005, 0.005, 0.0025.
    const perEpoch = [0.01, 0.01, 0.005, 0.005, 0.0025];
    expect(seen).toEqual(perEpoch.flatMap((lr) => [lr, lr]).map((v) => expect.closeTo(v, 12)));
    // The same sequence from a standalone StepLR stepped once per epoch.
    const ref = new E.Adam([E.zeros([1])], { lr: 0.01 });
    const s = new E.StepLR(ref, 2, 0.5);
    const refLrs: number[] = [];
    for (let e = 0; e < 5; e++) {
      refLrs.push(ref.groups[0]!.options.lr);
      s.step();
    }
    expect(refLrs.map((v) => expect.closeTo(v, 12))).toEqual(perEpoch);
    seen.length = 0;
    await naive.learnTask(tasks[1]!, tasks); // same optimizer, schedule restarted at the base lr
    expect(seen).toEqual(perEpoch.flatMap((lr) => [lr, lr]).map((v) => expect.closeTo(v, 12)));
    naive.dispose();
  });
});

describe('taskEpochs', () => {
  it('runs each task for its own number of epochs (10 / 5 in the appended-digits preset)', async () => {
    const tasks = twoTasks(4); // 8 images, batch 4: 2 steps per epoch
    let steps = 0;
    E.manualSeed(0);
    const naive = new Naive({ model: new E.SimpleNN(D, 4), batchSize: 4, epochs: 7, taskEpochs: (t) => (t.id === 0 ? 3 : 1), plugins: [{ name: 'count', beforeStep: () => void steps++ }] });
    await naive.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(steps).toBe(6);
    steps = 0;
    await naive.learnTask(tasks[1]!, tasks);
    expect(steps).toBe(2);
    naive.dispose();
    const bad = new Naive({ model: new E.SimpleNN(D, 4), taskEpochs: () => 0 });
    await expect(bad.learnTask(tasks[0]!, tasks.slice(0, 1))).rejects.toThrow(/taskEpochs\(task 0\) must be a positive integer/);
    bad.dispose();
  });
});

describe('ConvStackCNN', () => {
  const count = (ps: E.Tensor[]) => ps.reduce((a, p) => a + p.size, 0);

  it('features() is the conv stack: freezing it leaves both FC layers trainable (CifarCNN: the last layer only)', () => {
    E.manualSeed(0);
    const m = new E.ConvStackCNN(10, { inChannels: 1, imageSize: 28, width: 2, hidden: 6 });
    expect(m.convDim).toBe(8 * 3 * 3); // 28 -> 14 -> 7 -> 3, 4w = 8 channels
    expect(m.featureDim).toBe(72);
    const x = E.randn([2, 1, 28, 28]);
    expect(m.features(x).shape).toEqual([2, 72]);
    expect(m.forward(x).shape).toEqual([2, 10]);
    m.freezeFeatures();
    const trainable = count(m.parameters().filter((p) => p.requiresGrad));
    expect(trainable).toBe(72 * 6 + 6 + 6 * 10 + 10);
    const c = new E.CifarCNN(10, 3).freezeFeatures();
    expect(count(c.parameters().filter((p) => p.requiresGrad))).toBe(512 * 10 + 10);
    expandClassifier(m, 12);
    expect(m.forward(x).shape).toEqual([2, 12]);
    expect(count(m.parameters().filter((p) => p.requiresGrad))).toBe(72 * 6 + 6 + 6 * 12 + 12);
    // split 'hidden' is CifarCNN's: features() ends after the hidden layer, freezing leaves the last layer.
    const h = new E.ConvStackCNN(10, { inChannels: 1, imageSize: 28, width: 2, hidden: 6, split: 'hidden' }).freezeFeatures();
    expect(h.features(x).shape).toEqual([2, 6]);
    expect(count(h.parameters().filter((p) => p.requiresGrad))).toBe(6 * 10 + 10);
    m.dispose();
    c.dispose();
    h.dispose();
    expect(() => new E.ConvStackCNN(10, { imageSize: 4 })).toThrow(/too small/);
  });

  it("frozen features with frozenFeaturesMode 'train': conv weights fixed, batch-norm running stats move, both FC layers learn", async () => {
    const tasks = classIncremental(syntheticImages([0, 1, 2], 4, 1, { ...opts, side: 8 }), syntheticImages([0, 1, 2], 2, 2, { ...opts, side: 8 }), [[0, 1], [2]]);
    const run = async (mode: 'eval' | 'train') => {
      E.manualSeed(0);
      const m = new E.ConvStackCNN(2, { inChannels: 1, imageSize: 8, width: 2, hidden: 4 });
      const st = new Naive({ model: m, lr: 0.05, batchSize: 4, expandHeads: true, freezeFeaturesAfterFirstTask: true, frozenFeaturesMode: mode });
      await st.learnTask(tasks[0]!, tasks.slice(0, 1));
      const conv = m.body.parameters();
      const bn = m.body.namedBuffers().filter(([n]) => n.includes('running')).map(([, t]) => t);
      const before = { conv: await values(conv), fc: await values(m.fc.parameters()), bn: await values(bn) };
      await st.learnTask(tasks[1]!, tasks);
      const after = { conv: await values(m.body.parameters()), fc: await values(m.fc.parameters()), bn: await values(bn) };
      st.dispose();
      return { before, after, nb: bn.length };
    };
    const tr = await run('train');
    expect(tr.after.conv).toEqual(tr.before.conv);
    expect(tr.after.fc).not.toEqual(tr.before.fc);
    expect(tr.nb).toBeGreaterThan(0);
    expect(tr.after.bn).not.toEqual(tr.before.bn);
    const ev = await run('eval');
    expect(ev.after.conv).toEqual(ev.before.conv);
    expect(ev.after.fc).not.toEqual(ev.before.fc);
    expect(ev.after.bn).toEqual(ev.before.bn);
  });
});

describe('classAccuracies', () => {
  it('scores each class on its own test images', async () => {
    const labels = [10, 11, 10, 11, 11, 3];
    const preds = [10, 10, 3, 11, 11, 3];
    const ds = new ImageDataset({ images: new Uint8Array(labels.length), labels: Int32Array.from(labels), channels: 1, height: 1, width: 1 });
    const fake: Strategy = { name: 'fake', learnTask: async () => undefined, predict: (x) => E.tensor(Int32Array.from(preds.slice(0, x.shape[0])), [x.shape[0]!], { dtype: 'int32' }) };
    expect(await classAccuracies(fake, ds, [10, 11, 3])).toEqual([0.5, 2 / 3, 1]);
    await expect(classAccuracies(fake, ds, [7])).rejects.toThrow(/class 7 has no test images/);
  });
});
