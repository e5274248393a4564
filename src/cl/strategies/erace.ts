// ER-ACE (Caccia et al. 2022, "New Insights on Reducing Abrupt Representation Change in Online Continual
// Learning"), named as Avalanche names it (`ER_ACE`, here `ERACE`): experience replay with an asymmetric
// cross-entropy. The stream batch's loss is a cross-entropy over the classes present in that batch only
// (or in the current task), so learning new classes does not push the old classes' logits down; the
// memory batch's loss is a cross-entropy over every class seen so far:
//   loss = ( CE_present(stream batch) + CE_seen(memory batch) ) / 2      (Avalanche's ACECriterion)
// Until the memory holds something, the stream loss is the plain cross-entropy.
// The classes of a batch come from the dataset's labels on the CPU (batch.indices): no readback.

import { EngramError } from '../../engine/runtime.js';
import { tensor, type Tensor } from '../../engine/tensor.js';
import { add, crossEntropy, indexSelect, mul } from '../../engine/ops/index.js';
import { shapeStr } from '../../engine/shape.js';
import type { Batch } from '../../data/loader.js';
import type { Task } from '../scenarios.js';
import { ExperienceReplay, type ReplayOptions } from './replay.js';

/**
 * Cross-entropy over a subset of the classes: the softmax runs over the columns `classes` of `logits` [B, K]
 * only (the other logits take no part and get no gradient), as torch's `cross_entropy(logits.masked_fill(~mask,
 * -inf), y)`. `labels` (B, on the CPU) must all be in `classes`. Batch mean.
 */
export function maskedCrossEntropy(logits: Tensor, labels: ArrayLike<number>, classes: readonly number[]): Tensor {
  if (logits.rank !== 2 || logits.shape[0] !== labels.length) {
    throw new EngramError(`maskedCrossEntropy: logits must be [B, K] with one label per row, got ${shapeStr(logits.shape)} and ${labels.length} labels`);
  }
  const K = logits.shape[1]!;
  const position = new Map<number, number>();
  classes.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= K) throw new EngramError(`maskedCrossEntropy: class ${c} is not a column of the ${K} logits`);
    if (position.has(c)) throw new EngramError(`maskedCrossEntropy: class ${c} is listed twice`);
    position.set(c, i);
  });
  const y = new Int32Array(labels.length);
  for (let b = 0; b < labels.length; b++) {
    const p = position.get(labels[b]!);
    if (p === undefined) throw new EngramError(`maskedCrossEntropy: label ${labels[b]} of row ${b} is not among the classes [${classes.join(', ')}]`);
    y[b] = p;
  }
  const cols = classes.length === K && classes.every((c, i) => c === i) ? logits : indexSelect(logits, 1, tensor(Int32Array.from(classes), [classes.length], { dtype: 'int32' }));
  return crossEntropy(cols, tensor(y, [y.length], { dtype: 'int32' }));
}

/** Options of `ERACE`: those of `ExperienceReplay` (mode 'er' only) plus which classes mask the stream loss. */
export interface ERACEOptions extends ReplayOptions {
  /**
   * The classes the stream loss is restricted to: 'batch' (default, Avalanche's): those present in the stream
   * batch; 'task': those of the current task.
   */
  streamClasses?: 'batch' | 'task';
}

/**
 * ER-ACE (Avalanche's `ER_ACE`, Caccia et al. 2022): experience replay with the asymmetric cross-entropy, the
 * stream loss over the classes present in the stream batch (or task) and the memory loss over every class seen.
 * Any buffer and memory format (`ExperienceReplay`'s options).
 */
export class ERACE extends ExperienceReplay {
  /** 'batch' or 'task': what restricts the stream loss. */
  readonly streamClasses: 'batch' | 'task';
  private readonly memoryBatch: number | undefined;

  constructor(opts: ERACEOptions) {
    if (opts && opts.mode !== undefined && opts.mode !== 'er') throw new EngramError(`ERACE: mode must be 'er' (separate stream and memory losses), got ${JSON.stringify(opts.mode)}`);
    super({ ...opts, name: opts?.name ?? 'er-ace' });
    this.streamClasses = opts.streamClasses ?? 'batch';
    if (this.streamClasses !== 'batch' && this.streamClasses !== 'task') throw new EngramError(`ERACE: streamClasses must be 'batch' or 'task', got ${JSON.stringify(this.streamClasses)}`);
    this.memoryBatch = opts.memoryBatchSize;
  }

  protected override stepLoss(batch: Batch, streamTask?: Task): Tensor {
    const task = streamTask!; // SupervisedStrategy always passes the task
    const buf = this.buffer!;
    const z = this.model.forward(batch.x);
    if (buf.size === 0) return crossEntropy(z, batch.y);
    const all = task.train.labels;
    const labels = Array.from(batch.indices, (i) => all[i]!);
    const present = this.streamClasses === 'task' ? [...task.classes] : [...new Set(labels)];
    present.sort((a, b) => a - b);
    const mem = buf.sampleBatch(this.memoryBatch ?? batch.x.shape[0]!, this.generator);
    const memLabels = buf.store.labels(mem.indices);
    const seen = new Set(this.context.tasksSoFar.flatMap((t) => t.classes));
    for (const l of memLabels) seen.add(l);
    const zm = this.model.forward(this.applyTransform(mem.x));
    const streamLoss = maskedCrossEntropy(z, labels, present);
    const memLoss = maskedCrossEntropy(zm, memLabels, [...seen].sort((a, b) => a - b));
    return mul(add(streamLoss, memLoss), 0.5);
  }
}
