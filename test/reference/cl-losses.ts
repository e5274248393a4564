// Float64 references for the continual-learning losses (src/cl/losses.ts): forward and analytic
// gradient of BCE with logits, iCaRL's classification + distillation loss and the supervised
// contrastive loss.
import { arr, type Arr } from './arr.js';

export type Reduction = 'mean' | 'sum' | 'none';

/** log(1 + exp(x)) without overflow. */
function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** BCE(x, t) = softplus(x) - x t elementwise; 'mean' over all elements. */
export function bceWithLogitsRef(reduction: Reduction) {
  return {
    forward(x: Arr, t: Arr): Arr {
      const el = x.data.map((v, i) => softplus(v) - v * t.data[i]!);
      if (reduction === 'none') return arr(x.shape, el);
      const total = el.reduce((a, b) => a + b, 0);
      return arr([], [reduction === 'mean' ? total / Math.max(1, el.length) : total]);
    },
    // dl/dx = sigmoid(x) - t, dl/dt = -x
    grad(g: Arr, x: Arr, t: Arr): Arr[] {
      const n = x.data.length;
      const up = (i: number) => (reduction === 'none' ? g.data[i]! : g.data[0]! / (reduction === 'mean' ? Math.max(1, n) : 1));
      return [
        arr(x.shape, x.data.map((v, i) => (sigmoid(v) - t.data[i]!) * up(i))),
        arr(t.shape, x.data.map((v, i) => -v * up(i))),
      ];
    },
  };
}

/**
 * iCaRL loss of logits [N, C], labels [N] and previous-model probabilities q [N, C]: per row the sum
 * over `seen` columns of BCE(x, t) with t = q on `old` columns and the one-hot label elsewhere.
 */
/** icarlLoss's float64 reference; 'mean-over-elements' divides the total by N x (covered columns). */
export function icarlLossRef(old: readonly number[], seen: readonly number[] | null, reduction: Reduction | 'mean-over-elements') {
  const isOld = (c: number) => old.includes(c);
  const isSeen = (c: number) => !seen || seen.includes(c);
  const target = (q: Arr, labels: Arr, i: number, c: number, C: number) => (isOld(c) ? q.data[i * C + c]! : labels.data[i] === c ? 1 : 0);
  return {
    forward(x: Arr, labels: Arr, q: Arr): Arr {
      const [N, C] = x.shape as [number, number];
      const rows = Array.from({ length: N }, (_, i) => {
        let s = 0;
        for (let c = 0; c < C; c++) if (isSeen(c)) s += softplus(x.data[i * C + c]!) - x.data[i * C + c]! * target(q, labels, i, c, C);
        return s;
      });
      if (reduction === 'none') return arr([N], rows);
      const total = rows.reduce((a, b) => a + b, 0);
      const cols = seen ? new Set(seen).size : C;
      return arr([], [reduction === 'mean' ? total / N : reduction === 'mean-over-elements' ? total / (N * cols) : total]);
    },
    grad(g: Arr, x: Arr, labels: Arr, q: Arr): (Arr | null)[] {
      const [N, C] = x.shape as [number, number];
      const dx = arr(x.shape);
      const cols = seen ? new Set(seen).size : C;
      for (let i = 0; i < N; i++) {
        const up = reduction === 'none' ? g.data[i]! : g.data[0]! / (reduction === 'mean' ? N : reduction === 'mean-over-elements' ? N * cols : 1);
        for (let c = 0; c < C; c++) {
          if (!isSeen(c)) continue;
          const k = i * C + c;
          dx.data[k] = (sigmoid(x.data[k]!) - target(q, labels, i, c, C)) * up;
        }
      }
      return [dx, null, null]; // labels and the previous model's outputs are constants
    },
  };
}

/**
 * SupCon over features [2N, D] (view 1 rows 0..N-1, view 2 rows N..2N-1) and labels [N]:
 * L = -1/(2N) sum_i 1/|P(i)| sum_{p in P(i)} (s_ip - log sum_{k != i} exp(s_ik)), s = z z^T / T.
 */
export function supConRef(T: number) {
  function parts(f: Arr, labels: Arr) {
    const [M, D] = f.shape as [number, number];
    const N = M / 2;
    const lab = (i: number) => labels.data[i % N]!;
    const norms = Array.from({ length: M }, (_, i) => Math.sqrt(Array.from({ length: D }, (_, j) => f.data[i * D + j]! ** 2).reduce((a, b) => a + b, 0)));
    const z = Array.from({ length: M }, (_, i) => Array.from({ length: D }, (_, j) => f.data[i * D + j]! / norms[i]!));
    const s = z.map((zi) => z.map((zj) => zi.reduce((a, v, j) => a + v * zj[j]!, 0) / T));
    const pos = (i: number, j: number) => i !== j && lab(i) === lab(j);
    return { M, D, norms, z, s, pos };
  }
  return {
    forward(f: Arr, labels: Arr): Arr {
      const { M, s, pos } = parts(f, labels);
      let total = 0;
      for (let i = 0; i < M; i++) {
        const others = s[i]!.filter((_, k) => k !== i);
        const m = Math.max(...others);
        const lse = m + Math.log(others.reduce((a, v) => a + Math.exp(v - m), 0));
        let acc = 0;
        let count = 0;
        for (let p = 0; p < M; p++) if (pos(i, p)) (acc += s[i]![p]! - lse), count++;
        total += -acc / count;
      }
      return arr([], [total / M]);
    },
    // dL/ds_ij = (softmax_i(j) - [j in P(i)] / |P(i)|) / M for j != i; s_ij = z_i.z_j / T gives
    // dL/dz_i = sum_j (A_ij + A_ji) z_j / T; then through z = f / |f|: (dz - z (z . dz)) / |f|.
    grad(g: Arr, f: Arr, labels: Arr): (Arr | null)[] {
      const { M, D, norms, z, s, pos } = parts(f, labels);
      const A = Array.from({ length: M }, () => new Array<number>(M).fill(0));
      for (let i = 0; i < M; i++) {
        const m = Math.max(...s[i]!.filter((_, k) => k !== i));
        let den = 0;
        for (let k = 0; k < M; k++) if (k !== i) den += Math.exp(s[i]![k]! - m);
        let count = 0;
        for (let k = 0; k < M; k++) if (pos(i, k)) count++;
        for (let k = 0; k < M; k++) if (k !== i) A[i]![k] = (Math.exp(s[i]![k]! - m) / den - (pos(i, k) ? 1 / count : 0)) / M;
      }
      const df = arr(f.shape);
      for (let i = 0; i < M; i++) {
        const dz = new Array<number>(D).fill(0);
        for (let j = 0; j < M; j++) {
          const w = (A[i]![j]! + A[j]![i]!) / T;
          for (let d = 0; d < D; d++) dz[d] = dz[d]! + w * z[j]![d]!;
        }
        const proj = dz.reduce((a, v, d) => a + v * z[i]![d]!, 0);
        for (let d = 0; d < D; d++) df.data[i * D + d] = (g.data[0]! * (dz[d]! - z[i]![d]! * proj)) / norms[i]!;
      }
      return [df, null];
    },
  };
}
