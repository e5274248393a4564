// Shape arithmetic shared by every op, and the errors that name the op and the shapes involved.

import { EngramError } from './runtime.js';

export type ShapeLike = readonly number[];

/** Most dimensions a tensor may have (kernels pass shapes and strides in fixed-size arrays). */
export const MAX_RANK = 8;

export function numel(shape: ShapeLike): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: ShapeLike): string {
  return `[${shape.join(', ')}]`;
}

export function checkShape(shape: ShapeLike, op: string): void {
  if (!Array.isArray(shape)) throw new EngramError(`${op}: shape must be an array of integers, got ${String(shape)}`);
  if (shape.length > MAX_RANK) throw new EngramError(`${op}: shape ${shapeStr(shape)} has ${shape.length} dimensions; at most ${MAX_RANK} are supported`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new EngramError(`${op}: shape ${shapeStr(shape)} must hold non-negative integers`);
  }
}

/** Row-major (contiguous) strides. */
export function stridesOf(shape: ShapeLike): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Resolve a possibly negative dimension index, with an error naming the op. */
export function normalizeDim(dim: number, rank: number, op: string): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new EngramError(`${op}: dimension ${dim} is out of range for a tensor with ${rank} dimension(s) (expected ${-r}..${r - 1})`);
  }
  return dim < 0 ? dim + r : dim;
}

/** NumPy/PyTorch broadcasting of two shapes. */
export function broadcastShapes(a: ShapeLike, b: ShapeLike, op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new EngramError(`${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together (dimension ${i} of the result: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides for reading a tensor of `shape` as if it had `outShape` (0 where it is broadcast). */
export function broadcastStrides(shape: ShapeLike, outShape: ShapeLike): number[] {
  const strides = stridesOf(shape);
  const rank = outShape.length;
  const out = new Array<number>(rank).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const j = rank - shape.length + i;
    out[j] = shape[i] === 1 ? 0 : strides[i]!;
  }
  return out;
}

export function sameShape(a: ShapeLike, b: ShapeLike): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Pad a list to `MAX_RANK` entries for a kernel parameter block. */
export function padRank(xs: readonly number[], fill = 0): number[] {
  const out = [...xs];
  while (out.length < MAX_RANK) out.push(fill);
  return out;
}
