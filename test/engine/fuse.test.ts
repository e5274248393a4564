// fuse(fn): a chain of elementwise ops runs as one forward and one backward dispatch, and must equal
// (a) the float64 reference (the same chain on dual numbers, test/reference/fused.ts) and (b) the
// eager composition of the same ops, in values and gradients, over odd and broadcast shapes.
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { checkOp, expectClose, makeInputs, type InputSpec } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { chainRef, Dual } from '../reference/fused.js';

useGPU();

/** The ops a chain may use: Tensors, traced values and Duals all have them. */
interface Ops<T> {
  add(o: T | number): T; sub(o: T | number): T; mul(o: T | number): T; div(o: T | number): T; maximum(o: T | number): T;
  neg(): T; exp(): T; log(): T; sqrt(): T; relu(): T; abs(): T; sigmoid(): T; tanh(): T; pow(p: number): T;
}
type Chain = <T extends Ops<T>>(...xs: T[]) => T;

interface Case {
  name: string;
  chain: Chain;
  /** One entry per shape set; every set lists one InputSpec per chain input. */
  inputs: InputSpec[][];
  /** The eager ops have no number operand for maximum: skip the eager comparison. */
  noEager?: boolean;
}

const fuseChain = (c: Chain) => E.fuse((...xs: E.Tensor[]) => c(...xs));
const eagerChain = (c: Chain) => (...xs: E.Tensor[]) => c(...xs);
const s = (shape: number[], low?: number, high?: number): InputSpec => ({ shape, low, high });

const CASES: Case[] = [
  {
    name: 'tanh gate: x*b + 1, tanh, *0.5',
    chain: (x, b) => x!.mul(b!).add(1).tanh().mul(0.5),
    inputs: [[s([5, 7]), s([7])], [s([1]), s([1])], [s([257]), s([257])], [s([3, 1, 4]), s([1, 6, 1])], [s([4, 131]), s([4, 1])]],
  },
  {
    name: 'sub, abs, maximum, sigmoid, div',
    chain: (x, y) => x!.sub(y!).abs().add(x!.maximum(y!)).div(y!.sigmoid()),
    inputs: [[s([13]), s([13])], [s([2, 3, 37]), s([3, 1])], [s([1]), s([4, 131])]],
  },
  {
    name: 'exp, log, sqrt, neg, divide and subtract numbers',
    chain: (x) => x!.exp().add(x!.sqrt()).log().neg().div(4).sub(1.5),
    inputs: [[s([7], 0.1, 2)], [s([3, 5], 0.1, 2)], [s([263], 0.1, 2)]],
  },
  {
    name: 'pow with integral exponents of negative bases, and a fractional one',
    chain: (x, y) => x!.pow(3).add(x!.pow(-1)).mul(y!.pow(0.5)).add(x!.pow(2)),
    inputs: [[s([11], -2, -0.3), s([11], 0.2, 2)], [s([3, 7], -2, -0.3), s([7], 0.2, 2)]],
  },
  {
    name: 'relu and neg with [3,1,4] x [1,6,1] broadcasting',
    chain: (x, y) => x!.relu().neg().add(y!.mul(2)).relu().mul(x!),
    inputs: [[s([3, 1, 4]), s([1, 6, 1])], [s([5, 7]), s([7])]],
  },
  {
    name: 'a shared subexpression used three times',
    chain: (x) => { const e = x!.mul(0.5).exp(); return e.mul(e).add(e); },
    inputs: [[s([19])], [s([2, 131])]],
  },
  {
    name: 'maximum with a number operand',
    chain: (x, y) => x!.maximum(0.25).mul(y!).maximum(-0.1),
    inputs: [[s([6, 5]), s([5])]],
    noEager: true,
  },
];

describe('fuse: values and gradients equal the float64 reference and the eager ops', () => {
  for (const c of CASES) {
    it(`${c.name} (${c.inputs.map((set) => set.map((i) => `[${i.shape}]`).join('x')).join(', ')})`, async () => {
      const fused = fuseChain(c.chain);
      const ref = chainRef((...xs: Dual[]) => c.chain(...xs));
      for (const specs of c.inputs) {
        const label = `${c.name} ${specs.map((i) => `[${i.shape}]`).join(' ')}`;
        await checkOp({ name: label, inputs: specs, gpu: (...xs) => fused(...xs), ref: ref.forward, refGrad: ref.grad });
        if (!c.noEager) await expectEqualToEager(label, c.chain, fused, specs);
      }
    });
  }
});

/** Forward and gradients of the fused function against the same ops run one kernel each. */
async function expectEqualToEager(label: string, chain: Chain, fused: E.FusedFunction, specs: InputSpec[]): Promise<void> {
  await E.scope(async () => {
    const values = makeInputs(specs, new E.Generator(99));
    const run = async (f: (...xs: E.Tensor[]) => E.Tensor) => {
      const xs = values.map((v) => E.tensor(Float32Array.from(v.data), v.shape).requiresGrad_());
      const y = f(...xs);
      E.sum(y.mul(y)).backward(); // a non-trivial upstream gradient: 2y
      return { y: await y.toArray(), grads: await Promise.all(xs.map((x) => x.grad!.toArray())) };
    };
    const a = await run((...xs) => fused(...xs));
    const b = await run(eagerChain(chain));
    expectClose(a.y, b.y, { atol: 1e-6, rtol: 1e-6 }, `${label}: fused vs eager forward`);
    a.grads.forEach((g, k) => expectClose(g, b.grads[k]!, { atol: 1e-5, rtol: 1e-5 }, `${label}: fused vs eager gradient ${k}`));
  });
}

describe('fuse: dispatches and compilation', () => {
  it('records one forward dispatch, and one backward dispatch when no input was broadcast', async () => {
    const rt = E.runtime();
    const f = E.fuse((x, y) => x.mul(y).add(1).tanh().mul(0.5).sub(y.exp()).relu());
    const x = E.randn([4, 33]).requiresGrad_();
    const y = E.randn([4, 33]).requiresGrad_();
    const g = E.ones([4, 33]);
    let before = rt.counters.dispatches;
    const out = f(x, y);
    expect(rt.counters.dispatches - before, 'forward dispatches').toBe(1);
    before = rt.counters.dispatches;
    out.backward(g);
    expect(rt.counters.dispatches - before, 'backward dispatches').toBe(1);
    expect(x.grad).not.toBeNull();
    expect(y.grad).not.toBeNull();
    await E.sync();
  });

  it('adds one sumTo per broadcast input that needs a gradient, and none for one that does not', async () => {
    const rt = E.runtime();
    const f = E.fuse((x, b) => x.add(b).sigmoid());
    const x = E.randn([6, 5]).requiresGrad_();
    const b = E.randn([5]).requiresGrad_();
    const g = E.ones([6, 5]);
    let before = rt.counters.dispatches;
    f(x, b).backward(g);
    expect(rt.counters.dispatches - before).toBe(1 + 1 + 1);
    const c = E.randn([5]); // broadcast, but no gradient wanted
    E.zeroGrad([x, b]); // so x's gradient is not accumulated into an old one (one more dispatch)
    before = rt.counters.dispatches;
    f(x, c).backward(g);
    expect(rt.counters.dispatches - before).toBe(2);
    expect(c.grad).toBeNull();
    await E.sync();
  });

  it('compiles no new pipeline on a second call with the same shapes, nor when a number argument changes', async () => {
    const rt = E.runtime();
    const f = E.fuse((x, lr) => x.mul(lr).add(x.tanh()));
    const x = E.tensor([0.5, -1, 2], [3]).requiresGrad_();
    f(x, 0.1).backward(E.ones([3]));
    E.zeroGrad([x]);
    const compiled = rt.counters.pipelinesCreated;
    const y = f(x, 3);
    y.backward(E.ones([3]));
    expect(rt.counters.pipelinesCreated).toBe(compiled);
    // Values and gradients follow the new number: x * 3 + tanh(x), computed here in float64.
    expectClose(await y.toArray(), [0.5, -1, 2].map((v) => v * 3 + Math.tanh(v)), { atol: 1e-6, rtol: 1e-6 }, 'number argument');
    expectClose(await x.grad!.toArray(), [0.5, -1, 2].map((v) => 3 + (1 - Math.tanh(v) ** 2)), { atol: 1e-5, rtol: 1e-5 }, 'gradient');
  });

  it('a fused function called inside another is inlined into its kernel', async () => {
    const rt = E.runtime();
    const inner = E.fuse((x) => x.tanh().mul(2));
    const outer = E.fuse((x, y) => inner(x).add(y).relu());
    const x = E.tensor([0.5, -2, 1], [3]);
    const y = E.tensor([0.1, 3, -4], [3]);
    const before = rt.counters.dispatches;
    const out = outer(x, y);
    expect(rt.counters.dispatches - before).toBe(1);
    expectClose(await out.toArray(), [0.5, -2, 1].map((v, i) => Math.max(2 * Math.tanh(v) + [0.1, 3, -4][i]!, 0)), { atol: 1e-6, rtol: 1e-6 }, 'nested');
  });

  it('the free functions record into the trace like the methods', async () => {
    const f = E.fuse((x, y) => E.tanh(E.add(E.mul(x, y), 1)));
    const g = E.fuse((x, y) => x.mul(y).add(1).tanh());
    const x = E.randn([17]);
    const y = E.randn([17]);
    expectClose(await f(x, y).toArray(), await g(x, y).toArray(), { atol: 0, rtol: 0 }, 'free vs method');
  });
});

describe('fuse: autograd', () => {
  it('composes with other ops, and only inputs that require grad receive one', async () => {
    const f = E.fuse((x, w) => x.mul(w).sigmoid().mul(x));
    const xv = [0.3, -1.2, 2, 0.7, -0.1, 1.5];
    const wv = [0.5, -2, 1];
    const x = E.tensor(xv, [2, 3]).requiresGrad_();
    const w = E.tensor(wv, [3]); // no gradient
    const h = f(x.mul(2), w); // a fused op fed by an eager op...
    E.sum(h.mul(h)).backward(); // ...and feeding eager ops
    expect(w.grad).toBeNull();
    // d/dx sum(h^2) with u = 2x, h = u * sigmoid(u * w): 2 * 2h * (s + u * w * s(1 - s)), in float64.
    const expected = xv.map((v, i) => {
      const u = 2 * v, ww = wv[i % 3]!, sg = 1 / (1 + Math.exp(-u * ww)), hh = u * sg;
      return 2 * 2 * hh * (sg + u * ww * sg * (1 - sg));
    });
    expectClose(await x.grad!.toArray(), expected, { atol: 1e-5, rtol: 1e-5 }, 'composed gradient');
  });

  it('under noGrad records no backward graph', () => {
    const f = E.fuse((x) => x.exp().add(1));
    const x = E.randn([4]).requiresGrad_();
    const y = E.noGrad(() => f(x));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
  });

  it('passing the same tensor twice accumulates both gradients', async () => {
    const f = E.fuse((a, b) => a.mul(b));
    const x = E.tensor([1, -2, 3], [3]).requiresGrad_();
    f(x, x).backward(E.ones([3]));
    expectClose(await x.grad!.toArray(), [2, -4, 6], { atol: 0, rtol: 0 }, 'd(x*x)/dx');
  });

  it('frees every intermediate it creates', async () => {
    const f = E.fuse((x, b) => x.mul(b).tanh());
    const x = E.randn([8, 3]).requiresGrad_().keep();
    const b = E.randn([3]).requiresGrad_().keep();
    await E.sync();
    const start = E.memory().undisposed;
    for (let i = 0; i < 3; i++) {
      E.scope(() => { E.sum(f(x, b)).backward(); });
      x.grad!.dispose(); x.grad = null; b.grad!.dispose(); b.grad = null;
    }
    expect(E.memory().undisposed).toBe(start);
  });
});

describe('fuse: errors', () => {
  it('rejects ops that are not elementwise, naming them', () => {
    const x = E.randn([2, 2]);
    expect(() => E.fuse((t) => t.sum())(x)).toThrow(/fuse: only elementwise ops can be fused .*'sum' is not elementwise/);
    expect(() => E.fuse((t) => t.reshape([4]))(x)).toThrow(/'reshape' is not elementwise/);
    expect(() => E.fuse((t) => t.matmul(t))(x)).toThrow(/'matmul' is not elementwise/);
    expect(() => E.fuse((t, w) => E.matmul(t, w))(x, x)).toThrow(/fuse: only elementwise ops can be fused .*'matmul' is not elementwise/);
    expect(() => E.fuse((t) => E.softmax(t))(x)).toThrow(/fuse: only elementwise ops can be fused/);
  });

  it('rejects shapes that do not broadcast with the eager error, naming the op and both shapes', () => {
    const f = E.fuse((a, b) => a.exp().mul(b));
    expect(() => f(E.zeros([2, 3]), E.zeros([4, 5]))).toThrow(/mul: shapes \[2, 3\] and \[4, 5\] cannot be broadcast/);
  });

  it('rejects tensors captured from outside fn, int32 arguments and non-tensor results', () => {
    const w = E.randn([3]);
    expect(() => E.fuse((x) => x.mul(w))(E.randn([3]))).toThrow(/not an argument of the fused function/);
    expect(() => E.fuse((x) => x.exp())(E.tensor(new Int32Array([1]), [1]))).toThrow(/expects float32 tensors, got int32/);
    expect(() => E.fuse(() => w)(E.randn([3]))).toThrow(/must return a value computed from its arguments/);
  });

  it('rejects more inputs than one kernel can bind, forward and backward', () => {
    const limit = E.runtime().device.limits.maxStorageBuffersPerShaderStage;
    const sumAll = (...xs: E.Tensor[]) => xs.reduce((acc, t) => acc.add(t));
    // Forward: inputs + output + parameter block must fit.
    const tooMany = Array.from({ length: limit - 1 }, () => E.zeros([2]));
    expect(() => E.fuse(sumAll)(...tooMany)).toThrow(/tensor inputs do not fit in one kernel.*allows \d+ per shader stage/);
    // Backward also binds a gradient per input that needs one.
    const k = Math.floor(limit / 2);
    const withGrad = Array.from({ length: k }, () => E.zeros([2]).requiresGrad_());
    expect(() => E.fuse(sumAll)(...withGrad)).toThrow(/backward kernel for \d+ tensor inputs.*needs \d+ storage buffers/);
    expect(() => E.noGrad(() => E.fuse(sumAll)(...withGrad))).not.toThrow();
  });
});
