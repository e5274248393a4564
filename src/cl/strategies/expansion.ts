// Classifier expansion for class-incremental learning: the linear head grows when new classes appear.
// The old rows of the weight and bias are copied, so every old class's logit is unchanged right
// after the expansion (bit for bit); the new rows get Linear's default initialization.
// The new head takes the old one's place under the key "classifier" (Classifier.replaceClassifier),
// so state-dict names are unchanged. Optimizers built over the old tensors must be rebuilt.

import { EngramError, runtime } from '../../engine/runtime.js';
import type { Generator } from '../../engine/random.js';
import { Linear } from '../../nn/layers/linear.js';
import type { Classifier } from '../../models/classifier.js';

/**
 * Grow `model.classifier` to `newNumClasses` outputs. Rows 0..old-1 of the weight [out, in] and bias
 * are copied from the old head (a prefix of the row-major buffer); new rows are drawn like
 * torch.nn.Linear's default init from `generator` (default: the global generator). requiresGrad is
 * kept; the old head is disposed. Equal sizes are a no-op. Returns the model's (new) head.
 */
export function expandClassifier(model: Classifier, newNumClasses: number, generator?: Generator): Linear {
  const head = model.classifier;
  const old = head.outFeatures;
  if (!Number.isInteger(newNumClasses) || newNumClasses < old) {
    throw new EngramError(`expandClassifier: the new number of classes must be an integer >= the current ${old}, got ${newNumClasses}`);
  }
  if (newNumClasses === old) return head;
  const fresh = new Linear(head.inFeatures, newNumClasses, { bias: head.bias !== null, generator });
  const rt = runtime();
  rt.copy(head.weight.buffer, 0, fresh.weight.buffer, 0, old * head.inFeatures * 4);
  if (head.bias && fresh.bias) rt.copy(head.bias.buffer, 0, fresh.bias.buffer, 0, old * 4);
  fresh.weight.requiresGrad = head.weight.requiresGrad;
  if (head.bias && fresh.bias) fresh.bias.requiresGrad = head.bias.requiresGrad;
  fresh.training = head.training;
  model.replaceClassifier(fresh);
  head.dispose(); // the copies above were recorded first, so they still read the old values
  return fresh;
}

/** The number of outputs a head needs for every class of these tasks: max label + 1. */
export function classesNeeded(tasks: readonly { classes: readonly number[] }[]): number {
  let max = -1;
  for (const t of tasks) for (const c of t.classes) max = Math.max(max, c);
  return max + 1;
}
