// Dropout: zeroes each element with probability p during training (scaling the rest by 1/(1-p));
// the identity in evaluation mode. The mask is drawn on the GPU from a seeded counter-based RNG.

import { checkProbability } from '../../engine/validate.js';
import { dropout } from '../../engine/ops/dropout.js';
import type { Tensor } from '../../engine/tensor.js';
import { Module } from '../module.js';

/**
 * Zeroes each element with probability p during training and scales the rest by 1/(1-p), as torch.nn.Dropout;
 * the identity in evaluation mode. The mask comes from a seeded RNG on the GPU.
 */
export class Dropout extends Module {
  /** @param p Probability of zeroing an element, in [0, 1] (default 0.5). */
  constructor(readonly p = 0.5) {
    super();
    checkProbability('Dropout', 'p', p);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
