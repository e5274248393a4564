// Float64 references for the reductions: forward and analytic gradient, written as plain loops
// over every input element and the output element it lands in.
import { arr, unravel, type Arr } from './arr.js';

export type ReduceOp = 'sum' | 'mean' | 'amax' | 'amin';

/** Sorted, normalized reduced dims (undefined = all). */
function dimsOf(rank: number, dim?: number | number[]): number[] {
  if (dim === undefined) return [...Array(rank).keys()];
  const list = typeof dim === 'number' ? [dim] : dim;
  return list.map((d) => (d < 0 ? d + rank : d)).sort((a, b) => a - b);
}

function outShapeOf(shape: number[], dims: number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((s, d) => {
    if (!dims.includes(d)) out.push(s);
    else if (keepdim) out.push(1);
  });
  return out;
}

/** For each input element, the linear index of the output element it reduces into. */
function targets(shape: number[], dims: number[]): { index: Int32Array; outSize: number } {
  const kept = shape.map((s, d) => (dims.includes(d) ? 1 : s));
  const n = shape.reduce((a, b) => a * b, 1);
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = unravel(i, shape);
    let j = 0;
    for (let d = 0; d < shape.length; d++) j = j * kept[d]! + (dims.includes(d) ? 0 : c[d]!);
    index[i] = j;
  }
  return { index, outSize: kept.reduce((a, b) => a * b, 1) };
}

/** The first (in row-major order) winning input element of each output element. */
function winners(x: Arr, dims: number[], better: (a: number, b: number) => boolean): { value: Float64Array; at: Int32Array } {
  const { index, outSize } = targets(x.shape, dims);
  const value = new Float64Array(outSize);
  const at = new Int32Array(outSize).fill(-1);
  for (let i = 0; i < x.data.length; i++) {
    const j = index[i]!;
    if (at[j] === -1 || better(x.data[i]!, value[j]!)) {
      value[j] = x.data[i]!;
      at[j] = i;
    }
  }
  return { value, at };
}

/**
 * sum / mean / amax / amin over `dim`. amax/amin's gradient is PyTorch's: the upstream gradient
 * split evenly among the elements equal to the group's extremum.
 */
export function reduceRef(op: ReduceOp, dim?: number | number[], keepdim = false) {
  const better = op === 'amax' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  const extremum = op === 'amax' || op === 'amin';
  return {
    forward(x: Arr): Arr {
      const dims = dimsOf(x.shape.length, dim);
      const out = arr(outShapeOf(x.shape, dims, keepdim));
      if (extremum) {
        out.data.set(winners(x, dims, better).value);
        return out;
      }
      const { index, outSize } = targets(x.shape, dims);
      const count = x.data.length / outSize;
      for (let i = 0; i < x.data.length; i++) out.data[index[i]!] = out.data[index[i]!]! + x.data[i]!;
      if (op === 'mean') for (let j = 0; j < outSize; j++) out.data[j] = out.data[j]! / count;
      return out;
    },
    grad(g: Arr, x: Arr): Arr[] {
      const dims = dimsOf(x.shape.length, dim);
      const dx = arr(x.shape);
      const { index, outSize } = targets(x.shape, dims);
      if (extremum) {
        const { value } = winners(x, dims, better);
        const ties = new Float64Array(outSize);
        for (let i = 0; i < x.data.length; i++) if (x.data[i] === value[index[i]!]) ties[index[i]!]! += 1;
        for (let i = 0; i < x.data.length; i++) {
          const j = index[i]!;
          dx.data[i] = x.data[i] === value[j] ? g.data[j]! / ties[j]! : 0;
        }
        return [dx];
      }
      const scale = op === 'mean' ? outSize / x.data.length : 1;
      for (let i = 0; i < x.data.length; i++) dx.data[i] = g.data[index[i]!]! * scale;
      return [dx];
    },
  };
}

/**
 * max(x, dim) / min(x, dim): the values along one dimension (forward) and the gradient routed to
 * the first extremal element only (PyTorch: the returned index).
 */
export function maxDimRef(op: 'max' | 'min', dim: number, keepdim = false) {
  const better = op === 'max' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  const norm = (x: Arr) => [dim < 0 ? dim + Math.max(x.shape.length, 1) : dim].filter((d) => d < x.shape.length);
  return {
    forward(x: Arr): Arr {
      const dims = norm(x);
      const out = arr(outShapeOf(x.shape, dims, keepdim));
      out.data.set(winners(x, dims, better).value);
      return out;
    },
    grad(g: Arr, x: Arr): Arr[] {
      const dx = arr(x.shape);
      winners(x, norm(x), better).at.forEach((i, j) => (dx.data[i] = g.data[j]!));
      return [dx];
    },
  };
}

/** Index of the first maximum (minimum) along `dim`, or into the flattened array when omitted. */
export function argRef(op: 'argmax' | 'argmin', x: Arr, dim?: number, keepdim = false): Arr {
  const better = op === 'argmax' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  if (dim === undefined) {
    const { at } = winners(x, [...Array(x.shape.length).keys()], better);
    return arr(keepdim ? x.shape.map(() => 1) : [], [at[0]!]);
  }
  const d = dim < 0 ? dim + x.shape.length : dim;
  const { at } = winners(x, [d], better);
  const stride = x.shape.slice(d + 1).reduce((a, b) => a * b, 1);
  const out = arr(outShapeOf(x.shape, [d], keepdim));
  // The flat winner index i decodes to its coordinate along d.
  at.forEach((i, j) => (out.data[j] = Math.floor(i / stride) % x.shape[d]!));
  return out;
}
