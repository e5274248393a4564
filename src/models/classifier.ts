// A classifier split into a feature extractor and a linear head, the shape continual learning needs:
// heads (NCM, Gaussian) work on `features()`, classifier expansion replaces `classifier`, and
// `freezeFeatures()` trains the head alone.

import type { Tensor } from '../engine/tensor.js';
import { Module } from '../nn/module.js';
import type { Linear } from '../nn/layers/linear.js';

export abstract class Classifier extends Module {
  /** The penultimate representation, [N, featureDim]. */
  abstract features(x: Tensor): Tensor;
  /** The final linear layer mapping features to class scores. */
  abstract get classifier(): Linear;

  /** Size of the representation `features()` returns. */
  get featureDim(): number {
    return this.classifier.inFeatures;
  }

  get numClasses(): number {
    return this.classifier.outFeatures;
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features(x));
  }

  /** Freeze every parameter except the classifier's. */
  freezeFeatures(): this {
    const head = new Set(this.classifier.parameters());
    for (const p of this.parameters()) {
      if (head.has(p)) continue;
      p.requiresGrad = false;
      p.grad?.dispose();
      p.grad = null;
    }
    return this;
  }

  unfreezeFeatures(): this {
    for (const p of this.parameters()) p.requiresGrad = true;
    return this;
  }
}
