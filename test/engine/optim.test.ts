import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';
import { expectClose } from '../helpers/gradcheck.js';

useGPU();

// Reference updates written from the PyTorch documentation's pseudo-code, in float64.
function sgdRef(p: number[], grads: number[][], o: { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }): number[] {
  const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = o;
  let buf: number[] | null = null;
  p = [...p];
  for (const g of grads) {
    const d = g.map((gi, i) => gi + weightDecay * p[i]!);
    let step = d;
    if (momentum !== 0) {
      buf = buf === null ? [...d] : buf.map((b, i) => momentum * b + (1 - dampening) * d[i]!);
      step = nesterov ? d.map((di, i) => di + momentum * buf![i]!) : buf;
    }
    p = p.map((pi, i) => pi - lr * step[i]!);
  }
  return p;
}

function adamRef(p: number[], grads: number[][], o: { lr: number; betas?: [number, number]; eps?: number; weightDecay?: number; decoupled?: boolean }): number[] {
  const { lr, betas: [b1, b2] = [0.9, 0.999], eps = 1e-8, weightDecay = 0, decoupled = false } = o;
  p = [...p];
  let m = p.map(() => 0);
  let v = p.map(() => 0);
  grads.forEach((g0, t0) => {
    const t = t0 + 1;
    let g = g0;
    if (decoupled) p = p.map((pi) => pi * (1 - lr * weightDecay));
    else g = g.map((gi, i) => gi + weightDecay * p[i]!);
    m = m.map((mi, i) => b1 * mi + (1 - b1) * g[i]!);
    v = v.map((vi, i) => b2 * vi + (1 - b2) * g[i]! ** 2);
    p = p.map((pi, i) => pi - (lr * (m[i]! / (1 - b1 ** t))) / (Math.sqrt(v[i]! / (1 - b2 ** t)) + eps));
  });
  return p;
}

const P0 = [0.5, -1.25, 2, 0.1, -0.7];
const GRADS = [
  [0.1, -0.2, 0.3, -0.4, 0.5],
  [-0.3, 0.1, 0.2, 0.05, -0.6],
  [0.2, 0.2, -0.1, 0.3, 0.0],
];

async function run(make: (p: E.Tensor) => E.Optimizer<{ lr: number }>): Promise<number[]> {
  const p = E.tensor(P0).requiresGrad_();
  const opt = make(p);
  for (const g of GRADS) {
    p.grad = E.tensor(g);
    opt.step();
    opt.zeroGrad();
  }
  return [...(await p.toArray())];
}

describe('SGD matches torch.optim.SGD step by step', () => {
  const configs = [
    { lr: 0.1 },
    { lr: 0.1, momentum: 0.9 },
    { lr: 0.05, momentum: 0.9, dampening: 0.5 },
    { lr: 0.1, momentum: 0.8, nesterov: true },
    { lr: 0.1, momentum: 0.9, weightDecay: 0.01 },
  ];
  for (const c of configs) {
    it(JSON.stringify(c), async () => {
      expectClose(await run((p) => new E.SGD([p], c)), sgdRef(P0, GRADS, c), { atol: 1e-6, rtol: 1e-5 }, 'SGD');
    });
  }

  it('plain SGD by hand: p - lr * g', async () => {
    const p = E.tensor([1, 2]).requiresGrad_();
    p.grad = E.tensor([0.5, -1]);
    new E.SGD([p], { lr: 0.1 }).step();
    expectClose(await p.toArray(), [0.95, 2.1], { atol: 1e-7 }, 'hand SGD');
  });

  it('rejects Nesterov without momentum', () => {
    expect(() => new E.SGD([E.zeros([1]).requiresGrad_()], { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
  });
});

describe('Adam and AdamW match torch.optim', () => {
  const configs = [{ lr: 0.01 }, { lr: 0.1, betas: [0.8, 0.99] as [number, number] }, { lr: 0.01, weightDecay: 0.1 }];
  for (const c of configs) {
    it(`Adam ${JSON.stringify(c)}`, async () => {
      expectClose(await run((p) => new E.Adam([p], c)), adamRef(P0, GRADS, c), { atol: 1e-6, rtol: 1e-5 }, 'Adam');
    });
    it(`AdamW ${JSON.stringify(c)}`, async () => {
      const wd = c.weightDecay ?? 0.01;
      expectClose(await run((p) => new E.AdamW([p], c)), adamRef(P0, GRADS, { ...c, weightDecay: wd, decoupled: true }), { atol: 1e-6, rtol: 1e-5 }, 'AdamW');
    });
  }
});

describe('parameter groups, frozen parameters, StepLR', () => {
  it('each group uses its own learning rate; parameters without gradients are skipped', async () => {
    const a = E.tensor([1]).requiresGrad_();
    const b = E.tensor([1]).requiresGrad_();
    const frozen = E.tensor([1]).requiresGrad_(false);
    const opt = new E.SGD([{ params: [a] }, { params: [b, frozen], lr: 0.5 }], { lr: 0.1 });
    a.grad = E.tensor([1]);
    b.grad = E.tensor([1]);
    frozen.grad = E.tensor([1]);
    opt.step();
    expectClose(await a.toArray(), [0.9], { atol: 1e-7 }, 'group 0');
    expectClose(await b.toArray(), [0.5], { atol: 1e-7 }, 'group 1');
    expectClose(await frozen.toArray(), [1], { atol: 0 }, 'frozen');
  });

  it('StepLR multiplies lr by gamma every stepSize epochs', () => {
    const opt = new E.SGD([E.zeros([1]).requiresGrad_()], { lr: 1 });
    const sched = new E.StepLR(opt, 2, 0.5);
    const lrs: number[] = [];
    for (let i = 0; i < 5; i++) {
      sched.step();
      lrs.push(sched.getLastLr()[0]!);
    }
    expect(lrs).toEqual([1, 0.5, 0.5, 0.25, 0.25]);
  });
});
