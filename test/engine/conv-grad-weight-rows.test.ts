// conv2d's grad-weight for 3x3 same-width convolutions whose width is not a multiple of 4: the
// scalar-row subgroup kernel (src/shaders/conv2d-grad-weight-rows.ts), against the float64 reference on
// odd shapes: W 1, 2, 3, 5, 7, 14; odd H; N > 1; C 1, 3, 9 (lanes past C, two channel blocks); CO 4,
// 8, 12 (4- and 8-channel blocks); height padding 0 and 1, stride 2 and dilation 2; enough rows for
// several z slices; dense and grouped. Every case asserts by kernel name (the dispatch trace) which
// kernel ran: the new one here, the vec4 one where W % 4 == 0, neither with the knob off.
// Integer-valued x and g make every product and partial sum exact in float32, so there the kernel
// must equal the reference exactly whatever its order of additions; random data must agree within a
// tolerance. Then through autograd: conv2d backward with gradient checks (checkOp).

import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { conv2d, conv2dGradWeight, convKernels, type Conv2dOptions } from '../../src/engine/ops/conv.js';
import { useGPU } from '../helpers/gpu.js';
import { traced } from '../helpers/trace.js';
import { checkOp, expectClose } from '../helpers/gradcheck.js';
import { conv2dRef, outShape } from '../reference/conv.js';
import { arr } from '../reference/arr.js';

useGPU();

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  o: Conv2dOptions;
  /** The kernel that must run (its dispatch name). */
  kernel: string;
}

const rows = (cb: number) => `conv2d_grad_weight_rows_${cb}`;
const groupedRows = (cb: number) => `conv2d_grouped_gradWeight_rows_${cb}`;

// Padding 1 along the width in every case (the kernel's condition); the height varies. The comment
// gives OH and the rows N * OH that are sliced across z (several slices from 8 rows up).
const CASES: Case[] = [
  { x: [2, 3, 9, 5], w: [8, 3, 3, 3], o: { padding: 1 }, kernel: rows(8) }, // OH 9, 18 rows; lanes 3-7 idle
  { x: [3, 9, 7, 7], w: [12, 9, 3, 3], o: { padding: [0, 1] }, kernel: rows(4) }, // OH 5, 15 rows; C 9: two channel blocks
  { x: [2, 1, 11, 14], w: [4, 1, 3, 3], o: { stride: [2, 1], padding: 1 }, kernel: rows(4) }, // OH 6, 12 rows
  { x: [2, 3, 5, 1], w: [8, 3, 3, 3], o: { padding: 1 }, kernel: rows(8) }, // W 1: both neighbours are padding
  { x: [3, 9, 9, 2], w: [4, 9, 3, 3], o: { stride: [2, 1], padding: [0, 1], dilation: [2, 1] }, kernel: rows(4) }, // OH 3, 9 rows
  { x: [2, 3, 13, 3], w: [12, 3, 3, 3], o: { padding: 1, dilation: [2, 1] }, kernel: rows(4) }, // OH 11, 22 rows
  { x: [4, 9, 7, 14], w: [16, 9, 3, 3], o: { padding: 1 }, kernel: rows(8) }, // 28 rows; two blocks each way
  { x: [2, 1, 3, 3], w: [8, 1, 3, 3], o: { stride: [2, 1], padding: 1 }, kernel: rows(8) }, // OH 2: 4 rows, one slice
  // Grouped: C/G input channels per group, the CB-channel block inside one group.
  { x: [2, 6, 7, 5], w: [8, 3, 3, 3], o: { padding: 1, groups: 2 }, kernel: groupedRows(4) }, // CO/G 4
  { x: [3, 18, 5, 7], w: [16, 9, 3, 3], o: { padding: [0, 1], groups: 2 }, kernel: groupedRows(8) }, // C/G 9, CO/G 8
];

/** Seeded values: integers in [-8, 8] (exact sums) or uniform in [-1, 1). */
const draw = (n: number, seed: number, ints: boolean): Float32Array => {
  const gen = new E.Generator(seed);
  return Float32Array.from({ length: n }, () => (ints ? gen.int(17) - 8 : gen.next() * 2 - 1));
};
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** dw through conv2dGradWeight, and the grad-weight kernels it dispatched. */
async function gpuGradWeight(c: Case, x: Float32Array, g: Float32Array, gShape: number[]): Promise<{ dw: Float32Array; kernels: string[] }> {
  let dw!: Float32Array;
  const kernels = await traced(async () => {
    await E.scope(async () => {
      dw = (await conv2dGradWeight(E.tensor(x, c.x), c.w, E.tensor(g, gShape), c.o).toArray()) as Float32Array;
    });
  });
  return { dw, kernels: kernels.filter((k) => /grad_weight|gradWeight/.test(k)) };
}

/** The float64 reference dw for x and g. */
function referenceGradWeight(c: Case, x: Float32Array, g: Float32Array, gShape: number[]): Float64Array {
  const [, dw] = conv2dRef(c.o).grad(arr(gShape, g), arr(c.x, x), arr(c.w));
  return dw!.data;
}

const label = (c: Case) => `x [${c.x}] w [${c.w}] ${JSON.stringify(c.o)}`;

/** Run `fn` with the conv kernel switches set, restoring them after. */
async function withSwitches<T>(set: Partial<typeof convKernels>, fn: () => Promise<T>): Promise<T> {
  const before = { ...convKernels };
  Object.assign(convKernels, set);
  try {
    return await fn();
  } finally {
    Object.assign(convKernels, before);
  }
}

describe('conv2d grad-weight, scalar-row subgroup kernel (3x3 same-width, W % 4 != 0)', () => {
  for (const ints of [true, false]) {
    it(`${CASES.length} shapes vs float64 (${ints ? 'integer-valued: exact' : 'random: within 1e-5'}), the kernel named`, async (ctx) => {
      if (E.runtime().info.subgroupMinSize < 4) ctx.skip(); // needs the adapter's subgroups feature
      await withSwitches({ direct: true }, async () => {
        for (const [i, c] of CASES.entries()) {
          const gShape = outShape(arr(c.x), arr(c.w), c.o);
          const x = draw(size(c.x), 10 + i, ints);
          const g = draw(size(gShape), 50 + i, ints);
          const { dw, kernels } = await gpuGradWeight(c, x, g, gShape);
          expect(kernels, label(c)).toEqual([c.kernel]);
          const ref = referenceGradWeight(c, x, g, gShape);
          if (ints) expect(Array.from(dw), label(c)).toEqual(Array.from(ref));
          else expectClose(dw, ref, { atol: 1e-5, rtol: 1e-5 }, label(c));
        }
      });
    });
  }

  it('W % 4 == 0 still runs the vec4 kernel; the gradWeightRows knob off falls back to the other kernels, with the same result', async (ctx) => {
    if (E.runtime().info.subgroupMinSize < 4) ctx.skip();
    await withSwitches({ direct: true }, async () => {
      const vec4Cases: Case[] = [
        { x: [2, 3, 7, 8], w: [8, 3, 3, 3], o: { padding: 1 }, kernel: 'conv2d_grad_weight_subgroup_8' },
        { x: [2, 6, 5, 4], w: [8, 3, 3, 3], o: { padding: 1, groups: 2 }, kernel: 'conv2d_grouped_gradWeight_subgroup_4' },
      ];
      for (const [i, c] of vec4Cases.entries()) {
        const gShape = outShape(arr(c.x), arr(c.w), c.o);
        const x = draw(size(c.x), 100 + i, true);
        const g = draw(size(gShape), 120 + i, true);
        const { dw, kernels } = await gpuGradWeight(c, x, g, gShape);
        expect(kernels, label(c)).toEqual([c.kernel]);
        expect(Array.from(dw), label(c)).toEqual(Array.from(referenceGradWeight(c, x, g, gShape)));
      }
      await withSwitches({ gradWeightRows: false }, async () => {
        for (const [i, c] of CASES.slice(0, 3).concat(CASES.slice(-1)).entries()) {
          const gShape = outShape(arr(c.x), arr(c.w), c.o);
          const x = draw(size(c.x), 200 + i, true);
          const g = draw(size(gShape), 220 + i, true);
          const { dw, kernels } = await gpuGradWeight(c, x, g, gShape);
          expect(kernels.length, label(c)).toBeGreaterThan(0);
          expect(kernels.some((k) => k.includes('_rows_')), `${label(c)}: ${kernels}`).toBe(false);
          expect(Array.from(dw), label(c)).toEqual(Array.from(referenceGradWeight(c, x, g, gShape)));
        }
      });
      // subgroups = false turns the new kernel off too.
      await withSwitches({ subgroups: false }, async () => {
        const c = CASES[0]!;
        const gShape = outShape(arr(c.x), arr(c.w), c.o);
        const { kernels } = await gpuGradWeight(c, draw(size(c.x), 1, true), draw(size(gShape), 2, true), gShape);
        expect(kernels.some((k) => k.includes('_rows_')), kernels.join(',')).toBe(false);
      });
    });
  });

  it('through conv2d backward: gradients of x, w and b vs float64 and finite differences', async (ctx) => {
    if (E.runtime().info.subgroupMinSize < 4) ctx.skip();
    await withSwitches({ direct: true }, async () => {
      const cases: { x: number[]; w: number[]; o: Conv2dOptions }[] = [
        { x: [2, 3, 5, 7], w: [8, 3, 3, 3], o: { padding: 1 } },
        { x: [2, 4, 7, 3], w: [8, 2, 3, 3], o: { stride: [2, 1], padding: 1, groups: 2 } },
      ];
      for (const c of cases) {
        const r = conv2dRef(c.o);
        const kernels = await traced(() => checkOp({
          name: `conv2d x [${c.x}] w [${c.w}] ${JSON.stringify(c.o)}`,
          inputs: [{ shape: c.x }, { shape: c.w }, { shape: [c.w[0]!] }],
          gpu: (x, w, b) => conv2d(x!, w!, b, c.o),
          ref: (x, w, b) => r.forward(x!, w!, b),
          refGrad: (g, x, w, b) => r.grad(g, x!, w!, b),
          fdSamples: 16,
        }));
        expect(kernels.some((k) => k.includes('_rows_')), kernels.join(',')).toBe(true);
      }
    });
  });
});
