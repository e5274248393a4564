import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from '../../src/index.js';
import { conv2d, conv2dDirect, conv2dGradInput, conv2dGradWeight, convKernels, type Conv2dOptions } from '../../src/engine/ops/conv.js';
import { TILES, tiling, type Tile } from '../../src/shaders/conv2d.js';
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

// The register-blocked direct kernel (forward and stride-1 grad-input; needs the output channels of
// the pass to be a multiple of 4) and the implicit GEMM, each forced on, over the same configurations
// plus direct-kernel edge cases: several 8-pixel blocks per row, 4- and 8-channel blocks, dilation,
// asymmetric padding, and padding larger than the kernel's reach (grad-input falls back to the GEMM);
// grad-weight's register-blocked kernel where Cout % 8 == 0 and OW % 4 == 0.
const DIRECT_CASES: Case[] = [
  ...CASES,
  { x: [2, 4, 7, 19], w: [8, 4, 3, 3], bias: true, o: { padding: 1 } },
  { x: [1, 8, 6, 11], w: [12, 8, 3, 5], bias: false, o: { padding: [0, 2], dilation: [2, 1] } },
  { x: [2, 12, 5, 5], w: [4, 12, 1, 1], bias: true, o: { padding: 1 } },
  { x: [1, 4, 9, 9], w: [16, 4, 3, 3], bias: true, o: { stride: 2, padding: 1 } },
  // Register-blocked grad-weight (Cout % 8 == 0, OW % 4 == 0): K = 27 and 45 (partial 8-tap blocks),
  // two channel blocks, rows sliced across workgroups, dilation and asymmetric padding.
  { x: [2, 3, 9, 8], w: [16, 3, 3, 3], bias: true, o: { padding: 1 }, gradX: false },
  { x: [3, 5, 6, 12], w: [8, 5, 3, 3], bias: false, o: { padding: [1, 0], dilation: 2 } },
  // Subgroup kernel blockings: 4 px x 32 ch (Cout 64, two channel blocks; grad-input Cin 32 -> 8 x 16),
  // a partial last pixel block (OW 9), 16 channels with a 5-wide kernel at stride 2.
  { x: [2, 32, 5, 9], w: [64, 32, 3, 3], bias: true, o: { padding: 1 } },
  { x: [1, 4, 7, 13], w: [16, 4, 3, 5], bias: true, o: { stride: 2, padding: [1, 2] } },
  // Subgroup grad-weight (3x3, width kept, W % 4 == 0): 8-channel blocks with a partial lane group
  // (C 5, 9), height stride/dilation/padding 2, and a 4-channel block on a single 4-pixel chunk.
  { x: [2, 5, 6, 8], w: [16, 5, 3, 3], bias: true, o: { padding: 1 } },
  { x: [3, 9, 5, 12], w: [8, 9, 3, 3], bias: false, o: { stride: [2, 1], padding: [2, 1], dilation: [2, 1] } },
  { x: [1, 3, 4, 4], w: [4, 3, 3, 3], bias: true, o: { padding: 1 } },
];
const DIRECT_MODES = [
  { name: 'subgroup direct kernel', direct: true, subgroups: null },
  { name: 'register-blocked direct kernel (no subgroups)', direct: true, subgroups: false },
  { name: 'implicit-GEMM kernels', direct: false, subgroups: null },
] as const;
for (const mode of DIRECT_MODES) {
  describe(`conv2d with the ${mode.name} forced`, () => {
    it(`${DIRECT_CASES.length} configurations vs float64`, async (ctx) => {
      // The subgroup kernel needs the 'subgroups' feature (lavapipe has it; SwiftShader does not):
      // reported as skipped where it is missing.
      if (mode.name.startsWith('subgroup') && E.runtime().info.subgroupMinSize === 0) ctx.skip();
      convKernels.direct = mode.direct;
      convKernels.subgroups = mode.subgroups;
      const rt = E.runtime();
      rt.trace = [];
      try {
        for (const c of DIRECT_CASES) await check(c);
        const names = new Set(rt.trace.map((d) => d.kernel.name));
        const used = (prefix: string) => rt.trace!.some((d) => d.kernel.name.startsWith(prefix));
        // The forced path really ran (and the others did not run the forward).
        expect(used('conv2d_subgroup'), [...names].join(',')).toBe(mode.name.startsWith('subgroup'));
        expect(used('conv2d_register'), [...names].join(',')).toBe(mode.subgroups === false);
        expect(used('conv2d_grad_weight_subgroup'), [...names].join(',')).toBe(mode.name.startsWith('subgroup'));
      } finally {
        convKernels.direct = null;
        convKernels.subgroups = null;
        rt.trace = null;
      }
    });
  });
}

/** Run `fn` with every conv GEMM forced onto `tile`. */
async function withTile(tile: Tile, fn: () => Promise<void>): Promise<void> {
  tiling.force = tile;
  try {
    await fn();
  } finally {
    tiling.force = null;
  }
}

describe('every GEMM tile shape, on odd channel counts and ragged M and K', () => {
  // NN (the GEMM's column count) is Cout for forward and grad-weight and Cin for grad-input; the
  // comments give NN per pass. Strides 1 run the stride-1 grad-input kernel, the others the general one.
  const cases: Case[] = [
    { x: [2, 5, 9, 7], w: [17, 5, 3, 3], bias: true, o: { padding: 1 } }, // fwd/gw 17, gi 5
    { x: [1, 16, 6, 5], w: [1, 16, 3, 3], bias: false, o: {} }, // fwd/gw 1, gi 16
    { x: [3, 1, 7, 6], w: [33, 1, 3, 3], bias: true, o: { padding: 1 } }, // fwd/gw 33, gi 1
    { x: [1, 31, 5, 4], w: [5, 31, 3, 3], bias: false, o: { padding: 1 } }, // fwd/gw 5, gi 31
    { x: [2, 33, 5, 3], w: [31, 33, 1, 3], bias: true, o: { stride: 2, padding: [1, 0] } }, // fwd/gw 31, gi 33 (stride 2)
    { x: [2, 17, 7, 7], w: [16, 17, 3, 2], bias: false, o: { stride: [2, 1], padding: 1, dilation: [1, 2] } }, // fwd/gw 16, gi 17
    { x: [2, 3, 13, 11], w: [5, 3, 3, 3], bias: true, o: { padding: 1 } }, // M = 286 (two 256-row tiles), gw K = 286
    { x: [1, 2, 5, 4], w: [70, 2, 3, 3], bias: true, o: { padding: 1 } }, // fwd/gw 70 (two 64-column tiles)
    { x: [3, 2, 16, 12], w: [3, 2, 3, 3], bias: false, o: { padding: 1 } }, // gw K = 576: split-K
  ];
  for (const [name, tile] of Object.entries(TILES)) {
    it(`${name} (${tile.BM}x${tile.BN}, BK ${tile.BK}, ${tile.TM}x${tile.TN} per thread): ${cases.length} shapes vs float64, and vs the direct oracle`, async () => {
      await withTile(tile, async () => {
        for (const c of cases) await check(c);
        await E.scope(async () => {
          // Several row tiles of every shape, NN = 21 (partial column tiles), K = 54.
          const x = E.randn([3, 6, 17, 19]);
          const w = E.randn([21, 6, 3, 3]);
          const b = E.randn([21]);
          const fast = await conv2d(x, w, b, { padding: 1 }).toArray();
          const direct = await conv2dDirect(x, w, b, { padding: 1 }).toArray();
          expectClose(fast, direct, { atol: 1e-4, rtol: 1e-5 }, `conv2d (${name} tile) vs direct`);
        });
      });
    });
  }

  it('the tile follows NN and M, and respects the workgroup-memory limit', () => {
    const big = 1 << 20;
    expect(tiling.choose(128 * 12 * 12, 16, big)).toBe(TILES.narrow); // MNIST conv2 grad-input: NN = Cin = 16
    expect(tiling.choose(128 * 8 * 8, 32, big)).toBe(TILES.mid); // MNIST conv2 forward: NN = Cout = 32
    expect(tiling.choose(32 * 32 * 32, 64, big)).toBe(TILES.wide); // CIFAR 64-channel layer
    expect(tiling.choose(25, 16, big)).toBe(TILES.small); // MNIST conv1 grad-weight: M = 1*5*5
    expect(tiling.choose(128 * 28 * 28, 1, big)).toBe(TILES.narrow);
    for (const t of Object.values(TILES)) expect(tiling.bytes(t)).toBeLessThanOrEqual(16384); // WebGPU's guaranteed minimum
    expect(tiling.choose(32 * 32 * 32, 64, tiling.bytes(TILES.small))).toBe(TILES.small);
    expect(() => tiling.choose(100, 100, 1000)).toThrow(/no GEMM tile fits in 1000 bytes/);
  });
});

describe('conv2dGradInput and conv2dGradWeight (the backward passes as functions)', () => {
  it('equal the gradients autograd computes', async () => {
    await E.scope(async () => {
      const o: Conv2dOptions = { stride: [2, 1], padding: 1 };
      const x = E.randn([2, 3, 7, 6], { requiresGrad: true });
      const w = E.randn([4, 3, 3, 3], { requiresGrad: true });
      const y = conv2d(x, w, null, o);
      const g = E.randn(y.shape);
      y.backward(g);
      expectClose(await conv2dGradInput([2, 3, 7, 6], w, g, o).toArray(), await x.grad!.toArray(), { atol: 1e-5, rtol: 1e-5 }, 'conv2dGradInput');
      expectClose(await conv2dGradWeight(x, [4, 3, 3, 3], g, o).toArray(), await w.grad!.toArray(), { atol: 1e-5, rtol: 1e-5 }, 'conv2dGradWeight');
    });
  });

  it('reject a gradient of the wrong shape, and bad shapes, naming the op', () => {
    const w = E.zeros([4, 3, 3, 3]);
    expect(() => conv2dGradInput([2, 3, 7, 6], w, E.zeros([2, 4, 5, 5]))).toThrow(
      "conv2dGradInput: grad_output [2, 4, 5, 5] must have the convolution's output shape [2, 4, 5, 4]",
    );
    expect(() => conv2dGradInput([2, 5, 7, 6], w, E.zeros([2, 4, 5, 4]))).toThrow(/conv2dGradInput: input \[2, 5, 7, 6\] has 5 channels but weight \[4, 3, 3, 3\] expects 3/);
    expect(() => conv2dGradInput([2, 3, 7.5, 6], w, E.zeros([2, 4, 5, 4]))).toThrow(/conv2dGradInput: input shape must be 4 non-negative integers/);
    expect(() => conv2dGradWeight(E.zeros([2, 3, 7, 6]), [4, 3, 3], E.zeros([2, 4, 5, 4]))).toThrow(/conv2dGradWeight: weight must be 4-D/);
    expect(() => conv2dGradWeight(E.zeros([2, 3, 7, 6]), [4, 3, 3, 3], E.zeros([2, 4, 5, 4]), { stride: 0 })).toThrow(/conv2dGradWeight: stride must be an integer >= 1/);
    const gi = E.tensor(new Int32Array(160), [2, 4, 5, 4], { dtype: 'int32' });
    expect(() => conv2dGradWeight(E.zeros([2, 3, 7, 6]), [4, 3, 3, 3], gi)).toThrow(/conv2dGradWeight: expects float32 tensors, got int32 grad_output/);
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
