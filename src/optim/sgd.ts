// Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay,
// matching torch.optim.SGD. One fused kernel per parameter tensor, or per batch of tensors (multi-tensor.ts).

import { runtime, grid1d, f32bits, EngramError } from '../engine/runtime.js';
import { zeros, Tensor } from '../engine/tensor.js';
import { SGD_WGSL } from '../shaders/optim.js';
import { sgdMultiWGSL } from '../shaders/optim-multi.js';
import { planMultiTensor, recordPlanned, type PlannedDispatch, type TensorJob } from './multi-tensor.js';
import { captureGuard } from '../engine/capture.js';
import { Optimizer, withDefaults, type ParamGroupInput, type ParamState } from './optimizer.js';
import { checkBoolean, checkNumber, show } from '../engine/validate.js';

/** Hyperparameters of `SGD` (each parameter group may override them), as in torch.optim.SGD. */
export interface SGDOptions {
  /** Learning rate (required). */
  lr: number;
  /** Momentum factor (default 0: plain SGD). */
  momentum: number;
  /** Dampening for momentum (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Use Nesterov momentum (default false; needs momentum > 0 and zero dampening). */
  nesterov: boolean;
}

/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay, matching
 * torch.optim.SGD; one fused kernel updates several parameter tensors per dispatch (see `foreach`).
 */
export class SGD extends Optimizer<SGDOptions> {
  private momentumBuffers = new Map<Tensor, { buf: Tensor; started: boolean }>();

  constructor(params: Iterable<Tensor> | ParamGroupInput<SGDOptions>[], opts: Partial<SGDOptions> & { lr: number }) {
    super(params, withDefaults('SGD', { lr: undefined as unknown as number, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }, opts), 'SGD');
  }

  /** The kernels' words are planned again from the group's options at each replay (`compile`). */
  protected override readonly replaysOptions = true;
  /** Step counts and momentum flags advance at each replay of a captured step (`compile`). */
  protected override readonly capturable = true;

  protected checkOptions(o: SGDOptions): void {
    // PyTorch's checks ("Invalid momentum value: -1"), plus finiteness: NaN would poison every weight.
    checkNumber('SGD', 'momentum', o.momentum, { min: 0 });
    checkNumber('SGD', 'dampening', o.dampening);
    checkNumber('SGD', 'weightDecay', o.weightDecay, { min: 0 });
    checkBoolean('SGD', 'nesterov', o.nesterov);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new EngramError(`SGD: Nesterov momentum requires a momentum > 0 and zero dampening, got momentum ${o.momentum}, dampening ${o.dampening}`);
    }
  }

  protected update(p: Tensor, grad: Tensor, h: SGDOptions): void {
    this.step1(p, grad, h);
  }

  /** One tensor's update on its own (the per-tensor kernel). */
  private step1(p: Tensor, grad: Tensor, h: SGDOptions): void {
    const state = this.stateFor(p, h);
    const buffers = [grad.buffer, p.buffer, state.buf.buffer];
    const job = (): TensorJob => ({ buffers, n: p.size, words: [state.started ? 0 : 1, 0] });
    this.guardMomentum([state], h);
    recordPlanned(() => [this.planOne(job(), h)], () => {
      if (h.momentum !== 0) state.started = true;
    });
  }

  protected override updateGroup(ps: Tensor[], h: SGDOptions): void {
    if (!this.foreach) return super.updateGroup(ps, h);
    const states = ps.map((p) => this.stateFor(p, h));
    // The buffers are taken now: a replay (compile) reuses them, whatever p.grad holds by then.
    const buffers = ps.map((p, i) => [p.grad!.buffer, p.buffer, states[i]!.buf.buffer]);
    this.guardMomentum(states, h);
    const plan = () => {
      const jobs: TensorJob[] = ps.map((p, i) => ({ buffers: buffers[i]!, n: p.size, words: [states[i]!.started ? 0 : 1, 0] }));
      const header = [f32bits(h.lr), f32bits(h.momentum), f32bits(h.dampening), f32bits(h.weightDecay), h.nesterov ? 1 : 0];
      return planMultiTensor('sgd', sgdMultiWGSL, header, jobs, (job) => this.planOne(job, h), true);
    };
    recordPlanned(plan, () => {
      if (h.momentum !== 0) for (const s of states) s.started = true;
    });
  }

  /** A captured step (compile) replays with the momentum buffers it traced: momentum switched on or off traces again. */
  private guardMomentum(states: { buf: Tensor }[], h: SGDOptions): void {
    const on = h.momentum !== 0;
    const bufs = states.map((s) => s.buf);
    captureGuard(() => ((h.momentum !== 0) !== on || states.some((s, i) => s.buf !== bufs[i]) ? 'SGD momentum was switched on or off' : null));
  }

  /** The per-tensor kernel for one tensor's job (words[0] is the first-step flag). */
  private planOne(job: TensorJob, h: SGDOptions): PlannedDispatch {
    const k = runtime().kernel({ name: 'sgd', wgsl: SGD_WGSL, bindings: ['read', 'write', 'write'] });
    const params = [job.n, f32bits(h.lr), f32bits(h.momentum), f32bits(h.dampening), f32bits(h.weightDecay), h.nesterov ? 1 : 0, job.words[0]];
    return { kernel: k, buffers: job.buffers, params, grid: grid1d(job.n) };
  }

  /** The momentum state of `p`, made (zeros) on first use or when momentum was switched on. */
  private stateFor(p: Tensor, h: SGDOptions): { buf: Tensor; started: boolean } {
    let state = this.momentumBuffers.get(p);
    // A momentum switched on after the first step (OneCycleLR cycles it; loadStateDict may set it) starts a
    // buffer then, as PyTorch's momentum_buffer of None does.
    if (state && h.momentum !== 0 && state.buf.size !== p.size) {
      state.buf.dispose();
      state = undefined;
    }
    if (!state) {
      state = { buf: zeros(h.momentum !== 0 ? p.shape : [1]).keep(), started: false };
      this.momentumBuffers.set(p, state);
    }
    return state;
  }

  protected exportState(p: Tensor): ParamState | undefined {
    const s = this.momentumBuffers.get(p);
    return s?.started ? { momentum_buffer: s.buf } : undefined;
  }

  protected importState(p: Tensor, s: ParamState): void {
    const buf = s.momentum_buffer;
    if (!(buf instanceof Tensor) || buf.size !== p.size) throw new EngramError(`SGD.loadStateDict: parameter state needs a 'momentum_buffer' tensor of ${p.size} elements, got ${show(buf)}`);
    this.momentumBuffers.set(p, { buf: buf.clone().keep(), started: true });
  }

  protected clearState(p: Tensor): void {
    this.momentumBuffers.get(p)?.buf.dispose();
    this.momentumBuffers.delete(p);
  }

  dispose(): void {
    for (const s of this.momentumBuffers.values()) s.buf.dispose();
    this.momentumBuffers.clear();
  }
}
