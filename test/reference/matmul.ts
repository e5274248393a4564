// Float64 references for matmul (torch.matmul semantics) and linear: forward and analytic gradient.
// One loop nest visits every (output element, k) pair; the gradient visits the same pairs and adds
// g * (the other operand) to the operand's own element, which sums over broadcast batch dims by itself.
import { arr, unravel, type Arr } from './arr.js';

interface Plan {
  aShape: number[]; // promoted to >= 2-D
  bShape: number[];
  batch: number[];
  M: number;
  K: number;
  N: number;
  outShape: number[]; // with the promoted 1-D dimensions dropped
}

function plan(a: readonly number[], b: readonly number[]): Plan {
  const aShape = a.length === 1 ? [1, a[0]!] : [...a];
  const bShape = b.length === 1 ? [b[0]!, 1] : [...b];
  const M = aShape[aShape.length - 2]!;
  const K = aShape[aShape.length - 1]!;
  const N = bShape[bShape.length - 1]!;
  if (bShape[bShape.length - 2] !== K) throw new Error(`matmulRef: [${a}] @ [${b}]`);
  const ab = aShape.slice(0, -2);
  const bb = bShape.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const batch: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = ab[ab.length - r + i] ?? 1;
    const y = bb[bb.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`matmulRef: batch [${a}] @ [${b}]`);
    batch.push(Math.max(x, y));
  }
  const outShape = [...batch, ...(a.length === 1 ? [] : [M]), ...(b.length === 1 ? [] : [N])];
  return { aShape, bShape, batch, M, K, N, outShape };
}

/** Index of the first element of the matrix that batch coordinates `c` select in an operand with batch shape `opBatch`. */
function matrixStart(c: number[], opBatch: number[], matrixSize: number): number {
  const off = c.length - opBatch.length;
  let i = 0;
  for (let d = 0; d < opBatch.length; d++) i = i * opBatch[d]! + (opBatch[d] === 1 ? 0 : c[d + off]!);
  return i * matrixSize;
}

/** Calls f(outIndex, aIndex, bIndex) for every output element and every k. */
function visit(p: Plan, f: (o: number, ia: number, ib: number) => void): void {
  const { M, K, N } = p;
  const count = p.batch.reduce((x, y) => x * y, 1);
  for (let z = 0; z < count; z++) {
    const c = unravel(z, p.batch);
    const a0 = matrixStart(c, p.aShape.slice(0, -2), M * K);
    const b0 = matrixStart(c, p.bShape.slice(0, -2), K * N);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) f(z * M * N + m * N + n, a0 + m * K + k, b0 + k * N + n);
      }
    }
  }
}

export function matmulRef(a: Arr, b: Arr): Arr {
  const p = plan(a.shape, b.shape);
  const out = arr(p.outShape);
  visit(p, (o, ia, ib) => {
    out.data[o] = out.data[o]! + a.data[ia]! * b.data[ib]!;
  });
  return out;
}

export function matmulRefGrad(g: Arr, a: Arr, b: Arr): Arr[] {
  const p = plan(a.shape, b.shape);
  const da = arr(a.shape);
  const db = arr(b.shape);
  visit(p, (o, ia, ib) => {
    da.data[ia] = da.data[ia]! + g.data[o]! * b.data[ib]!;
    db.data[ib] = db.data[ib]! + g.data[o]! * a.data[ia]!;
  });
  return [da, db];
}

/** y[r, o] = sum_i x[r, i] * w[o, i] + bias[o], for x [..., in], w [out, in]. */
export function linearRef(x: Arr, w: Arr, bias?: Arr): Arr {
  const [outF, inF] = w.shape as [number, number];
  const rows = x.data.length / inF;
  const y = arr([...x.shape.slice(0, -1), outF]);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = bias ? bias.data[o]! : 0;
      for (let i = 0; i < inF; i++) s += x.data[r * inF + i]! * w.data[o * inF + i]!;
      y.data[r * outF + o] = s;
    }
  }
  return y;
}

export function linearRefGrad(g: Arr, x: Arr, w: Arr, bias?: Arr): Arr[] {
  const [outF, inF] = w.shape as [number, number];
  const rows = x.data.length / inF;
  const dx = arr(x.shape);
  const dw = arr(w.shape);
  const db = arr([outF]);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      const gv = g.data[r * outF + o]!;
      db.data[o] = db.data[o]! + gv;
      for (let i = 0; i < inF; i++) {
        dx.data[r * inF + i] = dx.data[r * inF + i]! + gv * w.data[o * inF + i]!;
        dw.data[o * inF + i] = dw.data[o * inF + i]! + gv * x.data[r * inF + i]!;
      }
    }
  }
  return bias ? [dx, dw, db] : [dx, dw];
}

/** Sizes and stored layouts of a gemm call (GemmArgs' M, N, K, transA, transB and batch shapes). */
export interface GemmLayout {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Output batch shape; aBatch / bBatch have its rank, 1 where that operand is broadcast. */
  batch: number[];
  aBatch: number[];
  bBatch: number[];
}

/**
 * float64 C[z] = op(A[z]) @ op(B[z]) (+ bias), then ReLU when `relu`, computed from the flat operands
 * as gemm stores them (A [..., M, K] or [..., K, M] when transA, B [..., K, N] or [..., N, K] when
 * transB), batches broadcast where an operand's batch dimension is 1. For checking gemm's kernels.
 */
export function gemmStoredRef(a: ArrayLike<number>, b: ArrayLike<number>, bias: ArrayLike<number> | null, o: GemmLayout, relu = false): Float64Array {
  const { M, N, K } = o;
  const count = o.batch.reduce((x, y) => x * y, 1);
  const out = new Float64Array(count * M * N);
  // First element of batch z's matrix in an operand of batch shape opBatch.
  const start = (z: number, opBatch: number[], size: number): number => {
    let [rem, idx, stride] = [z, 0, size];
    for (let d = o.batch.length - 1; d >= 0; d--) {
      const c = rem % o.batch[d]!;
      rem = Math.floor(rem / o.batch[d]!);
      if (opBatch[d] !== 1) idx += c * stride;
      stride *= opBatch[d]!;
    }
    return idx;
  };
  for (let z = 0; z < count; z++) {
    const [a0, b0] = [start(z, o.aBatch, M * K), start(z, o.bBatch, K * N)];
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = bias ? bias[n]! : 0;
        for (let k = 0; k < K; k++) acc += a[a0 + (o.transA ? k * M + m : m * K + k)]! * b[b0 + (o.transB ? n * K + k : k * N + n)]!;
        out[(z * M + m) * N + n] = relu ? Math.max(acc, 0) : acc;
      }
    }
  }
  return out;
}
