// Reduced ResNet-18 as used in online continual learning (GEM, ER, SCR, ...): BasicBlocks [2, 2, 2, 2]
// with widths 20/40/80/160 (nf = 20), 3x3 stem without max-pooling, 4x4 average pooling, 160-d
// features for 32x32 input. Convolutions have no bias; every conv is followed by batch norm.
// state_dict keys follow the reference implementation: conv1, bn1, layer{1-4}.{0,1}.{conv1,bn1,conv2,bn2,
// shortcut.0 (1x1 conv), shortcut.1 (bn)}, classifier.

import type { Tensor } from '../engine/tensor.js';
import { add, relu } from '../engine/ops/elementwise.js';
import { flatten } from '../engine/ops/shape-ops.js';
import { avgPool2d } from '../engine/ops/pool.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { BatchNorm2d } from '../nn/layers/norm.js';
import { Linear } from '../nn/layers/linear.js';
import { Classifier } from './classifier.js';

/**
 * ResNet basic block: conv3x3, BN, ReLU, conv3x3, BN, plus a shortcut (a 1x1 conv and BN when the stride or
 * width changes), then ReLU. Convolutions have no bias.
 */
export class BasicBlock extends Module {
  /** First 3x3 convolution (carries the block's stride). */
  readonly conv1: Conv2d;
  /** Batch norm after conv1. */
  readonly bn1: BatchNorm2d;
  /** Second 3x3 convolution. */
  readonly conv2: Conv2d;
  /** Batch norm after conv2. */
  readonly bn2: BatchNorm2d;
  /** Projection shortcut (1x1 conv, BN) when the stride or width changes, else null (the identity). */
  readonly shortcut: Sequential | null;

  constructor(inPlanes: number, planes: number, stride: number) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { stride: 1, padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.shortcut = stride !== 1 || inPlanes !== planes
      ? this.registerModule('shortcut', new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes)))
      : null;
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(relu(this.bn1.forward(this.conv1.forward(x)))));
    return relu(add(out, this.shortcut ? this.shortcut.forward(x) : x));
  }
}

/**
 * Reduced ResNet-18 of online continual learning (GEM, ER, SCR): BasicBlocks [2, 2, 2, 2] with widths nf,
 * 2nf, 4nf, 8nf (nf = 20 by default), a 3x3 stem without max-pooling and 4x4 average pooling; 160-d features
 * for 32x32 input. State-dict keys follow the reference implementation.
 */
export class ReducedResNet18 extends Classifier {
  /** Stem 3x3 convolution. */
  readonly conv1: Conv2d;
  /** Batch norm after the stem. */
  readonly bn1: BatchNorm2d;
  /** The four stages layer1..layer4, two BasicBlocks each. */
  readonly layers: Sequential[];

  constructor(numClasses = 10, nf = 20, inChannels = 3) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, nf, 3, { stride: 1, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(nf));
    let inPlanes = nf;
    this.layers = [1, 2, 4, 8].map((mult, i) => {
      const planes = nf * mult;
      const stride = i === 0 ? 1 : 2;
      const layer = new Sequential(new BasicBlock(inPlanes, planes, stride), new BasicBlock(planes, planes, 1));
      inPlanes = planes;
      return this.registerModule(`layer${i + 1}`, layer);
    });
    this.registerModule('classifier', new Linear(nf * 8, numClasses));
  }


  features(x: Tensor): Tensor {
    let h = relu(this.bn1.forward(this.conv1.forward(x)));
    for (const l of this.layers) h = l.forward(h);
    return flatten(avgPool2d(h, { kernelSize: 4 }), 1);
  }
}
