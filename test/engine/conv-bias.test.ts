// conv2d's bias gradient db[co] = sum over n, oh, ow of g[n, co, oh, ow]: the vec4 kernel (OH * OW % 4
// == 0) and the scalar one, against the float64 reference on odd shapes: fewer vec4s than one sweep of
// the workgroup, one vec4 per image (OH * OW = 4) over hundreds of images, planes longer than a
// thread's step, counts not a multiple of the workgroup, CO > 1 and not a power of two. The vec4
// kernel runs at several workgroup sizes (the adapter's default, 1, 8, 256), each run asserting by
// kernel name which kernel ran. Integer-valued gradients make every partial sum exact in float32, so
// there the kernels must equal the reference (and each other) exactly; random gradients must agree
// within a first-order bound of float32 rounding for each kernel's order of additions. Then through
// autograd: E.conv2d with a bias, backward, db against the reference.

import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { conv2d, convBiasKernels } from '../../src/engine/ops/conv.js';
import { useGPU } from '../helpers/gpu.js';
import { traced } from '../helpers/trace.js';
import { conv2dRef } from '../reference/conv.js';
import { arr } from '../reference/arr.js';
import { expectClose } from '../helpers/gradcheck.js';

useGPU();

const SCALAR = 'conv2d_grad_bias';
const vec4Name = (wg: number) => `conv2d_grad_bias_vec4_${wg}`;
/** The vec4 kernel's workgroup size when convBiasKernels.workgroupSize is null. */
const defaultSize = () => (E.runtime().cpuBacked ? 8 : 256);
const U = 2 ** -24; // float32 unit roundoff

async function withKnob<T>(vec4: boolean, workgroupSize: number | null, fn: () => Promise<T>): Promise<T> {
  const before = { ...convBiasKernels };
  convBiasKernels.vec4 = vec4;
  convBiasKernels.workgroupSize = workgroupSize;
  try {
    return await fn();
  } finally {
    Object.assign(convBiasKernels, before);
  }
}

/**
 * db for the gradient g [N, CO, OH, OW] through the engine: a 1x1 conv with one input channel whose
 * x and w need no gradient, so its backward runs the bias kernel alone. Returns db and the kernels run.
 */
async function gpuGradBias(shape: number[], g: Float32Array): Promise<{ db: Float32Array; kernels: string[] }> {
  const [N, CO, OH, OW] = shape as [number, number, number, number];
  let db!: Float32Array;
  const kernels = await traced(async () => {
    const x = E.zeros([N, 1, OH, OW]);
    const w = E.zeros([CO, 1, 1, 1]);
    const b = E.zeros([CO]).requiresGrad_();
    const y = conv2d(x, w, b);
    y.backward(E.tensor(g, shape));
    db = await b.grad!.toArray() as Float32Array;
    for (const t of [x, w, b, y]) t.dispose();
  });
  return { db, kernels: kernels.filter((k) => k.startsWith('conv2d_grad_bias')) };
}

/** Float64 sums per channel: db and the sum of |g| (the scale of the rounding bound). */
function reference(shape: number[], g: Float32Array): { db: Float64Array; abs: Float64Array } {
  const [, CO, OH, OW] = shape as [number, number, number, number];
  const db = new Float64Array(CO);
  const abs = new Float64Array(CO);
  for (let i = 0; i < g.length; i++) {
    const co = Math.floor(i / (OH * OW)) % CO;
    db[co] = db[co]! + g[i]!;
    abs[co] = abs[co]! + Math.abs(g[i]!);
  }
  return { db, abs };
}

/**
 * The longest chain of float32 additions any element of a channel goes through (first-order error
 * bound: |error| <= chain * U * sum |g|). Scalar: 256 threads each summing N*OH*OW / 256 values in
 * turn, then an 8-level tree. Vec4 with wg threads: two vec4 accumulators a thread, each taking
 * count4 / (2 wg) vec4s in turn, then a + b, the four lanes (2 levels), the log2(wg)-level tree.
 */
function chain(shape: number[], kernel: string): number {
  const [N, , OH, OW] = shape as [number, number, number, number];
  const count = N * OH * OW;
  if (kernel === SCALAR) return Math.ceil(count / 256) + 8;
  const wg = Number(kernel.slice(vec4Name(0).length - 1));
  return Math.ceil(count / 4 / (2 * wg)) + 3 + Math.log2(wg);
}

const draw = (n: number, seed: number, ints: boolean): Float32Array => {
  const gen = new E.Generator(seed);
  return Float32Array.from({ length: n }, () => (ints ? gen.int(17) - 8 : gen.next() * 2 - 1));
};

// [N, CO, OH, OW]; vec4s per channel (count4) and plane (S4) in the comments.
const VEC4_SHAPES = [
  [3, 5, 4, 6], // S4 = 6, count4 = 18: fewer than one sweep of 8 threads x 2
  [300, 3, 2, 2], // OH * OW = 4: one vec4 per image, 300 images (a step crosses many images)
  [37, 6, 4, 4], // S4 = 4, count4 = 148
  [9, 7, 4, 12], // S4 = 12, count4 = 108: steps of 16 and 512 vec4s are not whole planes
  [5, 3, 16, 16], // S4 = 64, count4 = 320: past one 256-thread sweep, not a multiple of it
  [2, 3, 12, 12], // S4 = 36: a plane longer than a step of 8 threads x 2
  [3, 3, 24, 48], // S4 = 288, count4 = 864: a plane longer than a step of 256 threads x 2
  [70, 5, 8, 8], // S4 = 16, count4 = 1120: many sweeps at any workgroup size
];
const SCALAR_SHAPES = [[4, 3, 5, 3], [1, 5, 1, 7], [13, 6, 3, 3]]; // OH * OW = 15, 7, 9

describe('conv2d grad-bias kernels against the float64 reference', () => {
  for (const ints of [true, false]) {
    const what = ints ? 'integer-valued g: exact' : 'random g: within the rounding bound';
    it(`vec4 kernel at workgroup sizes default, 1, 8, 256 (${what}), the kernel named`, async () => {
      for (const size of [null, 1, 8, 256]) {
        for (const [s, shape] of VEC4_SHAPES.entries()) {
          const g = draw(shape.reduce((a, b) => a * b, 1), 100 + s, ints);
          const ref = reference(shape, g);
          const { db, kernels } = await withKnob(true, size, () => gpuGradBias(shape, g));
          const name = vec4Name(size ?? defaultSize());
          expect(kernels, `[${shape}] size ${size}`).toEqual([name]);
          for (let c = 0; c < db.length; c++) {
            const bound = ints ? 0 : chain(shape, name) * U * ref.abs[c]!;
            expect(Math.abs(db[c]! - ref.db[c]!), `[${shape}] size ${size} channel ${c}: ${db[c]} vs ${ref.db[c]}`).toBeLessThanOrEqual(bound);
          }
        }
      }
    });
  }

  it('scalar kernel where OH * OW % 4 != 0 (knob on) and everywhere with the knob off', async () => {
    for (const [vec4, shapes] of [[true, SCALAR_SHAPES], [false, [...SCALAR_SHAPES, ...VEC4_SHAPES]]] as const) {
      for (const [s, shape] of shapes.entries()) {
        const g = draw(shape.reduce((a, b) => a * b, 1), 200 + s, false);
        const ref = reference(shape, g);
        const { db, kernels } = await withKnob(vec4, null, () => gpuGradBias(shape, g));
        expect(kernels, `[${shape}] vec4 knob ${vec4}`).toEqual([SCALAR]);
        for (let c = 0; c < db.length; c++) {
          expect(Math.abs(db[c]! - ref.db[c]!), `[${shape}] channel ${c}`).toBeLessThanOrEqual(chain(shape, SCALAR) * U * ref.abs[c]!);
        }
      }
    }
  });

  it('vec4 and scalar kernels agree: exactly on integer-valued g, within both rounding bounds on random g', async () => {
    const shape = [64, 6, 8, 8]; // 4096 values a channel
    for (const ints of [true, false]) {
      const g = draw(shape.reduce((a, b) => a * b, 1), ints ? 301 : 302, ints);
      const ref = reference(shape, g);
      const vec4 = await withKnob(true, null, () => gpuGradBias(shape, g));
      const scalar = await withKnob(false, null, () => gpuGradBias(shape, g));
      expect([...vec4.kernels, ...scalar.kernels]).toEqual([vec4Name(defaultSize()), SCALAR]);
      for (let c = 0; c < shape[1]!; c++) {
        const bound = ints ? 0 : (chain(shape, vec4.kernels[0]!) + chain(shape, SCALAR)) * U * ref.abs[c]!;
        expect(Math.abs(vec4.db[c]! - scalar.db[c]!), `ints ${ints} channel ${c}`).toBeLessThanOrEqual(bound);
      }
    }
  });

  it('rejects a workgroup size that is not a power of two up to 256, naming the knob', async () => {
    for (const bad of [3, 0, 512]) {
      await expect(withKnob(true, bad, () => gpuGradBias([2, 3, 2, 2], new Float32Array(24)))).rejects.toThrow(/convBiasKernels\.workgroupSize = .*power of two/);
    }
  });
});

describe('conv2d grad-bias through autograd', () => {
  // x [N, C, H, W], w [CO, C, K, K], options; OH * OW = 40 (vec4), then 9 (scalar: stride 2).
  const CASES = [
    { x: [3, 2, 5, 8], w: [6, 2, 3, 3], opts: { padding: 1 }, vec4: true },
    { x: [2, 3, 6, 5], w: [5, 3, 3, 3], opts: { padding: 1, stride: 2 }, vec4: false },
  ];
  it('E.conv2d with bias, backward: db (and dx, dw) match the reference, the kernel named', async () => {
    for (const [i, c] of CASES.entries()) {
      const gen = new E.Generator(400 + i);
      const data = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => gen.next() * 2 - 1);
      const [xd, wd, bd] = [data(c.x), data(c.w), data([c.w[0]!])];
      const r = conv2dRef(c.opts);
      const yRef = r.forward(arr(c.x, Float64Array.from(xd)), arr(c.w, Float64Array.from(wd)), arr([c.w[0]!], Float64Array.from(bd)));
      const gd = data(yRef.shape);
      const [dxRef, dwRef, dbRef] = r.grad(arr(yRef.shape, Float64Array.from(gd)), arr(c.x, Float64Array.from(xd)), arr(c.w, Float64Array.from(wd)), arr([c.w[0]!], Float64Array.from(bd)));
      const grads: Float32Array[] = [];
      const kernels = await traced(async () => {
        const x = E.tensor(xd, c.x).requiresGrad_();
        const w = E.tensor(wd, c.w).requiresGrad_();
        const b = E.tensor(bd, [c.w[0]!]).requiresGrad_();
        const y = E.conv2d(x, w, b, c.opts);
        y.backward(E.tensor(gd, yRef.shape));
        for (const t of [x, w, b]) grads.push(await t.grad!.toArray() as Float32Array);
        for (const t of [x, w, b, y]) t.dispose();
      });
      expect(kernels.filter((k) => k.startsWith('conv2d_grad_bias')), `case ${i}`).toEqual([c.vec4 ? vec4Name(defaultSize()) : SCALAR]);
      expectClose(grads[2]!, dbRef!, { atol: 1e-5, rtol: 1e-5 }, `case ${i} db`);
      expectClose(grads[0]!, dxRef!, { atol: 1e-5, rtol: 1e-4 }, `case ${i} dx`);
      expectClose(grads[1]!, dwRef!, { atol: 1e-5, rtol: 1e-4 }, `case ${i} dw`);
    }
  });
});
