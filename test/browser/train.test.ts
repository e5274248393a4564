// Runs inside headless Chromium on the page's navigator.gpu: optimizer steps against float64
// references written from PyTorch's documented update rules, and a tiny MLP whose loss must fall.
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { expectClose } from '../helpers/gradcheck.js';
import { useBrowserGPU } from './helpers.js';

useBrowserGPU();

const P0 = [0.5, -1.25, 2, 0.1, -0.7];
const GRADS = [
  [0.1, -0.2, 0.3, -0.4, 0.5],
  [-0.3, 0.1, 0.2, 0.05, -0.6],
  [0.2, 0.2, -0.1, 0.3, 0.0],
];

// torch.optim.SGD with momentum and weight decay (dampening 0, no Nesterov), in float64.
function sgdRef(lr: number, momentum: number, weightDecay: number): number[] {
  let p = [...P0];
  let buf: number[] | null = null;
  for (const g of GRADS) {
    const d = g.map((gi, i) => gi + weightDecay * p[i]!);
    buf = buf === null ? d : buf.map((b, i) => momentum * b + d[i]!);
    p = p.map((pi, i) => pi - lr * buf![i]!);
  }
  return p;
}

// torch.optim.Adam (coupled L2 weight decay), in float64.
function adamRef(lr: number, b1: number, b2: number, eps: number, weightDecay: number): number[] {
  let p = [...P0];
  let m = p.map(() => 0);
  let v = p.map(() => 0);
  GRADS.forEach((g0, t0) => {
    const t = t0 + 1;
    const g = g0.map((gi, i) => gi + weightDecay * p[i]!);
    m = m.map((mi, i) => b1 * mi + (1 - b1) * g[i]!);
    v = v.map((vi, i) => b2 * vi + (1 - b2) * g[i]! ** 2);
    p = p.map((pi, i) => pi - (lr * (m[i]! / (1 - b1 ** t))) / (Math.sqrt(v[i]! / (1 - b2 ** t)) + eps));
  });
  return p;
}

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

describe('optimizers step like torch.optim', () => {
  it('SGD with momentum and weight decay', async () => {
    const got = await run((p) => new E.SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 }));
    expectClose(got, sgdRef(0.1, 0.9, 0.01), { atol: 1e-6, rtol: 1e-5 }, 'SGD');
  });

  it('Adam with weight decay', async () => {
    const got = await run((p) => new E.Adam([p], { lr: 0.05, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 }));
    expectClose(got, adamRef(0.05, 0.9, 0.999, 1e-8, 0.01), { atol: 1e-6, rtol: 1e-5 }, 'Adam');
  });
});

describe('a tiny MLP trains in the browser', () => {
  it('cross-entropy loss falls on a 3-class toy problem (Linear-ReLU-Linear, Adam)', async () => {
    // 48 points in 4-D, labelled by which of three fixed directions they point along most.
    const gen = new E.Generator(11);
    const N = 48;
    const xs = gen.uniformArray(N * 4, -1, 1);
    const dirs = [[1, 0.5, 0, -0.5], [-0.5, 1, 0.5, 0], [0, -0.5, -1, 1]];
    const ys = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      const s = dirs.map((d) => d.reduce((acc, di, j) => acc + di * xs[i * 4 + j]!, 0));
      ys[i] = s.indexOf(Math.max(...s));
    }
    const x = E.tensor(xs, [N, 4]);
    const y = E.tensor(ys, [N], { dtype: 'int32' });
    const model = new E.Sequential(new E.Linear(4, 16, { generator: new E.Generator(1) }), new E.ReLU(), new E.Linear(16, 3, { generator: new E.Generator(2) }));
    const opt = new E.Adam(model.parameters(), { lr: 0.05 });

    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      const loss = await E.scope(async () => {
        opt.zeroGrad();
        const l = E.crossEntropy(model.forward(x), y);
        l.backward();
        opt.step();
        return (await l.toArray())[0]!;
      });
      losses.push(loss);
    }
    const correct = await E.scope(async () => {
      const pred = Array.from(await E.argmax(model.forward(x), 1).toArray());
      return pred.filter((p, i) => p === ys[i]).length;
    });
    console.log(`MLP loss ${losses[0]!.toFixed(4)} -> ${losses[losses.length - 1]!.toFixed(4)} over ${losses.length} steps; train accuracy ${correct}/${N}`);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(0.5 * losses[0]!);
    expect(correct).toBeGreaterThanOrEqual(0.8 * N);
  });
});

describe('captured steps in the browser', () => {
  it('E.compile replays an MLP step (dropout, multi-tensor SGD) bit for bit like eager steps', async () => {
    const run = async (compiled: boolean): Promise<number[][]> => {
      E.manualSeed(4);
      const model = new E.Sequential(new E.Linear(6, 12), new E.ReLU(), new E.Dropout(0.2), new E.Linear(12, 3));
      const opt = new E.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      const gen = new E.Generator(8);
      const x = E.randn([8, 6], { generator: gen }).keep();
      const y = E.randint(0, 3, [8], { generator: gen }).keep();
      const step = (x: E.Tensor, y: E.Tensor) => {
        const loss = E.crossEntropy(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss;
      };
      const fn = compiled ? E.compile(step) : (x: E.Tensor, y: E.Tensor) => E.scope(() => step(x, y)).keep();
      const out: number[][] = [];
      for (let i = 0; i < 5; i++) {
        const loss = fn(x, y);
        out.push([...new Uint32Array((await loss.toArray()).buffer)]);
        loss.dispose();
      }
      for (const p of model.parameters()) out.push([...new Uint32Array((await p.toArray()).buffer)]);
      if (compiled) expect((fn as E.CompiledStep<[E.Tensor, E.Tensor], E.Tensor>).stats).toEqual({ traced: 3, replayed: 2 });
      if ('dispose' in fn) (fn as E.CompiledStep<[E.Tensor, E.Tensor], E.Tensor>).dispose();
      opt.dispose(); model.dispose(); x.dispose(); y.dispose();
      return out;
    };
    expect(await run(true)).toEqual(await run(false));
  });
});
