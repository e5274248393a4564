import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';
import { NCMHead } from '../../src/cl/heads/ncm.js';
import { GaussianHead } from '../../src/cl/heads/gaussian.js';
import { cholesky, choleskySolve, inverseSPD, solveSPD } from '../../src/cl/heads/linalg.js';
import { gaussJordanInverse, maxRel } from '../helpers/float64.js';

useGPU();

// ------------------------------------------------------------------ float64 references and data

function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, K: number, N: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) out[i * N + j] = out[i * N + j]! + a[i * K + k]! * b[k * N + j]!;
  return out;
}

function randomSPD(g: E.Generator, n: number): Float64Array {
  const b = g.normalArray(n * n);
  const bt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) bt[j * n + i] = b[i * n + j]!;
  const a = matmulRef(b, bt, n, n, n);
  for (let i = 0; i < n; i++) a[i * n + i] = a[i * n + i]! + n;
  return a;
}

interface Dataset {
  x: Float32Array;
  y: Int32Array;
  n: number;
  D: number;
}

/**
 * Gaussian classes sharing one covariance A A^T: x = mu_c + A z. `means[c]` per label; `mix` is A
 * (identity times `noise` when omitted).
 */
function gaussians(g: E.Generator, labels: number[], means: Float64Array[], perClass: number, D: number, noise: number, mix?: Float64Array): Dataset {
  const n = labels.length * perClass;
  const x = new Float32Array(n * D);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = g.int(labels.length);
    y[i] = labels[c]!;
    const z = g.normalArray(D);
    for (let j = 0; j < D; j++) {
      let v = 0;
      if (mix) for (let k = 0; k < D; k++) v += mix[j * D + k]! * z[k]!;
      else v = noise * z[j]!;
      x[i * D + j] = means[c]![j]! + v;
    }
  }
  return { x, y, n, D };
}

/** The batch fit of the Gaussian head's statistics, from all data at once, in float64. */
function batchFit(d: Dataset): { labels: number[]; means: Map<number, Float64Array>; counts: Map<number, number>; cov: Float64Array } {
  const { x, y, n, D } = d;
  const means = new Map<number, Float64Array>();
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = y[i]!;
    if (!means.has(c)) {
      means.set(c, new Float64Array(D));
      counts.set(c, 0);
    }
    const m = means.get(c)!;
    for (let j = 0; j < D; j++) m[j] = m[j]! + x[i * D + j]!;
    counts.set(c, counts.get(c)! + 1);
  }
  for (const [c, m] of means) for (let j = 0; j < D; j++) m[j] = m[j]! / counts.get(c)!;
  const cov = new Float64Array(D * D);
  for (let i = 0; i < n; i++) {
    const m = means.get(y[i]!)!;
    for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) cov[a * D + b] = cov[a * D + b]! + (x[i * D + a]! - m[a]!) * (x[i * D + b]! - m[b]!);
  }
  for (let k = 0; k < D * D; k++) cov[k] = cov[k]! / (n - means.size);
  return { labels: [...means.keys()].sort((a, b) => a - b), means, counts, cov };
}

/** g_c(x) = x^T S^-1 mu_c - 1/2 mu_c^T S^-1 mu_c + log pi_c in float64, S the shrunk pooled covariance. */
function ldaScoresRef(fit: ReturnType<typeof batchFit>, q: Float32Array, N: number, D: number, alpha: number, priors: 'uniform' | 'empirical'): Float64Array {
  let trace = 0;
  for (let i = 0; i < D; i++) trace += fit.cov[i * D + i]!;
  const s = fit.cov.map((v) => v * (1 - alpha));
  for (let i = 0; i < D; i++) s[i * D + i] = s[i * D + i]! + (alpha * trace) / D;
  const sInv = gaussJordanInverse(s, D);
  const C = fit.labels.length;
  let total = 0;
  for (const v of fit.counts.values()) total += v;
  const out = new Float64Array(N * C);
  fit.labels.forEach((label, c) => {
    const mu = fit.means.get(label)!;
    const w = matmulRef(sInv, mu, D, D, 1);
    let q0 = 0;
    for (let j = 0; j < D; j++) q0 += mu[j]! * w[j]!;
    const b = -0.5 * q0 + (priors === 'empirical' ? Math.log(fit.counts.get(label)! / total) : 0);
    for (let i = 0; i < N; i++) {
      let v = b;
      for (let j = 0; j < D; j++) v += q[i * D + j]! * w[j]!;
      out[i * C + c] = v;
    }
  });
  return out;
}

function argmaxRows(s: ArrayLike<number>, N: number, C: number, cols = C): number[] {
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (s[i * C + c]! > s[i * C + best]!) best = c;
    out.push(best);
  }
  return out;
}

function rows(d: Dataset, idx: number[]): Float32Array {
  const out = new Float32Array(idx.length * d.D);
  idx.forEach((r, i) => out.set(d.x.subarray(r * d.D, (r + 1) * d.D), i * d.D));
  return out;
}

function accuracy(pred: Int32Array, y: Int32Array): number {
  let ok = 0;
  pred.forEach((p, i) => (ok += p === y[i] ? 1 : 0));
  return ok / y.length;
}

function randomMeans(g: E.Generator, C: number, D: number, radius: number, offset = 0): Float64Array[] {
  return Array.from({ length: C }, () => {
    const v = Float64Array.from(g.normalArray(D));
    const s = Math.hypot(...v);
    return v.map((a) => (a / s) * radius + offset);
  });
}

// ------------------------------------------------------------------ linalg

describe('float64 linear algebra (Cholesky, solve, SPD inverse)', () => {
  it('L L^T = A, A X = B and A A^-1 = I for orders 1, 7, 37, 128', () => {
    const g = new E.Generator(1);
    for (const n of [1, 7, 37, 128]) {
      const a = randomSPD(g, n);
      const l = cholesky(a, n);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(l[i * n + j]).toBe(0);
      const lt = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) lt[j * n + i] = l[i * n + j]!;
      expect(maxRel(matmulRef(l, lt, n, n, n), a)).toBeLessThan(1e-13);
      // Right-hand sides are rows: X = B A^-1, so X A = B.
      const b = Float64Array.from(g.normalArray(3 * n));
      const xs = solveSPD(a, n, b, 3);
      expect(maxRel(matmulRef(xs, a, 3, n, n), b)).toBeLessThan(1e-12);
      expect(maxRel(choleskySolve(l, n, b, 3), xs)).toBe(0);
      const inv = inverseSPD(a, n);
      const eye = new Float64Array(n * n);
      for (let i = 0; i < n; i++) eye[i * n + i] = 1;
      expect(maxRel(matmulRef(a, inv, n, n, n), eye)).toBeLessThan(1e-12);
      expect(maxRel(inv, gaussJordanInverse(a, n))).toBeLessThan(1e-12);
    }
  });

  it('rejects matrices that are not positive definite and wrong sizes', () => {
    expect(() => cholesky([1, 2, 2, 1], 2)).toThrow(/not positive definite \(pivot 1 of 2/);
    expect(() => cholesky([0], 1)).toThrow(/not positive definite/);
    expect(() => cholesky([1, 0, 0], 2)).toThrow(/expected an 2x2 matrix \(4 values\), got 3/);
    expect(() => choleskySolve([1], 1, [1, 2], 1)).toThrow(/right-hand sides must be \[1, 1\]/);
  });
});

// ------------------------------------------------------------------ NCM

describe('NCMHead (nearest class mean on normalized features)', () => {
  const D = 12;
  const labels = [3, 10, 7, 0];

  it('prototypes are re-normalized means of normalized features; streaming equals fit; scores are cosines', async () => {
    const g = new E.Generator(2);
    const d = gaussians(g, labels, randomMeans(g, 4, D, 3, 1), 40, D, 1);
    const head = new NCMHead(D);
    await head.fit(E.tensor(d.x, [d.n, D]), d.y);
    expect(head.labels).toEqual([0, 3, 7, 10]);

    // Reference prototypes.
    const ref = new Map<number, Float64Array>();
    for (let i = 0; i < d.n; i++) {
      const v = Array.from(d.x.subarray(i * D, (i + 1) * D));
      const s = Math.hypot(...v);
      const m = ref.get(d.y[i]!) ?? new Float64Array(D);
      v.forEach((a, j) => (m[j] = m[j]! + a / s));
      ref.set(d.y[i]!, m);
    }
    for (const [c, m] of ref) {
      const s = Math.hypot(...m);
      expect(maxRel(head.classMean(c), m.map((a) => a / s))).toBeLessThan(1e-14);
    }

    // Streaming: uneven multi-class batches, and one class fed through updateClass.
    const streamed = new NCMHead(D);
    let start = 0;
    for (const size of [1, 17, 5, 60, 33, 44]) {
      const idx = Array.from({ length: Math.min(size, d.n - start) }, (_, i) => start + i);
      start += idx.length;
      await streamed.update(E.tensor(rows(d, idx), [idx.length, D]), idx.map((i) => d.y[i]!));
    }
    for (const c of head.labels) {
      expect(maxRel(streamed.classMean(c), head.classMean(c))).toBeLessThan(1e-14);
      expect(streamed.classCount(c)).toBe(head.classCount(c));
    }

    // Scores: cosine similarity to each prototype, columns in label order.
    const N = 23;
    const q = g.normalArray(N * D);
    const scores = await head.scores(E.tensor(q, [N, D])).toArray();
    const C = head.numClasses;
    const expected = new Float64Array(N * C);
    for (let i = 0; i < N; i++) {
      const qi = Array.from(q.subarray(i * D, (i + 1) * D));
      const qn = Math.hypot(...qi);
      head.labels.forEach((c, k) => {
        const m = head.classMean(c);
        expected[i * C + k] = qi.reduce((acc, a, j) => acc + a * m[j]!, 0) / qn;
      });
    }
    expect(maxRel(scores, expected)).toBeLessThan(1e-5);
    // Predictions are the labels (non-contiguous ids) of the best columns.
    const pred = await head.predict(E.tensor(q, [N, D])).toArray();
    expect(Array.from(pred)).toEqual(argmaxRows(expected, N, C).map((k) => head.labels[k]!));
  });

  it('adding a class leaves the other columns unchanged; cached prototypes survive caller scopes', async () => {
    const g = new E.Generator(3);
    const d = gaussians(g, [0, 1, 2], randomMeans(g, 3, D, 3), 30, D, 1);
    const head = new NCMHead(D);
    await head.fit(E.tensor(d.x, [d.n, D]), d.y);
    const q = E.tensor(g.normalArray(19 * D), [19, D]);
    const before = await E.scope(() => head.scores(q)).toArray();
    const p1 = await E.scope(() => head.predict(q)).toArray(); // a second call reuses the cached means
    const extra = gaussians(g, [5], randomMeans(g, 1, D, 3), 10, D, 1);
    await head.addClass(5, E.tensor(extra.x, [extra.n, D]));
    expect(head.labels).toEqual([0, 1, 2, 5]);
    const after = await head.scores(q).toArray();
    for (let i = 0; i < 19; i++) for (let c = 0; c < 3; c++) expect(after[i * 4 + c]).toBe(before[i * 3 + c]);
    expect(Array.from(p1)).toEqual(argmaxRows(before, 19, 3));
    head.dispose();
  });

  it('explains bad input', async () => {
    const head = new NCMHead(4);
    const x = E.zeros([3, 4]);
    expect(() => head.predict(x)).toThrow(/no classes yet/);
    await head.addClass(1, E.ones([2, 4]));
    await expect(head.addClass(1, E.ones([2, 4]))).rejects.toThrow(/class 1 already exists/);
    await expect(head.addClass(2, E.ones([2, 5]))).rejects.toThrow(/features \[2, 5\] have 5 columns, the head has featureDim 4/);
    await expect(head.update(x, [0, 1])).rejects.toThrow(/2 labels for 3 feature rows/);
    await expect(head.update(x, [0, -1, 2])).rejects.toThrow(/non-negative 32-bit integer, got -1/);
    expect(() => head.scores(E.zeros([3, 5]))).toThrow(/expected float32 features \[N, 4\], got float32 \[3, 5\]/);
    expect(() => new NCMHead(0)).toThrow(/featureDim must be a positive integer/);
    // A zero query has no direction: it scores 0 against every class rather than NaN.
    expect(Array.from(await head.scores(E.zeros([1, 4])).toArray())).toEqual([0]);
  });
});

// ------------------------------------------------------------------ Gaussian

describe('GaussianHead (shared-covariance LDA, streaming)', () => {
  it('streaming over uneven batches equals the float64 batch fit (means and pooled covariance) to 1e-6 relative', async () => {
    const g = new E.Generator(4);
    const D = 24;
    const labels = [2, 5, 11, 17, 40];
    // Correlated noise and means far from the origin: a naive sum-of-squares update would cancel.
    const mix = Float64Array.from(g.normalArray(D * D, 0, 0.5));
    const d = gaussians(g, labels, randomMeans(g, 5, D, 4, 50), 300, D, 0, mix);
    const ref = batchFit(d);

    const head = new GaussianHead(D);
    let start = 0;
    let batches = 0;
    while (start < d.n) {
      const size = Math.min(d.n - start, 1 + g.int(97));
      const idx = Array.from({ length: size }, (_, i) => start + i);
      await head.update(E.tensor(rows(d, idx), [size, D]), E.tensor(Int32Array.from(idx.map((i) => d.y[i]!)), [size], { dtype: 'int32' }));
      start += size;
      batches++;
    }
    expect(batches).toBeGreaterThan(20);
    let meanErr = 0;
    for (const c of ref.labels) {
      meanErr = Math.max(meanErr, maxRel(head.classMean(c), ref.means.get(c)!));
      expect(head.classCount(c)).toBe(ref.counts.get(c));
    }
    const covErr = maxRel(head.covariance(), ref.cov);
    console.log(`GaussianHead streaming (${batches} batches) vs batch fit: max relative error means ${meanErr.toExponential(2)}, pooled covariance ${covErr.toExponential(2)}`);
    expect(meanErr).toBeLessThan(1e-6);
    expect(covErr).toBeLessThan(1e-6);

    // fit() in one batch agrees too, and updateClass of one class in pieces equals its batch.
    const once = new GaussianHead(D);
    await once.fit(E.tensor(d.x, [d.n, D]), d.y);
    expect(maxRel(once.covariance(), ref.cov)).toBeLessThan(1e-6);
    const perClass = new GaussianHead(D);
    for (const c of labels) {
      const idx = [...d.y.keys()].filter((i) => d.y[i] === c);
      for (let s = 0; s < idx.length; s += 37) {
        const part = idx.slice(s, s + 37);
        await perClass.updateClass(c, E.tensor(rows(d, part), [part.length, D]));
      }
    }
    expect(maxRel(perClass.covariance(), ref.cov)).toBeLessThan(1e-6);
  });

  it('scores and predictions equal a float64 reference of the discriminant (uniform and empirical priors)', async () => {
    const g = new E.Generator(5);
    const D = 20;
    const labels = [1, 4, 6, 9];
    const mix = Float64Array.from(g.normalArray(D * D, 0, 0.4));
    const d = gaussians(g, labels, randomMeans(g, 4, D, 2, 0.5), 60, D, 0, mix);
    const ref = batchFit(d);
    const N = 101;
    const q = g.normalArray(N * D, 0.5, 2);
    for (const priors of ['uniform', 'empirical'] as const) {
      for (const alpha of [0, 0.1]) {
        const head = new GaussianHead(D, { shrinkage: alpha, priors });
        await head.fit(E.tensor(d.x, [d.n, D]), d.y);
        const expected = ldaScoresRef(ref, q, N, D, alpha, priors);
        const scores = await head.scores(E.tensor(q, [N, D])).toArray();
        expect(maxRel(scores, expected)).toBeLessThan(1e-5);
        // The CPU discriminant is float64-exact; the GPU one differs by float32 rounding only.
        const C = labels.length;
        const dis = head.discriminant();
        const cpuScores = new Float64Array(N * C);
        for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) {
          let v = dis.bias[c]!;
          for (let j = 0; j < D; j++) v += q[i * D + j]! * dis.weight[c * D + j]!;
          cpuScores[i * C + c] = v;
        }
        expect(maxRel(cpuScores, expected)).toBeLessThan(1e-10);
        const pred = Array.from(await head.predict(E.tensor(q, [N, D])).toArray());
        const want = argmaxRows(expected, N, C).map((k) => labels[k]!);
        // Predictions agree wherever the reference's top two are not within float32 noise.
        let compared = 0;
        for (let i = 0; i < N; i++) {
          const s = Array.from(expected.subarray(i * C, (i + 1) * C)).sort((a, b) => b - a);
          if (s[0]! - s[1]! < 1e-3 * Math.abs(s[0]!)) continue;
          expect(pred[i]).toBe(want[i]);
          compared++;
        }
        expect(compared).toBeGreaterThan(N * 0.9);
        head.dispose();
      }
    }
  });

  it('a class added later changes only its own row when the covariance is frozen', async () => {
    const g = new E.Generator(6);
    const D = 16;
    const d = gaussians(g, [0, 1, 2], randomMeans(g, 3, D, 3), 50, D, 1);
    const head = new GaussianHead(D, { shrinkage: 0.05 });
    await head.fit(E.tensor(d.x, [d.n, D]), d.y);
    const before = head.discriminant();
    const q = E.tensor(g.normalArray(31 * D), [31, D]);
    const s0 = await E.scope(() => head.scores(q)).toArray();
    const p0 = Array.from(await E.scope(() => head.predict(q)).toArray());

    head.covarianceFrozen = true;
    const extra = gaussians(g, [7], randomMeans(g, 1, D, 3), 25, D, 1);
    await head.addClass(7, E.tensor(extra.x, [extra.n, D]));
    const after = head.discriminant();
    expect(after.labels).toEqual([0, 1, 2, 7]);
    expect(Array.from(after.weight.subarray(0, 3 * D))).toEqual(Array.from(before.weight));
    expect(Array.from(after.bias.subarray(0, 3))).toEqual(Array.from(before.bias));
    const s1 = await head.scores(q).toArray();
    for (let i = 0; i < 31; i++) for (let c = 0; c < 3; c++) expect(s1[i * 4 + c]).toBeCloseTo(s0[i * 3 + c]!, 4);
    expect(argmaxRows(s1, 31, 4, 3)).toEqual(p0);
    // The new row is its own class's discriminant.
    const newMean = head.classMean(7);
    expect(maxRel(newMean, batchFit(extra).means.get(7)!)).toBeLessThan(1e-12);

    // With a plastic covariance the new class's scatter joins the pool (so every row moves).
    head.covarianceFrozen = false;
    const cov0 = head.covariance();
    const more = gaussians(g, [7], [newMean], 10, D, 1);
    await head.update(E.tensor(more.x, [more.n, D]), more.y);
    expect(head.covarianceSamples).toEqual({ samples: 3 * 50 + 10, classes: 4 });
    expect(maxRel(head.covariance(), cov0)).toBeGreaterThan(1e-6);
    head.dispose();
  });

  it('both heads classify well-separated Gaussians (5 classes, D = 16) ~perfectly; with correlated noise LDA beats NCM', async () => {
    const g = new E.Generator(7);
    const D = 16;
    const labels = [0, 1, 2, 3, 4];
    const sample = (means: Float64Array[], mix?: Float64Array) => gaussians(g, labels, means, 60, D, 1, mix);

    const easyMeans = randomMeans(g, 5, D, 8);
    const tr = sample(easyMeans);
    const te = sample(easyMeans);
    const ncm = new NCMHead(D);
    const lda = new GaussianHead(D);
    await ncm.fit(E.tensor(tr.x, [tr.n, D]), tr.y);
    await lda.fit(E.tensor(tr.x, [tr.n, D]), tr.y);
    const xt = E.tensor(te.x, [te.n, D]);
    const accN = accuracy((await ncm.predict(xt).toArray()) as Int32Array, te.y);
    const accL = accuracy((await lda.predict(xt).toArray()) as Int32Array, te.y);
    expect(accN).toBeGreaterThanOrEqual(0.99);
    expect(accL).toBeGreaterThanOrEqual(0.99);

    // Correlated case: large noise along a few shared random directions, class means apart by a
    // small amount in directions where the noise is small, all far from the origin (one cone).
    const basis = Float64Array.from(g.normalArray(D * D));
    const mix = new Float64Array(D * D);
    for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) mix[j * D + k] = basis[j * D + k]! * (k < 3 ? 3 : 0.15);
    const center = Float64Array.from({ length: D }, () => 6);
    const hardMeans = labels.map(() => center.map((v) => v + 0.8 * g.normal()));
    const tr2 = sample(hardMeans, mix);
    const te2 = sample(hardMeans, mix);
    ncm.reset();
    await ncm.fit(E.tensor(tr2.x, [tr2.n, D]), tr2.y);
    await lda.fit(E.tensor(tr2.x, [tr2.n, D]), tr2.y);
    const xt2 = E.tensor(te2.x, [te2.n, D]);
    const hardN = accuracy((await ncm.predict(xt2).toArray()) as Int32Array, te2.y);
    const hardL = accuracy((await lda.predict(xt2).toArray()) as Int32Array, te2.y);
    console.log(`separated: NCM ${accN}, LDA ${accL}; correlated: NCM ${hardN.toFixed(3)}, LDA ${hardL.toFixed(3)}`);
    expect(hardL).toBeGreaterThan(0.9);
    expect(hardL - hardN).toBeGreaterThan(0.3);
    ncm.dispose();
    lda.dispose();
  });

  it('explains bad input and an uninvertible covariance', async () => {
    expect(() => new GaussianHead(4, { shrinkage: 1.5 })).toThrow(/shrinkage must be a number in \[0, 1\], got 1.5/);
    expect(() => new GaussianHead(4, { priors: 'flat' as 'uniform' })).toThrow(/priors must be 'uniform', 'empirical' or 'log-count'/);
    const head = new GaussianHead(6, { shrinkage: 0 });
    expect(() => head.scores(E.zeros([2, 6]))).toThrow(/no classes yet/);
    // Two samples per class in D = 6: the pooled covariance has rank 2 < 6.
    const g = new E.Generator(8);
    await head.fit(E.tensor(g.normalArray(4 * 6), [4, 6]), [0, 0, 1, 1]);
    expect(() => head.predict(E.zeros([2, 6]))).toThrow(/shrunk covariance is not positive definite \(D = 6, 4 samples in 2 classes, shrinkage 0\); raise shrinkage/);
    head.shrinkage = 0.1; // invalidates; now invertible
    expect((await head.predict(E.zeros([2, 6])).toArray()).length).toBe(2);
    // One sample per class: no within-class spread yet, so S = I (Euclidean nearest mean).
    const single = new GaussianHead(2);
    await single.fit(E.tensor([0, 0, 4, 4], [2, 2]), [0, 1]);
    expect(Array.from(single.shrunkCovariance())).toEqual([1, 0, 0, 1]);
    expect(Array.from(await single.predict(E.tensor([1, 1, 3, 2.5], [2, 2])).toArray())).toEqual([0, 1]);
    await expect(single.addClass(1, E.ones([1, 2]))).rejects.toThrow(/class 1 already exists/);
    await expect(single.update(E.ones([2, 2]), E.tensor([0, 1], [2]))).rejects.toThrow(/label tensor must be 1-D int32, got float32 \[2\]/);
  });
});
