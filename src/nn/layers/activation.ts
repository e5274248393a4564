// Parameter-free layers: ReLU, Flatten, Identity.

import { relu } from '../../engine/ops/elementwise.js';
import { flatten } from '../../engine/ops/shape-ops.js';
import type { Tensor } from '../../engine/tensor.js';
import { Module } from '../module.js';
import { checkInt } from '../../engine/validate.js';

/**
 * Elementwise max(x, 0), as torch.nn.ReLU; a ReLU after Conv2d, Linear or batch norm in a `Sequential` runs
 * inside that layer's kernel.
 */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** Flatten dimensions startDim..endDim (default: all but the batch dimension), as torch.nn.Flatten. */
export class Flatten extends Module {
  /**
   * @param startDim First dimension to flatten (default 1, keeping the batch dimension).
   * @param endDim Last dimension to flatten, negative counting from the end (default -1).
   */
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    // Any integer may be valid (negative dims count from the end); the rank is known per call.
    checkInt('Flatten', 'startDim', startDim, -Infinity);
    checkInt('Flatten', 'endDim', endDim, -Infinity);
  }

  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}

/** Returns its input unchanged, as torch.nn.Identity. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
