// Bias correction of the classifier after each task, for methods whose head favours the newest classes
// (replay with a small memory sees far more new-class images than old ones).
//
//   WA, weight aligning (Zhao et al. 2020, "Maintaining Discrimination and Fairness in Class Incremental
//   Learning"): after each task, the weight rows of the task's new classes are rescaled by
//       γ = mean_{c old} ‖w_c‖ / mean_{c new} ‖w_c‖
//   so their mean L2 norm equals the old classes' (the bias is left as it is, as in PyCIL's weight_align).
//   On the GPU, no readback; old rows are untouched (bit for bit).
//
//   BiC, bias correction (Wu et al. 2019, "Large Scale Incremental Learning"): a held-out validation
//   memory (class-balanced, separate from the replay memory) takes a share of the stream; after each task
//   with new classes, the model frozen, two scalars α, β are fitted on the validation memory so that the
//   new classes' logits become α·z + β (full-batch gradient descent of the cross-entropy); prediction
//   applies every task's (α, β) to its classes. Not done here: BiC's distillation term (this is ER + the
//   bias layer). The fit reads back α and β once per task.

import { EngramError, runtime } from '../../engine/runtime.js';
import { tensor, type Tensor } from '../../engine/tensor.js';
import { noGrad, scope } from '../../engine/scope.js';
import { add, argmax, clamp, crossEntropy, div, indexSelect, mean, mul, sqrt, sub, sum, where } from '../../engine/ops/index.js';
import { SGD } from '../../optim/sgd.js';
import type { Batch } from '../../data/loader.js';
import type { ReplayBuffer } from '../buffers/replay-buffer.js';
import { ClassBalancedBuffer } from '../buffers/class-balanced.js';
import { Generator } from '../../engine/random.js';
import { inEvalMode, taskSeed } from './common.js';
import { checkBufferShape, offerImages } from './replay-memory.js';
import type { Linear } from '../../nn/layers/linear.js';
import type { Task } from '../scenarios.js';
import type { StrategyContext, StrategyPlugin } from '../plugins.js';
import { ExperienceReplay, type ReplayOptions } from './replay.js';

function classIndex(what: string, classes: readonly number[], K: number): Tensor {
  for (const c of classes) if (!Number.isInteger(c) || c < 0 || c >= K) throw new EngramError(`weightAlign: ${what} class ${c} is not a row of the ${K}-class head`);
  return tensor(Int32Array.from(classes), [classes.length], { dtype: 'int32' });
}

/**
 * Weight aligning (WA), in place on the GPU: the rows `newClasses` of `head.weight` [K, F] are multiplied by
 * γ = mean ‖w_old‖ / mean ‖w_new‖ (row L2 norms over `oldClasses` and `newClasses`). Other rows and the bias are
 * unchanged. Both class lists must be non-empty and disjoint.
 */
export function weightAlign(head: Linear, oldClasses: readonly number[], newClasses: readonly number[]): void {
  const W = head.weight;
  const K = W.shape[0]!;
  if (oldClasses.length === 0 || newClasses.length === 0) throw new EngramError(`weightAlign: needs old and new classes, got ${oldClasses.length} old and ${newClasses.length} new`);
  const old = new Set(oldClasses);
  for (const c of newClasses) if (old.has(c)) throw new EngramError(`weightAlign: class ${c} is both old and new`);
  noGrad(() => scope(() => {
    const norms = sqrt(sum(mul(W, W), 1));
    const gamma = div(mean(indexSelect(norms, 0, classIndex('old', oldClasses, K))), clamp(mean(indexSelect(norms, 0, classIndex('new', newClasses, K))), 1e-30));
    const mask = new Float32Array(K);
    for (const c of newClasses) mask[c] = 1;
    const factor = where(tensor(mask, [K, 1]), gamma, 1);
    const aligned = mul(W, factor);
    runtime().copy(aligned.buffer, 0, W.buffer, 0, W.size * 4);
  }));
}

/**
 * Weight aligning as a plugin (Zhao et al. 2020): after each task that brings classes not seen before, the new
 * classes' classifier rows are rescaled to the old classes' mean norm (`weightAlign`). Add it to any
 * SupervisedStrategy, e.g. `new ExperienceReplay({ ..., plugins: [new WAPlugin()] })`.
 */
export class WAPlugin implements StrategyPlugin {
  readonly name = 'wa';
  /** Tasks after which the weights were aligned. */
  alignedAfter: number[] = [];

  afterTask(ctx: StrategyContext, task: Task): void {
    const old = new Set(ctx.tasksSoFar.slice(0, -1).flatMap((t) => t.classes));
    const fresh = [...new Set(task.classes)].filter((c) => !old.has(c)).sort((a, b) => a - b);
    if (old.size === 0 || fresh.length === 0) return;
    weightAlign(ctx.model.classifier, [...old].sort((a, b) => a - b), fresh);
    this.alignedAfter.push(task.id);
  }
}

/** Options of `WA`: those of `ExperienceReplay`. */
export type WAOptions = ReplayOptions;

/** Experience replay with weight aligning after each task (`WAPlugin`); report name 'er-wa'. */
export class WA extends ExperienceReplay {
  /** The weight-aligning plugin. */
  readonly wa: WAPlugin;

  constructor(opts: WAOptions) {
    super({ ...opts, name: opts?.name ?? 'er-wa' });
    this.wa = new WAPlugin();
    this.plugins.push(this.wa);
  }
}

// ------------------------------------------------------------------ BiC

/** The new-class columns of `logits` [B, K] become α·z + β: z ⊙ (1 + (α − 1) m) + β m, m the [K] mask of `newClasses`. */
function biasLayer(logits: Tensor, alpha: Tensor, beta: Tensor, mask: Tensor): Tensor {
  return add(mul(logits, add(mul(sub(alpha, 1), mask), 1)), mul(beta, mask));
}

/** A fitted bias layer: the new classes' logits z become alpha·z + beta. */
export interface BiasLayerFit {
  /** The scale α. */
  alpha: number;
  /** The shift β. */
  beta: number;
}

/** One task's bias layer in a `BiC` strategy. */
export interface BiCLayer extends BiasLayerFit {
  /** The task after which it was fitted. */
  task: number;
  /** The classes it corrects (the task's new classes). */
  classes: number[];
}

/** Options of `fitBiasLayer`. */
export interface FitBiasLayerOptions {
  /** Full-batch gradient-descent steps (default 200). */
  steps?: number;
  /** Learning rate (default 0.1). */
  lr?: number;
}

/**
 * BiC's bias layer fit: α and β (from 1 and 0) minimizing the cross-entropy of `logits` [B, K] (constants) at
 * `labels` (int32 [B]) once the `newClasses` columns become α·z + β, by `steps` full-batch gradient-descent steps
 * of learning rate `lr`. Returns the fitted α and β (one readback).
 */
export async function fitBiasLayer(logits: Tensor, labels: Tensor, newClasses: readonly number[], opts: FitBiasLayerOptions = {}): Promise<BiasLayerFit> {
  const K = logits.shape[1]!;
  if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) throw new EngramError(`fitBiasLayer: logits [B, K] and labels [B], got ${logits.shape} and ${labels.shape}`);
  const steps = opts.steps ?? 200;
  const lr = opts.lr ?? 0.1;
  if (!(Number.isInteger(steps) && steps >= 0)) throw new EngramError(`fitBiasLayer: steps must be an integer >= 0, got ${steps}`);
  if (!(Number.isFinite(lr) && lr > 0)) throw new EngramError(`fitBiasLayer: lr must be a positive number, got ${lr}`);
  const m = new Float32Array(K);
  for (const c of newClasses) {
    if (!Number.isInteger(c) || c < 0 || c >= K) throw new EngramError(`fitBiasLayer: new class ${c} is not a column of the ${K} logits`);
    m[c] = 1;
  }
  const mask = tensor(m, [K]).keep();
  const alpha = tensor([1], [1], { requiresGrad: true }).keep();
  const beta = tensor([0], [1], { requiresGrad: true }).keep();
  const opt = new SGD([alpha, beta], { lr });
  try {
    const z = logits.detach();
    for (let s = 0; s < steps; s++) {
      scope(() => {
        opt.zeroGrad();
        crossEntropy(biasLayer(z, alpha, beta, mask), labels).backward();
        opt.step();
      });
    }
    return { alpha: (await alpha.toArray())[0]!, beta: (await beta.toArray())[0]! };
  } finally {
    opt.dispose();
    for (const t of [mask, alpha, beta]) {
      t.grad?.dispose();
      t.dispose();
    }
  }
}

/** Options of `BiC`: those of `ExperienceReplay` (online updates) plus the validation memory and the bias fit. */
export interface BiCOptions extends ReplayOptions {
  /** Exemplars of the class-balanced validation memory, held out of training (default: a tenth of capacity, at least 1). */
  valCapacity?: number;
  /** Gradient-descent steps of each bias fit (default 200). */
  biasSteps?: number;
  /** Learning rate of the bias fit (default 0.1). */
  biasLr?: number;
}

/**
 * BiC (Wu et al. 2019) on experience replay: each stream image goes to a class-balanced validation memory with
 * probability valCapacity / (capacity + valCapacity), otherwise to the replay memory as in ER; after each task with
 * new classes, α and β are fitted on the validation memory (`fitBiasLayer`, model frozen) and prediction maps the
 * new classes' logits to α·z + β. BiC's distillation term is not included. Report name 'er-bic'.
 */
export class BiC extends ExperienceReplay {
  /** The fitted (α, β) of each task that was corrected, in order. */
  readonly biasLayers: BiCLayer[] = [];
  private readonly valCapacity: number;
  private readonly bopts: BiCOptions;
  private valBuf: ReplayBuffer | null = null;
  private readonly splitter: Generator;
  private scale: Float32Array = new Float32Array(0);
  private shift: Float32Array = new Float32Array(0);
  private correction: [Tensor, Tensor] | null = null;

  constructor(opts: BiCOptions) {
    if (opts && opts.update !== undefined && opts.update !== 'online') throw new EngramError(`BiC: update must be 'online' (the stream is split between the replay and validation memories), got ${JSON.stringify(opts.update)}`);
    if (opts && opts.mode !== undefined && opts.mode !== 'er') throw new EngramError(`BiC: mode must be 'er', got ${JSON.stringify(opts.mode)}`);
    super({ ...opts, name: opts?.name ?? 'er-bic' });
    this.bopts = opts;
    const v = opts.valCapacity ?? (opts.capacity !== undefined ? Math.max(1, Math.round(opts.capacity / 10)) : undefined);
    if (v === undefined) throw new EngramError('BiC: give valCapacity (the validation memory, in exemplars) when the replay memory is sized by a buffer or capacityBytes');
    if (!(Number.isInteger(v) && v > 0)) throw new EngramError(`BiC: valCapacity must be a positive integer, got ${v}`);
    this.valCapacity = v;
    this.splitter = new Generator(taskSeed(this.seed, -8));
  }

  /** The validation memory (null before the first task). */
  get validationBuffer(): ReplayBuffer | null {
    return this.valBuf;
  }

  override memoryStats(): {
    /** Exemplars held (replay and validation memories). */
    exemplars: number;
    /** Stored payload bytes of both memories. */
    bytes: number;
  } {
    const m = super.memoryStats();
    return { exemplars: m.exemplars + (this.valBuf?.size ?? 0), bytes: m.bytes + (this.valBuf?.bytes ?? 0) };
  }

  override predict(x: Tensor): Tensor {
    if (!this.correction) return super.predict(x);
    const K = this.model.numClasses;
    if (this.correction[0].size !== K) this.setCorrection(K); // the head grew since the last fit
    const [scale, shift] = this.correction;
    return inEvalMode(this.model, () => argmax(add(mul(this.model.forward(x), scale), shift), 1));
  }

  override dispose(): void {
    this.correction?.forEach((t) => t.dispose());
    this.correction = null;
    super.dispose();
  }

  protected override async beforeTask(task: Task): Promise<void> {
    await super.beforeTask(task);
    const ds = task.train;
    this.valBuf ??= new ClassBalancedBuffer({
      shape: [ds.channels, ds.height, ds.width], format: this.bopts.memoryFormat, quantization: this.bopts.quantization,
      capacity: this.valCapacity, seed: taskSeed(this.seed, -9),
    });
    checkBufferShape('BiC', this.valBuf, ds, task.id);
  }

  /** Split the stream batch: validation memory with probability valCapacity / (capacity + valCapacity), replay memory otherwise. */
  protected override afterStep(batch: Batch, task: Task): void {
    const p = this.valCapacity / (this.buffer!.capacity + this.valCapacity);
    const val: number[] = [];
    const train: number[] = [];
    for (const i of batch.indices) (this.splitter.next() < p ? val : train).push(i);
    if (val.length) offerImages(this.valBuf!, task.train, val, task.id);
    super.afterStep({ ...batch, indices: Int32Array.from(train) }, task);
  }

  protected override async afterTask(task: Task): Promise<void> {
    await super.afterTask(task);
    const old = new Set(this.context.tasksSoFar.slice(0, -1).flatMap((t) => t.classes));
    const fresh = [...new Set(task.classes)].filter((c) => !old.has(c)).sort((a, b) => a - b);
    const val = this.valBuf!;
    if (old.size === 0 || fresh.length === 0 || val.size === 0) return;
    const K = this.model.numClasses;
    const idx = Array.from({ length: val.size }, (_, i) => i);
    const x = val.store.toTensor(idx);
    const y = tensor(val.store.labels(), [val.size], { dtype: 'int32' });
    const logits = inEvalMode(this.model, () => scope(() => this.corrected(this.model.forward(this.applyTransform(x)), K)));
    try {
      const { alpha, beta } = await fitBiasLayer(logits, y, fresh, { steps: this.bopts.biasSteps, lr: this.bopts.biasLr });
      this.biasLayers.push({ task: task.id, classes: fresh, alpha, beta });
      for (const c of fresh) {
        this.scale[c] = alpha;
        this.shift[c] = beta;
      }
      this.setCorrection(K);
    } finally {
      for (const t of [x, y, logits]) t.dispose();
    }
  }

  /** The GPU scale and shift of prediction, for a K-class head. */
  private setCorrection(K: number): void {
    this.grow(K);
    this.correction?.forEach((t) => t.dispose());
    this.correction = [tensor(this.scale.subarray(0, K), [K]).keep(), tensor(this.shift.subarray(0, K), [K]).keep()];
  }

  /** Logits with the earlier tasks' corrections applied. */
  private corrected(z: Tensor, K: number): Tensor {
    this.grow(K);
    return add(mul(z, tensor(this.scale.subarray(0, K), [K])), tensor(this.shift.subarray(0, K), [K]));
  }

  /** Scale and shift for at least K classes (1 and 0 for classes never corrected). */
  private grow(K: number): void {
    if (this.scale.length < K) {
      const s = new Float32Array(K).fill(1);
      const t = new Float32Array(K);
      s.set(this.scale);
      t.set(this.shift);
      this.scale = s;
      this.shift = t;
    }
  }
}
