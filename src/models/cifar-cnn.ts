// The CIFAR CNN used for class-incremental learning experiments (input [N, 3, 32, 32]):
//   [conv3x3 64, BN, ReLU] x2, maxpool 2, dropout 0.25
//   [conv3x3 128, BN, ReLU] x2, maxpool 2, dropout 0.25
//   [conv3x3 256, BN, ReLU] x2, maxpool 2, dropout 0.25
//   flatten (256*4*4 = 4096) -> linear 512, ReLU, dropout 0.5 -> classifier linear 512 -> classes
// features() is the 512-d representation after the hidden linear layer's ReLU and dropout.
// state_dict keys: features.<i>.* for the Sequential body (PyTorch numbering), classifier.*.

import type { Tensor } from '../engine/tensor.js';
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { BatchNorm2d } from '../nn/layers/norm.js';
import { ReLU, Flatten } from '../nn/layers/activation.js';
import { MaxPool2d } from '../nn/layers/pool.js';
import { Linear } from '../nn/layers/linear.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Classifier } from './classifier.js';

function convBlock(cin: number, cout: number): Module[] {
  return [
    new Conv2d(cin, cout, 3, { padding: 1 }), new BatchNorm2d(cout), new ReLU(),
    new Conv2d(cout, cout, 3, { padding: 1 }), new BatchNorm2d(cout), new ReLU(),
    new MaxPool2d(2), new Dropout(0.25),
  ];
}

/**
 * The CIFAR CNN of class-incremental learning experiments, for [N, 3, 32, 32] input: three blocks of
 * [conv3x3, BN, ReLU] x2, maxpool 2, dropout 0.25 (64, 128, 256 channels), then linear 4096 -> 512, ReLU,
 * dropout 0.5 and the classifier; `features()` is the 512-d representation.
 */
export class CifarCNN extends Classifier {
  /** Everything before the classifier (child 'features', PyTorch numbering). */
  readonly body: Sequential;

  constructor(numClasses = 10, inChannels = 3) {
    super();
    this.body = this.registerModule('features', new Sequential(
      ...convBlock(inChannels, 64), ...convBlock(64, 128), ...convBlock(128, 256),
      new Flatten(), new Linear(4096, 512), new ReLU(), new Dropout(0.5),
    ));
    this.registerModule('classifier', new Linear(512, numClasses));
  }


  features(x: Tensor): Tensor {
    return this.body.forward(x);
  }
}
