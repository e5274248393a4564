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

/** Cross-entropy of logits [N, C] against labels [N] (class indices held as numbers). */
export function crossEntropyRef(reduction: Reduction) {
  const perRow = (x: Arr, n: number) => Array.from({ length: x.shape[1]! }, (_, c) => x.data[n * x.shape[1]! + c]!);
  return {
    forward(x: Arr, labels: Arr): Arr {
      const [n] = x.shape as [number, number];
      const losses = Array.from({ length: n }, (_, i) => logSumExp(perRow(x, i)) - x.data[i * x.shape[1]! + labels.data[i]!]!);
      if (reduction === 'none') return arr([n], losses);
      const total = losses.reduce((a, b) => a + b, 0);
      return arr([], [reduction === 'mean' ? total / n : total]);
    },
    // d loss_n / d x[n, c] = softmax(x[n])_c - [c == label_n]
    grad(g: Arr, x: Arr, labels: Arr): (Arr | null)[] {
      const [n, c] = x.shape as [number, number];
      const dx = arr(x.shape);
      for (let i = 0; i < n; i++) {
        const up = reduction === 'none' ? g.data[i]! : g.data[0]! / (reduction === 'mean' ? n : 1);
        const lse = logSumExp(perRow(x, i));
        for (let k = 0; k < c; k++) {
          dx.data[i * c + k] = (Math.exp(x.data[i * c + k]! - lse) - (k === labels.data[i] ? 1 : 0)) * up;
        }
      }
      return [dx, null];
    },
  };
}
