// Float64 CPU arrays: the reference side of every op test. Deliberately plain loops, no cleverness:
// a reference is only useful if it is obviously right.

export interface Arr {
  shape: number[];
  data: Float64Array;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function arr(shape: readonly number[], data?: ArrayLike<number>): Arr {
  const n = numel(shape);
  const d = new Float64Array(n);
  if (data) {
    if (data.length !== n) throw new Error(`arr: ${data.length} values for shape [${shape}]`);
    d.set(Array.from(data));
  }
  return { shape: [...shape], data: d };
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Decode a linear index into coordinates. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return c;
}

export function ravel(coords: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d]! + coords[d]!;
  return i;
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`broadcast [${a}] [${b}]`);
    out.push(Math.max(da, db));
  }
  return out;
}

/** Read `x` at output coordinates of a broadcast result. */
export function at(x: Arr, outCoords: readonly number[]): number {
  const off = outCoords.length - x.shape.length;
  let i = 0;
  for (let d = 0; d < x.shape.length; d++) {
    const c = x.shape[d] === 1 ? 0 : outCoords[d + off]!;
    i = i * x.shape[d]! + c;
  }
  return x.data[i]!;
}

export function map(x: Arr, f: (v: number, i: number) => number): Arr {
  const out = arr(x.shape);
  for (let i = 0; i < x.data.length; i++) out.data[i] = f(x.data[i]!, i);
  return out;
}

export function map2(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  const shape = broadcastShape(a.shape, b.shape);
  const out = arr(shape);
  for (let i = 0; i < out.data.length; i++) {
    const c = unravel(i, shape);
    out.data[i] = f(at(a, c), at(b, c));
  }
  return out;
}

/** Sum a broadcast result back to `shape` (the reference for broadcasting's backward). */
export function sumTo(x: Arr, shape: readonly number[]): Arr {
  const out = arr(shape);
  const off = x.shape.length - shape.length;
  for (let i = 0; i < x.data.length; i++) {
    const c = unravel(i, x.shape);
    let j = 0;
    for (let d = 0; d < shape.length; d++) j = j * shape[d]! + (shape[d] === 1 ? 0 : c[d + off]!);
    out.data[j] = out.data[j]! + x.data[i]!;
  }
  return out;
}

export function dot(a: Arr, b: Arr): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i]! * b.data[i]!;
  return s;
}
