// Optimizer and schedule factories for a strategy's `makeOptimizer` / `lrSchedule` options, so a
// preset can say "Adam 1e-3 with StepLR(step 7, gamma 0.5) per epoch" in two lines:
//   new Naive({ model, lr: 1e-3, makeOptimizer: adamOptimizer(), lrSchedule: stepLRPerEpoch(7, 0.5) })
// The schedule is built at the start of each task and restarts there from the optimizer's base lr
// (the lr the optimizer was built with), as a fresh torch StepLR in a per-task training script.

import { EngramError } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import { Adam, type AdamOptions } from '../../optim/adam.js';
import { StepLR } from '../../optim/lr-scheduler.js';
import type { Optimizer, LrOptions } from '../../optim/optimizer.js';
import type { StrategyOptimizer } from './common.js';

/** A `makeOptimizer` building torch.optim.Adam over the trainable parameters, at the strategy's lr (other options as given). */
export function adamOptimizer(opts: Partial<Omit<AdamOptions, 'lr'>> = {}): (params: Tensor[], lr: number) => Adam {
  return (params, lr) => new Adam(params, { ...opts, lr });
}

/**
 * An `lrSchedule`: torch's StepLR(step_size = stepSize, gamma) stepped once per epoch, built at the start of
 * each task with every group's lr reset to its base (so each task's lr sequence is base * gamma^floor(e / stepSize)).
 */
export function stepLRPerEpoch(stepSize: number, gamma = 0.1): (optimizer: StrategyOptimizer) => StepLR {
  return (optimizer) => {
    const groups = (optimizer as Partial<Optimizer<LrOptions>>).groups;
    if (!Array.isArray(groups)) throw new EngramError('stepLRPerEpoch: the strategy\'s optimizer must be an engram Optimizer with parameter groups (SGD, Adam, ...)');
    const s = new StepLR(optimizer as Optimizer<LrOptions>, stepSize, gamma);
    groups.forEach((g, i) => (g.options.lr = s.baseLrs[i]!));
    return s;
  };
}
