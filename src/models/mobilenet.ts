// MobileNetV2 (Sandler et al. 2018) with torchvision's module layout, sized by a block table:
//   features.0          stem: conv3x3 (stride `stemStride`, default 2 as torchvision), BN, ReLU6
//   features.1 .. n     InvertedResidual blocks; each one's `conv` Sequential is
//                         [0: 1x1 expand conv, BN, ReLU6 (a Sequential; absent when t = 1)]
//                          next: 3x3 depthwise conv (groups = hidden channels), BN, ReLU6 (a Sequential)
//                          next: 1x1 linear projection conv, then BN (no activation: the "linear bottleneck")
//                        plus the input when the stride is 1 and the widths agree
//   features.n+1        1x1 conv to `lastChannel`, BN, ReLU6
//   global average pool -> features() (lastChannel-d), dropout, classifier (Linear).
// Convolutions have no bias. state_dict keys are torchvision's (features.1.conv.0.0.weight, ...), except
// that torchvision's classifier Sequential(Dropout, Linear) keys classifier.1.* are classifier.* here.

import type { Tensor } from '../engine/tensor.js';
import { add, clamp } from '../engine/ops/elementwise.js';
import { mean } from '../engine/ops/reduce.js';
import { EngramError } from '../engine/runtime.js';
import { checkInt, checkNumber, checkProbability } from '../engine/validate.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { BatchNorm2d } from '../nn/layers/norm.js';
import { ReLU6 } from '../nn/layers/activation.js';
import { Linear } from '../nn/layers/linear.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Classifier } from './classifier.js';

/**
 * Conv2d (no bias), BatchNorm2d, ReLU6 as a Sequential (children 0, 1, 2: torchvision's Conv2dNormActivation).
 * The forward runs the ReLU inside the batch norm's kernel and then clamps at 6.
 */
export class ConvBNReLU6 extends Sequential {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm2d;

  /**
   * @param inChannels Input channels.
   * @param outChannels Output channels.
   * @param kernelSize Square kernel size (padding (kernelSize - 1) / 2 keeps the size at stride 1).
   * @param stride Stride (default 1).
   * @param groups Channel groups (default 1; inChannels for a depthwise convolution).
   */
  constructor(inChannels: number, outChannels: number, kernelSize: number, stride = 1, groups = 1) {
    const conv = new Conv2d(inChannels, outChannels, kernelSize, { stride, padding: (kernelSize - 1) >> 1, groups, bias: false });
    const bn = new BatchNorm2d(outChannels);
    super(conv, bn, new ReLU6());
    this.conv = conv;
    this.bn = bn;
  }

  override forward(x: Tensor): Tensor {
    return clamp(this.bn.forwardRelu(this.conv.forward(x)), undefined, 6);
  }
}

/**
 * MobileNetV2's inverted residual block: 1x1 expansion to `inChannels * expandRatio` channels (skipped when
 * the ratio is 1), 3x3 depthwise convolution with the block's stride, 1x1 linear projection, each followed by
 * batch norm (ReLU6 after the first two); the input is added when the stride is 1 and the widths agree.
 * Child `conv` is the Sequential of these layers, as torchvision's InvertedResidual.
 */
export class InvertedResidual extends Module {
  /** The block's layers (torchvision numbering: [expand], depthwise, projection conv, BN). */
  readonly conv: Sequential;
  /** Whether the input is added to the output (stride 1 and inChannels = outChannels). */
  readonly useResidual: boolean;

  /**
   * @param inChannels Input channels.
   * @param outChannels Output channels.
   * @param stride Stride of the depthwise convolution (1 or 2).
   * @param expandRatio Hidden width as a multiple of inChannels (the paper's t; 1 skips the expansion).
   */
  constructor(readonly inChannels: number, readonly outChannels: number, readonly stride: number, readonly expandRatio: number) {
    super();
    checkInt('InvertedResidual', 'inChannels', inChannels, 1);
    checkInt('InvertedResidual', 'outChannels', outChannels, 1);
    if (stride !== 1 && stride !== 2) throw new EngramError(`InvertedResidual: stride must be 1 or 2, got ${stride}`);
    checkInt('InvertedResidual', 'expandRatio', expandRatio, 1);
    const hidden = inChannels * expandRatio;
    this.useResidual = stride === 1 && inChannels === outChannels;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(new ConvBNReLU6(inChannels, hidden, 1));
    layers.push(
      new ConvBNReLU6(hidden, hidden, 3, stride, hidden),
      new Conv2d(hidden, outChannels, 1, { bias: false }),
      new BatchNorm2d(outChannels),
    );
    this.conv = this.registerModule('conv', new Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    const y = this.conv.forward(x);
    return this.useResidual ? add(x, y) : y;
  }

  override extraRepr(): string {
    return `${this.inChannels} -> ${this.outChannels}, stride=${this.stride}, t=${this.expandRatio}${this.useResidual ? ', residual' : ''}`;
  }
}

/** One row of MobileNetV2's block table: `n` inverted residual blocks of expansion `t` and width `c`, the first with stride `s`. */
export interface MobileNetV2Stage {
  /** Expansion ratio of the blocks (the paper's t). */
  t: number;
  /** Output channels of the blocks (the paper's c, before widthMult). */
  c: number;
  /** Number of blocks (the paper's n). */
  n: number;
  /** Stride of the first block; the others have stride 1 (the paper's s). */
  s: number;
}

/** Options of {@link MobileNetV2}. */
export interface MobileNetV2Options {
  /** Number of classes (default 10). */
  numClasses?: number;
  /** Input channels (default 1: Fashion-MNIST / MNIST). */
  inChannels?: number;
  /** Scales every width (stem, blocks, last conv when above 1), rounded to a multiple of 8 as torchvision (default 1). */
  widthMult?: number;
  /** The block table (default {@link MOBILENET_V2_SMALL}, sized for 28x28 input; torchvision's is {@link MOBILENET_V2_IMAGENET}). */
  stages?: readonly MobileNetV2Stage[];
  /** Stem output channels before widthMult (default 16; torchvision 32). */
  stemChannels?: number;
  /** Stride of the stem convolution (default 2, as torchvision: 28x28 input becomes 14x14). */
  stemStride?: number;
  /** Channels of the last 1x1 convolution, i.e. featureDim, before widthMult (default 128; torchvision 1280). */
  lastChannel?: number;
  /** Dropout before the classifier in training (default 0.2, as torchvision). */
  dropout?: number;
}

/** torchvision's ImageNet block table ([t, c, n, s] rows of the paper's Table 2). */
export const MOBILENET_V2_IMAGENET: readonly MobileNetV2Stage[] = [
  { t: 1, c: 16, n: 1, s: 1 }, { t: 6, c: 24, n: 2, s: 2 }, { t: 6, c: 32, n: 3, s: 2 }, { t: 6, c: 64, n: 4, s: 2 },
  { t: 6, c: 96, n: 3, s: 1 }, { t: 6, c: 160, n: 3, s: 2 }, { t: 6, c: 320, n: 1, s: 1 },
];

/**
 * A small block table for 28x28 input after the stride-2 stem: 14 -> 7 -> 4 pixels, widths 16 to 64, expansion 4
 * (six blocks instead of torchvision's seventeen, so that an epoch of Fashion-MNIST fits a software GPU).
 */
export const MOBILENET_V2_SMALL: readonly MobileNetV2Stage[] = [
  { t: 1, c: 16, n: 1, s: 1 }, { t: 4, c: 24, n: 2, s: 2 }, { t: 4, c: 32, n: 2, s: 2 }, { t: 4, c: 64, n: 1, s: 1 },
];

/** torchvision's _make_divisible: round to the nearest multiple of `divisor`, never below 90% of v. */
function makeDivisible(v: number, divisor = 8): number {
  let r = Math.max(divisor, Math.floor(v + divisor / 2) - (Math.floor(v + divisor / 2) % divisor));
  if (r < 0.9 * v) r += divisor;
  return r;
}

/**
 * MobileNetV2 (inverted residuals with linear bottlenecks, depthwise convolutions, ReLU6) in torchvision's
 * layout: child `features` (stem, blocks, last 1x1 conv) and `classifier`; `features()` is the global average
 * pool of the last conv, [N, lastChannel]. The default configuration ({@link MOBILENET_V2_SMALL}, stride-2
 * stem of 16 channels, 128 last channels, 50,410 parameters) is sized for 28x28 single-channel images; torchvision's ImageNet
 * network is `{ inChannels: 3, stages: MOBILENET_V2_IMAGENET, stemChannels: 32, stemStride: 2, lastChannel: 1280 }`.
 * Batch norm is initialized to weight 1 / bias 0 and convolutions and the classifier as PyTorch's defaults
 * (not torchvision's kaiming-normal / N(0, 0.01) initialization).
 */
export class MobileNetV2 extends Classifier {
  /** Stem, inverted residual blocks and last conv (child 'features', torchvision numbering). */
  readonly body: Sequential;
  /** Dropout before the classifier (no parameters; not in the state_dict). */
  readonly dropout: Dropout;

  /** @param opts numClasses, inChannels, widthMult, stages, stemChannels, stemStride, lastChannel, dropout. */
  constructor(opts: MobileNetV2Options = {}) {
    super();
    const op = 'MobileNetV2';
    const numClasses = checkInt(op, 'numClasses', opts.numClasses ?? 10, 1);
    const inChannels = checkInt(op, 'inChannels', opts.inChannels ?? 1, 1);
    const widthMult = checkNumber(op, 'widthMult', opts.widthMult ?? 1, { min: 0, minInclusive: false });
    const stemStride = checkInt(op, 'stemStride', opts.stemStride ?? 2, 1);
    const stages = opts.stages ?? MOBILENET_V2_SMALL;
    if (!Array.isArray(stages) || stages.length === 0) throw new EngramError(`${op}: stages must be a non-empty array of { t, c, n, s } rows`);
    stages.forEach((st, i) => {
      for (const k of ['t', 'c', 'n', 's'] as const) checkInt(op, `stages[${i}].${k}`, st[k], 1);
    });
    let input = makeDivisible(checkInt(op, 'stemChannels', opts.stemChannels ?? 16, 1) * widthMult);
    const lastRaw = checkInt(op, 'lastChannel', opts.lastChannel ?? 128, 1);
    const last = makeDivisible(lastRaw * Math.max(1, widthMult));
    const layers: Module[] = [new ConvBNReLU6(inChannels, input, 3, stemStride)];
    for (const { t, c, n, s } of stages) {
      const out = makeDivisible(c * widthMult);
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidual(input, out, i === 0 ? s : 1, t));
        input = out;
      }
    }
    layers.push(new ConvBNReLU6(input, last, 1));
    this.body = this.registerModule('features', new Sequential(...layers));
    this.dropout = this.registerModule('dropout', new Dropout(checkProbability(op, 'dropout', opts.dropout ?? 0.2)));
    this.registerModule('classifier', new Linear(last, numClasses));
  }

  /** Global average pool of the last conv's output, [N, featureDim]. */
  features(x: Tensor): Tensor {
    if (x.rank !== 4) throw new EngramError(`MobileNetV2: input must be [N, C, H, W], got rank ${x.rank}`);
    return mean(this.body.forward(x), [2, 3]);
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.forward(this.dropout.forward(this.features(x)));
  }
}
