// A classifier split into a feature extractor and a linear head, the shape continual learning needs:
// heads (NCM, Gaussian) work on `features()`, classifier expansion replaces `classifier`, and
// `freezeFeatures()` trains the head alone.

import type { Tensor } from '../engine/tensor.js';
import { EngramError } from '../engine/runtime.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers/linear.js';

/**
 * A classifier split into a feature extractor (`features()`) and a final `Linear` registered as 'classifier',
 * the shape continual learning needs: heads work on the features, classifier expansion replaces the head,
 * `freezeFeatures()` trains the head alone.
 */
export abstract class Classifier extends Module {
  /** The penultimate representation, [N, featureDim]. */
  abstract features(x: Tensor): Tensor;
  /** The final linear layer mapping features to class scores (the child registered as 'classifier'). */
  get classifier(): Linear {
    const head = this.child('classifier');
    if (!(head instanceof Linear)) throw new EngramError(`${this.constructor.name}: no Linear child registered as 'classifier'`);
    return head;
  }

  /**
   * Put a new head in place of the classifier (e.g. a larger one when classes are added); the
   * state-dict keys stay `classifier.*`. Returns the old head, which the caller may dispose.
   * Optimizers built over the old head's parameters must be rebuilt.
   */
  replaceClassifier(head: Linear): Linear {
    if (head.inFeatures !== this.featureDim) {
      throw new EngramError(`replaceClassifier: the new head takes ${head.inFeatures} features, the model produces ${this.featureDim}`);
    }
    return this.replaceModule('classifier', head) as Linear;
  }

  /** Size of the representation `features()` returns. */
  get featureDim(): number {
    return this.classifier.inFeatures;
  }

  /** Number of classes: the classifier's output size. */
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

  /** Let every parameter receive gradients again, undoing `freezeFeatures()` (or `freeze()`). */
  unfreezeFeatures(): this {
    for (const p of this.parameters()) p.requiresGrad = true;
    return this;
  }
}
