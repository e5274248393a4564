// maxPool2d's 2x2 vec4 kernels (kernel 2, stride 2, no padding, W % 4 == 0: one thread per pair of
// outputs, vec4 loads and stores) against the float64 reference with a gradient check, and bitwise
// against the generic kernels (forced with `poolKernels.vec4 = false`): values, indices and dx, on
// odd shapes (H odd with floor mode dropping the last row, W = 4 and 12, plane counts whose pairs are
// not a multiple of the 256-thread workgroup, unbatched input), on integer-valued inputs full of ties
// and on inputs with NaN, ±inf and -0 in the windows. Every run asserts by kernel name which path ran.

import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { maxPool2d, maxPool2dWithIndices, poolKernels, type Pool2dOptions } from '../../src/engine/ops/pool.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { traced } from '../helpers/trace.js';
import { maxPoolRef } from '../reference/pool.js';

useGPU();

const VEC4 = { fwd: 'maxPool2d_fwd_2x2_vec4', bwd: 'maxPool2d_bwd_2x2_vec4' };
const OPTS = { kernelSize: 2 } as const; // stride defaults to the kernel size, padding to 0

async function withVec4<T>(on: boolean, fn: () => Promise<T>): Promise<T> {
  const before = poolKernels.vec4;
  poolKernels.vec4 = on;
  try {
    return await fn();
  } finally {
    poolKernels.vec4 = before;
  }
}

const pools = (names: string[]) => names.filter((n) => n.startsWith('maxPool2d'));
/** The generic backward for this height: the tiled scatter where 2 divides H, else the gather. */
const genericBwd = (H: number) => (H % 2 === 0 ? 'maxPool2d_bwd_tiled' : 'maxPool2d_bwd');

// [N, C, H, W] or [C, H, W]: H odd (5, 7: the last row is in no window), W = 4 and 12, 300 planes of
// one pair each (300 threads: past one workgroup, not a multiple of it), 2 * 3 * 3 * 6 = 108 pairs.
const SHAPES = [[1, 1, 2, 4], [2, 3, 5, 4], [1, 2, 4, 12], [2, 3, 7, 12], [1, 300, 2, 4], [3, 7, 8]];

describe('maxPool2d 2x2 vec4 kernels against the float64 reference', () => {
  it(`forward and gradient over ${SHAPES.length} shapes, vec4 kernels dispatched`, async () => {
    for (const shape of SHAPES) {
      const r = maxPoolRef({ k: [2, 2], s: [2, 2], pad: [0, 0] });
      const names = await withVec4(true, () => traced(() => checkOp({
        name: `maxPool2d vec4 [${shape}]`,
        inputs: [{ shape }],
        gpu: (x) => maxPool2d(x, OPTS),
        ref: r.forward,
        refGrad: r.grad,
      })));
      expect(pools(names), `[${shape}]`).toEqual([VEC4.fwd, VEC4.bwd]);
    }
  });

  it('indices are plane-local h * W + w, as the reference', async () => {
    const shape = [2, 3, 5, 12];
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new E.Generator(5).uniformArray(n, -1, 1);
    const x = { shape, data: Float64Array.from(data) };
    const names = await withVec4(true, () => traced(async () => {
      const [, idx] = maxPool2dWithIndices(E.tensor(Float32Array.from(data), shape), OPTS);
      expect([...(await idx.toArray())]).toEqual(maxPoolRef({ k: [2, 2], s: [2, 2], pad: [0, 0] }).indices(x));
    }));
    expect(pools(names)).toEqual([VEC4.fwd]);
  });
});

/**
 * PyTorch's max-pool rule in float64 over 2x2 windows: scan row by row from the first element; a NaN
 * always replaces the best (the last NaN wins), a number only a smaller non-NaN best (the first of
 * equal maxima wins). Returns values and plane-local indices.
 */
function maxPoolNaNRef(x: Float32Array, shape: number[]): { y: number[]; idx: number[] } {
  const [H, W] = [shape.at(-2)!, shape.at(-1)!];
  const planes = x.length / (H * W);
  const [OH, OW] = [Math.floor(H / 2), Math.floor(W / 2)];
  const y: number[] = [];
  const idx: number[] = [];
  for (let pl = 0; pl < planes; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let arg = 2 * oh * W + 2 * ow;
        for (const off of [2 * oh * W + 2 * ow, 2 * oh * W + 2 * ow + 1, (2 * oh + 1) * W + 2 * ow, (2 * oh + 1) * W + 2 * ow + 1]) {
          const v = x[pl * H * W + off]!;
          const best = x[pl * H * W + arg]!;
          if (Number.isNaN(v) || (!Number.isNaN(best) && v > best)) arg = off;
        }
        y.push(x[pl * H * W + arg]!);
        idx.push(arg);
      }
    }
  }
  return { y, idx };
}

/** Values, indices and dx (all as bits) of one path, and the kernels it dispatched. */
async function runPath(vec4: boolean, data: Float32Array, g: Float32Array, shape: number[]) {
  // Pooled buffers of dx's size class holding 7s: an element the kernel fails to write shows.
  const dirty = Array.from({ length: 16 }, () => E.full([data.length], 7));
  for (const t of dirty) t.dispose();
  return withVec4(vec4, async () => {
    let out = { y: new Uint32Array(0), idx: new Int32Array(0), dx: new Uint32Array(0) };
    const names = await traced(() => E.scope(async () => {
      const x = E.tensor(data, shape, { requiresGrad: true });
      const [y, idx] = maxPool2dWithIndices(x, OPTS);
      y.backward(E.tensor(g, y.shape));
      out = {
        y: new Uint32Array(Float32Array.from(await y.toArray()).buffer),
        idx: Int32Array.from(await idx.toArray()),
        dx: new Uint32Array(Float32Array.from(await x.grad!.toArray()).buffer),
      };
    }));
    return { ...out, names: pools(names) };
  });
}

describe('maxPool2d 2x2 vec4 kernels equal the generic kernels bit for bit', () => {
  const special = [NaN, -Infinity, Infinity, -0, 0, 1, -1, 2];
  const kinds: [string, (gen: E.Generator, n: number) => Float32Array][] = [
    ['uniform', (gen, n) => Float32Array.from(gen.uniformArray(n, -3, 3))],
    // Integers from {-1, 0, 1}: most windows hold repeated maxima (the first must win).
    ['integer ties', (gen, n) => Float32Array.from(gen.uniformArray(n, 0, 3), (v) => Math.floor(v) - 1)],
    // A third of the elements NaN, ±inf or ±0: windows with several NaNs, only -inf, NaN among -inf.
    ['NaN, ±inf, ±0', (gen, n) => Float32Array.from(gen.uniformArray(n, 0, 1), (u, i) => (u < 0.35 ? special[i % special.length]! : u))],
  ];
  for (const [kind, make] of kinds) {
    it(`${kind} inputs over ${SHAPES.length} shapes`, async () => {
      const gen = new E.Generator(11);
      for (const shape of SHAPES) {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = make(gen, n);
        const outs = Math.floor(shape.at(-2)! / 2) * (shape.at(-1)! / 2) * (n / (shape.at(-2)! * shape.at(-1)!));
        const g = Float32Array.from(gen.uniformArray(outs, -1, 1));
        const fast = await runPath(true, data, g, shape);
        const slow = await runPath(false, data, g, shape);
        const what = `${kind} [${shape}]`;
        expect(fast.names, what).toEqual([VEC4.fwd, VEC4.bwd]);
        expect(slow.names, what).toEqual(['maxPool2d_fwd', genericBwd(shape.at(-2)!)]);
        expect(fast.y, `${what}: values`).toEqual(slow.y);
        expect(fast.idx, `${what}: indices`).toEqual(slow.idx);
        expect(fast.dx, `${what}: dx`).toEqual(slow.dx);
        // And both against the float64 rule (NaN equal to NaN), dx as g scattered to the indices.
        const ref = maxPoolNaNRef(data, shape);
        expect([...new Float32Array(fast.y.buffer)], `${what}: values vs reference`).toEqual(ref.y);
        expect([...fast.idx], `${what}: indices vs reference`).toEqual(ref.idx);
        const [H, W] = [shape.at(-2)!, shape.at(-1)!];
        const dxRef = new Float32Array(n);
        const perPlane = ref.idx.length / (n / (H * W));
        ref.idx.forEach((off, o) => (dxRef[Math.floor(o / perPlane) * H * W + off] = g[o]!));
        expect([...new Float32Array(fast.dx.buffer)], `${what}: dx vs reference`).toEqual([...dxRef]);
      }
    });
  }

  it('the last row of an odd H gets a zero gradient (it is in no window)', async () => {
    const shape = [1, 2, 5, 4];
    const data = Float32Array.from({ length: 40 }, (_, i) => (i % 20 >= 16 ? 100 : i)); // row 4: the largest, unpooled
    const fast = await runPath(true, data, Float32Array.from({ length: 8 }, () => 1), shape);
    expect(fast.names).toEqual([VEC4.fwd, VEC4.bwd]);
    const dx = new Float32Array(fast.dx.buffer);
    for (const pl of [0, 1]) expect([...dx.subarray(pl * 20 + 16, pl * 20 + 20)]).toEqual([0, 0, 0, 0]);
    expect(dx.reduce((a, b) => a + b, 0)).toBe(8);
  });
});

describe('maxPool2d picks the vec4 kernels only where they apply', () => {
  it('generic kernels for other geometries, and with poolKernels.vec4 = false', async () => {
    const cases: [number[], Pool2dOptions, string[]][] = [
      [[1, 2, 4, 6], OPTS, ['maxPool2d_fwd', 'maxPool2d_bwd_tiled']], // W % 4 != 0
      [[1, 2, 4, 8], { kernelSize: 2, stride: 1 }, ['maxPool2d_fwd', 'maxPool2d_bwd']],
      [[1, 2, 4, 8], { kernelSize: 2, padding: 1 }, ['maxPool2d_fwd', 'maxPool2d_bwd']],
      [[1, 2, 6, 8], { kernelSize: [2, 4] }, ['maxPool2d_fwd', 'maxPool2d_bwd_tiled']],
      [[1, 2, 8, 8], { kernelSize: 4 }, ['maxPool2d_fwd', 'maxPool2d_bwd_tiled']],
      [[1, 2, 4, 8], OPTS, [VEC4.fwd, VEC4.bwd]],
    ];
    const run = (shape: number[], opts: Pool2dOptions) => traced(() => E.scope(() => {
      const x = E.randn(shape).requiresGrad_();
      E.sum(maxPool2d(x, opts)).backward();
    }));
    for (const [shape, opts, want] of cases) {
      expect(pools(await withVec4(true, () => run(shape, opts))), `[${shape}] ${JSON.stringify(opts)}`).toEqual(want);
    }
    const off = await withVec4(false, () => run([1, 2, 4, 8], OPTS));
    expect(pools(off)).toEqual(['maxPool2d_fwd', 'maxPool2d_bwd_tiled']);
  });
});
