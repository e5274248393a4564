// scaledDotProductAttention: float64 reference with gradient check (test/reference/attention.ts), and
// PyTorch fixtures (test/fixtures/breadth/attention_fixtures.json, from make_attention_fixtures.py:
// PyTorch 2.x's math path composed in torch 1.13).

import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { arr, type Arr } from '../reference/arr.js';
import { sdpaRef, sdpaGrad } from '../reference/attention.js';
import { loadAttentionFixtures, toTensor, expectTorch, type Encoded } from '../helpers/attention-fixtures.js';

useGPU();

function causalMask(L: number, S: number): Arr {
  const m = arr([L, S]);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < S; j++) m.data[i * S + j] = -Infinity;
  return m;
}

describe('scaledDotProductAttention matches the float64 reference, forward and backward', () => {
  it('no mask: [2, 3, 4] x [2, 5, 4] -> [2, 3, 3] and 4-D [2, 2, 3, 4]', async () => {
    for (const [qs, ks, vs] of [[[2, 3, 4], [2, 5, 4], [2, 5, 3]], [[2, 2, 3, 4], [2, 2, 5, 4], [2, 2, 5, 4]]]) {
      await checkOp({
        name: `sdpa q [${qs}] k [${ks}] v [${vs}]`,
        inputs: [{ shape: qs! }, { shape: ks! }, { shape: vs! }],
        gpu: (q, k, v) => E.scaledDotProductAttention(q!, k!, v!),
        ref: (q, k, v) => sdpaRef(q!, k!, v!),
        refGrad: (g, q, k, v) => sdpaGrad(g, q!, k!, v!),
      });
    }
  });

  it('causal (L = S and L < S), a float additive mask with -inf, and a custom scale', async () => {
    await checkOp({
      name: 'sdpa causal L = S = 4',
      inputs: [{ shape: [2, 4, 3] }, { shape: [2, 4, 3] }, { shape: [2, 4, 2] }],
      gpu: (q, k, v) => E.scaledDotProductAttention(q!, k!, v!, { isCausal: true }),
      ref: (q, k, v) => sdpaRef(q!, k!, v!, causalMask(4, 4)),
      refGrad: (g, q, k, v) => sdpaGrad(g, q!, k!, v!, causalMask(4, 4)),
    });
    await checkOp({
      name: 'sdpa causal L 3 < S 5',
      inputs: [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [5, 2] }],
      gpu: (q, k, v) => E.scaledDotProductAttention(q!, k!, v!, { isCausal: true }),
      ref: (q, k, v) => sdpaRef(q!, k!, v!, causalMask(3, 5)),
      refGrad: (g, q, k, v) => sdpaGrad(g, q!, k!, v!, causalMask(3, 5)),
    });
    const mask = [0.5, -Infinity, 0, 1, -2, 0, 0, -Infinity, 0.25, 0, -1, 0, 0, 0, -Infinity];
    await checkOp({
      name: 'sdpa float mask [3, 5], scale 0.7',
      inputs: [{ shape: [2, 3, 4] }, { shape: [2, 5, 4] }, { shape: [2, 5, 3] }, { shape: [3, 5], values: mask, grad: false }],
      gpu: (q, k, v, m) => E.scaledDotProductAttention(q!, k!, v!, { attnMask: m, scale: 0.7 }),
      ref: (q, k, v, m) => sdpaRef(q!, k!, v!, m, 0.7),
      refGrad: (g, q, k, v, m) => [...sdpaGrad(g, q!, k!, v!, m, 0.7), null],
    });
  });

  it('a query whose keys are all masked gives NaN (as PyTorch); the other rows are unaffected', async () => {
    const q = E.randn([2, 3], { generator: new E.Generator(1) });
    const k = E.randn([3, 3], { generator: new E.Generator(2) });
    const v = E.randn([3, 2], { generator: new E.Generator(3) });
    const keep = E.tensor(new Int32Array([1, 0, 1, 0, 0, 0]), [2, 3], { dtype: 'int32' });
    const out = await E.scaledDotProductAttention(q, k, v, { attnMask: keep }).toArray();
    expect(Number.isFinite(out[0]!) && Number.isFinite(out[1]!)).toBe(true);
    expect(Number.isNaN(out[2]!) && Number.isNaN(out[3]!)).toBe(true);
  });

  it('rejects attnMask with isCausal, mismatched shapes and integer inputs', () => {
    const q = E.zeros([2, 4]);
    expect(() => E.scaledDotProductAttention(q, q, q, { isCausal: true, attnMask: E.zeros([2, 2]) })).toThrow(/either attnMask or isCausal/);
    expect(() => E.scaledDotProductAttention(q, E.zeros([2, 3]), q)).toThrow(/last dimension/);
    expect(() => E.scaledDotProductAttention(q, q, E.zeros([3, 4]))).toThrow(/sequence dimension/);
    expect(() => E.scaledDotProductAttention(E.zeros([4]), q, q)).toThrow(/at least 2 dimensions/);
  });
});

describe('scaledDotProductAttention matches PyTorch (fixtures)', () => {
  const fx = loadAttentionFixtures();
  for (const c of fx.sdpa) {
    for (const implementation of ['fused', 'composed'] as const) it(`${String(c.name)} (${implementation})`, async () => {
      const enc = (k: string) => c[k] as Encoded;
      await E.scope(async () => {
        const [q, k, v] = ['q', 'k', 'v'].map((n) => toTensor(enc(n)).requiresGrad_());
        const attnMask = c.mask ? toTensor(enc('mask'), c.maskKind === 'bool' ? 'int32' : 'float32') : undefined;
        const out = E.scaledDotProductAttention(q!, k!, v!, { attnMask, isCausal: c.isCausal as boolean, scale: c.scale as number | undefined, implementation });
        await expectTorch(out, enc('out'), 'out');
        out.backward(toTensor(enc('upstream')));
        await expectTorch(q!.grad!, enc('gq'), 'grad q');
        await expectTorch(k!.grad!, enc('gk'), 'grad k');
        await expectTorch(v!.grad!, enc('gv'), 'grad v');
      });
    });
  }
});

describe('the fused kernels match the composed ops and the float64 reference', () => {
  // Several query blocks (L > 64), several key tiles (S > 16, not a multiple), head dims up to 64, Ev != E.
  const shapes: [number[], number[], number[]][] = [
    [[2, 70, 8], [2, 37, 8], [2, 37, 5]],
    [[1, 2, 5, 64], [1, 2, 19, 64], [1, 2, 19, 64]],
  ];
  for (const [qs, ks, vs] of shapes) {
    for (const mode of ['none', 'causal', 'mask'] as const) {
      it(`q [${qs}] k [${ks}] v [${vs}], ${mode}`, async () => {
        const L = qs[qs.length - 2]!;
        const S = ks[ks.length - 2]!;
        const maskVals = Array.from({ length: L * S }, (_, t) => (t % 7 === 3 ? -Infinity : ((t * 37) % 11) / 11 - 0.5));
        const refMask = mode === 'causal' ? causalMask(L, S) : mode === 'mask' ? arr([L, S], maskVals) : null;
        const inputs = [{ shape: qs }, { shape: ks }, { shape: vs }, ...(mode === 'mask' ? [{ shape: [L, S], values: maskVals, grad: false }] : [])];
        const run = (implementation: 'fused' | 'composed') => (q?: E.Tensor, k?: E.Tensor, v?: E.Tensor, m?: E.Tensor) =>
          E.scaledDotProductAttention(q!, k!, v!, { attnMask: m, isCausal: mode === 'causal', implementation });
        for (const implementation of ['fused', 'composed'] as const) {
          await checkOp({
            name: `sdpa ${implementation} ${mode}`,
            inputs,
            gpu: run(implementation),
            ref: (q, k, v) => sdpaRef(q!, k!, v!, refMask),
            refGrad: (g, q, k, v) => [...sdpaGrad(g, q!, k!, v!, refMask), ...(mode === 'mask' ? [null] : [])],
            fdSamples: 8,
          });
        }
        // fused vs composed on the same inputs: within 1e-5
        await E.scope(async () => {
          const gen = new E.Generator(9);
          const [q, k, v] = [qs, ks, vs].map((s) => E.randn(s, { generator: gen }));
          const m = mode === 'mask' ? E.tensor(Float32Array.from(maskVals), [L, S]) : undefined;
          const a = await run('fused')(q, k, v, m).toArray();
          const b = await run('composed')(q, k, v, m).toArray();
          a.forEach((x, i) => expect(Math.abs(x - b[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(b[i]!))));
        });
      });
    }
  }

  it('frees every tensor it creates: forward and backward in a scope, fused and composed, masks included', async () => {
    for (const implementation of ['composed', 'fused'] as const) {
      for (const mode of ['none', 'int32', 'causal'] as const) {
        const before = E.memory();
        await E.scope(async () => {
          const gen = new E.Generator(2);
          const q = E.randn([2, 4, 3], { generator: gen }).requiresGrad_();
          const k = E.randn([2, 5, 3], { generator: gen }).requiresGrad_();
          const v = E.randn([2, 5, 2], { generator: gen }).requiresGrad_();
          const attnMask = mode === 'int32' ? E.tensor(new Int32Array(20).fill(1), [4, 5], { dtype: 'int32' }) : undefined;
          const out = E.scaledDotProductAttention(q, k, v, { attnMask, isCausal: mode === 'causal', implementation });
          E.sum(out).backward();
          await q.grad!.toArray();
          for (const t of [q, k, v]) t.grad!.dispose(); // gradients are not owned by the scope
        });
        await E.noGrad(async () => {
          await E.scope(async () => {
            const x = E.randn([1, 3, 4], { generator: new E.Generator(3) });
            await E.scaledDotProductAttention(x, x, x, { isCausal: mode === 'causal', implementation }).toArray();
          });
        });
        expect(E.memory(), `${implementation} ${mode}`).toMatchObject({ tensors: before.tensors, buffers: before.buffers });
      }
    }
  });

  it('batched masks ([N, 1, L, S], [H, L, S], key padding [N, 1, 1, S] int32, [N, H, L, S]): fused equals composed, forward and backward', async () => {
    const N = 2, H = 3, L = 4, S = 6;
    const gen = new E.Generator(11);
    const masks: E.Tensor[] = [
      E.randn([N, 1, L, S], { generator: gen }),
      E.randn([H, L, S], { generator: gen }),
      E.tensor(new Int32Array([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0]), [N, 1, 1, S], { dtype: 'int32' }),
      E.randn([N, H, L, S], { generator: gen }),
      E.randn([1, S], { generator: gen }),
    ];
    for (const attnMask of masks) {
      await E.scope(async () => {
        const [q, k, v] = [[N, H, L, 5], [N, H, S, 5], [N, H, S, 3]].map((s) => E.randn(s, { generator: gen }));
        const up = E.randn([N, H, L, 3], { generator: gen });
        const results: ArrayLike<number>[][] = [];
        for (const implementation of ['fused', 'composed'] as const) {
          const xs = [q, k, v].map((t) => t!.detach().requiresGrad_());
          const out = E.scaledDotProductAttention(xs[0]!, xs[1]!, xs[2]!, { attnMask, implementation });
          out.backward(up);
          results.push([await out.toArray(), ...(await Promise.all(xs.map((t) => t.grad!.toArray())))]);
        }
        results[0]!.forEach((a, t) => Array.from(a).forEach((x, i) => {
          const b = results[1]![t]![i]!;
          expect(Math.abs(x - b), `mask [${attnMask.shape}], tensor ${t}, element ${i}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(b)));
        }));
      });
    }
  });

  it("'fused' raises where the fused kernels do not apply; int32 masks are fused too", async () => {
    const q = E.zeros([2, 3, 4]);
    expect(() => E.scaledDotProductAttention(q, E.zeros([1, 3, 4]), E.zeros([1, 3, 4]), { implementation: 'fused' })).toThrow(/batch dimensions/);
    expect(() => E.scaledDotProductAttention(E.zeros([3, 65]), E.zeros([3, 65]), E.zeros([3, 2]), { implementation: 'fused' })).toThrow(/head dims/);
    expect(() => E.scaledDotProductAttention(q, q, q, { attnMask: E.zeros([3, 1]), implementation: 'fused' })).toThrow(/is not \[L, S\]/);
    const x5 = E.zeros([2, 3, 2, 3, 4]); // a mask over batch dims 0 and 2 but not 1: not one run
    expect(() => E.scaledDotProductAttention(x5, x5, x5, { attnMask: E.zeros([2, 1, 2, 3, 3]), implementation: 'fused' })).toThrow(/is not \[L, S\]/);
    const keep = E.tensor(new Int32Array([1, 0, 1, 1, 1, 0, 0, 1, 1]), [3, 3], { dtype: 'int32' });
    const x = E.randn([2, 3, 4], { generator: new E.Generator(4) });
    const a = await E.scaledDotProductAttention(x, x, x, { attnMask: keep, implementation: 'fused' }).toArray();
    const b = await E.scaledDotProductAttention(x, x, x, { attnMask: keep, implementation: 'composed' }).toArray();
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 6));
  });
});
