// Averaged Gradient Episodic Memory (Chaudhry et al. 2019), named as Avalanche names it (`AGEM`,
// `AGEMPlugin`). After each task, `patternsPerExperience` random images of it go to an episodic memory.
// Before each step, the gradient g_ref of the loss on a random memory batch (`sampleSize` exemplars) is
// computed; after the step's backward, if the stream gradient g points against it (g·g_ref < 0), g is
// projected onto the half-space where it does not:
//   g ← g − (g·g_ref / g_ref·g_ref) g_ref       over all trainable parameters flattened together.
// The projection runs on the GPU with no readback: the two dot products stay GPU scalars and the
// coefficient is min(g·g_ref, 0) / g_ref·g_ref, which is 0 (g unchanged, exactly) when g·g_ref >= 0.
// As a plugin (afterBackward hook) it works with any SupervisedStrategy; `AGEM` is fine-tuning plus it.
// The constraint is on the gradient handed to the optimizer (as in the paper, which trains with plain SGD,
// and in Avalanche): with momentum the update also carries earlier gradients, each projected against an
// earlier reference, so it can still raise the memory loss. It is first-order, too: nothing ever lowers
// the memory loss, and a memory fit to ~0 loss gives a reference near 0 that constrains little.

import { EngramError } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import { scope } from '../../engine/scope.js';
import { Generator } from '../../engine/random.js';
import { add, addInPlace_, clamp, crossEntropy, div, mul, neg, sum } from '../../engine/ops/index.js';
import type { Batch } from '../../data/loader.js';
import type { ReplayBuffer } from '../buffers/replay-buffer.js';
import type { Task } from '../scenarios.js';
import type { StrategyContext, StrategyPlugin } from '../plugins.js';
import { SupervisedStrategy, classificationLoss, taskSeed, type StrategyOptions } from './common.js';
import { checkBufferShape, checkMemoryOptions, makeReplayBuffer, offerImages, type ReplayMemoryOptions } from './replay-memory.js';

/**
 * A-GEM's projection, in place on the GPU: with d = Σ_k g_k·r_k and n = Σ_k r_k·r_k over all the tensors
 * together, every g_k ← g_k − (min(d, 0) / n) r_k. When d >= 0 (or r = 0) the gradients are left exactly as they
 * were. `grads[k]` and `refs[k]` must have the same size. No readback.
 */
export function agemProject(grads: readonly Tensor[], refs: readonly Tensor[]): void {
  if (grads.length === 0 || grads.length !== refs.length) throw new EngramError(`agemProject: needs one reference per gradient, got ${grads.length} gradients and ${refs.length} references`);
  grads.forEach((g, k) => {
    if (g.size !== refs[k]!.size) throw new EngramError(`agemProject: gradient ${k} has ${g.size} values but its reference has ${refs[k]!.size}`);
  });
  scope(() => {
    let dot: Tensor | null = null;
    let norm: Tensor | null = null;
    grads.forEach((g, k) => {
      const r = refs[k]!;
      const d = sum(mul(g, r));
      const n = sum(mul(r, r));
      dot = dot ? add(dot, d) : d;
      norm = norm ? add(norm, n) : n;
    });
    // min(d, 0) / max(n, tiny): 0 when d >= 0, and 0 (not 0/0) when r = 0.
    const coef = div(clamp(dot!, undefined, 0), clamp(norm!, 1e-30));
    grads.forEach((g, k) => addInPlace_(g, neg(mul(refs[k]!, coef))));
  });
}

/** Options of `AGEMPlugin` (Avalanche's `AGEMPlugin(patterns_per_experience, sample_size)`) and its memory. */
export interface AGEMPluginOptions extends ReplayMemoryOptions {
  /** Random images of each task stored in the episodic memory at its end (Avalanche's patterns_per_experience). */
  patternsPerExperience: number;
  /** Memory exemplars per reference gradient (Avalanche's sample_size; default 64). */
  sampleSize?: number;
  /** Seed of the plugin's memory selection and sampling (default: derived from the strategy's seed). */
  seed?: number;
}

/**
 * A-GEM as a plugin (Avalanche's `AGEMPlugin`): keeps an episodic memory (`patternsPerExperience` random images
 * per task, in any buffer/store format) and, at every step, projects the gradient so that it does not increase
 * the loss on a memory batch (see `agemProject`). The projection is on the GPU with no readback.
 */
export class AGEMPlugin implements StrategyPlugin {
  readonly name = 'agem';
  /** Images stored per task. */
  readonly patternsPerExperience: number;
  /** Memory batch size of the reference gradient. */
  readonly sampleSize: number;
  /** Steps whose gradient had a reference (the memory was not empty). */
  projectedSteps = 0;
  private buf: ReplayBuffer | null;
  private readonly mopts: AGEMPluginOptions;
  private generator: Generator | null = null;
  private refs = new Map<Tensor, Tensor>();

  constructor(opts: AGEMPluginOptions) {
    if (!opts || typeof opts !== 'object') throw new EngramError('AGEMPlugin: options need patternsPerExperience ({ patternsPerExperience: 100 })');
    const p = opts.patternsPerExperience;
    if (!(Number.isInteger(p) && p > 0)) throw new EngramError(`AGEMPlugin: patternsPerExperience must be a positive integer, got ${p}`);
    const s = opts.sampleSize ?? 64;
    if (!(Number.isInteger(s) && s > 0)) throw new EngramError(`AGEMPlugin: sampleSize must be a positive integer, got ${s}`);
    if (opts.seed !== undefined && !Number.isInteger(opts.seed)) throw new EngramError(`AGEMPlugin: seed must be an integer, got ${opts.seed}`);
    checkMemoryOptions('AGEMPlugin', opts, false);
    this.patternsPerExperience = p;
    this.sampleSize = s;
    this.mopts = opts;
    this.buf = opts.buffer ?? null;
  }

  /** The episodic memory (null before the first task when built from options). */
  get buffer(): ReplayBuffer | null {
    return this.buf;
  }

  beforeTask(ctx: StrategyContext, task: Task): void {
    const ds = task.train;
    this.generator ??= new Generator(this.mopts.seed ?? taskSeed(ctx.seed, -6));
    this.buf ??= makeReplayBuffer(this.mopts, [ds.channels, ds.height, ds.width], taskSeed(ctx.seed, -7), 'reservoir');
    checkBufferShape('AGEMPlugin', this.buf, ds, task.id);
  }

  /** Compute the reference gradient on a memory batch (outside the step's scope); the step's zeroGrad clears it from the parameters. */
  beforeStep(ctx: StrategyContext): void {
    this.release();
    const buf = this.buf;
    if (!buf || buf.size === 0) return;
    const model = ctx.model;
    const params = model.parameters().filter((p) => p.requiresGrad);
    scope(() => {
      model.zeroGrad();
      const m = buf.sampleBatch(this.sampleSize, this.generator!);
      const x = ctx.transform ? ctx.transform.apply(m.x, this.generator!) : m.x;
      crossEntropy(model.forward(x), m.y).backward();
      for (const p of params) if (p.grad) this.refs.set(p, p.grad.clone().keep());
    });
    model.zeroGrad();
  }

  /** Project the step's gradient against the reference (GPU only). */
  afterBackward(ctx: StrategyContext): void {
    if (this.refs.size === 0) return;
    const grads: Tensor[] = [];
    const refs: Tensor[] = [];
    for (const p of ctx.model.parameters()) {
      const r = this.refs.get(p);
      if (!r || !p.grad) continue; // a parameter without a stream gradient (or reference) is left out of both
      grads.push(p.grad);
      refs.push(r);
    }
    if (grads.length) {
      agemProject(grads, refs);
      this.projectedSteps++;
    }
  }

  afterStep(): void {
    this.release();
  }

  /** Store `patternsPerExperience` random images of the task (all when it has fewer). */
  afterTask(_ctx: StrategyContext, task: Task): void {
    const n = task.train.length;
    const k = Math.min(n, this.patternsPerExperience);
    const order = this.generator!.permutation(n);
    offerImages(this.buf!, task.train, order.subarray(0, k), task.id);
  }

  dispose(): void {
    this.release();
  }

  private release(): void {
    for (const r of this.refs.values()) r.dispose();
    this.refs.clear();
  }
}

/** Options of `AGEM`: the fine-tuning options and those of `AGEMPlugin`. */
export type AGEMOptions = StrategyOptions & AGEMPluginOptions;

/** A-GEM (Avalanche's `AGEM`): cross-entropy fine-tuning plus an `AGEMPlugin`. */
export class AGEM extends SupervisedStrategy {
  readonly name = 'agem';
  /** The plugin holding the episodic memory and doing the projection. */
  readonly agem: AGEMPlugin;

  constructor(opts: AGEMOptions) {
    super(opts, 'AGEM');
    // The plugin derives its own seed from the strategy's (opts.seed is the strategy's, not the plugin's).
    this.agem = new AGEMPlugin({ ...opts, seed: undefined });
    this.plugins.push(this.agem);
  }

  override memoryStats(): {
    /** Exemplars held. */
    exemplars: number;
    /** Stored payload bytes (see `ExemplarStore.bytes`). */
    bytes: number;
  } {
    return { exemplars: this.agem.buffer?.size ?? 0, bytes: this.agem.buffer?.bytes ?? 0 };
  }

  protected stepLoss(batch: Batch): Tensor {
    return classificationLoss(this.model, batch.x, batch.y);
  }
}
