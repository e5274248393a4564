// The upper bounds every continual-learning table needs, named as Avalanche names them:
//   Cumulative: at each task, fine-tune on the training data of every task seen so far (all of it kept).
//   JointTraining: train once, on the union of every task's data, at the first task; later tasks add
//   nothing. Its accuracy matrix has no forgetting by construction: the offline (i.i.d.) reference.

import { EngramError } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import type { Batch } from '../../data/loader.js';
import { ImageDataset } from '../../data/dataset.js';
import type { Task } from '../scenarios.js';
import { SupervisedStrategy, classificationLoss, type StrategyOptions } from './common.js';

/** Options of `Cumulative`: those shared by the fine-tuning-like strategies. */
export type CumulativeOptions = StrategyOptions;

/**
 * Cumulative (Avalanche's `Cumulative`): at each task, continue training on the concatenation of the
 * training data of all tasks so far. Keeps every image: an upper bound, not a memory-bounded method.
 */
export class Cumulative extends SupervisedStrategy {
  readonly name = 'cumulative';
  protected override readonly supportsOnline = false;

  constructor(opts: CumulativeOptions) {
    super(opts, 'Cumulative');
  }

  /** All data seen so far, as `ImageDataset.concat` of the tasks' training sets. */
  protected override trainingData(task: Task): ImageDataset {
    const seen = this.context.tasksSoFar;
    return seen.length > 1 ? ImageDataset.concat(seen.map((t) => t.train)) : task.train;
  }

  protected stepLoss(batch: Batch): Tensor {
    return classificationLoss(this.model, batch.x, batch.y);
  }

  /** Images held: every training image seen so far (the data it retrains on). */
  override memoryStats(): {
    /** Training images held (every task's so far). */
    exemplars: number;
    /** Their bytes (one per pixel value, as `ImageDataset` stores them). */
    bytes: number;
  } {
    const seen = this.context.tasksSoFar;
    const n = seen.reduce((a, t) => a + t.train.length, 0);
    return { exemplars: n, bytes: seen.reduce((a, t) => a + t.train.length * t.train.imageSize, 0) };
  }
}

/** Options of `JointTraining`: the fine-tuning options and every task of the scenario. */
export interface JointTrainingOptions extends StrategyOptions {
  /** All tasks of the scenario, in order (the union of their training data is trained on once). */
  tasks: readonly Task[];
}

/**
 * Joint training (Avalanche's `JointTraining`): the first `learnTask` call trains on the union of every
 * task's training data (`opts.tasks`), for `epochs` passes; later calls only check the task belongs to
 * the scenario. The offline upper bound of a continual-learning table.
 */
export class JointTraining extends SupervisedStrategy {
  readonly name = 'joint';
  protected override readonly supportsOnline = false;
  private readonly allTasks: readonly Task[];
  private trained = false;

  constructor(opts: JointTrainingOptions) {
    super(opts, 'JointTraining');
    if (!Array.isArray(opts.tasks) || opts.tasks.length === 0) throw new EngramError('JointTraining: options need tasks, every task of the scenario ({ model, tasks: classIncremental(...) })');
    this.allTasks = [...opts.tasks];
  }

  override async learnTask(task: Task, _tasksSoFar: readonly Task[]): Promise<void> {
    if (!this.allTasks.includes(task)) throw new EngramError(`JointTraining: task ${task.id} is not one of the ${this.allTasks.length} tasks given in opts.tasks`);
    if (this.trained) return;
    this.trained = true;
    await super.learnTask(task, this.allTasks);
  }

  /** The union of every task's training data. */
  protected override trainingData(task: Task): ImageDataset {
    return this.allTasks.length > 1 ? ImageDataset.concat(this.allTasks.map((t) => t.train)) : task.train;
  }

  protected stepLoss(batch: Batch): Tensor {
    return classificationLoss(this.model, batch.x, batch.y);
  }
}
