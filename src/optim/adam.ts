// Adam (torch.optim.Adam: L2 penalty added to the gradient) and AdamW (torch.optim.AdamW:
// decoupled weight decay), with bias correction. One fused kernel per parameter tensor, or per batch of
// tensors (multi-tensor.ts).

import { runtime, grid1d, f32bits } from '../engine/runtime.js';
import { zeros, Tensor } from '../engine/tensor.js';
import { ADAM_WGSL } from '../shaders/optim.js';
import { adamMultiWGSL } from '../shaders/optim-multi.js';
import { planMultiTensor, recordPlanned, type PlannedDispatch, type TensorJob } from './multi-tensor.js';
import { Optimizer, withDefaults, type ParamGroupInput, type ParamState } from './optimizer.js';
import { EngramError } from '../engine/runtime.js';
import { checkNumber, show } from '../engine/validate.js';

/** Hyperparameters of `Adam` and `AdamW` (each parameter group may override them). */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the running averages of the gradient and its square (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /**
   * Weight decay: an L2 penalty added to the gradient for Adam (default 0), decoupled (applied to the weights
   * directly) for AdamW (default 1e-2).
   */
  weightDecay: number;
}

/**
 * Adam with bias correction, as torch.optim.Adam (weight decay as an L2 penalty added to the gradient); one
 * fused kernel updates several parameter tensors per dispatch (see `foreach`).
 */
export class Adam extends Optimizer<AdamOptions> {
  private state = new Map<Tensor, { m: Tensor; v: Tensor; t: number }>();

  constructor(
    params: Iterable<Tensor> | ParamGroupInput<AdamOptions>[],
    opts: Partial<AdamOptions> = {},
    private readonly decoupled = false,
  ) {
    super(params, withDefaults(decoupled ? 'AdamW' : 'Adam', { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: decoupled ? 1e-2 : 0 }, opts), decoupled ? 'AdamW' : 'Adam');
  }

  /** The kernels' words are planned again from the group's options at each replay (`compile`). */
  protected override readonly replaysOptions = true;
  /** Step counts and momentum flags advance at each replay of a captured step (`compile`). */
  protected override readonly capturable = true;

  protected checkOptions(o: AdamOptions): void {
    // PyTorch's checks: betas in [0, 1) ("Invalid beta parameter at index 0: 2"), eps >= 0, weight decay >= 0.
    const kind = this.kind;
    const b = o.betas as unknown;
    if (!Array.isArray(b) || b.length !== 2) throw new EngramError(`${kind}: betas must be a pair [beta1, beta2] of numbers in [0, 1), got ${show(b)}`);
    b.forEach((v, i) => checkNumber(kind, `betas[${i}]`, v, { min: 0, max: 1, maxInclusive: false }));
    checkNumber(kind, 'eps', o.eps, { min: 0 });
    checkNumber(kind, 'weightDecay', o.weightDecay, { min: 0 });
  }

  protected update(p: Tensor, grad: Tensor, h: AdamOptions): void {
    const s = this.stateFor(p);
    const buffers = [grad.buffer, p.buffer, s.m.buffer, s.v.buffer];
    recordPlanned(() => [this.planOne(this.job(p, buffers, s, h), h)], () => void s.t++);
  }

  protected override updateGroup(ps: Tensor[], h: AdamOptions): void {
    if (!this.foreach) return super.updateGroup(ps, h);
    const states = ps.map((p) => this.stateFor(p));
    // The buffers are taken now: a replay (compile) reuses them, whatever p.grad holds by then.
    const buffers = ps.map((p, i) => [p.grad!.buffer, p.buffer, states[i]!.m.buffer, states[i]!.v.buffer]);
    const plan = () => {
      const jobs = ps.map((p, i) => this.job(p, buffers[i]!, states[i]!, h));
      const [b1, b2] = h.betas;
      const header = [f32bits(h.lr), f32bits(b1), f32bits(b2), f32bits(h.eps), f32bits(h.weightDecay), this.decoupled ? 1 : 0];
      return planMultiTensor('adam', adamMultiWGSL, header, jobs, (job) => this.planOne(job, h), true);
    };
    recordPlanned(plan, () => {
      for (const s of states) s.t++;
    });
  }

  /** The moments of `p`, made (zeros) on first use. */
  private stateFor(p: Tensor): { m: Tensor; v: Tensor; t: number } {
    let s = this.state.get(p);
    if (!s) {
      s = { m: zeros(p.shape).keep(), v: zeros(p.shape).keep(), t: 0 };
      this.state.set(p, s);
    }
    return s;
  }

  /** `p`'s job: its buffers (gradient, parameter, moments) and the bias corrections of its next step (t + 1). */
  private job(p: Tensor, buffers: GPUBuffer[], s: { t: number }, h: AdamOptions): TensorJob {
    const [b1, b2] = h.betas;
    const t = s.t + 1;
    return { buffers, n: p.size, words: [f32bits(1 - b1 ** t), f32bits(1 - b2 ** t)] };
  }

  /** The per-tensor kernel for one tensor's job (words: the bias corrections). */
  private planOne(job: TensorJob, h: AdamOptions): PlannedDispatch {
    const [b1, b2] = h.betas;
    const k = runtime().kernel({ name: 'adam', wgsl: ADAM_WGSL, bindings: ['read', 'write', 'write', 'write'] });
    const params = [job.n, f32bits(h.lr), f32bits(b1), f32bits(b2), f32bits(h.eps), f32bits(h.weightDecay), this.decoupled ? 1 : 0, job.words[0], job.words[1]];
    return { kernel: k, buffers: job.buffers, params, grid: grid1d(job.n) };
  }

  protected exportState(p: Tensor): ParamState | undefined {
    const s = this.state.get(p);
    return s && { step: s.t, exp_avg: s.m, exp_avg_sq: s.v };
  }

  protected importState(p: Tensor, s: ParamState): void {
    const { step, exp_avg: m, exp_avg_sq: v } = s;
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0 || !(m instanceof Tensor) || !(v instanceof Tensor) || m.size !== p.size || v.size !== p.size) {
      throw new EngramError(`${this.kind}.loadStateDict: parameter state needs an integer 'step' and 'exp_avg', 'exp_avg_sq' tensors of ${p.size} elements, got step ${show(step)}, exp_avg ${show(m)}, exp_avg_sq ${show(v)}`);
    }
    this.state.set(p, { m: m.clone().keep(), v: v.clone().keep(), t: step });
  }

  protected clearState(p: Tensor): void {
    const s = this.state.get(p);
    if (s) (s.m.dispose(), s.v.dispose());
    this.state.delete(p);
  }

  dispose(): void {
    for (const s of this.state.values()) (s.m.dispose(), s.v.dispose());
    this.state.clear();
  }
}

/** AdamW: Adam with decoupled weight decay (default 0.01), as torch.optim.AdamW. */
export class AdamW extends Adam {
  constructor(params: Iterable<Tensor> | ParamGroupInput<AdamOptions>[], opts: Partial<AdamOptions> = {}) {
    super(params, opts, true);
  }
}
