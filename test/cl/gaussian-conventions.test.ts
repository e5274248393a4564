// The Mahalanobis post's GaussianHead conventions (covariance 'class-average', ridge, priors
// 'log-count') against float64 references computed here, independently of the head's streaming
// statistics and Cholesky solves: a 2-D example worked by hand, then random data with unequal class
// sizes (where the equal-weight average differs from the pooled estimate).
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';
import { GaussianHead } from '../../src/cl/heads/gaussian.js';
import { gaussJordanInverse, maxRel } from '../helpers/float64.js';

useGPU();

/** The post's head in float64, from the raw rows: per-class means and biased covariances, their equal-weight average + eps I, log n_c. */
function postReference(x: ArrayLike<number>, y: readonly number[], D: number, eps: number) {
  const labels = [...new Set(y)].sort((a, b) => a - b);
  const means = new Map<number, Float64Array>();
  const counts = new Map<number, number>();
  for (const c of labels) {
    const m = new Float64Array(D);
    let n = 0;
    y.forEach((l, i) => {
      if (l !== c) return;
      n++;
      for (let j = 0; j < D; j++) m[j] = m[j]! + x[i * D + j]!;
    });
    means.set(c, m.map((v) => v / n));
    counts.set(c, n);
  }
  const sigma = new Float64Array(D * D);
  for (const c of labels) {
    const m = means.get(c)!;
    const n = counts.get(c)!;
    y.forEach((l, i) => {
      if (l !== c) return;
      for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) sigma[a * D + b] = sigma[a * D + b]! + ((x[i * D + a]! - m[a]!) * (x[i * D + b]! - m[b]!)) / n / labels.length;
    });
  }
  const S = sigma.slice();
  for (let a = 0; a < D; a++) S[a * D + a] = S[a * D + a]! + eps;
  const P = gaussJordanInverse(S, D);
  /** Full Gaussian log-density score: -1/2 (q - mu)^T S^-1 (q - mu) + log n_c. */
  const mahalanobisScore = (q: ArrayLike<number>, c: number): number => {
    const m = means.get(c)!;
    let s = 0;
    for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) s += (q[a]! - m[a]!) * P[a * D + b]! * (q[b]! - m[b]!);
    return -0.5 * s + Math.log(counts.get(c)!);
  };
  return { labels, means, counts, sigma, S, mahalanobisScore };
}

describe("GaussianHead: the Mahalanobis post's conventions", () => {
  it('a 2-D example by hand: equal-weight average of per-class biased covariances + ridge; log-count priors', async () => {
    // Class 0: (0,0), (2,0), (1,3) -> mean (1,1), biased covariance [[2/3, 0], [0, 2]].
    // Class 1: (5,5), (7,5)        -> mean (6,5), biased covariance [[1, 0], [0, 0]].
    // Average: [[5/6, 0], [0, 1]]; pooled unbiased (the default): scatter [[4,0],[0,6]] / (5 - 2) = [[4/3, 0], [0, 2]].
    const x = Float32Array.from([0, 0, 2, 0, 1, 3, 5, 5, 7, 5]);
    const y = [0, 0, 0, 1, 1];
    const post = new GaussianHead(2, { covariance: 'class-average', shrinkage: 0, ridge: 1e-6, priors: 'log-count' });
    await post.fit(E.tensor(x, [5, 2]), y);
    const cov = post.covariance();
    expect(Array.from(cov)).toEqual([expect.closeTo(5 / 6, 15), 0, 0, expect.closeTo(1, 15)]);
    expect(Array.from(post.shrunkCovariance())).toEqual([expect.closeTo(5 / 6 + 1e-6, 15), 0, 0, expect.closeTo(1 + 1e-6, 15)]);
    const pooled = new GaussianHead(2, { shrinkage: 0 });
    await pooled.fit(E.tensor(x, [5, 2]), y);
    expect(Array.from(pooled.covariance())).toEqual([expect.closeTo(4 / 3, 15), 0, 0, expect.closeTo(2, 15)]);
    // Discriminant: w_c = S^-1 mu_c, b_c = -1/2 mu_c^T S^-1 mu_c + log n_c, S = diag(5/6 + 1e-6, 1 + 1e-6).
    const s0 = 5 / 6 + 1e-6;
    const s1 = 1 + 1e-6;
    const dis = post.discriminant();
    expect(Array.from(dis.weight)).toEqual([1 / s0, 1 / s1, 6 / s0, 5 / s1].map((v) => expect.closeTo(v, 12)));
    expect(dis.bias[0]).toBeCloseTo(-0.5 * (1 / s0 + 1 / s1) + Math.log(3), 12);
    expect(dis.bias[1]).toBeCloseTo(-0.5 * (36 / s0 + 25 / s1) + Math.log(2), 12);
    // 'empirical' (log n_c / N) differs from 'log-count' by log N in every class.
    const emp = new GaussianHead(2, { covariance: 'class-average', shrinkage: 0, ridge: 1e-6, priors: 'empirical' });
    await emp.fit(E.tensor(x, [5, 2]), y);
    expect(emp.discriminant().bias[0]! - dis.bias[0]!).toBeCloseTo(-Math.log(5), 12);
    expect(emp.discriminant().bias[1]! - dis.bias[1]!).toBeCloseTo(-Math.log(5), 12);
    for (const h of [post, pooled, emp]) h.dispose();
  });

  it('random data, classes added one at a time: covariance, discriminant and predictions equal the float64 Mahalanobis reference', async () => {
    const g = new E.Generator(21);
    const D = 6;
    // Unequal class sizes and spreads, so the equal-weight average is far from the pooled estimate.
    const spec = [[0, 200, 0.5], [1, 40, 2], [2, 90, 1], [3, 15, 3], [4, 60, 1.5]] as const;
    const xs: number[] = [];
    const ys: number[] = [];
    for (const [c, n, spread] of spec) {
      const mu = g.normalArray(D, 0, 3);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < D; j++) xs.push(mu[j]! + spread * g.normalArray(1)[0]! * (1 + j / D));
        ys.push(c);
      }
    }
    const x = Float32Array.from(xs);
    const eps = 1e-6;
    const head = new GaussianHead(D, { covariance: 'class-average', shrinkage: 0, ridge: eps, priors: 'log-count' });
    // Class 0 first, then 1..4 one at a time (as the preset adds them), each in two uneven batches.
    for (const [c] of spec) {
      const rows = ys.flatMap((l, i) => (l === c ? [i] : []));
      for (const part of [rows.slice(0, 7), rows.slice(7)]) {
        if (!part.length) continue;
        const xb = new Float32Array(part.length * D);
        part.forEach((r, k) => xb.set(x.subarray(r * D, (r + 1) * D), k * D));
        await head.updateClass(c, E.tensor(xb, [part.length, D]));
      }
    }
    const ref = postReference(x, ys, D, eps);
    expect(maxRel(head.covariance(), ref.sigma)).toBeLessThan(1e-12);
    expect(maxRel(head.shrunkCovariance(), ref.S)).toBeLessThan(1e-12);
    // Not the pooled estimate (the test would not tell the conventions apart otherwise).
    const pooled = new GaussianHead(D, { shrinkage: 0 });
    await pooled.fit(E.tensor(x, [ys.length, D]), ys);
    expect(maxRel(pooled.covariance(), ref.sigma)).toBeGreaterThan(0.1);

    // Scores: the head's linear discriminant equals the full Mahalanobis score up to -1/2 q^T S^-1 q,
    // the same for every class; so score differences between classes must match.
    const N = 50;
    const q = Float32Array.from(g.normalArray(N * D, 0, 4));
    const scores = await head.scores(E.tensor(q, [N, D])).toArray();
    const dis = head.discriminant();
    let worst = 0;
    let agree = 0;
    const pred = Array.from(await head.predict(E.tensor(q, [N, D])).toArray());
    for (let i = 0; i < N; i++) {
      const qi = q.subarray(i * D, (i + 1) * D);
      const refScores = ref.labels.map((c) => ref.mahalanobisScore(qi, c));
      const cpu = ref.labels.map((_, c) => {
        let v = dis.bias[c]!;
        for (let j = 0; j < D; j++) v += qi[j]! * dis.weight[c * D + j]!;
        return v;
      });
      for (let c = 1; c < ref.labels.length; c++) {
        const want = refScores[c]! - refScores[0]!;
        worst = Math.max(worst, Math.abs(cpu[c]! - cpu[0]! - want) / Math.max(1, Math.abs(want)));
        // GPU scores in float32.
        const got = scores[i * ref.labels.length + c]! - scores[i * ref.labels.length]!;
        expect(Math.abs(got - want) / Math.max(1, Math.abs(want))).toBeLessThan(1e-4);
      }
      const best = refScores.indexOf(Math.max(...refScores));
      if (pred[i] === ref.labels[best]) agree++;
    }
    expect(worst).toBeLessThan(1e-10);
    expect(agree).toBe(N);
    head.dispose();
    pooled.dispose();
  });

  it('validates the new options; frozen covariance keeps the class-average estimate', async () => {
    expect(() => new GaussianHead(2, { ridge: -1 })).toThrow(/ridge must be a finite number >= 0/);
    expect(() => new GaussianHead(2, { covariance: 'median' as never })).toThrow(/covariance must be 'pooled' or 'class-average'/);
    expect(() => new GaussianHead(2, { priors: 'flat' as never })).toThrow(/'uniform', 'empirical' or 'log-count'/);
    const head = new GaussianHead(2, { covariance: 'class-average', shrinkage: 0 });
    await head.fit(E.tensor(Float32Array.from([0, 0, 2, 0, 1, 3, 5, 5, 7, 5]), [5, 2]), [0, 0, 0, 1, 1]);
    head.covarianceFrozen = true;
    await head.addClass(2, E.tensor(Float32Array.from([10, 10, 20, 30]), [2, 2]));
    expect(Array.from(head.covariance())).toEqual([expect.closeTo(5 / 6, 15), 0, 0, expect.closeTo(1, 15)]);
    head.ridge = 0.5;
    expect(head.shrunkCovariance()[0]).toBeCloseTo(5 / 6 + 0.5, 15);
    head.dispose();
  });
});
