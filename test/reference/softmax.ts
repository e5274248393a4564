// Float64 references for softmax, log-softmax and cross-entropy: forward and analytic gradient.
import { arr, type Arr } from './arr.js';

/** Visit each softmax row along `dim` as a list of flat indices. */
function rows(tensorShape: number[], dim: number, f: (idx: number[]) => void): void {
  const shape = tensorShape.length ? tensorShape : [1]; // a scalar is a row of one
  const d = dim < 0 ? dim + shape.length : dim;
  const outer = shape.slice(0, d).reduce((a, b) => a * b, 1);
  const r = shape[d]!;
  const inner = shape.slice(d + 1).reduce((a, b) => a * b, 1);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) f(Array.from({ length: r }, (_, k) => (o * r + k) * inner + i));
  }
}

function logSumExp(v: number[]): number {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
}

export function softmaxRef(log: boolean, dim = -1) {
  return {
    forward(x: Arr): Arr {
      const y = arr(x.shape);
      rows(x.shape, dim, (idx) => {
        const lse = logSumExp(idx.map((i) => x.data[i]!));
        for (const i of idx) y.data[i] = log ? x.data[i]! - lse : Math.exp(x.data[i]! - lse);
      });
      return y;
    },
    // d softmax_i / d x_k = y_i (delta_ik - y_k); d logsoftmax_i / d x_k = delta_ik - y_k (y = softmax)
    grad(g: Arr, x: Arr): Arr[] {
      const dx = arr(x.shape);
      rows(x.shape, dim, (idx) => {
        const lse = logSumExp(idx.map((i) => x.data[i]!));
        const p = idx.map((i) => Math.exp(x.data[i]! - lse));
        if (log) {
          const gs = idx.reduce((s, i) => s + g.data[i]!, 0);
          idx.forEach((i, k) => (dx.data[i] = g.data[i]! - p[k]! * gs));
        } else {
          const gy = idx.reduce((s, i, k) => s + g.data[i]! * p[k]!, 0);
          idx.forEach((i, k) => (dx.data[i] = p[k]! * (g.data[i]! - gy)));
        }
      });
      return [dx];
    },
  };
}

export type Reduction = 'mean' | 'sum' | 'none';

export interface LossRefOptions {
  weight?: number[];
  ignoreIndex?: number;
  labelSmoothing?: number;
  /** The target is class probabilities [N, C] instead of class indices [N]. */
  prob?: boolean;
  /** nllLoss: the input already is log-probabilities (default false: logits, i.e. crossEntropy). */
  logProbs?: boolean;
}

/**
 * Cross-entropy of logits [N, C] (or nllLoss of log-probabilities) against class indices [N]
 * (held as numbers) or probabilities [N, C], with PyTorch's weight / ignore_index /
 * label_smoothing / reduction semantics (torch 1.13):
 *   index target y: row loss (1 - eps) * -w[y] logp[y] + eps / C * -sum_c w[c] logp[c]; ignored rows 0;
 *                   'mean' divides by the sum of w[y] over the rows not ignored.
 *   prob target p:  q = (1 - eps) p + eps / C; row loss -sum_c w[c] q[c] logp[c]; 'mean' divides by N.
 */
export function crossEntropyRef(reduction: Reduction, o: LossRefOptions = {}) {
  const eps = o.labelSmoothing ?? 0;
  const ignore = o.ignoreIndex ?? -100;
  const w = (c: number) => (o.weight ? o.weight[c]! : 1);
  const logProbs = (x: Arr, n: number): number[] => {
    const c = x.shape[1]!;
    const row = Array.from({ length: c }, (_, k) => x.data[n * c + k]!);
    if (o.logProbs) return row;
    const lse = logSumExp(row);
    return row.map((v) => v - lse);
  };
  /** Per row: the coefficients a[c] with row loss = -sum_c a[c] logp[c], and the row's denominator. */
  const coeffs = (t: Arr, n: number, c: number): { a: number[]; den: number } => {
    if (o.prob) {
      const a = Array.from({ length: c }, (_, k) => w(k) * ((1 - eps) * t.data[n * c + k]! + eps / c));
      return { a, den: 1 };
    }
    const y = t.data[n]!;
    if (y === ignore) return { a: new Array<number>(c).fill(0), den: 0 };
    const a = Array.from({ length: c }, (_, k) => (eps / c) * w(k) + (k === y ? (1 - eps) * w(y) : 0));
    return { a, den: w(y) };
  };
  const denominator = (x: Arr, t: Arr) => {
    let d = 0;
    for (let n = 0; n < x.shape[0]!; n++) d += coeffs(t, n, x.shape[1]!).den;
    return d;
  };
  return {
    forward(x: Arr, t: Arr): Arr {
      const [n, c] = x.shape as [number, number];
      const losses = Array.from({ length: n }, (_, i) => {
        const lp = logProbs(x, i);
        return -coeffs(t, i, c).a.reduce((s, a, k) => s + (a === 0 ? 0 : a * lp[k]!), 0);
      });
      if (reduction === 'none') return arr([n], losses);
      const total = losses.reduce((a, b) => a + b, 0);
      return arr([], [reduction === 'mean' ? total / denominator(x, t) : total]);
    },
    // d loss_n / d logp[c] = -a[c]; through log_softmax: d loss_n / d x[c] = softmax[c] * sum(a) - a[c]
    grad(g: Arr, x: Arr, t: Arr): (Arr | null)[] {
      const [n, c] = x.shape as [number, number];
      const dx = arr(x.shape);
      const den = reduction === 'mean' ? denominator(x, t) : 1;
      for (let i = 0; i < n; i++) {
        const up = reduction === 'none' ? g.data[i]! : g.data[0]! / den;
        const { a } = coeffs(t, i, c);
        const sa = a.reduce((s, v) => s + v, 0);
        const lp = logProbs(x, i);
        for (let k = 0; k < c; k++) {
          dx.data[i * c + k] = (o.logProbs ? -a[k]! : Math.exp(lp[k]!) * sa - a[k]!) * up;
        }
      }
      return [dx, null];
    },
  };
}
