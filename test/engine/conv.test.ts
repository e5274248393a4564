import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from '../../src/index.js';
import { conv2d, conv2dDirect, type Conv2dOptions } from '../../src/engine/ops/conv.js';
import { checkOp, expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { conv2dRef } from '../reference/conv.js';

useGPU();

interface Case {
  x: number[];
  w: number[];
  bias: boolean;
  o: Conv2dOptions;
  /** Differentiate with respect to x (off for a first layer fed with data). */
  gradX?: boolean;
}

const label = (c: Case) =>
  `x [${c.x}] w [${c.w}]${c.bias ? ' +bias' : ''} stride ${JSON.stringify(c.o.stride ?? 1)} pad ${JSON.stringify(c.o.padding ?? 0)} dil ${JSON.stringify(c.o.dilation ?? 1)}`;

async function check(c: Case): Promise<void> {
  const r = conv2dRef(c.o);
  const inputs = [{ shape: c.x, grad: c.gradX ?? true }, { shape: c.w }, ...(c.bias ? [{ shape: [c.w[0]!] }] : [])];
  await checkOp({
    name: `conv2d ${label(c)}`,
    inputs,
    gpu: (x, w, b) => conv2d(x!, w!, b, c.o),
    ref: (x, w, b) => r.forward(x!, w!, b),
    refGrad: (g, x, w, b) => r.grad(g, x!, w!, b),
    fdSamples: 24,
  });
}

// Small cases (lavapipe runs ~1 GFLOP/s) covering strides 1-2, paddings 0-2, kernels 1/3/5,
// dilation 1-2, odd spatial sizes, batch 1 and 3, Cin 1/3/4, Cout 1/5/8, with and without bias.
const CASES: Case[] = [
  { x: [1, 1, 5, 5], w: [1, 1, 1, 1], bias: true, o: {} },
  { x: [3, 3, 7, 9], w: [5, 3, 3, 3], bias: true, o: { padding: 1 } },
  { x: [1, 4, 11, 6], w: [8, 4, 3, 3], bias: false, o: { stride: 2, padding: 2 } },
  { x: [3, 1, 7, 9], w: [8, 1, 5, 5], bias: true, o: { padding: 2 } },
  { x: [1, 3, 11, 6], w: [5, 3, 3, 3], bias: true, o: { padding: 2, dilation: 2 } },
  { x: [3, 4, 5, 5], w: [1, 4, 3, 3], bias: false, o: { stride: 2 } },
  { x: [1, 3, 7, 9], w: [5, 3, 5, 5], bias: true, o: { stride: 2, padding: 1, dilation: 2 } },
  { x: [1, 4, 5, 5], w: [8, 4, 1, 1], bias: false, o: { stride: 2, padding: 1 } },
  { x: [2, 3, 7, 9], w: [5, 3, 3, 5], bias: true, o: { stride: [1, 2], padding: [0, 2], dilation: [2, 1] } },
  { x: [3, 3, 11, 6], w: [8, 3, 3, 3], bias: true, o: { stride: 2, padding: 1, dilation: 2 } },
  { x: [2, 3, 5, 5], w: [5, 3, 5, 5], bias: true, o: {} }, // 1x1 output: the kernel covers the image
  { x: [3, 3, 7, 9], w: [5, 3, 3, 3], bias: true, o: { padding: 1 }, gradX: false },
];

describe('conv2d matches the float64 reference, forward and backward', () => {
  it(`${CASES.length} configurations`, async () => {
    for (const c of CASES) await check(c);
  });

  it('several 64x64 tiles along every GEMM axis, K not a multiple of 16', async () => {
    // grad-input: NN = Cin = 67 (2 column tiles); grad-weight: M = 67*9 = 603 (10 row tiles).
    await check({ x: [1, 67, 4, 5], w: [3, 67, 3, 3], bias: true, o: { padding: 1 } });
    // forward and grad-input: M = 2*9*10 = 180 (3 row tiles); NN = Cout = 70 (2 column tiles).
    await check({ x: [2, 2, 9, 10], w: [70, 2, 3, 3], bias: true, o: { padding: 1 } });
  });

  it('grad-weight splits K = N*OH*OW across workgroups and sums the slices', async () => {
    // K = 2*16*16 = 512 (2 slices) and 4*20*20 = 1600 (6 slices) with a single output tile.
    await check({ x: [2, 3, 16, 16], w: [4, 3, 3, 3], bias: true, o: { padding: 1 } });
    await check({ x: [4, 2, 20, 20], w: [3, 2, 3, 3], bias: false, o: { stride: 1 } });
  });
});

describe('the implicit-GEMM forward agrees with the naive direct-convolution oracle', () => {
  const cases: Case[] = [
    { x: [2, 5, 13, 17], w: [70, 5, 3, 3], bias: true, o: { padding: 1 } },
    { x: [1, 8, 9, 10], w: [3, 8, 5, 5], bias: false, o: { stride: 2, padding: 2 } },
    { x: [3, 4, 11, 6], w: [8, 4, 3, 3], bias: true, o: { stride: [2, 1], padding: [1, 2], dilation: [1, 2] } },
    { x: [1, 1, 1, 1], w: [1, 1, 1, 1], bias: false, o: {} },
  ];
  for (const c of cases) {
    it(label(c), async () => {
      await E.scope(async () => {
        const x = E.randn(c.x);
        const w = E.randn(c.w);
        const b = c.bias ? E.randn([c.w[0]!]) : null;
        const fast = await conv2d(x, w, b, c.o).toArray();
        const direct = await conv2dDirect(x, w, b, c.o).toArray();
        expectClose(fast, direct, { atol: 1e-4, rtol: 1e-5 }, `conv2d vs direct ${label(c)}`);
      });
    });
  }
});

describe('conv2d matches PyTorch (fixture from test/fixtures/conv/make_conv_fixture.py)', () => {
  type T = { shape: number[]; data: string };
  type FixtureCase = {
    name: string; stride: [number, number]; padding: [number, number]; dilation: [number, number];
    x: T; weight: T; bias?: T; g: T; out: T; dx: T; dweight: T; dbias?: T;
  };
  const path = fileURLToPath(new URL('../fixtures/conv/conv_fixture.json', import.meta.url));
  const fixture = JSON.parse(readFileSync(path, 'utf8')) as { cases: FixtureCase[] };
  const values = (t: T) => {
    const bytes = Buffer.from(t.data, 'base64');
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  };
  const tol = { atol: 1e-5, rtol: 1e-4 };
  for (const fc of fixture.cases) {
    it(fc.name, async () => {
      await E.scope(async () => {
        const x = E.tensor(values(fc.x), fc.x.shape, { requiresGrad: true });
        const w = E.tensor(values(fc.weight), fc.weight.shape, { requiresGrad: true });
        const b = fc.bias ? E.tensor(values(fc.bias), fc.bias.shape, { requiresGrad: true }) : null;
        const y = conv2d(x, w, b, { stride: fc.stride, padding: fc.padding, dilation: fc.dilation });
        expect([...y.shape]).toEqual(fc.out.shape);
        expectClose(await y.toArray(), values(fc.out), tol, `${fc.name}: output`);
        y.backward(E.tensor(values(fc.g), fc.g.shape));
        expectClose(await x.grad!.toArray(), values(fc.dx), tol, `${fc.name}: grad input`);
        expectClose(await w.grad!.toArray(), values(fc.dweight), tol, `${fc.name}: grad weight`);
        if (b) expectClose(await b.grad!.toArray(), values(fc.dbias!), tol, `${fc.name}: grad bias`);
      });
    });
  }
});

describe('conv2d rejects bad input with errors that name the op and the shapes', () => {
  it('wrong rank', () => {
    expect(() => conv2d(E.zeros([3, 8, 8]), E.zeros([4, 3, 3, 3]))).toThrow(/conv2d: input must be 4-D \[N, C, H, W\], got shape \[3, 8, 8\]/);
    expect(() => conv2d(E.zeros([1, 3, 8, 8]), E.zeros([4, 27]))).toThrow(/conv2d: weight must be 4-D \[Cout, Cin, KH, KW\], got shape \[4, 27\]/);
  });

  it('channel mismatch', () => {
    expect(() => conv2d(E.zeros([2, 3, 8, 8]), E.zeros([16, 4, 3, 3]))).toThrow(
      'conv2d: input [2, 3, 8, 8] has 3 channels but weight [16, 4, 3, 3] expects 4',
    );
  });

  it('bias of the wrong shape', () => {
    expect(() => conv2d(E.zeros([1, 3, 8, 8]), E.zeros([16, 3, 3, 3]), E.zeros([15]))).toThrow(/conv2d: bias \[15\] must have shape \[16\]/);
  });

  it('output size <= 0', () => {
    expect(() => conv2d(E.zeros([1, 3, 4, 4]), E.zeros([2, 3, 5, 5]))).toThrow(/conv2d: output size \[0, 0\] is not positive for input \[1, 3, 4, 4\] and weight \[2, 3, 5, 5\]/);
    expect(() => conv2d(E.zeros([1, 3, 8, 8]), E.zeros([2, 3, 3, 3]), null, { dilation: 5 })).toThrow(/conv2d: output size \[-2, -2\]/);
  });

  it('non-float32 tensors', () => {
    const xi = E.tensor(new Int32Array(48), [1, 3, 4, 4], { dtype: 'int32' });
    expect(() => conv2d(xi, E.zeros([2, 3, 3, 3]))).toThrow(/conv2d: expects float32 tensors, got int32 input \(shape \[1, 3, 4, 4\]\)/);
  });

  it('bad stride, padding or dilation', () => {
    const x = E.zeros([1, 3, 8, 8]);
    const w = E.zeros([2, 3, 3, 3]);
    expect(() => conv2d(x, w, null, { stride: 0 })).toThrow(/conv2d: stride must be an integer >= 1/);
    expect(() => conv2d(x, w, null, { padding: -1 })).toThrow(/conv2d: padding must be an integer >= 0/);
    expect(() => conv2d(x, w, null, { dilation: [1, 1.5] })).toThrow(/conv2d: dilation must be an integer >= 1/);
  });
});
