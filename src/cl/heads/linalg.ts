// Small dense linear algebra in float64 on the CPU, for the classification heads: Cholesky
// factorization, solves and the inverse of a symmetric positive-definite matrix. Sizes are feature
// dimensions (D up to ~512), where an O(D^3 / 6) factorization takes milliseconds in JS and float64
// keeps the discriminant exact enough that only the final GEMM runs in float32.
// Also the two readbacks the heads and herding share: a [n, D] feature tensor and its labels.
//
// Matrices are row-major Float64Arrays; `n` is the order of a square matrix.

import { EngramError } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import { shapeStr } from '../../engine/shape.js';
import { argmax } from '../../engine/ops/reduce.js';
import { indexSelect } from '../../engine/ops/shape-ops.js';

function checkSquare(op: string, a: ArrayLike<number>, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new EngramError(`${op}: the order n must be a positive integer, got ${n}`);
  if (a.length !== n * n) throw new EngramError(`${op}: expected an ${n}x${n} matrix (${n * n} values), got ${a.length} values`);
}

/**
 * Cholesky factor of a symmetric positive-definite matrix: the lower-triangular L with A = L L^T
 * (upper triangle of the result is zero). Only A's lower triangle is read. Throws when a pivot is
 * not positive (A is not positive definite, or numerically singular).
 */
export function cholesky(a: ArrayLike<number>, n: number): Float64Array {
  checkSquare('cholesky', a, n);
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let s = a[rj + j]!;
    for (let k = 0; k < j; k++) s -= l[rj + k]! * l[rj + k]!;
    if (!(s > 0) || !Number.isFinite(s)) {
      throw new EngramError(`cholesky: the matrix is not positive definite (pivot ${j} of ${n} is ${s}); for a covariance, add shrinkage or a ridge`);
    }
    const d = Math.sqrt(s);
    l[rj + j] = d;
    // Column j below the diagonal; both rows are read contiguously (row-major L).
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let t = a[ri + j]!;
      for (let k = 0; k < j; k++) t -= l[ri + k]! * l[rj + k]!;
      l[ri + j] = t / d;
    }
  }
  return l;
}

/**
 * Solve A x = b for each of `nrhs` right-hand sides given A's Cholesky factor L. The right-hand
 * sides are the ROWS of `b` ([nrhs, n] row-major) and the solutions are the rows of the result,
 * i.e. X = B A^-1 (A is symmetric), which is the layout the heads need (one row per class).
 */
export function choleskySolve(l: ArrayLike<number>, n: number, b: ArrayLike<number>, nrhs = 1): Float64Array {
  checkSquare('choleskySolve', l, n);
  if (!Number.isInteger(nrhs) || nrhs < 0 || b.length !== n * nrhs) {
    throw new EngramError(`choleskySolve: right-hand sides must be [${nrhs}, ${n}] (${n * nrhs} values), got ${b.length} values`);
  }
  const x = Float64Array.from(b);
  for (let r = 0; r < nrhs; r++) {
    const o = r * n;
    // Forward substitution L y = b (row i of L is contiguous).
    for (let i = 0; i < n; i++) {
      const ri = i * n;
      let s = x[o + i]!;
      for (let k = 0; k < i; k++) s -= l[ri + k]! * x[o + k]!;
      x[o + i] = s / l[ri + i]!;
    }
    // Back substitution L^T x = y, column-oriented so that L is still read by rows.
    for (let i = n - 1; i >= 0; i--) {
      const ri = i * n;
      const xi = x[o + i]! / l[ri + i]!;
      x[o + i] = xi;
      for (let k = 0; k < i; k++) x[o + k] = x[o + k]! - l[ri + k]! * xi;
    }
  }
  return x;
}

/** Solve A X^T = B^T for symmetric positive-definite A: rows of `b` in, rows of the solution out. */
export function solveSPD(a: ArrayLike<number>, n: number, b: ArrayLike<number>, nrhs = 1): Float64Array {
  return choleskySolve(cholesky(a, n), n, b, nrhs);
}

/** Inverse of a symmetric positive-definite matrix (via Cholesky; the result is symmetric). */
export function inverseSPD(a: ArrayLike<number>, n: number): Float64Array {
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  return choleskySolve(cholesky(a, n), n, eye, n);
}

// ------------------------------------------------------------------ readbacks shared by heads and herding

/**
 * Read a float32 feature matrix [n, D] back to the CPU (one readback). `dim`, when given, is the
 * feature size the caller expects.
 */
export async function readFeatures(op: string, x: Tensor, dim?: number): Promise<Float32Array> {
  if (x.dtype !== 'float32') throw new EngramError(`${op}: features must be float32, got ${x.dtype} (shape ${shapeStr(x.shape)})`);
  if (x.rank !== 2) throw new EngramError(`${op}: features must be 2-D [n, D], got shape ${shapeStr(x.shape)}`);
  if (dim !== undefined && x.shape[1] !== dim) {
    throw new EngramError(`${op}: features ${shapeStr(x.shape)} have ${x.shape[1]} columns, the head has featureDim ${dim}`);
  }
  return (await x.toArray()) as Float32Array;
}

/** Class labels as an Int32Array of length n: from an int32 tensor (read back) or an array. */
export async function readLabels(op: string, labels: Tensor | ArrayLike<number>, n: number): Promise<Int32Array> {
  let out: Int32Array;
  if (typeof (labels as Tensor).toArray === 'function' && 'dtype' in labels) {
    const t = labels as Tensor;
    if (t.dtype !== 'int32' || t.rank !== 1) throw new EngramError(`${op}: a label tensor must be 1-D int32, got ${t.dtype} ${shapeStr(t.shape)}`);
    out = (await t.toArray()) as Int32Array;
  } else {
    const a = labels as ArrayLike<number>;
    out = new Int32Array(a.length);
    for (let i = 0; i < a.length; i++) {
      checkLabel(op, a[i]!);
      out[i] = a[i]!;
    }
  }
  if (out.length !== n) throw new EngramError(`${op}: ${out.length} labels for ${n} feature rows`);
  for (const v of out) checkLabel(op, v);
  return out;
}

/** Class ids are non-negative int32 integers (not necessarily contiguous). */
export function checkLabel(op: string, label: number): void {
  if (!Number.isInteger(label) || label < 0 || label > 0x7fffffff) {
    throw new EngramError(`${op}: a class label must be a non-negative 32-bit integer, got ${label}`);
  }
}

/** Row indices of each label, labels in first-seen order. */
export function groupByLabel(labels: Int32Array): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  labels.forEach((c, i) => {
    let g = groups.get(c);
    if (!g) groups.set(c, (g = []));
    g.push(i);
  });
  return groups;
}

/** The labels of the best-scoring columns: argmax over dim 1, mapped through `columnLabels` unless columns are the labels. */
export function argmaxLabels(scores: Tensor, columnLabels: Tensor | null): Tensor {
  const idx = argmax(scores, 1);
  if (!columnLabels) return idx;
  const out = indexSelect(columnLabels, 0, idx);
  idx.dispose();
  return out;
}
