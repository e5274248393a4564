// Plugins: hooks into the training loop of the fine-tuning-like strategies (`SupervisedStrategy` and its
// subclasses: Naive, ExperienceReplay, EWC, SI, LwF, Cumulative, JointTraining), as Avalanche's
// strategy plugins are. A plugin adds a regularizer (a penalty term in `afterLoss`), bookkeeping around
// the steps, or logging, to any such strategy without subclassing it.
//
// Order, per task:  beforeTask → (beforeStep → [loss] → afterLoss → backward → afterBackward → update → afterStep)* → afterTask
// and, when the strategy is run by `runScenario`, afterEval once the task's row of the accuracy matrix is
// complete. Plugins run in the order they were given; a strategy's own hooks run before its plugins'.

import type { Tensor } from '../engine/tensor.js';
import type { Batch } from '../data/loader.js';
import type { GpuTransform } from '../data/transforms.js';
import type { Classifier } from '../models/classifier.js';
import type { Task } from './scenarios.js';

/** What a plugin sees of the strategy it is plugged into. */
export interface StrategyContext {
  /** The strategy's name. */
  readonly strategy: string;
  /** The model being trained (owned by the strategy: do not dispose it). */
  readonly model: Classifier;
  /** GPU transform of training batches, if any. */
  readonly transform: GpuTransform | undefined;
  /** Stream batch size. */
  readonly batchSize: number;
  /** The strategy's seed. */
  readonly seed: number;
  /** Tasks learned so far, the current one included while it is being learned. */
  readonly tasksSoFar: readonly Task[];
}

/**
 * A plugin: optional hooks called by a `SupervisedStrategy` around its training loop (see
 * `StrategyOptions.plugins`), like Avalanche's `SupervisedPlugin`. Step hooks must not read back from
 * the GPU (they run once per batch); task hooks may.
 */
export interface StrategyPlugin {
  /** Short name, for reports and error messages. */
  readonly name: string;
  /** Before the first step of a task (head already sized, optimizer built, model in eval mode). */
  beforeTask?(ctx: StrategyContext, task: Task): void | Promise<void>;
  /** Before each step, outside its scope. */
  beforeStep?(ctx: StrategyContext, batch: Batch, task: Task): void;
  /**
   * After the step's loss is computed, inside the step's scope, before backward: return a new scalar loss
   * (e.g. `add(loss, penalty)`) or nothing to keep it.
   */
  afterLoss?(ctx: StrategyContext, loss: Tensor, batch: Batch, task: Task): Tensor | void;
  /**
   * After backward, before the optimizer update, inside the step's scope: the parameters' `grad` hold this
   * step's gradients and may be changed in place (A-GEM projects them here; Avalanche's after_backward).
   */
  afterBackward?(ctx: StrategyContext, batch: Batch, task: Task): void;
  /** After each optimizer update, outside the step's scope (parameter gradients still hold this step's). */
  afterStep?(ctx: StrategyContext, batch: Batch, task: Task): void;
  /** After the last step of a task (model in eval mode). */
  afterTask?(ctx: StrategyContext, task: Task): void | Promise<void>;
  /** After `runScenario` evaluated the strategy following task `taskIndex`: `row[j]` is the accuracy on task j. */
  afterEval?(ctx: StrategyContext, taskIndex: number, row: readonly number[]): void;
  /** Free the plugin's GPU state (called by the strategy's dispose()). */
  dispose?(): void;
}
