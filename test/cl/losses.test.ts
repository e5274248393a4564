import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { binaryCrossEntropyWithLogits, icarlLoss, supConLoss } from '../../src/cl/losses.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { bceWithLogitsRef, icarlLossRef, supConRef, type Reduction } from '../reference/cl-losses.js';

useGPU();

const REDUCTIONS: Reduction[] = ['none', 'mean', 'sum'];
const int32 = (xs: number[]) => E.tensor(new Int32Array(xs), [xs.length], { dtype: 'int32' });

describe('binaryCrossEntropyWithLogits matches the float64 reference, forward and backward', () => {
  for (const reduction of REDUCTIONS) {
    it(`reduction '${reduction}' over shapes with 1, 7, 37 x 7 and 2 x 131 elements`, async () => {
      for (const shape of [[1], [7], [3, 5], [37, 7], [2, 131]]) {
        const r = bceWithLogitsRef(reduction);
        await checkOp({
          name: `bce [${shape}] ${reduction}`,
          inputs: [{ shape, low: -4, high: 4 }, { shape, low: 0, high: 1 }],
          gpu: (x, t) => binaryCrossEntropyWithLogits(x, t, reduction),
          ref: r.forward,
          refGrad: r.grad,
          fdSamples: 24,
        });
      }
    });
  }

  it('stays finite and exact for logits of +-100, and has the smooth gradient 1/2 - t at 0', async () => {
    const x = E.tensor([100, -100, 0, 0, 30], [5]).requiresGrad_();
    const t = E.tensor([0, 1, 0, 1, 1], [5]);
    const y = binaryCrossEntropyWithLogits(x, t, 'none');
    const v = [...(await y.toArray())];
    expect(v[0]).toBeCloseTo(100, 4);
    expect(v[1]).toBeCloseTo(100, 4);
    expect(v[2]).toBeCloseTo(Math.log(2), 6);
    expect(v[4]).toBeGreaterThanOrEqual(0);
    expect(v[4]).toBeLessThan(1e-6);
    E.sum(y).backward();
    const g = [...(await x.grad!.toArray())];
    expect(g[0]).toBeCloseTo(1, 6);
    expect(g[1]).toBeCloseTo(-1, 6);
    expect(g[2]).toBeCloseTo(0.5, 6);
    expect(g[3]).toBeCloseTo(-0.5, 6);
  });

  it('errors name the op and the shapes', () => {
    expect(() => binaryCrossEntropyWithLogits(E.zeros([2, 3]), E.zeros([3, 2]))).toThrow(/binaryCrossEntropyWithLogits: logits \[2, 3\] and targets \[3, 2\] must have the same shape/);
    expect(() => binaryCrossEntropyWithLogits(E.zeros([2]), int32([1, 0]))).toThrow(/binaryCrossEntropyWithLogits: logits and targets must be float32/);
    expect(() => binaryCrossEntropyWithLogits(E.zeros([2]), E.zeros([2]), 'avg' as never)).toThrow(/reduction must be 'mean', 'sum' or 'none'/);
  });
});

describe('icarlLoss (classification + distillation) matches the float64 reference', () => {
  const cases: { N: number; C: number; old: number[]; seen: number[] | null }[] = [
    { N: 1, C: 3, old: [], seen: null },
    { N: 7, C: 5, old: [], seen: [0, 1] },
    { N: 7, C: 5, old: [0, 1], seen: [0, 1, 2, 3] },
    { N: 37, C: 10, old: [0, 1, 2, 3, 4], seen: null },
    { N: 131, C: 4, old: [3], seen: [1, 3] },
  ];
  for (const reduction of [...REDUCTIONS, 'mean-over-elements'] as const) {
    it(`reduction '${reduction}' with and without old classes`, async () => {
      for (const { N, C, old, seen } of cases) {
        const r = icarlLossRef(old, seen, reduction);
        await checkOp({
          name: `icarlLoss N=${N} C=${C} old=[${old}] seen=${seen ? `[${seen}]` : 'all'} ${reduction}`,
          inputs: [
            { shape: [N, C], low: -3, high: 3 },
            { shape: [N], dtype: 'int32', low: 0, high: seen ? Math.max(...seen) + 1 : C },
            // The previous model's outputs are constants: no gradient flows to them.
            { shape: [N, C], low: 0, high: 1, grad: false },
          ],
          gpu: (x, y, q) => icarlLoss(x, y, { oldClasses: old, oldTargets: old.length ? q : null, seenClasses: seen ?? undefined, reduction }),
          ref: r.forward,
          refGrad: r.grad,
          fdSamples: 24,
        });
      }
    });
  }

  it('without old classes it is the one-hot BCE summed over classes, averaged over rows', async () => {
    const g = new E.Generator(5);
    const x = E.randn([6, 4], { generator: g });
    const y = int32([0, 3, 1, 2, 2, 0]);
    const oneHot = E.tensor([[1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [1, 0, 0, 0]]);
    const a = await icarlLoss(x, y).item();
    const b = (await binaryCrossEntropyWithLogits(x, oneHot, 'sum').item()) / 6;
    expect(a).toBeCloseTo(b, 5);
  });

  it("'mean-over-elements' is the element-wise BCE averaged over N x C, as PyTorch's reduction='mean' (the original iCaRL convention)", async () => {
    const g = new E.Generator(6);
    const x = E.randn([6, 4], { generator: g });
    const y = int32([0, 3, 1, 2, 2, 0]);
    const oneHot = E.tensor([[1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [1, 0, 0, 0]]);
    const a = await icarlLoss(x, y, { reduction: 'mean-over-elements' }).item();
    const b = await binaryCrossEntropyWithLogits(x, oneHot, 'mean').item();
    expect(a).toBeCloseTo(b, 6);
    // With seen classes {0, 1, 2}: the sum over those 18 elements / 18, a C/|seen| = 4/3 rescaling of nothing else.
    const seen = await icarlLoss(x, y, { reduction: 'mean-over-elements', seenClasses: [0, 1, 2] }).item();
    const perRow = await icarlLoss(x, y, { seenClasses: [0, 1, 2] }).item();
    expect(seen).toBeCloseTo(perRow / 3, 6);
    expect(() => icarlLoss(x, y, { reduction: 'avg' as never })).toThrow(/icarlLoss: reduction must be 'mean', 'sum', 'none' or 'mean-over-elements', got "avg"/);
  });

  it('errors say what is missing or mismatched', () => {
    const x = E.zeros([3, 4]);
    const y = int32([0, 1, 2]);
    expect(() => icarlLoss(x, int32([0, 1]))).toThrow(/icarlLoss: labels must be int32 \[3\] to match logits \[3, 4\], got int32 \[2\]/);
    expect(() => icarlLoss(x, y, { oldClasses: [0] })).toThrow(/icarlLoss: oldClasses 0 need oldTargets/);
    expect(() => icarlLoss(x, y, { oldClasses: [0], oldTargets: E.zeros([3, 2]) })).toThrow(/icarlLoss: oldTargets must be float32 \[3, 4\] like the logits, got float32 \[3, 2\]/);
    expect(() => icarlLoss(x, y, { oldClasses: [7], oldTargets: E.zeros([3, 4]) })).toThrow(/icarlLoss: old class 7 is not a column of logits with 4 classes/);
    expect(() => icarlLoss(x, y, { oldClasses: [2], oldTargets: E.zeros([3, 4]), seenClasses: [0, 1] })).toThrow(/old classes 2 are not among the seen classes 0, 1/);
    expect(() => icarlLoss(E.zeros([3]), int32([0, 1, 2]))).toThrow(/icarlLoss: logits must be float32 \[N, C\], got float32 \[3\]/);
  });
});

describe('supConLoss matches the float64 reference, forward and backward', () => {
  const cases: { N: number; D: number; classes: number; T: number }[] = [
    { N: 1, D: 3, classes: 1, T: 0.1 },
    { N: 3, D: 4, classes: 2, T: 0.1 },
    { N: 7, D: 5, classes: 3, T: 0.5 },
    { N: 19, D: 9, classes: 4, T: 0.1 },
    { N: 37, D: 2, classes: 5, T: 0.07 },
    { N: 131, D: 3, classes: 10, T: 0.2 },
  ];
  it(`over ${cases.length} batch sizes, feature sizes and temperatures`, async () => {
    for (const { N, D, classes, T } of cases) {
      const r = supConRef(T);
      await checkOp({
        name: `supConLoss N=${N} D=${D} T=${T}`,
        inputs: [{ shape: [2 * N, D], low: -1, high: 1 }, { shape: [N], dtype: 'int32', low: 0, high: classes }],
        gpu: (f, y) => supConLoss(f, y, T),
        ref: r.forward,
        refGrad: r.grad,
        fwdTol: { atol: 1e-4, rtol: 1e-4 },
        bwdTol: { atol: 2e-4, rtol: 1e-3 },
        fdSamples: 16,
      });
    }
  });

  it('is scale-invariant per row and stays finite at a small temperature', async () => {
    const g = new E.Generator(9);
    const f = E.randn([10, 6], { generator: g });
    const y = int32([0, 1, 0, 1, 2]);
    const a = await supConLoss(f, y, 0.1).item();
    const b = await supConLoss(E.mul(f, 37), y, 0.1).item();
    expect(b).toBeCloseTo(a, 4);
    const c = await supConLoss(f, y, 0.005).item();
    expect(Number.isFinite(c)).toBe(true);
    expect(c).toBeGreaterThan(0);
  });

  it('records no readback, through the backward pass', async () => {
    const rt = E.runtime();
    const f = E.randn([8, 5], { generator: new E.Generator(2) }).requiresGrad_();
    const before = rt.counters.readbacks;
    E.scope(() => supConLoss(f, int32([0, 1, 1, 0]), 0.1).backward());
    expect(rt.counters.readbacks).toBe(before);
    expect(f.grad).not.toBeNull();
  });

  it('errors name the op and the shapes', () => {
    expect(() => supConLoss(E.zeros([6, 3]), int32([0, 1]))).toThrow(/supConLoss: labels must be int32 \[N\] for features \[2N, D\].*labels int32 \[2\] and features \[6, 3\]/);
    expect(() => supConLoss(E.zeros([6]), int32([0, 1, 2]))).toThrow(/supConLoss: features must be float32 \[2N, D\], got float32 \[6\]/);
    expect(() => supConLoss(E.zeros([4, 3]), int32([0, 1]), 0)).toThrow(/supConLoss: temperature must be a positive number, got 0/);
    expect(() => supConLoss(E.zeros([4, 3]), E.zeros([2]))).toThrow(/supConLoss: labels must be int32/);
  });
});
