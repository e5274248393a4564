import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { maxPool2d, maxPool2dWithIndices, avgPool2d, adaptiveAvgPool2d } from '../../src/engine/ops/pool.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { arr } from '../reference/arr.js';
import { maxPoolRef, avgPoolRef, adaptiveAvgPoolRef, type PoolRefOptions } from '../reference/pool.js';

useGPU();

type Case = { shape: number[]; k: number | [number, number]; s?: number | [number, number]; pad?: number | [number, number] };
const pairOf = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);
const refOpts = (c: Case, countIncludePad?: boolean): PoolRefOptions => ({
  k: pairOf(c.k),
  s: pairOf(c.s ?? c.k),
  pad: pairOf(c.pad ?? 0),
  countIncludePad,
});
const label = (c: Case) => `[${c.shape}] k${c.k} s${c.s ?? c.k} p${c.pad ?? 0}`;

// Kernels 2/3, strides 1/2, paddings 0/1, odd sizes, batch 1, overlapping windows (k3 s1),
// rectangular kernels, unbatched input and more planes than a workgroup has threads; windows that
// tile the input exactly (the backward's scatter path), including more outputs than 256 threads.
const CASES: Case[] = [
  { shape: [1, 2, 7, 9], k: 2 },
  { shape: [2, 2, 5, 5], k: 3, s: 1, pad: 1 },
  { shape: [1, 3, 7, 9], k: 3, s: 2, pad: 1 },
  { shape: [1, 1, 7, 9], k: 3, s: 1 },
  { shape: [2, 1, 5, 5], k: 2, s: 1, pad: 1 },
  { shape: [2, 2, 5, 7], k: [2, 3], s: [1, 2], pad: [1, 1] },
  { shape: [3, 5, 5], k: 2, s: 1 },
  { shape: [2, 130, 3, 3], k: 2, s: 1 },
  { shape: [1, 1, 1, 1], k: 1 },
  // Windows that tile the input exactly (stride = kernel, no padding): the scatter backward.
  { shape: [2, 3, 8, 6], k: 2 },
  { shape: [1, 2, 9, 6], k: 3 },
  { shape: [1, 130, 4, 6], k: 2 },
  { shape: [2, 2, 6, 8], k: [2, 4] },
];

describe('maxPool2d matches the float64 reference, forward and backward', () => {
  it(`over ${CASES.length} geometries`, async () => {
    for (const c of CASES) {
      const r = maxPoolRef(refOpts(c));
      await checkOp({
        name: `maxPool2d ${label(c)}`,
        inputs: [{ shape: c.shape }],
        gpu: (x) => maxPool2d(x, { kernelSize: c.k, stride: c.s, padding: c.pad }),
        ref: r.forward,
        refGrad: r.grad,
      });
    }
  });

  it('returns PyTorch-style plane-local argmax indices', async () => {
    const c: Case = { shape: [2, 3, 7, 9], k: 3, s: 2, pad: 1 };
    const x = arr(c.shape, new E.Generator(3).uniformArray(2 * 3 * 7 * 9, -1, 1));
    const [y, idx] = maxPool2dWithIndices(E.tensor(Float32Array.from(x.data), c.shape), { kernelSize: 3, stride: 2, padding: 1 });
    expect(idx.dtype).toBe('int32');
    expect([...idx.shape]).toEqual([...y.shape]);
    expect([...(await idx.toArray())]).toEqual(maxPoolRef(refOpts(c)).indices(x));
  });

  it('routes every gradient to the shared argmax when overlapping windows pick the same input', async () => {
    // A single large value in the middle wins all nine 3x3 windows (stride 1, padding 1) covering it.
    const v = new Float32Array(25).fill(0);
    v[12] = 5;
    const x = E.tensor(v, [1, 1, 5, 5], { requiresGrad: true });
    const y = maxPool2d(x, { kernelSize: 3, stride: 1, padding: 1 });
    y.backward(E.ones(y.shape));
    const g = await x.grad!.toArray();
    expect(g[12]).toBe(9);
    expect([...g].reduce((a, b) => a + b, 0)).toBe(25);
  });
});

describe('avgPool2d matches the float64 reference, forward and backward', () => {
  for (const cip of [true, false]) {
    it(`countIncludePad ${cip}, over ${CASES.length} geometries`, async () => {
      for (const c of CASES) {
        const r = avgPoolRef(refOpts(c, cip));
        await checkOp({
          name: `avgPool2d ${label(c)} countIncludePad=${cip}`,
          inputs: [{ shape: c.shape }],
          gpu: (x) => avgPool2d(x, { kernelSize: c.k, stride: c.s, padding: c.pad, countIncludePad: cip }),
          ref: r.forward,
          refGrad: r.grad,
        });
      }
    });
  }
});

describe('adaptiveAvgPool2d matches the float64 reference, forward and backward', () => {
  const cases: [number[], number | [number, number]][] = [
    [[2, 3, 7, 9], 1],
    [[2, 3, 7, 9], 2],
    [[1, 2, 7, 9], [3, 5]],
    [[1, 1, 7, 9], [7, 9]],
    [[2, 5, 5], 3], // overlapping windows
    [[1, 2, 3, 2], [5, 4]], // output larger than input: windows repeat
    [[1, 300, 2, 2], 1],
  ];
  it(`over ${cases.length} input/output sizes`, async () => {
    for (const [shape, size] of cases) {
      const [oh, ow] = pairOf(size);
      const r = adaptiveAvgPoolRef(oh, ow);
      await checkOp({
        name: `adaptiveAvgPool2d [${shape}] -> ${oh}x${ow}`,
        inputs: [{ shape }],
        gpu: (x) => adaptiveAvgPool2d(x, size),
        ref: r.forward,
        refGrad: r.grad,
      });
    }
  });
});

describe('pooling rejects bad input with errors naming the op and shapes', () => {
  it('padding larger than half the kernel, as PyTorch rejects', () => {
    expect(() => maxPool2d(E.zeros([1, 1, 5, 5]), { kernelSize: 3, padding: 2 })).toThrow(
      /maxPool2d: padding \[2, 2\] must be at most half the kernel size \[3, 3\]/,
    );
    expect(() => avgPool2d(E.zeros([1, 1, 5, 5]), { kernelSize: [2, 4], padding: [2, 1] })).toThrow(/avgPool2d: padding \[2, 1\] must be at most half/);
  });

  it('an output size of zero or less', () => {
    expect(() => maxPool2d(E.zeros([1, 1, 2, 2]), { kernelSize: 3 })).toThrow(
      /maxPool2d: input \[1, 1, 2, 2\] is too small for kernel \[3, 3\] with stride \[3, 3\] and padding \[0, 0\] \(output would be 0x0\)/,
    );
    expect(() => adaptiveAvgPool2d(E.zeros([1, 1, 4, 4]), [0, 2])).toThrow(/adaptiveAvgPool2d: outputSize must be a positive integer or a pair of them, got \[0, 2\]/);
  });

  it('bad rank, sizes and dtype', () => {
    expect(() => maxPool2d(E.zeros([5, 5]), { kernelSize: 2 })).toThrow(/maxPool2d: expected a 3-D \[C, H, W\] or 4-D \[N, C, H, W\] input, got shape \[5, 5\]/);
    expect(() => avgPool2d(E.zeros([1, 1, 4, 4]), { kernelSize: 0 })).toThrow(/avgPool2d: kernelSize must be a positive integer/);
    expect(() => avgPool2d(E.zeros([1, 1, 4, 4]), { kernelSize: 2, stride: 1.5 })).toThrow(/avgPool2d: stride must be a positive integer/);
    expect(() => maxPool2d(E.zeros([1, 1, 4, 4]), { kernelSize: 2, padding: -1 })).toThrow(/maxPool2d: padding must be a non-negative integer/);
    expect(() => adaptiveAvgPool2d(E.tensor(new Int32Array(4), [1, 2, 2]), 1)).toThrow(/adaptiveAvgPool2d: expects a float32 input, got int32/);
  });
});
