import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { arr } from '../reference/arr.js';
import { reduceRef, maxDimRef, argRef, type ReduceOp } from '../reference/reduce.js';

useGPU();

const vals = async (t: E.Tensor) => [...(await t.toArray())];

type Case = [shape: number[], dim: number | number[] | undefined, keepdim: boolean];

// Both kernel mappings ('row': inner == 1 and R >= 33, one workgroup per row; 'col': one thread per
// output), rows longer than the 256-thread workgroup, and the two-pass chunked paths:
// [20000] full reduction (row mapping, 5 chunks) and [600, 3] over dim 0 (col mapping, 3 chunks).
const CASES: Case[] = [
  [[], undefined, false],
  [[1], undefined, false],
  [[1], 0, true],
  [[7], undefined, false],
  [[7], -1, true],
  [[3, 5], 0, false],
  [[3, 5], 1, true],
  [[3, 5], -1, false],
  [[3, 5], [0, 1], false],
  [[3, 5], undefined, true],
  [[2, 3, 37], 0, false],
  [[2, 3, 37], 1, true],
  [[2, 3, 37], -1, false],
  [[2, 3, 37], [0, 2], false],
  [[2, 3, 37], [-1, 0], true],
  [[2, 3, 37], [1, 2], false],
  [[2, 3, 37], undefined, false],
  [[257], 0, false],
  [[4, 131], 1, false],
  [[4, 131], 0, true],
  [[2, 600], -1, false],
  [[1000], undefined, false],
  [[600, 3], 0, false],
  [[20000], undefined, false],
];

const label = ([shape, dim, keepdim]: Case) => `[${shape}] dim=${JSON.stringify(dim)}${keepdim ? ' keepdim' : ''}`;

describe('sum, mean, amax, amin match the float64 reference, forward and backward', () => {
  for (const op of ['sum', 'mean', 'amax', 'amin'] as ReduceOp[]) {
    it(`${op} over ${CASES.length} shape/dim cases`, async () => {
      for (const c of CASES) {
        const [shape, dim, keepdim] = c;
        const r = reduceRef(op, dim, keepdim);
        const big = shape.reduce((a, b) => a * b, 1) > 5000;
        await checkOp({
          name: `${op} ${label(c)}`,
          inputs: [{ shape }],
          gpu: (x) => E[op](x, dim, keepdim),
          ref: r.forward,
          refGrad: r.grad,
          fdSamples: big ? 4 : 24,
          // long float32 sums round more than one element does
          fwdTol: big ? { atol: 2e-4, rtol: 1e-4 } : undefined,
        });
      }
    });
  }

  it('Tensor methods forward to the ops', async () => {
    const x = E.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(await x.sum().item()).toBe(21);
    expect(await vals(x.mean(1, true))).toEqual([2, 5]);
    expect(x.mean(1, true).shape).toEqual([2, 1]);
    expect(await vals(x.max(0).values)).toEqual([4, 5, 6]);
    expect(await vals(x.min(1).indices)).toEqual([0, 0]);
    expect(await x.max().item()).toBe(6);
    expect(await vals(x.amax([0, 1], true))).toEqual([6]);
    expect(await vals(x.amin(0))).toEqual([1, 2, 3]);
  });

  it('a long full reduction runs in two passes, not one thread over every element', () => {
    const x = E.zeros([20000]);
    const rt = E.runtime();
    const before = rt.counters.dispatches;
    E.sum(x);
    expect(rt.counters.dispatches - before).toBe(2);
  });

  it('more rows than one grid dimension holds (65535 workgroups) fold into a second one', async () => {
    const s = await vals(E.sum(E.ones([65600, 33]), 1));
    expect(s.length).toBe(65600);
    expect(s.every((v) => v === 33)).toBe(true);
  });

  it('max(x, dim) sends the gradient to the returned index (the first of tied maxima) only', async () => {
    const x = E.tensor([[2, 5, 5, 1], [7, 7, 7, 7]]).requiresGrad_();
    const { values, indices } = E.max(x, 1);
    expect(indices.dtype).toBe('int32');
    expect(await vals(indices)).toEqual([1, 0]);
    values.backward(E.tensor([1, 2]));
    expect(await vals(x.grad!)).toEqual([0, 1, 0, 0, 2, 0, 0, 0]);
  });

  it('max(x, dim): the graph holds the returned indices, so disposing them does not break backward', async () => {
    const x = E.tensor([[2, 5, 1], [7, 0, 3]]).requiresGrad_();
    const { values, indices } = E.max(x, 1);
    indices.dispose();
    E.sum(values).backward();
    expect(await vals(x.grad!)).toEqual([0, 1, 0, 1, 0, 0]);
  });

  it('amax and the full max() split the gradient evenly among ties (as PyTorch)', async () => {
    const x = E.tensor([[2, 5, 5, 1], [7, 7, 7, 7]]).requiresGrad_();
    E.amax(x, 1).backward(E.tensor([1, 2]));
    expect(await vals(x.grad!)).toEqual([0, 0.5, 0.5, 0, 0.5, 0.5, 0.5, 0.5]);
    x.grad = null;
    E.max(x).backward();
    expect(await vals(x.grad!)).toEqual([0, 0, 0, 0, 0.25, 0.25, 0.25, 0.25]);
    x.grad = null;
    E.amin(x, 0, true).backward(E.tensor([[1, 1, 1, 1]]));
    expect(await vals(x.grad!)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    // over dimensions that are not adjacent: one even split over the whole group (3 ties in the
    // first), not a split per stage of the staged reduction (which would give 0.75, 0.75, 1.5)
    const y = E.tensor([[[9, 9], [9, 0]], [[9, 2], [3, 4]]]).requiresGrad_(); // [2, 2, 2]
    E.amax(y, [0, 2]).backward(E.tensor([3, 6]));
    expect(await vals(y.grad!)).toEqual([1, 1, 6, 0, 1, 0, 0, 0]);
  });

  it('max(x, dim) / min(x, dim) match the reference: values, first-index indices, gradient', async () => {
    const cases: [number[], number, boolean][] = [[[], 0, false], [[7], 0, true], [[3, 5], 0, false], [[3, 5], -1, true], [[2, 3, 37], 1, false], [[4, 131], 1, false], [[600, 3], 0, false], [[2, 600], -1, true]];
    for (const op of ['max', 'min'] as const) {
      for (const [shape, dim, keepdim] of cases) {
        const r = maxDimRef(op, dim, keepdim);
        await checkOp({
          name: `${op} [${shape}] dim ${dim}${keepdim ? ' keepdim' : ''}`,
          inputs: [{ shape }],
          gpu: (x) => E[op](x, dim, keepdim).values,
          ref: r.forward,
          refGrad: r.grad,
          fdSamples: 12,
        });
        const x = E.randint(0, 4, shape, { generator: new E.Generator(shape.length + dim) }).toFloat(); // many ties
        const got = E[op](x, dim, keepdim).indices;
        const want = argRef(op === 'max' ? 'argmax' : 'argmin', arr(shape, [...(await x.toArray())]), shape.length ? dim : undefined, keepdim);
        expect([...got.shape]).toEqual(want.shape);
        expect(await vals(got), `${op} [${shape}] dim ${dim} indices`).toEqual([...want.data]);
      }
    }
  });

  it('amax of a group holding NaN: NaN value and NaN gradient for the group; max() splits among the NaNs', async () => {
    const x = E.tensor([[1, NaN, NaN], [1, 3, 3]]).requiresGrad_();
    const v = E.amax(x, 1);
    const got = await vals(v);
    expect(Number.isNaN(got[0]!)).toBe(true);
    expect(got[1]).toBe(3);
    v.backward(E.tensor([1, 1]));
    const g = await vals(x.grad!);
    expect(g.slice(0, 3).every(Number.isNaN)).toBe(true);
    expect(g.slice(3)).toEqual([0, 0.5, 0.5]);
    x.grad = null;
    E.max(x).backward();
    expect(await vals(x.grad!)).toEqual([0, 0.5, 0.5, 0, 0, 0]);
    x.grad = null;
    const m = E.max(x, 1);
    expect(await vals(m.indices)).toEqual([1, 1]);
    m.values.backward(E.tensor([1, 1]));
    expect(await vals(x.grad!)).toEqual([0, 1, 0, 0, 1, 0]);
  });

  it('sum and mean of an empty dimension give 0 and NaN (as in PyTorch)', async () => {
    const x = E.zeros([2, 0]);
    expect(await vals(E.sum(x, 1))).toEqual([0, 0]);
    expect((await vals(E.mean(x, 1))).every(Number.isNaN)).toBe(true);
  });

  it('max propagates NaN, and argmax points at it', async () => {
    const x = E.tensor([1, NaN, 3, 2]);
    expect(Number.isNaN(await E.max(x).item())).toBe(true);
    expect(await E.argmax(x).item()).toBe(1);
    // the row mapping (a workgroup per row) too, and min
    const y = E.tensor(Float32Array.from({ length: 100 }, (_, i) => (i === 50 ? NaN : i)));
    expect(Number.isNaN(await E.min(y).item())).toBe(true);
    expect(await E.argmin(y).item()).toBe(50);
  });

  it('intermediates of a multi-dimension reduction are freed with the scope', () => {
    const before = E.memory().undisposed;
    E.scope(() => {
      const x = E.ones([2, 3, 4]).requiresGrad_();
      E.sum(x, [0, 2]).sum().backward();
      x.grad!.dispose(); // a leaf's gradient deliberately outlives the scope
      E.amax(E.ones([2, 3, 4]), [0, 2]);
      const a = E.ones([2, 3, 4]).requiresGrad_();
      E.amax(a, [0, 2]).sum().backward();
      a.grad!.dispose();
    });
    expect(E.memory().undisposed).toBe(before);
  });
});

describe('argmax and argmin', () => {
  // Ties everywhere: small integers, so the first-index rule decides most rows, including ties
  // that straddle the workgroup tree and the chunks of the two-pass path.
  const g = new E.Generator(7);
  const tied = (shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return arr(shape, Array.from({ length: n }, () => g.int(4)));
  };
  const cases: [number[], number | undefined, boolean][] = [
    [[1], undefined, false],
    [[7], 0, false],
    [[3, 5], 0, false],
    [[3, 5], 1, true],
    [[3, 5], undefined, true],
    [[2, 3, 37], 1, false],
    [[2, 3, 37], -1, false],
    [[4, 131], 1, false],
    [[2, 600], -1, false],
    [[600, 3], 0, false],
    [[20000], undefined, false],
    [[20000], 0, false],
  ];
  for (const op of ['argmax', 'argmin'] as const) {
    it(`${op} matches the reference, first index on ties`, async () => {
      for (const [shape, dim, keepdim] of cases) {
        const x = tied(shape);
        const want = argRef(op, x, dim, keepdim);
        const got = E[op](E.tensor(Float32Array.from(x.data), shape), dim, keepdim);
        expect(got.dtype).toBe('int32');
        expect([...got.shape], `${op} [${shape}] dim ${dim} shape`).toEqual(want.shape);
        expect(await vals(got), `${op} [${shape}] dim ${dim}`).toEqual([...want.data]);
      }
    });
  }

  it('explicit ties', async () => {
    const x = E.tensor([[1, 3, 3, 0], [2, 2, 2, 2], [5, -1, 5, 5]]);
    expect(await vals(E.argmax(x, 1))).toEqual([1, 0, 0]);
    expect(await vals(E.argmax(x, 0))).toEqual([2, 0, 2, 2]);
    expect(await E.argmax(x).item()).toBe(8);
    expect(await vals(E.argmin(x, 1))).toEqual([3, 0, 1]);
    expect(E.argmax(x, undefined, true).shape).toEqual([1, 1]);
  });
});

describe('reduction errors', () => {
  it('name the op, the dims and the shape', () => {
    const t = E.zeros([2, 3]);
    expect(() => E.sum(t, 2)).toThrow(/sum: dimension 2 is out of range/);
    expect(() => E.mean(t, -3)).toThrow(/mean: dimension -3 is out of range/);
    expect(() => E.sum(t, [1, -1])).toThrow(/sum: dimension -1 appears more than once in dims \[1, -1\] \(shape \[2, 3\]\)/);
    expect(() => E.max(t, 1.5)).toThrow(/max: dimension 1.5 is out of range/);
    expect(() => E.max(E.zeros([2, 0]), 1)).toThrow(/max: cannot reduce over a dimension of size 0 \(shape \[2, 0\]\)/);
    expect(() => E.amax(E.zeros([2, 0]), 1)).toThrow(/amax: cannot reduce over a dimension of size 0 \(shape \[2, 0\]\)/);
    expect(() => E.amin(E.zeros([0]))).toThrow(/amin: cannot reduce over a dimension of size 0/);
    expect(() => E.max(t, [0, 1] as unknown as number)).toThrow(/max: dim must be a single integer, got \[0,1\] \(shape \[2, 3\]\); for several dimensions use amax\(x, dims\)/);
    expect(() => E.amax(t, 2)).toThrow(/amax: dimension 2 is out of range/);
    expect(() => E.argmax(E.zeros([0]))).toThrow(/argmax: cannot reduce over a dimension of size 0/);
    expect(() => E.argmax(t, [0, 1] as unknown as number)).toThrow(/argmax: dim must be a single integer/);
    const ints = E.tensor(new Int32Array([1, 2]), [2]);
    expect(() => E.sum(ints)).toThrow(/sum: expects a float32 tensor, got int32 \(shape \[2\]\)/);
    expect(() => E.argmax(ints)).toThrow(/argmax: expects a float32 tensor/);
  });
});
