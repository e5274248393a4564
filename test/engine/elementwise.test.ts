import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { unaryRef, binaryRef } from '../reference/elementwise.js';
import { chainRef, type Dual } from '../reference/fused.js';

useGPU();

// Shapes include 1, primes and sizes that are not multiples of the 256-thread workgroup.
const SHAPES = [[1], [7], [3, 5], [2, 3, 37], [257], [4, 131]];

describe('unary ops match the float64 reference, forward and backward', () => {
  const cases: [string, (x: E.Tensor) => E.Tensor, { low?: number; high?: number; a?: number }][] = [
    ['neg', E.neg, {}],
    ['exp', E.exp, {}],
    ['log', E.log, { low: 0.1, high: 3 }],
    ['sqrt', E.sqrt, { low: 0.1, high: 3 }],
    ['relu', E.relu, {}],
    ['abs', E.abs, {}],
    ['sigmoid', E.sigmoid, { low: -4, high: 4 }],
    ['tanh', E.tanh, { low: -3, high: 3 }],
  ];
  for (const [name, fn, o] of cases) {
    it(`${name} over shapes ${SHAPES.map((s) => `[${s}]`).join(' ')}`, async () => {
      const r = unaryRef(name);
      for (const shape of SHAPES) {
        await checkOp({ name: `${name}[${shape}]`, inputs: [{ shape, low: o.low, high: o.high }], gpu: fn, ref: r.forward, refGrad: r.grad });
      }
    });
  }

  it('pow with integral and fractional exponents (integral exponents accept negative bases)', async () => {
    for (const p of [2, 3, -1]) {
      const r = unaryRef('pow', p);
      await checkOp({ name: `pow ${p}`, inputs: [{ shape: [3, 7], low: 0.3, high: 2 }], gpu: (x) => E.pow(x, p), ref: r.forward, refGrad: r.grad });
      await checkOp({ name: `pow ${p} negative base`, inputs: [{ shape: [11], low: -2, high: -0.3 }], gpu: (x) => E.pow(x, p), ref: r.forward, refGrad: r.grad });
    }
    const r = unaryRef('pow', 0.5);
    await checkOp({ name: 'pow 0.5', inputs: [{ shape: [5, 3], low: 0.2, high: 2 }], gpu: (x) => E.pow(x, 0.5), ref: r.forward, refGrad: r.grad });
    // Fractional exponents (std::pow in PyTorch), the -0.5 rsqrt path, and integral exponents that
    // take the exponentiation-by-squaring path (5, -3, 8) on both signs of base.
    for (const p of [2.5, -2.5, 1.5, -0.5, 0.25]) {
      const rp = unaryRef('pow', p);
      await checkOp({ name: `pow ${p}`, inputs: [{ shape: [4, 37], low: 0.2, high: 3 }], gpu: (x) => E.pow(x, p), ref: rp.forward, refGrad: rp.grad });
    }
    for (const p of [5, -3, 8, 1, -2]) {
      const rp = unaryRef('pow', p);
      for (const [low, high] of [[0.3, 2], [-2, -0.3]]) {
        await checkOp({ name: `pow ${p} [${low}, ${high})`, inputs: [{ shape: [257], low, high }], gpu: (x) => E.pow(x, p), ref: rp.forward, refGrad: rp.grad });
      }
    }
  });

  it('tanh keeps its relative accuracy near zero and across the range (float64 reference)', async () => {
    // The built-in tanh had an absolute error floor near 1e-7: tanh(1e-4) came out as 1.000166e-4.
    const xs = new Float32Array(4000);
    for (let i = 0; i < xs.length; i++) {
      const u = (i + 0.5) / xs.length;
      // Quarter each: tiny (|x| < 1e-6), ~N(0, 1e-4) scale, around the 0.625 switch, and up to 12.
      xs[i] = i % 4 === 0 ? (u - 0.5) * 2e-6 : i % 4 === 1 ? (u - 0.5) * 8e-4 : i % 4 === 2 ? 0.5 + u * 0.25 : (u - 0.5) * 24;
    }
    const ys = (await E.tanh(E.tensor(xs, [xs.length])).toArray()) as Float32Array;
    let worst = 0;
    let at = 0;
    for (let i = 0; i < xs.length; i++) {
      const want = Math.tanh(xs[i]!);
      const rel = want === 0 ? Math.abs(ys[i]!) : Math.abs(ys[i]! - want) / Math.abs(want);
      if (rel > worst) [worst, at] = [rel, xs[i]!];
    }
    // Float32 itself rounds at 6e-8 relative; PyTorch's CPU tanh measured 1.2e-7 on such inputs.
    expect(worst, `worst relative error ${worst} at x = ${at}`).toBeLessThan(4e-7);
    expect(Object.is(((await E.tanh(E.tensor([-0], [1])).toArray()) as Float32Array)[0], -0), 'tanh(-0) = -0').toBe(true);
  });

  it('log of subnormal inputs equals the float64 log (computed from the bits, not flushed)', async () => {
    const xs = new Float32Array([1e-40, 1.4e-45, 5e-39, 1.1754942e-38, 1.1754944e-38, 3e-42]);
    const ys = (await E.log(E.tensor(xs, [xs.length])).toArray()) as Float32Array;
    for (let i = 0; i < xs.length; i++) {
      expect(Math.abs(ys[i]! - Math.log(xs[i]!)), `log(${xs[i]})`).toBeLessThan(1e-5 * Math.abs(Math.log(xs[i]!)));
    }
    const neg = (await E.log(E.tensor(new Float32Array([-1e-40, -2, -Infinity]), [3])).toArray()) as Float32Array;
    expect([...neg].every(Number.isNaN), 'log of negative numbers, subnormal ones included, is NaN').toBe(true);
  });

  it('exp with subnormal results equals the float64 exp rounded to float32 (lavapipe\'s exp returned 0)', async () => {
    const xs = Float32Array.from({ length: 301 }, (_, i) => -104 + i * 0.0552); // -104 .. -87.44: subnormal results
    const ys = (await E.exp(E.tensor(xs, [xs.length])).toArray()) as Float32Array;
    for (let i = 0; i < xs.length; i++) {
      const want = Math.fround(Math.exp(xs[i]!));
      // One subnormal step (2^-149) or 2e-6 relative: the kernel's exp(x + 103) is exp2 of a
      // rounded x * log2(e) ~ 21 (6.6e-7 relative); exp of normal results near -88 is off by up to
      // 2.6e-6 for the same reason.
      expect(Math.abs(ys[i]! - want), `exp(${xs[i]})`).toBeLessThanOrEqual(Math.max(2e-6 * want, 2 ** -149));
    }
  });

  it('scalar add/sub/mul/div', async () => {
    for (const [name, op, a, fn] of [
      ['add', 'addScalar', 2.5, (x: E.Tensor) => E.add(x, 2.5)],
      ['sub', 'addScalar', -1.5, (x: E.Tensor) => E.sub(x, 1.5)],
      ['mul', 'mulScalar', -3, (x: E.Tensor) => E.mul(x, -3)],
      ['div', 'divScalar', 4, (x: E.Tensor) => E.div(x, 4)],
    ] as const) {
      const r = unaryRef(op, a);
      await checkOp({ name: `${name} scalar`, inputs: [{ shape: [5, 13] }], gpu: fn, ref: r.forward, refGrad: r.grad });
    }
  });
});

describe('binary ops broadcast like PyTorch, forward and backward', () => {
  const pairs: [number[], number[]][] = [
    [[7], [7]],
    [[3, 5], [3, 5]],
    [[3, 5], [5]],
    [[3, 1], [1, 5]],
    [[2, 3, 37], [3, 1]],
    [[1], [4, 131]],
    [[257], [1]],
  ];
  for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
    it(`${op} over ${pairs.length} shape pairs`, async () => {
      const r = binaryRef(op);
      const fn = E[op];
      for (const [sa, sb] of pairs) {
        await checkOp({
          name: `${op} [${sa}] [${sb}]`,
          inputs: [{ shape: sa }, op === 'div' ? { shape: sb, low: 0.5, high: 2 } : { shape: sb }],
          gpu: (a, b) => fn(a, b),
          ref: r.forward,
          refGrad: r.grad,
        });
      }
    });
  }

  it('maximum and minimum split the gradient on ties, with broadcasting, eagerly and fused', async () => {
    // Values from {-1, 0, 1} so that about a third of the pairs tie; a central difference of the
    // reference also gives 1/2 at a tie, so the finite-difference check holds there too.
    const a = Array.from({ length: 15 }, (_, i) => ((i * 7) % 3) - 1);
    const b = [0, 1, -1, 0, 1];
    for (const op of ['maximum', 'minimum'] as const) {
      const r = binaryRef(op);
      const inputs = [{ shape: [3, 5], values: a }, { shape: [5], values: b }];
      await checkOp({ name: `${op} ties`, inputs, gpu: (x, y) => E[op](x, y), ref: r.forward, refGrad: r.grad });
      const chain = (x: Dual, y: Dual): Dual => (op === 'maximum' ? x.maximum(y) : x.minimum(y)).mul(y.add(2));
      const fused = E.fuse((x, y) => (op === 'maximum' ? x.maximum(y) : (x as unknown as { minimum(o: E.Tensor): E.Tensor }).minimum(y!)).mul(y!.add(2)));
      const rc = chainRef((x, y) => chain(x!, y!));
      await checkOp({ name: `fused ${op} ties`, inputs, gpu: (x, y) => fused(x, y), ref: rc.forward, refGrad: rc.grad });
    }
  });

  it('eq compares int32 tensors and returns float 0/1', async () => {
    const a = E.tensor(new Int32Array([1, 2, 3, 4]), [4]);
    const b = E.tensor(new Int32Array([1, 0, 3, 0]), [4]);
    expect([...(await E.eq(a, b).toArray())]).toEqual([1, 0, 1, 0]);
  });

  it('rejects shapes that do not broadcast, naming the op and both shapes', () => {
    const a = E.zeros([2, 3]);
    const b = E.zeros([4, 5]);
    expect(() => E.add(a, b)).toThrow(/add: shapes \[2, 3\] and \[4, 5\] cannot be broadcast/);
  });

  it('rejects int32 operands for arithmetic', () => {
    const a = E.tensor(new Int32Array([1, 2]), [2]);
    expect(() => E.mul(a, a)).toThrow(/mul: expects float32/);
  });
});

describe('sumTo (the gradient of a broadcast operand) equals a float64 sum, with either kernel', () => {
  // g's shape -> the operand's shape; the wide kernel (a workgroup per output) runs by default on
  // GPUs for few outputs over >= 32 reduced elements, the one-thread kernel elsewhere.
  const cases: Array<[number[], number[]]> = [
    [[64, 10], [10]], [[128, 7], [1, 7]], [[3, 5, 7], [5, 1]], [[2, 3, 4, 5], [3, 1, 1]],
    [[1, 1], [1]], [[257, 3], [3]], [[5, 200], [5, 1]], [[2, 33, 2], [2, 1, 2]],
  ];
  /** Row-major float64 reference: each element of g added to the output it broadcasts from. */
  const sumToRef = (g: Float32Array, gShape: number[], shape: number[]) => {
    const t = [...new Array<number>(gShape.length - shape.length).fill(1), ...shape];
    const out = new Float64Array(t.reduce((a, b) => a * b, 1));
    for (let i = 0; i < g.length; i++) {
      let rem = i;
      let o = 0;
      let stride = 1;
      for (let d = gShape.length - 1; d >= 0; d--) {
        const c = rem % gShape[d]!;
        rem = Math.floor(rem / gShape[d]!);
        o += (t[d] === 1 ? 0 : c) * stride;
        stride *= t[d]!;
      }
      out[o]! += g[i]!;
    }
    return out;
  };

  for (const wide of [true, false]) {
    it(`${wide ? 'a workgroup per output' : 'a thread per output'}, ${cases.length} shapes`, async () => {
      const rt = E.runtime();
      E.sumToKernels.wide = wide;
      try {
        for (const [gShape, shape] of cases) {
          const g = E.randn(gShape);
          rt.trace = [];
          const out = E.sumTo(g, shape);
          expect(rt.trace.map((d) => d.kernel.name)).toEqual([wide ? 'sumTo_wide' : 'sumTo']);
          rt.trace = null;
          expect(out.shape).toEqual(shape);
          const want = sumToRef((await g.toArray()) as Float32Array, gShape, shape);
          const got = await out.toArray();
          for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(want[i]!)));
        }
      } finally {
        E.sumToKernels.wide = null;
        rt.trace = null;
      }
    });
  }

  it('picks the wide kernel on GPUs for few outputs over a long reduction, the thread kernel otherwise', () => {
    const rt = E.runtime();
    const pick = (gShape: number[], shape: number[]) => {
      const g = E.zeros(gShape);
      rt.trace = [];
      E.sumTo(g, shape);
      const names = rt.trace.map((d) => d.kernel.name);
      rt.trace = null;
      return names.join(',');
    };
    expect(pick([64, 10], [10])).toBe(rt.cpuBacked ? 'sumTo' : 'sumTo_wide');
    expect(pick([2, 9000], [9000])).toBe('sumTo'); // many outputs, short reduction
  });
});
