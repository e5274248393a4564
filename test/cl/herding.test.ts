import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';
import { herdingSelect, herdingSelectTensor } from '../../src/cl/herding.js';

useGPU();

/** Features of one class: a shared offset plus noise, so normalized vectors spread over a cap. */
function classFeatures(g: E.Generator, n: number, D: number): Float32Array {
  const x = g.normalArray(n * D);
  for (let i = 0; i < n * D; i++) x[i] = x[i]! + (i % D < 3 ? 2 : 0);
  return x;
}

function normalizedRows(x: ArrayLike<number>, n: number, D: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const v = Array.from({ length: D }, (_, j) => x[i * D + j]!);
    const s = Math.hypot(...v);
    return v.map((a) => a / s);
  });
}

function meanOf(vs: number[][], D: number): number[] {
  const m = new Array<number>(D).fill(0);
  for (const v of vs) v.forEach((a, j) => (m[j] = m[j]! + a / vs.length));
  return m;
}

/** iCaRL's Algorithm 4 written out literally: the distance of mu to the mean of picks-plus-candidate. */
function herdingBruteForce(x: ArrayLike<number>, n: number, D: number, m: number): number[] {
  const phi = normalizedRows(x, n, D);
  const mu = meanOf(phi, D);
  const out: number[] = [];
  for (let k = 1; k <= m; k++) {
    let best = -1;
    let bestDist = Infinity;
    for (let i = 0; i < n; i++) {
      if (out.includes(i)) continue;
      const cand = [...out, i].map((r) => phi[r]!);
      const dist = Math.hypot(...mu.map((a, j) => a - meanOf(cand, D)[j]!));
      if (dist < bestDist) {
        bestDist = dist;
        best = i;
      }
    }
    out.push(best);
  }
  return out;
}

/** || mu - mean of the first k picks || for k = 1..picks.length. */
function meanErrors(phi: number[][], picks: number[], D: number): number[] {
  const mu = meanOf(phi, D);
  const errs: number[] = [];
  const s = new Array<number>(D).fill(0);
  picks.forEach((p, k) => {
    phi[p]!.forEach((a, j) => (s[j] = s[j]! + a));
    errs.push(Math.hypot(...mu.map((a, j) => a - s[j]! / (k + 1))));
  });
  return errs;
}

describe('herding exemplar selection (iCaRL Algorithm 4)', () => {
  it('matches a literal brute-force implementation on small data', () => {
    const g = new E.Generator(11);
    for (const [n, D, m] of [[1, 1, 1], [7, 3, 7], [30, 5, 30], [37, 8, 12]] as const) {
      const x = classFeatures(g, n, D);
      expect(herdingSelect(x, n, D, m)).toEqual(herdingBruteForce(x, n, D, m));
    }
  });

  it('has the prefix property, returns distinct indices, and m = n gives a permutation', () => {
    const g = new E.Generator(12);
    const n = 120;
    const D = 16;
    const x = classFeatures(g, n, D);
    const all = herdingSelect(x, n, D, 40);
    for (const k of [0, 1, 5, 10, 20, 39]) expect(herdingSelect(x, n, D, k)).toEqual(all.slice(0, k));
    expect(new Set(all).size).toBe(40);
    const perm = herdingSelect(x, n, D, n);
    expect([...perm].sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
    expect(perm.slice(0, 40)).toEqual(all);
  });

  it('the mean of the picks approaches the class mean faster than random selection', () => {
    const g = new E.Generator(13);
    const n = 400;
    const D = 32;
    const x = classFeatures(g, n, D);
    const phi = normalizedRows(x, n, D);
    const m = 50;
    const herd = meanErrors(phi, herdingSelect(x, n, D, m), D);
    // Average over random orders.
    const trials = 20;
    const rand = new Array<number>(m).fill(0);
    for (let t = 0; t < trials; t++) {
      const order = [...Array(n).keys()];
      for (let i = n - 1; i > 0; i--) {
        const j = g.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      meanErrors(phi, order.slice(0, m), D).forEach((e, k) => (rand[k] = rand[k]! + e / trials));
    }
    for (const k of [5, 10, 20, 50]) expect(herd[k - 1]!).toBeLessThan(rand[k - 1]!);
    // Herding's error falls roughly like 1/k, random's like 1/sqrt(k).
    expect(herd[m - 1]!).toBeLessThan(0.25 * rand[m - 1]!);
    expect(herd[m - 1]!).toBeLessThan(herd[4]! / 4);
  });

  it('reads a feature tensor back once; normalize: false uses raw features', async () => {
    const g = new E.Generator(14);
    const n = 45;
    const D = 7;
    const x = classFeatures(g, n, D);
    expect(await herdingSelectTensor(E.tensor(x, [n, D]), 9)).toEqual(herdingSelect(x, n, D, 9));
    // Scaled rows are identical after normalization but not without it.
    const scaled = x.map((v, i) => v * (1 + Math.floor(i / D)));
    expect(herdingSelect(scaled, n, D, 9)).toEqual(herdingSelect(x, n, D, 9));
    expect(herdingSelect(scaled, n, D, 9, { normalize: false })).not.toEqual(herdingSelect(x, n, D, 9));
  });

  it('explains bad input', async () => {
    expect(() => herdingSelect(new Float32Array(6), 2, 4, 1)).toThrow(/6 values are not n x D = 2 x 4/);
    expect(() => herdingSelect(new Float32Array(8), 2, 4, 3)).toThrow(/m must be an integer in \[0, n = 2\], got 3/);
    expect(() => herdingSelect(new Float32Array(8), 2, 0, 1)).toThrow(/n and D must be integers/);
    expect(herdingSelect(new Float32Array(0), 0, 4, 0)).toEqual([]);
    await expect(herdingSelectTensor(E.zeros([2, 3, 4]), 1)).rejects.toThrow(/features must be 2-D \[n, D\], got shape \[2, 3, 4\]/);
  });
});
