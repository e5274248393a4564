// Bias correction of the classifier after each task, for methods whose head favours the newest classes
// (replay with a small memory sees far more new-class images than old ones).
//
//   WA, weight aligning (Zhao et al. 2020, "Maintaining Discrimination and Fairness in Class Incremental
//   Learning"): after each task, the weight rows of the task's new classes are rescaled by
//       γ = mean_{c old} ‖w_c‖ / mean_{c new} ‖w_c‖
//   so their mean L2 norm equals the old classes' (the bias is left as it is, as in PyCIL's weight_align).
//   On the GPU, no readback; old rows are untouched (bit for bit).

import { EngramError, runtime } from '../../engine/runtime.js';
import { tensor, type Tensor } from '../../engine/tensor.js';
import { noGrad, scope } from '../../engine/scope.js';
import { clamp, div, indexSelect, mean, mul, sqrt, sum, where } from '../../engine/ops/index.js';
import type { Linear } from '../../nn/layers/linear.js';
import type { Task } from '../scenarios.js';
import type { StrategyContext, StrategyPlugin } from '../plugins.js';
import { ExperienceReplay, type ReplayOptions } from './replay.js';

function classIndex(what: string, classes: readonly number[], K: number): Tensor {
  for (const c of classes) if (!Number.isInteger(c) || c < 0 || c >= K) throw new EngramError(`weightAlign: ${what} class ${c} is not a row of the ${K}-class head`);
  return tensor(Int32Array.from(classes), [classes.length], { dtype: 'int32' });
}

/**
 * Weight aligning (WA), in place on the GPU: the rows `newClasses` of `head.weight` [K, F] are multiplied by
 * γ = mean ‖w_old‖ / mean ‖w_new‖ (row L2 norms over `oldClasses` and `newClasses`). Other rows and the bias are
 * unchanged. Both class lists must be non-empty and disjoint.
 */
export function weightAlign(head: Linear, oldClasses: readonly number[], newClasses: readonly number[]): void {
  const W = head.weight;
  const K = W.shape[0]!;
  if (oldClasses.length === 0 || newClasses.length === 0) throw new EngramError(`weightAlign: needs old and new classes, got ${oldClasses.length} old and ${newClasses.length} new`);
  const old = new Set(oldClasses);
  for (const c of newClasses) if (old.has(c)) throw new EngramError(`weightAlign: class ${c} is both old and new`);
  noGrad(() => scope(() => {
    const norms = sqrt(sum(mul(W, W), 1));
    const gamma = div(mean(indexSelect(norms, 0, classIndex('old', oldClasses, K))), clamp(mean(indexSelect(norms, 0, classIndex('new', newClasses, K))), 1e-30));
    const mask = new Float32Array(K);
    for (const c of newClasses) mask[c] = 1;
    const factor = where(tensor(mask, [K, 1]), gamma, 1);
    const aligned = mul(W, factor);
    runtime().copy(aligned.buffer, 0, W.buffer, 0, W.size * 4);
  }));
}

/**
 * Weight aligning as a plugin (Zhao et al. 2020): after each task that brings classes not seen before, the new
 * classes' classifier rows are rescaled to the old classes' mean norm (`weightAlign`). Add it to any
 * SupervisedStrategy, e.g. `new ExperienceReplay({ ..., plugins: [new WAPlugin()] })`.
 */
export class WAPlugin implements StrategyPlugin {
  readonly name = 'wa';
  /** Tasks after which the weights were aligned. */
  alignedAfter: number[] = [];

  afterTask(ctx: StrategyContext, task: Task): void {
    const old = new Set(ctx.tasksSoFar.slice(0, -1).flatMap((t) => t.classes));
    const fresh = [...new Set(task.classes)].filter((c) => !old.has(c)).sort((a, b) => a - b);
    if (old.size === 0 || fresh.length === 0) return;
    weightAlign(ctx.model.classifier, [...old].sort((a, b) => a - b), fresh);
    this.alignedAfter.push(task.id);
  }
}

/** Options of `WA`: those of `ExperienceReplay`. */
export type WAOptions = ReplayOptions;

/** Experience replay with weight aligning after each task (`WAPlugin`); report name 'er-wa'. */
export class WA extends ExperienceReplay {
  /** The weight-aligning plugin. */
  readonly wa: WAPlugin;

  constructor(opts: WAOptions) {
    super({ ...opts, name: opts?.name ?? 'er-wa' });
    this.wa = new WAPlugin();
    this.plugins.push(this.wa);
  }
}
