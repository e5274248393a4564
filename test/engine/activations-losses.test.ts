// Activations (gelu exact and tanh, silu, leakyRelu, elu, softplus, hardswish), clamp, where and the
// losses (mseLoss, l1Loss, smoothL1Loss, huberLoss, binaryCrossEntropy, klDiv):
//  1. against PyTorch fixtures (test/fixtures/breadth/activation_loss_fixtures.json, written by
//     make_activation_loss_fixtures.py with Debian's torch), values and gradients, NaN/+-inf/+-0
//     bit for bit in class and sign, everything else within 1e-5 relative (see `matches` for the
//     two places where float32 itself cannot promise that); activations eagerly and through fuse();
//  2. against the float64 references (test/reference/activations-losses.ts) with gradient checks,
//     on shapes with 1, primes and sizes that are not multiples of the 256-thread workgroup;
//  3. the argument checks and their messages, and the nn modules.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as E from '../../src/index.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { activationRef, whereRef, lossRef } from '../reference/activations-losses.js';

useGPU();

type Enc = number | 'nan' | 'inf' | '-inf' | '-0';
const dec = (v: Enc): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === '-0' ? -0 : v);
const decAll = (vs: Enc[]): number[] => vs.map(dec);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const FIX: any = JSON.parse(readFileSync(new URL('../fixtures/breadth/activation_loss_fixtures.json', import.meta.url), 'utf8'));
const TINY = 1.1754943508222875e-38;
const SUBNORMAL_ULP = 2 ** -149;

/**
 * Whether `a` is PyTorch's `e`: the same NaN-ness, exactly the same inf or signed zero, else within
 * 1e-5 relative or the absolute `atol`. Two float32 limits get an absolute allowance instead:
 * - a subnormal result has an absolute precision of 2^-149, so one rounding differs by a large
 *   relative amount (PyTorch's softplus(-100) is 28 * 2^-149, the correctly rounded value 27 * 2^-149):
 *   4 * 2^-149 is allowed there;
 * - `atol`, per element, where the formula PyTorch uses subtracts nearly equal float32 numbers (gelu
 *   below -3 is x/2 (1 + erf), elu near 0 is exp(x) - 1, silu's gradient near x = -1.28): their result carries an error of an ulp of
 *   the operands, not of the result, in PyTorch as here (where the true value is below that, as
 *   gelu'(-10) = -7.7e-22, PyTorch's float32 result may even be 0).
 */
function matches(a: number, e: number, atol = 0, roundedZero = false): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  // A zero is exact (sign included), unless PyTorch's zero is itself a cancellation's rounding
  // (`roundedZero`: gelu'(-7) is -6e-11, PyTorch's float32 formula gives 0) and `a` is within the allowance.
  if (roundedZero && e === 0 && a !== 0 && Number.isFinite(a)) return Math.abs(a) <= atol;
  if (!Number.isFinite(e) || e === 0) return Object.is(a, e);
  if (!Number.isFinite(a)) return false;
  const diff = Math.abs(a - e);
  if (Math.abs(e) < TINY && diff <= 4 * SUBNORMAL_ULP) return true;
  return diff <= 1e-5 * Math.abs(e) || diff <= atol;
}

/** Worst relative error per op, over elements where the cancellation allowance is negligible (|e| > 1000 atol). */
const worst = new Map<string, { rel: number; at: string }>();
function check(label: string, actual: ArrayLike<number>, expected: number[], inputs: number[][], atol: (i: number) => number = () => 0, roundedZero = false): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isFinite(e) && e !== 0 && Number.isFinite(a) && Math.abs(e) >= TINY && Math.abs(e) > 1000 * atol(i)) {
      const key = label.split(' ')[0]!;
      const rel = Math.abs(a - e) / Math.abs(e);
      if (rel > (worst.get(key)?.rel ?? -1)) worst.set(key, { rel, at: `${label.split(' ').slice(1).join(' ')} at (${inputs.map((xs) => xs[i]).join(', ')})` });
    }
    if (!matches(a, e, atol(i), roundedZero)) bad.push(`[${i}] inputs (${inputs.map((xs) => xs[i]).join(', ')}): got ${Object.is(a, -0) ? '-0' : a}, PyTorch ${Object.is(e, -0) ? '-0' : e}`);
  }
  expect(bad, `${label}: ${bad.length} elements differ from PyTorch ${FIX.torch}`).toEqual([]);
}

const read = async (x: E.Tensor | null): Promise<Float32Array> => (await x!.toArray()) as Float32Array;

/** The engram op for a fixture case of the activations (and clamp). */
function activationFn(op: string, p: Record<string, number | string | null>): (x: E.Tensor) => E.Tensor {
  switch (op) {
    case 'gelu': return (x) => E.gelu(x, { approximate: (p.approximate as 'tanh' | undefined) ?? 'none' });
    case 'silu': return E.silu;
    case 'leakyRelu': return (x) => E.leakyRelu(x, p.negativeSlope as number);
    case 'elu': return (x) => E.elu(x, p.alpha as number);
    case 'softplus': return (x) => E.softplus(x, p.beta as number, p.threshold as number);
    case 'hardswish': return E.hardswish;
    case 'clamp': return (x) => E.clamp(x, (p.min ?? undefined) as number | undefined, (p.max ?? undefined) as number | undefined);
    default: throw new Error(`unknown fixture op ${op}`);
  }
}

/** Absolute allowance for the ops whose float32 formula cancels (see `matches`), per element. */
function cancellation(op: string, x: number, g: number, alpha = 1): number {
  // gelu: x/2 (1 + erf(x/√2)) and its cdf: one ulp (2^-24) of a value near 1, times |x|/2 and g,
  // for each of PyTorch's erf and ours.
  if (op === 'gelu') return 2 ** -23 * Math.max(1, Math.abs(x)) * Math.abs(g);
  // elu: alpha (exp(x) - 1): two ulps of exp near 1 (lavapipe's exp(-1e-6) is an ulp off).
  if (op === 'elu') return 2 ** -23 * Math.abs(alpha) * Math.abs(g);
  // silu's gradient s (1 + x (1 - s)): the bracket cancels near x = -1.28, leaving ulps of x (1 - s).
  if (op === 'silu') return 2 ** -22 * Math.max(1, Math.abs(x)) * Math.abs(g);
  return 0;
}

describe(`activations and clamp match PyTorch ${FIX.torch as string}`, () => {
  for (const c of FIX.activations) {
    it(`${c.op} ${JSON.stringify(c.params)}: eager and fused, forward and gradient`, async () => {
      const xs = decAll(c.x);
      const gs = decAll(c.g);
      const eager = activationFn(c.op, c.params);
      const fused = E.fuse((x) => eager(x), { name: `fused_${c.op}` });
      for (const [how, f] of [['eager', eager], ['fused', fused]] as const) {
        const x = E.tensor(xs, [xs.length], { requiresGrad: true });
        const y = f(x);
        y.backward(E.tensor(gs, [gs.length]));
        check(`${c.op} ${how} forward`, await read(y), decAll(c.y), [xs], (i) => cancellation(c.op, xs[i]!, 1, c.params.alpha));
        check(`${c.op} ${how} gradient`, await read(x.grad), decAll(c.dx), [xs, gs], (i) => cancellation(c.op, xs[i]!, gs[i]!, c.params.alpha), c.op === 'gelu');
        x.dispose();
        y.dispose();
      }
    });
  }
});

/** The engram loss for a fixture case. */
function lossFn(op: string, p: Record<string, unknown>): (i: E.Tensor, t: E.Tensor) => E.Tensor {
  const reduction = p.reduction as E.Reduction;
  switch (op) {
    case 'mseLoss': return (i, t) => E.mseLoss(i, t, { reduction });
    case 'l1Loss': return (i, t) => E.l1Loss(i, t, { reduction });
    case 'smoothL1Loss': return (i, t) => E.smoothL1Loss(i, t, { reduction, beta: p.beta as number | undefined });
    case 'huberLoss': return (i, t) => E.huberLoss(i, t, { reduction, delta: p.delta as number | undefined });
    case 'binaryCrossEntropy': return (i, t) => E.binaryCrossEntropy(i, t, { reduction });
    case 'klDiv': return (i, t) => E.klDiv(i, t, { reduction: p.reduction as E.KlDivReduction, logTarget: p.logTarget as boolean });
    default: throw new Error(`unknown fixture loss ${op}`);
  }
}

describe(`losses match PyTorch ${FIX.torch as string}`, () => {
  for (const c of FIX.losses) {
    it(`${c.op} ${JSON.stringify(c.params)} on [${c.shape}]: value and gradients of input and target`, async () => {
      const xi = decAll(c.input);
      const xt = decAll(c.target);
      const input = E.tensor(xi, c.shape, { requiresGrad: true });
      const target = E.tensor(xt, c.targetShape, { requiresGrad: true });
      const y = lossFn(c.op, c.params)(input, target);
      expect(y.shape).toEqual(c.yShape);
      y.backward(E.tensor(decAll(c.g), c.yShape));
      const ins = [xi, xt];
      check(`${c.op} value`, await read(y), decAll(c.y), c.yShape.length ? ins : [[xi.length]]);
      check(`${c.op} dinput`, await read(input.grad), decAll(c.dinput), ins);
      check(`${c.op} dtarget`, await read(target.grad), decAll(c.dtarget), ins);
    });
  }
});

describe(`where matches PyTorch ${FIX.torch as string}`, () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  FIX.where.forEach((c: any, k: number) => {
    it(`case ${k}: cond [${c.condShape}], a [${c.aShape}], b [${c.bShape}], float32 and int32 conditions`, async () => {
      for (const dtype of ['float32', 'int32'] as const) {
        const cond = E.tensor(decAll(c.cond), c.condShape, { dtype });
        const a = E.tensor(decAll(c.a), c.aShape, { requiresGrad: true });
        const b = E.tensor(decAll(c.b), c.bShape, { requiresGrad: true });
        const y = E.where(cond, a, b);
        expect(y.shape).toEqual(c.yShape);
        y.backward(E.tensor(decAll(c.g), c.yShape));
        check(`where ${dtype} value`, await read(y), decAll(c.y), []);
        check(`where ${dtype} da`, await read(a.grad), decAll(c.da), []);
        check(`where ${dtype} db`, await read(b.grad), decAll(c.db), []);
      }
    });
  });

  it('a NaN condition counts as true (bool(NaN) in PyTorch), -0 as false; number branches', async () => {
    const cond = E.tensor([NaN, -0, 0, 2], [4]);
    const a = E.tensor([1, 2, 3, 4], [4], { requiresGrad: true });
    const y = E.where(cond, a, -1);
    expect(Array.from(await read(y))).toEqual([1, -1, -1, 4]);
    y.backward(E.onesLike(y));
    expect(Array.from(await read(a.grad))).toEqual([1, 0, 0, 1]);
    expect(Array.from(await read(E.where(cond, 5, a)))).toEqual([5, 2, 3, 5]);
  });

  it('the same tensor as both branches gets both gradients', async () => {
    const x = E.tensor([1, 2, 3], [3], { requiresGrad: true });
    const y = E.where(E.tensor([1, 0, 1], [3]), x, x);
    y.backward(E.tensor([1, 2, 3], [3]));
    expect(Array.from(await read(x.grad))).toEqual([1, 2, 3]);
  });
});

// Shapes include 1, primes and sizes that are not multiples of the 256-thread workgroup.
const SHAPES = [[1], [7], [3, 5], [2, 3, 37], [257], [4, 131]];

describe('activations and clamp match the float64 reference, forward and backward', () => {
  const cases: [string, (x: E.Tensor) => E.Tensor, string, Record<string, number>, number, number][] = [
    ['gelu', (x) => E.gelu(x), 'gelu', {}, -4, 4],
    ['gelu tanh', (x) => E.gelu(x, { approximate: 'tanh' }), 'geluTanh', {}, -4, 4],
    ['silu', E.silu, 'silu', {}, -5, 5],
    ['leakyRelu 0.01', (x) => E.leakyRelu(x), 'leakyRelu', { slope: 0.01 }, -2, 2],
    ['leakyRelu -0.3', (x) => E.leakyRelu(x, -0.3), 'leakyRelu', { slope: -0.3 }, -2, 2],
    ['elu 1', (x) => E.elu(x), 'elu', { alpha: 1 }, -3, 3],
    ['elu 0.7', (x) => E.elu(x, 0.7), 'elu', { alpha: 0.7 }, -3, 3],
    ['softplus', (x) => E.softplus(x), 'softplus', { beta: 1, threshold: 20 }, -8, 8],
    ['softplus beta 3 threshold 4', (x) => E.softplus(x, 3, 4), 'softplus', { beta: 3, threshold: 4 }, -3, 3],
    ['hardswish', E.hardswish, 'hardswish', {}, -5, 5],
    ['clamp [-0.5, 0.3]', (x) => E.clamp(x, -0.5, 0.3), 'clamp', { min: -0.5, max: 0.3 }, -1, 1],
    ['clamp min 0.2', (x) => E.clamp(x, 0.2), 'clamp', { min: 0.2 }, -1, 1],
    ['clamp max -0.1', (x) => E.clamp(x, undefined, -0.1), 'clamp', { max: -0.1 }, -1, 1],
  ];
  for (const [name, fn, op, p, low, high] of cases) {
    it(`${name} over shapes ${SHAPES.map((s) => `[${s}]`).join(' ')}`, async () => {
      const r = activationRef(op, p);
      for (const shape of SHAPES) {
        await checkOp({ name: `${name}[${shape}]`, inputs: [{ shape, low, high }], gpu: fn, ref: r.forward, refGrad: r.grad });
      }
    });
  }
});

describe('erf is accurate to about an ulp', () => {
  it('gelu on a dense grid of [-1, 4], where 1 + erf does not cancel much, is within 1e-6 relative of float64', async () => {
    // The gradient checks above allow 1e-5; an erf coefficient off by 1e-5 relative would pass them.
    const xs = Array.from({ length: 5001 }, (_, i) => Math.fround(-1 + i / 1000));
    const y = await read(E.gelu(E.tensor(xs, [xs.length])));
    const r = activationRef('gelu');
    let worstRel = 0;
    xs.forEach((x, i) => {
      const e = r.forward({ shape: [1], data: new Float64Array([x]) }).data[0]!;
      if (e !== 0) worstRel = Math.max(worstRel, Math.abs(y[i]! - e) / Math.abs(e));
    });
    expect(worstRel).toBeLessThan(1e-6);
  });
});

describe('where matches the float64 reference with broadcasting', () => {
  const cases: [number[], number[], number[]][] = [[[257], [257], [257]], [[3, 1], [1, 37], [3, 37]], [[7], [2, 7], [1]], [[1], [4, 131], [131]]];
  for (const [cs, as, bs] of cases) {
    it(`cond [${cs}], a [${as}], b [${bs}]`, async () => {
      const r = whereRef();
      await checkOp({
        name: `where [${cs}] [${as}] [${bs}]`,
        inputs: [{ shape: cs, dtype: 'int32', low: 0, high: 2 }, { shape: as }, { shape: bs }],
        gpu: (c, a, b) => E.where(c!, a!, b!),
        ref: r.forward,
        refGrad: r.grad,
      });
    });
  }
});

describe('losses match the float64 reference, forward and backward', () => {
  const cases: [string, E.Reduction | E.KlDivReduction, Record<string, number>, (i: E.Tensor, t: E.Tensor) => E.Tensor, [number, number], [number, number]][] = [];
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    cases.push(['mseLoss', reduction, {}, (i, t) => E.mseLoss(i, t, { reduction }), [-2, 2], [-2, 2]]);
    cases.push(['l1Loss', reduction, {}, (i, t) => E.l1Loss(i, t, { reduction }), [-2, 2], [-2, 2]]);
    cases.push(['smoothL1Loss', reduction, { beta: 0.7 }, (i, t) => E.smoothL1Loss(i, t, { reduction, beta: 0.7 }), [-2, 2], [-2, 2]]);
    cases.push(['huberLoss', reduction, { delta: 0.6 }, (i, t) => E.huberLoss(i, t, { reduction, delta: 0.6 }), [-2, 2], [-2, 2]]);
    cases.push(['binaryCrossEntropy', reduction, {}, (i, t) => E.binaryCrossEntropy(i, t, { reduction }), [0.05, 0.95], [0, 1]]);
  }
  for (const reduction of ['mean', 'sum', 'none', 'batchmean'] as const) {
    cases.push(['klDiv', reduction, {}, (i, t) => E.klDiv(i, t, { reduction }), [-4, 0], [0.01, 1]]);
    cases.push(['klDivLog', reduction, {}, (i, t) => E.klDiv(i, t, { reduction, logTarget: true }), [-4, 0], [-4, 0]]);
  }
  for (const [op, reduction, p, fn, [il, ih], [tl, th]] of cases) {
    it(`${op} ${reduction} ${JSON.stringify(p)}`, async () => {
      const r = lossRef(op, reduction, p);
      for (const shape of [[1], [7], [3, 37], [2, 131]]) {
        await checkOp({ name: `${op} ${reduction} [${shape}]`, inputs: [{ shape, low: il, high: ih }, { shape, low: tl, high: th }], gpu: (i, t) => fn(i!, t!), ref: r.forward, refGrad: r.grad });
      }
    });
  }
});

describe('argument checks name the op, the value and the fix', () => {
  const x = (): E.Tensor => E.tensor([1, 2, 3], [3]);
  it('activations', () => {
    expect(() => E.gelu(x(), { approximate: 'erf' as 'tanh' })).toThrow("gelu: approximate must be 'none' or 'tanh' (as in PyTorch), got 'erf'");
    expect(() => E.leakyRelu(x(), NaN)).toThrow('leakyRelu: negativeSlope must be a finite number, got NaN');
    expect(() => E.elu(x(), Infinity)).toThrow('elu: alpha must be a finite number, got Infinity');
    expect(() => E.softplus(x(), 0)).toThrow('softplus: beta must be a number > 0, got 0');
    expect(() => E.clamp(x())).toThrow('clamp: give at least one of min and max');
    expect(() => E.clamp(x(), NaN)).toThrow('clamp: min must be a number (or undefined for no bound), got NaN');
    expect(() => E.silu(E.tensor([1], [1], { dtype: 'int32' }))).toThrow('silu: expects float32 tensors, got int32');
  });
  it('losses', () => {
    expect(() => E.mseLoss(E.zeros([3, 4]), E.zeros([4]))).toThrow('mseLoss: input [3, 4] and target [4] must have the same shape');
    expect(() => E.l1Loss(x(), x(), { reduction: 'avg' as 'mean' })).toThrow("l1Loss: reduction must be 'mean', 'sum', 'none', got 'avg'");
    expect(() => E.smoothL1Loss(x(), x(), { beta: -1 })).toThrow('smoothL1Loss: beta must be a number >= 0, got -1');
    expect(() => E.huberLoss(x(), x(), { delta: 0 })).toThrow('huberLoss: delta must be a number > 0, got 0');
    expect(() => E.binaryCrossEntropy(x(), E.tensor([1, 0, 1], [3], { dtype: 'int32' }))).toThrow('binaryCrossEntropy: target must be float32, got int32 (shape [3]); convert with toFloat()');
    expect(() => E.binaryCrossEntropy(x(), x(), { weight: E.zeros([2]) })).toThrow('binaryCrossEntropy: weight (float32 [2]) must be float32 and broadcastable to the input [3]');
    expect(() => E.klDiv(E.zeros([]), E.zeros([]), { reduction: 'batchmean' })).toThrow("klDiv: reduction 'batchmean' divides by the batch size");
    expect(() => E.klDiv(x(), x(), { logTarget: 'yes' as unknown as boolean })).toThrow("klDiv: logTarget must be true or false, got 'yes'");
  });
  it('where', () => {
    expect(() => E.where(E.zeros([2]), E.zeros([3]), E.zeros([3]))).toThrow(/where/);
    const f = E.fuse((a, b) => E.where(a, a, b));
    expect(() => f(x(), x())).toThrow("fuse: only elementwise ops can be fused");
  });
  it('nn modules', () => {
    expect(() => new E.GELU({ approximate: 'fast' as 'tanh' })).toThrow("GELU: approximate must be 'none' or 'tanh' (as in PyTorch), got 'fast'");
    expect(() => new E.LeakyReLU(NaN)).toThrow('LeakyReLU: negativeSlope must be a finite number, got NaN');
    expect(() => new E.ELU('1' as unknown as number)).toThrow("ELU: alpha must be a finite number, got '1'");
    expect(() => new E.Softplus(-1)).toThrow('Softplus: beta must be a number > 0, got -1');
    expect(() => new E.Softplus(1, NaN)).toThrow('Softplus: threshold must be a finite number, got NaN');
  });
});

describe('inside fuse()', () => {
  it('a chain with a broadcast bias through each activation equals the eager ops, value and gradients', async () => {
    const acts: [string, (v: E.Tensor) => E.Tensor][] = [
      ['gelu', (v) => E.gelu(v)], ['geluTanh', (v) => E.gelu(v, { approximate: 'tanh' })], ['silu', E.silu], ['leakyRelu', (v) => E.leakyRelu(v, 0.1)],
      ['elu', (v) => E.elu(v, 0.8)], ['softplus', (v) => E.softplus(v, 1.5, 3)], ['hardswish', E.hardswish], ['clamp', (v) => E.clamp(v, -0.5, 0.7)],
    ];
    const g = new E.Generator(5);
    const xs = Array.from({ length: 3 * 37 }, () => 6 * g.next() - 3);
    const bs = Array.from({ length: 37 }, () => g.next() - 0.5);
    for (const [name, act] of acts) {
      const fn = (x: E.Tensor, b: E.Tensor): E.Tensor => E.mul(act(E.add(x, b)), 2);
      const fused = E.fuse(fn, { name: `chain_${name}` });
      const results: Float32Array[][] = [];
      for (const f of [fn, fused]) {
        const x = E.tensor(xs, [3, 37], { requiresGrad: true });
        const b = E.tensor(bs, [37], { requiresGrad: true });
        const y = f(x, b);
        y.backward(E.onesLike(y));
        results.push([await read(y), await read(x.grad), await read(b.grad)]);
      }
      for (let k = 0; k < 3; k++) {
        const [eager, fusedOut] = [results[0]![k]!, results[1]![k]!];
        eager.forEach((e, i) => expect(Math.abs(fusedOut[i]! - e), `${name} ${['value', 'dx', 'db'][k]}[${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(e))));
      }
    }
  });

  it("traced values have the activations as methods (x.gelu(), x.clamp(min, max), ...), checked as the eager ones", async () => {
    type Traced = { gelu(o?: object): Traced; silu(): Traced; clamp(a?: number, b?: number): Traced; softplus(b?: number, t?: number): Traced; leakyRelu(s?: number): Traced };
    const f = E.fuse((x) => (x as unknown as Traced).gelu({ approximate: 'tanh' }).silu().clamp(-1, 1) as unknown as E.Tensor);
    const x = E.tensor([-2, 0.5, 3], [3]);
    const expected = await read(E.clamp(E.silu(E.gelu(x, { approximate: 'tanh' })), -1, 1));
    expect(Array.from(await read(f(x)))).toEqual(Array.from(expected));
    expect(() => E.fuse((v) => (v as unknown as Traced).softplus(0) as unknown as E.Tensor)(x)).toThrow('softplus: beta must be a number > 0, got 0');
    expect(() => E.fuse((v) => (v as unknown as Traced).leakyRelu(NaN) as unknown as E.Tensor)(x)).toThrow('leakyRelu: negativeSlope must be a finite number, got NaN');
  });
});

describe('empty tensors', () => {
  it('activations, where and the losses accept size-0 tensors as PyTorch does (mean of nothing is NaN)', async () => {
    const z = E.zeros([0, 3], { requiresGrad: true });
    expect(E.gelu(z).shape).toEqual([0, 3]);
    expect(E.where(E.zeros([0, 3]), z, 1).shape).toEqual([0, 3]);
    expect(Number.isNaN((await read(E.mseLoss(z, E.zeros([0, 3]))))[0]!)).toBe(true);
    expect((await read(E.l1Loss(z, E.zeros([0, 3]), { reduction: 'sum' })))[0]).toBe(0);
    const y = E.sum(E.hardswish(z));
    y.backward(E.onesLike(y));
    expect(z.grad!.shape).toEqual([0, 3]);
  });
});

describe('nn activation modules', () => {
  it('compute their functional op (module and function agree bit for bit)', async () => {
    const xs = [-4, -3, -1.5, -0.2, 0, 0.3, 1, 2.5, 3, 7, 25];
    const x = E.tensor(xs, [xs.length]);
    const pairs: [E.Module, E.Tensor][] = [
      [new E.GELU(), E.gelu(x)], [new E.GELU({ approximate: 'tanh' }), E.gelu(x, { approximate: 'tanh' })], [new E.SiLU(), E.silu(x)],
      [new E.LeakyReLU(0.2), E.leakyRelu(x, 0.2)], [new E.ELU(0.5), E.elu(x, 0.5)], [new E.Softplus(2, 10), E.softplus(x, 2, 10)], [new E.Hardswish(), E.hardswish(x)],
    ];
    for (const [m, expected] of pairs) {
      expect(Array.from(await read(m.forward(x))), m.constructor.name).toEqual(Array.from(await read(expected)));
    }
  });
});

describe('summary', () => {
  it('prints the worst relative error against PyTorch per op', () => {
    // Informational (the checks above are the assertions): the report cites these numbers.
    console.log(`max relative error vs PyTorch ${FIX.torch}: ${[...worst].map(([k, v]) => `${k} ${v.rel.toExponential(2)} (${v.at})`).join(', ')}`);
    expect(worst.size).toBeGreaterThan(0);
  });
});
