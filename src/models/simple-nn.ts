// SimpleNN: one linear layer 784 -> classes on flattened images (the linear Split-MNIST baseline).
// state_dict keys: classifier.weight, classifier.bias.

import type { Tensor } from '../engine/tensor.js';
import { flatten } from '../engine/ops/shape-ops.js';
import { Linear } from '../nn/layers/linear.js';
import { Classifier } from './classifier.js';

/**
 * One linear layer on flattened images (the linear Split-MNIST baseline); state-dict keys classifier.weight
 * and classifier.bias.
 */
export class SimpleNN extends Classifier {

  /**
   * @param inputSize Number of input values per example after flattening (default 784).
   * @param numClasses Number of classes (default 10).
   */
  constructor(readonly inputSize = 784, numClasses = 10) {
    super();
    this.registerModule('classifier', new Linear(inputSize, numClasses));
  }


  /** The flattened input itself: a linear model has no learned representation. */
  features(x: Tensor): Tensor {
    return flatten(x, 1);
  }
}
