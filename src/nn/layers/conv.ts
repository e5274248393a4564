// Conv2d layer over NCHW input; weight [out, in, kh, kw] as torch.nn.Conv2d (groups = 1).

import { EngramError } from '../../engine/runtime.js';
import { conv2d } from '../../engine/ops/conv.js';
import type { Tensor } from '../../engine/tensor.js';
import type { Generator } from '../../engine/random.js';
import { Module } from '../module.js';
import { defaultUniform } from '../init.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface Conv2dLayerOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  bias?: boolean;
  generator?: Generator;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, opts: Conv2dLayerOptions = {}) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    if (!(inChannels > 0 && outChannels > 0)) throw new EngramError(`Conv2d: channel counts must be positive, got ${inChannels} -> ${outChannels}`);
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

  readonly fusedForward = Conv2d.prototype.forward;

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel=${this.kernelSize.join('x')}, stride=${this.stride.join(',')}, padding=${this.padding.join(',')}`;
  }
}
