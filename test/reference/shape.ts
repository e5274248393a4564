// Float64 references for the shape and indexing ops. Every one of them is a pure data movement:
// output element i is a copy of one element of one input. So each reference only says where
// output coordinate c comes from; the forward reads it there, and the gradient (the transpose of
// that linear map) adds g[i] back there, which makes repeated sources (expand, repeated indices)
// sum as they must.
import { arr, unravel, ravel, numel, type Arr } from './arr.js';

/** Where an output element comes from: [input number, flat index in that input]. */
type Source = (c: number[], xs: Arr[]) => [number, number];

/** Inputs from `firstIndexInput` on are int32 indices: they get no gradient. */
function movement(outShape: (xs: Arr[]) => number[], source: Source, firstIndexInput = Infinity) {
  return {
    forward: (...xs: Arr[]): Arr => {
      const out = arr(outShape(xs));
      for (let i = 0; i < out.data.length; i++) {
        const [k, j] = source(unravel(i, out.shape), xs);
        out.data[i] = xs[k]!.data[j]!;
      }
      return out;
    },
    grad: (g: Arr, ...xs: Arr[]): (Arr | null)[] => {
      const gs = xs.map((x, k) => (k < firstIndexInput ? arr(x.shape) : null));
      for (let i = 0; i < g.data.length; i++) {
        const [k, j] = source(unravel(i, g.shape), xs);
        const gk = gs[k]!;
        gk.data[j] = gk.data[j]! + g.data[i]!;
      }
      return gs;
    },
  };
}

const norm = (d: number, rank: number) => (d < 0 ? d + rank : d);

/** Reshape with one optional -1. */
export function reshapeRef(shape: number[]) {
  const known = numel(shape.filter((d) => d !== -1));
  const resolve = (x: Arr) => shape.map((d) => (d === -1 ? numel(x.shape) / known : d));
  return movement(([x]) => resolve(x!), (c, [x]) => [0, ravel(c, resolve(x!))]);
}

/** out[c] = x[c'] with c'[dims[i]] = c[i]. */
export function permuteRef(dims: number[]) {
  return movement(
    ([x]) => dims.map((d) => x!.shape[norm(d, dims.length)]!),
    (c, [x]) => {
      const src = new Array<number>(c.length);
      dims.forEach((d, i) => (src[norm(d, dims.length)] = c[i]!));
      return [0, ravel(src, x!.shape)];
    },
  );
}

export function transposeRef(rank: number, a: number, b: number) {
  const dims = [...Array(rank).keys()];
  [dims[norm(a, rank)], dims[norm(b, rank)]] = [norm(b, rank), norm(a, rank)];
  return permuteRef(dims);
}

/** Broadcast to `shape` (-1 keeps a dimension). */
export function expandRef(shape: number[]) {
  const resolve = (x: Arr) => shape.map((d, i) => (d === -1 ? x.shape[i - (shape.length - x.shape.length)]! : d));
  return movement(
    ([x]) => resolve(x!),
    (c, [x]) => {
      const lead = c.length - x!.shape.length;
      return [0, ravel(x!.shape.map((n, i) => (n === 1 ? 0 : c[i + lead]!)), x!.shape)];
    },
  );
}

/** The indices Python's range(*slice(start, end, step).indices(size)) yields, for step >= 1. */
export function sliceIndices(size: number, start: number, end: number | undefined, step: number): number[] {
  const fix = (v: number) => {
    if (v < 0) v += size;
    return Math.min(Math.max(v, 0), size);
  };
  const out: number[] = [];
  for (let i = fix(start); i < fix(end ?? size); i += step) out.push(i);
  return out;
}

export function sliceRef(dim: number, start: number, end?: number, step = 1) {
  const pick = (x: Arr) => sliceIndices(x.shape[norm(dim, x.shape.length)]!, start, end, step);
  return movement(
    ([x]) => x!.shape.map((n, i) => (i === norm(dim, x!.shape.length) ? pick(x!).length : n)),
    (c, [x]) => {
      const d = norm(dim, x!.shape.length);
      return [0, ravel(c.map((v, i) => (i === d ? pick(x!)[v]! : v)), x!.shape)];
    },
  );
}

/** Concatenation along `dim`: walk the inputs until the coordinate falls inside one. */
export function concatRef(dim: number) {
  return movement(
    (xs) => {
      const d = norm(dim, xs[0]!.shape.length);
      return xs[0]!.shape.map((n, i) => (i === d ? xs.reduce((a, x) => a + x.shape[d]!, 0) : n));
    },
    (c, xs) => {
      const d = norm(dim, c.length);
      let v = c[d]!;
      let k = 0;
      while (v >= xs[k]!.shape[d]!) v -= xs[k++]!.shape[d]!;
      return [k, ravel(c.map((u, i) => (i === d ? v : u)), xs[k]!.shape)];
    },
  );
}

/** Stack along a new dimension `dim`: that coordinate picks the input, the rest index into it. */
export function stackRef(dim: number) {
  return movement(
    (xs) => {
      const s = [...xs[0]!.shape];
      s.splice(norm(dim, s.length + 1), 0, xs.length);
      return s;
    },
    (c, xs) => {
      const d = norm(dim, c.length);
      return [c[d]!, ravel(c.filter((_, i) => i !== d), xs[0]!.shape)];
    },
  );
}

/** x.index_select(dim, index): inputs (x, index). */
export function indexSelectRef(dim: number) {
  return movement(
    ([x, index]) => x!.shape.map((n, i) => (i === norm(dim, x!.shape.length) ? index!.data.length : n)),
    (c, [x, index]) => {
      const d = norm(dim, x!.shape.length);
      return [0, ravel(c.map((v, i) => (i === d ? index!.data[v]! : v)), x!.shape)];
    },
    1,
  );
}

/** x.gather(dim, index): inputs (x, index), output shaped like index. */
export function gatherRef(dim: number) {
  return movement(
    ([, index]) => index!.shape,
    (c, [x, index]) => {
      const d = norm(dim, x!.shape.length);
      const k = index!.data[ravel(c, index!.shape)]!;
      return [0, ravel(c.map((v, i) => (i === d ? k : v)), x!.shape)];
    },
    1,
  );
}

export { arr };
