// Cost metrics: the runtime's readback counter and peak-memory mark count exactly on hand-made cases,
// a strategy's TrainingMeter sees the readbacks inside its steps (none for a plain step, one per step
// for a plugin that reads), and runScenario reports sane costs for Naive and ER on a synthetic split.
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { classIncremental, runScenario, ReservoirBuffer, type Task, type StrategyPlugin } from '../../src/cl/index.js';
import { Naive, ExperienceReplay, ICaRL, SCR, GaussianHeadStrategy } from '../../src/cl/strategies/index.js';
import { sizeClass } from '../../src/engine/buffer-pool.js';
import { useGPU } from '../helpers/gpu.js';
import { syntheticImages } from './synthetic.js';

useGPU();

/** Two tasks of two classes, 100 training images per class: 200 per task, so 4 steps of 64 per task. */
function twoTasks(): Task[] {
  return classIncremental(syntheticImages([0, 1, 2, 3], 100, 1), syntheticImages([0, 1, 2, 3], 20, 2), [[0, 1], [2, 3]]);
}

/** Features with parameters (Linear + ReLU), then a linear head. */
class TinyNet extends E.Classifier {
  readonly body: E.Sequential;
  constructor(numClasses: number) {
    super();
    this.body = this.registerModule('features', new E.Sequential(new E.Flatten(), new E.Linear(16, 8), new E.ReLU()));
    this.registerModule('classifier', new E.Linear(8, numClasses));
  }
  features(x: E.Tensor): E.Tensor {
    return this.body.forward(x);
  }
}

describe('runtime cost counters', () => {
  it('counters.readbacks counts each read back to the CPU, and nothing else', async () => {
    const rt = E.runtime();
    const t = E.tensor([1, 2, 3]);
    const before = rt.counters.readbacks;
    const s = E.sum(E.mul(t, t)); // recorded work reads nothing back
    expect(rt.counters.readbacks).toBe(before);
    await t.toArray();
    await t.toArray();
    expect(await s.item()).toBe(14);
    expect(rt.counters.readbacks - before).toBe(3);
    t.dispose();
    s.dispose();
  });

  it('memory().peakBytes is the high-water mark of live bytes since resetPeakMemory()', () => {
    E.resetPeakMemory();
    const m0 = E.memory();
    expect(m0.peakBytes).toBe(m0.bytes);
    const a = E.zeros([1000]); // 4000 bytes: one 4096-byte size class
    const b = E.zeros([100]);
    a.dispose();
    b.dispose();
    const m1 = E.memory();
    expect(m1.bytes).toBe(m0.bytes);
    expect(m1.peakBytes - m0.bytes).toBe(sizeClass(4000) + sizeClass(400));
    E.resetPeakMemory();
    expect(E.memory().peakBytes).toBe(m0.bytes);
  });
});

describe('strategy costs', () => {
  it('a step without reads has 0 readbacks per step; a plugin reading once per step has exactly 1', async () => {
    const tasks = twoTasks();
    E.manualSeed(0);
    const plain = new Naive({ model: new E.SimpleNN(16, 4), batchSize: 64, seed: 0 });
    const r0 = await runScenario(plain, tasks);
    plain.dispose();
    expect(r0.cost!.steps).toBe(8);
    expect(r0.cost!.readbacksPerStep).toBe(0);
    // Outside the loops: the mean loss of each task, one readback per task.
    expect(r0.cost!.readbacks).toBe(2);

    const pending: Promise<unknown>[] = [];
    const reader: StrategyPlugin = { name: 'reader', afterStep: (ctx) => void pending.push(ctx.model.parameters()[0]!.toArray()) };
    E.manualSeed(0);
    const reading = new Naive({ model: new E.SimpleNN(16, 4), batchSize: 64, seed: 0, plugins: [reader] });
    const r1 = await runScenario(reading, tasks);
    await Promise.all(pending);
    reading.dispose();
    expect(pending).toHaveLength(8);
    expect(r1.cost!.steps).toBe(8);
    expect(r1.cost!.readbacksPerStep).toBe(1);
    expect(r1.cost!.readbacks).toBe(8 + 2);
    expect(r1.accuracyMatrix).toEqual(r0.accuracyMatrix); // same seed: reading does not change training
  });

  it('Naive and ER report steps, time per step, extra GPU memory and exemplar bytes', async () => {
    const tasks = twoTasks();
    const naive = new Naive({ model: new E.SimpleNN(16, 4), batchSize: 64, seed: 0 });
    const rn = await runScenario(naive, tasks);
    naive.dispose();
    const buffer = new ReservoirBuffer({ shape: [1, 4, 4], capacity: 40, format: 'uint8', seed: 0 });
    const er = new ExperienceReplay({ model: new E.SimpleNN(16, 4), batchSize: 64, seed: 0, buffer, memoryBatchSize: 32 });
    const re = await runScenario(er, tasks);
    er.dispose();
    for (const r of [rn, re]) {
      const c = r.cost!;
      const total = r.trainSeconds.reduce((a, b) => a + b, 0);
      expect(c.steps, r.strategy).toBe(8);
      expect(c.secondsPerStep! * c.steps!, r.strategy).toBeCloseTo(total, 9);
      expect(c.secondsPerStep, r.strategy).toBeGreaterThan(0);
      expect(c.readbacksPerStep, r.strategy).toBe(0);
      // A training step holds activations and gradients on top of the model.
      expect(c.peakExtraBytes, r.strategy).toBeGreaterThan(0);
      expect(c.extraBytes, r.strategy).toBeLessThanOrEqual(c.peakExtraBytes);
      expect(c.memoryBytes, r.strategy).toBe(r.memory?.bytes ?? 0);
    }
    expect(rn.cost!.memoryBytes).toBe(0);
    // 40 uint8 exemplars of 16 pixels.
    expect(re.cost!.memoryBytes).toBe(40 * 16);
  });

  it('iCaRL, SCR and the Gaussian head count their own loops: steps taken, no readback inside them', async () => {
    const tasks = twoTasks();
    const strategies = [
      new ICaRL({ model: new TinyNet(4), memorySize: 20, batchSize: 32, seed: 0 }),
      new SCR({ model: new TinyNet(4), memorySize: 20, batchSize: 32, seed: 0 }),
      new GaussianHeadStrategy({ model: new TinyNet(2), batchSize: 64, seed: 0 }),
    ];
    // SCR: ceil(200 / 32) = 7 batches a task, but no step on the first batch while the memory is still
    // empty (as the authors' code): 13 steps; Gaussian head: trained on task 0 only, ceil(200 / 64) = 4.
    // iCaRL: task 0 in batches of 32 (7 steps), task 1 of round(32 * 200 / 220) = 29 new images (7 steps).
    const expected = [14, 13, 4];
    for (const [k, strategy] of strategies.entries()) {
      const r = await runScenario(strategy, tasks);
      strategy.dispose();
      expect(r.cost!.steps, r.strategy).toBe(expected[k]);
      expect(r.cost!.readbacksPerStep, r.strategy).toBe(0);
      expect(r.cost!.readbacks, r.strategy).toBeGreaterThan(0); // per-task work: losses, herding, head fits
    }
  });
});
