// A small MNIST CNN (LeNet-like, sized for a software GPU):
//   conv5x5(1->16) ReLU maxpool2 -> conv5x5(16->32) ReLU maxpool2 -> flatten(512) -> linear(512->128) ReLU
//   -> dropout(0.25) -> classifier linear(128->classes)
// Input [N, 1, 28, 28]. features() is the 128-d ReLU output.
// state_dict keys: features.{0,3,7}.{weight,bias} (conv, conv, linear; Flatten is index 6), classifier.{weight,bias}.

import type { Tensor } from '../engine/tensor.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { ReLU, Flatten } from '../nn/layers/activation.js';
import { MaxPool2d } from '../nn/layers/pool.js';
import { Linear } from '../nn/layers/linear.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Classifier } from './classifier.js';

/**
 * A small LeNet-like MNIST CNN for [N, 1, 28, 28] input: conv5x5(16) ReLU maxpool2, conv5x5(32) ReLU
 * maxpool2, linear 512 -> 128, ReLU, dropout 0.25, then the classifier; `features()` is the 128-d ReLU
 * output.
 */
export class MnistCNN extends Classifier {
  /** Everything before the classifier (child 'features'). */
  readonly body: Sequential;

  constructor(numClasses = 10) {
    super();
    this.body = this.registerModule('features', new Sequential(
      new Conv2d(1, 16, 5), new ReLU(), new MaxPool2d(2),
      new Conv2d(16, 32, 5), new ReLU(), new MaxPool2d(2),
      new Flatten(), new Linear(512, 128), new ReLU(), new Dropout(0.25),
    ));
    this.registerModule('classifier', new Linear(128, numClasses));
  }


  features(x: Tensor): Tensor {
    return this.body.forward(x);
  }
}
