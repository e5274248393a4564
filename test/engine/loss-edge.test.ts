// PyTorch parity at the edges for the losses and reductions: every case of
// test/fixtures/edge/loss_edge_fixtures.json (written by make_loss_edge_fixtures.py beside it, from
// PyTorch's float32 CPU results) is run on the GPU, and engram's output, indices and input gradient
// must equal PyTorch's: bitwise for NaN, the infinities and the sign of zeros, within 1e-5
// relative otherwise, widened by "f32err" where the fixture gives it: PyTorch's own float32 error
// there (largest |float32 - float64| over the tensor), for results that cancel. "~0" marks a PyTorch result that underflowed (zero or subnormal in float32,
// not zero in float64): WGSL lets a GPU flush subnormals, and the sign PyTorch gives such a zero
// depends on its CPU vectorization, so any magnitude below 2^-126 matches it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

type Num = number | 'NaN' | 'Infinity' | '-Infinity' | '-0' | '~0';
interface Encoded {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Num[];
  /** The largest |PyTorch float32 - float64| over the tensor, where computed. */
  f32err?: number;
}
interface Case {
  name: string;
  op: 'crossEntropy' | 'nllLoss' | 'softmax' | 'logSoftmax' | 'max' | 'min' | 'amax' | 'amin' | 'argmax' | 'argmin' | 'sum' | 'mean';
  x: Encoded;
  out: Encoded;
  indices?: Encoded;
  upstream?: Encoded;
  grad?: Encoded;
  target?: Encoded;
  weight?: Encoded;
  opts?: { reduction: 'mean' | 'sum' | 'none'; ignoreIndex?: number; labelSmoothing?: number };
  dim?: number | number[];
  keepdim?: boolean;
}

const path = fileURLToPath(new URL('../fixtures/edge/loss_edge_fixtures.json', import.meta.url));
const doc = JSON.parse(readFileSync(path, 'utf8')) as { torch: string; cases: Case[] };

/** The smallest normal float32: below it a GPU may flush to zero. */
const TINY = 2 ** -126;
/** Stands for "~0" among decoded expectations (not a float32, so it never equals a result). */
const UNDERFLOW = Number.MIN_VALUE;
const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0, '~0': UNDERFLOW };
const decode = (e: Encoded): number[] => e.data.map((v) => (typeof v === 'number' ? v : SPECIAL[v]!));
const toTensor = (e: Encoded): E.Tensor =>
  E.tensor(e.dtype === 'int32' ? Int32Array.from(decode(e)) : Float32Array.from(decode(e)), e.shape, { dtype: e.dtype });

/** Every mismatch, described; bitwise for NaN, +-inf and signed zeros, 1e-5 relative otherwise. */
function mismatches(what: string, actual: ArrayLike<number>, expected: number[], slack = 0): string[] {
  const out: string[] = [];
  if (actual.length !== expected.length) return [`${what}: ${actual.length} elements, PyTorch has ${expected.length}`];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    let ok: boolean;
    if (e === UNDERFLOW) ok = Math.abs(a) < TINY;
    else if (Number.isNaN(e) || !Number.isFinite(e) || e === 0) ok = Object.is(a, e);
    else ok = Math.abs(a - e) <= 1e-5 * Math.abs(e) + slack;
    if (!ok) out.push(`${what}[${i}] = ${Object.is(a, -0) ? '-0' : a}, PyTorch ${e === UNDERFLOW ? '~0 (underflow)' : Object.is(e, -0) ? '-0' : e}`);
  }
  return out;
}

function run(c: Case, x: E.Tensor): { out: E.Tensor; indices?: E.Tensor } {
  switch (c.op) {
    case 'crossEntropy':
    case 'nllLoss': {
      const opts = { ...c.opts!, weight: c.weight ? toTensor(c.weight) : undefined };
      return { out: c.op === 'crossEntropy' ? E.crossEntropy(x, toTensor(c.target!), opts) : E.nllLoss(x, toTensor(c.target!), opts) };
    }
    case 'softmax':
    case 'logSoftmax':
      return { out: E[c.op](x, c.dim as number) };
    case 'max':
    case 'min': {
      if (c.dim === undefined) return { out: E[c.op](x) };
      const r = E[c.op](x, c.dim as number, c.keepdim);
      return { out: r.values, indices: r.indices };
    }
    case 'argmax':
    case 'argmin': {
      const r = E[c.op](x, c.dim as number | undefined, c.keepdim);
      return { out: r.toFloat(), indices: r };
    }
    default:
      return { out: E[c.op](x, c.dim, c.keepdim) };
  }
}

describe(`losses and reductions equal PyTorch ${doc.torch} at the edges (${doc.cases.length} fixture cases)`, () => {
  for (const c of doc.cases) {
    it(`${c.op}: ${c.name}`, async () => {
      await E.scope(async () => {
        const x = toTensor(c.x);
        if (c.grad) x.requiresGrad_();
        const { out, indices } = run(c, x);
        expect([...out.shape], 'output shape').toEqual(c.out.shape);
        const bad = mismatches('out', await out.toArray(), decode(c.out), c.out.f32err);
        if (c.indices) {
          expect(indices, 'indices returned').toBeDefined();
          expect(indices!.dtype).toBe('int32');
          expect([...indices!.shape], 'indices shape').toEqual(c.indices.shape);
          bad.push(...mismatches('indices', await indices!.toArray(), decode(c.indices)));
        }
        if (c.grad) {
          out.backward(toTensor(c.upstream!));
          const g = x.grad ? await x.grad.toArray() : new Float32Array(x.size);
          bad.push(...mismatches('grad', g, decode(c.grad), c.grad.f32err));
          x.grad?.dispose();
        }
        expect(bad, `${c.op}: ${c.name}`).toEqual([]);
      });
    });
  }
});
