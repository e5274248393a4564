import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import {
  reshapeRef, permuteRef, transposeRef, expandRef, sliceRef, concatRef, stackRef, indexSelectRef, gatherRef, arr,
} from '../reference/shape.js';
import type { Arr } from '../reference/arr.js';

useGPU();

type Ref = { forward: (...xs: Arr[]) => Arr; grad: (g: Arr, ...xs: Arr[]) => (Arr | null)[] };
const check = (name: string, shapes: number[][], gpu: (...xs: E.Tensor[]) => E.Tensor, r: Ref) =>
  checkOp({ name, inputs: shapes.map((shape) => ({ shape })), gpu, ref: r.forward, refGrad: r.grad });

// Integers a float32 cannot hold exactly (2^24 + 1, the int32 extremes): int32 data must be moved bit for bit.
const BIG = [16777217, 2147483647, -2147483648, -16777219, 123456789];
function bigInts(n: number, salt = 0): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? BIG[(i + salt) % BIG.length]! : i * 7919 - 50000 + salt));
}
/** Run the op on int32 tensors and compare with the float64 reference exactly. */
async function expectExactInts(shapes: number[][], gpu: (...xs: E.Tensor[]) => E.Tensor, ref: (...xs: Arr[]) => Arr): Promise<void> {
  const datas = shapes.map((s, k) => bigInts(s.reduce((a, b) => a * b, 1), k));
  const y = gpu(...shapes.map((s, k) => E.tensor(datas[k]!, s, { dtype: 'int32' })));
  expect(y.dtype).toBe('int32');
  expect(y.requiresGrad).toBe(false);
  const want = ref(...shapes.map((s, k) => arr(s, datas[k]!)));
  expect([...y.shape]).toEqual(want.shape);
  expect([...(await y.toArray())]).toEqual([...want.data]);
}

describe('views: reshape, view, flatten, squeeze, unsqueeze', () => {
  it('match the reference forward and backward over shapes including 1, primes and non-multiples of 256', async () => {
    const cases: [number[], number[], (x: E.Tensor) => E.Tensor][] = [
      [[1], [], (x) => E.reshape(x, [])],
      [[257], [1, 257, 1], (x) => E.view(x, [1, -1, 1])],
      [[4, 131], [131, 4], (x) => E.reshape(x, [131, 4])],
      [[2, 3, 37], [6, 37], (x) => E.reshape(x, [-1, 37])],
      [[2, 3, 37], [2, 111], (x) => E.flatten(x, 1)],
      [[2, 3, 5, 7], [6, 5, 7], (x) => E.flatten(x, 0, -3)],
      [[7], [7], (x) => E.flatten(x)],
      [[1, 7, 1], [7], (x) => E.squeeze(x)],
      [[1, 7, 1], [1, 7], (x) => E.squeeze(x, -1)],
      [[3, 5], [3, 5], (x) => E.squeeze(x, 0)], // not size 1: unchanged, like PyTorch
      [[3, 5], [3, 1, 5], (x) => E.unsqueeze(x, 1)],
      [[3, 5], [3, 5, 1], (x) => E.unsqueeze(x, -1)],
    ];
    for (const [shape, target, fn] of cases) await check(`reshape [${shape}] -> [${target}]`, [shape], fn, reshapeRef(target));
  });

  it('reshape shares the storage (no new buffer) and infers -1', async () => {
    const x = E.arange(0, 24, 1, { dtype: 'float32' });
    const before = E.memory().buffers;
    const y = E.reshape(x, [2, -1, 4]);
    const z = x.view([-1]);
    expect(E.memory().buffers).toBe(before);
    expect(y.buffer).toBe(x.buffer);
    expect(z.buffer).toBe(x.buffer);
    expect([...y.shape]).toEqual([2, 3, 4]);
    expect([...E.reshape(x, [-1, 6]).shape]).toEqual([4, 6]);
    expect([...E.squeeze(E.unsqueeze(x, 0)).shape]).toEqual([24]);
    x.dispose(); // the view keeps the buffer alive
    expect([...(await y.toArray())]).toEqual([...Array(24).keys()]);
  });

  it('errors name the op and the shapes', () => {
    const x = E.zeros([2, 3]);
    expect(() => E.reshape(x, [4, 2])).toThrow(/reshape: cannot reshape tensor of shape \[2, 3\] \(6 elements\) into \[4, 2\]/);
    expect(() => E.reshape(x, [-1, 4])).toThrow(/reshape: cannot reshape tensor of shape \[2, 3\] .* into \[-1, 4\]/);
    expect(() => E.reshape(x, [-1, -1])).toThrow(/reshape: only one dimension can be -1/);
    expect(() => E.flatten(x, 1, 0)).toThrow(/flatten: startDim 1 comes after endDim 0/);
    expect(() => E.unsqueeze(x, 3)).toThrow(/unsqueeze: dimension 3 is out of range/);
    expect(() => E.squeeze(x, 2)).toThrow(/squeeze: dimension 2 is out of range/);
  });
});

describe('permute, transpose, expand (strided gather)', () => {
  it('permute over 2-D, 3-D and 4-D shapes', async () => {
    const cases: [number[], number[]][] = [
      [[4, 131], [1, 0]],
      [[2, 3, 37], [2, 0, 1]],
      [[2, 3, 37], [1, 2, 0]],
      [[2, 3, 37], [-1, 1, 0]],
      [[2, 3, 5, 7], [3, 1, 0, 2]],
      [[2, 3, 5, 7], [0, 2, 3, 1]],
      [[1, 7, 1, 3], [2, 1, 3, 0]], // only size-1 dims move past others: a view
      [[1], [0]],
    ];
    for (const [shape, dims] of cases) await check(`permute [${shape}] (${dims})`, [shape], (x) => E.permute(x, dims), permuteRef(dims));
  });

  it('transpose, as a function and a method', async () => {
    await check('transpose [4,131]', [[4, 131]], (x) => E.transpose(x, 0, 1), transposeRef(2, 0, 1));
    await check('transpose [2,3,37] (-1,-3)', [[2, 3, 37]], (x) => x.transpose(-1, -3), transposeRef(3, -1, -3));
    await check('transpose [2,3,5,7] (1,2)', [[2, 3, 5, 7]], (x) => E.transpose(x, 1, 2), transposeRef(4, 1, 2));
    await check('transpose [7,5] (1,1)', [[7, 5]], (x) => E.transpose(x, 1, 1), transposeRef(2, 1, 1));
  });

  it('expand broadcasts a copy and sums in backward', async () => {
    const cases: [number[], number[]][] = [
      [[1], [257]],
      [[3, 1], [2, 3, 37]],
      [[4, 1], [-1, 131]],
      [[1, 5], [7, 5]],
      [[2, 1, 3], [2, 5, 3]],
      [[7], [3, 7]],
      [[3, 5], [1, 3, -1]], // no real broadcast: a view
    ];
    for (const [shape, target] of cases) await check(`expand [${shape}] -> [${target}]`, [shape], (x) => E.expand(x, target), expandRef(target));
  });

  it('errors name the op and the shapes', () => {
    const x = E.zeros([2, 3, 4]);
    expect(() => E.permute(x, [0, 1])).toThrow(/permute: \[0, 1\] is not a permutation of the 3 dimension\(s\) of shape \[2, 3, 4\]/);
    expect(() => E.permute(x, [0, 1, 1])).toThrow(/permute: \[0, 1, 1\] is not a permutation .*repeated/);
    expect(() => E.permute(x, [0, 1, 3])).toThrow(/permute: .*3 is out of range/);
    expect(() => E.transpose(x, 0, 3)).toThrow(/transpose: dimension 3 is out of range/);
    expect(() => E.expand(x, [2, 5, 4])).toThrow(/expand: cannot expand shape \[2, 3, 4\] to \[2, 5, 4\]/);
    expect(() => E.expand(x, [3, 4])).toThrow(/expand: shape \[3, 4\] has fewer dimensions than the tensor's \[2, 3, 4\]/);
    expect(() => E.expand(x, [-1, 2, 3, 4])).toThrow(/expand: -1 is not allowed for the new leading dimension 0/);
  });
});

describe('slice and narrow', () => {
  it('slices with steps, negative and clamped bounds', async () => {
    const cases: [number[], number, number, number | undefined, number][] = [
      [[257], 0, 3, 250, 7],
      [[257], 0, -5, undefined, 1],
      [[1], 0, 0, 1, 1],
      [[4, 131], 1, -100, -3, 2],
      [[4, 131], 0, -3, undefined, 1],
      [[4, 131], -1, 5, 5, 1], // empty
      [[2, 3, 37], 2, 5, undefined, 4],
      [[2, 3, 37], -1, -50, 100, 3], // both ends clamped
      [[2, 3, 37], 1, 1, 3, 1],
      [[2, 3, 5, 7], 3, 1, 6, 2],
    ];
    for (const [shape, dim, start, end, step] of cases) {
      await check(`slice [${shape}] dim ${dim} ${start}:${end ?? ''}:${step}`, [shape], (x) => E.slice(x, dim, start, end, step), sliceRef(dim, start, end, step));
    }
    await check('slice method', [[4, 131]], (x) => x.slice(1, 2, 100, 5), sliceRef(1, 2, 100, 5));
  });

  it('narrow', async () => {
    await check('narrow [4,131] 1 7 31', [[4, 131]], (x) => E.narrow(x, 1, 7, 31), sliceRef(1, 7, 38));
    await check('narrow [2,3,37] 0 -1 1', [[2, 3, 37]], (x) => E.narrow(x, 0, -1, 1), sliceRef(0, 1, 2));
  });

  it('errors name the op and the shapes', () => {
    const x = E.zeros([4, 5]);
    expect(() => E.slice(x, 0, 0, 2, 0)).toThrow(/slice: step must be an integer >= 1, got 0/);
    expect(() => E.slice(x, 2, 0)).toThrow(/slice: dimension 2 is out of range/);
    expect(() => E.narrow(x, 1, 3, 3)).toThrow(/narrow: start 3 and length 3 do not fit dimension 1 \(size 5\) of shape \[4, 5\]/);
  });
});

describe('concat, cat and stack', () => {
  it('concat of 3 tensors along dims 0, 1 and -1', async () => {
    const cases: [number[][], number][] = [
      [[[2, 3, 5], [4, 3, 5], [1, 3, 5]], 0],
      [[[2, 3, 5], [2, 1, 5], [2, 7, 5]], 1],
      [[[2, 3, 5], [2, 3, 37], [2, 3, 1]], -1],
      [[[257], [7], [1]], 0],
      [[[4, 131], [4, 2], [4, 0]], 1], // an empty piece
    ];
    for (const [shapes, dim] of cases) {
      await check(`concat ${shapes.map((s) => `[${s}]`).join(' ')} dim ${dim}`, shapes, (...xs) => E.concat(xs, dim), concatRef(dim));
    }
    await check('cat alias', [[3, 5], [3, 5]], (a, b) => E.cat([a!, b!], 1), concatRef(1));
    await check('concat of one tensor', [[3, 7]], (a) => E.concat([a!]), concatRef(0));
  });

  it('concat gives a gradient to the same tensor used twice', async () => {
    await check('concat [x, y, x]', [[3, 4], [2, 4]], (x, y) => E.concat([x!, y!, x!], 0), {
      forward: (x, y) => concatRef(0).forward(x!, y!, x!),
      grad: (g, x, y) => {
        const [a, b, c] = concatRef(0).grad(g, x!, y!, x!);
        return [arr(x!.shape, a!.data.map((v, i) => v + c!.data[i]!)), b!];
      },
    });
  });

  it('stack along a new dimension', async () => {
    const cases: [number[][], number][] = [
      [[[3, 5], [3, 5], [3, 5]], 0],
      [[[3, 5], [3, 5], [3, 5]], 1],
      [[[3, 5], [3, 5], [3, 5]], -1],
      [[[257], [257]], 1],
      [[[], []], 0],
    ];
    for (const [shapes, dim] of cases) {
      await check(`stack ${shapes.map((s) => `[${s}]`).join(' ')} dim ${dim}`, shapes, (...xs) => E.stack(xs, dim), stackRef(dim));
    }
  });

  it('errors name the op and the shapes', () => {
    const a = E.zeros([2, 3]);
    const b = E.zeros([2, 4]);
    expect(() => E.concat([a, b], 0)).toThrow(/concat: shapes \[2, 3\] \(tensor 0\) and \[2, 4\] \(tensor 1\) differ outside dimension 0/);
    expect(() => E.concat([a, E.zeros([2, 3, 1])], 0)).toThrow(/concat: shapes \[2, 3\] \(tensor 0\) and \[2, 3, 1\]/);
    expect(() => E.concat([a, E.tensor(new Int32Array(6), [2, 3])])).toThrow(/concat: tensor 1 is int32 but tensor 0 is float32/);
    expect(() => E.concat([])).toThrow(/concat: expects a non-empty array/);
    expect(() => E.concat([a], 2)).toThrow(/concat: dimension 2 is out of range/);
    expect(() => E.stack([a, b])).toThrow(/stack: shapes \[2, 3\] \(tensor 0\) and \[2, 4\] \(tensor 1\) differ/);
  });
});

describe('indexSelect and gather', () => {
  const ints = (shape: number[], values: number[]) => ({ shape, dtype: 'int32' as const, values });

  it('indexSelect with repeated indices, along several dims', async () => {
    const cases: [number[], number, number[]][] = [
      [[7, 5], 0, [6, 0, 0, 3, 6, 6, 1]],
      [[4, 131], 1, [130, 2, 2, 0, 77, 130, 5, 2, 9, 64, 1]],
      [[2, 3, 37], -1, [36, 0, 36, 17]],
      [[2, 3, 37], 1, [2, 2, 0, 1, 2]],
      [[257], 0, [256, 0, 128, 128]],
      [[1], 0, [0, 0, 0]],
    ];
    for (const [shape, dim, index] of cases) {
      const r = indexSelectRef(dim);
      await checkOp({
        name: `indexSelect [${shape}] dim ${dim}`,
        inputs: [{ shape }, ints([index.length], index)],
        gpu: (x, i) => x!.indexSelect(dim, i!),
        ref: r.forward,
        refGrad: r.grad,
      });
    }
  });

  it('gather along dims 0 and 1, with repeats and an index smaller than the input', async () => {
    const cases: [number[], number, number[], number][] = [
      [[5, 7], 0, [4, 7], 5],
      [[5, 7], 1, [5, 3], 7],
      [[5, 7], 1, [3, 4], 7], // smaller than x outside dim
      [[5, 7], 0, [8, 2], 5], // larger than x along dim: repeats
      [[2, 3, 37], 2, [2, 3, 11], 37],
      [[2, 3, 37], 1, [2, 5, 37], 3],
      [[257], 0, [300], 257],
    ];
    for (const [shape, dim, ishape, range] of cases) {
      const r = gatherRef(dim);
      await checkOp({
        name: `gather [${shape}] dim ${dim} index [${ishape}]`,
        inputs: [{ shape }, { shape: ishape, dtype: 'int32', low: 0, high: range }],
        gpu: (x, i) => E.gather(x!, dim, i!),
        ref: r.forward,
        refGrad: r.grad,
      });
    }
  });

  it('an out-of-range index raises at the next readback or sync (checked on the GPU), naming the op, the value and the range; its rows hold NaN (INT32_MIN for int32)', async () => {
    const x = E.tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    const before = E.runtime().counters.readbacks;
    const sel = E.indexSelect(x, 0, E.tensor(new Int32Array([2, 3, -1, 0]), [4]));
    expect(E.runtime().counters.readbacks).toBe(before); // recording reads nothing back
    await expect(sel.toArray()).rejects.toThrow(/indexSelect: index (3|-1) is outside the valid range \[0, 3\) .*one of 4 out-of-range reads/);
    // The check cleared itself when it raised: the values read now, bad rows included.
    expect([...(await sel.toArray())].map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual([5, 6, 'NaN', 'NaN', 'NaN', 'NaN', 1, 2]);
    const g = E.gather(x, 1, E.tensor(new Int32Array([1, 2, 0, 0, 0, 0]), [3, 2]));
    await expect(E.sync()).rejects.toThrow(/gather: index 2 is outside the valid range \[0, 2\)/);
    expect([...(await g.toArray())].map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual([2, 'NaN', 3, 3, 5, 5]);
    const xi = E.tensor(new Int32Array([7, 8]), [2]);
    const si = E.indexSelect(xi, 0, E.tensor(new Int32Array([1, 2]), [2]));
    await expect(si.toArray()).rejects.toThrow(/indexSelect: index 2 is outside the valid range \[0, 2\)/);
    expect([...(await si.toArray())]).toEqual([8, -2147483648]);
    // In-range indices never raise, and a sync after a clean run passes.
    await E.indexSelect(x, 0, E.tensor(new Int32Array([0, 2]), [2])).toArray();
    await E.sync();
  });

  it('errors name the op and the shapes', () => {
    const x = E.zeros([3, 4]);
    expect(() => E.indexSelect(x, 0, E.zeros([2]))).toThrow(/indexSelect: index must be an int32 tensor, got float32 \(shape \[2\]\)/);
    expect(() => E.indexSelect(x, 0, E.tensor(new Int32Array(4), [2, 2]))).toThrow(/indexSelect: index must be 1-D, got shape \[2, 2\]/);
    expect(() => E.indexSelect(x, 2, E.tensor(new Int32Array(2), [2]))).toThrow(/indexSelect: dimension 2 is out of range/);
    expect(() => E.gather(x, 0, E.tensor(new Int32Array(4), [4]))).toThrow(/gather: index shape \[4\] does not fit input shape \[3, 4\]/);
    expect(() => E.gather(x, 0, E.tensor(new Int32Array(10), [2, 5]))).toThrow(/gather: index shape \[2, 5\] does not fit input shape \[3, 4\] along dimension 0/);
  });
});

describe('int32 tensors and the no-readback rule', () => {
  it('int32 data keeps its exact values through every copying op', async () => {
    await expectExactInts([[2, 3, 37]], (x) => E.permute(x!, [2, 0, 1]), permuteRef([2, 0, 1]).forward);
    await expectExactInts([[4, 131]], (x) => E.transpose(x!, 0, 1), transposeRef(2, 0, 1).forward);
    await expectExactInts([[4, 131]], (x) => E.slice(x!, 1, -100, -3, 2), sliceRef(1, -100, -3, 2).forward);
    await expectExactInts([[3, 1]], (x) => E.expand(x!, [2, 3, 37]), expandRef([2, 3, 37]).forward);
    await expectExactInts([[2, 3], [2, 7], [2, 1]], (a, b, c) => E.concat([a!, b!, c!], -1), concatRef(-1).forward);
    await expectExactInts([[3, 5], [3, 5]], (a, b) => E.stack([a!, b!], 1), stackRef(1).forward);
    await expectExactInts([[257]], (x) => E.reshape(x!, [1, 257]), reshapeRef([1, 257]).forward);
    const idx = [4, 0, 0, 6, 2];
    await expectExactInts([[2, 7, 3]], (x) => E.indexSelect(x!, 1, E.tensor(new Int32Array(idx), [5])), (x) => indexSelectRef(1).forward(x!, arr([5], idx)));
    const gi = [1, 0, 2, 2, 0, 1];
    await expectExactInts([[3, 4]], (x) => E.gather(x!, 0, E.tensor(new Int32Array(gi), [2, 3])), (x) => gatherRef(0).forward(x!, arr([2, 3], gi)));
  });

  it('forward and backward record no GPU->CPU readback', () => {
    const rt = E.runtime();
    const before = rt.counters.readbacks;
    E.scope(() => {
      const x = E.randn([4, 6], { requiresGrad: true });
      const idx = E.tensor(new Int32Array([3, 1, 3]), [3]);
      const parts = [
        E.permute(x, [1, 0]).reshape([-1]),
        E.slice(x, 1, 1, 5, 2).flatten(),
        E.expand(E.narrow(x, 0, 1, 1), [3, 6]).flatten(),
        E.indexSelect(x, 0, idx).flatten(),
        E.gather(x, 1, E.tensor(new Int32Array([0, 5, 5, 2]), [4, 1])).flatten(),
        E.stack([x, x], 0).flatten(),
      ];
      const y = E.concat(parts);
      y.backward(E.onesLike(y));
      expect(x.grad).not.toBeNull();
      x.grad!.dispose();
    });
    E.runtime().flush();
    expect(rt.counters.readbacks).toBe(before);
  });
});
