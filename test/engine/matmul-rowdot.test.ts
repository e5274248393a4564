// The CPU-adapter kernels of src/shaders/matmul-rowdot.ts (rowdot: A @ B^T with K % 4 == 0; nvec4:
// op(A) @ B with N % 4 == 0), forced through gemm on odd shapes against a float64 product of the stored
// layouts, and the automatic choice that sends a classifier head's products to them on CPU-backed
// adapters (by dispatched kernel name).
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { matmulKernels } from '../../src/engine/ops/matmul.js';
import { gemmStoredRef } from '../reference/matmul.js';

useGPU();

interface Sizes { M: number; N: number; K: number; batch: number[]; aBatch: number[]; bBatch: number[] }
interface Layout extends Sizes { transA: boolean; transB: boolean }

const count = (xs: number[]): number => xs.reduce((x, y) => x * y, 1);


/** Runs gemm with `kernel` forced on every (bias, ReLU) epilogue and checks values and the dispatched name. */
async function checkForced(kernel: 'rowdot' | 'nvec4', sizes: Sizes[], layouts: { transA: boolean; transB: boolean }[], name: (sz: Sizes) => string, seed: number): Promise<void> {
  const gen = new E.Generator(seed);
  const rt = E.runtime();
  for (const sz of sizes) {
    for (const t of layouts) {
      const o: Layout = { ...sz, ...t };
      const aData = gen.uniformArray(count(sz.aBatch) * sz.M * sz.K, -1, 1);
      const bData = gen.uniformArray(count(sz.bBatch) * sz.K * sz.N, -1, 1);
      const biasData = gen.uniformArray(sz.N, -1, 1);
      await E.scope(async () => {
        const a = E.tensor(aData, [aData.length]);
        const b = E.tensor(bData, [bData.length]);
        const bias = E.tensor(biasData, [sz.N]);
        for (const [withBias, relu] of [[false, false], [true, false], [true, true], [false, true]] as const) {
          const label = `${kernel} M=${sz.M} N=${sz.N} K=${sz.K} batch [${sz.batch}] (a [${sz.aBatch}], b [${sz.bBatch}]) transA=${t.transA}${withBias ? ' + bias' : ''}${relu ? ', relu' : ''}`;
          rt.trace = [];
          let out: E.Tensor;
          try {
            out = E.gemm({ a, b, bias: withBias ? bias : null, relu, out: E.empty([...sz.batch, sz.M, sz.N]), kernel, ...o });
            expect(rt.trace.map((d) => d.kernel.name), label).toEqual([name(sz)]);
          } finally {
            rt.trace = null;
          }
          expectClose(await out.toArray(), gemmStoredRef(aData, bData, withBias ? biasData : null, o, relu), { atol: 1e-5, rtol: 1e-5 }, label);
        }
      });
    }
  }
}

describe('matmul-rowdot kernels match the float64 product', () => {
  it('rowdot (A @ B^T, K % 4 == 0): M, N not multiples of 4, N < 4, a column block crossing N, broadcast batches, bias and ReLU', async () => {
    const sizes: Sizes[] = [
      { M: 7, N: 3, K: 8, batch: [], aBatch: [], bBatch: [] }, // N < 4: one clamped block per row
      { M: 5, N: 10, K: 12, batch: [2, 3], aBatch: [2, 1], bBatch: [1, 3] }, // blocks 0-3, 4-7, 8-11 (crossing N = 10)
      { M: 1, N: 1, K: 4, batch: [3], aBatch: [3], bBatch: [1] }, // batch of row vectors, folded into M
      { M: 70, N: 37, K: 4, batch: [], aBatch: [], bBatch: [] }, // 70 * 10 threads: several workgroups
    ];
    await checkForced('rowdot', sizes, [{ transA: false, transB: true }], () => `matmul_rowdot_1x${matmulKernels.rowdotCols}`, 3);
    // Narrower blocks (COLS = 3: N = 10 ends in a block of one column) give the same values.
    matmulKernels.rowdotCols = 3;
    try {
      await checkForced('rowdot', [sizes[1]!], [{ transA: false, transB: true }], () => 'matmul_rowdot_1x3', 4);
    } finally {
      matmulKernels.rowdotCols = 4;
    }
  }, 120_000);

  it('nvec4 (op(A) @ B, N % 4 == 0): M, K not multiples of 4, rows clamped past M, both A layouts, broadcast batches, bias and ReLU', async () => {
    const sizes: Sizes[] = [
      { M: 10, N: 8, K: 5, batch: [], aBatch: [], bBatch: [] }, // two blocks of 5 rows
      { M: 13, N: 12, K: 3, batch: [2, 2], aBatch: [1, 2], bBatch: [2, 1] }, // two blocks of 7 rows: the last one past M
      { M: 3, N: 4, K: 7, batch: [3], aBatch: [1], bBatch: [3] },
      { M: 1, N: 260, K: 6, batch: [], aBatch: [], bBatch: [] }, // 65 column vec4s: two workgroups
    ];
    const rows = (sz: Sizes) => Math.ceil(sz.M / Math.ceil(sz.M / matmulKernels.nvec4Rows));
    await checkForced('nvec4', sizes, [{ transA: false, transB: false }, { transA: true, transB: false }], (sz) => `matmul_nvec4_${rows(sz)}x4`, 5);
  }, 120_000);

  it('forcing either kernel where it does not apply throws, naming the kernel and the fix', () => {
    const z = (n: number) => E.zeros([n]);
    expect(() => E.gemm({ a: z(24), b: z(12), M: 4, N: 2, K: 6, transB: true, out: E.empty([4, 2]), kernel: 'rowdot' })).toThrow(/gemm: the rowdot kernel needs .*K a multiple of 4.*K=6/);
    expect(() => E.gemm({ a: z(32), b: z(16), M: 4, N: 2, K: 8, out: E.empty([4, 2]), kernel: 'rowdot' })).toThrow(/gemm: the rowdot kernel needs A \[M, K\] and B transposed/);
    expect(() => E.gemm({ a: z(12), b: z(18), M: 4, N: 6, K: 3, out: E.empty([4, 6]), kernel: 'nvec4' })).toThrow(/gemm: the nvec4 kernel needs .*N a multiple of 4.*N=6/);
    expect(() => E.gemm({ a: z(12), b: z(24), M: 4, N: 8, K: 3, transB: true, out: E.empty([4, 8]), kernel: 'nvec4' })).toThrow(/gemm: the nvec4 kernel needs B as \[K, N\]/);
  });

  it('bad knob values throw instead of being clamped', () => {
    const before = { cols: matmulKernels.rowdotCols, rows: matmulKernels.nvec4Rows };
    const run = () => E.gemm({ a: E.zeros([8]), b: E.zeros([8]), M: 2, N: 2, K: 4, transB: true, out: E.empty([2, 2]), kernel: 'rowdot' });
    try {
      matmulKernels.rowdotCols = 8;
      expect(run).toThrow(/matmulKernels.rowdotCols must be an integer from 1 to 4, got 8/);
      matmulKernels.rowdotCols = 4;
      matmulKernels.nvec4Rows = 0;
      expect(run).toThrow(/matmulKernels.nvec4Rows must be a positive integer, got 0/);
    } finally {
      matmulKernels.rowdotCols = before.cols;
      matmulKernels.nvec4Rows = before.rows;
    }
  });
});

describe('gemm picks the row kernels on CPU-backed adapters', () => {
  it('Linear(4096 -> 10), batch 64: forward x @ W^T takes rowdot, dX = dY @ W and dW = dY^T @ x take nvec4 (GPUs keep their choice); values agree with the naive kernel', async () => {
    const rt = E.runtime();
    const gen = new E.Generator(7);
    const [ROWS, IN, OUT] = [64, 4096, 10];
    await E.scope(async () => {
      const x = E.tensor(gen.uniformArray(ROWS * IN, -1, 1), [ROWS, IN]).requiresGrad_();
      const w = E.tensor(gen.uniformArray(OUT * IN, -1, 1), [OUT, IN]).requiresGrad_();
      const dy = E.tensor(gen.uniformArray(ROWS * OUT, -1, 1), [ROWS, OUT]);
      rt.trace = [];
      let names: string[];
      let y: E.Tensor;
      try {
        y = E.linear(x, w);
        y.backward(dy);
        names = rt.trace.filter((d) => d.kernel.name.startsWith('matmul')).map((d) => d.kernel.name);
      } finally {
        rt.trace = null;
      }
      // On GPUs: split-K forward; dX (K = 10) tiled; dW (10 x 4096 outputs, K = 64) naive, as before.
      expect(names).toEqual(rt.cpuBacked ? ['matmul_rowdot_1x4', 'matmul_nvec4_8x4', 'matmul_nvec4_5x4'] : ['matmul_dot', 'matmul', 'matmul_naive']);
      const naive = (args: Omit<Parameters<typeof E.gemm>[0], 'kernel'>) => E.gemm({ ...args, kernel: 'naive' }).toArray();
      expectClose(await y.toArray(), await naive({ a: x, b: w, out: E.empty([ROWS, OUT]), M: ROWS, N: OUT, K: IN, transB: true }), { atol: 1e-4, rtol: 1e-5 }, 'y = x @ W^T vs naive');
      expectClose(await x.grad!.toArray(), await naive({ a: dy, b: w, out: E.empty([ROWS, IN]), M: ROWS, N: IN, K: OUT }), { atol: 1e-5, rtol: 1e-5 }, 'dX = dY @ W vs naive');
      expectClose(await w.grad!.toArray(), await naive({ a: dy, b: x, out: E.empty([OUT, IN]), M: OUT, N: IN, K: ROWS, transA: true }), { atol: 1e-5, rtol: 1e-5 }, 'dW = dY^T @ x vs naive');
    });
  }, 120_000);

  it('the knob turns them off, and shapes the vec4 or subgroup kernels take keep them', async () => {
    const rt = E.runtime();
    const sg = rt.cpuBacked && rt.info.subgroupMinSize >= 4;
    const names = (f: () => void): string[] => {
      rt.trace = [];
      try {
        f();
        return rt.trace.map((d) => d.kernel.name).filter((n) => n.startsWith('matmul'));
      } finally {
        rt.trace = null;
      }
    };
    await E.scope(async () => {
      const gemm = (M: number, N: number, K: number, transA: boolean, transB: boolean) => () => void E.gemm({ a: E.zeros([M * K]), b: E.zeros([K * N]), out: E.empty([M, N]), M, N, K, transA, transB });
      // M, N, K multiples of 4: subgroup (or vec4) as before.
      expect(names(gemm(64, 64, 64, false, true))).toEqual([sg ? 'matmul_subgroup_32x4' : 'matmul_vec4']);
      // A^T @ B^T: neither row kernel applies.
      expect(names(gemm(10, 10, 64, true, true))).toEqual(['matmul_naive']);
      // Forward of a head with K not a multiple of 4: naive as before.
      expect(names(gemm(64, 10, 255, false, true))).toEqual(['matmul_naive']);
      expect(names(gemm(64, 10, 252, false, true))).toEqual([rt.cpuBacked ? 'matmul_rowdot_1x4' : 'matmul_naive']);
      matmulKernels.rowdot = false;
      try {
        expect(names(gemm(64, 10, 252, false, true))).toEqual(['matmul_naive']);
        expect(names(gemm(10, 4096, 64, true, false))).toEqual(['matmul_naive']);
      } finally {
        matmulKernels.rowdot = null;
      }
    });
  });
});
