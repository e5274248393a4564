// layerNorm and groupNorm (and their nn modules): GPU forward and backward against the float64
// reference (test/reference/norm.ts) on odd shapes, rows longer than a workgroup and many rows, the
// reference gradient against finite differences, and PyTorch parity on every case of
// test/fixtures/breadth/norm_fixtures.json (written by make_norm_fixtures.py beside it with torch
// 1.13): bitwise for NaN, the infinities and the sign of zeros, within 1e-5 relative otherwise.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { layerNorm, groupNorm } from '../../src/engine/ops/norm.js';
import { embedding, useSortedBackward } from '../../src/engine/ops/embedding.js';
import { LayerNorm, GroupNorm, Embedding } from '../../src/nn/index.js';
import { checkOp, expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { arr } from '../reference/arr.js';
import { layerNormForward, layerNormGrad, groupNormForward, groupNormGrad } from '../reference/norm.js';
import { embeddingForward, embeddingGrad } from '../reference/embedding.js';
import { varRef, varGrad, stdRef, stdGrad, logsumexpRef, logsumexpGrad, logsumexpDimsRef, logsumexpDimsGrad, cumsumRef } from '../reference/stats.js';
import { variance, std, logsumexp, cumsum } from '../../src/engine/ops/stats.js';
import { pad, repeat, oneHot } from '../../src/engine/ops/pad.js';
import { padRef, padGrad, repeatRef, repeatGrad, oneHotRef } from '../reference/pad.js';
import { sort, argsort, topk } from '../../src/engine/ops/sort.js';
import { sortRef, sortGrad } from '../reference/sort.js';

useGPU();

describe('layerNorm matches the float64 reference, forward and backward', () => {
  // Row lengths 1, 5, 7 * 3, 300 and 513 (more than the 256 threads of a row's workgroup); 1 to 301 rows.
  // Rows up to ROWNORM_SHORT_ROW (128) run one thread per row, longer ones one workgroup per row: 128
  // and 129 sit on either side of the switch.
  const CASES: [number[], number[]][] = [[[3, 5], [5]], [[2, 3, 7], [3, 7]], [[4, 300], [300]], [[2, 513], [513]], [[301, 6], [6]], [[5, 1], [1]], [[7], [7]], [[3, 128], [128]], [[2, 129], [129]]];
  it('without affine', async () => {
    for (const [shape, ns] of CASES) {
      await checkOp({
        name: `layerNorm [${shape}] over [${ns}]`,
        inputs: [{ shape }],
        gpu: (x) => layerNorm(x, ns),
        ref: (x) => layerNormForward(x, ns, null, null),
        refGrad: (g, x) => [layerNormGrad(g, x, ns, null)[0]],
        bwdTol: { atol: 2e-4, rtol: 2e-4 },
      });
    }
  });

  it('with weight and bias (gradients for x, weight, bias), eps 1e-3', async () => {
    for (const [shape, ns] of CASES) {
      await checkOp({
        name: `layerNorm affine [${shape}] over [${ns}]`,
        inputs: [{ shape, low: -2, high: 3 }, { shape: ns, low: 0.5, high: 1.5 }, { shape: ns }],
        gpu: (x, w, b) => layerNorm(x, ns, w, b, 1e-3),
        ref: (x, w, b) => layerNormForward(x, ns, w!, b!, 1e-3),
        refGrad: (g, x, w) => layerNormGrad(g, x, ns, w!, 1e-3),
        bwdTol: { atol: 2e-4, rtol: 2e-4 },
      });
    }
  });

  it('with a weight only and with a bias only', async () => {
    const ns = [9];
    await checkOp({
      name: 'layerNorm weight only',
      inputs: [{ shape: [4, 9] }, { shape: ns, low: 0.5, high: 1.5 }],
      gpu: (x, w) => layerNorm(x, ns, w),
      ref: (x, w) => layerNormForward(x, ns, w!, null),
      refGrad: (g, x, w) => layerNormGrad(g, x, ns, w!).slice(0, 2),
      bwdTol: { atol: 2e-4, rtol: 2e-4 },
    });
    await checkOp({
      name: 'layerNorm bias only',
      inputs: [{ shape: [4, 9] }, { shape: ns }],
      gpu: (x, b) => layerNorm(x, ns, null, b),
      ref: (x, b) => layerNormForward(x, ns, null, b!),
      refGrad: (g, x) => {
        const [dx, , db] = layerNormGrad(g, x, ns, null);
        return [dx, db];
      },
      bwdTol: { atol: 2e-4, rtol: 2e-4 },
    });
  });

  it('folds more than 65535 rows into the second grid dimension (forward and backward)', async () => {
    await checkOp({
      name: 'layerNorm [65600, 3]',
      inputs: [{ shape: [65600, 3] }, { shape: [3], low: 0.5, high: 1.5 }, { shape: [3] }],
      gpu: (x, w, b) => layerNorm(x, [3], w, b),
      ref: (x, w, b) => layerNormForward(x, [3], w!, b!),
      refGrad: (g, x, w) => layerNormGrad(g, x, [3], w!),
      fdSamples: 4,
      bwdTol: { atol: 2e-4, rtol: 2e-4 },
    });
  });

  it('stays accurate for rows at a large offset (1e4 + N(0, 1)): the mean is kept as hi + lo', async () => {
    const g = new E.Generator(5);
    for (const D of [1000, 64]) { // a workgroup per row, and one thread per (short) row
      const vals = Float32Array.from({ length: 2 * D }, () => 1e4 + (g.next() * 2 - 1));
      const y = E.scope(() => layerNorm(E.tensor(vals, [2, D]), [D]));
      const expected = layerNormForward(arr([2, D], vals), [D], null, null);
      expectClose(await y.toArray(), expected, { atol: 2e-5, rtol: 0 }, `layerNorm at offset 1e4, rows of ${D}`);
      y.dispose();
    }
  });
});

describe('groupNorm matches the float64 reference, forward and backward', () => {
  // Groups of 1 channel (instance norm) to all channels (layer norm over C, H, W); 257-element groups.
  const CASES: [number[], number][] = [[[2, 6, 5], 3], [[3, 4, 3, 5], 2], [[2, 4, 9, 11], 1], [[2, 10, 3], 10], [[1, 3, 257], 3], [[5, 6], 2], [[2, 4, 2, 2, 3], 4]];
  it('without affine', async () => {
    for (const [shape, G] of CASES) {
      await checkOp({
        name: `groupNorm [${shape}] G=${G}`,
        inputs: [{ shape }],
        gpu: (x) => groupNorm(x, G),
        ref: (x) => groupNormForward(x, G, null, null),
        refGrad: (g, x) => [groupNormGrad(g, x, G, null)[0]],
        bwdTol: { atol: 2e-4, rtol: 2e-4 },
      });
    }
  });

  it('with weight and bias (gradients for x, weight, bias)', async () => {
    for (const [shape, G] of CASES) {
      const C = shape[1]!;
      await checkOp({
        name: `groupNorm affine [${shape}] G=${G}`,
        inputs: [{ shape, low: -2, high: 3 }, { shape: [C], low: 0.5, high: 1.5 }, { shape: [C] }],
        gpu: (x, w, b) => groupNorm(x, G, w, b, 1e-4),
        ref: (x, w, b) => groupNormForward(x, G, w!, b!, 1e-4),
        refGrad: (g, x, w) => groupNormGrad(g, x, G, w!, 1e-4),
        bwdTol: { atol: 3e-4, rtol: 3e-4 },
      });
    }
  });
});

type Num = number | 'NaN' | 'Infinity' | '-Infinity' | '-0';
interface Encoded {
  shape: number[];
  data: Num[];
  /** The largest |PyTorch float32 - float64| over the tensor, where PyTorch's float32 result is less accurate than 1e-5. */
  f32err?: number;
}
interface Case {
  name: string;
  op: 'layerNorm' | 'groupNorm';
  args: { normalizedShape?: number[]; numGroups?: number; eps: number };
  x: Encoded;
  weight?: Encoded;
  bias?: Encoded;
  out: Encoded;
  upstream: Encoded;
  gx: Encoded;
  gweight?: Encoded;
  gbias?: Encoded;
}

function decode(v: Num): number {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === '-0') return -0;
  return v;
}

/**
 * Bitwise for NaN, infinities and zero signs; within 1e-5 relative (1e-5 absolute near 0) otherwise,
 * widened by "f32err" where PyTorch's own float32 result is further than that from float64 (rows at
 * a 1e4 offset: PyTorch's CPU kernel computes x * rstd - mean * rstd, which cancels).
 */
function expectMatches(actual: Float32Array, expected: Encoded, label: string): void {
  expect(actual.length, `${label}: length`).toBe(expected.data.length);
  expected.data.forEach((enc, i) => {
    const e = decode(enc);
    const a = actual[i]!;
    const where = `${label}: element ${i} is ${a}, PyTorch ${String(enc)}`;
    if (!Number.isFinite(e) || Object.is(e, -0)) expect(Object.is(a, e) || (Number.isNaN(e) && Number.isNaN(a)), where).toBe(true);
    else expect(Math.abs(a - e) <= 1e-5 * Math.max(1, Math.abs(e)) + (expected.f32err ?? 0), where).toBe(true);
  });
}

interface EmbeddingCase {
  name: string;
  indices: { shape: number[]; data: number[] };
  weight: Encoded;
  paddingIdx: number | null;
  out: Encoded;
  upstream: Encoded;
  gweight: Encoded;
}

const fixturePath = fileURLToPath(new URL('../fixtures/breadth/norm_fixtures.json', import.meta.url));
interface StatCase {
  name: string;
  op: 'var' | 'std' | 'logsumexp' | 'cumsum';
  args: { dim?: number | number[]; correction?: number; keepdim?: boolean };
  x: Encoded;
  out: Encoded;
  upstream: Encoded;
  gx: Encoded;
}
const fixtures = JSON.parse(readFileSync(fixturePath, 'utf8')) as { torch: string; cases: Case[]; embedding: EmbeddingCase[]; stats: StatCase[] };
const t = (e: Encoded, grad = false): E.Tensor => E.tensor(Float32Array.from(e.data.map(decode)), e.shape, { requiresGrad: grad });

describe('layerNorm and groupNorm match PyTorch 1.13 (fixtures)', () => {

  it('covers both ops with NaN/inf, offsets, constant rows and long rows', () => {
    expect(fixtures.cases.length).toBeGreaterThanOrEqual(14);
    expect(new Set(fixtures.cases.map((c) => c.op))).toEqual(new Set(['layerNorm', 'groupNorm']));
  });

  for (const c of fixtures.cases) {
    it(c.name, async () => {
      const x = t(c.x, true);
      const w = c.weight ? t(c.weight, true) : null;
      const b = c.bias ? t(c.bias, true) : null;
      const out = c.op === 'layerNorm' ? layerNorm(x, c.args.normalizedShape!, w, b, c.args.eps) : groupNorm(x, c.args.numGroups!, w, b, c.args.eps);
      const up = t(c.upstream);
      E.scope(() => E.backward(E.sum(E.mul(out, up))));
      expectMatches(await out.toArray() as Float32Array, c.out, `${c.name} out`);
      expectMatches(await x.grad!.toArray() as Float32Array, c.gx, `${c.name} grad x`);
      if (w) expectMatches(await w.grad!.toArray() as Float32Array, c.gweight!, `${c.name} grad weight`);
      if (b) expectMatches(await b.grad!.toArray() as Float32Array, c.gbias!, `${c.name} grad bias`);
      for (const z of [x, w, b, out, up]) z?.dispose();
    });
  }
});

describe('layerNorm and groupNorm errors and empty inputs', () => {
  it('name the op, the shapes and the fix', () => {
    E.scope(() => {
      const x = E.zeros([2, 3, 4]);
      expect(() => layerNorm(x, [3])).toThrow(/layerNorm: normalizedShape \[3\] must be non-empty and equal the last dimensions of the input \[2, 3, 4\]/);
      expect(() => layerNorm(x, [4], E.ones([3]))).toThrow(/layerNorm: weight has shape \[3\], expected \[4\]/);
      expect(() => layerNorm(x, [4], null, null, -1)).toThrow(/layerNorm: eps must be a finite non-negative number, got -1/);
      expect(() => groupNorm(x, 2)).toThrow(/groupNorm: numGroups must be a positive integer dividing the 3 channels of input \[2, 3, 4\], got 2/);
      expect(() => groupNorm(E.zeros([3]), 1)).toThrow(/groupNorm: expected an input of shape \[N, C, \.\.\.\]/);
      expect(() => groupNorm(x, 3, E.ones([4]))).toThrow(/groupNorm: weight has shape \[4\], expected \[3\]/);
      expect(() => new GroupNorm(2, 3)).toThrow(/GroupNorm: numChannels \(3\) must be divisible by numGroups \(2\)/);
      expect(() => new GroupNorm(1, 3).forward(E.zeros([2, 4, 5]))).toThrow(/GroupNorm\(1, 3\): expected input \[N, 3, \.\.\.\], got \[2, 4, 5\]/);
    });
  });

  it('an empty batch gives an empty output and zero affine gradients', async () => {
    const x = E.zeros([0, 4], { requiresGrad: true });
    const w = E.ones([4], { requiresGrad: true });
    const b = E.zeros([4], { requiresGrad: true });
    const y = layerNorm(x, [4], w, b);
    expect(y.shape).toEqual([0, 4]);
    E.scope(() => E.backward(E.sum(y)));
    expect(Array.from(await w.grad!.toArray())).toEqual([0, 0, 0, 0]);
    expect(Array.from(await b.grad!.toArray())).toEqual([0, 0, 0, 0]);
    for (const z of [x, w, b, y]) z.dispose();
  });
});

describe('LayerNorm and GroupNorm modules', () => {
  it('have PyTorch parameter names and initial values, and normalize as the functional ops', async () => {
    const ln = new LayerNorm([3, 4]);
    expect(ln.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [3, 4]], ['bias', [3, 4]]]);
    expect(Array.from(await ln.weight!.toArray())).toEqual(new Array(12).fill(1));
    const gn = new GroupNorm(2, 4, { eps: 1e-3 });
    expect([...gn.stateDict().keys()]).toEqual(['weight', 'bias']);
    expect(new LayerNorm(5, { elementwiseAffine: false }).parameters()).toEqual([]);
    expect(new GroupNorm(1, 4, { affine: false }).parameters()).toEqual([]);
    const gen = new E.Generator(3);
    const vals = Float32Array.from({ length: 2 * 4 * 6 }, () => gen.next() * 4 - 2);
    const x = E.tensor(vals, [2, 4, 6]);
    const yg = gn.forward(x);
    expectClose(await yg.toArray(), groupNormForward(arr([2, 4, 6], vals), 2, null, null, 1e-3), { atol: 1e-5, rtol: 1e-5 }, 'GroupNorm module');
    const y = new LayerNorm(6).forward(x);
    expectClose(await y.toArray(), layerNormForward(arr([2, 4, 6], vals), [6], null, null), { atol: 1e-5, rtol: 1e-5 }, 'LayerNorm module');
    for (const z of [x, y, yg]) z.dispose();
  });
});

describe('embedding matches the float64 reference and PyTorch', () => {
  it('forward and weight gradient on odd shapes, with repeated indices', async () => {
    for (const [ishape, V, E_] of [[[7], 5, 3], [[2, 3, 5], 11, 1], [[300], 4, 9], [[], 6, 2]] as [number[], number, number][]) {
      await checkOp({
        name: `embedding [${ishape}] into [${V}, ${E_}]`,
        inputs: [{ shape: ishape, dtype: 'int32', low: 0, high: V }, { shape: [V, E_] }],
        gpu: (i, w) => embedding(i, w),
        ref: (i, w) => embeddingForward(i, w),
        refGrad: (g, i, w) => [null, embeddingGrad(g, i, w)],
      });
    }
  });

  it('large tables take the sorted backward (same sums, same order), with repeats and a padding row', async () => {
    expect(useSortedBackward(5, 3, 7)).toBe(false);
    for (const [ishape, V, E_, high] of [[[64], 500, 3, 20], [[4, 10], 300, 8, 300], [[2, 50], 1000, 2, 7]] as [number[], number, number, number][]) {
      const K = ishape.reduce((a, b) => a * b, 1);
      expect(useSortedBackward(V, E_, K), `sorted backward for K=${K}, [${V}, ${E_}]`).toBe(true);
      await checkOp({
        name: `embedding (sorted backward) [${ishape}] into [${V}, ${E_}]`,
        inputs: [{ shape: ishape, dtype: 'int32', low: 0, high }, { shape: [V, E_] }],
        gpu: (i, w) => embedding(i, w),
        ref: (i, w) => embeddingForward(i, w),
        refGrad: (g, i, w) => [null, embeddingGrad(g, i, w)],
        fdSamples: 16,
      });
    }
    // The padding row: no gradient on the sorted path either.
    const gen = new E.Generator(4);
    const idxVals = Int32Array.from({ length: 64 }, () => gen.int(6));
    const w = E.tensor(Float32Array.from({ length: 400 * 2 }, () => gen.next()), [400, 2], { requiresGrad: true });
    const idx = E.tensor(idxVals, [64]);
    const y = embedding(idx, w, 3);
    E.scope(() => E.backward(E.sum(y)));
    const dw = await w.grad!.toArray();
    const counts = [0, 1, 2, 3, 4, 5].map((v) => idxVals.filter((i) => i === v).length);
    expect([...dw.slice(0, 12)]).toEqual(counts.flatMap((c, v) => (v === 3 ? [0, 0] : [c, c])));
    for (const z of [w, idx, y]) z.dispose();
  });

  // Not a gradient check: PyTorch's padding row is used in forward but gets no gradient, so its
  // "gradient" is deliberately not the derivative (finite differences would disagree).
  it('gives the padding row no gradient (paddingIdx, negative counting from the end)', async () => {
    const gen = new E.Generator(11);
    const idxVals = Int32Array.from({ length: 24 }, () => gen.int(5));
    idxVals[0] = 2;
    idxVals[1] = 4;
    const wVals = Float32Array.from({ length: 15 }, () => gen.next() * 2 - 1);
    const gVals = Float32Array.from({ length: 24 * 3 }, () => gen.next() * 2 - 1);
    for (const pad of [2, -1]) {
      const w = E.tensor(wVals, [5, 3], { requiresGrad: true });
      const idx = E.tensor(idxVals, [4, 6]);
      const up = E.tensor(gVals, [4, 6, 3]);
      const y = embedding(idx, w, pad);
      E.scope(() => E.backward(E.sum(E.mul(y, up))));
      const ia = arr([4, 6], idxVals);
      const wa = arr([5, 3], wVals);
      expectClose(await y.toArray(), embeddingForward(ia, wa), { atol: 0, rtol: 0 }, `embedding paddingIdx ${pad} forward`);
      const dw = embeddingGrad(arr([4, 6, 3], gVals), ia, wa, pad < 0 ? pad + 5 : pad);
      expectClose(await w.grad!.toArray(), dw, { atol: 1e-6, rtol: 1e-6 }, `embedding paddingIdx ${pad} grad`);
      expect([...(await w.grad!.toArray())].slice((pad < 0 ? 4 : 2) * 3, (pad < 0 ? 5 : 3) * 3)).toEqual([0, 0, 0]);
      for (const z of [w, idx, up, y]) z.dispose();
    }
  });

  for (const c of fixtures.embedding) {
    it(`PyTorch: ${c.name}`, async () => {
      const w = t(c.weight, true);
      const idx = E.tensor(Int32Array.from(c.indices.data), c.indices.shape);
      const out = embedding(idx, w, c.paddingIdx);
      const up = t(c.upstream);
      E.scope(() => E.backward(E.sum(E.mul(out, up))));
      expectMatches(await out.toArray() as Float32Array, c.out, `${c.name} out`);
      expectMatches(await w.grad!.toArray() as Float32Array, c.gweight, `${c.name} grad weight`);
      for (const z of [w, idx, out, up]) z.dispose();
    });
  }

  it('reports an out-of-range index at the next readback (checked on the GPU); its row is NaN', async () => {
    const w = E.tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    const before = E.runtime().counters.readbacks;
    const y = embedding(E.tensor(new Int32Array([2, 3, 0]), [3]), w);
    expect(E.runtime().counters.readbacks).toBe(before);
    await expect(y.toArray()).rejects.toThrow(/embedding: index 3 is outside the valid range \[0, 3\) .*indices must be in \[0, numEmbeddings\)/);
    expect([...(await y.toArray())].map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual([5, 6, 'NaN', 'NaN', 1, 2]);
    await E.sync();
  });

  it('rejects float indices, a non-matrix weight and a paddingIdx out of range, naming the fix', () => {
    E.scope(() => {
      const w = E.zeros([4, 2]);
      expect(() => embedding(E.zeros([3]), w)).toThrow(/embedding: indices must be an int32 tensor, got float32 \(shape \[3\]\) \(convert with toInt\(\)\)/);
      expect(() => embedding(E.tensor(new Int32Array([0]), [1]), E.zeros([4]))).toThrow(/embedding: weight must be a float32 matrix \[numEmbeddings, embeddingDim\], got float32 \[4\]/);
      expect(() => embedding(E.tensor(new Int32Array([0]), [1]), w, 4)).toThrow(/embedding: paddingIdx must be an integer in \[-4, 4\) for a weight of 4 rows, got 4/);
      expect(() => new Embedding(4, 2, { paddingIdx: -5 })).toThrow(/Embedding: paddingIdx must be an integer in \[-4, 4\)/);
    });
  });

  it('Embedding module: weight N(0, 1) under the key "weight", the padding row zeroed', async () => {
    const m = new Embedding(50, 8, { paddingIdx: -2, generator: new E.Generator(7) });
    expect(m.paddingIdx).toBe(48);
    expect([...m.stateDict().keys()]).toEqual(['weight']);
    const w = await m.weight.toArray();
    expect([...w.slice(48 * 8, 49 * 8)]).toEqual(new Array(8).fill(0));
    const rest = [...w.slice(0, 48 * 8)];
    const mean = rest.reduce((a, b) => a + b, 0) / rest.length;
    const std = Math.sqrt(rest.reduce((a, b) => a + (b - mean) ** 2, 0) / rest.length);
    expect(Math.abs(mean)).toBeLessThan(0.15);
    expect(Math.abs(std - 1)).toBeLessThan(0.15);
    const y = m.forward(E.tensor(new Int32Array([48, 1]), [2]));
    expect(y.shape).toEqual([2, 8]);
    expect([...(await y.toArray()).slice(0, 8)]).toEqual(new Array(8).fill(0));
    y.dispose();
  });
});

describe('var and std (correction) match the float64 reference', () => {
  const CASES: [number[], number | number[] | undefined, number, boolean][] = [
    [[3, 7], 1, 1, false], [[4, 5, 6], [0, 2], 0, true], [[5, 3], undefined, 2, false], [[2, 300], -1, 1, true], [[7], 0, 1, false], [[3, 4, 5], [1, -1], 1, false],
  ];
  it('var', async () => {
    for (const [shape, dim, correction, keepdim] of CASES) {
      await checkOp({
        name: `var [${shape}] dim ${String(dim)} correction ${correction}${keepdim ? ' keepdim' : ''}`,
        inputs: [{ shape }],
        gpu: (x) => variance(x, dim, { correction, keepdim }),
        ref: (x) => varRef(x, dim, correction, keepdim),
        refGrad: (g, x) => [varGrad(g, x, dim, correction)],
      });
    }
  });
  it('std', async () => {
    for (const [shape, dim, correction, keepdim] of CASES) {
      await checkOp({
        name: `std [${shape}] dim ${String(dim)} correction ${correction}${keepdim ? ' keepdim' : ''}`,
        inputs: [{ shape }],
        gpu: (x) => std(x, dim, { correction, keepdim }),
        ref: (x) => stdRef(x, dim, correction, keepdim),
        refGrad: (g, x) => [stdGrad(g, x, dim, correction)],
        bwdTol: { atol: 2e-4, rtol: 2e-4 },
      });
    }
  });
  it('is exported as var (the PyTorch name) and rejects a non-finite correction', () => {
    expect(E.var).toBe(variance);
    E.scope(() => {
      expect(() => variance(E.zeros([3]), 0, { correction: NaN })).toThrow(/var: correction must be a finite number, got NaN/);
    });
  });
});

describe('logsumexp and cumsum match the float64 reference', () => {
  it('logsumexp over each dim of odd shapes, keepdim, values to +-30', async () => {
    for (const [shape, dim, keepdim] of [[[3, 7], 1, false], [[4, 5, 6], 0, true], [[4, 5, 6], -2, false], [[2, 300], 1, false], [[5], 0, false], [[1, 1], 0, true]] as [number[], number, boolean][]) {
      await checkOp({
        name: `logsumexp [${shape}] dim ${dim}${keepdim ? ' keepdim' : ''}`,
        inputs: [{ shape, low: -30, high: 30 }],
        gpu: (x) => logsumexp(x, dim, keepdim),
        ref: (x) => logsumexpRef(x, dim, keepdim),
        refGrad: (g, x) => [logsumexpGrad(g, x, dim)],
        fdTol: { atol: 1e-5, rtol: 1e-4 },
      });
    }
  });
  it('logsumexp over a list of dimensions', async () => {
    for (const [shape, dims, keepdim] of [[[3, 4, 5], [0, 2], false], [[2, 3, 4, 5], [-1, 1], true], [[4, 6], [1], false]] as [number[], number[], boolean][]) {
      await checkOp({
        name: `logsumexp [${shape}] dims [${dims}]${keepdim ? ' keepdim' : ''}`,
        inputs: [{ shape, low: -5, high: 5 }],
        gpu: (x) => logsumexp(x, dims, keepdim),
        ref: (x) => logsumexpDimsRef(x, dims, keepdim),
        refGrad: (g, x) => [logsumexpDimsGrad(g, x, dims)],
      });
    }
    E.scope(() => {
      expect(() => logsumexp(E.zeros([2, 3]), [1, -1])).toThrow(/logsumexp: dimension list \[1, -1\] repeats a dimension of \[2, 3\]/);
    });
  });
  it('logsumexp over an empty dimension is -inf, as PyTorch', async () => {
    const y = logsumexp(E.zeros([3, 0]), 1);
    expect([...(await y.toArray())]).toEqual([-Infinity, -Infinity, -Infinity]);
    y.dispose();
  });
  it('cumsum along each dim, gradient the reverse cumsum', async () => {
    for (const [shape, dim] of [[[3, 7], 1], [[4, 5, 6], 0], [[4, 5, 6], -2], [[2, 300], 1], [[9], 0]] as [number[], number][]) {
      await checkOp({
        name: `cumsum [${shape}] dim ${dim}`,
        inputs: [{ shape }],
        gpu: (x) => cumsum(x, dim),
        ref: (x) => cumsumRef(x, dim),
        refGrad: (g) => [cumsumRef(g, dim, true)],
        fwdTol: { atol: 1e-5, rtol: 1e-5 },
      });
    }
  });
  it('errors name the op and the fix', () => {
    E.scope(() => {
      expect(() => cumsum(E.zeros([2, 3]), 2)).toThrow(/cumsum/);
      expect(() => cumsum(E.tensor(new Int32Array([1, 2]), [2]), 0)).toThrow(/cumsum: expects a float32 input, got int32 \(shape \[2\]\); convert with toFloat\(\)/);
      expect(() => logsumexp(E.zeros([2, 3]), -3)).toThrow(/logsumexp/);
    });
  });
});

describe('var, std, logsumexp and cumsum match PyTorch 1.13 (fixtures)', () => {
  it('cover every op', () => {
    expect(new Set(fixtures.stats.map((c) => c.op))).toEqual(new Set(['var', 'std', 'logsumexp', 'cumsum']));
  });
  for (const c of fixtures.stats) {
    it(c.name, async () => {
      const x = t(c.x, true);
      const a = c.args;
      const o = { correction: a.correction, keepdim: a.keepdim };
      const out = c.op === 'var' ? variance(x, a.dim, o) : c.op === 'std' ? std(x, a.dim, o) : c.op === 'logsumexp' ? logsumexp(x, a.dim!, a.keepdim) : cumsum(x, a.dim as number);
      expect(out.shape, `${c.name} shape`).toEqual(c.out.shape);
      const up = t(c.upstream);
      E.scope(() => E.backward(E.sum(E.mul(out, up))));
      expectMatches(await out.toArray() as Float32Array, c.out, `${c.name} out`);
      expectMatches(await x.grad!.toArray() as Float32Array, c.gx, `${c.name} grad x`);
      for (const z of [x, out, up]) z.dispose();
    });
  }
});

describe('pad, repeat and oneHot match the float64 reference', () => {
  const PADS: [number[], number[], 'constant' | 'reflect', number][] = [
    [[2, 3, 4], [1, 2], 'constant', 0], [[2, 3, 4], [0, 1, 2, 3], 'constant', -1.5], [[3, 5], [2, 0, 1, 1], 'constant', 7],
    [[1, 2, 5], [3, 4], 'reflect', 0], [[2, 1, 4, 5], [2, 1, 3, 2], 'reflect', 0], [[3, 4, 5], [1, 1, 2, 3, 2, 1], 'reflect', 0], [[9], [8, 8], 'reflect', 0],
  ];
  it('pad (constant, reflect) forward and backward', async () => {
    for (const [shape, pads, mode, value] of PADS) {
      await checkOp({
        name: `pad ${mode} [${shape}] by [${pads}]`,
        inputs: [{ shape }],
        gpu: (x) => pad(x, pads, { mode, value }),
        ref: (x) => padRef(x, pads, mode, value),
        refGrad: (g, x) => [padGrad(g, x, pads, mode)],
      });
    }
  });
  it('repeat forward and backward (the tiles sum)', async () => {
    for (const [shape, repeats] of [[[2, 3], [2, 3]], [[3], [2, 1, 2]], [[2, 1, 3], [1, 4, 1]], [[5, 7], [1, 1]], [[2, 3], [3, 1, 1]]] as [number[], number[]][]) {
      await checkOp({
        name: `repeat [${shape}] by [${repeats}]`,
        inputs: [{ shape }],
        gpu: (x) => repeat(x, repeats),
        ref: (x) => repeatRef(x, repeats),
        refGrad: (g, x) => [repeatGrad(g, x, repeats)],
      });
    }
  });
  it('oneHot gives int32 rows with a 1 at each index', async () => {
    const idx = [3, 0, 6, 6, 2, 1, 5];
    const y = oneHot(E.tensor(new Int32Array(idx), [7]), 7);
    expect(y.dtype).toBe('int32');
    expect(y.shape).toEqual([7, 7]);
    expect([...(await y.toArray())]).toEqual([...oneHotRef(arr([7], idx), 7).data]);
    y.dispose();
  });
  it('oneHot reports an out-of-range index at the next readback; its row is 0', async () => {
    const y = oneHot(E.tensor(new Int32Array([1, -1, 2]), [3]), 3);
    await expect(y.toArray()).rejects.toThrow(/oneHot: index -1 is outside the valid range \[0, 3\).*class indices must be in \[0, numClasses\)/);
    expect([...(await y.toArray())]).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 1]);
    await E.sync();
    y.dispose();
  });
  it('errors name the op, the shapes, the value and the fix', () => {
    E.scope(() => {
      const x = E.zeros([2, 3]);
      expect(() => pad(x, [1])).toThrow(/pad: pads must be an even-length list of non-negative integers.*got \[1\] for input \[2, 3\]/);
      expect(() => pad(x, [1, 1, 1, 1, 1, 1])).toThrow(/at most 2 \* rank \(4\) long/);
      expect(() => pad(x, [3, 0], { mode: 'reflect' })).toThrow(/pad: reflect padding \(3, 0\) of dimension 1 must be smaller than its size 3 \(input \[2, 3\]\)/);
      expect(() => pad(x, [-1, 0])).toThrow(/crop with narrow/);
      expect(() => repeat(x, [2])).toThrow(/repeat: repeats must list a non-negative integer for each of the 2 dimensions of \[2, 3\].*got \[2\]/);
      expect(() => oneHot(x, 3)).toThrow(/oneHot: indices must be an int32 tensor, got float32 \(shape \[2, 3\]\) \(convert with toInt\(\)\)/);
      expect(() => oneHot(E.tensor(new Int32Array([0]), [1]), 0)).toThrow(/oneHot: numClasses must be a positive integer, got 0/);
    });
  });
});

describe('pad, repeat and oneHot match PyTorch 1.13 (fixtures)', () => {
  const path = fileURLToPath(new URL('../fixtures/breadth/pad_fixtures.json', import.meta.url));
  const fx = JSON.parse(readFileSync(path, 'utf8')) as {
    cases: { name: string; op: 'pad' | 'repeat'; args: { pads?: number[]; mode?: 'constant' | 'reflect'; value?: number; repeats?: number[] }; x: Encoded; out: Encoded; upstream: Encoded; gx: Encoded }[];
    oneHot: { name: string; indices: { shape: number[]; data: number[] }; numClasses: number; out: { shape: number[]; data: number[] }; dtype: string }[];
  };
  for (const c of fx.cases) {
    it(c.name, async () => {
      const x = t(c.x, true);
      const out = c.op === 'pad' ? pad(x, c.args.pads!, { mode: c.args.mode, value: c.args.value }) : repeat(x, c.args.repeats!);
      expect(out.shape).toEqual(c.out.shape);
      const up = t(c.upstream);
      E.scope(() => E.backward(E.sum(E.mul(out, up))));
      expectMatches(await out.toArray() as Float32Array, c.out, `${c.name} out`);
      expectMatches(await x.grad!.toArray() as Float32Array, c.gx, `${c.name} grad x`);
      for (const z of [x, out, up]) z.dispose();
    });
  }
  for (const c of fx.oneHot) {
    it(`${c.name} (PyTorch ${c.dtype}, engram int32)`, async () => {
      const y = oneHot(E.tensor(Int32Array.from(c.indices.data), c.indices.shape), c.numClasses);
      expect(y.shape).toEqual(c.out.shape);
      expect([...(await y.toArray())]).toEqual(c.out.data);
      y.dispose();
    });
  }
});

describe('sort, argsort and topk match the float64 reference', () => {
  const CASES: [number[], number, boolean][] = [[[3, 7], 1, false], [[4, 5, 6], 0, true], [[4, 5, 6], -2, false], [[2, 300], 1, true], [[9], 0, false], [[1, 1], 1, false]];
  it('sort values and indices, gradient to the source elements', async () => {
    for (const [shape, dim, descending] of CASES) {
      await checkOp({
        name: `sort [${shape}] dim ${dim}${descending ? ' descending' : ''}`,
        inputs: [{ shape }],
        gpu: (x) => sort(x, dim, descending).values,
        ref: (x) => sortRef(x, dim, descending).values,
        refGrad: (g, x) => [sortGrad(g, x, dim, descending)],
      });
      const gen = new E.Generator(3);
      const n = shape.reduce((a, b) => a * b, 1);
      const vals = Float32Array.from({ length: n }, () => Math.round(gen.next() * 6) / 2); // many ties
      const x = E.tensor(vals, shape);
      const idx = argsort(x, dim, descending);
      expect(idx.dtype).toBe('int32');
      expect([...(await idx.toArray())], `argsort [${shape}] with ties`).toEqual([...sortRef(arr(shape, vals), dim, descending).indices.data]);
      for (const z of [x, idx]) z.dispose();
    }
  });
  it('topk (largest and smallest), gradient to the selected elements', async () => {
    for (const [shape, k, dim, largest] of [[[4, 9], 3, 1, true], [[5, 3, 2], 2, 0, false], [[2, 300], 17, -1, true], [[6], 6, 0, false]] as [number[], number, number, boolean][]) {
      await checkOp({
        name: `topk [${shape}] k ${k} dim ${dim}${largest ? '' : ' smallest'}`,
        inputs: [{ shape }],
        gpu: (x) => topk(x, k, dim, largest).values,
        ref: (x) => sortRef(x, dim, largest, k).values,
        refGrad: (g, x) => [sortGrad(g, x, dim, largest, k)],
      });
    }
  });
  it('errors name the op, the value and the range', () => {
    E.scope(() => {
      expect(() => topk(E.zeros([2, 3]), 4)).toThrow(/topk: k must be an integer in \[0, 3\] \(the size of dimension 1 of \[2, 3\]\), got 4/);
      expect(() => sort(E.tensor(new Int32Array([1]), [1]))).toThrow(/sort: expects a float32 input, got int32/);
    });
  });
});

describe('sort and topk match PyTorch 1.13 (fixtures)', () => {
  const path = fileURLToPath(new URL('../fixtures/breadth/pad_fixtures.json', import.meta.url));
  const fx = JSON.parse(readFileSync(path, 'utf8')) as {
    sort: { name: string; op: 'sort' | 'topk'; args: { dim: number; descending?: boolean; k?: number; largest?: boolean }; x: Encoded; values: Encoded; indices: { shape: number[]; data: number[] }; upstream: Encoded; gx: Encoded }[];
  };
  for (const c of fx.sort) {
    it(c.name, async () => {
      const x = t(c.x, true);
      const a = c.args;
      const r = c.op === 'sort' ? sort(x, a.dim, a.descending) : topk(x, a.k!, a.dim, a.largest);
      const up = t(c.upstream);
      E.scope(() => E.backward(E.sum(E.mul(r.values, up))));
      expectMatches(await r.values.toArray() as Float32Array, c.values, `${c.name} values`);
      expect([...(await r.indices.toArray())], `${c.name} indices`).toEqual(c.indices.data);
      expectMatches(await x.grad!.toArray() as Float32Array, c.gx, `${c.name} grad x`);
      for (const z of [x, r.values, r.indices, up]) z.dispose();
    });
  }
});

describe('the new ops free their intermediates', () => {
  it('forward and backward leave no tensors behind once the results are disposed', async () => {
    const x = E.tensor(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), [2, 3, 4], { requiresGrad: true });
    const w = E.ones([4], { requiresGrad: true });
    const idx = E.tensor(new Int32Array([0, 2, 1]), [3]);
    const xw = E.reshape(x, [6, 4]);
    const valuesOnly = (r: { values: E.Tensor; indices: E.Tensor }): E.Tensor => {
      r.indices.dispose();
      return r.values;
    };
    const bigIdx = E.tensor(Int32Array.from({ length: 40 }, (_, i) => (i * 7) % 300), [5, 8]);
    const big = E.zeros([300, 8], { requiresGrad: true }); // large enough for the sorted backward
    expect(useSortedBackward(300, 8, 40)).toBe(true);
    await E.sync();
    // undisposed counts exactly the window's leaks (tensors also drops when the garbage collector
    // frees older garbage meanwhile).
    const before = E.memory().undisposed;
    const runs: (() => E.Tensor)[] = [
      () => layerNorm(x, [4], w, w), () => groupNorm(x, 3), () => embedding(idx, xw), () => embedding(bigIdx, big),
      () => variance(x, [0, 2]), () => std(x, 1, { keepdim: true }), () => logsumexp(x, [0, 2]), () => cumsum(x, 1),
      () => pad(x, [1, 1, 2, 0], { mode: 'reflect' }), () => repeat(x, [2, 1, 1]), () => valuesOnly(sort(x, 1)), () => valuesOnly(topk(x, 2)),
    ];
    for (const run of runs) {
      // No scope here: a scope would dispose what an op leaks and hide it.
      const y = run();
      const total = E.sum(y);
      E.backward(total);
      total.dispose();
      y.dispose();
      x.grad?.dispose();
      x.grad = null;
      w.grad?.dispose();
      w.grad = null;
      big.grad?.dispose();
      big.grad = null;
      await E.sync();
      expect(E.memory().undisposed, run.toString()).toBe(before);
    }
    for (const z of [xw, x, w, idx, bigIdx, big]) z.dispose();
  });
});
