// Autograd and scopes never silently lose a gradient or a returned tensor (issue 14, items 1, 2, 4):
// the graph keeps what backward needs, a second backward through a freed graph and a saved tensor
// written in place raise, scopes keep everything reachable from their result, and interleaved
// async scopes raise instead of disposing each other's tensors.
import { describe, it, expect } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

const vals = async (t: E.Tensor) => [...(await t.toArray())];

function closeTo(a: number[], b: number[], tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!))));
}

/** A tiny classifier and one fixed batch (seeded, so every test sees the same numbers). */
function setup() {
  E.manualSeed(7);
  const m = new E.Sequential(new E.Linear(4, 6), new E.ReLU(), new E.Linear(6, 3));
  const gen = new E.Generator(3);
  const x = E.randn([5, 4], { generator: gen }).keep();
  const y = E.tensor(new Int32Array([0, 1, 2, 1, 0]), [5], { dtype: 'int32' }).keep();
  const opt = new E.SGD(m.parameters(), { lr: 0.5 });
  return { m, x, y, opt };
}

async function gradsOf(m: E.Module): Promise<number[][]> {
  return Promise.all(m.parameters().map(async (p) => {
    expect(p.grad, 'every parameter receives a gradient').not.toBeNull();
    return vals(p.grad!);
  }));
}

// The three patterns of the issue, each as a function of (model, x, y) returning a scalar loss.
const patterns: Record<string, (m: E.Module, x: E.Tensor, y: E.Tensor) => E.Tensor> = {
  'a sum of two losses computed inside a scope': (m, x, y) =>
    E.scope(() => E.add(E.crossEntropy(m.forward(x), y), E.crossEntropy(m.forward(x), y))),
  "mean(crossEntropy(..., { reduction: 'none' })) inside a scope": (m, x, y) =>
    E.scope(() => E.mean(E.crossEntropy(m.forward(x), y, { reduction: 'none' }))),
};
const unscoped: Record<string, (m: E.Module, x: E.Tensor, y: E.Tensor) => E.Tensor> = {
  'a sum of two losses computed inside a scope': (m, x, y) => E.add(E.crossEntropy(m.forward(x), y), E.crossEntropy(m.forward(x), y)),
  "mean(crossEntropy(..., { reduction: 'none' })) inside a scope": (m, x, y) => E.mean(E.crossEntropy(m.forward(x), y, { reduction: 'none' })),
};

describe('the graph keeps what backward needs (item 1)', () => {
  for (const [name, lossFn] of Object.entries(patterns)) {
    it(`${name}: gradients equal the unscoped computation's, and SGD lowers the loss`, async () => {
      const { m, x, y, opt } = setup();
      const ref = unscoped[name]!(m, x, y);
      ref.backward();
      const want = await gradsOf(m);
      opt.zeroGrad();
      const loss = lossFn(m, x, y);
      loss.backward();
      const got = await gradsOf(m);
      got.forEach((g, i) => closeTo(g, want[i]!));
      expect(await loss.item()).toBeCloseTo(await ref.item(), 5);

      const losses: number[] = [];
      for (let step = 0; step < 5; step++) {
        opt.zeroGrad();
        const l = lossFn(m, x, y);
        l.backward();
        opt.step();
        losses.push(await l.item());
        l.dispose();
      }
      for (let i = 1; i < losses.length; i++) expect(losses[i]!).toBeLessThan(losses[i - 1]!);
    });
  }

  it('h = exp(w); l = sum(h); h.dispose(); l.backward() gives w.grad = exp(w); using h still raises', async () => {
    const w = E.tensor([0, 1, -1]).requiresGrad_();
    const h = E.exp(w);
    const l = E.sum(h);
    h.dispose();
    expect(h.disposed).toBe(true);
    expect(() => E.mul(h, 2)).toThrow(/used after dispose/);
    l.backward();
    closeTo(await vals(w.grad!), [1, Math.E, 1 / Math.E]);
  });

  it('ops whose backward reads internal tensors (max indices, softmax statistics, batch-norm stats) work after a scope ends', async () => {
    const x = E.tensor([[1, 5, 2], [7, 0, 3]]).requiresGrad_();
    const loss = E.scope(() => E.add(E.sum(E.max(x, 1).values), E.sum(E.batchNorm(E.logSoftmax(x, 1), null, null, null, null, { training: true }))));
    loss.backward();
    const ref = E.tensor([[1, 5, 2], [7, 0, 3]]).requiresGrad_();
    E.add(E.sum(E.max(ref, 1).values), E.sum(E.batchNorm(E.logSoftmax(ref, 1), null, null, null, null, { training: true }))).backward();
    closeTo(await vals(x.grad!), await vals(ref.grad!), 1e-4);
    expect((await vals(x.grad!)).some((v) => v !== 0)).toBe(true);
  });

  it('tensors an op saves without owning them (an index, returned max-pool indices) are held by the graph too', async () => {
    const x = E.tensor([[1, 2], [3, 4], [5, 6]]).requiresGrad_();
    const loss = E.scope(() => E.sum(E.mul(E.indexSelect(x, 0, E.tensor(new Int32Array([2, 0, 2]), [3], { dtype: 'int32' })), 2)));
    loss.backward();
    expect(await vals(x.grad!)).toEqual([2, 2, 0, 0, 4, 4]);
    const img = E.tensor([1, 9, 3, 4, 5, 6, 7, 8, 2, 0, 1, 1, 3, 4, 5, 2], [1, 1, 4, 4]).requiresGrad_();
    const [pooled, idx] = E.maxPool2dWithIndices(img, { kernelSize: 2 });
    idx.dispose();
    E.sum(pooled).backward();
    expect(await vals(img.grad!)).toEqual([0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0]);
  });

  it('a deep graph (3000 ops) whose intermediates a scope disposed is freed, all of it, when its root is disposed', () => {
    const before = E.memory();
    const w = E.tensor([1]).requiresGrad_();
    const root = E.scope(() => {
      let h = w;
      for (let i = 0; i < 3000; i++) h = E.mul(h, 1);
      return h;
    });
    expect(E.memory().tensors).toBe(before.tensors + 3001);
    root.dispose();
    w.dispose();
    expect(E.memory()).toMatchObject({ tensors: before.tensors, undisposed: before.undisposed, buffers: before.buffers });
  });

  it('memory returns to baseline: after backward, after disposing an unused graph, and after the collector reclaims a dropped one', async () => {
    const { m, x, y } = setup();
    // Warm up: the pool and lazily created state exist before the baseline.
    patterns['a sum of two losses computed inside a scope']!(m, x, y).dispose();
    for (const p of m.parameters()) E.zeroGrad([p]);
    await E.sync();
    // Let the collector reclaim earlier tests' garbage first, so that it does not move the baseline.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((res) => setTimeout(res, 10));
    }
    const start = E.memory();
    const same = () => {
      const now = E.memory();
      expect({ tensors: now.tensors, undisposed: now.undisposed, buffers: now.buffers, bytes: now.bytes })
        .toEqual({ tensors: start.tensors, undisposed: start.undisposed, buffers: start.buffers, bytes: start.bytes });
    };
    for (const lossFn of Object.values(patterns)) {
      const l = lossFn(m, x, y);
      expect(E.memory().tensors).toBeGreaterThan(start.tensors + 1); // the graph holds the intermediates
      l.backward();
      l.dispose();
      E.zeroGrad(m.parameters());
      same();
      // A forward whose loss is disposed without backward frees its whole graph.
      lossFn(m, x, y).dispose();
      same();
    }
    // A graph kept by retainGraph is freed when its root is disposed.
    const r = patterns['a sum of two losses computed inside a scope']!(m, x, y);
    r.backward(undefined, { retainGraph: true });
    r.dispose();
    E.zeroGrad(m.parameters());
    same();
    // A loss dropped without dispose(): the collector frees it and, with it, the graph it held.
    (() => void patterns['a sum of two losses computed inside a scope']!(m, x, y))();
    expect(E.memory().tensors).toBeGreaterThan(start.tensors + 1);
    for (let i = 0; i < 50 && E.memory().buffers > start.buffers; i++) {
      gc();
      await new Promise((res) => setTimeout(res, 10));
    }
    const end = E.memory();
    expect({ tensors: end.tensors, buffers: end.buffers, bytes: end.bytes }).toEqual({ tensors: start.tensors, buffers: start.buffers, bytes: start.bytes });
    expect(end.undisposed).toBe(start.undisposed + 1); // the dropped loss itself is a leak, and counted
  });

  it('a training step with the loss computed in a scope records one submit and no readback', async () => {
    const { m, x, y, opt } = setup();
    const step = () => {
      const l = patterns['a sum of two losses computed inside a scope']!(m, x, y);
      opt.zeroGrad();
      E.scope(() => l.backward());
      opt.step();
      l.dispose();
    };
    for (let i = 0; i < 6; i++) step();
    await E.sync();
    const c0 = { ...E.runtime().counters };
    step();
    await E.sync();
    const c1 = E.runtime().counters;
    expect(c1.readbacks - c0.readbacks).toBe(0);
    expect(c1.submits - c0.submits).toBe(1);
  });
});

describe('freed graphs and in-place writes raise (item 2)', () => {
  it('a second backward through a freed graph raises naming the op and retainGraph; with retainGraph it accumulates', async () => {
    const w = E.tensor([1, 2]).requiresGrad_();
    const l = E.sum(E.exp(w));
    l.backward();
    expect(() => l.backward()).toThrow(/backward through the graph a second time.*'sum'.*retainGraph: true/);
    // Through an intermediate the user kept: freed too.
    const h = E.exp(w);
    E.sum(h).backward();
    expect(() => E.sum(E.mul(h, 2)).backward()).toThrow(/second time: tensor #\d+ \(shape \[2\]\), the output of 'exp'/);

    E.zeroGrad([w]);
    const l2 = E.sum(E.exp(w));
    l2.backward(undefined, { retainGraph: true });
    l2.backward();
    closeTo(await vals(w.grad!), [2 * Math.E, 2 * Math.exp(2)]);
    expect(() => l2.backward()).toThrow(/second time/);
  });

  it('retainGraph keeps the tensors ops own for backward (crossEntropy statistics, max indices): the second backward doubles the gradients', async () => {
    const { m, x, y } = setup();
    const l = E.scope(() => E.add(E.crossEntropy(m.forward(x), y), E.sum(E.max(m.forward(x), 1).values)));
    l.backward(undefined, { retainGraph: true });
    const once = await gradsOf(m);
    l.backward();
    const twice = await gradsOf(m);
    twice.forEach((g, i) => closeTo(g, once[i]!.map((v) => 2 * v)));
    expect(() => l.backward()).toThrow(/second time/);
  });

  it('fill_ on a tensor saved for backward raises naming fill_, the op and the shape; nothing is accumulated', () => {
    const w = E.tensor([1, 2, 3]).requiresGrad_();
    const h = E.exp(w); // exp's gradient reads its output h
    const l = E.sum(h);
    E.fill_(h, 0);
    expect(() => l.backward()).toThrow(/modified by an in-place operation: tensor #\d+ \(shape \[3\]\), its output saved by 'exp'.*fill_\(\)/);
    expect(w.grad).toBeNull();
  });

  it('an optimizer step between a retained backward and the next raises (the weights were saved by linear)', () => {
    const { m, x, y, opt } = setup();
    const l = E.crossEntropy(m.forward(x), y);
    l.backward(undefined, { retainGraph: true });
    opt.step();
    expect(() => l.backward()).toThrow(/modified by an in-place operation: tensor #\d+ 'weight' \(shape \[3, 6\]\), its input 1 saved by 'linear'.*an SGD step \(kernel 'sgd'\)/);
  });

  it('an index saved by indexSelect, written in place, raises naming it (not an input of the node, still saved)', () => {
    const x = E.tensor([[1, 2], [3, 4]]).requiresGrad_();
    const index = E.tensor(new Int32Array([1, 1]), [2], { dtype: 'int32' });
    const l = E.sum(E.indexSelect(x, 0, index));
    E.fill_(index, 0);
    expect(() => l.backward()).toThrow(/tensor #\d+ \(shape \[2\]\), a tensor saved by 'indexSelect', is at version 1; 'indexSelect' saved it at version 0.*fill_\(\)/);
  });

  it('in-place writes into tensors whose values backward does not read are fine (add, reshape)', async () => {
    const w = E.tensor([1, 2]).requiresGrad_();
    const c = E.tensor([5, 5]);
    const l = E.sum(E.reshape(E.add(w, c), [2, 1]));
    E.fill_(c, 0);
    l.backward();
    expect(await vals(w.grad!)).toEqual([1, 1]);
  });

  it('writes are counted only while a graph has saved the buffer, and views share the version', () => {
    const t = E.tensor([1, 2]);
    E.fill_(t, 3);
    expect(t.version).toBe(0);
    const w = E.tensor([1, 2]).requiresGrad_();
    const prod = E.mul(w, t); // mul saves both operands
    const view = t.reshape([2, 1]);
    E.fill_(view, 1);
    expect(t.version).toBe(1);
    expect(() => E.sum(prod).backward()).toThrow(/its input 1 saved by 'mul'/);
  });
});

describe('scope keep rule (item 4)', () => {
  class Holder {
    constructor(public inner: { t: E.Tensor }, public list: E.Tensor[]) {}
  }
  class Hidden {
    #t: E.Tensor;
    constructor(t: E.Tensor) { this.#t = t; }
    get t(): E.Tensor { return this.#t; }
  }

  it('keeps every tensor reachable through arrays, objects, Maps, Sets and class instances at any depth, cycles included', async () => {
    const before = E.memory().undisposed;
    const made: E.Tensor[] = [];
    const result = E.scope(() => {
      const t = (v: number) => {
        const x = E.full([1], v);
        made.push(x);
        return x;
      };
      E.full([1], -1); // not returned: disposed
      const cyc: Record<string, unknown> = { t: t(1) };
      cyc.self = cyc;
      return {
        deep: [[[[[[{ a: [t(2)] }]]]]]],
        set: new Set([t(3)]),
        map: new Map<unknown, unknown>([[t(4), { v: t(5) }]]),
        holder: new Holder({ t: t(6) }, [t(7)]),
        cyc,
      };
    });
    expect(made.every((x) => !x.disposed)).toBe(true);
    expect(E.memory().undisposed).toBe(before + made.length);
    expect(await vals(result.deep[0]![0]![0]![0]![0]![0]!.a[0]!)).toEqual([2]);
    expect(await vals(result.holder.inner.t)).toEqual([6]);
    for (const x of made) x.dispose();
    expect(E.memory().undisposed).toBe(before);
  });

  it('kept tensors move to the enclosing scope and are disposed when it ends', () => {
    let inner: E.Tensor | null = null;
    E.scope(() => {
      inner = E.scope(() => ({ s: new Set([E.ones([2])]) })).s.values().next().value as E.Tensor;
      expect(inner.disposed).toBe(false);
    });
    expect(inner!.disposed).toBe(true);
  });

  it('a tensor held only in a private field is not reachable, as documented: disposed, and using it says which scope did it', () => {
    const h = E.scope(() => new Hidden(E.ones([2])));
    expect(h.t.disposed).toBe(true);
    expect(() => E.mul(h.t, 2)).toThrow(/used after dispose\(\) \(by the end of scope #\d+.*keep\(\)/);
  });
});

describe('interleaved async scopes (item 4)', () => {
  const tick = () => new Promise<void>((r) => setTimeout(r, 1));

  it('properly nested async scopes work and free everything', async () => {
    const before = E.memory().undisposed;
    const out = await E.scope(async () => {
      await tick();
      const a = await E.scope(async () => {
        const t = E.full([2], 3);
        await tick();
        return E.mul(t, t);
      });
      await tick();
      return (await vals(E.add(a, 1)))[0];
    });
    expect(out).toBe(10);
    expect(E.memory().undisposed).toBe(before);
  });

  it('a scope that ends while a scope started after it is still open rejects with the fix (Promise.all over async scopes)', async () => {
    let releaseA!: () => void;
    const gateA = new Promise<void>((r) => (releaseA = r));
    let releaseB!: () => void;
    const gateB = new Promise<void>((r) => (releaseB = r));
    const a = E.scope(async () => {
      await gateA;
      return E.ones([2]); // created while B is the innermost open scope: tracked by B
    });
    const b = E.scope(async () => {
      await gateB;
      return E.ones([3]);
    });
    releaseA();
    await expect(a).rejects.toThrow(/scope #\d+ ended while scope #\d+, opened after it, is still open.*await them one after another/);
    releaseB();
    const tb = await b;
    expect(tb.disposed).toBe(false);
    tb.dispose();
  });

  it("a tensor one async scope creates after another scope opened is disposed by that scope's end: using it raises, naming the scope", async () => {
    let releaseA!: () => void;
    const gateA = new Promise<void>((r) => (releaseA = r));
    let releaseB!: () => void;
    const gateB = new Promise<void>((r) => (releaseB = r));
    let bId = 0;
    const a = E.scope(async () => {
      await gateA;
      const u = E.ones([2]); // B is the innermost open scope now: B tracks u
      releaseB();
      await tick(); // B ends meanwhile and disposes u
      return E.add(u, 1);
    });
    const b = E.scope(async () => {
      await gateB;
      bId = 1;
    });
    releaseA();
    await b;
    expect(bId).toBe(1);
    await expect(a).rejects.toThrow(/used after dispose\(\) \(by the end of scope #\d+.*async scopes run concurrently/);
  });

  it("a result of one async scope disposed by another's end raises when used, naming the scope and the interleaving", async () => {
    let releaseA!: () => void;
    const gateA = new Promise<void>((r) => (releaseA = r));
    const a = E.scope(async () => {
      await gateA;
      return 1;
    });
    // B starts while A is suspended, so it nests in A on the shared stack: its result moves to A.
    const tb = await E.scope(async () => {
      await tick();
      return E.ones([2]);
    });
    releaseA();
    await a;
    expect(tb.disposed).toBe(true);
    expect(() => E.add(tb, 1)).toThrow(/used after dispose\(\) \(by the end of scope #\d+.*async scopes run concurrently.*await each async scope/);
  });

  it('a scope returning a tensor that an interleaved scope disposed rejects instead of handing out a dead tensor', async () => {
    let releaseA!: () => void;
    const gateA = new Promise<void>((r) => (releaseA = r));
    let made!: E.Tensor;
    const a = E.scope(async () => {
      await gateA;
      return made;
    });
    // B opens above A, creates a tensor A will return, and ends first: B disposes it.
    await E.scope(async () => {
      made = E.ones([2]);
      await tick();
    });
    releaseA();
    await expect(a).rejects.toThrow(/returned a tensor that scope #\d+ disposed when it ended/);
  });
});
