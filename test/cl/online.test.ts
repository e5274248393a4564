import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import type { Batch } from '../../src/data/loader.js';
import { classIncremental, runOnlineStream, anytimeChartSVG, type Strategy, type Task } from '../../src/cl/index.js';
import { Naive, ExperienceReplay, Cumulative } from '../../src/cl/strategies/index.js';
import { useGPU } from '../helpers/gpu.js';
import { syntheticImages } from './synthetic.js';

useGPU();

/** Two tasks, {0, 1} then {2, 3}: 46 and 46 training images (odd batch counts), 20 test images each. */
function twoTasks(): Task[] {
  const o = { side: 4, noise: 40, base: 40, range: 175, protoSeed: 1000 };
  return classIncremental(syntheticImages([0, 1, 2, 3], 23, 1, o), syntheticImages([0, 1, 2, 3], 10, 2, o), [[0, 1], [2, 3]]);
}

/** A strategy that records what the stream shows it and predicts class 0. */
class Spy implements Strategy {
  readonly name = 'spy';
  seen: { task: number; n: number; first: number }[] = [];
  ends = 0;
  async learnTask(): Promise<void> {}
  predict(x: E.Tensor): E.Tensor {
    return E.zeros([x.shape[0]!], { dtype: 'int32' });
  }
  async observe(batch: Batch, task: Task): Promise<void> {
    this.seen.push({ task: task.id, n: batch.indices.length, first: task.train.labels[batch.indices[0]!]! });
  }
  async endTask(): Promise<void> {
    this.ends++;
  }
}

describe('runOnlineStream (anytime evaluation)', () => {
  it('one pass in small batches; a point every k steps and at the end; boundaries visible or hidden', async () => {
    const tasks = twoTasks();
    const spy = new Spy();
    const r = await runOnlineStream(spy, tasks, { batchSize: 5, evalEvery: 4 });
    // 46 images per task in batches of 5: 10 steps per task (the last of 1), 20 in all.
    expect(r.totalSteps).toBe(20);
    expect(r.taskStarts).toEqual([0, 10]);
    expect(r.steps).toEqual([4, 8, 12, 16, 20]);
    expect(r.accuracy).toHaveLength(5);
    expect(r.accuracy.every((row) => row.length === 2)).toBe(true);
    expect(spy.seen.map((s) => s.task)).toEqual([...new Array(10).fill(0), ...new Array(10).fill(1)]);
    expect(spy.seen.reduce((a, s) => a + s.n, 0)).toBe(92);
    expect(spy.ends).toBe(2);
    // Always class 0: half of task 0's test set, none of task 1's; the seen mean covers task 0 only until step 10.
    expect(r.accuracy[0]).toEqual([0.5, 0]);
    expect(r.seenAccuracy).toEqual([0.5, 0.5, 0.25, 0.25, 0.25]);

    const hidden = new Spy();
    const h = await runOnlineStream(hidden, tasks, { batchSize: 5, evalEvery: 7, hideBoundaries: true });
    // 92 images as one sequence: 19 steps (the batch at step 9 straddles the two tasks).
    expect(h.totalSteps).toBe(19);
    expect(h.taskStarts).toEqual([0, 9]);
    expect(h.steps).toEqual([7, 14, 19]);
    expect(new Set(hidden.seen.map((s) => s.task))).toEqual(new Set([0]));
    expect(hidden.ends).toBe(1);
    // The same images in the same order as with visible boundaries.
    expect(hidden.seen.slice(0, 9).map((s) => s.first)).toEqual(spy.seen.slice(0, 9).map((s) => s.first));
  });

  it('Naive and online ER learn from the stream; the chart draws one line per strategy', async () => {
    const tasks = twoTasks();
    const results = [];
    for (const make of [
      () => new Naive({ model: new E.SimpleNN(16, 4), lr: 0.5, seed: 1 }),
      () => new ExperienceReplay({ model: new E.SimpleNN(16, 4), lr: 0.5, seed: 1, capacity: 20 }),
    ]) {
      E.manualSeed(3);
      const s = make();
      const r = await runOnlineStream(s, tasks, { batchSize: 5, evalEvery: 5, evalLimit: 15 });
      results.push(r);
      expect(r.steps).toEqual([5, 10, 15, 20]);
      expect(r.accuracy[3]![1]!, `${s.name} learns task 1`).toBeGreaterThan(0.6);
      s.dispose();
    }
    expect(results[1]!.memory?.exemplars).toBe(20);
    // Naive forgets task 0 once task 1 streams in; replay keeps it (here: 0% vs 100% at the end).
    expect(results[1]!.accuracy[3]![0]!).toBeGreaterThan(results[0]!.accuracy[3]![0]! + 0.3);
    const svg = anytimeChartSVG(results, { title: 'online <test>' });
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('online &lt;test&gt;');
    expect(anytimeChartSVG(results, { curves: 'tasks' }).match(/<polyline/g)).toHaveLength(2);
  });

  it('refuses strategies without an online mode', async () => {
    const c = new Cumulative({ model: new E.SimpleNN(16, 4) });
    await expect(runOnlineStream(c, twoTasks(), { evalEvery: 2 })).rejects.toThrow(/cumulative: has no online mode/);
    c.dispose();
    await expect(runOnlineStream({ name: 'x', learnTask: async () => {}, predict: (x) => x }, twoTasks(), { evalEvery: 2 })).rejects.toThrow(/'x' has no observe/);
    await expect(runOnlineStream(new Spy(), twoTasks(), { evalEvery: 0 })).rejects.toThrow(/evalEvery must be a positive integer/);
  });
});
