// Float64 references for var/std (correction), logsumexp and cumsum, with their analytic gradients.
import { arr, unravel, type Arr } from './arr.js';

/** Output index of each input element when reducing `dims` (keepdim shape and the plain one). */
function reduceMap(shape: number[], dims: number[]): { outShape: number[]; keptShape: number[]; at: (i: number) => number; count: number } {
  const keptShape = shape.map((n, k) => (dims.includes(k) ? 1 : n));
  const outShape = shape.filter((_, k) => !dims.includes(k));
  const count = dims.reduce((a, d) => a * shape[d]!, 1);
  const at = (i: number): number => {
    const c = unravel(i, shape);
    let o = 0;
    for (let k = 0; k < shape.length; k++) o = o * keptShape[k]! + (dims.includes(k) ? 0 : c[k]!);
    return o;
  };
  return { outShape, keptShape, at, count };
}

function dimsOf(x: Arr, dim?: number | number[]): number[] {
  if (dim === undefined) return [...x.shape.keys()];
  return (Array.isArray(dim) ? dim : [dim]).map((d) => (d < 0 ? d + x.shape.length : d));
}

export function varRef(x: Arr, dim: number | number[] | undefined, correction = 1, keepdim = false): Arr {
  const m = reduceMap(x.shape, dimsOf(x, dim));
  const out = arr(keepdim ? m.keptShape : m.outShape);
  const mean = new Float64Array(out.data.length);
  x.data.forEach((v, i) => (mean[m.at(i)]! += v / m.count));
  x.data.forEach((v, i) => (out.data[m.at(i)]! += (v - mean[m.at(i)]!) ** 2));
  const divisor = Math.max(0, m.count - correction);
  for (let k = 0; k < out.data.length; k++) out.data[k] = out.data[k]! / divisor;
  return out;
}

/** d var / dx = 2 (x - mean) / divisor, times g. */
export function varGrad(g: Arr, x: Arr, dim: number | number[] | undefined, correction = 1): Arr {
  const m = reduceMap(x.shape, dimsOf(x, dim));
  const mean = new Float64Array(g.data.length);
  x.data.forEach((v, i) => (mean[m.at(i)]! += v / m.count));
  const divisor = Math.max(0, m.count - correction);
  const dx = arr(x.shape);
  x.data.forEach((v, i) => (dx.data[i] = (g.data[m.at(i)]! * 2 * (v - mean[m.at(i)]!)) / divisor));
  return dx;
}

export function stdRef(x: Arr, dim: number | number[] | undefined, correction = 1, keepdim = false): Arr {
  const v = varRef(x, dim, correction, keepdim);
  v.data.forEach((a, k) => (v.data[k] = Math.sqrt(a)));
  return v;
}

export function stdGrad(g: Arr, x: Arr, dim: number | number[] | undefined, correction = 1): Arr {
  const s = stdRef(x, dim, correction, true);
  const gv = arr(s.shape);
  g.data.forEach((v, k) => (gv.data[k] = v / (2 * s.data[k]!)));
  return varGrad(gv, x, dim, correction);
}

function around(shape: number[], dim: number): { outer: number; D: number; inner: number } {
  const d = dim < 0 ? dim + shape.length : dim;
  return { outer: shape.slice(0, d).reduce((a, b) => a * b, 1), D: shape[d]!, inner: shape.slice(d + 1).reduce((a, b) => a * b, 1) };
}

export function logsumexpRef(x: Arr, dim: number, keepdim = false): Arr {
  const d = dim < 0 ? dim + x.shape.length : dim;
  const { outer, D, inner } = around(x.shape, d);
  const out = arr(keepdim ? x.shape.map((n, k) => (k === d ? 1 : n)) : x.shape.filter((_, k) => k !== d));
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      let m = -Infinity;
      for (let k = 0; k < D; k++) m = Math.max(m, x.data[(o * D + k) * inner + r]!);
      let s = 0;
      for (let k = 0; k < D; k++) s += Math.exp(x.data[(o * D + k) * inner + r]! - m);
      out.data[o * inner + r] = m + Math.log(s);
    }
  }
  return out;
}

export function logsumexpGrad(g: Arr, x: Arr, dim: number): Arr {
  const d = dim < 0 ? dim + x.shape.length : dim;
  const { D, inner } = around(x.shape, d);
  const lse = logsumexpRef(x, d);
  const dx = arr(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const row = Math.floor(i / (D * inner)) * inner + (i % inner);
    dx.data[i] = g.data[row]! * Math.exp(x.data[i]! - lse.data[row]!);
  }
  return dx;
}

/** Running sum along dim; with `reverse`, from the end (the gradient of cumsum). */
export function cumsumRef(x: Arr, dim: number, reverse = false): Arr {
  const { outer, D, inner } = around(x.shape, dim);
  const y = arr(x.shape);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      let acc = 0;
      for (let k = 0; k < D; k++) {
        const i = (o * D + (reverse ? D - 1 - k : k)) * inner + r;
        acc += x.data[i]!;
        y.data[i] = acc;
      }
    }
  }
  return y;
}

/** logsumexp over several dimensions: the reference over each output's elements directly. */
export function logsumexpDimsRef(x: Arr, dims: number[], keepdim = false): Arr {
  const m = reduceMap(x.shape, dims.map((d) => (d < 0 ? d + x.shape.length : d)));
  const out = arr(keepdim ? m.keptShape : m.outShape);
  const mx = new Float64Array(out.data.length).fill(-Infinity);
  x.data.forEach((v, i) => (mx[m.at(i)] = Math.max(mx[m.at(i)]!, v)));
  x.data.forEach((v, i) => (out.data[m.at(i)]! += Math.exp(v - mx[m.at(i)]!)));
  out.data.forEach((s, k) => (out.data[k] = mx[k]! + Math.log(s)));
  return out;
}

export function logsumexpDimsGrad(g: Arr, x: Arr, dims: number[]): Arr {
  const m = reduceMap(x.shape, dims.map((d) => (d < 0 ? d + x.shape.length : d)));
  const lse = logsumexpDimsRef(x, dims);
  const dx = arr(x.shape);
  x.data.forEach((v, i) => (dx.data[i] = g.data[m.at(i)]! * Math.exp(v - lse.data[m.at(i)]!)));
  return dx;
}
