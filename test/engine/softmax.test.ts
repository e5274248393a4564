import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { softmaxRef, crossEntropyRef, type Reduction } from '../reference/softmax.js';

useGPU();

const vals = async (t: E.Tensor) => [...(await t.toArray())];
const int32 = (xs: number[]) => E.tensor(new Int32Array(xs), [xs.length]);

// 'row' mapping: inner == 1 and R >= 33 (a workgroup per row, rows longer than 256 included);
// 'col' mapping: everything else (a thread per row, strided when the dim is not the last).
const CASES: [number[], number][] = [
  [[], -1],
  [[1], 0],
  [[7], -1],
  [[3, 5], 0],
  [[3, 5], 1],
  [[3, 5], -1],
  [[2, 3, 37], 0],
  [[2, 3, 37], 1],
  [[2, 3, 37], -1],
  [[257], 0],
  [[4, 131], 1],
  [[4, 131], 0],
  [[2, 600], -1],
];

describe('softmax and logSoftmax match the float64 reference, forward and backward', () => {
  for (const log of [false, true]) {
    const name = log ? 'logSoftmax' : 'softmax';
    it(`${name} over ${CASES.length} shape/dim cases`, async () => {
      for (const [shape, dim] of CASES) {
        const r = softmaxRef(log, dim);
        await checkOp({
          name: `${name} [${shape}] dim ${dim}`,
          inputs: [{ shape, low: -3, high: 3 }],
          gpu: (x) => (log ? E.logSoftmax(x, dim) : E.softmax(x, dim)),
          ref: r.forward,
          refGrad: r.grad,
          fdSamples: 24,
        });
      }
    });
  }

  it('softmax rows sum to 1, also for large logits', async () => {
    for (const [shape, dim] of [[[6, 300], -1], [[5, 4, 3], 1], [[64, 10], 1]] as [number[], number][]) {
      const x = E.randn(shape, { std: 20, generator: new E.Generator(3) });
      const s = await vals(E.sum(E.softmax(x, dim), dim));
      for (const v of s) expect(v).toBeCloseTo(1, 5);
    }
  });

  it('stays finite for logits of +-50 and more', async () => {
    const x = E.tensor([[50, -50, 49], [1000, 0, -1000], [-80, -80, -80]]);
    const y = await vals(E.softmax(x));
    const ly = await vals(E.logSoftmax(x));
    expect(y.every(Number.isFinite)).toBe(true);
    expect(ly.every(Number.isFinite)).toBe(true);
    expect(y[3]).toBeCloseTo(1, 6);
    expect(ly[5]).toBeCloseTo(-2000, 1);
    expect(y[6]).toBeCloseTo(1 / 3, 6);
  });

  it('Tensor methods default to the last dimension', async () => {
    const x = E.tensor([[0, Math.log(3)]]);
    const y = await vals(x.softmax());
    expect(y[0]).toBeCloseTo(0.25, 6);
    expect(y[1]).toBeCloseTo(0.75, 6);
    expect(await vals(x.logSoftmax(0))).toEqual([0, 0]);
  });

  it('errors name the op and the shape', () => {
    const x = E.zeros([2, 3]);
    expect(() => E.softmax(x, 2)).toThrow(/softmax: dimension 2 is out of range/);
    expect(() => E.logSoftmax(x, -3)).toThrow(/logSoftmax: dimension -3 is out of range/);
    expect(() => E.softmax(int32([1, 2]))).toThrow(/softmax: expects a float32 tensor, got int32 \(shape \[2\]\)/);
  });
});

describe('crossEntropy matches the float64 reference (PyTorch semantics)', () => {
  for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
    it(`reduction '${reduction}' for C in 1, 3, 10, 37 and N in 1, 5, 64`, async () => {
      const r = crossEntropyRef(reduction);
      for (const c of [1, 3, 10, 37]) {
        for (const n of [1, 5, 64]) {
          await checkOp({
            name: `crossEntropy ${reduction} N=${n} C=${c}`,
            inputs: [{ shape: [n, c], low: -4, high: 4 }, { shape: [n], dtype: 'int32', low: 0, high: c }],
            gpu: (x, y) => E.crossEntropy(x, y, { reduction }),
            ref: r.forward,
            refGrad: r.grad,
            fdSamples: 16,
          });
        }
      }
    });
  }

  it('large logits (+-50) give finite losses and gradients', async () => {
    for (const reduction of ['mean', 'none'] as Reduction[]) {
      const r = crossEntropyRef(reduction);
      for (const c of [3, 37]) {
        await checkOp({
          name: `crossEntropy ${reduction} large logits C=${c}`,
          inputs: [{ shape: [5, c], low: -50, high: 50 }, { shape: [5], dtype: 'int32', low: 0, high: c }],
          gpu: (x, y) => E.crossEntropy(x, y, { reduction }),
          ref: r.forward,
          refGrad: r.grad,
          fwdTol: { atol: 1e-4, rtol: 1e-5 },
          fdSamples: 16,
          fdTol: { atol: 1e-5, rtol: 1e-4 },
        });
      }
    }
  });

  it('default reduction is the mean, and equals -logSoftmax at the labels', async () => {
    const x = E.tensor([[2, 1, 0.5], [0, 0, 3]]);
    const loss = await E.crossEntropy(x, int32([0, 2])).item();
    const ls = await vals(E.logSoftmax(x));
    expect(loss).toBeCloseTo(-(ls[0]! + ls[5]!) / 2, 6);
  });

  it('an out-of-range label makes its row (and a reduced loss, and its gradient) NaN', async () => {
    const x = E.tensor([[1, 2, 3], [3, 2, 1], [0, 0, 0]]).requiresGrad_();
    const none = await vals(E.crossEntropy(x, int32([0, 3, -1]), { reduction: 'none' }));
    expect(Number.isNaN(none[0]!)).toBe(false);
    expect(Number.isNaN(none[1]!)).toBe(true);
    expect(Number.isNaN(none[2]!)).toBe(true);
    const loss = E.crossEntropy(x, int32([0, 1, 7]));
    expect(Number.isNaN(await loss.item())).toBe(true);
    loss.backward();
    const g = await vals(x.grad!);
    expect(g.slice(0, 6).every(Number.isFinite)).toBe(true);
    expect(g.slice(6).every(Number.isNaN)).toBe(true);
  });

  it('errors name the op and both shapes', () => {
    const x = E.zeros([4, 3]);
    expect(() => E.crossEntropy(x, E.zeros([4]))).toThrow(/crossEntropy: labels must be int32 class indices, got float32 \(shape \[4\]\)/);
    expect(() => E.crossEntropy(x, int32([0, 1, 2]))).toThrow(/crossEntropy: logits \[4, 3\] and labels \[3\] do not match; expected logits \[N, C\] and labels \[N\]/);
    expect(() => E.crossEntropy(E.zeros([12]), int32([0]))).toThrow(/crossEntropy: logits \[12\] and labels \[1\] do not match/);
    expect(() => E.crossEntropy(x, E.tensor(new Int32Array(4), [4, 1]))).toThrow(/logits \[4, 3\] and labels \[4, 1\]/);
    expect(() => E.crossEntropy(int32([1, 2]), int32([0, 1]))).toThrow(/crossEntropy: logits must be float32, got int32/);
    expect(() => E.crossEntropy(E.zeros([2, 0]), int32([0, 0]))).toThrow(/crossEntropy: logits \[2, 0\] have no classes/);
    expect(() => E.crossEntropy(x, int32([0, 1, 2, 0]), { reduction: 'avg' as 'mean' })).toThrow(/reduction must be 'mean', 'sum' or 'none'/);
  });
});
