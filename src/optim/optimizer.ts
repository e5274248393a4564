// Base class for optimizers: parameter groups with their own hyperparameters, PyTorch-style.
// Parameters without a gradient (frozen, or unused in this step) are skipped.

import { EngramError } from '../engine/runtime.js';
import { checkNumber, show } from '../engine/validate.js';
import type { Tensor } from '../engine/tensor.js';

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
    for (const group of this.groups) {
      for (const p of group.params) {
        if (!p.requiresGrad || !p.grad) continue;
        this.update(p, p.grad, group.options);
      }
    }
  }

  /** Drop gradients (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Free optimizer state (momentum buffers, moments). */
  abstract dispose(): void;

  /**
   * Update parameter `p` in place from its gradient `grad` with its group's hyperparameters `h` (records GPU
   * work only).
   */
  protected abstract update(p: Tensor, grad: Tensor, h: H): void;

  /** Validate one group's hyperparameters (lr is checked already); throws naming the option and value. */
  protected abstract checkOptions(h: H): void;
}
