import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { checkOp, expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { matmulRef, matmulRefGrad, linearRef, linearRefGrad, gemmStoredRef } from '../reference/matmul.js';
import { matmulKernels } from '../../src/engine/ops/matmul.js';

useGPU();

const s = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** Random A, B (flat, with their own batch shapes) and bias for a gemm of the given sizes. */
function gemmOperands(gen: E.Generator, sz: { M: number; N: number; K: number; aBatch: number[]; bBatch: number[] }) {
  const count = (xs: number[]) => xs.reduce((x, y) => x * y, 1);
  return {
    aData: gen.uniformArray(count(sz.aBatch) * sz.M * sz.K, -1, 1),
    bData: gen.uniformArray(count(sz.bBatch) * sz.K * sz.N, -1, 1),
    biasData: gen.uniformArray(sz.N, -1, 1),
  };
}

describe('matmul matches the float64 reference, forward and backward', () => {
  // 1, primes, exact tile sizes (64) and one past them (65), batches that broadcast on either side.
  const pairs: [number[], number[]][] = [
    [[1, 1], [1, 1]],
    [[7, 13], [13, 5]],
    [[64, 64], [64, 64]],
    [[65, 17], [17, 33]],
    [[3, 37, 11], [11, 7]],
    [[3, 37, 11], [3, 11, 7]],
    [[3, 5, 4], [1, 4, 6]],
    [[5, 4], [2, 3, 4, 6]],
    [[2, 3, 5, 4], [4, 6]],
    [[2, 1, 5, 4], [3, 4, 6]],
  ];
  for (const [sa, sb] of pairs) {
    it(`${s(sa)} @ ${s(sb)}`, async () => {
      await checkOp({ name: `matmul ${s(sa)} @ ${s(sb)}`, inputs: [{ shape: sa }, { shape: sb }], gpu: E.matmul, ref: matmulRef, refGrad: matmulRefGrad });
    });
  }

  it('1-D operands: dot, vector @ matrix, matrix @ vector, batched', async () => {
    const cases: [number[], number[]][] = [
      [[7], [7]],
      [[1], [1]],
      [[7], [7, 5]],
      [[3, 5], [5]],
      [[7], [2, 7, 5]],
      [[2, 3, 5], [5]],
    ];
    for (const [sa, sb] of cases) {
      await checkOp({ name: `matmul ${s(sa)} @ ${s(sb)}`, inputs: [{ shape: sa }, { shape: sb }], gpu: E.matmul, ref: matmulRef, refGrad: matmulRefGrad });
    }
  });

  it('a larger odd-sized product [131, 37] @ [37, 257]', async () => {
    await checkOp({
      name: 'matmul [131, 37] @ [37, 257]', inputs: [{ shape: [131, 37] }, { shape: [37, 257] }],
      gpu: E.matmul, ref: matmulRef, refGrad: matmulRefGrad, fdSamples: 6,
    });
  });

  it('Tensor.matmul, gradient only where required, and empty inner dimension', async () => {
    const a = E.tensor([[1, 2], [3, 4]]);
    const b = E.tensor([[5, 6], [7, 8]], undefined, { requiresGrad: true });
    const y = a.matmul(b);
    expect([...(await y.toArray())]).toEqual([19, 22, 43, 50]);
    y.backward(E.ones([2, 2]));
    expect(a.grad).toBeNull();
    expect([...(await b.grad!.toArray())]).toEqual([4, 4, 6, 6]);

    const z = E.matmul(E.zeros([3, 0]), E.zeros([0, 4]));
    expect([...z.shape]).toEqual([3, 4]);
    expect([...(await z.toArray())]).toEqual(new Array(12).fill(0));
    expect([...E.matmul(E.zeros([0, 5]), E.zeros([5, 3])).shape]).toEqual([0, 3]);
  });
});

describe('linear matches the float64 reference, forward and backward', () => {
  const cases: [number[], number, boolean][] = [
    [[5, 7], 3, true],
    [[5, 7], 3, false],
    [[2, 3, 7], 11, true],
    [[2, 3, 7], 11, false],
    [[1, 7], 3, true],
    [[7], 3, true],
    [[67, 70], 65, true],
  ];
  for (const [xs, out, withBias] of cases) {
    it(`${s(xs)} -> ${out} ${withBias ? 'with' : 'without'} bias`, async () => {
      const inF = xs[xs.length - 1]!;
      const inputs = [{ shape: xs }, { shape: [out, inF] }, ...(withBias ? [{ shape: [out] }] : [])];
      await checkOp({
        name: `linear ${s(xs)} -> ${out}${withBias ? ' + bias' : ''}`,
        inputs,
        gpu: (x, w, b) => E.linear(x, w, b),
        ref: (x, w, b) => linearRef(x, w, b),
        refGrad: (g, x, w, b) => linearRefGrad(g, x, w, b),
        fdSamples: 16,
      });
    });
  }
});

describe('the tiled, vec4 and split-K kernels agree with the naive oracle kernel', () => {
  // The CPU product of the stored layouts, gemmStoredRef (test/reference/matmul.ts), checks the oracle itself.

  it('for every transposition/bias variant, on odd sizes with broadcast batches and on tiny ones', async () => {
    const gen = new E.Generator(7);
    const sizes = [
      { M: 67, N: 45, K: 33, batch: [2, 3], aBatch: [2, 1], bBatch: [1, 3] },
      { M: 5, N: 3, K: 70, batch: [], aBatch: [], bBatch: [] },
      { M: 1, N: 1, K: 1, batch: [3], aBatch: [3], bBatch: [1] },
      // Multiples of 4: the vec4 register-blocked kernel runs too (more than one 8x8 workgroup of blocks).
      { M: 68, N: 44, K: 36, batch: [2, 3], aBatch: [2, 1], bBatch: [1, 3] },
      { M: 4, N: 8, K: 4, batch: [], aBatch: [], bBatch: [] },
    ];
    for (const sz of sizes) {
      const { aData, bData, biasData } = gemmOperands(gen, sz);
      await E.scope(async () => {
        const a = E.tensor(aData, [aData.length]);
        const b = E.tensor(bData, [bData.length]);
        const bias = E.tensor(biasData, [sz.N]);
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            for (const withBias of [false, true]) {
              const label = `M=${sz.M} N=${sz.N} K=${sz.K} batch ${s(sz.batch)}: A${transA ? '^T' : ''} @ B${transB ? '^T' : ''}${withBias ? ' + bias' : ''}`;
              const o = { ...sz, transA, transB };
              const run = (kernel: 'tiled' | 'naive' | 'vec4' | 'dot' | 'subgroup') => E.gemm({ a, b, bias: withBias ? bias : null, out: E.empty([...sz.batch, sz.M, sz.N]), kernel, ...o }).toArray();
              const naive = await run('naive');
              const tiled = await run('tiled');
              expectClose(naive, gemmStoredRef(aData, bData, withBias ? biasData : null, o), { atol: 1e-5, rtol: 1e-5 }, `naive ${label} vs CPU`);
              expectClose(tiled, naive, { atol: 1e-5, rtol: 1e-5 }, `tiled ${label} vs naive`);
              expectClose(await run('dot'), naive, { atol: 1e-5, rtol: 1e-5 }, `dot ${label} vs naive`);
              if (sz.M % 4 === 0 && sz.N % 4 === 0 && sz.K % 4 === 0) {
                expectClose(await run('vec4'), naive, { atol: 1e-5, rtol: 1e-5 }, `vec4 ${label} vs naive`);
                if (E.runtime().info.subgroupMinSize >= 4) expectClose(await run('subgroup'), naive, { atol: 1e-5, rtol: 1e-5 }, `subgroup ${label} vs naive`);
              }
            }
          }
        }
      });
    }
  }, 300_000);

  it('the split-K kernel on odd K and output counts, with bias and ReLU, matches float64', async () => {
    // K = 1 and 3 leave most of the 64 threads without a k; 257 and 4099 give threads unequal shares.
    // M * N = 1, 7 (one row), 640 (64 x 10, a classifier head) with a broadcast batch on A.
    const gen = new E.Generator(13);
    const shapes = [
      { M: 1, N: 1, K: 1, batch: [], aBatch: [], bBatch: [] },
      { M: 7, N: 1, K: 3, batch: [2], aBatch: [2], bBatch: [2] },
      { M: 1, N: 7, K: 257, batch: [], aBatch: [], bBatch: [] },
      { M: 64, N: 10, K: 4099, batch: [], aBatch: [], bBatch: [] },
      { M: 64, N: 10, K: 257, batch: [2, 3], aBatch: [1, 3], bBatch: [2, 1] },
    ];
    for (const sz of shapes) {
      const { aData, bData, biasData } = gemmOperands(gen, sz);
      await E.scope(async () => {
        const a = E.tensor(aData, [aData.length]);
        const b = E.tensor(bData, [bData.length]);
        const bias = E.tensor(biasData, [sz.N]);
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            for (const relu of [false, true]) {
              const o = { ...sz, transA, transB };
              const label = `dot M=${sz.M} N=${sz.N} K=${sz.K} batch ${s(sz.batch)}: ${relu ? 'relu(' : ''}A${transA ? '^T' : ''} @ B${transB ? '^T' : ''} + bias${relu ? ')' : ''}`;
              const got = await E.gemm({ a, b, bias, relu, out: E.empty([...sz.batch, sz.M, sz.N]), kernel: 'dot', ...o }).toArray();
              const want = gemmStoredRef(aData, bData, biasData, o).map((v) => (relu ? Math.max(v, 0) : v));
              // Sums of up to 4099 products of values in [-1, 1]: float32 rounding grows with K.
              expectClose(got, want, { atol: 2e-5 * Math.sqrt(sz.K), rtol: 1e-5 }, label);
              if (relu) expect(got.every((v) => v >= 0)).toBe(true);
            }
          }
        }
      });
    }
  });

  it('auto: a few outputs over a long K (linear 4096 -> 10, batch 64) take the split-K kernel on GPUs, rowdot on CPU-backed adapters', async () => {
    // The split-K kernel's barriers cost more than its parallelism gains on a CPU (see autoKernel in ops/matmul.ts);
    // there the rowdot kernel reads x's rows and W's rows as vec4 (test/engine/matmul-rowdot.test.ts).
    const rt = E.runtime();
    const gen = new E.Generator(5);
    await E.scope(async () => {
      const x = E.tensor(gen.uniformArray(64 * 4096, -1, 1), [64, 4096]);
      const w = E.tensor(gen.uniformArray(10 * 4096, -1, 1), [10, 4096]);
      rt.trace = [];
      let y: E.Tensor;
      try {
        y = E.linear(x, w);
      } finally {
        const names = rt.trace.map((d) => d.kernel.name);
        rt.trace = null;
        expect(names).toEqual([rt.cpuBacked ? 'matmul_rowdot_1x4' : 'matmul_dot']);
      }
      const naive = await E.gemm({ a: x, b: w, out: E.empty([64, 10]), M: 64, N: 10, K: 4096, transB: true, kernel: 'naive' }).toArray();
      expectClose(await y.toArray(), naive, { atol: 1e-4, rtol: 1e-5 }, 'linear 4096 -> 10 (auto kernel) vs naive');
      // A short K (not a multiple of 4, so no rowdot either) stays with the one-thread-per-output kernel everywhere.
      rt.trace = [];
      E.linear(E.tensor(gen.uniformArray(64 * 255, -1, 1), [64, 255]), E.tensor(gen.uniformArray(10 * 255, -1, 1), [10, 255]));
      const short = rt.trace.map((d) => d.kernel.name);
      rt.trace = null;
      expect(short).toEqual(['matmul_naive']);
    });
  });

  // The subgroup-broadcast kernel (CPU-backed adapters with `subgroups`) under other blockings than the
  // default: rows past M inside a workgroup's block (M = 36, 68 against 8- and 16-row blocks), columns past N
  // inside a thread's 4Q (N = 44, 20 with Q = 2), more than one workgroup of columns (N = 264), bias,
  // ReLU and broadcast batches, every transposition, against the float64 product of the stored layouts.
  it('the subgroup kernel under each blocking, with bias and ReLU, matches float64 (devices with subgroups)', async () => {
    if (E.runtime().info.subgroupMinSize < 4) {
      expect(() => E.gemm({ a: E.zeros([16]), b: E.zeros([16]), M: 4, N: 4, K: 4, out: E.empty([4, 4]), kernel: 'subgroup' })).toThrow(/gemm: the subgroup kernel needs/);
      return;
    }
    const gen = new E.Generator(17);
    const sizes = [
      { M: 68, N: 44, K: 36, batch: [2, 3], aBatch: [2, 1], bBatch: [1, 3] },
      { M: 36, N: 264, K: 8, batch: [], aBatch: [], bBatch: [] },
      { M: 4, N: 20, K: 4, batch: [2], aBatch: [2], bBatch: [1] },
    ];
    // The default 32 x 4 blocking runs in the test above; each transposition here under one epilogue
    // (a kernel compile per variant is what makes this test slow on a CPU).
    const blocks = [{ R: 8, Q: 1 }, { R: 16, Q: 2 }];
    const epilogues = [[false, false], [true, false], [true, true], [false, true]] as const;
    const rt = E.runtime();
    try {
      for (const sz of sizes) {
        const { aData, bData, biasData } = gemmOperands(gen, sz);
        await E.scope(async () => {
          const a = E.tensor(aData, [aData.length]);
          const b = E.tensor(bData, [bData.length]);
          const bias = E.tensor(biasData, [sz.N]);
          for (const block of blocks) {
            matmulKernels.subgroupBlock = block;
            for (const transA of [false, true]) {
              for (const transB of [false, true]) {
                const [withBias, relu] = epilogues[(transA ? 2 : 0) + (transB ? 1 : 0)]!;
                const o = { ...sz, transA, transB };
                const label = `subgroup R=${block.R} Q=${block.Q} M=${sz.M} N=${sz.N} K=${sz.K} batch ${s(sz.batch)}: ${relu ? 'relu(' : ''}A${transA ? '^T' : ''} @ B${transB ? '^T' : ''}${withBias ? ' + bias' : ''}${relu ? ')' : ''}`;
                rt.trace = [];
                const out = E.gemm({ a, b, bias: withBias ? bias : null, relu, out: E.empty([...sz.batch, sz.M, sz.N]), kernel: 'subgroup', ...o });
                const names = rt.trace.map((d) => d.kernel.name);
                rt.trace = null;
                expect(names, label).toEqual([`matmul_subgroup_${block.R}x${4 * block.Q}`]);
                const want = gemmStoredRef(aData, bData, withBias ? biasData : null, o).map((v) => (relu ? Math.max(v, 0) : v));
                expectClose(await out.toArray(), want, { atol: 1e-5, rtol: 1e-5 }, label);
              }
            }
          }
        });
      }
    } finally {
      matmulKernels.subgroupBlock = { R: 32, Q: 1 };
      rt.trace = null;
    }
  }, 300_000);

  it('auto: the MLP products (Linear forward, its dX and dW) take the subgroup kernel on CPU-backed adapters with subgroups, vec4 elsewhere', async () => {
    const rt = E.runtime();
    const gen = new E.Generator(19);
    // Sizes whose products (36x68x40, 36x40x68, 68x40x36) fill enough of the tiled kernel's tiles that
    // the previous selection takes the vec4 kernel, not the naive one.
    const [ROWS, IN, OUT] = [36, 40, 68];
    const expected = rt.cpuBacked && rt.info.subgroupMinSize >= 4 ? 'matmul_subgroup_32x4' : 'matmul_vec4';
    await E.scope(async () => {
      const x = E.tensor(gen.uniformArray(ROWS * IN, -1, 1), [ROWS, IN]).requiresGrad_();
      const w = E.tensor(gen.uniformArray(OUT * IN, -1, 1), [OUT, IN]).requiresGrad_();
      const bias = E.tensor(gen.uniformArray(OUT, -1, 1), [OUT]).requiresGrad_();
      for (const subgroups of [null, false]) {
        matmulKernels.subgroups = subgroups;
        rt.trace = [];
        let names: string[];
        let y: E.Tensor;
        try {
          y = E.linear(x, w, bias, { relu: true });
          y.sum().backward();
          names = rt.trace.filter((d) => d.kernel.name.startsWith('matmul')).map((d) => d.kernel.name);
        } finally {
          rt.trace = null;
          matmulKernels.subgroups = null;
        }
        // forward x @ W^T, dX = g @ W, dW = g^T @ x.
        expect(names).toEqual(new Array(3).fill(subgroups === false ? 'matmul_vec4' : expected));
        const xv = await x.toArray();
        const wv = await w.toArray();
        const bv = await bias.toArray();
        // float64 y = relu(x @ W^T + b); the gradients of sum(y) are the masked sums below.
        const z = new Float64Array(ROWS * OUT);
        for (let r = 0; r < ROWS; r++) {
          for (let o = 0; o < OUT; o++) {
            let acc = bv[o]!;
            for (let i = 0; i < IN; i++) acc += xv[r * IN + i]! * wv[o * IN + i]!;
            z[r * OUT + o] = Math.max(acc, 0);
          }
        }
        const gx = new Float64Array(ROWS * IN);
        const gw = new Float64Array(OUT * IN);
        for (let r = 0; r < ROWS; r++) {
          for (let o = 0; o < OUT; o++) {
            if (z[r * OUT + o]! <= 0) continue;
            for (let i = 0; i < IN; i++) {
              gx[r * IN + i] = gx[r * IN + i]! + wv[o * IN + i]!;
              gw[o * IN + i] = gw[o * IN + i]! + xv[r * IN + i]!;
            }
          }
        }
        expectClose(await y.toArray(), z, { atol: 1e-5, rtol: 1e-5 }, `linear forward (${names[0]})`);
        expectClose(await x.grad!.toArray(), gx, { atol: 1e-5, rtol: 1e-5 }, `linear dX (${names[1]})`);
        expectClose(await w.grad!.toArray(), gw, { atol: 1e-5, rtol: 1e-5 }, `linear dW (${names[2]})`);
        x.grad = null;
        w.grad = null;
        bias.grad = null;
      }
    });
  });

  it('batches past 65535 workgroups are split over several dispatches', async () => {
    const n = 65535 + 70;
    await E.scope(async () => {
      const a = E.tensor(Float32Array.from({ length: n }, (_, i) => i % 1000), [n, 1, 1]);
      const b = E.tensor(Float32Array.from({ length: n }, (_, i) => (i % 7) - 3), [n, 1, 1]);
      const y = await E.matmul(a, b).toArray();
      for (const i of [0, 1, 65534, 65535, 65536, n - 1]) expect(y[i]! + 0).toBe((i % 1000) * ((i % 7) - 3) + 0);
    });
  });

  it('256 x 256 @ 256 x 256', async () => {
    const gen = new E.Generator(11);
    await E.scope(async () => {
      const a = E.tensor(gen.uniformArray(256 * 256, -1, 1), [256, 256]);
      const b = E.tensor(gen.uniformArray(256 * 256, -1, 1), [256, 256]);
      const args = { a, b, M: 256, N: 256, K: 256 };
      const naive = await E.gemm({ ...args, out: E.empty([256, 256]), kernel: 'naive' }).toArray();
      const tiled = await E.gemm({ ...args, out: E.empty([256, 256]), kernel: 'tiled' }).toArray();
      const vec4 = await E.gemm({ ...args, out: E.empty([256, 256]), kernel: 'vec4' }).toArray();
      const auto = await E.matmul(a, b).toArray();
      expectClose(tiled, naive, { atol: 1e-4, rtol: 1e-5 }, 'tiled vs naive 256^3');
      expectClose(vec4, naive, { atol: 1e-4, rtol: 1e-5 }, 'vec4 vs naive 256^3');
      expectClose(auto, naive, { atol: 1e-4, rtol: 1e-5 }, 'matmul (auto kernel) vs naive 256^3');
    });
  });
});

describe('matmul and linear reject bad input with messages naming the op and the shapes', () => {
  it('the vec4 kernel names its shape requirement', () => {
    expect(() => E.gemm({ a: E.zeros([2]), b: E.zeros([3]), M: 2, N: 3, K: 1, out: E.empty([2, 3]), kernel: 'vec4' })).toThrow(
      'gemm: the vec4 kernel needs M, N, K multiples of 4 (and float32 operands), got M=2, N=3, K=1',
    );
  });

  it('matmul [2, 3] @ [4, 5]', () => {
    expect(() => E.matmul(E.zeros([2, 3]), E.zeros([4, 5]))).toThrow('matmul: shapes [2, 3] and [4, 5] are incompatible (inner dimensions 3 and 4 differ)');
  });

  it('matmul with 1-D, 0-D and non-broadcastable batch operands', () => {
    expect(() => E.matmul(E.zeros([3]), E.zeros([4]))).toThrow('matmul: shapes [3] and [4] are incompatible (inner dimensions 3 and 4 differ)');
    expect(() => E.matmul(E.zeros([2, 3]), E.zeros([2]))).toThrow('matmul: shapes [2, 3] and [2] are incompatible (inner dimensions 3 and 2 differ)');
    expect(() => E.matmul(E.zeros([]), E.zeros([3]))).toThrow(/matmul: both arguments need at least 1 dimension, got shapes \[\] and \[3\]/);
    expect(() => E.matmul(E.zeros([2, 5, 4]), E.zeros([3, 4, 6]))).toThrow(/matmul: batch dimensions of shapes \[2, 5, 4\] and \[3, 4, 6\] cannot be broadcast/);
  });

  it('non-float32 operands', () => {
    const i = E.tensor(new Int32Array([1, 2, 3, 4]), [2, 2]);
    expect(() => E.matmul(i, E.zeros([2, 2]))).toThrow(/matmul: expects float32 tensors, got int32 \(shape \[2, 2\]\)/);
    expect(() => E.linear(E.zeros([2, 2]), i)).toThrow(/linear: expects float32 tensors, got int32/);
  });

  it('linear with mismatched input, weight or bias', () => {
    expect(() => E.linear(E.zeros([5, 7]), E.zeros([3, 6]))).toThrow('linear: input [5, 7] and weight [3, 6] are incompatible (input features 7, weight expects 6)');
    expect(() => E.linear(E.zeros([5, 7]), E.zeros([7]))).toThrow(/linear: weight must be 2-D \[out, in\], got shape \[7\]/);
    expect(() => E.linear(E.zeros([5, 7]), E.zeros([3, 7]), E.zeros([4]))).toThrow('linear: bias [4] does not match weight [3, 7] (expected [3])');
  });
});
