// Fused kernels: conv2d + bias + ReLU, linear + bias + ReLU and batch norm + ReLU must equal the unfused composition
// relu(op(...)) in values and gradients (checked against the float64 references composed with a
// ReLU), and Sequential must fuse "layer, ReLU" pairs without changing results.
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { conv2d, convKernels, type Conv2dOptions } from '../../src/engine/ops/conv.js';
import { batchNorm } from '../../src/engine/ops/batchnorm.js';
import { checkOp, expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { arr, type Arr } from '../reference/arr.js';
import { conv2dRef } from '../reference/conv.js';
import { linearRef, linearRefGrad } from '../reference/matmul.js';
import { batchNormForward, batchNormGrad, type BNRefOptions } from '../reference/batchnorm.js';

useGPU();

const reluArr = (a: Arr): Arr => arr(a.shape, a.data.map((v) => Math.max(v, 0)));
/** The gradient reaching the pre-activation `pre` of a ReLU, given the gradient g of its output. */
const throughRelu = (g: Arr, pre: Arr): Arr => arr(g.shape, g.data.map((v, i) => (pre.data[i]! > 0 ? v : 0)));

describe('conv2d with the fused ReLU equals relu(conv2d) against the float64 reference', () => {
  const cases: Array<{ x: number[]; w: number[]; bias: boolean; o: Conv2dOptions }> = [
    { x: [3, 3, 7, 9], w: [5, 3, 3, 3], bias: true, o: { padding: 1 } },
    { x: [1, 4, 11, 6], w: [8, 4, 3, 3], bias: false, o: { stride: 2, padding: 2 } },
    { x: [2, 1, 9, 9], w: [16, 1, 5, 5], bias: true, o: {} },
  ];
  it(`${cases.length} configurations, forward and backward`, async () => {
    for (const c of cases) {
      const r = conv2dRef(c.o);
      await checkOp({
        name: `conv2d+relu x [${c.x}] w [${c.w}]${c.bias ? ' +bias' : ''}`,
        inputs: [{ shape: c.x }, { shape: c.w }, ...(c.bias ? [{ shape: [c.w[0]!] }] : [])],
        gpu: (x, w, b) => conv2d(x!, w!, b, { ...c.o, relu: true }),
        ref: (x, w, b) => reluArr(r.forward(x!, w!, b)),
        refGrad: (g, x, w, b) => r.grad(throughRelu(g, r.forward(x!, w!, b)), x!, w!, b),
        fdSamples: 24,
      });
    }
  });
});

describe('linear with the fused ReLU equals relu(linear) against the float64 reference', () => {
  // On CPU-backed adapters these shapes take the naive, the vec4 and the tiled matmul kernel in turn.
  const cases: Array<{ x: number[]; out: number; bias: boolean }> = [
    { x: [3, 5], out: 7, bias: true },
    { x: [2, 4, 16], out: 12, bias: true },
    { x: [70, 9], out: 66, bias: false },
    { x: [1, 1], out: 1, bias: true },
  ];
  it(`${cases.length} configurations, forward and backward`, async () => {
    for (const c of cases) {
      const inF = c.x[c.x.length - 1]!;
      await checkOp({
        name: `linear+relu x [${c.x}] -> ${c.out}${c.bias ? ' +bias' : ''}`,
        inputs: [{ shape: c.x }, { shape: [c.out, inF] }, ...(c.bias ? [{ shape: [c.out] }] : [])],
        gpu: (x, w, b) => E.linear(x!, w!, b, { relu: true }),
        ref: (x, w, b) => reluArr(linearRef(x!, w!, b)),
        refGrad: (g, x, w, b) => linearRefGrad(throughRelu(g, linearRef(x!, w!, b)), x!, w!, b),
        fdSamples: 24,
      });
    }
  });
});

describe('batchNorm with the fused ReLU equals relu(batchNorm) against the float64 reference', () => {
  const shapes = [[5, 3], [4, 7, 3, 5], [2, 3, 9, 11], [3, 2, 13, 13]];
  it('training mode, affine', async () => {
    for (const shape of shapes) {
      const C = shape[1]!;
      const o: BNRefOptions = { training: true, eps: 1e-5, momentum: 0.1 };
      await checkOp({
        name: `batchNorm+relu train [${shape}]`,
        inputs: [{ shape, low: -2, high: 3 }, { shape: [C], low: 0.5, high: 1.5 }, { shape: [C] }],
        gpu: (x, w, b) => batchNorm(x, null, null, w!, b!, { ...o, relu: true }),
        ref: (x, w, b) => reluArr(batchNormForward(x, null, null, w!, b!, o)),
        refGrad: (g, x, w, b) => {
          const gPre = throughRelu(g, batchNormForward(x, null, null, w!, b!, o));
          const [dx, dw, db] = batchNormGrad(gPre, x, null, null, w!, o);
          return [dx, dw, db];
        },
        bwdTol: { atol: 2e-4, rtol: 2e-4 },
      });
    }
  });

  it('eval mode (running statistics), affine', async () => {
    for (const shape of shapes) {
      const C = shape[1]!;
      const o: BNRefOptions = { training: false, eps: 1e-5 };
      await checkOp({
        name: `batchNorm+relu eval [${shape}]`,
        inputs: [{ shape }, { shape: [C], grad: false }, { shape: [C], low: 0.5, high: 2, grad: false }, { shape: [C], low: 0.5, high: 1.5 }, { shape: [C] }],
        gpu: (x, rm, rv, w, b) => batchNorm(x, rm!, rv!, w!, b!, { ...o, relu: true }),
        ref: (x, rm, rv, w, b) => reluArr(batchNormForward(x, rm!, rv!, w!, b!, o)),
        refGrad: (g, x, rm, rv, w, b) => {
          const gPre = throughRelu(g, batchNormForward(x, rm!, rv!, w!, b!, o));
          const [dx, dw, db] = batchNormGrad(gPre, x, rm!, rv!, w!, o);
          return [dx, null, null, dw, db];
        },
      });
    }
  });

  it('keeps NaN like torch.relu', async () => {
    const x = E.tensor([Number.NaN, 1, -1, 2, 0.5, -3], [3, 2]);
    const y = await batchNorm(x, null, null, null, null, { training: true, relu: true }).toArray();
    expect(Number.isNaN(y[0]!)).toBe(true);
  });
});

// WGSL lets a compiler assume there are no NaNs; on an H200, NVIDIA's Vulkan driver turned a ReLU
// written as select(v, 0.0, v < 0.0) into one that maps NaN to 0. Every ReLU must keep NaN, as
// torch.relu does, whichever kernel applies it.
describe('every ReLU keeps NaN and maps negatives (and -Infinity) to 0, as torch.relu', () => {
  const special = [Number.NaN, -1, 2, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -0.5, 0.25, Number.NaN];
  const expected = [Number.NaN, 0, 2, 0, Number.POSITIVE_INFINITY, 0, 0.25, Number.NaN];
  const same = (got: ArrayLike<number>, want: number[]) => {
    expect(Array.from(got).map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(want.map((v) => (Number.isNaN(v) ? 'NaN' : v)));
  };

  it('E.relu and a fused chain ending in relu', async () => {
    same(await E.relu(E.tensor(special)).toArray(), expected);
    const f = E.fuse((x: E.Tensor) => x.mul(1).relu());
    same(await f(E.tensor(special)).toArray(), expected);
  });

  // Through conv and linear the special values ride on the bias (the input is 0): a NaN or an
  // infinity in a sum's terms would make the whole sum NaN.
  it('conv2d with the fused ReLU, in each kernel family', async () => {
    const rt = E.runtime();
    const family = rt.kernelFamily;
    const x = E.zeros([2, 4, 3, 4]);
    const w = E.randn([8, 4, 3, 3]);
    try {
      for (const f of ['tiled', 'direct'] as const) {
        rt.kernelFamily = f;
        const y = await conv2d(x, w, E.tensor(special), { padding: 1, relu: true }).toArray();
        for (let n = 0; n < 2; n++) {
          for (let pix = 0; pix < 12; pix++) same(expected.map((_, c) => y[(n * 8 + c) * 12 + pix]!), expected);
        }
      }
    } finally {
      rt.kernelFamily = family;
    }
  });

  it('linear with the fused ReLU (naive, tiled, vec4, subgroup and rowdot matmul kernels)', async () => {
    // 1 row: the naive kernel; 64 rows: the vec4 kernel for 64 outputs (the subgroup kernel instead on
    // CPU-backed adapters with subgroups, and vec4 with it turned off), the tiled one for 63; the
    // rowdot kernel, which CPU-backed adapters take for 1 row or 63 outputs, turned off for those.
    const rt = E.runtime();
    const sg = rt.cpuBacked && rt.info.subgroupMinSize >= 4;
    const cases = [[1, 64, 'matmul_naive', null], [64, 64, sg ? 'matmul_subgroup_32x4' : 'matmul_vec4', null], [64, 64, 'matmul_vec4', false], [64, 63, 'matmul', null],
      ...(rt.cpuBacked ? [[3, 10, 'matmul_rowdot_1x4', null]] as const : [])] as const;
    for (const [rows, outF, kernel, subgroups] of cases) {
      const bias = E.tensor(Array.from({ length: outF }, (_, i) => special[i % 8]!));
      const want = Array.from({ length: outF }, (_, i) => expected[i % 8]!);
      rt.trace = [];
      E.matmulKernels.subgroups = subgroups;
      E.matmulKernels.rowdot = kernel.startsWith('matmul_rowdot') ? null : false;
      const out = E.linear(E.zeros([rows, 64]), E.randn([outF, 64]), bias, { relu: true });
      E.matmulKernels.subgroups = null;
      E.matmulKernels.rowdot = null;
      expect(rt.trace.map((d) => d.kernel.name)).toContain(kernel);
      rt.trace = null;
      const y = await out.toArray();
      for (let r = 0; r < rows; r++) same(y.slice(r * outF, (r + 1) * outF), want);
    }
  });

  it('the split-K matmul kernel with the fused ReLU', async () => {
    const [rows, outF, K] = [3, 16, 300];
    const bias = E.tensor(Array.from({ length: outF }, (_, i) => special[i % 8]!));
    const want = Array.from({ length: outF }, (_, i) => expected[i % 8]!);
    const y = await E.gemm({ a: E.zeros([rows, K]), b: E.randn([outF, K]), bias, relu: true, out: E.empty([rows, outF]), M: rows, N: outF, K, transB: true, kernel: 'dot' }).toArray();
    for (let r = 0; r < rows; r++) same(y.slice(r * outF, (r + 1) * outF), want);
  });
});

/** Outputs and parameter gradients of one forward/backward, and the dispatches it recorded. */
async function runModel(model: E.Module, x: E.Tensor): Promise<{ out: Float32Array; grads: Float32Array[]; dispatches: number }> {
  const rt = E.runtime();
  for (const p of model.parameters()) { p.grad?.dispose(); p.grad = null; }
  const before = rt.counters.dispatches;
  let out!: Float32Array;
  await E.scope(async () => {
    const y = model.forward(x);
    E.sum(E.mul(y, y)).backward();
    out = (await y.toArray()) as Float32Array;
  });
  const dispatches = rt.counters.dispatches - before;
  const grads = await Promise.all(model.parameters().map(async (p) => (await p.grad!.toArray()) as Float32Array));
  return { out, grads, dispatches };
}

describe('Sequential fuses "Conv2d/Linear/BatchNorm, ReLU" pairs', () => {
  const build = () => {
    E.manualSeed(7);
    return new E.Sequential(
      new E.Conv2d(3, 8, 3, { padding: 1 }), new E.BatchNorm2d(8), new E.ReLU(), new E.MaxPool2d(2),
      new E.Conv2d(8, 6, 3), new E.ReLU(), new E.Flatten(), new E.Linear(6 * 2 * 2, 5), new E.ReLU(),
    );
  };

  it('gives the same outputs and gradients as running every layer alone, in fewer dispatches', async () => {
    const x = E.randn([2, 3, 8, 8], { generator: new E.Generator(3) }).keep();
    const fusedModel = build();
    const fused = await runModel(fusedModel, x);
    const plainModel = build();
    E.Sequential.fuseRelu = false;
    let plain;
    try {
      plain = await runModel(plainModel, x);
    } finally {
      E.Sequential.fuseRelu = true;
    }
    expectClose(fused.out, plain.out, { atol: 1e-6, rtol: 1e-5 }, 'fused vs unfused output');
    fused.grads.forEach((g, i) => expectClose(g, plain.grads[i]!, { atol: 1e-5, rtol: 1e-4 }, `gradient ${i}`));
    // Three ReLUs (after batch norm, conv and linear) fold into their layers' forward kernels: 3 fewer
    // forward dispatches; in backward the batch norm masks inside its own kernels (1 fewer) while
    // the conv and the linear each keep one masking kernel.
    expect(plain.dispatches - fused.dispatches).toBe(4);
    fusedModel.dispose(); plainModel.dispose(); x.dispose();
  });

  it('does not fuse a Linear subclass that overrides forward', async () => {
    class ShiftedLinear extends E.Linear {
      override forward(x: E.Tensor): E.Tensor { return E.add(super.forward(x), -10); }
    }
    E.manualSeed(4);
    const m = new E.Sequential(new ShiftedLinear(3, 4), new E.ReLU());
    const x = E.randn([2, 3], { generator: new E.Generator(5) });
    const expected = E.relu(E.add(E.linear(x, (m.at(0) as E.Linear).weight, (m.at(0) as E.Linear).bias), -10));
    expectClose(await m.forward(x).toArray(), await expected.toArray(), { atol: 1e-6, rtol: 1e-6 }, 'unfused semantics kept');
    m.dispose();
  });

  it('does not fuse a subclass that overrides forward, nor a ReLU subclass', async () => {
    class Shifted extends E.Conv2d {
      override forward(x: E.Tensor): E.Tensor { return E.add(super.forward(x), -10); }
    }
    class LoudReLU extends E.ReLU {
      override forward(x: E.Tensor): E.Tensor { return E.mul(super.forward(x), 2); }
    }
    E.manualSeed(1);
    const m = new E.Sequential(new Shifted(1, 2, 1), new E.ReLU(), new E.Conv2d(2, 2, 1), new LoudReLU());
    const x = E.randn([1, 1, 2, 2], { generator: new E.Generator(2) });
    const conv0 = m.at(0) as E.Conv2d;
    const conv2 = m.at(2) as E.Conv2d;
    const expected = E.mul(E.relu(conv2.forward(E.relu(conv0.forward(x)))), 2);
    expectClose(await m.forward(x).toArray(), await expected.toArray(), { atol: 1e-6, rtol: 1e-6 }, 'unfused semantics kept');
    m.dispose();
  });
});

describe('fused ReLU epilogues pass the gradient at a NaN, as torch.relu does (threshold_backward: 0 only where y <= 0)', () => {
  it('linear and conv2d (both families) with a NaN bias entry: that channel keeps its bias gradient, a negative one gets none', async () => {
    // Bias [NaN, -100, 100]: channel 0 is NaN everywhere (gradient passes), channel 1 is below 0
    // everywhere (gradient 0), channel 2 above 0 (gradient passes): bias gradient = [sum g, 0, sum g].
    const bias = (): E.Tensor => E.tensor([NaN, -100, 100], [3], { requiresGrad: true });
    const x = E.uniform([4, 5], -1, 1, { generator: new E.Generator(3) });
    const w = E.uniform([3, 5], -1, 1, { generator: new E.Generator(4) });
    const b1 = bias();
    E.linear(x, w, b1, { relu: true }).backward(E.full([4, 3], 0.5));
    expect([...(await b1.grad!.toArray())], 'linear').toEqual([2, 0, 2]);
    const xi = E.uniform([2, 2, 4, 4], -1, 1, { generator: new E.Generator(5) });
    const wc = E.uniform([3, 2, 3, 3], -1, 1, { generator: new E.Generator(6) });
    try {
      for (const direct of [false, true]) {
        convKernels.direct = direct; // the implicit GEMM and the register-blocked direct family
        const b2 = bias();
        const y = conv2d(xi, wc, b2, { padding: 1, relu: true });
        y.backward(E.full(y.shape, 0.25));
        expect([...(await b2.grad!.toArray())], `conv2d direct: ${direct}`).toEqual([8, 0, 8]);
      }
    } finally {
      convKernels.direct = null;
    }
  });
});
