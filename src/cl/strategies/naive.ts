// Naive fine-tuning: train the model on each task's data in turn with SGD and nothing else. The
// lower bound of class-incremental learning: the head learns to predict only the latest classes
// (catastrophic forgetting), which is what replay and the other strategies are measured against.

import type { Tensor } from '../../engine/tensor.js';
import type { Batch } from '../../data/loader.js';
import { SupervisedStrategy, classificationLoss, type StrategyOptions } from './common.js';

/** Options of `Naive`: those shared by the fine-tuning-like strategies. */
export type NaiveOptions = StrategyOptions;

/**
 * Naive fine-tuning: trains on each task's data in turn with nothing against forgetting, the lower bound of
 * class-incremental learning.
 */
export class Naive extends SupervisedStrategy {
  readonly name = 'naive';

  constructor(opts: NaiveOptions) {
    super(opts, 'Naive');
  }

  protected stepLoss(batch: Batch): Tensor {
    return classificationLoss(this.model, batch.x, batch.y);
  }
}
