// Convolution layers as torch.nn's: Conv2d (weight [out, in/groups, kh, kw]), ConvTranspose2d
// (weight [in, out/groups, kh, kw]) and Conv1d (weight [out, in/groups, k]), NCHW / NCL input.

import { conv2d, convTranspose2d, conv1d } from '../../engine/ops/conv.js';
import type { Size2 } from '../../engine/ops/pool.js';
import type { Tensor } from '../../engine/tensor.js';
import type { Generator } from '../../engine/random.js';
import { Module } from '../module.js';
import { defaultUniform } from '../init.js';
import { checkInt, checkPair, checkBoolean } from '../../engine/validate.js';
import { EngramError } from '../../engine/runtime.js';

/** A size per axis (height, width), or one number for both. */
type Pair = Size2;

/** Options of the `Conv2d` layer, as torch.nn.Conv2d. */
export interface Conv2dLayerOptions {
  /** Step between output pixels, per axis (default 1). */
  stride?: Pair;
  /** Zeros added on each side, per axis (default 0). */
  padding?: Pair;
  /** Spacing between kernel taps, per axis (default 1). */
  dilation?: Pair;
  /** Channel groups (default 1); inChannels for a depthwise convolution. Must divide both channel counts. */
  groups?: number;
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default: the global generator). */
  generator?: Generator;
}

/**
 * 2-D convolution over NCHW input, as torch.nn.Conv2d: weight [outChannels, inChannels/groups, kh, kw]
 * and bias [outChannels], initialized as PyTorch does (U(-1/sqrt(fanIn), 1/sqrt(fanIn)), fanIn =
 * inChannels/groups * kh * kw).
 */
export class Conv2d extends Module {
  /** Kernel weights, [outChannels, inChannels/groups, kh, kw]. */
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
  /** Channel groups (1: dense; inChannels: depthwise). */
  readonly groups: number;

  /**
   * @param inChannels Channels of the input (dimension 1).
   * @param outChannels Channels of the output.
   * @param kernelSize Kernel size: one number for both axes, or [kh, kw].
   * @param opts Stride, padding, dilation, groups, bias and the generator for initialization.
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
    this.groups = checkGroups('Conv2d', opts.groups, inChannels, outChannels);
    const fanIn = (inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
    this.weight = this.registerParameter('weight', defaultUniform([outChannels, inChannels / this.groups, ...this.kernelSize], fanIn, opts.generator));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', defaultUniform([outChannels], fanIn, opts.generator));
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  /** relu(forward(x)) with the ReLU in the convolution's epilogue (see Sequential). */
  forwardRelu(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups, relu: true });
  }

  /**
   * The forward that `forwardRelu` fuses with a ReLU (`Sequential` fuses only while `forward` is this one,
   * not a subclass override).
   */
  readonly fusedForward = Conv2d.prototype.forward;

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel=${this.kernelSize.join('x')}, stride=${this.stride.join(',')}, padding=${this.padding.join(',')}${this.groups > 1 ? `, groups=${this.groups}` : ''}`;
  }
}

function checkGroups(layer: string, groups: number | undefined, inChannels: number, outChannels: number): number {
  const g = groups ?? 1;
  checkInt(layer, 'groups', g, 1);
  if (inChannels % g !== 0 || outChannels % g !== 0) {
    throw new EngramError(`${layer}: groups ${g} must divide inChannels (${inChannels}) and outChannels (${outChannels})`);
  }
  return g;
}

/** Options of the `ConvTranspose2d` layer, as torch.nn.ConvTranspose2d. */
export interface ConvTranspose2dLayerOptions extends Conv2dLayerOptions {
  /** Extra rows/columns on one side of the output, per axis (default 0; less than stride or dilation). */
  outputPadding?: Pair;
}

/**
 * 2-D transposed convolution over NCHW input, as torch.nn.ConvTranspose2d: weight
 * [inChannels, outChannels/groups, kh, kw] and bias [outChannels], initialized as PyTorch does
 * (U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with fanIn = outChannels/groups * kh * kw, PyTorch's fan-in of
 * that weight layout).
 */
export class ConvTranspose2d extends Module {
  /** Kernel weights, [inChannels, outChannels/groups, kh, kw]. */
  readonly weight: Tensor;
  /** Bias, [outChannels], or null when created with `bias: false`. */
  readonly bias: Tensor | null;
  /** Kernel size [kh, kw]. */
  readonly kernelSize: [number, number];
  /** Stride [sh, sw]. */
  readonly stride: [number, number];
  /** Padding [ph, pw]. */
  readonly padding: [number, number];
  /** Output padding [oph, opw]. */
  readonly outputPadding: [number, number];
  /** Dilation [dh, dw]. */
  readonly dilation: [number, number];
  /** Channel groups. */
  readonly groups: number;

  /**
   * @param inChannels Channels of the input (dimension 1).
   * @param outChannels Channels of the output.
   * @param kernelSize Kernel size: one number for both axes, or [kh, kw].
   * @param opts Stride, padding, outputPadding, dilation, groups, bias and the generator for initialization.
   */
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, opts: ConvTranspose2dLayerOptions = {}) {
    super();
    const L = 'ConvTranspose2d';
    checkInt(L, 'inChannels', inChannels, 1);
    checkInt(L, 'outChannels', outChannels, 1);
    this.kernelSize = checkPair(L, 'kernelSize', kernelSize, 1);
    this.stride = checkPair(L, 'stride', opts.stride ?? 1, 1);
    this.padding = checkPair(L, 'padding', opts.padding ?? 0, 0);
    this.outputPadding = checkPair(L, 'outputPadding', opts.outputPadding ?? 0, 0);
    this.dilation = checkPair(L, 'dilation', opts.dilation ?? 1, 1);
    if (opts.bias !== undefined) checkBoolean(L, 'bias', opts.bias);
    this.groups = checkGroups(L, opts.groups, inChannels, outChannels);
    const fanIn = (outChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
    this.weight = this.registerParameter('weight', defaultUniform([inChannels, outChannels / this.groups, ...this.kernelSize], fanIn, opts.generator));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', defaultUniform([outChannels], fanIn, opts.generator));
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, dilation: this.dilation, groups: this.groups,
    });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel=${this.kernelSize.join('x')}, stride=${this.stride.join(',')}, padding=${this.padding.join(',')}${this.groups > 1 ? `, groups=${this.groups}` : ''}`;
  }
}

/** Options of the `Conv1d` layer, as torch.nn.Conv1d (one number per option). */
export interface Conv1dLayerOptions {
  /** Step between output positions (default 1). */
  stride?: number;
  /** Zeros added on each side (default 0). */
  padding?: number;
  /** Spacing between kernel taps (default 1). */
  dilation?: number;
  /** Channel groups (default 1); inChannels for a depthwise convolution. */
  groups?: number;
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default: the global generator). */
  generator?: Generator;
}

/**
 * 1-D convolution over [N, C, L] input, as torch.nn.Conv1d: weight [outChannels, inChannels/groups, k]
 * and bias [outChannels], initialized as PyTorch does (fanIn = inChannels/groups * k).
 */
export class Conv1d extends Module {
  /** Kernel weights, [outChannels, inChannels/groups, k]. */
  readonly weight: Tensor;
  /** Bias, [outChannels], or null when created with `bias: false`. */
  readonly bias: Tensor | null;
  /** Options as resolved: stride, padding, dilation, groups. */
  readonly stride: number;
  /** Zeros added on each side. */
  readonly padding: number;
  /** Spacing between kernel taps. */
  readonly dilation: number;
  /** Channel groups. */
  readonly groups: number;

  /**
   * @param inChannels Channels of the input (dimension 1).
   * @param outChannels Channels of the output.
   * @param kernelSize Kernel length.
   * @param opts Stride, padding, dilation, groups, bias and the generator for initialization.
   */
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, opts: Conv1dLayerOptions = {}) {
    super();
    const L = 'Conv1d';
    checkInt(L, 'inChannels', inChannels, 1);
    checkInt(L, 'outChannels', outChannels, 1);
    checkInt(L, 'kernelSize', kernelSize, 1);
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    checkInt(L, 'stride', this.stride, 1);
    checkInt(L, 'padding', this.padding, 0);
    checkInt(L, 'dilation', this.dilation, 1);
    if (opts.bias !== undefined) checkBoolean(L, 'bias', opts.bias);
    this.groups = checkGroups(L, opts.groups, inChannels, outChannels);
    const fanIn = (inChannels / this.groups) * kernelSize;
    this.weight = this.registerParameter('weight', defaultUniform([outChannels, inChannels / this.groups, kernelSize], fanIn, opts.generator));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', defaultUniform([outChannels], fanIn, opts.generator));
  }

  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel=${this.kernelSize}, stride=${this.stride}, padding=${this.padding}${this.groups > 1 ? `, groups=${this.groups}` : ''}`;
  }
}
