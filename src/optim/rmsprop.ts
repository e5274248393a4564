// RMSprop (torch.optim.RMSprop): a running average of the squared gradient scales each step, optionally
// centered (the running mean of the gradient is subtracted) and with momentum. One fused kernel per parameter
// tensor, or per batch of tensors (multi-tensor.ts, `foreach`).

import { runtime, grid1d, f32bits, EngramError } from '../engine/runtime.js';
import { zeros, Tensor } from '../engine/tensor.js';
import { RMSPROP_WGSL } from '../shaders/optim.js';
import { rmspropMultiWGSL } from '../shaders/optim-multi.js';
import { planMultiTensor, recordPlanned, type PlannedDispatch, type TensorJob } from './multi-tensor.js';
import { Optimizer, withDefaults, type ParamGroupInput, type ParamState } from './optimizer.js';
import { checkBoolean, checkNumber, show } from '../engine/validate.js';

/** Hyperparameters of `RMSprop` (each parameter group may override them), as in torch.optim.RMSprop. */
export interface RMSpropOptions {
  /** Learning rate (default 1e-2). */
  lr: number;
  /** Smoothing constant of the running averages (default 0.99). */
  alpha: number;
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Normalize by an estimate of the gradient's variance instead of its second moment (default false). */
  centered: boolean;
}

interface RMSState {
  step: number;
  squareAvg: Tensor;
  /** Running mean of the gradient; a 1-element dummy unless centered. */
  gradAvg: Tensor;
  /** Momentum buffer; a 1-element dummy unless momentum > 0. */
  buf: Tensor;
}

/**
 * RMSprop as torch.optim.RMSprop, with weight decay, momentum and the centered variant; one fused kernel
 * updates several parameter tensors per dispatch (see `foreach`).
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  private state = new Map<Tensor, RMSState>();

  /**
   * @param params The parameters, or parameter groups with their own hyperparameters.
   * @param opts Hyperparameters; see `RMSpropOptions` for the defaults (PyTorch's).
   */
  constructor(params: Iterable<Tensor> | ParamGroupInput<RMSpropOptions>[], opts: Partial<RMSpropOptions> = {}) {
    super(params, withDefaults('RMSprop', { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false }, opts), 'RMSprop');
  }

  /** Its per-tensor state (the step count) advances at each replay of a captured step (`compile`). */
  protected override readonly capturable = true;

  protected checkOptions(o: RMSpropOptions): void {
    // PyTorch's checks ("Invalid alpha value: -1"), plus finiteness.
    checkNumber('RMSprop', 'alpha', o.alpha, { min: 0 });
    checkNumber('RMSprop', 'eps', o.eps, { min: 0 });
    checkNumber('RMSprop', 'weightDecay', o.weightDecay, { min: 0 });
    checkNumber('RMSprop', 'momentum', o.momentum, { min: 0 });
    checkBoolean('RMSprop', 'centered', o.centered);
  }

  protected update(p: Tensor, grad: Tensor, h: RMSpropOptions): void {
    const s = this.stateFor(p, h);
    const job: TensorJob = { buffers: this.buffersOf(grad, p, s), n: p.size, words: [0, 0] };
    recordPlanned(() => [this.planOne(job, h)], () => void s.step++);
  }

  protected override updateGroup(ps: Tensor[], h: RMSpropOptions): void {
    if (!this.foreach) return super.updateGroup(ps, h);
    const states = ps.map((p) => this.stateFor(p, h));
    // The buffers are taken now: a replay (compile) reuses them, whatever p.grad holds by then.
    const jobs: TensorJob[] = ps.map((p, i) => ({ buffers: this.buffersOf(p.grad!, p, states[i]!), n: p.size, words: [0, 0] }));
    const header = [f32bits(h.lr), f32bits(h.alpha), f32bits(h.eps), f32bits(h.weightDecay), f32bits(h.momentum), h.centered ? 1 : 0];
    recordPlanned(() => planMultiTensor('rmsprop', rmspropMultiWGSL, header, jobs, (job) => this.planOne(job, h), true), () => {
      for (const s of states) s.step++;
    });
  }

  /** The state of `p`, made (zeros) on first use; the grad-average and momentum buffers when their feature is first on. */
  private stateFor(p: Tensor, h: RMSpropOptions): RMSState {
    let s = this.state.get(p);
    if (!s) {
      s = { step: 0, squareAvg: zeros(p.shape).keep(), gradAvg: zeros([1]).keep(), buf: zeros([1]).keep() };
      this.state.set(p, s);
    }
    // Buffers start at zero when their feature is first on (PyTorch creates them lazily as zeros too).
    if (h.centered && s.gradAvg.size !== p.size) (s.gradAvg.dispose(), (s.gradAvg = zeros(p.shape).keep()));
    if (h.momentum > 0 && s.buf.size !== p.size) (s.buf.dispose(), (s.buf = zeros(p.shape).keep()));
    return s;
  }

  /** The buffers the kernels bind for one tensor, in binding order. */
  private buffersOf(grad: Tensor, p: Tensor, s: RMSState): GPUBuffer[] {
    return [grad.buffer, p.buffer, s.squareAvg.buffer, s.gradAvg.buffer, s.buf.buffer];
  }

  /** The per-tensor kernel for one tensor's job. */
  private planOne(job: TensorJob, h: RMSpropOptions): PlannedDispatch {
    const k = runtime().kernel({ name: 'rmsprop', wgsl: RMSPROP_WGSL, bindings: ['read', 'write', 'write', 'write', 'write'] });
    const params = [job.n, f32bits(h.lr), f32bits(h.alpha), f32bits(h.eps), f32bits(h.weightDecay), f32bits(h.momentum), h.centered ? 1 : 0];
    return { kernel: k, buffers: job.buffers, params, grid: grid1d(job.n) };
  }

  protected exportState(p: Tensor): ParamState | undefined {
    const s = this.state.get(p);
    if (!s) return undefined;
    const out: ParamState = { step: s.step, square_avg: s.squareAvg };
    if (s.buf.size === p.size) out.momentum_buffer = s.buf;
    if (s.gradAvg.size === p.size) out.grad_avg = s.gradAvg;
    return out;
  }

  protected importState(p: Tensor, st: ParamState): void {
    const { step, square_avg: sq, grad_avg: ga, momentum_buffer: buf } = st;
    const ok = (t: unknown, optional: boolean) => (optional && t === undefined) || (t instanceof Tensor && t.size === p.size);
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0 || !ok(sq, false) || !ok(ga, true) || !ok(buf, true)) {
      throw new EngramError(`RMSprop.loadStateDict: parameter state needs an integer 'step', a 'square_avg' tensor of ${p.size} elements and optional 'grad_avg', 'momentum_buffer' of the same size, got step ${show(step)}, square_avg ${show(sq)}`);
    }
    this.state.set(p, {
      step,
      squareAvg: (sq as Tensor).clone().keep(),
      gradAvg: ga instanceof Tensor ? ga.clone().keep() : zeros([1]).keep(),
      buf: buf instanceof Tensor ? buf.clone().keep() : zeros([1]).keep(),
    });
  }

  protected clearState(p: Tensor): void {
    const s = this.state.get(p);
    if (s) (s.squareAvg.dispose(), s.gradAvg.dispose(), s.buf.dispose());
    this.state.delete(p);
  }

  dispose(): void {
    for (const p of [...this.state.keys()]) this.clearState(p);
  }
}
