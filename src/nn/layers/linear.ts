// Linear (fully connected) layer: y = x W^T + b, with W stored [out, in] like torch.nn.Linear.
// forwardRelu applies a following ReLU inside the matmul kernel (see Sequential).

import { linear } from '../../engine/ops/matmul.js';
import type { Tensor } from '../../engine/tensor.js';
import type { Generator } from '../../engine/random.js';
import { Module } from '../module.js';
import { defaultUniform } from '../init.js';
import { checkInt, checkBoolean } from '../../engine/validate.js';

/**
 * Fully connected layer, as torch.nn.Linear: [..., inFeatures] -> [..., outFeatures] = x W^T + b, with W
 * [outFeatures, inFeatures] and b initialized as PyTorch does (U(-1/sqrt(inFeatures), 1/sqrt(inFeatures))).
 */
export class Linear extends Module {
  /** Weight, [outFeatures, inFeatures]. */
  readonly weight: Tensor;
  /** Bias, [outFeatures], or null when created with `bias: false`. */
  readonly bias: Tensor | null;

  /**
   * @param inFeatures Size of the input's last dimension.
   * @param outFeatures Size of the output's last dimension.
   * @param opts `bias: false` for no bias; `generator` for the initial weights (default: the global
   * generator).
   */
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; generator?: Generator } = {}) {
    super();
    checkInt('Linear', 'inFeatures', inFeatures, 1);
    checkInt('Linear', 'outFeatures', outFeatures, 1);
    if (opts.bias !== undefined) checkBoolean('Linear', 'bias', opts.bias);
    this.weight = this.registerParameter('weight', defaultUniform([outFeatures, inFeatures], inFeatures, opts.generator));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', defaultUniform([outFeatures], inFeatures, opts.generator));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  /** relu(forward(x)) with the ReLU in the matmul's epilogue (Sequential uses it for "Linear, ReLU"). */
  forwardRelu(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias, { relu: true });
  }

  /**
   * The forward that `forwardRelu` fuses with a ReLU (`Sequential` fuses only while `forward` is this one,
   * not a subclass override).
   */
  readonly fusedForward = Linear.prototype.forward;

  override extraRepr(): string {
    return `in=${this.inFeatures}, out=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
