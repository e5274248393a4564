import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { runScenario, maskedArgmax, type Strategy, type Task } from '../../src/cl/index.js';
import { Naive } from '../../src/cl/strategies/index.js';
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
});
