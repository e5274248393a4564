import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { runScenario, maskedArgmax, type Strategy, type Task } from '../../src/cl/index.js';
import { Naive, NCMReplay, GaussianHeadStrategy } from '../../src/cl/strategies/index.js';
import { classIncremental } from '../../src/cl/index.js';
import { syntheticImages } from './synthetic.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

const SCORES = [[5, 1, 3, 0], [0, 2, 9, 1]];

async function labels(t: E.Tensor): Promise<number[]> {
  const v = Array.from(await t.toArray());
  t.dispose();
  return v;
}

describe('task-incremental prediction (masked logits)', () => {
  it('maskedArgmax: the best column among the allowed labels, by column index or by head labels', async () => {
    const s = E.tensor(SCORES);
    expect(await labels(maskedArgmax(s, [1, 3]))).toEqual([1, 1]);
    expect(await labels(maskedArgmax(s, [2, 3]))).toEqual([2, 2]);
    expect(await labels(maskedArgmax(s, [0, 3]))).toEqual([0, 3]);
    // Columns labelled like a head's classes (NCMHead.labels order): labels 7, 3, 5, 9.
    expect(await labels(maskedArgmax(s, [3, 9], [7, 3, 5, 9]))).toEqual([3, 3]);
    expect(await labels(maskedArgmax(s, [7, 5], [7, 3, 5, 9]))).toEqual([7, 5]);
    // A class no column scores is never predicted; no scored class at all: -1 (never correct).
    expect(await labels(maskedArgmax(s, [3, 42]))).toEqual([3, 3]);
    expect(await labels(maskedArgmax(s, [42]))).toEqual([-1, -1]);
    expect(() => maskedArgmax(s, [1], [1, 2])).toThrow(/2 column labels for 4 score columns/);
    s.dispose();
  });

  it('Naive.predictTask masks the logits of a hand-set linear model; predict does not', async () => {
    const model = new E.SimpleNN(4, 4);
    // W = identity, b = 0: the logits are the four pixels.
    model.loadStateDict({ 'classifier.weight': E.tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), 'classifier.bias': E.tensor([0, 0, 0, 0]) });
    const naive = new Naive({ model });
    const x = E.tensor(SCORES.flat(), [2, 1, 2, 2]);
    expect(await labels(naive.predict(x))).toEqual([0, 2]);
    expect(await labels(naive.predictTask(x, { id: 1, classes: [1, 3] }))).toEqual([1, 1]);
    expect(await labels(naive.predictTask(x, { id: 0, classes: [0, 3] }))).toEqual([0, 3]);
    x.dispose();
    naive.dispose();
  });

  it('runScenario with setting task-incremental evaluates each test set with its task label', async () => {
    // Every image of each task's test set is of the task's higher class; the strategy always scores
    // class 3 highest, so without the label it is right on task 1 only, with it on both tasks.
    const data = (l: number[]): ImageDataset => new ImageDataset({ images: new Uint8Array(l.length * 4), labels: l, channels: 1, height: 2, width: 2 });
    const tasks: Task[] = [
      { id: 0, classes: [0, 1], train: data([0, 1]), test: data([1, 1]) },
      { id: 1, classes: [2, 3], train: data([2, 3]), test: data([3, 3, 3]) },
    ];
    const always3 = (x: E.Tensor): E.Tensor => E.scope(() => E.add(E.zeros([x.shape[0]!, 4]), E.tensor([0, 1, 2, 3])));
    const fixed: Strategy = {
      name: 'fixed',
      async learnTask() {},
      predict: (x) => E.scope(() => E.argmax(always3(x), 1)),
      predictTask: (x, task) => E.scope(() => maskedArgmax(always3(x), task.classes)),
    };
    const ci = await runScenario(fixed, tasks);
    expect(ci.accuracyMatrix).toEqual([[0, 1], [0, 1]]);
    const ti = await runScenario(fixed, tasks, { setting: 'task-incremental' });
    expect(ti.accuracyMatrix).toEqual([[1, 1], [1, 1]]);
    expect(ti.setting).toBe('task-incremental');
    const { predictTask: _, ...noTask } = fixed;
    await expect(runScenario(noTask as Strategy, tasks, { setting: 'task-incremental' })).rejects.toThrow(/'fixed' has no predictTask/);
  });

  it('head strategies (NCM-ER, Gaussian) restrict their head scores to the task classes: predictions stay in the task', async () => {
    const o = { side: 4, noise: 60, base: 40, range: 175, protoSeed: 1000 };
    const tasks = classIncremental(syntheticImages([0, 1, 2, 3], 20, 1, o), syntheticImages([0, 1, 2, 3], 10, 2, o), [[0, 1], [2, 3]]);
    let confused = 0; // task-0 test images predicted as task-1 classes without the label
    for (const make of [
      () => new NCMReplay({ model: new E.SimpleNN(16, 4), lr: 0.1, seed: 1, capacity: 8 }),
      () => new GaussianHeadStrategy({ model: new E.SimpleNN(16, 4), lr: 0.1, seed: 1 }),
    ]) {
      E.manualSeed(5);
      const s = make();
      const ci = await runScenario(s, tasks);
      const x = E.tensor(Float32Array.from(tasks[0]!.test.images, (p) => p / 255), [20, 1, 4, 4]);
      const within = await labels(s.predictTask(x, tasks[0]!));
      expect(within.every((l) => l === 0 || l === 1), `${s.name}: task 0 predictions ${within}`).toBe(true);
      // Masking can only turn a wrong cross-task answer right: the task label never lowers accuracy here.
      const free = await labels(s.predict(x));
      const truth = [...tasks[0]!.test.labels];
      const hits = (p: number[]): number => p.filter((l, i) => l === truth[i]).length;
      expect(hits(within)).toBeGreaterThanOrEqual(hits(free));
      confused += free.filter((l) => l > 1).length;
      x.dispose();
      s.dispose();
      // The same run (same seed) evaluated with task labels: every learned entry at least as high.
      E.manualSeed(5);
      const s2 = make();
      const ti = await runScenario(s2, tasks, { setting: 'task-incremental' });
      s2.dispose();
      for (const [i, j] of [[0, 0], [1, 0], [1, 1]] as const) expect(ti.accuracyMatrix[i]![j]!, `${s.name} R[${i}][${j}]`).toBeGreaterThanOrEqual(ci.accuracyMatrix[i]![j]!);
    }
    expect(confused, 'without the label some task-0 images go to task-1 classes, so masking is exercised').toBeGreaterThan(0);
  });
});
