// Captured steps (E.compile): replayed training steps give bit for bit the values of eager steps
// (losses, parameters, BN running statistics and counters, optimizer state, dropout masks through
// the losses and gradients), re-trace on new input shapes and on changed conditions, and refuse
// what a replay cannot repeat, naming the cause.

import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

const bits = async (t: E.Tensor): Promise<number[]> => [...new Uint32Array((await t.toArray()).buffer)];

/** conv + BN + ReLU + pool, dropout, linear: BN statistics, dropout streams and two optimizers' state. */
function buildModel(): E.Sequential {
  E.manualSeed(3);
  return new E.Sequential(
    new E.Conv2d(3, 8, 3, { padding: 1 }), new E.BatchNorm2d(8), new E.ReLU(), new E.MaxPool2d(2),
    new E.Flatten(), new E.Dropout(0.3), new E.Linear(8 * 4 * 4, 5),
  );
}

type MakeOpt = (m: E.Module) => E.Optimizer<{ lr: number }>;

/** Run `steps` steps on the batches; `compiled` uses E.compile. Returns the losses and the final state, as bits. */
async function train(makeOpt: MakeOpt, batches: [E.Tensor, E.Tensor][], compiled: boolean, lrAt = (i: number) => 0.05 / (1 + i)): Promise<{ losses: number[][]; state: number[][]; traced: number; replayed: number; stepCount: number }> {
  const model = buildModel();
  model.train();
  const opt = makeOpt(model);
  const ema = new E.ExponentialMovingAverage(model, 0.9);
  E.manualSeed(11); // dropout's stream
  const step = (x: E.Tensor, y: E.Tensor): E.Tensor => {
    const loss = E.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    ema.update();
    return loss;
  };
  const fn = compiled ? E.compile(step) : (x: E.Tensor, y: E.Tensor) => E.scope(() => step(x, y)).keep();
  const losses: number[][] = [];
  for (const [i, [x, y]] of batches.entries()) {
    // A learning-rate schedule outside the step reaches the replayed optimizer words.
    for (const g of opt.groups) g.options.lr = lrAt(i);
    const loss = fn(x, y);
    losses.push(await bits(loss));
    loss.dispose();
  }
  const state: number[][] = [];
  for (const [, t] of model.namedParameters()) state.push(await bits(t));
  for (const [, t] of model.namedBuffers()) state.push(await bits(t));
  for (const p of model.parameters()) state.push(await bits(p.grad!));
  const sd = opt.stateDict();
  for (const s of Object.values(sd.state)) for (const v of Object.values(s)) state.push(v instanceof E.Tensor ? await bits(v) : [v]);
  E.disposeOptimizerState(sd);
  state.push([E.dropoutRngState().counter]);
  const esd = ema.stateDict();
  for (const a of esd.averages) state.push(await bits(a));
  state.push([esd.numUpdates]);
  for (const a of esd.averages) a.dispose();
  ema.dispose();
  const stats = 'stats' in fn ? (fn as E.CompiledStep<[E.Tensor, E.Tensor], E.Tensor>).stats : { traced: 0, replayed: 0 };
  if ('dispose' in fn) (fn as E.CompiledStep<[E.Tensor, E.Tensor], E.Tensor>).dispose();
  const stepCount = opt.stepCount;
  opt.zeroGrad();
  opt.dispose();
  model.dispose();
  return { losses, state, ...stats, stepCount };
}

function batches(n: number, batch: number, gen = new E.Generator(5)): [E.Tensor, E.Tensor][] {
  return Array.from({ length: n }, () => [E.randn([batch, 3, 8, 8], { generator: gen }).keep(), E.randint(0, 5, [batch], { generator: gen }).keep()]);
}

const OPTIMIZERS: [string, MakeOpt][] = [
  ['SGD momentum', (m) => new E.SGD(m.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 })],
  ['AdamW', (m) => new E.AdamW(m.parameters(), { lr: 0.05 })],
];

describe('compile: captured training steps', () => {
  for (const [name, makeOpt] of OPTIMIZERS) {
    it(`${name}: 6 steps replayed bit for bit like eager ones (losses, weights, BN statistics, gradients, optimizer state, dropout counter, EMA)`, async () => {
      const data = batches(6, 4);
      const eager = await train(makeOpt, data, false);
      const captured = await train(makeOpt, data, true);
      // Calls 1-2 trace (the first also creates the optimizer's state), call 3 matches call 2 and is captured.
      expect({ traced: captured.traced, replayed: captured.replayed }).toEqual({ traced: 3, replayed: 3 });
      expect(captured.losses).toEqual(eager.losses);
      expect(captured.state.length).toBe(eager.state.length);
      captured.state.forEach((s, i) => expect(s, `state tensor ${i}`).toEqual(eager.state[i]));
      expect(captured.stepCount).toBe(6);
      for (const [x, y] of data) (x.dispose(), y.dispose());
    });
  }

  it('a replay records the eager step\'s dispatches in one submit, creating no pipeline, bind group or tensor', async () => {
    const model = buildModel();
    const opt = new E.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const [x, y] = batches(1, 2)[0]!;
    const step = (x: E.Tensor, y: E.Tensor) => {
      const loss = E.crossEntropy(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    };
    const fn = E.compile(step);
    for (let i = 0; i < 3; i++) fn(x, y);
    await E.sync();
    const rt = E.runtime();
    const c0 = { ...rt.counters };
    const m0 = E.memory();
    fn(x, y);
    await E.sync();
    expect(fn.stats).toEqual({ traced: 3, replayed: 1 });
    const c1 = { ...rt.counters };
    expect(E.memory().tensors).toBe(m0.tensors);
    expect({ pipelines: c1.pipelinesCreated - c0.pipelinesCreated, bindGroups: c1.bindGroupsCreated - c0.bindGroupsCreated, submits: c1.submits - c0.submits, readbacks: c1.readbacks - c0.readbacks })
      .toEqual({ pipelines: 0, bindGroups: 0, submits: 1, readbacks: 0 });
    // The same dispatches as the eager step (counted on a second, eager model step).
    const eager = E.scope(() => {
      const before = rt.counters.dispatches;
      step(x, y);
      return rt.counters.dispatches - before;
    });
    expect(c1.dispatches - c0.dispatches).toBe(eager);
    fn.dispose(); opt.dispose(); model.dispose(); x.dispose(); y.dispose();
  });

  it('an optimizer without replayable words (RMSprop) traces again when its learning rate changes, bit for bit like eager', async () => {
    const data = batches(7, 4);
    const make: MakeOpt = (m) => new E.RMSprop(m.parameters(), { lr: 0.01, momentum: 0.5 });
    const lrAt = (i: number) => (i < 5 ? 0.01 : 0.002);
    const eager = await train(make, data, false, lrAt);
    const captured = await train(make, data, true, lrAt);
    // trace, trace (state made in the first), trace = capture, replay, replay; lr changed: trace, trace = capture.
    expect({ traced: captured.traced, replayed: captured.replayed }).toEqual({ traced: 5, replayed: 2 });
    expect(captured.losses).toEqual(eager.losses);
    captured.state.forEach((s, i) => expect(s, `state tensor ${i}`).toEqual(eager.state[i]));
    for (const [x, y] of data) (x.dispose(), y.dispose());
  });

  it('traces again for new input shapes, and keeps replaying each shape bit for bit', async () => {
    const a = batches(4, 4);
    const b = batches(4, 2, new E.Generator(9));
    const data = [a[0]!, a[1]!, a[2]!, a[3]!, b[0]!, b[1]!, b[2]!, b[3]!, a[0]!, a[1]!, a[2]!];
    const make = OPTIMIZERS[0]![1];
    const eager = await train(make, data, false);
    const captured = await train(make, data, true);
    // a: trace, trace (the first made the optimizer's state), trace = capture, replay. b: trace, trace =
    // capture, replay, replay. a again: its capture is stale (the b steps' zeroGrad released the gradients
    // it left in p.grad), so trace, trace = capture, replay.
    expect({ traced: captured.traced, replayed: captured.replayed }).toEqual({ traced: 7, replayed: 4 });
    expect(captured.losses).toEqual(eager.losses);
    captured.state.forEach((s, i) => expect(s, `state tensor ${i}`).toEqual(eager.state[i]));
    for (const [x, y] of [...a, ...b]) (x.dispose(), y.dispose());
  });

  it('traces again when gradients were dropped outside the step, or a parameter was frozen', async () => {
    const model = buildModel();
    const opt = new E.SGD(model.parameters(), { lr: 0.01 });
    const [x, y] = batches(1, 2)[0]!;
    const fn = E.compile((x: E.Tensor, y: E.Tensor) => {
      const loss = E.crossEntropy(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
    // Trace (the optimizer's state is made), trace, trace = capture, replay.
    for (let i = 0; i < 4; i++) fn(x, y);
    expect(fn.stats).toEqual({ traced: 3, replayed: 1 });
    opt.zeroGrad(); // releases the gradients the capture writes: p.grad would not show the replay's
    fn(x, y);
    expect(fn.stats).toEqual({ traced: 4, replayed: 1 });
    fn(x, y);
    fn(x, y);
    expect(fn.stats).toEqual({ traced: 5, replayed: 2 });
    model.parameters()[0]!.requiresGrad_(false);
    fn(x, y);
    expect(fn.stats).toEqual({ traced: 6, replayed: 2 });
    fn.dispose(); opt.dispose(); model.dispose(); x.dispose(); y.dispose();
  });

  it('a replayed step still reports an out-of-range class index at the next readback', async () => {
    const w = E.randn([3, 5]).keep().requiresGrad_();
    const opt = new E.SGD([w], { lr: 0.1 });
    const fn = E.compile((x: E.Tensor, y: E.Tensor) => {
      const loss = E.crossEntropy(E.matmul(x, w), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    });
    const x = E.randn([2, 3]).keep();
    const good = E.tensor(new Int32Array([1, 4]), [2]).keep();
    for (let i = 0; i < 4; i++) fn(x, good).dispose();
    expect(fn.stats.replayed).toBe(1);
    await E.sync(); // reads (and disarms) the index check the eager calls armed
    const bad = E.tensor(new Int32Array([1, 7]), [2]).keep();
    const loss = fn(x, bad);
    expect(fn.stats.replayed).toBe(2);
    await expect(loss.toArray()).rejects.toThrow(/7 is outside the valid range \[0, 5\)/);
    loss.dispose(); fn.dispose(); opt.dispose();
    for (const t of [w, x, good, bad]) t.dispose();
  });

  it('refuses a readback, an upload or a data-dependent step, naming the cause', async () => {
    const x = E.randn([4]).keep();
    const read = E.compile((x: E.Tensor) => {
      void x.toArray().catch(() => {});
      return x.mul(2);
    });
    expect(() => read(x)).toThrow(/compile: this step cannot be captured: it contains a readback/);
    const upload = E.compile((x: E.Tensor) => x.add(E.tensor([1, 2, 3, 4])));
    expect(() => upload(x)).toThrow(/an upload of CPU data/);
    let calls = 0;
    const branchy = E.compile((x: E.Tensor) => (calls++ % 2 === 0 ? x.mul(2) : x.exp()));
    branchy(x); branchy(x); branchy(x);
    expect(() => branchy(x)).toThrow(/recorded different commands in 4 consecutive calls \(last difference: dispatch #0 ran kernel '\w+', then '\w+'\)/);
    const sneaky = E.compile((x: E.Tensor) => x.mul(calls++));
    expect(() => { for (let i = 0; i < 4; i++) sneaky(x); }).toThrow(/parameter word \d+ of dispatch #0 .* changed from \d+ to \d+ between calls, and no op registered it/);
    // An optimizer written outside engram does not register the state its step advances.
    class Plain extends E.Optimizer<{ lr: number }> {
      constructor(ps: E.Tensor[]) { super(ps, { lr: 0.1 }, 'Plain'); }
      dispose(): void {}
      protected exportState(): undefined { return undefined; }
      protected importState(): void {}
      protected clearState(): void {}
      protected update(): void {}
      protected checkOptions(): void {}
    }
    const w = E.randn([4]).keep().requiresGrad_();
    const plain = new Plain([w]);
    const withPlain = E.compile((x: E.Tensor) => {
      E.sum(x.mul(w)).backward();
      plain.step();
      plain.zeroGrad();
    });
    expect(() => withPlain(x)).toThrow(/cannot be captured: it contains an optimizer step of Plain, which does not register its per-step state/);
    for (const f of [read, upload, branchy, sneaky, withPlain]) f.dispose();
    w.dispose();
    await E.sync();
    x.dispose();
  });
});
