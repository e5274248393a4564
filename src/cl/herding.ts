// Herding exemplar selection (iCaRL, Rebuffi et al. 2017, Algorithm 4 "ConstructExemplarSet"):
// with phi(x) the L2-normalized features of one class and mu their mean, pick greedily
//     p_k = argmin_i || mu - (phi(x_i) + sum_{j<k} phi(p_j)) / k ||
// among the samples not yet picked. The result is in selection order, and because each pick depends
// only on the earlier ones the first k of an m-selection are exactly the k-selection: reducing an
// exemplar set to a smaller memory budget is a truncation.
//
// CPU float64: n up to a few thousand and D ~ 512 cost O(m n D) multiply-adds (e.g. 200 picks among
// 5000 samples at D = 512 is ~0.5 G, a fraction of a second).

import { EngramError } from '../engine/runtime.js';
import type { Tensor } from '../engine/tensor.js';
import { readFeatures } from './heads/linalg.js';

/** Options of `herdingSelect()`. */
export interface HerdingOptions {
  /** L2-normalize each feature vector first, as iCaRL does. Default true. */
  normalize?: boolean;
}

/**
 * Indices of m exemplars chosen by herding from n feature vectors of dimension D (row-major, any
 * numeric array), in selection order. Ties go to the lowest index. 0 <= m <= n.
 */
export function herdingSelect(features: ArrayLike<number>, n: number, D: number, m: number, opts: HerdingOptions = {}): number[] {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(D) || D < 1) throw new EngramError(`herdingSelect: n and D must be integers with n >= 0 and D >= 1, got n=${n}, D=${D}`);
  if (features.length !== n * D) throw new EngramError(`herdingSelect: ${features.length} values are not n x D = ${n} x ${D}`);
  if (!Number.isInteger(m) || m < 0 || m > n) throw new EngramError(`herdingSelect: m must be an integer in [0, n = ${n}], got ${m}`);

  const phi = new Float64Array(n * D);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = 0; j < D; j++) ss += features[i * D + j]! * features[i * D + j]!;
    const inv = opts.normalize === false ? 1 : ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let j = 0; j < D; j++) phi[i * D + j] = features[i * D + j]! * inv;
  }
  const mu = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) mu[j] = mu[j]! + phi[i * D + j]!;
  for (let j = 0; j < D; j++) mu[j] = mu[j]! / Math.max(n, 1);

  // || mu - (s + phi_i) / k || = || k mu - s - phi_i || / k with s the sum of the picks so far, so
  // each step is a nearest-neighbour search for the target t = k mu - s.
  const picked = new Uint8Array(n);
  const sumSel = new Float64Array(D);
  const target = new Float64Array(D);
  const out: number[] = [];
  for (let k = 1; k <= m; k++) {
    for (let j = 0; j < D; j++) target[j] = k * mu[j]! - sumSel[j]!;
    let best = -1;
    let bestDist = Infinity;
    for (let i = 0; i < n; i++) {
      if (picked[i]) continue;
      const o = i * D;
      let d2 = 0;
      for (let j = 0; j < D; j++) {
        const e = target[j]! - phi[o + j]!;
        d2 += e * e;
      }
      if (d2 < bestDist) {
        bestDist = d2;
        best = i;
      }
    }
    if (best < 0) best = picked.indexOf(0); // only NaN features: keep the count, in index order
    picked[best] = 1;
    out.push(best);
    for (let j = 0; j < D; j++) sumSel[j] = sumSel[j]! + phi[best * D + j]!;
  }
  return out;
}

/** herdingSelect on a float32 feature tensor [n, D] (read back to the CPU once). */
export async function herdingSelectTensor(features: Tensor, m: number, opts: HerdingOptions = {}): Promise<number[]> {
  const x = await readFeatures('herdingSelect', features);
  return herdingSelect(x, features.shape[0]!, features.shape[1]!, m, opts);
}
