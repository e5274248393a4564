// What every supervised rehearsal-style strategy shares: SGD training of a Classifier on each task's
// data, one step per batch inside a scope (no readback inside a step), argmax prediction, growing the
// head as new classes appear (`expandHeads`) and freezing the feature extractor after the first task
// (`freezeFeaturesAfterFirstTask`). Subclasses say what a step's loss is (`stepLoss`) and what happens
// after a step and after a task (memory updates).

import { EngramError } from '../../engine/runtime.js';
import { full, zeros, type Tensor } from '../../engine/tensor.js';
import { scope, noGrad } from '../../engine/scope.js';
import { Generator } from '../../engine/random.js';
import { addInPlace_, argmax, crossEntropy, reshape } from '../../engine/ops/index.js';
import { shapeStr } from '../../engine/shape.js';
import { DataLoader, type Batch } from '../../data/loader.js';
import type { GpuTransform } from '../../data/transforms.js';
import type { ImageDataset } from '../../data/dataset.js';
import type { Module } from '../../nn/module.js';
import type { Classifier } from '../../models/classifier.js';
import { SGD } from '../../optim/sgd.js';
import type { Task } from '../scenarios.js';
import type { Strategy } from '../strategy.js';
import { maskedArgmax, type TaskLabel } from '../task-incremental.js';
import { classesNeeded, expandClassifier } from './expansion.js';
import type { StrategyContext, StrategyPlugin } from '../plugins.js';
import { TrainingMeter, type TrainingStats } from '../costs.js';
import { getRngState, setRngState, type RngState } from '../../engine/rng-state.js';
import { snapshotFirstTask, checkSharedFirstTask, type SharedFirstTask } from './shared-first-task.js';
import { asMultiTask, forwardForTask } from '../multi-head.js';

/** What a strategy needs of an optimizer (every engram optimizer has it). */
export interface StrategyOptimizer {
  /** Clear every parameter's gradient. */
  zeroGrad(): void;
  /** Apply one update to the parameters that have a gradient. */
  step(): void;
  /** Free the optimizer's state. */
  dispose(): void;
}

/** A learning-rate schedule a strategy steps once per epoch (every engram LRScheduler has it). */
export interface StrategyScheduler {
  /** Advance one epoch and set the optimizer's learning rate(s). */
  step(): void;
}

/**
 * Options shared by the fine-tuning-like strategies (`Naive`, `ExperienceReplay`, ...): the model, SGD
 * hyperparameters, epochs, batch size and transforms.
 */
export interface StrategyOptions {
  /** The model to train; the strategy owns it from now on (dispose() frees it). */
  model: Classifier;
  /** SGD learning rate (default 0.01). */
  lr?: number;
  /** SGD momentum (default 0). */
  momentum?: number;
  /** SGD weight decay (default 0). */
  weightDecay?: number;
  /** Epochs over each task's training data (default 1). */
  epochs?: number;
  /** Stream batch size (default 64). */
  batchSize?: number;
  /** Epochs of each task, overriding `epochs` (e.g. `(t) => (t.id === 0 ? 10 : 5)`). */
  taskEpochs?: (task: Task) => number;
  /** GPU transform of training batches (stream and memory alike), e.g. normalize(...). */
  transform?: GpuTransform;
  /** Seeds the per-task shuffles, the memory sampling and the new rows of an expanded head (default 0). */
  seed?: number;
  /**
   * Build the optimizer over the trainable parameters (default: SGD with lr/momentum/weightDecay).
   * Called again whenever the trainable set changes (expansion, freezing) with the lr to use.
   */
  makeOptimizer?: (params: Tensor[], lr: number) => StrategyOptimizer;
  /** Grow the classifier when a task brings labels beyond its outputs (build the model with task 0's classes). */
  expandHeads?: boolean;
  /** After task 0: freeze the feature extractor (kept in eval mode) and train the classifier only. */
  freezeFeaturesAfterFirstTask?: boolean;
  /** Learning rate of the classifier once the features are frozen (default lr). */
  headLr?: number;
  /**
   * With freezeFeaturesAfterFirstTask: 'eval' (default) keeps the frozen feature extractor in eval mode
   * (fixed batch-norm statistics, no dropout); 'train' leaves it in train mode (batch norm normalizes with
   * batch statistics and updates its running ones, dropout stays on), as a PyTorch script that sets
   * requires_grad = False on the features and still calls model.train().
   */
  frozenFeaturesMode?: 'eval' | 'train';
  /**
   * A learning-rate schedule per task, stepped once after each epoch (PyTorch's scheduler.step() at the end
   * of an epoch): called at the start of every task with that task's optimizer; undefined means no schedule
   * for the task. `stepLRPerEpoch(7, 0.5)` is torch's StepLR(step_size=7, gamma=0.5), restarted each task.
   */
  lrSchedule?: (optimizer: StrategyOptimizer, task: Task) => StrategyScheduler | undefined;
  /**
   * Plugins called around the training loop, in this order (see `StrategyPlugin`): a regularizer such as
   * `new EWCPlugin({ lambda: 100 })` added to any strategy. The strategy disposes them with itself.
   */
  plugins?: StrategyPlugin[];
  /**
   * Start from task 0 as another strategy trained it (`other.shareFirstTask()`), instead of training it
   * again: task 0's training loop is replaced by loading that model state and random state; the rest of
   * task 0 (head sizing, the memory's update, plugins' hooks) runs as usual. Only for strategies that train
   * task 0 exactly as the other did (same model, seed and settings; an empty memory adds nothing), and whose
   * task 1 builds a new optimizer (new classes with expandHeads, or freezeFeaturesAfterFirstTask): the
   * optimizer's state is not shared, so a task 1 that would keep it throws.
   */
  sharedFirstTask?: SharedFirstTask;
}

function positive(v: number, what: string, name: string, integer = false): number {
  if (!(Number.isFinite(v) && v > 0) || (integer && !Number.isInteger(v))) {
    throw new EngramError(`${name}: ${what} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  }
  return v;
}

/** The loader seed of task `id` under strategy seed `seed` (distinct per task, same on every run). */
export function taskSeed(seed: number, id: number): number {
  return (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(id + 1, 0x85ebca77)) | 0;
}

/** Run `fn` with every module of `model` in eval mode, then restore each module's own mode. */
export function withEvalMode<T>(model: Module, fn: () => T): T {
  const modes = model.modules().map((m) => [m, m.training] as const);
  model.eval();
  try {
    return fn();
  } finally {
    for (const [m, on] of modes) m.training = on;
  }
}

/** Run `fn` in eval mode without recording gradients (features for heads, herding, predictions). */
export function inEvalMode<T>(model: Module, fn: () => T): T {
  return withEvalMode(model, () => noGrad(fn));
}

/** Predicted labels: argmax of the logits, in eval mode, without gradients. */
export function argmaxPredict(model: Module, x: Tensor): Tensor {
  return noGrad(() => withEvalMode(model, () => argmax(model.forward(x), 1)));
}

/**
 * One optimization step on `loss()` inside a scope: zero the gradients, backpropagate, update.
 * The step's loss is added to `lossSum` (a GPU scalar) so nothing is read back.
 */
export function optimizerStep(optimizer: StrategyOptimizer, loss: () => Tensor, lossSum?: Tensor, afterBackward?: () => void): void {
  scope(() => {
    const l = loss();
    if (l.size !== 1) throw new EngramError(`strategy step: the loss must be a scalar, got shape ${shapeStr(l.shape)}`);
    optimizer.zeroGrad();
    l.backward();
    afterBackward?.();
    optimizer.step();
    if (lossSum) addInPlace_(lossSum, reshape(l.detach(), []));
  });
}

/**
 * The divergence check at a strategy's once-per-task loss readback: returns `meanLoss`, or throws when it is
 * NaN/±Inf after `steps` > 0 steps (the weights went non-finite; the run would otherwise go on to report the
 * accuracy of a constant prediction as if it were a result). No extra readback.
 */
export function checkedTaskLoss(strategy: string, taskId: number, meanLoss: number, steps: number, lr: number): number {
  if (steps > 0 && !Number.isFinite(meanLoss)) {
    throw new EngramError(`${strategy}: the mean training loss of task ${taskId} is ${meanLoss} over ${steps} steps: the weights diverged to non-finite values. Lower the learning rate (lr ${lr}) or the weight of the strategy's penalty/regularizer (lambda, alpha, beta), or check the inputs for NaN`);
  }
  return meanLoss;
}

/** Cross-entropy of the model on (x, y). */
export function classificationLoss(model: Module, x: Tensor, y: Tensor): Tensor {
  return crossEntropy(model.forward(x), y);
}

/**
 * Base of fine-tuning-like strategies: per task, grow/freeze as configured, then train `epochs`
 * passes of shuffled batches, one optimizer step per batch on `stepLoss`.
 */
export abstract class SupervisedStrategy implements Strategy {
  abstract readonly name: string;
  /** The model being trained (owned by the strategy). */
  readonly model: Classifier;
  /** Mean training loss of each learned task (one readback per task). */
  readonly taskLosses: number[] = [];
  /** SGD learning rate (`opts.lr`, default 0.01). */
  protected readonly lr: number;
  /** Epochs over each task's training data. */
  protected readonly epochs: number;
  /** Stream batch size. */
  protected readonly batchSize: number;
  /** GPU transform of training batches, if any. */
  protected readonly transform: GpuTransform | undefined;
  /** Seed of the shuffles and of the strategy's generator. */
  protected readonly seed: number;
  /** Memory sampling and memory-batch augmentation draw from here. */
  protected readonly generator: Generator;
  /** The options the strategy was built with. */
  protected readonly opts: StrategyOptions;
  /**
   * The optimizer over the trainable parameters, rebuilt when the classifier grows or features are frozen
   * (null before the first task).
   */
  protected optimizer: StrategyOptimizer | null = null;
  /** The plugins in call order (`opts.plugins`, then any the strategy adds itself). */
  protected readonly plugins: StrategyPlugin[];
  /** Whether `observe` (online learning) applies; false for the strategies that retrain on stored tasks (Cumulative, JointTraining). */
  protected readonly supportsOnline: boolean = true;
  private frozen = false;
  private readonly meter = new TrainingMeter();
  private onlineTask: Task | null = null;
  private readonly headGenerator: Generator;
  private tasksSoFar: readonly Task[] = [];
  /** The random state right after task 0's training loop and its steps (for shareFirstTask). */
  private firstTaskEnd: { rng: RngState; steps: number } | null = null;
  /** Whether task 0 was loaded from opts.sharedFirstTask (task 1 must then build a new optimizer). */
  private startedShared = false;

  constructor(opts: StrategyOptions, kind: string) {
    if (!opts || typeof opts !== 'object' || !opts.model || typeof opts.model.features !== 'function') {
      throw new EngramError(`${kind}: options need a Classifier model ({ model: new SimpleNN(784, 10), ... })`);
    }
    this.opts = opts;
    this.model = opts.model;
    this.lr = positive(opts.lr ?? 0.01, 'lr', kind);
    this.epochs = positive(opts.epochs ?? 1, 'epochs', kind, true);
    this.batchSize = positive(opts.batchSize ?? 64, 'batchSize', kind, true);
    if (opts.headLr !== undefined) positive(opts.headLr, 'headLr', kind);
    if (opts.frozenFeaturesMode !== undefined && opts.frozenFeaturesMode !== 'eval' && opts.frozenFeaturesMode !== 'train') {
      throw new EngramError(`${kind}: frozenFeaturesMode must be 'eval' or 'train', got ${JSON.stringify(opts.frozenFeaturesMode)}`);
    }
    if (opts.taskEpochs !== undefined && typeof opts.taskEpochs !== 'function') throw new EngramError(`${kind}: taskEpochs must be a function of the task, e.g. (t) => (t.id === 0 ? 10 : 5)`);
    if (opts.lrSchedule !== undefined && typeof opts.lrSchedule !== 'function') throw new EngramError(`${kind}: lrSchedule must be a function (optimizer, task) => scheduler, e.g. stepLRPerEpoch(7, 0.5)`);
    this.transform = opts.transform;
    this.seed = opts.seed ?? 0;
    if (!Number.isInteger(this.seed)) throw new EngramError(`${kind}: seed must be an integer, got ${this.seed}`);
    this.generator = new Generator(taskSeed(this.seed, -2));
    this.headGenerator = new Generator(taskSeed(this.seed, -3));
    if (opts.plugins !== undefined && (!Array.isArray(opts.plugins) || opts.plugins.some((p) => !p || typeof p !== 'object'))) {
      throw new EngramError(`${kind}: plugins must be an array of plugin objects ({ name, afterLoss(ctx, loss) {...} }), got ${String(opts.plugins)}`);
    }
    this.plugins = [...(opts.plugins ?? [])];
    if (opts.sharedFirstTask !== undefined) checkSharedFirstTask(opts.sharedFirstTask, kind);
  }

  /** What plugins see of this strategy (see `StrategyContext`). */
  get context(): StrategyContext {
    return { strategy: this.name, model: this.model, transform: this.transform, batchSize: this.batchSize, seed: this.seed, tasksSoFar: this.tasksSoFar };
  }

  /** Whether the feature extractor is frozen (after task 0 with freezeFeaturesAfterFirstTask). */
  get featuresFrozen(): boolean {
    return this.frozen;
  }

  async learnTask(task: Task, tasksSoFar: readonly Task[]): Promise<void> {
    // A multi-head model's forward(x) goes through this task's head while the task is learned (plugins'
    // hooks included); replay strategies route their exemplars to their own tasks' heads explicitly.
    const restore = this.useTaskHead(task);
    try {
      await this.learnOneTask(task, tasksSoFar);
    } finally {
      restore();
    }
  }

  private async learnOneTask(task: Task, tasksSoFar: readonly Task[]): Promise<void> {
    this.tasksSoFar = tasksSoFar;
    this.prepareModel(tasksSoFar);
    await this.beforeTask(task);
    const ctx = this.context;
    for (const p of this.plugins) await p.beforeTask?.(ctx, task);
    const loader = new DataLoader(this.trainingData(task), { batchSize: this.batchSize, shuffle: true, seed: taskSeed(this.seed, task.id), transform: this.transform });
    const optimizer = this.optimizer!;
    const schedule = this.opts.lrSchedule?.(optimizer, task);
    const lossSum = zeros([]).keep();
    let steps = 0;
    const shared = this.taskLosses.length === 0 ? this.opts.sharedFirstTask : undefined;
    try {
      this.setTrainMode();
      if (shared) {
        // Task 0 as another strategy trained it: its weights and batch-norm statistics, and the random
        // state where its training loop ended, so that everything after this point draws the same numbers.
        checkSharedFirstTask(shared, this.name);
        this.model.loadStateDict(shared.state as Map<string, Tensor>);
        setRngState(shared.rng);
        this.firstTaskEnd = { rng: shared.rng, steps: shared.steps };
        this.startedShared = true;
        await this.afterLastStep(task);
        this.taskLosses.push(shared.loss);
      } else {
        this.meter.begin();
        const epochs = this.opts.taskEpochs ? positive(this.opts.taskEpochs(task), `taskEpochs(task ${task.id})`, this.name, true) : this.epochs;
        for (let e = 0; e < epochs; e++) {
          for (const batch of loader) {
            for (const p of this.plugins) p.beforeStep?.(ctx, batch, task);
            const afterBackward = this.plugins.some((p) => p.afterBackward) ? () => {
              for (const p of this.plugins) p.afterBackward?.(ctx, batch, task);
            } : undefined;
            optimizerStep(optimizer, () => this.pluginLoss(ctx, this.stepLoss(batch, task), batch, task), lossSum, afterBackward);
            const pending = this.afterStep(batch, task);
            if (pending) await pending;
            for (const p of this.plugins) p.afterStep?.(ctx, batch, task);
            steps++;
          }
          schedule?.step();
        }
        this.meter.end(steps);
        if (this.taskLosses.length === 0) this.firstTaskEnd = { rng: getRngState(), steps };
        optimizer.zeroGrad();
        await this.afterLastStep(task);
        this.taskLosses.push(checkedTaskLoss(this.name, task.id, steps ? (await lossSum.item()) / steps : NaN, steps, this.lr));
      }
    } finally {
      lossSum.dispose();
      this.model.eval();
    }
    await this.afterTask(task);
    for (const p of this.plugins) await p.afterTask?.(ctx, task);
  }

  /**
   * Online learning: one optimizer step on `batch` of `task` (the step `learnTask` takes per batch, with
   * the same hooks and plugins). The first batch of a task opens it: the head is sized for `tasksSoFar`,
   * then beforeTask runs. No readback.
   */
  async observe(batch: Batch, task: Task, tasksSoFar: readonly Task[]): Promise<void> {
    if (!this.supportsOnline) throw new EngramError(`${this.name}: has no online mode (it retrains on stored tasks); use runScenario`);
    const restore = this.useTaskHead(task);
    try {
      await this.observeOne(batch, task, tasksSoFar);
    } finally {
      restore();
    }
  }

  private async observeOne(batch: Batch, task: Task, tasksSoFar: readonly Task[]): Promise<void> {
    if (this.opts.sharedFirstTask) throw new EngramError(`${this.name}: sharedFirstTask applies to learnTask (runScenario), not to online learning (observe)`);
    if (this.onlineTask !== task) {
      if (this.onlineTask) await this.endTask();
      this.tasksSoFar = tasksSoFar;
      this.prepareModel(tasksSoFar);
      await this.beforeTask(task);
      for (const p of this.plugins) await p.beforeTask?.(this.context, task);
      this.onlineTask = task;
    }
    const ctx = this.context;
    this.setTrainMode();
    for (const p of this.plugins) p.beforeStep?.(ctx, batch, task);
    optimizerStep(this.optimizer!, () => this.pluginLoss(ctx, this.stepLoss(batch, task), batch, task));
    this.afterStep(batch, task);
    for (const p of this.plugins) p.afterStep?.(ctx, batch, task);
  }

  /** Online learning: close the open task (afterTask hooks, the strategy's then its plugins'), model in eval mode. */
  async endTask(): Promise<void> {
    const task = this.onlineTask;
    if (!task) return;
    this.onlineTask = null;
    this.optimizer?.zeroGrad();
    this.model.eval();
    const restore = this.useTaskHead(task);
    try {
      await this.afterTask(task);
      for (const p of this.plugins) await p.afterTask?.(this.context, task);
    } finally {
      restore();
    }
  }

  /** Called by `runScenario` after evaluating task `taskIndex`'s row; passes it to the plugins' afterEval. */
  afterEval(taskIndex: number, row: readonly number[]): void {
    const ctx = this.context;
    for (const p of this.plugins) p.afterEval?.(ctx, taskIndex, row);
  }

  predict(x: Tensor): Tensor {
    return argmaxPredict(this.model, x);
  }

  trainingStats(): TrainingStats {
    return this.meter.stats();
  }

  /**
   * Task-incremental prediction: the argmax of the logits of the task's classes only (masked logits); a
   * multi-head model's logits come from the task's own head (a task not learned yet has none: every prediction
   * is -1, never correct, as an unseen class is never predicted).
   */
  predictTask(x: Tensor, task: TaskLabel): Tensor {
    if (asMultiTask(this.model)?.heads.hasHead(task.id) === false) return full([x.shape[0]!], -1, { dtype: 'int32' });
    return noGrad(() => withEvalMode(this.model, () => scope(() => maskedArgmax(forwardForTask(this.model, x, task.id), task.classes))));
  }

  /**
   * Task 0 as this strategy trained it, for another strategy to start from (`sharedFirstTask`): a copy of
   * the model's state now, the random state where task 0's training loop ended, and its mean loss. Call it
   * right after task 0 (e.g. from runScenario's onTask), from a strategy whose end of task 0 leaves the
   * weights as trained (Naive, ExperienceReplay, AlternatingReplay). The caller disposes the result.
   */
  shareFirstTask(): SharedFirstTask {
    if (this.taskLosses.length !== 1 || !this.firstTaskEnd) {
      throw new EngramError(`${this.name}: shareFirstTask() applies right after task 0 (learned tasks: ${this.taskLosses.length}); call it from runScenario's onTask when task 0 is done`);
    }
    return snapshotFirstTask(this.model, this.firstTaskEnd.rng, this.taskLosses[0]!, this.firstTaskEnd.steps, this.name);
  }

  memoryStats(): {
    /** Exemplars held. */
    exemplars: number;
    /** Stored payload bytes (see `ExemplarStore.bytes`). */
    bytes: number;
  } {
    return { exemplars: 0, bytes: 0 };
  }

  dispose(): void {
    for (const p of this.plugins) p.dispose?.();
    this.optimizer?.dispose();
    this.optimizer = null;
    this.model.dispose();
  }

  /**
   * Whether the strategy can train a multi-head model (`MultiTaskModel`): by default, those that train on the
   * current task's data alone and keep no exemplars (every batch belongs to the task whose head is active).
   * A strategy that replays must route each exemplar through its own task's head and say so by overriding this.
   */
  protected multiHeadSupport(): boolean {
    return this.memoryStats === SupervisedStrategy.prototype.memoryStats && this.trainingData === SupervisedStrategy.prototype.trainingData;
  }

  /** The loss of one training step on a stream batch (inside the step's scope). */
  protected abstract stepLoss(batch: Batch, task: Task): Tensor;

  /**
   * The data the task's epochs iterate over (shuffled, in batches): the task's training set by default;
   * `ExperienceReplay` with mode 'concat-data' returns it concatenated with the memory.
   */
  protected trainingData(task: Task): ImageDataset {
    return task.train;
  }

  /** Before the first step of a task (the head is already sized, the optimizer built). */
  protected async beforeTask(_task: Task): Promise<void> {}

  /**
   * After each step, outside its scope: CPU work, or a promise the loop awaits before the next step (DER
   * awaits the readback of the previous step's logits here).
   */
  protected afterStep(_batch: Batch, _task: Task): void | Promise<void> {}

  /** After the last step of a task, before the model goes to eval mode (DER stores its last pending logits). */
  protected async afterLastStep(_task: Task): Promise<void> {}

  /** After the last step of a task, the model in eval mode. */
  protected async afterTask(_task: Task): Promise<void> {}

  /** A stream- or memory-batch transform applied outside a DataLoader (memory batches). */
  protected applyTransform(x: Tensor): Tensor {
    return this.transform ? this.transform.apply(x, this.generator) : x;
  }

  /**
   * With a multi-head model: make `task` the model's default task (forward(x) goes through its head) and
   * return what restores the previous one; throws when the strategy cannot train a multi-head model.
   */
  private useTaskHead(task: Task): () => void {
    const multi = asMultiTask(this.model);
    if (!multi) return () => {};
    if (!this.multiHeadSupport()) {
      throw new EngramError(`${this.name}: cannot train a multi-head model (MultiTaskModel): it trains on exemplars or data of several tasks without routing each through its own task's head. Multi-head models work with Naive, EWC, SI, LwF and ExperienceReplay ('er' or 'concat' mode); use a shared-head model for this strategy`);
    }
    const before = multi.defaultTask;
    multi.defaultTask = task.id;
    return () => {
      multi.defaultTask = before;
    };
  }

  /** The step loss after every plugin's afterLoss (each may return a new loss). */
  private pluginLoss(ctx: StrategyContext, loss: Tensor, batch: Batch, task: Task): Tensor {
    for (const p of this.plugins) {
      const next = p.afterLoss?.(ctx, loss, batch, task);
      if (next !== undefined) {
        if (!next || typeof (next as Tensor).backward !== 'function') throw new EngramError(`${this.name}: plugin '${p.name}' afterLoss must return a loss Tensor or nothing`);
        loss = next;
      }
    }
    return loss;
  }

  /** Size the head for the classes so far, freeze after task 0 if asked, and (re)build the optimizer. */
  private prepareModel(tasksSoFar: readonly Task[]): void {
    const multi = asMultiTask(this.model);
    const needed = multi ? 0 : classesNeeded(tasksSoFar);
    const have = multi ? 0 : this.model.numClasses;
    let changed = this.optimizer === null;
    if (multi) {
      // One head per task, created when the task is first seen (new parameters: rebuild the optimizer).
      for (const t of tasksSoFar) if (multi.adaptation(t, this.headGenerator)) changed = true;
    }
    if (needed > have) {
      if (!this.opts.expandHeads) {
        throw new EngramError(`${this.name}: the tasks so far have labels up to ${needed - 1} but the classifier has ${have} outputs; build a larger model or pass expandHeads: true`);
      }
      expandClassifier(this.model, needed, this.headGenerator);
      changed = true;
    }
    if (this.opts.freezeFeaturesAfterFirstTask && tasksSoFar.length > 1 && !this.frozen) {
      this.model.freezeFeatures();
      this.frozen = true;
      changed = true;
    }
    if (!changed) {
      if (this.startedShared && this.tasksSoFar.length === 2) {
        throw new EngramError(`${this.name}: task 1 would keep task 0's optimizer state, which sharedFirstTask does not carry (only weights and random state); share task 0 only when task 1 builds a new optimizer (new classes with expandHeads, or freezeFeaturesAfterFirstTask)`);
      }
      return;
    }
    this.optimizer?.dispose();
    const params = this.model.parameters().filter((p) => p.requiresGrad);
    const lr = this.frozen ? (this.opts.headLr ?? this.lr) : this.lr;
    this.optimizer = this.opts.makeOptimizer
      ? this.opts.makeOptimizer(params, lr)
      : new SGD([{ params, lr }], { lr, momentum: this.opts.momentum ?? 0, weightDecay: this.opts.weightDecay ?? 0 });
  }

  /**
   * Train mode, except a frozen feature extractor, which stays in eval mode (fixed batch-norm statistics, no
   * dropout) unless frozenFeaturesMode is 'train'.
   */
  private setTrainMode(): void {
    if (!this.frozen || this.opts.frozenFeaturesMode === 'train') {
      this.model.train();
      return;
    }
    this.model.eval();
    (asMultiTask(this.model)?.heads ?? this.model.classifier).train();
    this.model.training = true;
  }
}
