// Exponential moving average of weights, as torch.optim.swa_utils.AveragedModel with the EMA avg_fn
// (decay * average + (1 - decay) * weight). The averages live on the GPU beside the weights; update() is one
// kernel per parameter tensor and no readback.

import { captureGuard, perCallEffect } from '../engine/capture.js';
import { runtime, grid1d, f32bits, EngramError } from '../engine/runtime.js';
import { Tensor } from '../engine/tensor.js';
import { checkInt, checkNumber, show } from '../engine/validate.js';
import { EMA_WGSL } from '../shaders/optim.js';

/** Anything with a `parameters()` method, such as a Module. */
export interface HasParameters {
  /** The tensors to track, in a fixed order. */
  parameters(): Tensor[];
}

/** Something with parameters: a Module, or the parameters themselves. */
export type ParamSource = HasParameters | Iterable<Tensor>;

function paramsOf(op: string, src: ParamSource): Tensor[] {
  const s = src as { parameters?: unknown };
  const list = src && typeof s.parameters === 'function' ? (src as { parameters(): Tensor[] }).parameters() : src && typeof (src as Iterable<Tensor>)[Symbol.iterator] === 'function' ? [...(src as Iterable<Tensor>)] : null;
  if (!list || !list.every((p) => p instanceof Tensor)) throw new EngramError(`${op}: expected a Module or an iterable of tensors, got ${show(src)}`);
  return list;
}

/** The state of an `ExponentialMovingAverage` (`stateDict()`): copies of the averages, which the caller owns. */
export interface EMAStateDict {
  /** The decay it was built with. */
  decay: number;
  /** Number of `update()` calls so far. */
  numUpdates: number;
  /** Copies of the averages, in parameter order. */
  averages: Tensor[];
}

/**
 * An exponential moving average of a model's parameters, as torch.optim.swa_utils.AveragedModel with
 * `avg_fn = decay * avg + (1 - decay) * param`: the first `update()` copies the weights, every later one
 * blends them in. Evaluate with the averages by `store()`, `copyTo()`, evaluate, `restore()`.
 *
 * ```ts
 * const ema = new E.ExponentialMovingAverage(model, 0.999);
 * // after each optimizer.step():  ema.update();
 * ema.store(); ema.copyTo(); // ... evaluate ...; ema.restore();
 * ```
 */
export class ExponentialMovingAverage {
  /** The tracked parameters, in order. */
  readonly params: Tensor[];
  /** The averages, one per parameter (kept GPU tensors owned by this object). */
  readonly averages: Tensor[];
  /** Number of `update()` calls so far (PyTorch's n_averaged). */
  numUpdates = 0;
  private stored: Tensor[] | null = null;

  /**
   * @param source A Module (its `parameters()`) or the parameters to average.
   * @param decay Weight of the old average at each update, in [0, 1] (default 0.999).
   */
  constructor(
    source: ParamSource,
    readonly decay = 0.999,
  ) {
    checkNumber('ExponentialMovingAverage', 'decay', decay, { min: 0, max: 1 });
    this.params = paramsOf('ExponentialMovingAverage', source);
    for (const p of this.params) if (p.dtype !== 'float32') throw new EngramError(`ExponentialMovingAverage: parameter ${p.name ?? `#${p.id}`} is ${p.dtype}; only float32 tensors can be averaged`);
    this.averages = this.params.map((p) => p.clone().keep());
  }

  /** Blend the current weights into the averages (the first call copies them). Records GPU work only. */
  update(): void {
    const rt = runtime();
    if (this.numUpdates === 0) {
      this.params.forEach((p, i) => rt.copy(p.buffer, 0, this.averages[i]!.buffer, 0, p.size * 4));
    } else {
      const k = rt.kernel({ name: 'ema', wgsl: EMA_WGSL, bindings: ['read', 'write'] });
      const params = [0, f32bits(this.decay), f32bits(1 - this.decay)];
      this.params.forEach((p, i) => {
        params[0] = p.size;
        rt.dispatch(k, [p.buffer, this.averages[i]!.buffer], params, grid1d(p.size));
      });
    }
    this.numUpdates++;
    // A captured step (compile) counts the update at each replay; a changed decay traces it again.
    perCallEffect(() => this.numUpdates++);
    const decay = this.decay;
    captureGuard(() => (this.decay === decay ? null : 'ExponentialMovingAverage: decay changed'));
  }

  /** Copy the averages into the tracked parameters (default) or into another module's/list's parameters of the same shapes. */
  copyTo(target?: ParamSource): void {
    const dst = target === undefined ? this.params : paramsOf('ExponentialMovingAverage.copyTo', target);
    if (dst.length !== this.averages.length || dst.some((p, i) => p.size !== this.averages[i]!.size)) {
      throw new EngramError(`ExponentialMovingAverage.copyTo: the target has ${dst.length} parameters of other sizes than the ${this.averages.length} averaged; pass a model of the same architecture`);
    }
    const rt = runtime();
    dst.forEach((p, i) => rt.copy(this.averages[i]!.buffer, 0, p.buffer, 0, p.size * 4));
  }

  /** Save a copy of the current weights (before `copyTo()`), to put them back with `restore()`. */
  store(): void {
    this.stored?.forEach((t) => t.dispose());
    this.stored = this.params.map((p) => p.clone().keep());
  }

  /** Put back the weights saved by `store()` (training continues from them, not from the averages). */
  restore(): void {
    if (!this.stored) throw new EngramError('ExponentialMovingAverage.restore: nothing stored; call store() before copyTo()');
    const rt = runtime();
    this.params.forEach((p, i) => rt.copy(this.stored![i]!.buffer, 0, p.buffer, 0, p.size * 4));
    this.stored.forEach((t) => t.dispose());
    this.stored = null;
  }

  /** The averages and the update count (copies of the averages on the GPU; the caller owns them). */
  stateDict(): EMAStateDict {
    return { decay: this.decay, numUpdates: this.numUpdates, averages: this.averages.map((a) => a.clone().keep()) };
  }

  /** Restore a state from `stateDict()` (copies its averages; they stay the caller's). */
  loadStateDict(sd: EMAStateDict): void {
    if (!sd || !Array.isArray(sd.averages) || sd.averages.length !== this.averages.length || sd.averages.some((t, i) => !(t instanceof Tensor) || t.disposed || t.size !== this.averages[i]!.size)) {
      throw new EngramError(`ExponentialMovingAverage.loadStateDict: expected ${this.averages.length} live average tensors of the parameters' sizes from stateDict(), got ${show(sd?.averages)}`);
    }
    checkInt('ExponentialMovingAverage.loadStateDict', 'numUpdates', sd.numUpdates, 0);
    const rt = runtime();
    sd.averages.forEach((t, i) => rt.copy(t.buffer, 0, this.averages[i]!.buffer, 0, t.size * 4));
    this.numUpdates = sd.numUpdates;
  }

  /** Free the averages (and any stored weights). */
  dispose(): void {
    this.averages.forEach((a) => a.dispose());
    this.stored?.forEach((t) => t.dispose());
    this.stored = null;
  }
}
