// The demo's experiment, free of any DOM code: fetch MNIST, cut it into class-incremental tasks,
// and train a strategy task after task, evaluating on the test sets of the tasks seen so far every
// few steps (the curves) and at the end of each task (a row of the accuracy matrix).
//
// A task's stream is fed to the strategy in chunks of `stepsPerTask / evalsPerTask` SGD steps
// (each chunk is a Task with the same id and classes and a slice of the training images), so the
// accuracies can be drawn while the task is being learned. Naive and replay treat chunks of one
// task exactly like one longer stream (online memory, one shuffle per chunk).

import * as E from '../src/index.js';
import { mnistFromURL, type ImageDataset } from '../src/data/index.js';
import { classIncremental, strategyAccuracy, type Task, type ExemplarFormat } from '../src/cl/index.js';
import { TinyMLP, makeStrategy, type StrategyKind } from './strategies.js';

export type ScenarioKind = 'five' | 'split2';

export const SCENARIOS: Record<ScenarioKind, { label: string; classes: number[][] }> = {
  five: { label: 'five tasks of two digits: {0,1} {2,3} {4,5} {6,7} {8,9}', classes: [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]] },
  split2: { label: 'Split-MNIST: {0-4} then {5-9}', classes: [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]] },
};

export interface DemoSettings {
  strategy: StrategyKind;
  memoryFormat: ExemplarFormat;
  budgetBytes: number;
  scenario: ScenarioKind;
  /** Run only the first N tasks of the scenario. */
  tasksToRun: number;
  stepsPerTask: number;
  evalsPerTask: number;
  batchSize: number;
  lr: number;
  hidden: number;
  trainPerTask: number;
  testPerTask: number;
  seed: number;
}

export interface MNIST {
  train: ImageDataset;
  test: ImageDataset;
}

export async function loadMNIST(base: string): Promise<MNIST> {
  const [train, test] = await Promise.all([mnistFromURL(base, { train: true }), mnistFromURL(base, { train: false })]);
  return { train, test };
}

/** The first `perTask` images (file order) of each task's classes, then the tasks themselves. */
export function makeTasks(data: MNIST, scenario: ScenarioKind, trainPerTask: number, testPerTask: number): Task[] {
  const classes = SCENARIOS[scenario].classes;
  const pick = (ds: ImageDataset, perTask: number): ImageDataset => {
    const idx: number[] = [];
    for (const cs of classes) {
      const want = new Set(cs);
      let n = 0;
      for (let i = 0; i < ds.length && n < perTask; i++) {
        if (want.has(ds.labels[i]!)) {
          idx.push(i);
          n++;
        }
      }
    }
    return ds.subset(idx);
  };
  return classIncremental(pick(data.train, trainPerTask), pick(data.test, testPerTask), classes);
}

export interface EvalPoint {
  /** SGD steps (or streamed batches) done so far, over all tasks. */
  step: number;
  /** The task being learned. */
  task: number;
  /** Accuracy on each task's test set; null for tasks not seen yet. */
  acc: (number | null)[];
}

export interface DemoCallbacks {
  onStatus(text: string): void;
  onEval(point: EvalPoint): void;
  /** Row i of the accuracy matrix (tasks 0..i) and the exemplar memory in use. */
  onTaskDone(i: number, row: number[], memory: { exemplars: number; bytes: number }): void;
  /** Polled between chunks: true stops the run. */
  shouldStop(): boolean;
}

/** Train `settings.strategy` over the first `tasksToRun` tasks; returns the accuracy matrix rows. */
export async function runDemo(tasks: readonly Task[], s: DemoSettings, cb: DemoCallbacks): Promise<number[][]> {
  E.manualSeed(s.seed);
  const model = new TinyMLP(s.hidden, 10);
  const strategy = makeStrategy(model, { kind: s.strategy, lr: s.lr, batchSize: s.batchSize, seed: s.seed, memoryFormat: s.memoryFormat, budgetBytes: s.budgetBytes });
  const gen = new E.Generator(s.seed + 1);
  const T = Math.min(s.tasksToRun, tasks.length);
  const perEval = Math.max(1, Math.ceil(s.stepsPerTask / s.evalsPerTask));
  const R: number[][] = [];
  let step = 0;
  const evaluate = async (upTo: number): Promise<number[]> => {
    const acc: number[] = [];
    for (let j = 0; j <= upTo; j++) acc.push(await strategyAccuracy(strategy, tasks[j]!.test));
    return acc;
  };
  try {
    for (let i = 0; i < T && !cb.shouldStop(); i++) {
      const task = tasks[i]!;
      const n = task.train.length;
      const order = gen.permutation(n);
      let row: number[] = [];
      for (let done = 0; done < s.stepsPerTask && !cb.shouldStop(); ) {
        const k = Math.min(perEval, s.stepsPerTask - done);
        // The next k batches of this task's shuffled stream (wrapping round into another epoch).
        const idx = Array.from({ length: k * s.batchSize }, (_, r) => order[(done * s.batchSize + r) % n]!);
        cb.onStatus(`${strategy.name}: task ${i + 1} of ${T} (digits ${task.classes.join(', ')}), steps ${done + 1}-${done + k} of ${s.stepsPerTask}`);
        await strategy.learnTask({ ...task, train: task.train.subset(idx) }, tasks.slice(0, i + 1));
        done += k;
        step += k;
        cb.onStatus(`${strategy.name}: evaluating on ${i + 1} task${i ? 's' : ''}`);
        row = await evaluate(i);
        cb.onEval({ step, task: i, acc: tasks.map((_, j) => row[j] ?? null) });
      }
      if (cb.shouldStop()) break;
      if (strategy.finishTask && (await strategy.finishTask(task))) {
        row = await evaluate(i);
        cb.onEval({ step, task: i, acc: tasks.map((_, j) => row[j] ?? null) });
      }
      R.push(row);
      cb.onTaskDone(i, row, strategy.memoryStats?.() ?? { exemplars: 0, bytes: 0 });
    }
  } finally {
    strategy.dispose?.();
  }
  return R;
}
