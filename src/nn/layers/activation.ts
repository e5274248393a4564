// Parameter-free layers: ReLU, ReLU6, GELU, SiLU, LeakyReLU, ELU, Softplus, Hardswish, Flatten, Identity.

import { relu, gelu, silu, leakyRelu, elu, softplus, hardswish, clamp, checkGeluApproximate } from '../../engine/ops/elementwise.js';
import { flatten } from '../../engine/ops/shape-ops.js';
import type { Tensor } from '../../engine/tensor.js';
import { Module } from '../module.js';
import { checkInt, checkNumber } from '../../engine/validate.js';

/**
 * Elementwise max(x, 0), as torch.nn.ReLU; a ReLU after Conv2d, Linear or batch norm in a `Sequential` runs
 * inside that layer's kernel.
 */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/**
 * min(max(x, 0), 6), as torch.nn.ReLU6 (MobileNet's activation): a ReLU, then a clamp at 6. The gradient is
 * PyTorch's except at exactly x = 6, where PyTorch's is 0 and this one passes the gradient (the clamp's rule).
 */
export class ReLU6 extends Module {
  forward(x: Tensor): Tensor {
    return clamp(relu(x), undefined, 6);
  }
}

/** Gaussian error linear unit, as torch.nn.GELU: exact (erf) by default, or `{ approximate: 'tanh' }`. */
export class GELU extends Module {
  /** 'none' (exact) or 'tanh'. */
  readonly approximate: 'none' | 'tanh';

  /** @param options.approximate 'none' (default, exact) or 'tanh' (PyTorch's tanh approximation). */
  constructor(options: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.approximate = checkGeluApproximate('GELU', options.approximate ?? 'none');
  }

  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
}

/** x σ(x) (swish), as torch.nn.SiLU. */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** x where x > 0, else negativeSlope · x, as torch.nn.LeakyReLU. */
export class LeakyReLU extends Module {
  /** @param negativeSlope The slope for x <= 0 (default 0.01, a finite number). */
  constructor(readonly negativeSlope = 0.01) {
    super();
    checkNumber('LeakyReLU', 'negativeSlope', negativeSlope);
  }

  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
}

/** x where x > 0, else alpha (e^x - 1), as torch.nn.ELU. */
export class ELU extends Module {
  /** @param alpha The scale of the negative part (default 1, a finite number). */
  constructor(readonly alpha = 1) {
    super();
    checkNumber('ELU', 'alpha', alpha);
  }

  forward(x: Tensor): Tensor {
    return elu(x, this.alpha);
  }
}

/** log(1 + e^(beta x)) / beta, linear (x) where beta x > threshold, as torch.nn.Softplus. */
export class Softplus extends Module {
  /**
   * @param beta Sharpness (default 1, > 0).
   * @param threshold Above this value of beta x the output is x (default 20).
   */
  constructor(readonly beta = 1, readonly threshold = 20) {
    super();
    checkNumber('Softplus', 'beta', beta, { min: 0, minInclusive: false });
    checkNumber('Softplus', 'threshold', threshold);
  }

  forward(x: Tensor): Tensor {
    return softplus(x, this.beta, this.threshold);
  }
}

/** x · relu6(x + 3) / 6, as torch.nn.Hardswish. */
export class Hardswish extends Module {
  forward(x: Tensor): Tensor {
    return hardswish(x);
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
