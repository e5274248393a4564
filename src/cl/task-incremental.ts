// Task-incremental evaluation: the task label is known at test time, so a prediction is restricted to
// that task's classes ("masked logits", the single-head task-incremental protocol). Every strategy
// that can score classes implements `Strategy.predictTask` with `maskedArgmax` over its scores:
//   - the fine-tuning-like strategies (Naive, ER, EWC, SI, LwF, Cumulative, JointTraining): the
//     model's logits, one column per class index;
//   - the head strategies (iCaRL, SCR, NCM-ER: NCMHead cosine scores; Gaussian: the discriminant):
//     the head's scores, one column per learned label (`head.labels`).
// A class of the task the strategy cannot score (a label beyond the logits, or never added to a head)
// is never predicted; when none of the task's classes can be scored, every prediction is -1 (never
// correct), as an unseen class is never predicted in the class-incremental setting.

import { EngramError } from '../engine/runtime.js';
import { full, tensor, type Tensor } from '../engine/tensor.js';
import { scope } from '../engine/scope.js';
import { argmax, indexSelect } from '../engine/ops/index.js';
import { shapeStr } from '../engine/shape.js';

/** What `Strategy.predictTask` is told about the task a test batch comes from. */
export interface TaskLabel {
  /** The task's position in the stream (its id). */
  readonly id: number;
  /** The labels the task's data can have; predictions are restricted to these. */
  readonly classes: readonly number[];
}

/**
 * Labels (int32 [B]) of the best-scoring column among those whose label is in `allowed`: `scores` is
 * [B, K] (higher is better), `columnLabels[k]` the label of column k (default: k itself). Columns
 * outside `allowed` are dropped before the argmax (no -inf arithmetic). With no allowed column, every
 * prediction is -1. Inside a scope: intermediates are freed.
 */
export function maskedArgmax(scores: Tensor, allowed: readonly number[], columnLabels?: readonly number[]): Tensor {
  if (scores.rank !== 2) throw new EngramError(`maskedArgmax: scores must be [batch, classes], got shape ${shapeStr(scores.shape)}`);
  const K = scores.shape[1]!;
  if (columnLabels && columnLabels.length !== K) throw new EngramError(`maskedArgmax: ${columnLabels.length} column labels for ${K} score columns`);
  if (!Array.isArray(allowed) || allowed.some((c) => !Number.isInteger(c))) throw new EngramError(`maskedArgmax: allowed must be an array of integer labels, got ${JSON.stringify(allowed)}`);
  const want = new Set(allowed);
  const cols: number[] = [];
  for (let k = 0; k < K; k++) if (want.has(columnLabels ? columnLabels[k]! : k)) cols.push(k);
  const B = scores.shape[0]!;
  if (cols.length === 0) return full([B], -1, { dtype: 'int32' });
  return scope(() => {
    const colIdx = tensor(Int32Array.from(cols), [cols.length], { dtype: 'int32' });
    const best = argmax(indexSelect(scores, 1, colIdx), 1);
    const labelOf = tensor(Int32Array.from(cols, (k) => (columnLabels ? columnLabels[k]! : k)), [cols.length], { dtype: 'int32' });
    return indexSelect(labelOf, 0, best);
  });
}
