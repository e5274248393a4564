// Gaussian head: linear discriminant analysis on features, i.e. one Gaussian per class with a shared
// (pooled within-class) covariance, fitted from data alone and updatable in a stream (as in deep
// streaming LDA). The score of class c for a feature vector x is
//     g_c(x) = x^T S^-1 mu_c - 1/2 mu_c^T S^-1 mu_c + log pi_c
// (the log-density up to terms shared by every class), where S is the shrunk covariance below.
//
// Statistics are float64 on the CPU: per class the count n_c and mean mu_c, and for the covariance
// the summed within-class scatter sum_c sum_{x in c} (x - mu_c)(x - mu_c)^T. A batch is merged into
// the running statistics with the pairwise combination of Chan, Golub & LeVeque: a batch of n_b
// samples of class c with mean m_b and scatter M2_b joins (n_a, m_a, M2_a) as
//     n = n_a + n_b,  delta = m_b - m_a,  m = m_a + delta n_b / n,
//     M2 = M2_a + M2_b + delta delta^T n_a n_b / n,
// which equals the batch fit up to rounding, whatever the batch boundaries; M2_b is computed around
// the batch's own mean, so nothing cancels catastrophically. Only the sum over classes is stored
// (one D x D matrix), since only the pooled covariance is needed.
//
// Covariance convention: the pooled, unbiased within-class estimate Sigma = sum_c M2_c / (N - C)
// (N samples, C classes; the textbook LDA estimator. scikit-learn's LDA instead weights per-class
// biased covariances by the priors; PyTorch has no reference). It is shrunk towards a scaled identity
// with a fixed coefficient alpha:  S = (1 - alpha) Sigma + alpha (trace(Sigma) / D) I,
// which keeps S invertible when D exceeds the samples per class (as with small exemplar memories).
// Before any within-class spread exists (one sample per class) Sigma is 0 and S is taken as I.
//
// Other conventions, as options:
//   covariance: 'class-average'  Sigma = (1/C) sum_c M2_c / n_c, the equal-weight average of the
//                                per-class BIASED covariances (the Mahalanobis post's convention; needs
//                                one D x D scatter per class, kept only in this mode);
//   ridge: eps                   S + eps I after the shrinkage (the post: shrinkage 0, ridge 1e-6);
//   priors: 'log-count'          log n_c (the post's log-count priors; differs from 'empirical',
//                                log n_c / N, by log N, the same for every class: same predictions).
//
// The discriminant W = S^-1 M^T (one row per class) and the biases are computed in float64 by a
// Cholesky solve and uploaded once per change, so scoring is a single GEMM with bias on the GPU.
//
// Out-of-distribution detection (Lee et al. 2018, "A simple unified framework for detecting
// out-of-distribution samples and adversarial attacks"): the squared Mahalanobis distance of x to
// class c under the same shrunk covariance S,
//     d_c(x) = (x - mu_c)^T S^-1 (x - mu_c) = x^T S^-1 x - 2 x^T S^-1 mu_c + mu_c^T S^-1 mu_c,
// and the OOD score min_c d_c(x): large when x is far from every class. (Lee et al. score with the
// negated minimum, "confidence"; here larger means more unusual.) The expansion runs on the GPU as
// two GEMMs (x S^-1, x W^T) and a row sum; S^-1 and the m_c = mu_c^T S^-1 mu_c are float64 on the
// CPU first. The expansion cancels in float32 when x is near a mean: the error is ~1e-7 x^T S^-1 x,
// and results are clamped at 0.

import { EngramError } from '../../engine/runtime.js';
import { tensor, type Tensor } from '../../engine/tensor.js';
import { scope } from '../../engine/scope.js';
import { shapeStr } from '../../engine/shape.js';
import { linear, matmul } from '../../engine/ops/matmul.js';
import { amin, sum } from '../../engine/ops/reduce.js';
import { add, mul, relu, sub } from '../../engine/ops/elementwise.js';
import { argmaxLabels, checkLabel, cholesky, choleskySolve, groupByLabel, inverseSPD, readFeatures, readLabels } from './linalg.js';

/** Options of `GaussianHead`. */
export interface GaussianHeadOptions {
  /** Shrinkage alpha in [0, 1] towards (trace / D) I. Default 1e-2. */
  shrinkage?: number;
  /**
   * Class priors: 'uniform' (the default; adds nothing to the scores), 'empirical' (log n_c / N) or
   * 'log-count' (log n_c).
   */
  priors?: GaussianPriors;
  /**
   * The shared covariance before shrinkage: 'pooled' (default, sum_c M2_c / (N - C)) or 'class-average'
   * (the equal-weight mean of the per-class biased covariances M2_c / n_c). Fixed at construction.
   */
  covariance?: CovarianceEstimator;
  /** eps >= 0 added to the diagonal after the shrinkage (S + eps I). Default 0. */
  ridge?: number;
  /** Start with the shared covariance frozen (see `covarianceFrozen`). Default false. */
  freezeCovariance?: boolean;
}

/** Class priors of a `GaussianHead`: uniform, log(n_c / N) or log(n_c). */
export type GaussianPriors = 'uniform' | 'empirical' | 'log-count';
/** How a `GaussianHead` estimates the shared covariance: pooled (n - C) or the equal-weight average of per-class biased ones. */
export type CovarianceEstimator = 'pooled' | 'class-average';

interface ClassStats {
  n: number;
  mean: Float64Array;
}

/** The linear discriminant a `GaussianHead` scores with: scores = x W^T + b, one row per class. */
export interface Discriminant {
  /** Class labels, one per row of `weight`, ascending. */
  labels: number[];
  /** [C, D] row-major: row c is S^-1 mu_c. */
  weight: Float64Array;
  /** One per class ([C]): -1/2 mu_c^T S^-1 mu_c + log pi_c. */
  bias: Float64Array;
}

/**
 * Linear discriminant analysis on features (as in deep streaming LDA): one Gaussian per class with a shared,
 * shrunk covariance, fitted from data alone (no training) and updatable in a stream; scoring is one GEMM on
 * the GPU. Statistics are float64 on the CPU.
 */
export class GaussianHead {
  /**
   * When true, updates change class means and counts only; the shared covariance keeps what it has
   * seen. With uniform priors, adding a class then leaves every other class's row of the
   * discriminant (and so their scores) unchanged. Can be switched at any time.
   */
  covarianceFrozen: boolean;
  private shrinkage_: number;
  private priors_: GaussianPriors;
  private ridge_: number;
  /** The shared covariance's estimator (fixed at construction). */
  readonly covarianceEstimator: CovarianceEstimator;
  /** 'class-average' only: each class's scatter M2_c (upper triangle). */
  private classScatter = new Map<number, Float64Array>();
  /** Statistics that define each class's Gaussian (mean, and count for empirical priors). */
  private classes = new Map<number, ClassStats>();
  /** The covariance's own per-class statistics: they differ from `classes` only while frozen. */
  private covClasses = new Map<number, ClassStats>();
  /** Upper triangle (row-major D x D) of the summed within-class scatter. */
  private scatter: Float64Array;
  private cpu: Discriminant | null = null;
  private gpu: { weight: Tensor; bias: Tensor; labels: Tensor | null } | null = null;
  /** The Mahalanobis terms on the GPU: S^-1 [D, D], and m_c = mu_c^T S^-1 mu_c [C]. */
  private gpuMaha: { precision: Tensor; quad: Tensor } | null = null;

  /**
   * @param featureDim Length D of the feature vectors.
   * @param opts Shrinkage, priors and whether the covariance starts frozen.
   */
  constructor(readonly featureDim: number, opts: GaussianHeadOptions = {}) {
    if (!Number.isInteger(featureDim) || featureDim < 1) throw new EngramError(`GaussianHead: featureDim must be a positive integer, got ${featureDim}`);
    this.scatter = new Float64Array(featureDim * featureDim);
    this.shrinkage_ = checkShrinkage(opts.shrinkage ?? 1e-2);
    this.priors_ = checkPriors(opts.priors ?? 'uniform');
    this.ridge_ = checkRidge(opts.ridge ?? 0);
    const est = opts.covariance ?? 'pooled';
    if (est !== 'pooled' && est !== 'class-average') throw new EngramError(`GaussianHead: covariance must be 'pooled' or 'class-average', got '${est}'`);
    this.covarianceEstimator = est;
    this.covarianceFrozen = opts.freezeCovariance ?? false;
  }

  /** Shrinkage alpha in [0, 1] of the covariance towards (trace / D) I. */
  get shrinkage(): number {
    return this.shrinkage_;
  }

  /** Set the shrinkage alpha (in [0, 1]); the discriminant is recomputed on next use. */
  set shrinkage(alpha: number) {
    this.shrinkage_ = checkShrinkage(alpha);
    this.invalidate();
  }

  /** Class priors: 'uniform' (adds nothing to the scores), 'empirical' (log n_c / N) or 'log-count' (log n_c). */
  get priors(): GaussianPriors {
    return this.priors_;
  }

  /** Set the class priors; the discriminant is recomputed on next use. */
  set priors(p: GaussianPriors) {
    this.priors_ = checkPriors(p);
    this.invalidate();
  }

  /** eps added to the covariance's diagonal after shrinkage. */
  get ridge(): number {
    return this.ridge_;
  }

  /** Set the ridge eps (>= 0); the discriminant is recomputed on next use. */
  set ridge(eps: number) {
    this.ridge_ = checkRidge(eps);
    this.invalidate();
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
    return this.classes.get(label)?.n ?? 0;
  }

  /** A class's mean (float64 copy). */
  classMean(label: number): Float64Array {
    const c = this.classes.get(label);
    if (!c) throw new EngramError(`GaussianHead.classMean: no class ${label} (classes: ${this.labels.join(', ') || 'none'})`);
    return c.mean.slice();
  }

  /** Samples that have contributed to the covariance, and the number of their classes. */
  get covarianceSamples(): {
    /** Samples N behind the covariance. */
    samples: number;
    /** Classes C behind it. */
    classes: number;
  } {
    let n = 0;
    for (const c of this.covClasses.values()) n += c.n;
    return { samples: n, classes: this.covClasses.size };
  }

  /**
   * The shared covariance before shrinkage and ridge, D x D row-major float64: pooled, sum_c M2_c / (N - C),
   * or with covariance 'class-average', (1/C) sum_c M2_c / n_c.
   */
  covariance(): Float64Array {
    const D = this.featureDim;
    const { samples, classes } = this.covarianceSamples;
    let upper = this.scatter;
    let inv = 1 / Math.max(1, samples - classes);
    if (this.covarianceEstimator === 'class-average') {
      upper = new Float64Array(D * D);
      for (const [label, m2] of this.classScatter) {
        const w = 1 / this.covClasses.get(label)!.n;
        for (let k = 0; k < m2.length; k++) upper[k] = upper[k]! + m2[k]! * w;
      }
      inv = 1 / Math.max(1, classes);
    }
    const out = new Float64Array(D * D);
    for (let i = 0; i < D; i++) {
      for (let j = i; j < D; j++) {
        const v = upper[i * D + j]! * inv;
        out[i * D + j] = v;
        out[j * D + i] = v;
      }
    }
    return out;
  }

  /** The covariance the discriminant uses: shrunk towards (trace / D) I plus ridge I, or I while the covariance is 0. */
  shrunkCovariance(): Float64Array {
    const D = this.featureDim;
    const s = this.covariance();
    let trace = 0;
    for (let i = 0; i < D; i++) trace += s[i * D + i]!;
    if (!(trace > 0)) {
      s.fill(0);
      for (let i = 0; i < D; i++) s[i * D + i] = 1;
      return s;
    }
    const a = this.shrinkage_;
    for (let k = 0; k < s.length; k++) s[k] = s[k]! * (1 - a);
    for (let i = 0; i < D; i++) s[i * D + i] = s[i * D + i]! + (a * trace) / D + this.ridge_;
    return s;
  }

  /** Add a new class from its features [n, D]. Throws when it exists (use updateClass or update). */
  async addClass(label: number, features: Tensor): Promise<void> {
    checkLabel('GaussianHead.addClass', label);
    if (this.classes.has(label)) throw new EngramError(`GaussianHead.addClass: class ${label} already exists; use updateClass or update to add samples to it`);
    if (features.shape[0] === 0) throw new EngramError(`GaussianHead.addClass: class ${label} needs at least one sample, got features ${shapeStr(features.shape)}`);
    await this.updateClass(label, features);
  }

  /** Add samples [n, D] of one class (created when new). */
  async updateClass(label: number, features: Tensor): Promise<void> {
    checkLabel('GaussianHead.updateClass', label);
    const x = await readFeatures('GaussianHead.updateClass', features, this.featureDim);
    this.merge(label, x, Array.from({ length: features.shape[0]! }, (_, i) => i));
  }

  /** Streaming update: features [n, D] and their n labels, any classes, any batch boundaries. */
  async update(features: Tensor, labels: Tensor | ArrayLike<number>): Promise<void> {
    const x = await readFeatures('GaussianHead.update', features, this.featureDim);
    const y = await readLabels('GaussianHead.update', labels, features.shape[0]!);
    for (const [label, rows] of groupByLabel(y)) this.merge(label, x, rows);
  }

  /** Forget everything, then fit (features, labels) as one batch. */
  async fit(features: Tensor, labels: Tensor | ArrayLike<number>): Promise<void> {
    const x = await readFeatures('GaussianHead.fit', features, this.featureDim);
    const y = await readLabels('GaussianHead.fit', labels, features.shape[0]!);
    this.reset();
    for (const [label, rows] of groupByLabel(y)) this.merge(label, x, rows);
  }

  /** Forget every class and the covariance. */
  reset(): void {
    this.classes.clear();
    this.covClasses.clear();
    this.scatter.fill(0);
    this.classScatter.clear();
    this.invalidate();
  }

  /** The float64 discriminant (recomputed only after a change). Throws if S is not positive definite. */
  discriminant(): Discriminant {
    if (this.cpu) return this.cpu;
    const D = this.featureDim;
    const labels = this.labels;
    const C = labels.length;
    const means = new Float64Array(C * D);
    labels.forEach((label, i) => means.set(this.classes.get(label)!.mean, i * D));
    let l: Float64Array;
    try {
      l = cholesky(this.shrunkCovariance(), D);
    } catch (e) {
      const { samples, classes } = this.covarianceSamples;
      throw new EngramError(`GaussianHead: the shrunk covariance is not positive definite (D = ${D}, ${samples} samples in ${classes} classes, shrinkage ${this.shrinkage_}); raise shrinkage above 0. ${(e as Error).message}`);
    }
    // Rows of W are S^-1 mu_c: the solve takes right-hand sides as rows.
    const weight = choleskySolve(l, D, means, C);
    const bias = new Float64Array(C);
    let total = 0;
    for (const c of this.classes.values()) total += c.n;
    for (let i = 0; i < C; i++) {
      let q = 0;
      for (let j = 0; j < D; j++) q += means[i * D + j]! * weight[i * D + j]!;
      // Uniform priors add the same log(1/C) to every class; it is left out so that adding a class
      // does not shift the other classes' scores.
      const nc = this.classes.get(labels[i]!)!.n;
      const logPrior = this.priors_ === 'empirical' ? Math.log(nc / total) : this.priors_ === 'log-count' ? Math.log(nc) : 0;
      bias[i] = -0.5 * q + logPrior;
    }
    this.cpu = { labels, weight, bias };
    return this.cpu;
  }

  /** Discriminant scores g_c(x) for features [N, D]: [N, C], columns in `labels` order. One GEMM. */
  scores(features: Tensor): Tensor {
    const g = this.upload('GaussianHead.scores', features);
    return linear(features, g.weight, g.bias);
  }

  /** The label of the highest-scoring class for each query: int32 [N]. */
  predict(features: Tensor): Tensor {
    const g = this.upload('GaussianHead.predict', features);
    return scope(() => argmaxLabels(linear(features, g.weight, g.bias), g.labels));
  }

  /**
   * Squared Mahalanobis distances d_c(x) = (x - mu_c)^T S^-1 (x - mu_c) of features [N, D] to every
   * class mean under the shrunk shared covariance S the scores use: [N, C], columns in `labels` order.
   * With uniform priors, argmin_c d_c(x) is the predicted class (d_c = x^T S^-1 x - 2 g_c(x)).
   */
  mahalanobis(features: Tensor): Tensor {
    const g = this.upload('GaussianHead.mahalanobis', features);
    const m = this.uploadMahalanobis();
    return scope(() => {
      const q = sum(mul(matmul(features, m.precision), features), 1, true); // [N, 1]: x^T S^-1 x
      const cross = linear(features, g.weight); // [N, C]: x^T S^-1 mu_c
      // Rounding can take a distance of ~0 slightly below 0.
      return relu(add(sub(q, mul(cross, 2)), m.quad));
    });
  }

  /**
   * The out-of-distribution score of features [N, D]: min_c d_c(x), the squared Mahalanobis distance
   * to the closest class mean (Lee et al. 2018): [N], larger is more unusual. A threshold is a
   * choice of the caller, e.g. a high percentile of the scores of held-out in-distribution data.
   */
  oodScore(features: Tensor): Tensor {
    this.upload('GaussianHead.oodScore', features);
    return scope(() => amin(this.mahalanobis(features), 1));
  }

  /** Free the GPU copy of the discriminant (statistics are kept; the next scoring call re-uploads). */
  dispose(): void {
    this.freeGPU();
  }

  // ---------------------------------------------------------------- internals

  /** Merge the rows `rows` of x (all of class `label`) into the running statistics. */
  private merge(label: number, x: Float32Array, rows: readonly number[]): void {
    const D = this.featureDim;
    const nb = rows.length;
    if (nb === 0) return;
    const mb = new Float64Array(D);
    for (const r of rows) for (let j = 0; j < D; j++) mb[j] = mb[j]! + x[r * D + j]!;
    for (let j = 0; j < D; j++) mb[j] = mb[j]! / nb;

    if (!this.covarianceFrozen) {
      // M2_b around the batch mean, then the between-means correction, both into the pooled sum
      // (or, for 'class-average', into the class's own scatter).
      let target = this.scatter;
      if (this.covarianceEstimator === 'class-average') {
        let m2 = this.classScatter.get(label);
        if (!m2) this.classScatter.set(label, (m2 = new Float64Array(D * D)));
        target = m2;
      }
      const z = new Float64Array(D);
      for (const r of rows) {
        for (let j = 0; j < D; j++) z[j] = x[r * D + j]! - mb[j]!;
        addOuterUpper(target, D, z, 1);
      }
      combine(this.covClasses, label, nb, mb, (na, delta) => addOuterUpper(target, D, delta, (na * nb) / (na + nb)));
    }
    combine(this.classes, label, nb, mb, null);
    this.invalidate();
  }

  private invalidate(): void {
    this.cpu = null;
    this.freeGPU();
  }

  private freeGPU(): void {
    if (this.gpu) {
      this.gpu.weight.dispose();
      this.gpu.bias.dispose();
      this.gpu.labels?.dispose();
      this.gpu = null;
    }
    if (this.gpuMaha) {
      this.gpuMaha.precision.dispose();
      this.gpuMaha.quad.dispose();
      this.gpuMaha = null;
    }
  }

  /** S^-1 and m_c = mu_c^T S^-1 mu_c, computed in float64 and uploaded once per change. */
  private uploadMahalanobis(): { precision: Tensor; quad: Tensor } {
    if (this.gpuMaha) return this.gpuMaha;
    const D = this.featureDim;
    const { labels, weight } = this.discriminant();
    const quad = new Float64Array(labels.length);
    labels.forEach((label, i) => {
      const mu = this.classes.get(label)!.mean;
      let q = 0;
      for (let j = 0; j < D; j++) q += mu[j]! * weight[i * D + j]!;
      quad[i] = q;
    });
    const precision = inverseSPD(this.shrunkCovariance(), D);
    this.gpuMaha = {
      precision: tensor(Float32Array.from(precision), [D, D]).keep(),
      quad: tensor(Float32Array.from(quad), [labels.length]).keep(),
    };
    return this.gpuMaha;
  }

  private upload(op: string, features: Tensor): { weight: Tensor; bias: Tensor; labels: Tensor | null } {
    if (this.classes.size === 0) throw new EngramError(`${op}: the head has no classes yet; add some with addClass, update or fit`);
    if (features.dtype !== 'float32' || features.rank !== 2 || features.shape[1] !== this.featureDim) {
      throw new EngramError(`${op}: expected float32 features [N, ${this.featureDim}], got ${features.dtype} ${shapeStr(features.shape)}`);
    }
    if (this.gpu) return this.gpu;
    const { labels, weight, bias } = this.discriminant();
    const C = labels.length;
    // keep(): these outlive whatever scope the caller scores in; invalidate() frees them.
    this.gpu = {
      weight: tensor(Float32Array.from(weight), [C, this.featureDim]).keep(),
      bias: tensor(Float32Array.from(bias), [C]).keep(),
      labels: labels.every((label, i) => label === i) ? null : tensor(Int32Array.from(labels), [C], { dtype: 'int32' }).keep(),
    };
    return this.gpu;
  }
}

/**
 * Chan et al.'s merge of a batch (nb samples, mean mb) into `stats[label]`. `onDelta`, when given,
 * receives n_a and delta = mb - m_a before the mean moves (for the scatter's correction term).
 */
function combine(stats: Map<number, ClassStats>, label: number, nb: number, mb: Float64Array, onDelta: ((na: number, delta: Float64Array) => void) | null): void {
  const s = stats.get(label);
  if (!s) {
    stats.set(label, { n: nb, mean: mb.slice() });
    return;
  }
  const na = s.n;
  const n = na + nb;
  const delta = mb.map((v, j) => v - s.mean[j]!);
  onDelta?.(na, delta);
  for (let j = 0; j < delta.length; j++) s.mean[j] = s.mean[j]! + (delta[j]! * nb) / n;
  s.n = n;
}

/** S += w z z^T on the upper triangle of a row-major D x D matrix. */
function addOuterUpper(s: Float64Array, D: number, z: Float64Array, w: number): void {
  for (let i = 0; i < D; i++) {
    const zi = w * z[i]!;
    if (zi === 0) continue;
    const row = i * D;
    for (let j = i; j < D; j++) s[row + j] = s[row + j]! + zi * z[j]!;
  }
}

function checkShrinkage(alpha: number): number {
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) throw new EngramError(`GaussianHead: shrinkage must be a number in [0, 1], got ${alpha}`);
  return alpha;
}

function checkPriors(p: string): GaussianPriors {
  if (p !== 'uniform' && p !== 'empirical' && p !== 'log-count') throw new EngramError(`GaussianHead: priors must be 'uniform', 'empirical' or 'log-count', got '${p}'`);
  return p;
}

function checkRidge(eps: number): number {
  if (typeof eps !== 'number' || !(eps >= 0 && Number.isFinite(eps))) throw new EngramError(`GaussianHead: ridge must be a finite number >= 0, got ${eps}`);
  return eps;
}
