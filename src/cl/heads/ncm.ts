// Nearest-class-mean head (iCaRL's classifier): each class is the mean of its L2-normalized
// features, re-normalized; a query goes to the class of highest cosine similarity. Classes are added
// or updated at any time from data alone, with no training.
//
// Statistics live on the CPU in float64 (per class: the running sum of normalized features and the
// count), so streaming updates equal a batch fit up to rounding. The [C, D] matrix of normalized
// means is uploaded to the GPU lazily, on the first scoring call after a change; scoring is then
// one normalization and one GEMM. Rows are ordered by ascending label; `labels` names them.

import { EngramError } from '../../engine/runtime.js';
import { tensor, needsGrad, type Tensor } from '../../engine/tensor.js';
import { scope } from '../../engine/scope.js';
import { shapeStr } from '../../engine/shape.js';
import { linear } from '../../engine/ops/matmul.js';
import { sum } from '../../engine/ops/reduce.js';
import { add, div, mul, sqrt } from '../../engine/ops/elementwise.js';
import { argmaxLabels, checkLabel, groupByLabel, readFeatures, readLabels } from './linalg.js';

interface NCMClass {
  /** Sum of the L2-normalized feature vectors seen for this class. */
  sum: Float64Array;
  count: number;
}

/** Added under the square root of a squared norm so that a zero feature vector scores 0, not NaN. */
const NORM_EPS2 = 1e-24;

/**
 * Nearest-class-mean head (iCaRL's classifier): each class is the re-normalized mean of its L2-normalized
 * features, and a query goes to the class of highest cosine similarity. Classes are added or updated from
 * data alone, with no training; scoring is one GEMM on the GPU.
 */
export class NCMHead {
  private classes = new Map<number, NCMClass>();
  private gpu: { means: Tensor; labels: Tensor | null } | null = null;

  /** @param featureDim Length D of the feature vectors. */
  constructor(readonly featureDim: number) {
    if (!Number.isInteger(featureDim) || featureDim < 1) throw new EngramError(`NCMHead: featureDim must be a positive integer, got ${featureDim}`);
  }

  /** Class labels in row order (ascending): column j of `scores()` belongs to `labels[j]`. */
  get labels(): number[] {
    return [...this.classes.keys()].sort((a, b) => a - b);
  }

  /** Number of classes. */
  get numClasses(): number {
    return this.classes.size;
  }

  /** Whether the head has class `label`. */
  hasClass(label: number): boolean {
    return this.classes.has(label);
  }

  /** Samples seen for a class (0 when unknown). */
  classCount(label: number): number {
    return this.classes.get(label)?.count ?? 0;
  }

  /** The class prototype: the mean of normalized features, re-normalized (float64 copy). */
  classMean(label: number): Float64Array {
    const c = this.classes.get(label);
    if (!c) throw new EngramError(`NCMHead.classMean: no class ${label} (classes: ${this.labels.join(', ') || 'none'})`);
    return normalized(c.sum);
  }

  /** Add a new class from its features [n, D]. Throws when the class exists (use updateClass). */
  async addClass(label: number, features: Tensor): Promise<void> {
    checkLabel('NCMHead.addClass', label);
    if (this.classes.has(label)) throw new EngramError(`NCMHead.addClass: class ${label} already exists; use updateClass to add samples to it`);
    if (features.shape[0] === 0) throw new EngramError(`NCMHead.addClass: class ${label} needs at least one sample, got features ${shapeStr(features.shape)}`);
    await this.updateClass(label, features);
  }

  /** Add samples [n, D] to a class (created when new): its mean is the running mean over everything seen. */
  async updateClass(label: number, features: Tensor): Promise<void> {
    checkLabel('NCMHead.updateClass', label);
    const x = await readFeatures('NCMHead.updateClass', features, this.featureDim);
    const rows = features.shape[0]!;
    this.accumulate(label, x, Array.from({ length: rows }, (_, i) => i));
  }

  /** Streaming update of several classes at once: features [n, D] with their n labels. */
  async update(features: Tensor, labels: Tensor | ArrayLike<number>): Promise<void> {
    const x = await readFeatures('NCMHead.update', features, this.featureDim);
    const y = await readLabels('NCMHead.update', labels, features.shape[0]!);
    for (const [label, rows] of groupByLabel(y)) this.accumulate(label, x, rows);
  }

  /** Forget every class, then fit the classes present in (features, labels). */
  async fit(features: Tensor, labels: Tensor | ArrayLike<number>): Promise<void> {
    const x = await readFeatures('NCMHead.fit', features, this.featureDim);
    const y = await readLabels('NCMHead.fit', labels, features.shape[0]!);
    this.reset();
    for (const [label, rows] of groupByLabel(y)) this.accumulate(label, x, rows);
  }

  /** Forget one class (nothing happens when it is unknown). */
  removeClass(label: number): void {
    if (this.classes.delete(label)) this.invalidate();
  }

  /** Forget every class (GPU tensors are freed). */
  reset(): void {
    this.classes.clear();
    this.invalidate();
  }

  /** Cosine similarity of each query to each class prototype: [N, C], columns in `labels` order. */
  scores(features: Tensor): Tensor {
    const g = this.upload('NCMHead.scores', features);
    // Intermediates are freed at once, unless the caller differentiates through the scores.
    return tidy(features, () => {
      // cos(x, m_c) = (x . m_c) / |x| with unit-norm prototypes m_c; normalizing the queries first
      // keeps the GEMM's operands of unit scale.
      const norm = sqrt(add(sum(mul(features, features), 1, true), NORM_EPS2));
      return linear(div(features, norm), g.means);
    });
  }

  /** The label of the nearest class mean for each query: int32 [N]. */
  predict(features: Tensor): Tensor {
    const g = this.upload('NCMHead.predict', features);
    return scope(() => argmaxLabels(this.scores(features), g.labels));
  }

  /** Free the GPU copy of the prototypes (statistics are kept; the next scoring call re-uploads). */
  dispose(): void {
    this.invalidate();
  }

  // ---------------------------------------------------------------- internals

  private accumulate(label: number, x: Float32Array, rows: readonly number[]): void {
    const D = this.featureDim;
    let c = this.classes.get(label);
    if (!c) this.classes.set(label, (c = { sum: new Float64Array(D), count: 0 }));
    for (const r of rows) {
      const o = r * D;
      let ss = 0;
      for (let j = 0; j < D; j++) ss += x[o + j]! * x[o + j]!;
      // A zero vector has no direction: it counts as a sample but adds nothing (as F.normalize gives 0).
      const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      for (let j = 0; j < D; j++) c.sum[j] = c.sum[j]! + x[o + j]! * inv;
      c.count++;
    }
    this.invalidate();
  }

  private invalidate(): void {
    if (!this.gpu) return;
    this.gpu.means.dispose();
    this.gpu.labels?.dispose();
    this.gpu = null;
  }

  /** Validate a query batch and make sure the GPU prototypes reflect the current classes. */
  private upload(op: string, features: Tensor): { means: Tensor; labels: Tensor | null } {
    if (this.classes.size === 0) throw new EngramError(`${op}: the head has no classes yet; add some with addClass, update or fit`);
    if (features.dtype !== 'float32' || features.rank !== 2 || features.shape[1] !== this.featureDim) {
      throw new EngramError(`${op}: expected float32 features [N, ${this.featureDim}], got ${features.dtype} ${shapeStr(features.shape)}`);
    }
    if (this.gpu) return this.gpu;
    const order = this.labels;
    const D = this.featureDim;
    const m = new Float32Array(order.length * D);
    order.forEach((label, i) => m.set(normalized(this.classes.get(label)!.sum), i * D));
    // keep(): these outlive whatever scope the caller scores in; invalidate() frees them.
    const means = tensor(m, [order.length, D]).keep();
    const identity = order.every((label, i) => label === i);
    const labels = identity ? null : tensor(Int32Array.from(order), [order.length], { dtype: 'int32' }).keep();
    this.gpu = { means, labels };
    return this.gpu;
  }
}

/** Run `fn` in a memory scope unless `x` needs a gradient (autograd then holds the intermediates). */
function tidy<T>(x: Tensor, fn: () => T): T {
  return needsGrad(x) ? fn() : scope(fn);
}

function normalized(v: Float64Array): Float64Array {
  let ss = 0;
  for (const a of v) ss += a * a;
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  return v.map((a) => a * inv);
}
