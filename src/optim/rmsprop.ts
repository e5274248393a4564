// RMSprop (torch.optim.RMSprop): a running average of the squared gradient scales each step, optionally
// centered (the running mean of the gradient is subtracted) and with momentum. One fused kernel per parameter
// tensor per step.

import { runtime, grid1d, f32bits, EngramError } from '../engine/runtime.js';
import { zeros, Tensor } from '../engine/tensor.js';
import { RMSPROP_WGSL } from '../shaders/optim.js';
import { Optimizer, withDefaults, type ParamGroupInput, type ParamState } from './optimizer.js';
import { perCallEffect } from '../engine/capture.js';
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
 * RMSprop as torch.optim.RMSprop, with weight decay, momentum and the centered variant; one fused kernel per
 * parameter tensor per step.
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
    const rt = runtime();
    let s = this.state.get(p);
    if (!s) {
      s = { step: 0, squareAvg: zeros(p.shape).keep(), gradAvg: zeros([1]).keep(), buf: zeros([1]).keep() };
      this.state.set(p, s);
    }
    // Buffers start at zero when their feature is first on (PyTorch creates them lazily as zeros too).
    if (h.centered && s.gradAvg.size !== p.size) (s.gradAvg.dispose(), (s.gradAvg = zeros(p.shape).keep()));
    if (h.momentum > 0 && s.buf.size !== p.size) (s.buf.dispose(), (s.buf = zeros(p.shape).keep()));
    s.step++;
    const state = s;
    perCallEffect(() => void state.step++); // a captured step's replay counts the step too (compile)
    const k = rt.kernel({ name: 'rmsprop', wgsl: RMSPROP_WGSL, bindings: ['read', 'write', 'write', 'write', 'write'] });
    const params = [p.size, f32bits(h.lr), f32bits(h.alpha), f32bits(h.eps), f32bits(h.weightDecay), f32bits(h.momentum), h.centered ? 1 : 0];
    rt.dispatch(k, [grad.buffer, p.buffer, s.squareAvg.buffer, s.gradAvg.buffer, s.buf.buffer], params, grid1d(p.size));
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
