// Float64 reference of scaled dot-product attention: out = softmax(q kᵀ · scale + mask) v, and its
// vector-Jacobian product. q [B..., L, E], k [B..., S, E], v [B..., S, Ev] with equal batch dimensions;
// the additive mask is [L, S] (shared by every batch) or [B..., L, S].

import { arr, numel, type Arr } from './arr.js';

interface Dims { B: number; L: number; S: number; E: number; Ev: number }

function dims(q: Arr, k: Arr, v: Arr): Dims {
  const L = q.shape[q.shape.length - 2]!;
  const E = q.shape[q.shape.length - 1]!;
  const S = k.shape[k.shape.length - 2]!;
  const Ev = v.shape[v.shape.length - 1]!;
  return { B: numel(q.shape) / (L * E), L, S, E, Ev };
}

function maskAt(mask: Arr | null, b: number, i: number, j: number, d: Dims): number {
  if (!mask) return 0;
  const n = d.L * d.S;
  return mask.data[(numel(mask.shape) === n ? 0 : b * n) + i * d.S + j]!;
}

/** Probabilities P [B, L, S] of softmax(q kᵀ · scale + mask). */
function probs(q: Arr, k: Arr, mask: Arr | null, scale: number, d: Dims): Float64Array {
  const P = new Float64Array(d.B * d.L * d.S);
  for (let b = 0; b < d.B; b++) {
    for (let i = 0; i < d.L; i++) {
      const row = new Float64Array(d.S);
      let max = -Infinity;
      for (let j = 0; j < d.S; j++) {
        let s = 0;
        for (let e = 0; e < d.E; e++) s += q.data[(b * d.L + i) * d.E + e]! * k.data[(b * d.S + j) * d.E + e]!;
        row[j] = s * scale + maskAt(mask, b, i, j, d);
        max = Math.max(max, row[j]!);
      }
      let sum = 0;
      for (let j = 0; j < d.S; j++) sum += (row[j] = Math.exp(row[j]! - max));
      for (let j = 0; j < d.S; j++) P[(b * d.L + i) * d.S + j] = row[j]! / sum;
    }
  }
  return P;
}

/** softmax(q kᵀ · scale + mask) v, [B..., L, Ev]; scale defaults to 1/sqrt(E). */
export function sdpaRef(q: Arr, k: Arr, v: Arr, mask: Arr | null = null, scale?: number): Arr {
  const d = dims(q, k, v);
  const P = probs(q, k, mask, scale ?? 1 / Math.sqrt(d.E), d);
  const out = arr([...q.shape.slice(0, -1), d.Ev]);
  for (let b = 0; b < d.B; b++) for (let i = 0; i < d.L; i++) for (let c = 0; c < d.Ev; c++) {
    let s = 0;
    for (let j = 0; j < d.S; j++) s += P[(b * d.L + i) * d.S + j]! * v.data[(b * d.S + j) * d.Ev + c]!;
    out.data[(b * d.L + i) * d.Ev + c] = s;
  }
  return out;
}

/** Gradients [dq, dk, dv] of sum(g * sdpaRef(q, k, v, mask, scale)). */
export function sdpaGrad(g: Arr, q: Arr, k: Arr, v: Arr, mask: Arr | null = null, scale?: number): [Arr, Arr, Arr] {
  const d = dims(q, k, v);
  const sc = scale ?? 1 / Math.sqrt(d.E);
  const P = probs(q, k, mask, sc, d);
  const dq = arr(q.shape);
  const dk = arr(k.shape);
  const dv = arr(v.shape);
  for (let b = 0; b < d.B; b++) {
    for (let i = 0; i < d.L; i++) {
      // dP = g vᵀ; dS = P (dP - sum_j P dP)
      const dP = new Float64Array(d.S);
      let dot = 0;
      for (let j = 0; j < d.S; j++) {
        let s = 0;
        for (let c = 0; c < d.Ev; c++) s += g.data[(b * d.L + i) * d.Ev + c]! * v.data[(b * d.S + j) * d.Ev + c]!;
        dP[j] = s;
        dot += s * P[(b * d.L + i) * d.S + j]!;
      }
      for (let j = 0; j < d.S; j++) {
        const p = P[(b * d.L + i) * d.S + j]!;
        for (let c = 0; c < d.Ev; c++) dv.data[(b * d.S + j) * d.Ev + c]! += p * g.data[(b * d.L + i) * d.Ev + c]!;
        const dS = p * (dP[j]! - dot) * sc;
        for (let e = 0; e < d.E; e++) {
          dq.data[(b * d.L + i) * d.E + e]! += dS * k.data[(b * d.S + j) * d.E + e]!;
          dk.data[(b * d.S + j) * d.E + e]! += dS * q.data[(b * d.L + i) * d.E + e]!;
        }
      }
    }
  }
  return [dq, dk, dv];
}
