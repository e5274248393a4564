// PyTorch edge-case fixtures for the elementwise, pooling and batch-norm ops: NaN, +-inf, +-0,
// subnormals, ties and empty tensors (test/fixtures/edge/elementwise_edge.json, written by
// make_elementwise_edge_fixtures.py from Debian's python3-torch). Each fixture holds PyTorch's
// result; engram must give the same: bit-for-bit class and sign for NaN, inf and zero, and within
// 1e-5 relative otherwise. Every elementwise case runs eagerly and through fuse(), which must agree.
//
// Driver limit: an adapter whose arithmetic flushes subnormals to zero (Vulkan lets a driver do so)
// cannot return PyTorch's value for a subnormal input or result. On such an adapter (probed below:
// 1e-40 * 1 comes back as 0), and only for elements with a subnormal input or PyTorch result, the
// fixture's `ftz` value (PyTorch's result with subnormal inputs and outputs flushed) is accepted
// instead, which pins what engram gives there. Lavapipe's arithmetic keeps subnormals, so there
// every element must equal PyTorch; only its exp and log mishandled them, which the kernels now
// work around (exp_f32, log_f32 in src/shaders/elementwise.ts).
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import * as E from '../../src/index.js';
import { batchNorm } from '../../src/engine/ops/batchnorm.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

type Enc = number | 'nan' | 'inf' | '-inf' | '-0';
const dec = (v: Enc): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === '-0' ? -0 : v);
const decAll = (vs: Enc[]): number[] => vs.map(dec);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const FIX: any = JSON.parse(readFileSync(new URL('../fixtures/edge/elementwise_edge.json', import.meta.url), 'utf8'));
const TINY = 1.1754943508222875e-38;
const subnormal = (v: number): boolean => v !== 0 && Math.abs(v) < TINY;

/** Whether `a` is PyTorch's `e`: same NaN-ness, exact inf and signed zero, else within 1e-5 relative. */
function matches(a: number, e: number): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e) || e === 0) return Object.is(a, e);
  return Number.isFinite(a) && Math.abs(a - e) <= 1e-5 * Math.abs(e);
}

const flushed: string[] = [];
/** Whether this adapter's float arithmetic flushes subnormals (set before the tests run). */
let adapterFlushes = false;
beforeAll(async () => {
  const y = (await E.mul(E.tensor([1e-40], [1]), E.tensor([1], [1])).toArray()) as Float32Array;
  adapterFlushes = y[0] === 0;
});
/**
 * Compare element by element. `ftz` (PyTorch with subnormals flushed) is accepted where an input of
 * that element (`inputs`) or PyTorch's own result is subnormal: the driver's limit, not the kernel's.
 */
function check(label: string, actual: ArrayLike<number>, expected: number[], ftz?: number[], inputs: number[][] = []): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    if (matches(a, expected[i]!)) continue;
    const driverLimited = adapterFlushes && ftz !== undefined && (subnormal(expected[i]!) || inputs.some((xs) => subnormal(xs[i]!)));
    if (driverLimited && matches(a, ftz[i]!)) {
      flushed.push(`${label} [${inputs.map((xs) => xs[i]).join(', ')}]`);
      continue;
    }
    bad.push(`[${i}] inputs (${inputs.map((xs) => xs[i]).join(', ')}): got ${Object.is(a, -0) ? '-0' : a}, PyTorch ${Object.is(expected[i], -0) ? '-0' : expected[i]}${driverLimited ? ` (flushed: ${ftz[i]})` : ''}`);
  }
  expect(bad, `${label}: ${bad.length} elements differ from PyTorch ${FIX.torch}`).toEqual([]);
}

const t = (data: number[], shape: number[], grad = false): E.Tensor => E.tensor(data, shape, { requiresGrad: grad });
const read = async (x: E.Tensor | null): Promise<Float32Array> => (await x!.toArray()) as Float32Array;

type UnaryName = 'neg' | 'exp' | 'log' | 'sqrt' | 'relu' | 'abs' | 'sigmoid' | 'tanh';

describe(`elementwise edge cases match PyTorch ${FIX.torch as string}`, () => {
  it('unary ops, eager and fused, forward and gradient', async () => {
    for (const c of FIX.unary) {
      const xs = decAll(c.x);
      const op = c.op as UnaryName;
      const fused = E.fuse((x) => (x as unknown as Record<UnaryName, () => E.Tensor>)[op]!(), { name: `fused_${op}` });
      for (const [how, f] of [['eager', (x: E.Tensor) => (E as unknown as Record<UnaryName, (x: E.Tensor) => E.Tensor>)[op](x)], ['fused', fused]] as const) {
        const x = t(xs, c.shape, true);
        const y = f(x);
        y.backward(E.onesLike(y));
        check(`${op} ${how} forward`, await read(y), decAll(c.y), decAll(c.ftz.y), [xs]);
        check(`${op} ${how} gradient`, await read(x.grad), decAll(c.dx), decAll(c.ftz.dx), [xs]);
      }
    }
  });

  it('pow over bases x exponents (0, -0, negative and fractional exponents, NaN, inf), eager and fused', async () => {
    const fused = E.fuse((x, e) => x.pow(e as unknown as number), { name: 'fused_pow' });
    for (const c of FIX.pow) {
      const xs = decAll(c.x);
      const e = dec(c.exponent);
      for (const [how, f] of [['eager', (x: E.Tensor) => E.pow(x, e)], ['fused', (x: E.Tensor) => fused(x, e)]] as const) {
        const x = t(xs, c.shape, true);
        const y = f(x);
        y.backward(E.onesLike(y));
        check(`pow(x, ${e}) ${how} forward`, await read(y), decAll(c.y), decAll(c.ftz.y), [xs]);
        check(`pow(x, ${e}) ${how} gradient`, await read(x.grad), decAll(c.dx), decAll(c.ftz.dx), [xs]);
      }
    }
  });

  it('binary ops on every pair of specials (maximum/minimum: NaN wins, ties split the gradient), eager and fused', async () => {
    type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum';
    for (const c of FIX.binary) {
      const op = c.op as BinaryName;
      const as = decAll(c.a);
      const bs = decAll(c.b);
      const fused = E.fuse((a, b) => (a as unknown as Record<BinaryName, (o: E.Tensor) => E.Tensor>)[op]!(b!), { name: `fused_${op}` });
      const eager = (a: E.Tensor, b: E.Tensor): E.Tensor => (E as unknown as Record<BinaryName, (a: E.Tensor, b: E.Tensor) => E.Tensor>)[op](a, b);
      // maximum/minimum of +0 and -0: PyTorch's own sign depends on its CPU code path (its scalar
      // loop returns a, as std::max does; its AVX loop returns b), so either zero is accepted there.
      const zeroTie = (i: number): boolean => (op === 'maximum' || op === 'minimum') && as[i] === 0 && bs[i] === 0;
      for (const [how, f] of [['eager', eager], ['fused', fused]] as const) {
        const a = t(as, c.shape, true);
        const b = t(bs, c.shape, true);
        const y = f(a, b);
        y.backward(E.full(y.shape, 4));
        const ys = await read(y);
        const expected = decAll(c.y).map((e, i) => (zeroTie(i) && ys[i] === 0 ? ys[i]! : e));
        check(`${op} ${how} forward`, ys, expected, decAll(c.ftz.y), [as, bs]);
        check(`${op} ${how} gradient of a`, await read(a.grad), decAll(c.da), decAll(c.ftz.da), [as, bs]);
        check(`${op} ${how} gradient of b`, await read(b.grad), decAll(c.db), decAll(c.ftz.db), [as, bs]);
      }
    }
  });

  it('empty tensors pass through the unary ops', async () => {
    for (const c of FIX.emptyUnary) {
      const x = t([], c.shape, true);
      const y = (E as unknown as Record<UnaryName, (x: E.Tensor) => E.Tensor>)[c.op as UnaryName](x);
      expect(y.shape).toEqual(c.shape);
      y.backward(E.onesLike(y));
      expect(x.grad!.shape).toEqual(c.shape);
    }
  });
});

describe(`pooling edge cases match PyTorch ${FIX.torch as string}`, () => {
  it('maxPool2d: NaN wins (the last of several), ties go to the first, values, indices and gradients', async () => {
    for (const c of FIX.maxPool2d) {
      const opts = { kernelSize: c.kernel, stride: c.stride, padding: c.padding };
      const label = `maxPool2d ${JSON.stringify(c.x)} k${c.kernel} s${c.stride} p${c.padding}`;
      const x = t(decAll(c.x), c.shape, true);
      const [y, idx] = E.maxPool2dWithIndices(x, opts);
      expect(y.shape, label).toEqual(c.yshape);
      check(`${label} forward`, await read(y), decAll(c.y));
      expect(Array.from((await idx.toArray()) as Int32Array), `${label} indices`).toEqual(c.idx);
      if (y.size === 0) continue;
      y.backward(t(decAll(c.g), c.yshape));
      check(`${label} gradient`, await read(x.grad), decAll(c.dx));
    }
  });

  it('avgPool2d: NaN and inf propagate through the window sums', async () => {
    for (const c of FIX.avgPool2d) {
      const label = `avgPool2d ${JSON.stringify(c.x)} k${c.kernel} s${c.stride} p${c.padding}`;
      const x = t(decAll(c.x), c.shape, true);
      const y = E.avgPool2d(x, { kernelSize: c.kernel, stride: c.stride, padding: c.padding });
      check(`${label} forward`, await read(y), decAll(c.y));
      y.backward(t(decAll(c.g), c.yshape));
      check(`${label} gradient`, await read(x.grad), decAll(c.dx));
    }
  });
});

describe(`batchNorm edge cases match PyTorch ${FIX.torch as string}`, () => {
  it('NaN and inf in a channel, fused ReLU at zero and NaN, empty batches (running stats untouched)', async () => {
    for (const c of FIX.batchNorm) {
      const label = `batchNorm [${c.shape}] ${c.training ? 'train' : 'eval'}${c.relu ? ' +relu' : ''} ${JSON.stringify(c.x)}`;
      const x = t(decAll(c.x), c.shape, true);
      const C = c.shape[1];
      const w = t(decAll(c.weight), [C], true);
      const b = t(decAll(c.bias), [C], true);
      const rm = t(decAll(c.runningMean), [C]);
      const rv = t(decAll(c.runningVar), [C]);
      const y = batchNorm(x, rm, rv, w, b, { training: c.training, relu: c.relu, eps: c.eps, momentum: c.momentum });
      expect(y.shape, label).toEqual(c.shape);
      check(`${label} forward`, await read(y), decAll(c.y));
      check(`${label} running mean`, await read(rm), decAll(c.runningMeanAfter));
      check(`${label} running var`, await read(rv), decAll(c.runningVarAfter));
      y.backward(t(decAll(c.g), c.shape));
      check(`${label} dx`, await read(x.grad), decAll(c.dx));
      check(`${label} dweight`, await read(w.grad), decAll(c.dweight));
      check(`${label} dbias`, await read(b.grad), decAll(c.dbias));
    }
  });
});

describe('driver limit: subnormals', () => {
  it('reports how many elements took the flushed-subnormal value', () => {
    // Not an assertion on the count (it depends on the adapter); the comparisons above are the test.
    console.log(`elementwise-edge: adapter flushes subnormals: ${adapterFlushes}; ${flushed.length} elements matched PyTorch with subnormals flushed (driver limit)${flushed.map((f) => `\n  ${f}`).join('')}`);
  });
});
