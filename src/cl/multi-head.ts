// Multi-head models for the task-incremental setting, named as Avalanche names them:
//   MultiHeadClassifier: one Linear head per task, created when the task is first seen (`adaptation`) and
//       sized to that task's classes (head t maps features to the logits of task t's classes, in the order
//       of `task.classes`). Registered heads are children named by task id, so a model holding it as
//       'heads' has state-dict keys `heads.<taskId>.weight` / `heads.<taskId>.bias`.
//   MultiTaskModel: a feature extractor (`features()`) plus a MultiHeadClassifier; `forward(x, task)`.
//
// Output layout: forward returns [B, numClasses] logits in the *global* label space (column c = label c,
// numClasses = max label of any head + 1), as Avalanche's masked multi-head classifier does: row b holds its
// task's head's logits in the columns of that task's classes and `maskValue` (default -1000, Avalanche's
// mask_value) in every other column. So the cross-entropy of the global labels is the cross-entropy of the
// task's own head (exp(-1000 - z) is 0 in float32), every strategy's loss on logits and `maskedArgmax` keep
// working unchanged, and gradients reach the heads of the rows' tasks only.
//
// The task id of a forward is a number (every row) or an int32 tensor [B] (one per row: replay batches
// mix tasks). The per-row form sums, over the heads, the head's logits placed in its columns times a 0/1
// row selector, so it needs no readback of the ids (each head runs on the whole batch: heads are small).
// A multi-head model has no prediction without a task label: class-incremental evaluation throws.

import { EngramError } from '../engine/runtime.js';
import { full, tensor, type Tensor } from '../engine/tensor.js';
import { add, eq, matmul, mul, reshape, where } from '../engine/ops/index.js';
import { shapeStr } from '../engine/shape.js';
import type { Generator } from '../engine/random.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers/linear.js';
import { Classifier } from '../models/classifier.js';

/** What a multi-head classifier needs of a task to give it a head: its id and its classes. */
export interface TaskHeadSpec {
  /** The task id (the head's key). */
  readonly id: number;
  /** The task's labels, in the order of the head's outputs. */
  readonly classes: readonly number[];
}

/** The task id(s) of a forward: one id for every row, or an int32 tensor `[B]` with one per row. */
export type TaskIds = number | Tensor;

/** Options of `MultiHeadClassifier`. */
export interface MultiHeadClassifierOptions {
  /** Value of the logits outside a row's task (default -1000, Avalanche's mask_value). */
  maskValue?: number;
  /** Heads with a bias (default true). */
  bias?: boolean;
}

interface HeadConstants {
  /** numClasses the constants were built for. */
  width: number;
  /** `[K_t, C]` one-hot: column k of the head goes to global column `classes[k]`. */
  placement: Tensor;
  /** `[1, C]` float32: 1 in the task's columns. */
  columns: Tensor;
}

/**
 * One Linear head per task (Avalanche's `MultiHeadClassifier`), created by `adaptation(task)` when the task is
 * first seen, sized to its classes. `forward(features, task)` returns global-label logits `[B, numClasses]` with
 * `maskValue` outside each row's task (see the file comment).
 */
export class MultiHeadClassifier extends Module {
  /** Value of the logits outside a row's task. */
  readonly maskValue: number;
  private readonly bias: boolean;
  private readonly classes = new Map<number, readonly number[]>();
  private readonly constants = new Map<number, HeadConstants>();

  /** @param inFeatures the size of the features every head takes. */
  constructor(readonly inFeatures: number, opts: MultiHeadClassifierOptions = {}) {
    super();
    if (!(Number.isInteger(inFeatures) && inFeatures > 0)) throw new EngramError(`MultiHeadClassifier: inFeatures must be a positive integer, got ${inFeatures}`);
    this.maskValue = opts.maskValue ?? -1000;
    if (!Number.isFinite(this.maskValue)) throw new EngramError(`MultiHeadClassifier: maskValue must be a finite number (a large negative one), got ${this.maskValue}`);
    this.bias = opts.bias ?? true;
  }

  /**
   * Give `task` a head if it has none (Linear(inFeatures, task.classes.length), drawn from `generator`, default
   * the global one). Returns true when a head was created (an optimizer over the old parameters must then be
   * rebuilt). A task seen again must bring the same classes.
   */
  adaptation(task: TaskHeadSpec, generator?: Generator): boolean {
    const { id, classes } = task;
    if (!Number.isInteger(id) || id < 0) throw new EngramError(`MultiHeadClassifier.adaptation: the task id must be a non-negative integer, got ${id}`);
    if (!Array.isArray(classes) || classes.length === 0 || classes.some((c) => !(Number.isInteger(c) && c >= 0))) {
      throw new EngramError(`MultiHeadClassifier.adaptation: task ${id} needs a non-empty array of non-negative integer classes, got ${JSON.stringify(classes)}`);
    }
    if (new Set(classes).size !== classes.length) throw new EngramError(`MultiHeadClassifier.adaptation: task ${id} lists a class twice: ${JSON.stringify(classes)}`);
    const have = this.classes.get(id);
    if (have) {
      if (have.length !== classes.length || have.some((c, k) => c !== classes[k])) {
        throw new EngramError(`MultiHeadClassifier.adaptation: task ${id} has a head for classes ${JSON.stringify(have)}, now it brings ${JSON.stringify(classes)}; a task's classes cannot change`);
      }
      return false;
    }
    this.registerModule(String(id), new Linear(this.inFeatures, classes.length, { bias: this.bias, generator }));
    this.classes.set(id, [...classes]);
    return true;
  }

  /** The ids of the tasks that have a head, in creation order. */
  get taskIds(): number[] {
    return [...this.classes.keys()];
  }

  /** Whether task `id` has a head. */
  hasHead(id: number): boolean {
    return this.classes.has(id);
  }

  /** The head of task `id` (its outputs are the task's classes in `classesOf(id)` order). */
  head(id: number): Linear {
    const h = this.classes.has(id) ? this.child(String(id)) : undefined;
    if (!(h instanceof Linear)) {
      throw new EngramError(`MultiHeadClassifier: task ${id} has no head (heads: ${JSON.stringify(this.taskIds)}); call adaptation(task) when the task is first seen (the strategies do)`);
    }
    return h;
  }

  /** The classes of task `id`: global label of each output of its head. */
  classesOf(id: number): readonly number[] {
    this.head(id);
    return this.classes.get(id)!;
  }

  /** Width of the global-label output: max label of any head + 1 (0 with no head). */
  get numClasses(): number {
    let max = -1;
    for (const cs of this.classes.values()) for (const c of cs) max = Math.max(max, c);
    return max + 1;
  }

  /** Task `id`'s head on `features` (`[B, inFeatures]`): `[B, K_t]` logits, column k = label `classesOf(id)[k]`. */
  headLogits(features: Tensor, id: number): Tensor {
    this.checkFeatures(features, 'headLogits');
    return this.head(id).forward(features);
  }

  /**
   * Global-label logits `[B, numClasses]` of `features` (`[B, inFeatures]`): each row through its task's head, every
   * column outside the row's task at `maskValue`. `task`: one id for all rows (its head must exist), or an int32
   * tensor `[B]` of ids (a row whose id has no head gets `maskValue` everywhere, so it is never predicted).
   */
  forward(features: Tensor, task?: TaskIds): Tensor {
    this.checkFeatures(features, 'forward');
    if (task === undefined) throw new EngramError('MultiHeadClassifier.forward: needs the task id of the features (a number, or an int32 tensor [B]): which head?');
    const C = this.numClasses;
    if (typeof task === 'number') {
      const k = this.constantsOf(task, C);
      return where(k.columns, matmul(this.head(task).forward(features), k.placement), this.maskValue);
    }
    const B = features.shape[0]!;
    if (task.dtype !== 'int32' || task.rank !== 1 || task.shape[0] !== B) {
      throw new EngramError(`MultiHeadClassifier.forward: per-row task ids must be int32 [${B}] (one per feature row), got ${task.dtype} ${shapeStr(task.shape)}`);
    }
    if (this.classes.size === 0) throw new EngramError('MultiHeadClassifier.forward: no head yet; call adaptation(task) first');
    const ids = reshape(task, [B, 1]);
    let logits: Tensor | null = null;
    let inTask: Tensor | null = null;
    for (const id of this.taskIds) {
      const k = this.constantsOf(id, C);
      const rows = eq(ids, full([1, 1], id, { dtype: 'int32' })); // [B, 1] 0/1
      const placed = mul(matmul(this.head(id).forward(features), k.placement), rows);
      const cols = mul(rows, k.columns); // [B, C]
      logits = logits ? add(logits, placed) : placed;
      inTask = inTask ? add(inTask, cols) : cols;
    }
    return where(inTask!, logits!, this.maskValue);
  }

  override dispose(): void {
    for (const k of this.constants.values()) {
      k.placement.dispose();
      k.columns.dispose();
    }
    this.constants.clear();
    super.dispose();
  }

  private checkFeatures(features: Tensor, op: string): void {
    if (features.rank !== 2 || features.shape[1] !== this.inFeatures) {
      throw new EngramError(`MultiHeadClassifier.${op}: features must be [batch, ${this.inFeatures}], got ${shapeStr(features.shape)}`);
    }
  }

  /** The placement matrix and column mask of task `id` for output width C (kept, rebuilt when C grows). */
  private constantsOf(id: number, C: number): HeadConstants {
    const classes = this.classesOf(id);
    const have = this.constants.get(id);
    if (have && have.width === C) return have;
    if (have) {
      have.placement.dispose();
      have.columns.dispose();
    }
    const K = classes.length;
    const placement = new Float32Array(K * C);
    const columns = new Float32Array(C);
    classes.forEach((c, k) => {
      placement[k * C + c] = 1;
      columns[c] = 1;
    });
    const made = { width: C, placement: tensor(placement, [K, C]).keep(), columns: tensor(columns, [1, C]).keep() };
    this.constants.set(id, made);
    return made;
  }
}

/** Options of `MultiTaskModel`. */
export interface MultiTaskModelOptions extends MultiHeadClassifierOptions {}

/**
 * A multi-head model: a feature extractor registered as 'features' (`features(x)`: `[B, featureDim]`) and a
 * `MultiHeadClassifier` registered as 'heads' (state-dict keys `features.*`, `heads.<taskId>.*`). `forward(x,
 * task)` needs the task id; without one it uses `defaultTask`, which the strategies set while they train on a
 * task, and throws when that is null too (class-incremental prediction: there is no head to choose).
 * It is a `Classifier` for the strategies' sake, but it has no single `classifier`: that getter throws.
 * To load a checkpoint, create the heads first (`adaptation(task)` for each task), then `loadStateDict`.
 */
export class MultiTaskModel extends Classifier {
  /** The feature extractor. */
  readonly backbone: Module;
  /** The per-task heads. */
  readonly heads: MultiHeadClassifier;
  /** The task id `forward(x)` uses when given none (null: forward needs one). Set by the strategies while training. */
  defaultTask: number | null = null;

  /** @param backbone maps a batch of inputs to `[B, featureDim]` features. */
  constructor(backbone: Module, featureDim: number, opts: MultiTaskModelOptions = {}) {
    super();
    if (!(backbone instanceof Module)) throw new EngramError('MultiTaskModel: the backbone must be a Module mapping inputs to [batch, featureDim] features');
    this.backbone = this.registerModule('features', backbone);
    this.heads = this.registerModule('heads', new MultiHeadClassifier(featureDim, opts));
  }

  features(x: Tensor): Tensor {
    return this.backbone.forward(x);
  }

  /** Throws: a multi-head model has one head per task (`heads.head(taskId)`). */
  override get classifier(): Linear {
    throw new EngramError(`${this.constructor.name}: a multi-head model has no single classifier (one head per task: heads.head(taskId)); strategies that edit the classifier (classifier expansion, WA, BiC) need a shared-head model`);
  }

  /** Throws: the heads are created per task by `adaptation`, not replaced. */
  override replaceClassifier(_head: Linear): Linear {
    throw new EngramError(`${this.constructor.name}.replaceClassifier: a multi-head model grows by adaptation(task) (one head per task), not by replacing a classifier`);
  }

  override get featureDim(): number {
    return this.heads.inFeatures;
  }

  /** Width of the global-label logits: max label of any head + 1. */
  override get numClasses(): number {
    return this.heads.numClasses;
  }

  /** Create task's head if it has none (see `MultiHeadClassifier.adaptation`); true when one was created. */
  adaptation(task: TaskHeadSpec, generator?: Generator): boolean {
    return this.heads.adaptation(task, generator);
  }

  /**
   * Global-label logits `[B, numClasses]` (see `MultiHeadClassifier.forward`), each row through the head of its
   * task: `task` (a number, or int32 `[B]`), else `defaultTask`.
   */
  override forward(x: Tensor, task?: TaskIds): Tensor {
    const t = task ?? this.defaultTask;
    if (t === null || t === undefined) {
      throw new EngramError(`${this.constructor.name}.forward: a multi-head model needs the task id of its inputs (which head?), and none was given; class-incremental prediction (no task label) is not possible with it: evaluate with setting 'task-incremental', or pass forward(x, taskId)`);
    }
    return this.heads.forward(this.features(x), t);
  }

  /** Freeze every parameter except the heads'. */
  override freezeFeatures(): this {
    const heads = new Set(this.heads.parameters());
    for (const p of this.parameters()) {
      if (heads.has(p)) continue;
      p.requiresGrad = false;
      p.grad?.dispose();
      p.grad = null;
    }
    return this;
  }
}

/** The model as a `MultiTaskModel`, or null for a shared-head model. */
export function asMultiTask(model: unknown): MultiTaskModel | null {
  return model instanceof MultiTaskModel ? model : null;
}

/** The logits of `model` on `x` for task `task`: `forward(x, task)` of a multi-head model, `forward(x)` of a shared-head one. */
export function forwardForTask(model: Module, x: Tensor, task: TaskIds): Tensor {
  return model instanceof MultiTaskModel ? model.forward(x, task) : model.forward(x);
}
