// Base class for optimizers: parameter groups with their own hyperparameters, PyTorch-style.
// Parameters without a gradient (frozen, or unused in this step) are skipped.

import { EngramError } from '../engine/runtime.js';
import { checkNumber, show } from '../engine/validate.js';
import { Tensor } from '../engine/tensor.js';
import { shapeStr, sameShape } from '../engine/shape.js';
import { captureGuard, isCapturing, perCallEffect, refuseCapture } from '../engine/capture.js';

/** A parameter group: tensors updated with the same hyperparameters. */
export interface ParamGroup<H> {
  /** The parameters this group updates. */
  params: Tensor[];
  /** Hyperparameters of this group (lr, momentum, ...); defaults fill what a group leaves out. */
  options: H;
}

/**
 * A parameter group as passed to an optimizer's constructor: its parameters plus any hyperparameters that
 * override the optimizer's defaults.
 */
export type ParamGroupInput<H> = {
  /** The group's parameters. */
  params: Iterable<Tensor>;
} & Partial<H>;

/**
 * The defaults overridden by the user's options, rejecting an option the optimizer does not have
 * (a misspelt `momentun: 0.9` would otherwise train without momentum, silently).
 */
export function withDefaults<H extends object>(kind: string, defaults: H, opts: object): H {
  if (opts === null || typeof opts !== 'object') throw new EngramError(`${kind}: options must be an object with any of ${Object.keys(defaults).join(', ')}, got ${show(opts)}`);
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(opts)) {
    if (!(k in defaults)) throw new EngramError(`${kind}: unknown option '${k}' (expected ${Object.keys(defaults).join(', ')})`);
    if (v !== undefined) out[k] = v; // an option given as undefined keeps its default, as if left out
  }
  return out as H;
}

/**
 * One parameter's optimizer state in an `OptimizerStateDict`: tensors under PyTorch's names (`momentum_buffer`,
 * `exp_avg`, `exp_avg_sq`, `square_avg`, `grad_avg`) and the number `step`.
 */
export type ParamState = Record<string, Tensor | number>;

/** Hyperparameters every optimizer has (what learning-rate schedules rewrite). */
export interface LrOptions {
  /** Learning rate. */
  lr: number;
}

/** One parameter group in an `OptimizerStateDict`: its hyperparameters and the indices of its parameters. */
export type GroupState = Record<string, unknown> & {
  /** Indices of the group's parameters in the optimizer's `params()` order. */
  params: number[];
};

/**
 * An optimizer's state, in the structure of torch.optim.Optimizer.state_dict(): per-parameter state keyed by
 * the parameter's index in `params()` order, and each group's hyperparameters with the indices of its
 * parameters. Hyperparameter names are engram's (`weightDecay`, not `weight_decay`). The tensors are copies
 * on the GPU made by `stateDict()` (later steps do not change them); the caller owns them and disposes them
 * (`disposeOptimizerState`), or serializes them with `saveOptimizerState`.
 */
export interface OptimizerStateDict {
  /** Per-parameter state by index; a parameter that has not been updated yet has no entry. */
  state: Record<number, ParamState>;
  /** Each group's hyperparameters plus `params`: the indices of its parameters. */
  param_groups: GroupState[];
}

/**
 * Base class of the optimizers, as torch.optim.Optimizer: parameter groups with their own hyperparameters;
 * `step()` updates every parameter that has a gradient (frozen or unused ones are skipped).
 * @typeParam H The hyperparameters of a group; every optimizer has a learning rate `lr`.
 */
export abstract class Optimizer<H extends { lr: number }> {
  /** The parameter groups, in the order given. */
  readonly groups: ParamGroup<H>[];
  /** Number of `step()` calls so far. */
  stepCount = 0;
  /**
   * Update several parameters of a group per dispatch where the optimizer has a multi-tensor kernel
   * (SGD, Adam, AdamW, RMSprop), like PyTorch's `foreach` implementations: as many tensors per dispatch as
   * the device's storage-buffer limit allows (5 for SGD, 3 for Adam and RMSprop with 16 buffers per stage). Default
   * true; false dispatches one kernel per tensor. Both give the same values bit for bit (tested).
   */
  foreach = true;

  /**
   * @param params The parameters (float32 tensors), or parameter groups with their own hyperparameters.
   * @param defaults Hyperparameters for whatever a group leaves out.
   * @param kind The optimizer's name, used in error messages.
   */
  constructor(params: Iterable<Tensor> | ParamGroupInput<H>[], defaults: H, readonly kind: string) {
    const list = [...(params as Iterable<Tensor | ParamGroupInput<H>>)];
    const isGroups = list.length > 0 && !('shape' in (list[0] as object));
    const groupInputs = (isGroups ? list : [{ params: list }]) as ParamGroupInput<H>[];
    this.groups = groupInputs.map(({ params: ps, ...opts }) => ({
      params: [...ps],
      options: { ...defaults, ...(opts as unknown as Partial<H>) },
    }));
    const seen = new Set<Tensor>();
    for (const g of this.groups) {
      checkNumber(kind, 'lr', g.options.lr, { min: 0 });
      this.checkOptions(g.options);
      for (const p of g.params) {
        if (seen.has(p)) throw new EngramError(`${kind}: a parameter appears in more than one group`);
        seen.add(p);
        if (p.dtype !== 'float32') throw new EngramError(`${kind}: parameter ${p.name ?? `#${p.id}`} is ${p.dtype}; only float32 tensors can be optimized`);
      }
    }
  }

  /** Every parameter across groups. */
  params(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** Apply one update to every parameter that has a gradient. Records GPU work only; no readback. */
  step(): void {
    this.stepCount++;
    perCallEffect(() => this.stepCount++);
    const capturing = isCapturing();
    if (capturing && !this.capturable) refuseCapture(`an optimizer step of ${this.kind}, which does not register its per-step state for replays`);
    for (const group of this.groups) {
      const ps = group.params.filter((p) => p.requiresGrad && p.grad);
      if (capturing) this.guardReplay(group);
      if (ps.length !== 0) this.updateGroup(ps, group.options);
    }
  }

  /**
   * The optimizer's kernels take their hyperparameters from the groups' options at each replay of a
   * captured step (`compile`): SGD, Adam and AdamW do. Otherwise a replay assumes the options it traced,
   * and a change (a scheduler's new learning rate) traces the step again.
   */
  protected readonly replaysOptions: boolean = false;

  /**
   * The optimizer registers the JavaScript state its update advances (step counts) for replays of a
   * captured step (`compile`): engram's optimizers do. Tracing a step with one that does not (a subclass
   * written elsewhere) is refused, since a replay would skip that state.
   */
  protected readonly capturable: boolean = false;

  /** While a step is traced (`compile`): the conditions a replay of this group's update assumes. */
  private guardReplay(group: ParamGroup<H>): void {
    // One parameter frozen, unfrozen or added since traces the step again. (Gradients dropped outside the
    // step are noticed by the capture.)
    const members = [...group.params];
    const trainable = members.map((p) => p.requiresGrad);
    const options = this.replaysOptions ? '' : JSON.stringify(group.options);
    captureGuard(() => {
      if (group.params.length !== members.length || group.params.some((p, i) => p !== members[i] || p.requiresGrad !== trainable[i])) {
        return `${this.kind}: a parameter was frozen, unfrozen or added`;
      }
      return this.replaysOptions || JSON.stringify(group.options) === options ? null : `${this.kind}: hyperparameters changed`;
    });
  }

  /**
   * Update the parameters `ps` of one group, each of which has a gradient. The default calls `update` for
   * each; optimizers with a multi-tensor kernel override it (see `foreach`).
   */
  protected updateGroup(ps: Tensor[], h: H): void {
    for (const p of ps) this.update(p, p.grad!, h);
  }

  /** Drop gradients (PyTorch's zero_grad(set_to_none=True)): no GPU work, backward writes fresh ones. */
  zeroGrad(): void {
    for (const p of this.params()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Free optimizer state (momentum buffers, moments). */
  abstract dispose(): void;

  /**
   * The optimizer's state as torch.optim.Optimizer.state_dict(): state tensors are copied on the GPU (no
   * readback; the caller owns and disposes the copies), so a `loadStateDict` of it into a fresh optimizer over
   * the same parameters continues bit for bit where this one stands.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map(this.params().map((p, i) => [p, i]));
    const state: Record<number, ParamState> = {};
    for (const [p, i] of index) {
      const s = this.exportState(p);
      if (!s) continue;
      state[i] = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v instanceof Tensor ? v.clone().keep() : v]));
    }
    const param_groups = this.groups.map((g) => ({
      ...structuredClone(g.options as Record<string, unknown>),
      params: g.params.map((p) => index.get(p)!),
    }));
    return { state, param_groups };
  }

  /**
   * Load a state from `stateDict()` (this optimizer's or another's over parameters of the same shapes, in the
   * same groups): hyperparameters (lr included) and per-parameter state are copied; the source's tensors stay
   * the caller's. Everything is checked before anything changes.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const kind = this.kind;
    if (!sd || typeof sd !== 'object' || !Array.isArray(sd.param_groups) || typeof sd.state !== 'object' || sd.state === null) {
      throw new EngramError(`${kind}.loadStateDict: expected { state, param_groups } from stateDict(), got ${show(sd)}`);
    }
    if (sd.param_groups.length !== this.groups.length) {
      throw new EngramError(`${kind}.loadStateDict: the state has ${sd.param_groups.length} parameter groups, this optimizer ${this.groups.length}; build the optimizer with the same groups`);
    }
    const params = this.params();
    sd.param_groups.forEach((g, gi) => {
      const mine = this.groups[gi]!;
      if (!Array.isArray(g.params) || g.params.length !== mine.params.length) {
        throw new EngramError(`${kind}.loadStateDict: group ${gi} has ${show(g.params?.length)} parameters in the state, ${mine.params.length} here`);
      }
      for (const k of Object.keys(g)) {
        if (k !== 'params' && !(k in (mine.options as object))) throw new EngramError(`${kind}.loadStateDict: group ${gi} has option '${k}', which ${kind} does not have (a state of another optimizer?)`);
      }
      const opts = { ...mine.options, ...Object.fromEntries(Object.entries(g).filter(([k]) => k !== 'params')) } as H;
      checkNumber(kind, 'lr', opts.lr, { min: 0 });
      this.checkOptions(opts);
    });
    for (const [key, s] of Object.entries(sd.state)) {
      const i = Number(key);
      const p = params[i];
      if (!Number.isInteger(i) || !p) throw new EngramError(`${kind}.loadStateDict: state for parameter index ${key}, but this optimizer has ${params.length} parameters`);
      for (const [name, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          if (v.disposed) throw new EngramError(`${kind}.loadStateDict: state '${name}' of parameter ${i} was disposed`);
          if (!sameShape(v.shape, p.shape) && v.size !== 1) throw new EngramError(`${kind}.loadStateDict: state '${name}' of parameter ${i} has shape ${shapeStr(v.shape)}, the parameter ${shapeStr(p.shape)}`);
        } else if (typeof v !== 'number') throw new EngramError(`${kind}.loadStateDict: state '${name}' of parameter ${i} must be a Tensor or a number, got ${show(v)}`);
      }
    }
    sd.param_groups.forEach((g, gi) => {
      const mine = this.groups[gi]!;
      for (const [k, v] of Object.entries(g)) if (k !== 'params') (mine.options as Record<string, unknown>)[k] = structuredClone(v);
    });
    for (const p of params) this.clearState(p);
    for (const [key, s] of Object.entries(sd.state)) this.importState(params[Number(key)]!, s);
  }

  /** This parameter's state under PyTorch's names (the live tensors; `stateDict` copies them), or undefined before its first update. */
  protected abstract exportState(p: Tensor): ParamState | undefined;

  /** Replace this parameter's state by copies of `s` (validated by `loadStateDict`). */
  protected abstract importState(p: Tensor, s: ParamState): void;

  /** Drop this parameter's state (freeing its tensors), as if it had never been updated. */
  protected abstract clearState(p: Tensor): void;

  /**
   * Update parameter `p` in place from its gradient `grad` with its group's hyperparameters `h` (records GPU
   * work only).
   */
  protected abstract update(p: Tensor, grad: Tensor, h: H): void;

  /** Validate one group's hyperparameters (lr is checked already); throws naming the option and value. */
  protected abstract checkOptions(h: H): void;
}
