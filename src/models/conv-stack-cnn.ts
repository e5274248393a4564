// CifarCNN's layers with the split a notebook uses: features() is the conv stack only, and the head is
// both fully connected layers, so freezing the features leaves 4096 -> 512 -> classes trainable
// (engram's CifarCNN counts the hidden 4096 -> 512 layer as features, leaving only the last layer).
//   features: [conv3x3 w, BN, ReLU] x2, maxpool 2, dropout 0.25, then 2w and 4w channels likewise,
//             flatten (4w * (s/8)^2, floor at each pool: 4096 for w = 64 and 32x32 input,
//             2304 for 28x28 input)
//   fc:       linear -> hidden (512), ReLU, dropout 0.5
//   classifier: linear hidden -> classes
// state_dict keys: features.<i>.* (PyTorch numbering), fc.0.*, classifier.*.

import type { Tensor } from '../engine/tensor.js';
import { EngramError } from '../engine/runtime.js';
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

/** Options of `ConvStackCNN`. */
export interface ConvStackCNNOptions {
  /** Input channels (default 3; 1 for MNIST-like images). */
  inChannels?: number;
  /** Input height and width (default 32; 28 for MNIST-like images). */
  imageSize?: number;
  /** Channels of the first block; the others have 2x and 4x (default 64, as CifarCNN). */
  width?: number;
  /** Units of the hidden fully connected layer (default 512). */
  hidden?: number;
  /**
   * Where features() ends: 'conv' (default) the conv stack, so the head is both FC layers; 'hidden' after
   * the hidden FC layer (ReLU, dropout), CifarCNN's split, so the head is the last layer only.
   */
  split?: 'conv' | 'hidden';
}

/**
 * CifarCNN's layers (six 3x3 conv + BN, three max-pools, FC hidden 512, classifier) with `features()` the conv
 * stack only (flattened): `freezeFeatures()` then leaves both fully connected layers trainable. Options
 * adapt it to 1-channel 28x28 input and a narrower conv stack.
 */
export class ConvStackCNN extends Classifier {
  /** The conv stack and flatten (child 'features', PyTorch numbering). */
  readonly body: Sequential;
  /** The hidden fully connected layer, ReLU and dropout (child 'fc'). */
  readonly fc: Sequential;
  /** Length of the flattened conv output (the fc layer's input). */
  readonly convDim: number;
  /** Where features() ends: 'conv' (the conv stack) or 'hidden' (CifarCNN's split). */
  readonly split: 'conv' | 'hidden';

  constructor(numClasses = 10, opts: ConvStackCNNOptions = {}) {
    super();
    const { inChannels = 3, imageSize = 32, width = 64, hidden = 512, split = 'conv' } = opts;
    if (split !== 'conv' && split !== 'hidden') throw new EngramError(`ConvStackCNN: split must be 'conv' or 'hidden', got ${JSON.stringify(split)}`);
    this.split = split;
    for (const [k, v] of Object.entries({ numClasses, inChannels, imageSize, width, hidden })) {
      if (!(Number.isInteger(v) && v > 0)) throw new EngramError(`ConvStackCNN: ${k} must be a positive integer, got ${v}`);
    }
    const side = Math.floor(Math.floor(Math.floor(imageSize / 2) / 2) / 2);
    if (side < 1) throw new EngramError(`ConvStackCNN: imageSize ${imageSize} is too small for three 2x2 max-pools (needs at least 8)`);
    this.convDim = 4 * width * side * side;
    this.body = this.registerModule('features', new Sequential(
      ...convBlock(inChannels, width), ...convBlock(width, 2 * width), ...convBlock(2 * width, 4 * width), new Flatten(),
    ));
    this.fc = this.registerModule('fc', new Sequential(new Linear(this.convDim, hidden), new ReLU(), new Dropout(0.5)));
    this.registerModule('classifier', new Linear(hidden, numClasses));
  }

  /** The flattened conv stack output, [N, convDim] (split 'hidden': the hidden layer's, [N, hidden]). */
  features(x: Tensor): Tensor {
    const h = this.body.forward(x);
    return this.split === 'conv' ? h : this.fc.forward(h);
  }

  /** Length of `features()`: the conv stack's flattened output (split 'hidden': the hidden size). */
  override get featureDim(): number {
    return this.split === 'conv' ? this.convDim : this.classifier.inFeatures;
  }

  override forward(x: Tensor): Tensor {
    const f = this.features(x);
    return this.classifier.forward(this.split === 'conv' ? this.fc.forward(f) : f);
  }

  /** Put a new classifier in place (it takes the hidden layer's output); returns the old one. */
  override replaceClassifier(head: Linear): Linear {
    const hidden = this.classifier.inFeatures;
    if (head.inFeatures !== hidden) throw new EngramError(`ConvStackCNN.replaceClassifier: the new head takes ${head.inFeatures} features, the hidden layer gives ${hidden}`);
    return this.replaceModule('classifier', head) as Linear;
  }

  /** Freeze the conv stack; both fully connected layers stay trainable (split 'hidden': the classifier only). */
  override freezeFeatures(): this {
    const frozen = this.split === 'conv' ? this.body.parameters() : [...this.body.parameters(), ...this.fc.parameters()];
    for (const p of frozen) {
      p.requiresGrad = false;
      p.grad?.dispose();
      p.grad = null;
    }
    return this;
  }
}
