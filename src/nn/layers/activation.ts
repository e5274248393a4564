// Parameter-free layers: ReLU, Flatten, Identity.

import { relu } from '../../engine/ops/elementwise.js';
import { flatten } from '../../engine/ops/shape-ops.js';
import type { Tensor } from '../../engine/tensor.js';
import { Module } from '../module.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** Flatten dimensions startDim..endDim (default: all but the batch dimension), as torch.nn.Flatten. */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }

  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
