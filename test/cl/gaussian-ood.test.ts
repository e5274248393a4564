// GaussianHead.mahalanobis and oodScore (Lee et al. 2018) against a float64 reference computed from
// the data alone: class means, the pooled within-class covariance, its shrinkage, a Gauss-Jordan
// inverse, and (x - mu_c)^T S^-1 (x - mu_c) by the definition (no expansion).
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';
import { GaussianHead } from '../../src/cl/heads/gaussian.js';
import { gaussJordanInverse, maxRel } from '../helpers/float64.js';

useGPU();

/** Float64 reference: squared Mahalanobis distances [N, C] of q to the class means of (x, y), pooled covariance shrunk by alpha. */
function mahalanobisRef(x: Float32Array, y: Int32Array, D: number, q: Float32Array, alpha: number): { labels: number[]; d: Float64Array } {
  const labels = [...new Set(y)].sort((a, b) => a - b);
  const n = y.length;
  const means = labels.map((c) => {
    const m = new Float64Array(D);
    let k = 0;
    for (let i = 0; i < n; i++) if (y[i] === c) {
      k++;
      for (let j = 0; j < D; j++) m[j] = m[j]! + x[i * D + j]!;
    }
    return m.map((v) => v / k);
  });
  const cov = new Float64Array(D * D);
  for (let i = 0; i < n; i++) {
    const mu = means[labels.indexOf(y[i]!)]!;
    for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) cov[a * D + b] = cov[a * D + b]! + (x[i * D + a]! - mu[a]!) * (x[i * D + b]! - mu[b]!);
  }
  let trace = 0;
  for (let k = 0; k < D * D; k++) cov[k] = cov[k]! / (n - labels.length);
  for (let a = 0; a < D; a++) trace += cov[a * D + a]!;
  for (let k = 0; k < D * D; k++) cov[k] = cov[k]! * (1 - alpha);
  for (let a = 0; a < D; a++) cov[a * D + a] = cov[a * D + a]! + (alpha * trace) / D;
  const p = gaussJordanInverse(cov, D);
  const N = q.length / D;
  const d = new Float64Array(N * labels.length);
  const z = new Float64Array(D);
  for (let i = 0; i < N; i++) {
    means.forEach((mu, c) => {
      for (let a = 0; a < D; a++) z[a] = q[i * D + a]! - mu[a]!;
      let s = 0;
      for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) s += z[a]! * p[a * D + b]! * z[b]!;
      d[i * labels.length + c] = s;
    });
  }
  return { labels, d };
}

/** Correlated Gaussian classes: x = mu_c + A z with a random mixing matrix A (shared covariance A A^T). */
function data(g: E.Generator, labels: number[], perClass: number, D: number): { x: Float32Array; y: Int32Array } {
  const mix = g.normalArray(D * D);
  const means = labels.map(() => g.normalArray(D, 0, 3));
  const n = labels.length * perClass;
  const x = new Float32Array(n * D);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % labels.length;
    y[i] = labels[c]!;
    const z = g.normalArray(D);
    for (let a = 0; a < D; a++) {
      let v = 0;
      for (let b = 0; b < D; b++) v += mix[a * D + b]! * z[b]!;
      x[i * D + a] = means[c]![a]! + 0.5 * v;
    }
  }
  return { x, y };
}

describe('GaussianHead: Mahalanobis distances and the OOD score', () => {
  it('matches the float64 definition on correlated classes (odd D, labels not 0..C-1), and the OOD score is the row minimum', async () => {
    const g = new E.Generator(11);
    const D = 7;
    const labels = [2, 5, 9];
    const train = data(g, labels, 20, D);
    const head = new GaussianHead(D, { shrinkage: 0.1 });
    await head.update(E.tensor(train.x, [train.y.length, D]), train.y);
    // Queries: near the means (train points) and far away (scaled up).
    const q = new Float32Array(13 * D);
    q.set(train.x.subarray(0, 6 * D));
    for (let k = 6 * D; k < q.length; k++) q[k] = 20 * g.normalArray(1)[0]!;
    const ref = mahalanobisRef(train.x, train.y, D, q, 0.1);
    expect(head.labels).toEqual(ref.labels);
    const d = await head.mahalanobis(E.tensor(q, [13, D])).toArray();
    expect(d.length).toBe(13 * 3);
    expect(maxRel(d, ref.d)).toBeLessThan(1e-4);
    const ood = await head.oodScore(E.tensor(q, [13, D])).toArray();
    const refMin = Array.from({ length: 13 }, (_, i) => Math.min(...ref.d.subarray(i * 3, i * 3 + 3)));
    expect(maxRel(ood, refMin)).toBeLessThan(1e-4);
    // Far queries score far above every near one.
    expect(Math.min(...ood.slice(6))).toBeGreaterThan(10 * Math.max(...ood.slice(0, 6)));
    // With uniform priors, the nearest class in Mahalanobis distance is the predicted class.
    const pred = await head.predict(E.tensor(q, [13, D])).toArray();
    for (let i = 0; i < 13; i++) {
      const row = Array.from(ref.d.subarray(i * 3, i * 3 + 3));
      expect(pred[i]).toBe(labels[row.indexOf(Math.min(...row))]);
    }
    head.dispose();
  });

  it('follows the head after a change: a new class adds a column, a frozen covariance keeps the old columns', async () => {
    const g = new E.Generator(12);
    const D = 5;
    const train = data(g, [0, 1], 15, D);
    const head = new GaussianHead(D, { shrinkage: 0.05, freezeCovariance: true });
    head.covarianceFrozen = false;
    await head.update(E.tensor(train.x, [train.y.length, D]), train.y);
    head.covarianceFrozen = true;
    const q = E.tensor(train.x.subarray(0, 4 * D), [4, D]);
    const before = await head.mahalanobis(q).toArray();
    await head.addClass(7, E.tensor(g.normalArray(3 * D, 0, 4), [3, D]));
    const after = await head.mahalanobis(q).toArray();
    expect(head.labels).toEqual([0, 1, 7]);
    for (let i = 0; i < 4; i++) for (let c = 0; c < 2; c++) expect(after[i * 3 + c]).toBeCloseTo(before[i * 2 + c]!, 3);
    head.dispose();
  });

  it('names the function and the fix on misuse', () => {
    const head = new GaussianHead(3);
    expect(() => head.mahalanobis(E.zeros([2, 3]))).toThrow(/GaussianHead.mahalanobis: the head has no classes yet/);
    expect(() => head.oodScore(E.zeros([2, 3]))).toThrow(/GaussianHead.oodScore: the head has no classes yet/);
  });

  it('rejects features of the wrong width', async () => {
    const head = new GaussianHead(3);
    await head.addClass(0, E.tensor(new Float32Array([1, 2, 3, 2, 3, 5]), [2, 3]));
    expect(() => head.oodScore(E.zeros([2, 4]))).toThrow(/GaussianHead.oodScore: expected float32 features \[N, 3\], got float32 \[2, 4\]/);
    head.dispose();
  });
});
