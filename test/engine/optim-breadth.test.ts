// RMSprop, optimizer/scheduler state dicts and exact resume, the new learning-rate schedules, gradient clipping
// and the weight EMA, against PyTorch 1.13: test/fixtures/breadth/optim_fixtures.json is written by
// make_optim_fixtures.py beside it (run with /usr/bin/python3).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';
import { expectClose } from '../helpers/gradcheck.js';

useGPU();

interface OptCase { kind: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop'; opts: Record<string, unknown>; steps: number[][]; state: Record<string, number | number[]> }
interface SchedCase { name: string; args: Record<string, unknown>; optimizer: 'SGD' | 'Adam'; metrics: number[] | null; seq: { lr: number; momentum: number }[] }
interface ClipCase { kind: 'norm' | 'value'; maxNorm?: number; normType?: number | 'Infinity'; clipValue?: number; total?: number; a: number[]; b: number[] }
const doc = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/breadth/optim_fixtures.json', import.meta.url)), 'utf8')) as {
  torch: string; P0: number[]; grads: number[][]; optimizers: OptCase[]; schedulers: SchedCase[];
  clip: { ga: number[]; gb: number[]; cases: ClipCase[] }; ema: { decay: number; weights: number[][][]; averages: number[][][] };
};
// float32 results: within 1e-6 relative to the value, or 1e-6 absolute (1e-6 of the parameters' scale, which
// is 1): a parameter that an update nearly cancels (0.2 - 0.188 = 0.0119) keeps the update's rounding error,
// and WGSL's sqrt and division are within 2.5 ULP, not correctly rounded as PyTorch's CPU ones.
const TOL = { rtol: 1e-6, atol: 1e-6 };

function makeOptimizer(kind: OptCase['kind'], params: E.Tensor[], opts: Record<string, unknown>): E.Optimizer<{ lr: number }> {
  switch (kind) {
    case 'SGD': return new E.SGD(params, opts as { lr: number });
    case 'Adam': return new E.Adam(params, opts);
    case 'AdamW': return new E.AdamW(params, opts);
    case 'RMSprop': return new E.RMSprop(params, opts);
  }
}

describe(`optimizers and their state dicts match torch ${doc.torch}`, () => {
  for (const c of doc.optimizers) {
    it(`${c.kind} ${JSON.stringify(c.opts)}: every step and the final state`, async () => {
      const p = E.tensor(doc.P0, [2, 3]).requiresGrad_();
      const opt = makeOptimizer(c.kind, [p], c.opts);
      for (let s = 0; s < doc.grads.length; s++) {
        p.grad = E.tensor(doc.grads[s]!, [2, 3]);
        opt.step();
        opt.zeroGrad();
        expectClose(await p.toArray(), c.steps[s]!, TOL, `${c.kind} step ${s + 1}`);
      }
      const sd = opt.stateDict();
      const st = sd.state[0]!;
      expect(Object.keys(st).sort()).toEqual(Object.keys(c.state).sort());
      for (const [k, v] of Object.entries(c.state)) {
        if (typeof v === 'number') expect(st[k]).toBe(v);
        else expectClose(await (st[k] as E.Tensor).toArray(), v, TOL, `${c.kind} state ${k}`);
      }
      expect(sd.param_groups[0]!.params).toEqual([0]);
      E.disposeOptimizerState(sd);
      opt.dispose();
    });
  }

  it('RMSprop rejects bad hyperparameters naming the class, option and value', () => {
    const p = [E.zeros([1]).requiresGrad_()];
    expect(() => new E.RMSprop(p, { alpha: -1 })).toThrow(/RMSprop: alpha must be a number >= 0, got -1/);
    expect(() => new E.RMSprop(p, { momentum: NaN })).toThrow(/RMSprop: momentum/);
    expect(() => new E.RMSprop(p, { centered: 'yes' as unknown as boolean })).toThrow(/RMSprop: centered must be true or false/);
    expect(() => new E.RMSprop(p, { lr: 0.1, betas: [0.9, 0.9] } as never)).toThrow(/RMSprop: unknown option 'betas'/);
  });
});

function makeScheduler(c: SchedCase, opt: E.Optimizer<{ lr: number }>): E.LRScheduler {
  const a = c.args as { stepSize: number; gamma: number; tMax: number; etaMin: number; startFactor: number; endFactor: number; totalIters: number; maxLr: number; totalSteps: number; opts: Partial<E.OneCycleOptions> };
  switch (c.name) {
    case 'StepLR': return new E.StepLR(opt, a.stepSize, a.gamma);
    case 'CosineAnnealingLR': return new E.CosineAnnealingLR(opt, a.tMax, a.etaMin);
    case 'LinearLR': return new E.LinearLR(opt, a.startFactor, a.endFactor, a.totalIters);
    case 'OneCycleLR': return new E.OneCycleLR(opt, a.maxLr, a.totalSteps, a.opts);
    case 'ReduceLROnPlateau': return new E.ReduceLROnPlateau(opt, c.args);
    default: throw new Error(c.name);
  }
}

describe(`learning-rate schedules match torch ${doc.torch}`, () => {
  for (const c of doc.schedulers) {
    it(`${c.name} ${JSON.stringify(c.args)} on ${c.optimizer}`, () => {
      const p = [E.zeros([1]).requiresGrad_()];
      const opt = c.optimizer === 'SGD' ? new E.SGD(p, { lr: 0.1, momentum: 0.9 }) : new E.Adam(p, { lr: 0.1 });
      const sched = makeScheduler(c, opt);
      const snap = () => {
        const o = opt.groups[0]!.options as { lr: number; momentum?: number; betas?: [number, number] };
        return [o.lr, o.momentum ?? o.betas![0]];
      };
      const got = [snap()];
      for (let i = 0; i < c.seq.length - 1; i++) {
        if (c.metrics) (sched as E.ReduceLROnPlateau).step(c.metrics[i]);
        else sched.step();
        got.push(snap());
      }
      // float64 on both sides: PyTorch's recursive forms agree to rounding.
      expectClose(got.map((g) => g[0]!), c.seq.map((s) => s.lr), { rtol: 1e-9, atol: 1e-15 }, `${c.name} lr`);
      expectClose(got.map((g) => g[1]!), c.seq.map((s) => s.momentum), { rtol: 1e-9, atol: 1e-15 }, `${c.name} momentum`);
      expect(sched.getLastLr()).toEqual([got[got.length - 1]![0]]);
    });
  }

  it('a schedule restored from its stateDict continues identically (ReduceLROnPlateau, CosineAnnealingLR)', () => {
    const losses = [1, 0.9, 0.95, 0.96, 0.97, 0.98, 0.5, 0.6, 0.7, 0.8];
    const mk = () => {
      const opt = new E.SGD([E.zeros([1]).requiresGrad_()], { lr: 0.1 });
      return { opt, plateau: new E.ReduceLROnPlateau(opt, { patience: 1, cooldown: 1 }) };
    };
    const a = mk();
    for (const l of losses) a.plateau.step(l);
    const b = mk();
    for (const l of losses.slice(0, 4)) b.plateau.step(l);
    const saved = JSON.parse(JSON.stringify({ sched: b.plateau.stateDict(), lr: b.opt.groups[0]!.options.lr })) as { sched: E.SchedulerStateDict; lr: number };
    const c = mk();
    c.plateau.loadStateDict(saved.sched);
    c.opt.groups[0]!.options.lr = saved.lr;
    for (const l of losses.slice(4)) c.plateau.step(l);
    expect(c.opt.groups[0]!.options.lr).toBe(a.opt.groups[0]!.options.lr);
    expect(c.plateau.stateDict()).toEqual(a.plateau.stateDict());
    expect(() => c.plateau.loadStateDict(new E.StepLR(c.opt, 2).stateDict())).toThrow(/ReduceLROnPlateau.loadStateDict: the state is of a 'StepLR'/);
  });

  it('validates every argument, naming the class, argument and value', () => {
    const opt = new E.SGD([E.zeros([1]).requiresGrad_()], { lr: 0.1 });
    expect(() => new E.CosineAnnealingLR(opt, 0)).toThrow(/CosineAnnealingLR: tMax must be a positive integer, got 0/);
    expect(() => new E.CosineAnnealingLR(opt, 5, -1)).toThrow(/CosineAnnealingLR: etaMin must be a number >= 0, got -1/);
    expect(() => new E.LinearLR(opt, 0)).toThrow(/LinearLR: startFactor must be a number in \(0, 1\], got 0/);
    expect(() => new E.LinearLR(opt, 0.5, 1.5)).toThrow(/LinearLR: endFactor must be a number in \[0, 1\], got 1.5/);
    expect(() => new E.LinearLR(opt, 0.5, 1, 2.5)).toThrow(/LinearLR: totalIters must be a positive integer, got 2.5/);
    expect(() => new E.OneCycleLR(opt, 0.1, 0)).toThrow(/OneCycleLR: totalSteps must be a positive integer, got 0/);
    expect(() => new E.OneCycleLR(opt, 0.1, 10, { pctStart: 2 })).toThrow(/OneCycleLR: pctStart must be a number in \[0, 1\], got 2/);
    expect(() => new E.OneCycleLR(opt, 0.1, 10, { annealStrategy: 'exp' as 'cos' })).toThrow(/OneCycleLR: annealStrategy must be 'cos' or 'linear', got 'exp'/);
    expect(() => new E.OneCycleLR(opt, [0.1, 0.2], 10)).toThrow(/OneCycleLR: maxLr has 2 values for 1 parameter groups/);
    expect(() => new E.OneCycleLR(opt, 0.1, 10, { pctstart: 0.2 } as never)).toThrow(/OneCycleLR: unknown option 'pctstart'/);
    expect(() => new E.ReduceLROnPlateau(opt, { factor: 1 })).toThrow(/ReduceLROnPlateau: factor must be a number in \[0, 1\), got 1/);
    expect(() => new E.ReduceLROnPlateau(opt, { mode: 'down' as 'min' })).toThrow(/ReduceLROnPlateau: mode must be 'min' or 'max', got 'down'/);
    expect(() => new E.ReduceLROnPlateau(opt, { patience: -1 })).toThrow(/ReduceLROnPlateau: patience must be a non-negative integer, got -1/);
    expect(() => new E.ReduceLROnPlateau(opt).step(E.zeros([1]) as never)).toThrow(/ReduceLROnPlateau.step: metric must be a number/);
    const one = new E.OneCycleLR(opt, 0.1, 2, { cycleMomentum: false });
    one.step();
    one.step();
    expect(() => one.step()).toThrow(/OneCycleLR: step\(\) called 3 times, more than totalSteps \(2\)/);
  });
});

describe(`clipGradNorm_ and clipGradValue_ match torch ${doc.torch}`, () => {
  for (const c of doc.clip.cases) {
    it(c.kind === 'norm' ? `clip_grad_norm_ maxNorm ${c.maxNorm}, normType ${c.normType}` : `clip_grad_value_ ${c.clipValue}`, async () => {
      const a = E.zeros([2, 3]).requiresGrad_();
      const b = E.zeros([4]).requiresGrad_();
      const frozen = E.zeros([2]).requiresGrad_(); // no gradient: skipped
      a.grad = E.tensor(doc.clip.ga, [2, 3]);
      b.grad = E.tensor(doc.clip.gb);
      if (c.kind === 'norm') {
        const total = E.clipGradNorm_([a, b, frozen], c.maxNorm!, c.normType === 'Infinity' ? Infinity : c.normType);
        expectClose([await total.item()], [c.total!], TOL, 'total norm');
        total.dispose();
      } else {
        E.clipGradValue_([a, b, frozen], c.clipValue!);
      }
      expectClose(await a.grad.toArray(), c.a, TOL, 'a.grad');
      expectClose(await b.grad.toArray(), c.b, TOL, 'b.grad');
      expect(frozen.grad).toBeNull();
    });
  }

  it('two parameters whose gradients share one storage (z = a + b) are each scaled once', async () => {
    const a = E.tensor([3, 0]).requiresGrad_();
    const b = E.tensor([0, 4]).requiresGrad_();
    E.sum(E.mul(E.add(a, b), E.tensor([3, 4]))).backward(); // both gradients are [3, 4]
    const total = E.clipGradNorm_([a, b], 1);
    expectClose([await total.item()], [Math.sqrt(50)], TOL, 'total norm');
    const s = 1 / (Math.sqrt(50) + 1e-6);
    expectClose(await a.grad!.toArray(), [3 * s, 4 * s], TOL, 'a.grad');
    expectClose(await b.grad!.toArray(), [3 * s, 4 * s], TOL, 'b.grad');
  });

  it('returns a zero norm without gradients; validates its arguments; value clipping keeps NaN', async () => {
    const p = E.zeros([3]).requiresGrad_();
    expect(await E.clipGradNorm_([p], 1).item()).toBe(0);
    expect(() => E.clipGradNorm_([p], -1)).toThrow(/clipGradNorm_: maxNorm must be a number >= 0, got -1/);
    expect(() => E.clipGradNorm_([p], 1, 0)).toThrow(/clipGradNorm_: normType must be a number > 0 or Infinity/);
    expect(() => E.clipGradNorm_(5 as never, 1)).toThrow(/clipGradNorm_: params must be a tensor or an iterable/);
    expect(() => E.clipGradValue_([p], NaN)).toThrow(/clipGradValue_: clipValue must be a number >= 0, got NaN/);
    p.grad = E.tensor([NaN, -3, 0.25]);
    E.clipGradValue_(p, 1);
    const g = await p.grad.toArray();
    expect(Number.isNaN(g[0])).toBe(true);
    expect([g[1], g[2]]).toEqual([-1, 0.25]);
  });
});

describe(`ExponentialMovingAverage matches AveragedModel with an EMA avg_fn (torch ${doc.torch})`, () => {
  it('update, store/copyTo/restore, stateDict', async () => {
    const model = new E.Linear(3, 2);
    model.loadStateDict({ weight: E.tensor(doc.P0, [2, 3]), bias: E.tensor([0.5, -0.5]) });
    const ema = new E.ExponentialMovingAverage(model, doc.ema.decay);
    for (let i = 0; i < doc.ema.weights.length; i++) {
      model.loadStateDict({ weight: E.tensor(doc.ema.weights[i]![0]!, [2, 3]), bias: E.tensor(doc.ema.weights[i]![1]!) });
      ema.update();
      expectClose(await ema.averages[0]!.toArray(), doc.ema.averages[i]![0]!, TOL, `average weight ${i}`);
      expectClose(await ema.averages[1]!.toArray(), doc.ema.averages[i]![1]!, TOL, `average bias ${i}`);
    }
    const last = doc.ema.weights[doc.ema.weights.length - 1]!;
    ema.store();
    ema.copyTo();
    expectClose(await model.parameters()[0]!.toArray(), doc.ema.averages[3]![0]!, TOL, 'copyTo');
    ema.restore();
    expectClose(await model.parameters()[0]!.toArray(), last[0]!, { atol: 0, rtol: 0 }, 'restore');
    const sd = ema.stateDict();
    const other = new E.ExponentialMovingAverage(new E.Linear(3, 2), 0.9);
    other.loadStateDict(sd);
    expect(other.numUpdates).toBe(4);
    expectClose(await other.averages[1]!.toArray(), doc.ema.averages[3]![1]!, TOL, 'loaded');
    expect(() => ema.restore()).toThrow(/ExponentialMovingAverage.restore: nothing stored/);
    expect(() => new E.ExponentialMovingAverage(model, 1.5)).toThrow(/ExponentialMovingAverage: decay must be a number in \[0, 1\], got 1.5/);
    expect(() => ema.copyTo(new E.Linear(4, 2))).toThrow(/ExponentialMovingAverage.copyTo: the target has 2 parameters of other sizes/);
  });
});

// ---------------------------------------------------------------------------------------------- exact resume

type Kind = 'SGD' | 'Adam' | 'AdamW' | 'RMSprop';
// Built on first use: the GPU is initialized in beforeAll.
let XT: [E.Tensor, E.Tensor] | null = null;
function data(): [E.Tensor, E.Tensor] {
  XT ??= [E.tensor([[0.5, -1, 2, 0.1], [1.5, 0.3, -0.7, 0.2], [-0.4, 0.8, 0.6, -1.1]]).keep(), E.tensor([[1, 0, -1], [0.5, 0.5, 0], [-1, 2, 0.3]]).keep()];
  return XT;
}

function build(kind: Kind, schedule: 'step' | 'cosine') {
  const model = new E.Sequential(new E.Linear(4, 8), new E.ReLU(), new E.Linear(8, 3));
  const opts: Record<Kind, Record<string, unknown>> = {
    SGD: { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 },
    Adam: { lr: 0.01, weightDecay: 1e-3 },
    AdamW: { lr: 0.01 },
    RMSprop: { lr: 0.005, momentum: 0.5, centered: true },
  };
  const params = model.parameters();
  // Two groups: resume must restore each group's lr and hyperparameters.
  const groups = [{ params: params.slice(0, 2) }, { params: params.slice(2), lr: (opts[kind].lr as number) / 2 }];
  const opt = makeOptimizer(kind, groups as never, opts[kind]);
  const sched = schedule === 'step' ? new E.StepLR(opt, 2, 0.5) : new E.CosineAnnealingLR(opt, 4, 1e-4);
  return { model, opt, sched };
}

function trainSteps(r: ReturnType<typeof build>, n: number): void {
  const [X, T] = data();
  for (let i = 0; i < n; i++) {
    E.scope(() => {
      const d = E.sub(r.model.forward(X), T);
      E.mean(E.mul(d, d)).backward();
    });
    E.clipGradNorm_(r.model.parameters(), 1).dispose();
    r.opt.step();
    r.opt.zeroGrad();
    r.sched.step();
  }
}

describe('exact resume: k steps, checkpoint, rebuild, load, N - k steps equals N steps straight', () => {
  const N = 7;
  const k = 3;
  for (const kind of ['SGD', 'Adam', 'AdamW', 'RMSprop'] as Kind[]) {
    for (const schedule of ['step', 'cosine'] as const) {
      it(`${kind} with ${schedule === 'step' ? 'StepLR' : 'CosineAnnealingLR'}`, async () => {
        const a = build(kind, schedule);
        const init = await E.saveStateDict(a.model);
        trainSteps(a, N);

        const b = build(kind, schedule);
        E.loadStateDictBytes(b.model, init);
        trainSteps(b, k);
        const modelBytes = await E.saveStateDict(b.model);
        const optBytes = await E.saveOptimizerState(b.opt, { scheduler: b.sched });
        b.opt.dispose();
        b.model.dispose();

        const c = build(kind, schedule);
        E.loadStateDictBytes(c.model, modelBytes);
        E.loadOptimizerState(c.opt, optBytes, { scheduler: c.sched });
        expect(c.sched.lastEpoch).toBe(k);
        trainSteps(c, N - k);

        const pa = a.model.parameters();
        const pc = c.model.parameters();
        for (let i = 0; i < pa.length; i++) expect(await pc[i]!.toArray()).toEqual(await pa[i]!.toArray());
        expect(c.sched.getLastLr()).toEqual(a.sched.getLastLr());
        // Not vacuous: the resumed part changed the weights.
        const fresh = build(kind, schedule);
        E.loadStateDictBytes(fresh.model, modelBytes);
        expect(await fresh.model.parameters()[0]!.toArray()).not.toEqual(await pc[0]!.toArray());
        for (const r of [a, c, fresh]) (r.opt.dispose(), r.model.dispose());
      });
    }
  }

  it('in memory: stateDict/loadStateDict of an optimizer, and the checkpoint errors', async () => {
    const a = build('Adam', 'step');
    trainSteps(a, 2);
    const sd = a.opt.stateDict();
    expect(Object.keys(sd.state)).toEqual(['0', '1', '2', '3']);
    expect(sd.state[0]!.step).toBe(2);
    expect(sd.param_groups.map((g) => g.params)).toEqual([[0, 1], [2, 3]]);
    const b = build('Adam', 'step');
    b.opt.loadStateDict(sd);
    const sd2 = b.opt.stateDict();
    expect(await (sd2.state[3]!.exp_avg_sq as E.Tensor).toArray()).toEqual(await (sd.state[3]!.exp_avg_sq as E.Tensor).toArray());
    expect(sd2.param_groups).toEqual(sd.param_groups);
    const sgd = build('SGD', 'step');
    expect(() => sgd.opt.loadStateDict(sd)).toThrow(/SGD.loadStateDict: group 0 has option 'betas', which SGD does not have/);
    const one = new E.Adam([E.zeros([1]).requiresGrad_()]);
    expect(() => one.loadStateDict(sd)).toThrow(/Adam.loadStateDict: the state has 2 parameter groups, this optimizer 1/);
    const bytes = await E.saveOptimizerState(a.opt);
    expect(() => E.loadOptimizerState(sgd.opt, bytes, {}, 'ckpt.safetensors')).toThrow(/ckpt.safetensors: the checkpoint holds a Adam state; it cannot be loaded into SGD/);
    expect(() => E.loadOptimizerState(b.opt, bytes, { scheduler: b.sched }, 'ckpt.safetensors')).toThrow(/ckpt.safetensors: no 'engram.scheduler' entry/);
    E.disposeOptimizerState(sd);
    E.disposeOptimizerState(sd2);
  });

  it('an EMA and a OneCycleLR travel in the optimizer checkpoint', async () => {
    const mk = () => {
      const model = new E.Linear(3, 2);
      const opt = new E.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      return { model, opt, sched: new E.OneCycleLR(opt, 0.5, 10), ema: new E.ExponentialMovingAverage(model, 0.9) };
    };
    const a = mk();
    for (let i = 0; i < 3; i++) {
      for (const p of a.model.parameters()) p.grad = E.onesLike(p);
      a.opt.step();
      a.sched.step();
      a.ema.update();
    }
    const bytes = await E.saveOptimizerState(a.opt, { scheduler: a.sched, ema: a.ema }, { epoch: '3' });
    const b = mk();
    E.loadOptimizerState(b.opt, bytes, { scheduler: b.sched, ema: b.ema });
    expect(b.sched.lastEpoch).toBe(3);
    expect(b.opt.groups[0]!.options).toEqual(a.opt.groups[0]!.options); // lr and the cycled momentum
    expect(b.ema.numUpdates).toBe(3);
    expect(await b.ema.averages[0]!.toArray()).toEqual(await a.ema.averages[0]!.toArray());
    expect(E.parseSafetensors(bytes).metadata.epoch).toBe('3');
    const plain = await E.saveOptimizerState(a.opt);
    expect(() => E.loadOptimizerState(b.opt, plain, { ema: b.ema }, 'plain')).toThrow(/plain: no 'engram.ema' entry in the metadata/);
  });
});
