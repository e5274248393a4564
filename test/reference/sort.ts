// Float64 reference for a stable sort along one dimension (NaN largest, -0 equal to +0), topk as
// its first k, and the gradient (each sorted position's gradient back to its source element).
import { arr, type Arr } from './arr.js';

function around(shape: number[], dim: number): { outer: number; D: number; inner: number; d: number } {
  const d = dim < 0 ? dim + shape.length : dim;
  return { outer: shape.slice(0, d).reduce((a, b) => a * b, 1), D: shape[d]!, inner: shape.slice(d + 1).reduce((a, b) => a * b, 1), d };
}

/** Compare for an ascending sort with NaN last; 0 for ties (then the stable sort keeps order). */
function cmp(a: number, b: number): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an && bn ? 0 : an ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortRef(x: Arr, dim: number, descending = false, k?: number): { values: Arr; indices: Arr } {
  const { outer, D, inner, d } = around(x.shape, dim);
  const K = k ?? D;
  const shape = x.shape.map((n, j) => (j === d ? K : n));
  const values = arr(shape);
  const indices = arr(shape);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      const order = [...Array(D).keys()];
      const at = (j: number): number => x.data[(o * D + j) * inner + r]!;
      order.sort((p, q) => (descending ? cmp(at(q), at(p)) : cmp(at(p), at(q))) || p - q); // Array.sort is stable; p - q makes it explicit
      for (let j = 0; j < K; j++) {
        values.data[(o * K + j) * inner + r] = at(order[j]!);
        indices.data[(o * K + j) * inner + r] = order[j]!;
      }
    }
  }
  return { values, indices };
}

export function sortGrad(g: Arr, x: Arr, dim: number, descending = false, k?: number): Arr {
  const { outer, D, inner } = around(x.shape, dim);
  const K = k ?? D;
  const { indices } = sortRef(x, dim, descending, k);
  const dx = arr(x.shape);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      for (let j = 0; j < K; j++) {
        const p = (o * K + j) * inner + r;
        dx.data[(o * D + indices.data[p]!) * inner + r]! += g.data[p]!;
      }
    }
  }
  return dx;
}
