import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { batchNorm } from '../../src/engine/ops/batchnorm.js';
import { checkOp, expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { arr } from '../reference/arr.js';
import { batchNormForward, batchNormGrad, updatedRunningStats } from '../reference/batchnorm.js';

useGPU();

// 1-D ([N, C], [N, C, L]) and 2-D ([N, C, H, W]) inputs; channel sizes N * S of 2, 3, 5, 105, 198
// and 407 (more than the 256 threads of a channel's workgroup), and 257 channels.
const SHAPES = [[5, 3], [2, 4], [3, 257], [4, 7, 3, 5], [2, 3, 9, 11], [2, 3, 7], [37, 2, 11], [3, 1, 1, 1]];

describe('batchNorm in training mode matches the float64 reference, forward and backward', () => {
  it('without affine or running stats', async () => {
    for (const shape of SHAPES) {
      await checkOp({
        name: `batchNorm train [${shape}]`,
        inputs: [{ shape }],
        gpu: (x) => batchNorm(x, null, null, null, null, { training: true }),
        ref: (x) => batchNormForward(x, null, null, null, null, { training: true }),
        refGrad: (g, x) => [batchNormGrad(g, x, null, null, null, { training: true })[0]],
        bwdTol: { atol: 2e-4, rtol: 2e-4 },
      });
    }
  });

  it('with affine weight and bias and running stats (gradients for x, weight, bias)', async () => {
    for (const shape of SHAPES) {
      const C = shape[1]!;
      const o = { training: true, eps: 1e-3, momentum: 0.2 };
      await checkOp({
        name: `batchNorm train affine [${shape}]`,
        inputs: [{ shape, low: -2, high: 3 }, { shape: [C], grad: false }, { shape: [C], low: 0.5, high: 2, grad: false }, { shape: [C], low: 0.5, high: 1.5 }, { shape: [C] }],
        gpu: (x, rm, rv, w, b) => batchNorm(x, rm!, rv!, w!, b!, o),
        ref: (x, rm, rv, w, b) => batchNormForward(x, rm!, rv!, w!, b!, o),
        refGrad: (g, x, rm, rv, w) => {
          const [dx, dw, db] = batchNormGrad(g, x, rm!, rv!, w!, o);
          return [dx, null, null, dw, db];
        },
        bwdTol: { atol: 2e-4, rtol: 2e-4 },
      });
    }
  });
});

describe('batchNorm in eval mode uses the running statistics', () => {
  it('with and without affine', async () => {
    for (const shape of [[1, 3], [5, 3], [4, 7, 3, 5], [2, 3, 9, 11], [2, 3, 7]]) {
      const C = shape[1]!;
      const o = { training: false };
      await checkOp({
        name: `batchNorm eval [${shape}]`,
        inputs: [{ shape }, { shape: [C], grad: false }, { shape: [C], low: 0.3, high: 2, grad: false }],
        gpu: (x, rm, rv) => batchNorm(x, rm!, rv!, null, null, o),
        ref: (x, rm, rv) => batchNormForward(x, rm!, rv!, null, null, o),
        refGrad: (g, x, rm, rv) => [batchNormGrad(g, x, rm!, rv!, null, o)[0], null, null],
      });
      await checkOp({
        name: `batchNorm eval affine [${shape}]`,
        inputs: [{ shape }, { shape: [C], grad: false }, { shape: [C], low: 0.3, high: 2, grad: false }, { shape: [C] }, { shape: [C] }],
        gpu: (x, rm, rv, w, b) => batchNorm(x, rm!, rv!, w!, b!, o),
        ref: (x, rm, rv, w, b) => batchNormForward(x, rm!, rv!, w!, b!, o),
        refGrad: (g, x, rm, rv, w) => {
          const [dx, dw, db] = batchNormGrad(g, x, rm!, rv!, w!, o);
          return [dx, null, null, dw, db];
        },
      });
    }
  });

  it('gives x its gradient when weight and bias are frozen', async () => {
    const o = { training: false };
    await checkOp({
      name: 'batchNorm eval frozen affine',
      inputs: [{ shape: [4, 3, 2, 2] }, { shape: [3], grad: false }, { shape: [3], low: 0.3, high: 2, grad: false }, { shape: [3], grad: false }, { shape: [3], grad: false }],
      gpu: (x, rm, rv, w, b) => batchNorm(x, rm!, rv!, w!, b!, o),
      ref: (x, rm, rv, w, b) => batchNormForward(x, rm!, rv!, w!, b!, o),
      refGrad: (g, x, rm, rv, w) => [batchNormGrad(g, x, rm!, rv!, w!, o)[0], null, null, null, null],
    });
  });
});

describe('batchNorm running statistics', () => {
  it('update in place on the GPU after one and two training steps, like PyTorch', async () => {
    const gen = new E.Generator(7);
    const shape = [4, 3, 5, 2];
    const x1 = arr(shape, gen.normalArray(120, 1, 2));
    const x2 = arr(shape, gen.normalArray(120, -0.5, 0.7));
    let rm = arr([3], [0, 0, 0]);
    let rv = arr([3], [1, 1, 1]);
    const grm = E.zeros([3]);
    const grv = E.ones([3]);
    for (const [step, x] of [x1, x2].entries()) {
      const readbacks = E.runtime().counters.readbacks;
      E.scope(() => batchNorm(E.tensor(Float32Array.from(x.data), shape), grm, grv, null, null, { training: true, momentum: 0.1 }));
      expect(E.runtime().counters.readbacks, 'batchNorm reads nothing back').toBe(readbacks);
      [rm, rv] = updatedRunningStats(x, rm, rv, 0.1);
      expectClose(await grm.toArray(), rm, { atol: 1e-5, rtol: 1e-5 }, `running mean after step ${step + 1}`);
      expectClose(await grv.toArray(), rv, { atol: 1e-5, rtol: 1e-5 }, `running var after step ${step + 1}`);
    }
    // Eval mode leaves them alone.
    E.scope(() => batchNorm(E.tensor(Float32Array.from(x1.data), shape), grm, grv, null, null, { training: false }));
    expectClose(await grm.toArray(), rm, { atol: 1e-5, rtol: 1e-5 }, 'running mean after eval');
    grm.dispose();
    grv.dispose();
  });

  it('backward uses the statistics of its own forward even after the running stats move on', async () => {
    const x = E.randn([6, 2], { requiresGrad: true });
    const rm = E.tensor([0.5, -1], [2]);
    const rv = E.tensor([2, 0.5], [2]);
    const y = batchNorm(x, rm, rv, null, null, { training: false });
    batchNorm(E.randn([6, 2]), rm, rv, null, null, { training: true }); // moves rm, rv
    y.backward(E.ones([6, 2]));
    const g = await x.grad!.toArray();
    expectClose(g, [...Array(6)].flatMap(() => [1 / Math.sqrt(2 + 1e-5), 1 / Math.sqrt(0.5 + 1e-5)]), { atol: 1e-5, rtol: 1e-5 }, 'eval dx');
  });
});

describe('batchNorm statistics at a large offset and on empty batches, as PyTorch', () => {
  it('channels at 1e4 + N(0, 1): output within 2e-6 of float64 (PyTorch float32 on CPU: 3.2e-4)', async () => {
    // With the mean summed in float32 around 0 and stored as one float, the output was off by up
    // to 9e-4 (half an ulp of 1e4 in the mean). Sizes: 4 channels of 64 * 8 * 8 = 4096 values,
    // and an odd [37, 3, 5] layout; running stats checked too.
    const gen = new E.Generator(11);
    for (const shape of [[64, 4, 8, 8], [37, 3, 5]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const C = shape[1]!;
      const S = n / (shape[0]! * C);
      // Channel c (of element i at (n * C + c) * S + s) sits at (c + 1) * 1e4.
      const x = arr(shape, Float32Array.from(gen.normalArray(n, 0, 1), (v, i) => 1e4 * (1 + (Math.floor(i / S) % C)) + v));
      const rm = E.zeros([C]);
      const rv = E.ones([C]);
      const y = await batchNorm(E.tensor(Float32Array.from(x.data), shape), rm, rv, null, null, { training: true }).toArray();
      const want = batchNormForward(x, null, null, null, null, { training: true });
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(y[i]! - want.data[i]!));
      expect(worst, `[${shape}] worst absolute error vs float64`).toBeLessThan(2e-6);
      const [wantRm, wantRv] = updatedRunningStats(x, arr([C], new Array<number>(C).fill(0)), arr([C], new Array<number>(C).fill(1)));
      expectClose(await rm.toArray(), wantRm, { atol: 0, rtol: 1e-6 }, `[${shape}] running mean`);
      expectClose(await rv.toArray(), wantRv, { atol: 0, rtol: 1e-4 }, `[${shape}] running var`);
    }
  });

  it('an empty batch in training gives an empty output, leaves the running stats alone, and has zero parameter gradients', async () => {
    for (const shape of [[0, 3, 4, 4], [0, 3], [2, 3, 0]]) {
      const x = E.zeros(shape, { requiresGrad: true });
      const w = E.ones([3], { requiresGrad: true });
      const b = E.zeros([3], { requiresGrad: true });
      const rm = E.tensor([1, 2, 3], [3]);
      const rv = E.tensor([4, 5, 6], [3]);
      for (const relu of [false, true]) {
        const y = batchNorm(x, rm, rv, w, b, { training: true, relu });
        expect(y.shape).toEqual(shape);
        y.backward(E.zeros(shape));
      }
      expect([...(await rm.toArray())]).toEqual([1, 2, 3]);
      expect([...(await rv.toArray())]).toEqual([4, 5, 6]);
      expect(x.grad!.shape).toEqual(shape);
      expect([...(await w.grad!.toArray())]).toEqual([0, 0, 0]);
      expect([...(await b.grad!.toArray())]).toEqual([0, 0, 0]);
    }
  });
});

describe('batchNorm rejects bad input with errors naming the op and shapes', () => {
  it('one value per channel in training, like PyTorch', () => {
    expect(() => batchNorm(E.zeros([1, 3]), null, null, null, null, { training: true })).toThrow(
      /batchNorm: expected more than 1 value per channel when training, got input of shape \[1, 3\]/,
    );
    expect(() => batchNorm(E.zeros([1, 3, 1, 1]), null, null, null, null, { training: true })).toThrow(/more than 1 value per channel/);
  });

  it('mismatched parameter shapes, low rank, missing running stats in eval, int32', () => {
    const x = E.zeros([4, 3]);
    expect(() => batchNorm(x, null, null, E.ones([4]), E.zeros([4]), { training: true })).toThrow(/batchNorm: weight has shape \[4\], expected \[3\] for input \[4, 3\]/);
    expect(() => batchNorm(E.zeros([5]), null, null, null, null, { training: true })).toThrow(/batchNorm: expected an input of shape \[N, C, \.\.\.\].*got \[5\]/);
    expect(() => batchNorm(x, null, null, null, null, { training: false })).toThrow(/running.*required in eval mode/);
    expect(() => batchNorm(x, E.zeros([3]), null, null, null, { training: true })).toThrow(/both runningMean and runningVar/);
    expect(() => batchNorm(E.tensor(new Int32Array(6), [2, 3]), null, null, null, null, { training: true })).toThrow(/batchNorm: expects a float32 input, got int32/);
  });
});
