// matmul (torch.matmul semantics: 1-D operands, batch dimensions that broadcast) and linear
// (x @ W^T + b with W in PyTorch's [out, in] layout), plus `gemm`, the low-level batched kernel call
// both are built on. Backward passes read operands transposed in place (no transpose copies).

import { runtime, grid1d, EngramError } from '../runtime.js';
import { matmulTiledWGSL, matmulNaiveWGSL, matmulVec4WGSL, matmulDotWGSL, matmulSubgroupWGSL, SUBGROUP_WG, TILE, WG_SIDE, type MatmulVariant } from '../../shaders/matmul.js';
import { matmulRowDotWGSL, matmulNVec4WGSL, ROWDOT_WG } from '../../shaders/matmul-rowdot.js';
import { empty, withGrad, type Tensor } from '../tensor.js';
import { MAX_RANK, numel, padRank, sameShape, shapeStr } from '../shape.js';
import { sumTo, reluBackwardFromOutput } from './elementwise.js';
import { gemmUsesF16 } from '../precision.js';

/**
 * Arguments of `gemm()`: a general (batched, broadcasting) matrix product out = a @ b (+ bias, ReLU), with
 * either operand optionally transposed.
 */
export interface GemmArgs {
  /** Row-major operands; `a` holds [...aBatch, M, K] ([..., K, M] when transA), `b` [...bBatch, K, N] ([..., N, K] when transB). */
  a: Tensor;
  /** Right operand: [...bBatch, K, N], or [..., N, K] when transB. */
  b: Tensor;
  /** Receives [...batch, M, N] (any tensor shape with that many elements). */
  out: Tensor;
  /** Added to every row of each output matrix: N values. */
  bias?: Tensor | null;
  /** Apply ReLU in the kernel's epilogue, after the bias. */
  relu?: boolean;
  /** Rows of each output matrix. */
  M: number;
  /** Columns of each output matrix. */
  N: number;
  /** The reduction length shared by a and b. */
  K: number;
  /** Read `a` transposed: it holds [..., K, M]. */
  transA?: boolean;
  /** Read `b` transposed: it holds [..., N, K]. */
  transB?: boolean;
  /** Batch shape of the output (default: no batch). */
  batch?: readonly number[];
  /** Batch shapes of a and b, each of batch's rank, 1 where that operand is broadcast (default: equal to batch). */
  aBatch?: readonly number[];
  /** Batch shape of b, of batch's rank, 1 where b is broadcast (default: equal to batch). */
  bBatch?: readonly number[];
  /**
   * 'tiled', 'vec4', 'dot' (split-K), 'subgroup' (subgroup broadcast; needs the `subgroups` feature),
   * 'rowdot' (row dot products; A [M, K], B^T [N, K], K % 4 == 0), 'nvec4' (vec4 over n; B [K, N],
   * N % 4 == 0) or 'naive' (the one-thread-per-output oracle) forces a kernel, for tests. 'auto' (the
   * default) takes the split-K kernel for few outputs and a long K on GPUs, the subgroup kernel on
   * CPU-backed adapters with subgroups when M, N, K are multiples of 4, on CPU-backed adapters the
   * rowdot or nvec4 kernel where one applies and the vec4 kernel does not, else the naive kernel when 64x64
   * tiles would be less than a quarter full, else the vec4 kernel when M, N, K are multiples of 4, else
   * the tiled one (see `autoKernel`).
   */
  kernel?: 'auto' | GemmKernel;
}

/** The kernels `gemm` can run (`GemmArgs.kernel` forces one). */
export type GemmKernel = 'tiled' | 'naive' | 'vec4' | 'dot' | 'subgroup' | 'rowdot' | 'nvec4';

/** Blocking of the subgroup matmul kernel (`matmulKernels.subgroupBlock`). */
export interface SubgroupBlock {
  /** Rows of C per workgroup, shared by its lanes through subgroupBroadcast (a multiple of the subgroup width, 8). */
  R: number;
  /** vec4 column groups of C per thread (4Q columns). */
  Q: number;
}

/**
 * Knobs of gemm's automatic kernel choice, for tests and benchmarks (like conv's `convKernels`).
 */
export const matmulKernels = {
  /** false keeps the automatic choice off the subgroup kernel; null (default) uses it where it applies. */
  subgroups: null as boolean | null,
  /**
   * Blocking of the subgroup kernel: R rows per workgroup (a multiple of the subgroup width) x 4Q
   * columns per thread. 32 x 4 measured best on lavapipe for the MLP's products (8 x 4, 16 x 4 and
   * 8 x 8 slower; bench/mlp-step.ts --block R,Q --products-only).
   */
  subgroupBlock: { R: 32, Q: 1 } as SubgroupBlock,
  /** false keeps the automatic choice off the rowdot and nvec4 kernels (CPU-backed adapters); null (default) uses them where they apply. */
  rowdot: null as boolean | null,
  /** Outputs of one row per thread of the rowdot kernel (1 to 4). */
  rowdotCols: 4,
  /**
   * Most rows per thread of the nvec4 kernel (each a vec4 of 4 columns); M is split into
   * ceil(M / nvec4Rows) equal blocks (M = 10: two of 5), so no thread loads rows it does not store.
   */
  nvec4Rows: 8,
};

/**
 * The subgroup width the subgroup kernel relies on (8, or 4 on a device whose subgroups may be as
 * narrow as 4), or 0 where the device has no `subgroups` feature.
 */
function subgroupWidth(): number {
  const size = runtime().info.subgroupMinSize;
  return size >= 8 ? 8 : size >= 4 ? 4 : 0;
}

/** Contiguous strides of an operand's batch dimensions in elements (0 where it is broadcast). */
function batchStrides(shape: readonly number[], matrixSize: number): number[] {
  const s = new Array<number>(shape.length).fill(0);
  let acc = matrixSize;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = shape[d] === 1 ? 0 : acc;
    acc *= shape[d]!;
  }
  return s;
}

/**
 * Low-level: record out[z] = op(a[z]) @ op(b[z]) (+ bias) for every batch index z. No validation
 * beyond sizes and no autograd: callers (matmul, linear, other ops' backward passes) own that.
 */
export function gemm(args: GemmArgs): Tensor {
  const { a, b, out, bias, N, K } = args;
  let M = args.M;
  const transA = args.transA ?? false;
  const transB = args.transB ?? false;
  let batch = [...(args.batch ?? [])];
  const aBatch = args.aBatch ?? batch;
  const bBatch = args.bBatch ?? batch;
  const count = numel(batch);
  if (aBatch.length !== batch.length || bBatch.length !== batch.length || batch.length > MAX_RANK) {
    throw new EngramError(`gemm: batch shapes ${shapeStr(aBatch)} and ${shapeStr(bBatch)} must have the rank of the output batch ${shapeStr(batch)} (at most ${MAX_RANK})`);
  }
  if (a.size !== numel(aBatch) * M * K || b.size !== numel(bBatch) * K * N || out.size !== count * M * N) {
    throw new EngramError(`gemm: tensor sizes ${shapeStr(a.shape)}, ${shapeStr(b.shape)} -> ${shapeStr(out.shape)} do not match M=${M}, N=${N}, K=${K}, batch ${shapeStr(batch)}`);
  }
  if (bias && bias.size !== N) throw new EngramError(`gemm: bias ${shapeStr(bias.shape)} needs ${N} values`);
  let sa = batchStrides(aBatch, M * K);
  let sb = batchStrides(bBatch, K * N);
  // A batch of row-major A against one shared B is a single taller matrix: fold the batch into M so
  // small per-batch matrices still fill whole 64-row tiles.
  if (!transA && count > 1 && numel(bBatch) === 1 && numel(aBatch) === count) {
    M *= count;
    batch = [];
    sa = [];
    sb = [];
  }
  if (count === 0 || M === 0 || N === 0) return out;

  const rt = runtime();
  const variant: MatmulVariant = { transA, transB, bias: !!bias, relu: args.relu === true, f16: gemmUsesF16() };
  const kernel = args.kernel ?? 'auto';
  const total = numel(batch);
  if (kernel === 'vec4' && !(M % 4 === 0 && N % 4 === 0 && K % 4 === 0 && !variant.f16)) {
    throw new EngramError(`gemm: the vec4 kernel needs M, N, K multiples of 4 (and float32 operands), got M=${M}, N=${N}, K=${K}`);
  }
  if (kernel === 'dot' && variant.f16) throw new EngramError('gemm: the dot kernel needs float32 operands (float16 matmul precision is on)');
  const S = subgroupWidth();
  if (kernel === 'subgroup' && !(M % 4 === 0 && N % 4 === 0 && K % 4 === 0 && !variant.f16 && S > 0)) {
    throw new EngramError(`gemm: the subgroup kernel needs M, N, K multiples of 4, float32 operands and a device with the 'subgroups' feature (subgroups of at least 4 lanes), got M=${M}, N=${N}, K=${K}, subgroup min size ${rt.info.subgroupMinSize}`);
  }
  if (kernel === 'rowdot' && !(!transA && transB && K % 4 === 0 && !variant.f16)) {
    throw new EngramError(`gemm: the rowdot kernel needs A [M, K] and B transposed [N, K] (transA false, transB true), K a multiple of 4 and float32 operands, got transA=${transA}, transB=${transB}, K=${K}`);
  }
  if (kernel === 'nvec4' && !(!transB && N % 4 === 0 && !variant.f16)) {
    throw new EngramError(`gemm: the nvec4 kernel needs B as [K, N] (transB false), N a multiple of 4 and float32 operands, got transB=${transB}, N=${N}`);
  }
  const useSubgroups = S > 0 && matmulKernels.subgroups !== false && rt.cpuBacked;
  const choice = kernel === 'auto' ? autoKernel(total * M * N, M, N, K, transA, transB, variant.f16 === true, rt.cpuBacked, useSubgroups) : kernel;
  const { Q } = matmulKernels.subgroupBlock;
  const R = Math.max(S, matmulKernels.subgroupBlock.R - (matmulKernels.subgroupBlock.R % Math.max(S, 1)));
  const cols = matmulKernels.rowdotCols;
  const maxRows = matmulKernels.nvec4Rows;
  if (!(Number.isInteger(cols) && cols >= 1 && cols <= 4)) throw new EngramError(`gemm: matmulKernels.rowdotCols must be an integer from 1 to 4, got ${cols}`);
  if (!(Number.isInteger(maxRows) && maxRows >= 1)) throw new EngramError(`gemm: matmulKernels.nvec4Rows must be a positive integer, got ${maxRows}`);
  const rows = Math.ceil(M / Math.ceil(M / maxRows));
  const wgsl = choice === 'subgroup' ? matmulSubgroupWGSL(variant, R, Q, S)
    : choice === 'rowdot' ? matmulRowDotWGSL(variant, cols)
      : choice === 'nvec4' ? matmulNVec4WGSL(variant, rows)
        : { dot: matmulDotWGSL, vec4: matmulVec4WGSL, naive: matmulNaiveWGSL, tiled: matmulTiledWGSL }[choice](variant);
  const name = choice === 'tiled' ? (variant.f16 ? 'matmul_f16' : 'matmul') : choice === 'subgroup' ? `matmul_subgroup_${R}x${4 * Q}`
    : choice === 'rowdot' ? `matmul_rowdot_1x${cols}` : choice === 'nvec4' ? `matmul_nvec4_${rows}x4` : `matmul_${choice}`;
  const k = rt.kernel({ name, wgsl, bindings: bias ? ['read', 'read', 'read', 'write'] : ['read', 'read', 'write'] });
  const buffers = bias ? [a.buffer, b.buffer, bias.buffer, out.buffer] : [a.buffer, b.buffer, out.buffer];
  const [gx, gy] = choice === 'dot' ? grid1d(M * N, 1)
    : choice === 'rowdot' ? grid1d(M * Math.ceil(N / cols), ROWDOT_WG)
    : choice === 'nvec4' ? grid1d(Math.ceil(M / rows) * (N / 4), ROWDOT_WG)
    : choice === 'subgroup' ? [Math.ceil(N / 4 / Q / SUBGROUP_WG), Math.ceil(M / R)]
    : choice === 'vec4' ? [Math.ceil(N / 4 / 8), Math.ceil(M / 4 / 8)]
      : choice === 'naive' ? [Math.ceil(N / WG_SIDE), Math.ceil(M / WG_SIDE)]
        : [Math.ceil(N / TILE), Math.ceil(M / TILE)];
  const maxZ = rt.device.limits.maxComputeWorkgroupsPerDimension;
  const tail = [...padRank(batch, 1), ...padRank(sa), ...padRank(sb)];
  for (let z0 = 0; z0 < total; z0 += maxZ) {
    rt.dispatch(k, buffers, [M, N, K, batch.length, z0, ...tail], [gx, gy, Math.min(maxZ, total - z0)]);
  }
  return out;
}

/**
 * The kernel `gemm` picks by itself for `outputs` elements of C (all batches) of an M x N x K product.
 */
function autoKernel(outputs: number, M: number, N: number, K: number, transA: boolean, transB: boolean, f16: boolean, cpuBacked: boolean, subgroups: boolean): GemmKernel {
  // Few outputs over a long K (a classifier head, 64x10x4096; a weight gradient over a large
  // batch): any one-thread-per-output kernel leaves the GPU nearly idle, each thread walking K
  // alone, so split K over a workgroup per output. (H200: the naive kernel took ~0.25 ms for
  // 64x10x4096 with transB.) Not on CPU-backed adapters, where a workgroup's barriers and its
  // start cost more than the parallelism gains. On lavapipe (2 shared cores), ms per product,
  // split-K against naive: 64x10x4096 transB 7.8-9.7 vs 7.5-8.1 and 10x32x4096 transA 4.6-5.9 vs
  // 2.8-4.5 (`npm run bench -- --quick`, three runs); 64x10x256 4.1 vs 0.74 and 128x64x1024 126 vs
  // 30-48 (a one-off script). The thresholds are a first guess, not yet tuned on a GPU.
  if (!f16 && outputs <= 8192 && K >= 256 && !cpuBacked) return 'dot';
  // CPU-backed adapters with subgroups: the subgroup-broadcast kernel wherever the shapes allow it,
  // small products included (it has no barriers, and the naive kernel's two lane-varying loads per
  // multiply-add are what it avoids). Measured on lavapipe, see bench/RESULTS.md (2026-12-02).
  if (subgroups && M % 4 === 0 && N % 4 === 0 && K % 4 === 0 && !f16) return 'subgroup';
  // CPU-backed adapters, M or N not a multiple of 4 (a classifier head's x @ W^T, 64x10x4096): where
  // A's rows and B^T's rows are both contiguous along k, the rowdot kernel reads both as vec4 (5 loads
  // per 16 multiply-adds against the naive kernel's 32). Measured on lavapipe: bench/matmul-head.ts.
  if (cpuBacked && matmulKernels.rowdot !== false && !transA && transB && K % 4 === 0 && !f16 && (M % 4 !== 0 || N % 4 !== 0)) return 'rowdot';
  // Likewise where B is [K, N] with N a multiple of 4 but M or K is not (the head's weight gradient
  // dY^T @ x, 10x4096x64, and its dX = dY @ W, 64x4096x10): the nvec4 kernel loads B's rows as vec4
  // over n and a(m, k) once per row (9 loads per 32 multiply-adds at 8 rows).
  if (cpuBacked && matmulKernels.rowdot !== false && !transB && N % 4 === 0 && !f16 && (M % 4 !== 0 || K % 4 !== 0)) return 'nvec4';
  // Small matrices (per-head attention scores, vector-matrix products, a batch of 1x1s) would
  // leave most of a 64x64 tile's threads idle yet waiting at its barriers; one thread per output
  // is faster there.
  if (4 * M * N < Math.ceil(M / TILE) * Math.ceil(N / TILE) * TILE * TILE) return 'naive';
  // The vec4 register-blocked kernel (no workgroup memory) wherever the shapes allow it, on every
  // adapter: it measured ~3x the tiled kernel on lavapipe, and on an H200 (Dawn/Vulkan) 1.0-3.3x
  // (256^3 to 4096^3; the tiled kernel falls to 6.9 TFLOP/s at 4096^3, vec4 holds 22.5). See
  // bench/RESULTS.md. The tiled kernel remains for other shapes and for float16 operands.
  if (M % 4 === 0 && N % 4 === 0 && K % 4 === 0 && !f16) return 'vec4';
  return 'tiled';
}

function requireFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== 'float32') throw new EngramError(`${op}: expects float32 tensors, got ${t.dtype} (shape ${shapeStr(t.shape)}); convert with toFloat()`);
  }
}

/** Gradient of an operand computed as a full [...batch, rows, cols] tensor, summed over the batch dimensions it was broadcast along. */
function reduceToOperand(full: Tensor, operand: Tensor): Tensor {
  if (sameShape(full.shape, operand.shape)) return full;
  const r = sumTo(full, operand.shape);
  full.dispose();
  return r;
}

/**
 * Matrix product with torch.matmul semantics:
 * [M, K] @ [K, N] -> [M, N]; batch dimensions broadcast ([B, M, K] @ [K, N], [2, 1, M, K] @ [3, K, N]);
 * a 1-D left operand is a row vector, a 1-D right operand a column vector, and that dimension is
 * dropped from the result ([K] @ [K] is a 0-D dot product).
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireFloat('matmul', a, b);
  if (a.rank === 0 || b.rank === 0) {
    throw new EngramError(`matmul: both arguments need at least 1 dimension, got shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  }
  // Promote 1-D operands to matrices; their extra dimension of size 1 is dropped from the result.
  const aMat = a.rank === 1 ? [1, a.shape[0]!] : a.shape;
  const bMat = b.rank === 1 ? [b.shape[0]!, 1] : b.shape;
  const M = aMat[aMat.length - 2]!;
  const K = aMat[aMat.length - 1]!;
  const K2 = bMat[bMat.length - 2]!;
  const N = bMat[bMat.length - 1]!;
  if (K !== K2) {
    throw new EngramError(`matmul: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} are incompatible (inner dimensions ${K} and ${K2} differ)`);
  }
  const rank = Math.max(aMat.length, bMat.length) - 2;
  const aBatch = padRank1(aMat.slice(0, -2), rank);
  const bBatch = padRank1(bMat.slice(0, -2), rank);
  const batch = aBatch.map((da, i) => {
    const db = bBatch[i]!;
    if (da !== db && da !== 1 && db !== 1) {
      throw new EngramError(`matmul: batch dimensions of shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be broadcast (${shapeStr(aMat.slice(0, -2))} vs ${shapeStr(bMat.slice(0, -2))})`);
    }
    return da === 1 ? db : da;
  });
  const outShape = [...batch, ...(a.rank === 1 ? [] : [M]), ...(b.rank === 1 ? [] : [N])];
  const out = gemm({ a, b, out: empty(outShape), M, N, K, batch, aBatch, bBatch });

  return withGrad(out, 'matmul', [a, b], (g) => {
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (a.requiresGrad) {
      // dA[z] = G[z] @ B[z]^T, summed over batch dimensions where A was broadcast.
      const full = empty(sameBatch(aBatch, batch) ? a.shape : [...batch, ...a.shape.slice(-2)]);
      gemm({ a: g, b, out: full, M, N: K, K: N, transB: true, batch, aBatch: batch, bBatch });
      da = reduceToOperand(full, a);
    }
    if (b.requiresGrad) {
      // dB[z] = A[z]^T @ G[z], summed over batch dimensions where B was broadcast. When B has no
      // batch of its own and A is not broadcast, that sum is one product over the folded rows:
      // dB = A'^T @ G' with A' = [batch * M, K] and G' = [batch * M, N].
      const count = numel(batch);
      if (numel(bBatch) === 1 && numel(aBatch) === count) {
        db = gemm({ a, b: g, out: empty(b.shape), M: K, N, K: count * M, transA: true });
      } else {
        const full = empty(sameBatch(bBatch, batch) ? b.shape : [...batch, ...b.shape.slice(-2)]);
        gemm({ a, b: g, out: full, M: K, N, K: M, transA: true, batch, aBatch, bBatch: batch });
        db = reduceToOperand(full, b);
      }
    }
    return [da, db];
  }, { saved: [a, b] });
}

function padRank1(shape: readonly number[], rank: number): number[] {
  return [...new Array<number>(rank - shape.length).fill(1), ...shape];
}

function sameBatch(x: readonly number[], batch: readonly number[]): boolean {
  return x.every((d, i) => d === batch[i]);
}

/** Options for `linear()`. */
export interface LinearOptions {
  /**
   * Apply ReLU in the matmul's epilogue: `linear(x, w, b, { relu: true })` equals
   * `relu(linear(x, w, b))` in values and gradients, without a pass over the output. The backward
   * masks the gradient by the output (y > 0 exactly where the pre-activation was).
   */
  relu?: boolean;
}

/**
 * Fully connected layer, like torch.nn.functional.linear: x [..., in], weight [out, in] (PyTorch
 * layout), optional bias [out] -> [..., out] = x @ weight^T + bias. The weight is read transposed in
 * place and the bias (and the optional ReLU) is applied by the matmul kernel itself.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: LinearOptions = {}): Tensor {
  const b = bias ?? null;
  const relu = opts.relu === true;
  requireFloat('linear', x, weight, ...(b ? [b] : []));
  if (weight.rank !== 2) throw new EngramError(`linear: weight must be 2-D [out, in], got shape ${shapeStr(weight.shape)}`);
  const outF = weight.shape[0]!;
  const inF = weight.shape[1]!;
  if (x.rank === 0 || x.shape[x.rank - 1] !== inF) {
    throw new EngramError(`linear: input ${shapeStr(x.shape)} and weight ${shapeStr(weight.shape)} are incompatible (input features ${x.shape[x.rank - 1] ?? 'none'}, weight expects ${inF})`);
  }
  if (b && !(b.rank === 1 && b.shape[0] === outF)) {
    throw new EngramError(`linear: bias ${shapeStr(b.shape)} does not match weight ${shapeStr(weight.shape)} (expected [${outF}])`);
  }
  const rows = numel(x.shape.slice(0, -1));
  const outShape = [...x.shape.slice(0, -1), outF];
  const y = gemm({ a: x, b: weight, bias: b, relu, out: empty(outShape), M: rows, N: outF, K: inF, transB: true });

  return withGrad(y, relu ? 'linearRelu' : 'linear', b ? [x, weight, b] : [x, weight], (gOut) => {
    const g = relu ? reluBackwardFromOutput(gOut, y) : gOut;
    // With x' = x as [rows, in] and g' = g as [rows, out]: dx' = g' @ W, dW = g'^T @ x', db = sum of g' over rows.
    const dx = x.requiresGrad ? gemm({ a: g, b: weight, out: empty(x.shape), M: rows, N: inF, K: outF }) : null;
    const dw = weight.requiresGrad ? gemm({ a: g, b: x, out: empty(weight.shape), M: outF, N: inF, K: rows, transA: true }) : null;
    const grads: (Tensor | null)[] = [dx, dw];
    if (b) grads.push(b.requiresGrad ? sumTo(g, b.shape) : null);
    if (relu) g.dispose();
    return grads;
  }, { saved: relu ? [x, weight, y] : [x, weight] });
}
