// Conv2d layer over NCHW input; weight [out, in, kh, kw] as torch.nn.Conv2d (groups = 1).

import { conv2d } from '../../engine/ops/conv.js';
import type { Size2 } from '../../engine/ops/pool.js';
import type { Tensor } from '../../engine/tensor.js';
import type { Generator } from '../../engine/random.js';
import { Module } from '../module.js';
import { defaultUniform } from '../init.js';
import { checkInt, checkPair, checkBoolean } from '../../engine/validate.js';

/** A size per axis (height, width), or one number for both. */
type Pair = Size2;

/** Options of the `Conv2d` layer, as torch.nn.Conv2d (no groups). */
export interface Conv2dLayerOptions {
  /** Step between output pixels, per axis (default 1). */
  stride?: Pair;
  /** Zeros added on each side, per axis (default 0). */
  padding?: Pair;
  /** Spacing between kernel taps, per axis (default 1). */
  dilation?: Pair;
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default: the global generator). */
  generator?: Generator;
}

/**
 * 2-D convolution over NCHW input, as torch.nn.Conv2d (groups = 1): weight [outChannels, inChannels, kh, kw]
 * and bias [outChannels], initialized as PyTorch does (U(-1/sqrt(fanIn), 1/sqrt(fanIn))).
 */
export class Conv2d extends Module {
  /** Kernel weights, [outChannels, inChannels, kh, kw]. */
  readonly weight: Tensor;
  /** Bias, [outChannels], or null when created with `bias: false`. */
  readonly bias: Tensor | null;
  /** Kernel size [kh, kw]. */
  readonly kernelSize: [number, number];
  /** Stride [sh, sw]. */
  readonly stride: [number, number];
  /** Padding [ph, pw]. */
  readonly padding: [number, number];
  /** Dilation [dh, dw]. */
  readonly dilation: [number, number];

  /**
   * @param inChannels Channels of the input (dimension 1).
   * @param outChannels Channels of the output.
   * @param kernelSize Kernel size: one number for both axes, or [kh, kw].
   * @param opts Stride, padding, dilation, bias and the generator for initialization.
   */
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, opts: Conv2dLayerOptions = {}) {
    super();
    // Checked here, at construction: a bad size would otherwise surface as a shape error deep in
    // the first forward (or, for 0, as a NaN-sized buffer).
    checkInt('Conv2d', 'inChannels', inChannels, 1);
    checkInt('Conv2d', 'outChannels', outChannels, 1);
    this.kernelSize = checkPair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = checkPair('Conv2d', 'stride', opts.stride ?? 1, 1);
    this.padding = checkPair('Conv2d', 'padding', opts.padding ?? 0, 0);
    this.dilation = checkPair('Conv2d', 'dilation', opts.dilation ?? 1, 1);
    if (opts.bias !== undefined) checkBoolean('Conv2d', 'bias', opts.bias);
    const fanIn = inChannels * this.kernelSize[0] * this.kernelSize[1];
    this.weight = this.registerParameter('weight', defaultUniform([outChannels, inChannels, ...this.kernelSize], fanIn, opts.generator));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', defaultUniform([outChannels], fanIn, opts.generator));
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation });
  }

  /** relu(forward(x)) with the ReLU in the convolution's epilogue (see Sequential). */
  forwardRelu(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, relu: true });
  }

  /**
   * The forward that `forwardRelu` fuses with a ReLU (`Sequential` fuses only while `forward` is this one,
   * not a subclass override).
   */
  readonly fusedForward = Conv2d.prototype.forward;

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel=${this.kernelSize.join('x')}, stride=${this.stride.join(',')}, padding=${this.padding.join(',')}`;
  }
}
