// Learning-rate schedules that rewrite each parameter group's lr, like torch.optim.lr_scheduler.

import { EngramError } from '../engine/runtime.js';
import type { Optimizer } from './optimizer.js';
import { checkNumber } from '../engine/validate.js';

/** Multiply every group's lr by `gamma` every `stepSize` calls of `step()` (call once per epoch). */
export class StepLR {
  private readonly baseLrs: number[];
  /** Number of `step()` calls (epochs) so far. */
  lastEpoch = 0;

  /**
   * @param optimizer The optimizer whose groups' lr this schedule rewrites; their current lr is the base.
   * @param stepSize Epochs between two decays (a positive integer).
   * @param gamma Factor applied to the lr at each decay (default 0.1).
   */
  constructor(private readonly optimizer: Optimizer<{ lr: number }>, readonly stepSize: number, readonly gamma = 0.1) {
    if (!Number.isInteger(stepSize) || stepSize < 1) throw new EngramError(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
    // A negative or NaN gamma would make lr negative or NaN at the first decay, epochs into training.
    checkNumber('StepLR', 'gamma', gamma, { min: 0 });
    this.baseLrs = optimizer.groups.map((g) => g.options.lr);
  }

  /** End one epoch: set each group's lr to its base lr times gamma^floor(epochs / stepSize). */
  step(): void {
    this.lastEpoch++;
    const factor = this.gamma ** Math.floor(this.lastEpoch / this.stepSize);
    this.optimizer.groups.forEach((g, i) => (g.options.lr = this.baseLrs[i]! * factor));
  }

  /** Current learning rate of each group. */
  getLastLr(): number[] {
    return this.optimizer.groups.map((g) => g.options.lr);
  }
}
