// Online continual learning with anytime evaluation: the strategy sees each training image once, in
// small batches (a single pass), through `Strategy.observe`, and is evaluated every `evalEvery` steps
// on the test sets of every task, so accuracy is a curve over the stream, not one number per task
// (the "anytime" evaluation of online CL, e.g. Koh et al. 2022, Caccia et al. 2022).
//
// Visible boundaries (default): tasks come in order, each shuffled (seeded), and the strategy is told
// when one ends (`endTask`). Hidden boundaries: the stream is the same sequence of images, but the
// strategy sees it as ONE task (id 0) whose data is the whole stream in stream order and whose
// classes are all the stream's classes (used only to size a growing head), with no boundary calls
// until the stream ends; batches may straddle two tasks.

import { EngramError, runtime } from '../engine/runtime.js';
import { Generator } from '../engine/random.js';
import { ImageDataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import type { GpuTransform } from '../data/transforms.js';
import type { Task } from './scenarios.js';
import { strategyAccuracy, type Strategy } from './strategy.js';
import { taskSeed } from './strategies/common.js';

/** Options of `runOnlineStream()`. */
export interface OnlineStreamOptions {
  /** Stream batch size (default 10, the usual online-CL setting). */
  batchSize?: number;
  /** Evaluate after every `evalEvery` steps (and after the last step). */
  evalEvery: number;
  /** Hide the task boundaries: the strategy sees one task holding the whole stream (default false). */
  hideBoundaries?: boolean;
  /** Seeds the within-task shuffles and the evaluation subsets (default 0). */
  seed?: number;
  /** Deterministic transform of the test images. The training transform is the strategy's own. */
  evalTransform?: GpuTransform;
  /** Test batch size (default 500). */
  evalBatchSize?: number;
  /** Evaluate on a seeded random subset of at most this many images of each task's test set (default: all). */
  evalLimit?: number;
  /** Called after each evaluation point with its step and per-task accuracies. */
  onEval?: (step: number, accuracy: readonly number[]) => void;
}

/** The curves of an online run: per-task accuracy at each evaluation point. */
export interface AnytimeResult {
  /** The strategy's name. */
  strategy: string;
  /** Whether the boundaries were hidden from the strategy. */
  hideBoundaries: boolean;
  /** Stream batch size. */
  batchSize: number;
  /** Steps (batches observed so far) at each evaluation point: evalEvery, 2 evalEvery, ..., and the last step. */
  steps: number[];
  /** accuracy[p][j]: accuracy on task j's test set (or its evaluation subset) at point p, every task included. */
  accuracy: number[][];
  /** Mean accuracy over the tasks whose data the stream had reached by each point. */
  seenAccuracy: number[];
  /** The step at which each task's first image arrives (task t starts after taskStarts[t] steps). */
  taskStarts: number[];
  /** Total steps (batches) of the stream. */
  totalSteps: number;
  /** Seconds spent in observe/endTask (training, the GPU's work included: the queue is drained before each evaluation), excluding evaluation. */
  trainSeconds: number;
  /** Seconds spent evaluating. */
  evalSeconds: number;
  /** Exemplar memory at the end, when the strategy keeps one. */
  memory?: {
    /** Exemplars held. */
    exemplars: number;
    /** Stored payload bytes. */
    bytes: number;
  };
}

/** The stream's single task when boundaries are hidden: every task's (shuffled) training data, in task order. */
function streamTask(tasks: readonly Task[], orders: readonly Int32Array[]): Task {
  const classes: number[] = [];
  for (const t of tasks) for (const c of t.classes) if (!classes.includes(c)) classes.push(c);
  const train = ImageDataset.concat(tasks.map((t, i) => t.train.subset(orders[i]!)));
  const test = ImageDataset.concat(tasks.map((t) => t.test));
  return { id: 0, classes, train, test };
}

/**
 * Run `strategy` online over `tasks`: one pass, batches of `batchSize`, one `observe` call per batch;
 * every `evalEvery` steps (and after the last) evaluate on every task's test set. Returns the anytime
 * curves. The strategy must implement `observe` (Naive, ExperienceReplay, EWC, SI, LwF, NCM-ER's
 * training; not Cumulative or JointTraining, which retrain on stored tasks).
 */
export async function runOnlineStream(strategy: Strategy, tasks: readonly Task[], opts: OnlineStreamOptions): Promise<AnytimeResult> {
  if (typeof strategy.observe !== 'function') throw new EngramError(`runOnlineStream: strategy '${strategy.name}' has no observe (online) method; use runScenario`);
  if (!opts || typeof opts !== 'object') throw new EngramError('runOnlineStream: options { evalEvery, batchSize?, hideBoundaries? } are required');
  const B = opts.batchSize ?? 10;
  const k = opts.evalEvery;
  for (const [what, v] of [['batchSize', B], ['evalEvery', k]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new EngramError(`runOnlineStream: ${what} must be a positive integer, got ${v}`);
  }
  if (tasks.length === 0) throw new EngramError('runOnlineStream: the stream has no task');
  const seed = opts.seed ?? 0;
  const hide = opts.hideBoundaries ?? false;
  const limit = opts.evalLimit;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new EngramError(`runOnlineStream: evalLimit must be a positive integer, got ${limit}`);
  const tests = tasks.map((t, j) => (limit === undefined || t.test.length <= limit ? t.test : t.test.subset(new Generator(taskSeed(seed, 1000 + j)).permutation(t.test.length).subarray(0, limit))));
  // Each task's images in a seeded shuffled order: its loader's (epoch 0), which the hidden stream follows too.
  const loaders = tasks.map((t) => new DataLoader(t.train, { batchSize: B, shuffle: true, seed: taskSeed(seed, t.id) }));
  const orders = loaders.map((l) => l.order(0));

  // Where each task starts, in steps: with hidden boundaries the stream is batched as one sequence.
  const taskStarts: number[] = [];
  let totalSteps = 0;
  if (hide) {
    let images = 0;
    for (const t of tasks) {
      taskStarts.push(Math.floor(images / B));
      images += t.train.length;
    }
    totalSteps = Math.ceil(images / B);
  } else {
    for (const t of tasks) {
      taskStarts.push(totalSteps);
      totalSteps += Math.ceil(t.train.length / B);
    }
  }

  const out: AnytimeResult = { strategy: strategy.name, hideBoundaries: hide, batchSize: B, steps: [], accuracy: [], seenAccuracy: [], taskStarts, totalSteps, trainSeconds: 0, evalSeconds: 0 };
  let step = 0;
  const evaluate = async (): Promise<void> => {
    const t0 = performance.now();
    const row: number[] = [];
    for (const test of tests) row.push(await strategyAccuracy(strategy, test, { batchSize: opts.evalBatchSize, transform: opts.evalTransform }));
    const seen = taskStarts.filter((s) => s < step).length; // tasks with at least one image observed
    out.steps.push(step);
    out.accuracy.push(row);
    out.seenAccuracy.push(row.slice(0, seen).reduce((a, b) => a + b, 0) / seen);
    out.evalSeconds += (performance.now() - t0) / 1000;
    opts.onEval?.(step, row);
  };
  const feed = async (loader: DataLoader, task: Task, soFar: readonly Task[]): Promise<void> => {
    let t0 = performance.now();
    for (const batch of loader) {
      await strategy.observe!(batch, task, soFar);
      step++;
      if (step % k === 0 && step !== totalSteps) {
        await runtime().sync(); // the steps' GPU work counts as training, not as the evaluation that would drain it
        out.trainSeconds += (performance.now() - t0) / 1000;
        await evaluate();
        t0 = performance.now();
      }
    }
    await runtime().sync();
    out.trainSeconds += (performance.now() - t0) / 1000;
  };
  const close = async (): Promise<void> => {
    const t0 = performance.now();
    await strategy.endTask?.();
    await runtime().sync();
    out.trainSeconds += (performance.now() - t0) / 1000;
  };

  if (hide) {
    const task = streamTask(tasks, orders);
    await feed(new DataLoader(task.train, { batchSize: B }), task, [task]);
    await close();
  } else {
    for (let i = 0; i < tasks.length; i++) {
      await feed(loaders[i]!, tasks[i]!, tasks.slice(0, i + 1));
      await close();
    }
  }
  // The last point comes after the stream's final endTask (which may change predictions, e.g. a head refit).
  await evaluate();
  out.memory = strategy.memoryStats?.();
  return out;
}
