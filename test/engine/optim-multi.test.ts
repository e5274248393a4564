// Multi-tensor optimizer steps (Optimizer.foreach): the same values as one kernel per tensor, bit for
// bit, in fewer dispatches. Odd sizes, more tensors than one dispatch takes (so full batches, a
// remainder and a batch of one run), a parameter without a gradient in one step (its own step count
// for Adam's bias correction), several steps. RMSprop's multi-tensor path is also checked against a
// float64 reference with every option on.

import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';
import { tensorsPerDispatch } from '../../src/optim/multi-tensor.js';
import { expectClose } from '../helpers/gradcheck.js';

useGPU();

const SIZES = [1, 7, 300, 257, 1000, 3, 256, 65, 2];

type Make = (ps: E.Tensor[]) => E.Optimizer<{ lr: number }>;

/** Final parameters (and state) as bits, and dispatches per step, after 3 steps with `foreach`. */
async function run(make: Make, foreach: boolean): Promise<{ bits: number[][]; dispatches: number[] }> {
  const gen = new E.Generator(7);
  const ps = SIZES.map((n) => E.randn([n], { generator: gen }).keep().requiresGrad_());
  const opt = make(ps);
  opt.foreach = foreach;
  const dispatches: number[] = [];
  for (let step = 0; step < 3; step++) {
    ps.forEach((p, i) => {
      p.grad?.dispose();
      // Parameter 4 has no gradient in the second step: it is skipped, and its step count falls behind.
      p.grad = step === 1 && i === 4 ? null : E.randn(p.shape, { generator: gen }).keep();
    });
    // A learning rate changed between steps (as a scheduler does) reaches both paths.
    for (const g of opt.groups) g.options.lr *= 0.5;
    const c0 = E.runtime().counters.dispatches;
    opt.step();
    dispatches.push(E.runtime().counters.dispatches - c0);
  }
  const bits: number[][] = [];
  for (const p of ps) bits.push([...new Uint32Array((await p.toArray()).buffer)]);
  const sd = opt.stateDict();
  for (const s of Object.values(sd.state)) {
    for (const v of Object.values(s)) if (v instanceof E.Tensor) bits.push([...new Uint32Array((await v.toArray()).buffer)]);
  }
  E.disposeOptimizerState(sd);
  opt.dispose();
  for (const p of ps) (p.grad?.dispose(), p.dispose());
  return { bits, dispatches };
}

const CASES: [string, Make, number][] = [
  ['SGD momentum + weight decay + dampening', (ps) => new E.SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }), 3],
  ['SGD Nesterov', (ps) => new E.SGD(ps, { lr: 0.1, momentum: 0.8, nesterov: true }), 3],
  ['SGD plain, two groups', (ps) => new E.SGD([{ params: ps.slice(0, 4) }, { params: ps.slice(4), lr: 0.3 }], { lr: 0.1 }), 3],
  ['Adam', (ps) => new E.Adam(ps, { lr: 0.01, weightDecay: 0.1 }), 4],
  ['AdamW', (ps) => new E.AdamW(ps, { lr: 0.01, betas: [0.8, 0.99] }), 4],
  ['RMSprop plain', (ps) => new E.RMSprop(ps, { lr: 0.01 }), 5],
  ['RMSprop centered + momentum + weight decay', (ps) => new E.RMSprop(ps, { lr: 0.01, alpha: 0.9, eps: 1e-6, momentum: 0.7, centered: true, weightDecay: 0.05 }), 5],
  ['RMSprop momentum, two groups', (ps) => new E.RMSprop([{ params: ps.slice(0, 4) }, { params: ps.slice(4), lr: 0.03, centered: true }], { lr: 0.01, momentum: 0.5 }), 5],
];

describe('multi-tensor optimizer steps (foreach)', () => {
  for (const [name, make, perTensor] of CASES) {
    it(`${name}: bit-identical to one kernel per tensor, in fewer dispatches`, async () => {
      const single = await run(make, false);
      const multi = await run(make, true);
      expect(multi.bits.length).toBe(single.bits.length);
      multi.bits.forEach((b, i) => expect(b, `tensor ${i}`).toEqual(single.bits[i]));
      // The first step also fills the new state with zeros (the same in both paths): count the next two.
      expect(single.dispatches.slice(1)).toEqual([8, 9]);
      const k = tensorsPerDispatch(perTensor);
      // Batches of k within each group; the second step has one parameter fewer.
      const groups = name.includes('two groups') ? [[4, 4], [4, 5]] : [[8], [9]];
      expect(multi.dispatches.slice(1)).toEqual(groups.map((g) => g.reduce((a, n) => a + Math.ceil(n / Math.max(k, 1)), 0)));
      expect(multi.dispatches[0]! - single.dispatches[0]!).toBe(multi.dispatches[2]! - 9);
      if (k >= 2) expect(multi.dispatches[2]).toBeLessThan(9);
    });
  }

  it('RMSprop foreach matches a float64 reference over 3 steps, every option on', async () => {
    const o = { lr: 0.02, alpha: 0.85, eps: 1e-4, weightDecay: 0.1, momentum: 0.6, centered: true };
    const gen = new E.Generator(3);
    const sizes = [5, 300, 1, 257];
    const init = sizes.map((n) => gen.normalArray(n, 0, 1));
    const grads = [0, 1, 2].map(() => sizes.map((n) => gen.normalArray(n, 0, 1)));
    const ps = init.map((v, i) => E.tensor(Float32Array.from(v), [sizes[i]!]).keep().requiresGrad_());
    const opt = new E.RMSprop(ps, o);
    const dispatches: number[] = [];
    for (const [step, gs] of grads.entries()) {
      ps.forEach((p, i) => (p.grad?.dispose(), (p.grad = E.tensor(Float32Array.from(gs[i]!), [sizes[i]!]).keep())));
      const c0 = E.runtime().counters.dispatches;
      opt.step();
      if (step > 0) dispatches.push(E.runtime().counters.dispatches - c0);
    }
    // One dispatch for the 4 tensors where the device binds 4 x 5 buffers + the parameter block.
    const k = tensorsPerDispatch(5);
    expect(dispatches).toEqual([Math.ceil(4 / Math.max(k, 1)), Math.ceil(4 / Math.max(k, 1))]);
    for (const [i, p] of ps.entries()) {
      // torch.optim.RMSprop in float64.
      const w = Float64Array.from(init[i]!);
      const sq = new Float64Array(w.length);
      const ga = new Float64Array(w.length);
      const buf = new Float64Array(w.length);
      for (const gs of grads) {
        for (let e = 0; e < w.length; e++) {
          const g = gs[i]![e]! + o.weightDecay * w[e]!;
          sq[e] = o.alpha * sq[e]! + (1 - o.alpha) * g * g;
          ga[e] = o.alpha * ga[e]! + (1 - o.alpha) * g;
          const avg = Math.sqrt(sq[e]! - ga[e]! * ga[e]!) + o.eps;
          buf[e] = o.momentum * buf[e]! + g / avg;
          w[e] = w[e]! - o.lr * buf[e]!;
        }
      }
      expectClose(await p.toArray(), w, { atol: 1e-5, rtol: 1e-5 }, `parameter ${i} (${sizes[i]} elements)`);
    }
    opt.dispose();
    for (const p of ps) (p.grad?.dispose(), p.dispose());
  });

  it('reports the tensors per dispatch this device allows', () => {
    const limit = E.runtime().device.limits.maxStorageBuffersPerShaderStage;
    expect(tensorsPerDispatch(3)).toBe(Math.min(8, Math.floor((limit - 1) / 3)));
    console.log(`maxStorageBuffersPerShaderStage ${limit}: SGD ${tensorsPerDispatch(3)}, Adam ${tensorsPerDispatch(4)} tensors per dispatch`);
  });
});
