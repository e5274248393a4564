// Regularization strategies, named as Avalanche names them, written as plugins (see ../plugins.ts) so
// that any SupervisedStrategy can take them (`plugins: [new EWCPlugin({ lambda })]`), plus the
// strategies `EWC`, `SI` and `LwF`: fine-tuning (cross-entropy) with their plugin. None keeps exemplars.
//
//   EWC (Kirkpatrick et al. 2017): λ Σ_t Σ_i F_t,i (θ_i − θ*_t,i)², F_t the empirical diagonal Fisher of
//       task t (mean over the task's batches of the squared gradient of the mean cross-entropy; batches
//       of 1 give the per-sample empirical Fisher) and θ*_t the parameters after task t. mode 'separate'
//       keeps one (F, θ*) per past task; mode 'online' keeps one, F ← decay·F + F_t, θ* ← θ after t.
//   SI (Zenke et al. 2017, as Avalanche's SynapticIntelligencePlugin computes it): (λ/2) Σ_i Ω_i (θ_i − θ*_i)²,
//       Ω = clamp(Σ_tasks ω / (Δ² + ξ), 0, clip) at the end of each task, with ω the path integral
//       −Σ_steps g·Δθ over the task's steps (g the gradient of the whole loss, penalty included, as in
//       Avalanche) and Δ the task's total parameter change. Both bounds matter: with ξ = 1e-7 a parameter that
//       moved little gets |Ω| ~ |ω| / ξ, in the thousands. A negative ω (an uphill net path; thousands of
//       weights on Split-MNIST after task 1) then gives a hugely negative Ω: the penalty becomes concave,
//       unbounded below, and the weights run off to ±Inf (the loss reached −Inf by task 3); uncapped positive Ω
//       (16,645 after task 1) beat SGD's stability limit instead (NaN by task 2). Avalanche caps Ω above at
//       clip_to = 0.001 but not below; the floor at 0 is ours: Ω is an importance, and a negative one turns
//       the quadratic anchor into a repeller.
//   LwF (Li & Hoiem 2016): α · KL(q ‖ p) over the classes of the past tasks, q = softmax(z_old / T) of the
//       model as it was before the task, p = softmax(z / T) of the model being trained (batch mean). With a
//       multi-head model (MultiTaskModel), as Avalanche: one such term per past task's head, summed.
// As in Avalanche, the EWC and LwF penalties carry no ½ and no T² factor; SI's carries Avalanche's λ/2.

import { EngramError } from '../../engine/runtime.js';
import { tensor, zerosLike, type Tensor } from '../../engine/tensor.js';
import { scope } from '../../engine/scope.js';
import { add, addInPlace_, clamp, concat, crossEntropy, div, exp, indexSelect, logSoftmax, mean, mul, neg, sub, sum } from '../../engine/ops/index.js';
import { DataLoader, type Batch } from '../../data/loader.js';
import type { GpuTransform } from '../../data/transforms.js';
import type { Module } from '../../nn/module.js';
import type { Task } from '../scenarios.js';
import type { StrategyContext, StrategyPlugin } from '../plugins.js';
import { SupervisedStrategy, classificationLoss, inEvalMode, withEvalMode, type StrategyOptions } from './common.js';
import { mapDataset } from './icarl.js';
import { asMultiTask } from '../multi-head.js';

// ------------------------------------------------------------------ losses

/**
 * The quadratic penalty of EWC and SI: Σ_k sum(importance_k ⊙ (param_k − anchor_k)²), a scalar that
 * backpropagates into the params (anchors and importances are constants).
 */
export function quadraticPenalty(params: readonly Tensor[], anchors: readonly Tensor[], importances: readonly Tensor[]): Tensor {
  if (params.length === 0 || anchors.length !== params.length || importances.length !== params.length) {
    throw new EngramError(`quadraticPenalty: needs one anchor and one importance per parameter (got ${params.length} params, ${anchors.length} anchors, ${importances.length} importances)`);
  }
  let total: Tensor | null = null;
  params.forEach((p, k) => {
    const a = anchors[k]!;
    const f = importances[k]!;
    if (a.size !== p.size || f.size !== p.size) throw new EngramError(`quadraticPenalty: parameter ${k} has ${p.size} values but its anchor has ${a.size} and its importance ${f.size}`);
    const d = sub(p, a.detach());
    const term = sum(mul(f.detach(), mul(d, d)));
    total = total ? add(total, term) : term;
  });
  return total!;
}

/**
 * LwF's distillation loss: the batch mean of KL(q ‖ p) with q = softmax(oldLogits / T) and
 * p = softmax(logits / T), over the rows of [B, K] logits (Avalanche's `kl_div(..., 'batchmean')`).
 */
export function distillationLoss(logits: Tensor, oldLogits: Tensor, temperature = 2): Tensor {
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new EngramError(`distillationLoss: temperature must be a positive number, got ${temperature}`);
  if (logits.shape.length !== 2 || oldLogits.shape.length !== 2 || logits.shape[0] !== oldLogits.shape[0] || logits.shape[1] !== oldLogits.shape[1]) {
    throw new EngramError(`distillationLoss: logits and oldLogits must both be [B, K] of the same shape, got [${logits.shape}] and [${oldLogits.shape}]`);
  }
  const logP = logSoftmax(mul(logits, 1 / temperature), 1);
  const logQ = logSoftmax(mul(oldLogits.detach(), 1 / temperature), 1);
  return mean(sum(mul(exp(logQ), sub(logQ, logP)), 1));
}

// ------------------------------------------------------------------ helpers

/** The named trainable parameters of a model. */
function trainable(model: Module): [string, Tensor][] {
  return model.namedParameters().filter(([, p]) => p.requiresGrad);
}

/** Detached copies of tensors, kept out of every scope. */
function keepCopies(m: Map<string, Tensor>): Map<string, Tensor> {
  return new Map([...m].map(([k, t]) => [k, t.clone().keep()]));
}

function disposeAll(m: Map<string, Tensor> | null | undefined): void {
  if (m) for (const t of m.values()) t.dispose();
}

/** params/anchors/importances of the parameters named in `anchors`, checking shapes. */
function matched(kind: string, model: Module, anchors: Map<string, Tensor>, importance: Map<string, Tensor>): [Tensor[], Tensor[], Tensor[]] {
  const params: Tensor[] = [];
  const as: Tensor[] = [];
  const fs: Tensor[] = [];
  for (const [name, p] of trainable(model)) {
    const a = anchors.get(name);
    if (!a) continue;
    if (a.size !== p.size) {
      throw new EngramError(`${kind}: parameter '${name}' changed size from ${a.size} to ${p.size} since it was anchored (expandHeads?); build the model with every class's output instead`);
    }
    params.push(p);
    as.push(a);
    fs.push(importance.get(name)!);
  }
  return [params, as, fs];
}

function checkNonNegative(v: number, what: string, kind: string): number {
  if (!(Number.isFinite(v) && v >= 0)) throw new EngramError(`${kind}: ${what} must be a finite number >= 0, got ${v}`);
  return v;
}

// ------------------------------------------------------------------ EWC

/** Options of `EWCPlugin` (Avalanche's `EWCPlugin(ewc_lambda, mode, decay_factor)`). */
export interface EWCPluginOptions {
  /** Weight λ of the penalty (Avalanche's ewc_lambda). */
  lambda: number;
  /** 'separate' (default): one penalty per past task; 'online': one running Fisher, decayed each task. */
  mode?: 'separate' | 'online';
  /** Online mode: the running Fisher is multiplied by this before adding the new task's (default 1). */
  decay?: number;
  /** Batch size of the Fisher pass over the task's data (default: the strategy's batch size; 1 = per-sample Fisher). */
  fisherBatchSize?: number;
}

/** EWC's anchors and Fisher for one past task (or the running pair in online mode), by parameter name. */
export interface EWCPenaltyTerm {
  /** θ*: the parameters at the end of the task. */
  readonly anchors: ReadonlyMap<string, Tensor>;
  /** F: the empirical diagonal Fisher (decayed sum over tasks in online mode). */
  readonly fisher: ReadonlyMap<string, Tensor>;
}

interface EWCEntry {
  anchors: Map<string, Tensor>;
  fisher: Map<string, Tensor>;
}

/**
 * Empirical diagonal Fisher of `model` on `data`: for each trainable parameter, the mean over batches of
 * the squared gradient of the batch's mean cross-entropy (model in eval mode; gradients cleared after).
 */
export function empiricalFisher(model: Module, data: Task['train'], opts: { batchSize?: number; transform?: GpuTransform } = {}): Map<string, Tensor> {
  const params = trainable(model);
  if (params.length === 0) throw new EngramError('empiricalFisher: the model has no trainable parameters');
  if (data.length === 0) throw new EngramError('empiricalFisher: the dataset is empty');
  const fisher = new Map(params.map(([name, p]) => [name, zerosLike(p).keep()]));
  const loader = new DataLoader(data, { batchSize: opts.batchSize ?? 64, transform: opts.transform });
  let batches = 0;
  withEvalMode(model, () => {
    for (const batch of loader) {
      scope(() => {
        model.zeroGrad();
        crossEntropy(model.forward(batch.x), batch.y).backward();
        for (const [name, p] of params) if (p.grad) addInPlace_(fisher.get(name)!, mul(p.grad, p.grad));
      });
      batch.x.dispose();
      batch.y.dispose();
      batches++;
    }
  });
  model.zeroGrad();
  for (const f of fisher.values()) scope(() => {
    const scaled = mul(f, 1 / batches);
    addInPlace_(f, sub(scaled, f));
  });
  return fisher;
}

/**
 * Elastic Weight Consolidation as a plugin (Avalanche's `EWCPlugin`): after each task, the empirical
 * diagonal Fisher over the task's data and the parameters are stored; every later step adds
 * λ Σ F (θ − θ*)² to the loss (one term per past task in 'separate' mode, one decayed running term in 'online').
 */
export class EWCPlugin implements StrategyPlugin {
  readonly name = 'ewc';
  /** Penalty weight λ. */
  readonly lambda: number;
  /** 'separate' or 'online'. */
  readonly mode: 'separate' | 'online';
  /** Online decay of the running Fisher. */
  readonly decay: number;
  private readonly fisherBatchSize: number | undefined;
  private readonly entries: EWCEntry[] = [];

  constructor(opts: EWCPluginOptions) {
    if (!opts || typeof opts !== 'object') throw new EngramError('EWCPlugin: options need a lambda ({ lambda: 100 })');
    this.lambda = checkNonNegative(opts.lambda, 'lambda', 'EWCPlugin');
    this.mode = opts.mode ?? 'separate';
    if (this.mode !== 'separate' && this.mode !== 'online') throw new EngramError(`EWCPlugin: mode must be 'separate' or 'online', got '${String(this.mode)}'`);
    this.decay = checkNonNegative(opts.decay ?? 1, 'decay', 'EWCPlugin');
    if (opts.decay !== undefined && this.mode !== 'online') throw new EngramError(`EWCPlugin: decay applies to mode 'online' only; drop it or pass mode: 'online'`);
    if (opts.fisherBatchSize !== undefined && !(Number.isInteger(opts.fisherBatchSize) && opts.fisherBatchSize > 0)) {
      throw new EngramError(`EWCPlugin: fisherBatchSize must be a positive integer, got ${opts.fisherBatchSize}`);
    }
    this.fisherBatchSize = opts.fisherBatchSize;
  }

  /** Stored (anchors, Fisher) pairs: one per past task ('separate') or at most one ('online'). */
  get penalties(): readonly EWCPenaltyTerm[] {
    return this.entries;
  }

  /** The penalty λ Σ F (θ − θ*)² of `model` (null before the first task ends). */
  penalty(model: Module): Tensor | null {
    if (this.entries.length === 0) return null;
    let total: Tensor | null = null;
    for (const e of this.entries) {
      const [p, a, f] = matched('EWCPlugin', model, e.anchors, e.fisher);
      if (p.length === 0) continue;
      const t = quadraticPenalty(p, a, f);
      total = total ? add(total, t) : t;
    }
    return total ? mul(total, this.lambda) : null;
  }

  afterLoss(ctx: StrategyContext, loss: Tensor): Tensor | void {
    const pen = this.penalty(ctx.model);
    if (pen) return add(loss, pen);
  }

  afterTask(ctx: StrategyContext, task: Task): void {
    const fisher = empiricalFisher(ctx.model, task.train, { batchSize: this.fisherBatchSize ?? ctx.batchSize, transform: ctx.transform });
    const anchors = keepCopies(new Map(trainable(ctx.model)));
    const prev = this.mode === 'online' ? this.entries.pop() : undefined;
    if (prev) {
      for (const [name, f] of fisher) {
        const old = prev.fisher.get(name);
        if (old && old.size === f.size) scope(() => addInPlace_(f, mul(old, this.decay)));
      }
      disposeAll(prev.anchors);
      disposeAll(prev.fisher);
    }
    this.entries.push({ anchors, fisher });
  }

  dispose(): void {
    for (const e of this.entries.splice(0)) {
      disposeAll(e.anchors);
      disposeAll(e.fisher);
    }
  }
}

// ------------------------------------------------------------------ SI

/** Options of `SIPlugin` (Avalanche's `SynapticIntelligencePlugin(si_lambda, eps)`). */
export interface SIPluginOptions {
  /** Weight λ of the penalty (Avalanche's si_lambda). */
  lambda: number;
  /** Damping ξ in Ω += ω / (Δ² + ξ) (Avalanche's eps; default 1e-7). */
  eps?: number;
  /**
   * Upper bound on each importance Ω (Avalanche's clip_to; default 0.001); Ω is also clamped below at 0. The
   * cap keeps the penalty's curvature λΩ within SGD's stability limit; Infinity leaves Ω uncapped (Zenke et
   * al.), which diverges when a parameter moves little over a task (Ω ~ ω / ξ) unless λ·lr is small.
   */
  clip?: number;
}

/**
 * Synaptic Intelligence as a plugin (Avalanche's `SynapticIntelligencePlugin`): during each task the
 * path integral ω = −Σ g·Δθ of every parameter is accumulated on the GPU (g: the step's gradient, Δθ:
 * the step's update); at the task's end the running sum S += ω / (Δ² + ξ), the importance Ω = clamp(S, 0, clip)
 * and the parameters become the anchors; later steps add (λ/2) Σ Ω (θ − θ*)² to the loss.
 */
export class SIPlugin implements StrategyPlugin {
  readonly name = 'si';
  /** Penalty weight λ. */
  readonly lambda: number;
  /** Damping ξ. */
  readonly eps: number;
  /** Upper bound on Ω. */
  readonly clip: number;
  /** The running sum S of ω / (Δ² + ξ) over the tasks, uncapped. */
  private cumulative = new Map<string, Tensor>();
  private omega = new Map<string, Tensor>();
  private anchors = new Map<string, Tensor>();
  private start = new Map<string, Tensor>();
  private path = new Map<string, Tensor>();
  private before = new Map<string, Tensor>();

  constructor(opts: SIPluginOptions) {
    if (!opts || typeof opts !== 'object') throw new EngramError('SIPlugin: options need a lambda ({ lambda: 1 })');
    this.lambda = checkNonNegative(opts.lambda, 'lambda', 'SIPlugin');
    this.eps = opts.eps ?? 1e-7;
    if (!(Number.isFinite(this.eps) && this.eps > 0)) throw new EngramError(`SIPlugin: eps (the damping ξ) must be a positive number, got ${this.eps}`);
    this.clip = opts.clip ?? 0.001;
    if (!(this.clip > 0)) throw new EngramError(`SIPlugin: clip (the cap on the importance Ω) must be a positive number or Infinity, got ${this.clip}`);
  }

  /** The importance Ω = clamp(S, 0, clip) of each parameter (empty before the first task ends). */
  get importance(): ReadonlyMap<string, Tensor> {
    return this.omega;
  }

  /** The penalty (λ/2) Σ Ω (θ − θ*)² of `model` (null before the first task ends). */
  penalty(model: Module): Tensor | null {
    if (this.omega.size === 0) return null;
    const [p, a, f] = matched('SIPlugin', model, this.anchors, this.omega);
    return p.length ? mul(quadraticPenalty(p, a, f), this.lambda / 2) : null;
  }

  beforeTask(ctx: StrategyContext): void {
    disposeAll(this.start);
    disposeAll(this.path);
    const params = trainable(ctx.model);
    this.start = keepCopies(new Map(params));
    this.path = new Map(params.map(([name, p]) => [name, zerosLike(p).keep()]));
  }

  beforeStep(ctx: StrategyContext): void {
    disposeAll(this.before);
    this.before = keepCopies(new Map(trainable(ctx.model)));
  }

  afterLoss(ctx: StrategyContext, loss: Tensor): Tensor | void {
    const pen = this.penalty(ctx.model);
    if (pen) return add(loss, pen);
  }

  afterStep(ctx: StrategyContext): void {
    for (const [name, p] of trainable(ctx.model)) {
      const prev = this.before.get(name);
      const w = this.path.get(name);
      if (!p.grad || !prev || !w || prev.size !== p.size) continue;
      scope(() => addInPlace_(w, neg(mul(p.grad!, sub(p, prev)))));
    }
    disposeAll(this.before);
    this.before = new Map();
  }

  afterTask(ctx: StrategyContext): void {
    const params = new Map(trainable(ctx.model));
    for (const [name, w] of this.path) {
      const p = params.get(name);
      const s = this.start.get(name)!;
      if (!p || p.size !== w.size) continue;
      let running = this.cumulative.get(name);
      if (running && running.size !== p.size) throw new EngramError(`SIPlugin: parameter '${name}' changed size from ${running.size} to ${p.size} (expandHeads?); build the model with every class's output instead`);
      if (!running) {
        running = zerosLike(p).keep();
        this.cumulative.set(name, running);
      }
      const target = running;
      scope(() => {
        const d = sub(p, s);
        addInPlace_(target, div(w, add(mul(d, d), this.eps)));
      });
      this.omega.get(name)?.dispose();
      this.omega.set(name, scope(() => clamp(target, 0, this.clip)).keep());
    }
    disposeAll(this.anchors);
    this.anchors = keepCopies(params);
    disposeAll(this.start);
    disposeAll(this.path);
    this.start = new Map();
    this.path = new Map();
  }

  dispose(): void {
    for (const m of [this.cumulative, this.omega, this.anchors, this.start, this.path, this.before]) disposeAll(m);
    this.cumulative = new Map();
    this.omega = new Map();
    this.anchors = new Map();
    this.start = new Map();
    this.path = new Map();
    this.before = new Map();
  }
}

// ------------------------------------------------------------------ LwF

/** Options of `LwFPlugin` (Avalanche's `LwFPlugin(alpha, temperature)`). */
export interface LwFPluginOptions {
  /** Weight α of the distillation loss (default 1), or one per task (index = task position; the last repeats). */
  alpha?: number | readonly number[];
  /** Softmax temperature T (default 2). */
  temperature?: number;
  /** Transform for the previous model's pass over the task's data (default: the strategy's transform). */
  evalTransform?: GpuTransform;
}

/**
 * Learning without Forgetting as a plugin (Avalanche's `LwFPlugin`): at the start of each task after the
 * first, the model (still as the previous task left it) scores the task's training data once; each step
 * then adds α · KL(softmax(z_old / T) ‖ softmax(z / T)) over the past tasks' classes. No memory is kept.
 */
export class LwFPlugin implements StrategyPlugin {
  readonly name = 'lwf';
  /** Softmax temperature T. */
  readonly temperature: number;
  private readonly alpha: number | readonly number[];
  private readonly evalTransform: GpuTransform | undefined;
  private targets: Tensor | null = null;
  private oldClasses: Tensor | null = null;
  /** Multi-head models: each past task's id and its columns in `targets` (one distillation term per head). */
  private oldHeads: { id: number; columns: Tensor }[] = [];
  private taskIndex = 0;
  private taskSize = 0;

  constructor(opts: LwFPluginOptions = {}) {
    this.alpha = opts.alpha ?? 1;
    const alphas = typeof this.alpha === 'number' ? [this.alpha] : this.alpha;
    if (!Array.isArray(alphas) || alphas.length === 0) throw new EngramError('LwFPlugin: alpha must be a number or a non-empty array of numbers (one per task)');
    alphas.forEach((a) => checkNonNegative(a, 'alpha', 'LwFPlugin'));
    this.temperature = opts.temperature ?? 2;
    if (!(Number.isFinite(this.temperature) && this.temperature > 0)) throw new EngramError(`LwFPlugin: temperature must be a positive number, got ${this.temperature}`);
    this.evalTransform = opts.evalTransform;
  }

  /** α for the task at position `i`. */
  alphaFor(i: number): number {
    return typeof this.alpha === 'number' ? this.alpha : this.alpha[Math.min(i, this.alpha.length - 1)]!;
  }

  beforeTask(ctx: StrategyContext, task: Task): void {
    this.release();
    this.taskIndex = ctx.tasksSoFar.length - 1;
    const old = [...new Set(ctx.tasksSoFar.slice(0, -1).flatMap((t) => t.classes))].sort((a, b) => a - b);
    if (old.length === 0) return;
    const model = ctx.model;
    const multi = asMultiTask(model);
    if (multi) {
      // Avalanche's LwF on a multi-task model: each past task's head, distilled on its own (softmax per head).
      const ids = [...new Set(ctx.tasksSoFar.slice(0, -1).map((t) => t.id))];
      let start = 0;
      for (const id of ids) {
        const k = multi.heads.classesOf(id).length;
        this.oldHeads.push({ id, columns: tensor(Array.from({ length: k }, (_, j) => start + j), [k], { dtype: 'int32' }).keep() });
        start += k;
      }
      this.targets = inEvalMode(model, () => mapDataset(task.train, Math.max(ctx.batchSize, 256), this.evalTransform ?? ctx.transform, (x) => {
        const f = multi.features(x);
        return concat(ids.map((id) => multi.heads.headLogits(f, id)), 1);
      }));
      this.taskSize = task.train.length;
      return;
    }
    this.oldClasses = tensor(old, [old.length], { dtype: 'int32' }).keep();
    const cols = this.oldClasses;
    this.targets = inEvalMode(model, () => mapDataset(task.train, Math.max(ctx.batchSize, 256), this.evalTransform ?? ctx.transform, (x) => indexSelect(model.forward(x), 1, cols)));
    this.taskSize = task.train.length;
  }

  afterLoss(ctx: StrategyContext, loss: Tensor, batch: Batch): Tensor | void {
    if (!this.targets || (!this.oldClasses && this.oldHeads.length === 0)) return;
    const alpha = this.alphaFor(this.taskIndex);
    if (alpha === 0) return;
    const idx = batch.indices;
    for (let i = 0; i < idx.length; i++) {
      if (idx[i]! >= this.taskSize) throw new EngramError(`LwFPlugin: batch index ${idx[i]} is outside the task's ${this.taskSize} training images; LwF distils on the task's own data only (not with 'concat-data' replay or Cumulative)`);
    }
    const old = indexSelect(this.targets, 0, tensor(idx, [idx.length], { dtype: 'int32' }));
    const multi = asMultiTask(ctx.model);
    if (multi && this.oldHeads.length > 0) {
      const f = multi.features(batch.x);
      let penalty: Tensor | null = null;
      for (const { id, columns } of this.oldHeads) {
        const term = distillationLoss(multi.heads.headLogits(f, id), indexSelect(old, 1, columns), this.temperature);
        penalty = penalty ? add(penalty, term) : term;
      }
      return add(loss, mul(penalty!, alpha));
    }
    const z = indexSelect(ctx.model.forward(batch.x), 1, this.oldClasses!);
    return add(loss, mul(distillationLoss(z, old, this.temperature), alpha));
  }

  afterTask(): void {
    this.release();
  }

  dispose(): void {
    this.release();
  }

  private release(): void {
    this.targets?.dispose();
    this.oldClasses?.dispose();
    this.targets = null;
    this.oldClasses = null;
    for (const h of this.oldHeads) h.columns.dispose();
    this.oldHeads = [];
  }
}

// ------------------------------------------------------------------ strategies

/** Options of `EWC`: the fine-tuning options and those of `EWCPlugin`. */
export type EWCOptions = StrategyOptions & EWCPluginOptions;
/** Options of `SI`: the fine-tuning options and those of `SIPlugin`. */
export type SIOptions = StrategyOptions & SIPluginOptions;
/** Options of `LwF`: the fine-tuning options and those of `LwFPlugin`. */
export type LwFOptions = StrategyOptions & LwFPluginOptions;

/** Elastic Weight Consolidation (Avalanche's `EWC`): cross-entropy fine-tuning plus an `EWCPlugin`. */
export class EWC extends SupervisedStrategy {
  readonly name: string;
  /** The plugin holding the Fisher and anchors. */
  readonly ewc: EWCPlugin;

  constructor(opts: EWCOptions) {
    super(opts, 'EWC');
    this.ewc = new EWCPlugin(opts);
    this.name = this.ewc.mode === 'online' ? 'ewc-online' : 'ewc';
    this.plugins.push(this.ewc);
  }

  protected stepLoss(batch: Batch): Tensor {
    return classificationLoss(this.model, batch.x, batch.y);
  }
}

/** Synaptic Intelligence (Avalanche's `SynapticIntelligence`): cross-entropy fine-tuning plus an `SIPlugin`. */
export class SI extends SupervisedStrategy {
  readonly name = 'si';
  /** The plugin holding the path integrals and importances. */
  readonly si: SIPlugin;

  constructor(opts: SIOptions) {
    super(opts, 'SI');
    this.si = new SIPlugin(opts);
    this.plugins.push(this.si);
  }

  protected stepLoss(batch: Batch): Tensor {
    return classificationLoss(this.model, batch.x, batch.y);
  }
}

/** Learning without Forgetting (Avalanche's `LwF`): cross-entropy fine-tuning plus an `LwFPlugin`. */
export class LwF extends SupervisedStrategy {
  readonly name = 'lwf';
  /** The distillation plugin. */
  readonly lwf: LwFPlugin;

  constructor(opts: LwFOptions) {
    super(opts, 'LwF');
    this.lwf = new LwFPlugin(opts);
    this.plugins.push(this.lwf);
  }

  protected stepLoss(batch: Batch): Tensor {
    return classificationLoss(this.model, batch.x, batch.y);
  }
}
