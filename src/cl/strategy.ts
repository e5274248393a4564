// The contract every continual-learning strategy implements, and the loop that runs one over a
// class-incremental scenario to produce the accuracy matrix.
//
// A strategy sees the tasks one at a time (`learnTask`) and must then classify images of every class
// seen so far (`predict`): the class-incremental setting, with no task id at test time.

import type { Tensor } from '../engine/tensor.js';
import { noGrad, scope } from '../engine/scope.js';
import { eq } from '../engine/ops/elementwise.js';
import { sum } from '../engine/ops/reduce.js';
import { add } from '../engine/ops/elementwise.js';
import { zeros } from '../engine/tensor.js';
import { DataLoader, type Batch } from '../data/loader.js';
import type { GpuTransform } from '../data/transforms.js';
import { EngramError } from '../engine/runtime.js';
import type { Task } from './scenarios.js';
import { averageAccuracy, averageIncrementalAccuracy, forgetting, backwardTransfer, accuracyVersusClasses, type AccuracyVersusClasses } from './metrics.js';
import { CostProbe, type ScenarioCost, type TrainingStats } from './costs.js';
import type { Logger } from './loggers.js';
import type { TaskLabel } from './task-incremental.js';
import { asMultiTask } from './multi-head.js';

/**
 * A continual-learning strategy: it sees the tasks one at a time (`learnTask`) and must then classify images
 * of every class seen so far (`predict`), with no task id at test time (the class-incremental setting).
 */
export interface Strategy {
  /** Short name used in reports ("naive", "er", "icarl", ...). */
  readonly name: string;
  /** Train on one task's data (may update exemplar memory, heads, classifier size). */
  learnTask(task: Task, tasksSoFar: readonly Task[]): Promise<void>;
  /** Predicted labels (int32 [B]) for a batch of images x (float32 [B, C, H, W], already transformed). */
  predict(x: Tensor): Tensor;
  /**
   * Task-incremental prediction: labels (int32 [B]) restricted to `task.classes` (the task label is known
   * at test time; see task-incremental.ts). Strategies without it cannot be run with
   * `setting: 'task-incremental'`.
   */
  predictTask?(x: Tensor, task: TaskLabel): Tensor;
  /**
   * Online learning (see `runOnlineStream`): one training step on one stream batch of `task` (a single pass,
   * small batches). The first batch of a new task opens it (head sizing, the strategy's and plugins'
   * beforeTask); with hidden boundaries the whole stream is one task.
   */
  observe?(batch: Batch, task: Task, tasksSoFar: readonly Task[]): Promise<void>;
  /** Online learning: close the task the last `observe` calls were on (afterTask hooks), at a visible boundary or the stream's end. */
  endTask?(): Promise<void>;
  /** Exemplar memory in use, for reports (0 when the strategy keeps none). */
  memoryStats?(): {
    /** Exemplars held. */
    exemplars: number;
    /** Stored payload bytes (see `ExemplarStore.bytes`). */
    bytes: number;
  };
  /** Free GPU state (model, buffers, optimizer). */
  dispose?(): void;
  /** Called by `runScenario` once the accuracy row after task `taskIndex` is complete (plugins' afterEval). */
  afterEval?(taskIndex: number, row: readonly number[]): void;
  /** Training steps and readbacks inside the training loops so far, all tasks (see `TrainingMeter`); feeds `ScenarioResult.cost`. */
  trainingStats?(): TrainingStats;
}

/**
 * The outcome of running one strategy over a scenario: the accuracy matrix and the metrics computed from it.
 */
export interface ScenarioResult {
  /** The strategy's name. */
  strategy: string;
  /** How the test sets were predicted: without ('class-incremental') or with ('task-incremental') the task label. */
  setting?: EvaluationSetting;
  /** R[i][j]: accuracy on task j's test set after learning task i (all j, including tasks not learned yet). */
  accuracyMatrix: number[][];
  /** Mean accuracy over all tasks after the last one (see `averageAccuracy()`). */
  averageAccuracy: number;
  /**
   * Mean over training stages of the mean accuracy on the tasks seen so far (see
   * `averageIncrementalAccuracy()`).
   */
  averageIncrementalAccuracy: number;
  /** Average forgetting of the old tasks (see `forgetting()`). */
  forgetting: number;
  /**
   * Backward transfer: mean change on each old task from just after learning it to the end (see
   * `backwardTransfer()`).
   */
  backwardTransfer: number;
  /** Seconds spent in learnTask per task. */
  trainSeconds: number[];
  /**
   * Accuracy against the number of classes seen, sample-weighted (iCaRL/PyCIL) and per-task averaged
   * (see `accuracyVersusClasses()`); absent when a task has an empty test set.
   */
  accuracyVersusClasses?: AccuracyVersusClasses;
  /** Exemplar memory at the end (`Strategy.memoryStats()`), when the strategy keeps one. */
  memory?: {
    /** Exemplars held. */
    exemplars: number;
    /** Stored payload bytes. */
    bytes: number;
  };
  /** What the run cost: time and readbacks per step, extra GPU memory, exemplar bytes (see `ScenarioCost`). */
  cost?: ScenarioCost;
}

/** Options of `runScenario()`. */
export interface RunScenarioOptions {
  /** GPU transform of the test batches. */
  evalTransform?: GpuTransform;
  /** Test batch size (default 500). */
  evalBatchSize?: number;
  /** Called after each row of the accuracy matrix is complete. */
  onTask?: (i: number, row: number[]) => void;
  /** Loggers told of the run's start, each evaluated row and the result (see `Logger`). */
  loggers?: readonly Logger[];
  /** 'class-incremental' (default) or 'task-incremental' (see `EvaluationSetting`). */
  setting?: EvaluationSetting;
}

/**
 * Accuracy of `strategy.predict` on a test set (of `strategy.predictTask(x, task)` when `task` is given:
 * task-incremental); correct counts accumulate on the GPU, read back once.
 */
export async function strategyAccuracy(
  strategy: Strategy,
  test: Task['test'],
  opts: { batchSize?: number; transform?: GpuTransform; task?: TaskLabel } = {},
): Promise<number> {
  const task = opts.task;
  if (task && typeof strategy.predictTask !== 'function') throw new EngramError(`strategyAccuracy: strategy '${strategy.name}' has no predictTask, so it cannot be evaluated with the task label (task-incremental)`);
  const predict = (x: Tensor): Tensor => (task ? strategy.predictTask!(x, task) : strategy.predict(x));
  const loader = new DataLoader(test, { batchSize: opts.batchSize ?? 500, transform: opts.transform });
  let correct = zeros([]).keep();
  noGrad(() => {
    for (const batch of loader) {
      const next = scope(() => add(correct, sum(eq(predict(batch.x), batch.y))));
      batch.x.dispose();
      batch.y.dispose();
      correct.dispose();
      correct = next.keep();
    }
  });
  const c = await correct.item();
  correct.dispose();
  return test.length ? c / test.length : NaN;
}

/**
 * What the strategy is told at test time: 'class-incremental' (default, no task label: `predict`) or
 * 'task-incremental' (the task label is known: `predictTask`, predictions restricted to the task's classes).
 * Domain-incremental scenarios (permutedMNIST, rotatedMNIST) are evaluated as 'class-incremental': every
 * task has the same classes and no label is given.
 */
export type EvaluationSetting = 'class-incremental' | 'task-incremental';

/**
 * Run a strategy over the tasks in order; after each task, evaluate on the test sets of all tasks (the
 * full accuracy matrix). `onTask` is called, and `loggers` are told, after each row of the accuracy matrix is complete.
 * The result's `cost` is measured around each `learnTask` (see `ScenarioCost`); this resets
 * `memory().peakBytes` before each task. With
 * `setting: 'task-incremental'` each test set is predicted with its task's label (`predictTask`).
 */
export async function runScenario(strategy: Strategy, tasks: readonly Task[], opts: RunScenarioOptions = {}): Promise<ScenarioResult> {
  const setting = opts.setting ?? 'class-incremental';
  if (setting !== 'class-incremental' && setting !== 'task-incremental') throw new EngramError(`runScenario: setting must be 'class-incremental' or 'task-incremental', got ${JSON.stringify(setting)}`);
  if (setting === 'task-incremental' && typeof strategy.predictTask !== 'function') {
    throw new EngramError(`runScenario: strategy '${strategy.name}' has no predictTask, so it cannot be evaluated task-incrementally; use setting 'class-incremental'`);
  }
  if (setting === 'class-incremental' && asMultiTask((strategy as { model?: unknown }).model)) {
    throw new EngramError(`runScenario: strategy '${strategy.name}' trains a multi-head model (one head per task), which cannot predict without the task label (which head?); use setting 'task-incremental', or a shared-head model for class-incremental learning`);
  }
  const R: number[][] = [];
  const trainSeconds: number[] = [];
  const loggers = opts.loggers ?? [];
  for (const l of loggers) l.log({ event: 'start', strategy: strategy.name, tasks: tasks.length });
  const probe = new CostProbe(strategy);
  for (let i = 0; i < tasks.length; i++) {
    probe.beforeTask();
    const t0 = performance.now();
    await strategy.learnTask(tasks[i]!, tasks.slice(0, i + 1));
    trainSeconds.push((performance.now() - t0) / 1000);
    probe.afterTask();
    const row: number[] = [];
    for (let j = 0; j < tasks.length; j++) {
      // Future tasks too (their classes are unseen, so this is ~0 in class-incremental learning): the
      // full matrix is what forward transfer needs and what the metrics in metrics.ts expect.
      const task = setting === 'task-incremental' ? tasks[j]! : undefined;
      row.push(await strategyAccuracy(strategy, tasks[j]!.test, { batchSize: opts.evalBatchSize, transform: opts.evalTransform, task }));
    }
    R.push(row);
    strategy.afterEval?.(i, row);
    opts.onTask?.(i, row);
    for (const l of loggers) l.log({ event: 'eval', strategy: strategy.name, task: i, row: [...row], trainSeconds: trainSeconds[i]! });
  }
  const memory = strategy.memoryStats?.();
  const result: ScenarioResult = {
    strategy: strategy.name,
    setting,
    accuracyMatrix: R,
    averageAccuracy: averageAccuracy(R),
    averageIncrementalAccuracy: averageIncrementalAccuracy(R),
    forgetting: forgetting(R),
    backwardTransfer: backwardTransfer(R),
    trainSeconds,
    accuracyVersusClasses: tasks.every((t) => t.test.length > 0)
      ? accuracyVersusClasses(R, tasks.map((t) => t.classes.length), tasks.map((t) => t.test.length))
      : undefined,
    memory,
    cost: probe.result(trainSeconds, memory?.bytes ?? 0),
  };
  for (const l of loggers) l.log({ event: 'end', strategy: strategy.name, result });
  return result;
}
