// Shape arithmetic shared by every op, and the errors that name the op and the shapes involved.

import { EngramError, isInitialized, runtime } from './runtime.js';

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

/**
 * Check a shape before any work is done for it: an array of at most MAX_RANK non-negative integers,
 * whose tensor (4 bytes per element) fits in one GPU buffer that kernels can bind. The size check
 * comes first so that e.g. `randn([2 ** 30])` fails at once instead of generating gigabytes of
 * numbers on the CPU and only then failing to allocate.
 */
export function checkShape(shape: ShapeLike, op: string): void {
  if (!Array.isArray(shape)) throw new EngramError(`${op}: shape must be an array of integers, got ${String(shape)}`);
  if (shape.length > MAX_RANK) throw new EngramError(`${op}: shape ${shapeStr(shape)} has ${shape.length} dimensions; at most ${MAX_RANK} are supported`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new EngramError(`${op}: shape ${shapeStr(shape)} must hold non-negative integers`);
  }
  checkSize(shape, op);
}

/**
 * The most bytes one tensor may take on the current device: a tensor is one buffer, and kernels bind
 * whole buffers, so both maxBufferSize and maxStorageBufferBindingSize apply. Infinity before init().
 */
export function maxTensorBytes(): { bytes: number; limit: string } {
  if (!isInitialized()) return { bytes: Infinity, limit: 'none' };
  const l = runtime().device.limits;
  return l.maxStorageBufferBindingSize <= l.maxBufferSize
    ? { bytes: l.maxStorageBufferBindingSize, limit: 'maxStorageBufferBindingSize' }
    : { bytes: l.maxBufferSize, limit: 'maxBufferSize' };
}

/** Throw (naming the op, the shape, the bytes and the device limit) when a tensor of `shape` cannot exist. */
export function checkSize(shape: ShapeLike, op: string, bytesPerElement = 4): void {
  const n = numel(shape);
  const bytes = n * bytesPerElement;
  const max = maxTensorBytes();
  if (bytes > max.bytes) {
    throw new EngramError(
      `${op}: shape ${shapeStr(shape)} has ${n} elements (${bytes} bytes), more than one tensor can hold on this device ` +
      `(${max.bytes} bytes, its ${max.limit}); split the work into smaller tensors (e.g. a smaller batch)`,
    );
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
