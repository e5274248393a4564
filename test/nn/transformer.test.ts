// MultiheadAttention and TransformerEncoderLayer against PyTorch 1.13 (test/fixtures/breadth/attention_fixtures.json,
// from make_attention_fixtures.py): a torch state_dict loads into engram's module (same keys), and the
// outputs, attention weights and the gradients of every input and parameter match within 1e-5.

import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { MultiheadAttention, TransformerEncoderLayer } from '../../src/nn/index.js';
import { useGPU } from '../helpers/gpu.js';
import { loadAttentionFixtures, toTensor, expectTorch, type Encoded } from '../helpers/attention-fixtures.js';

useGPU();

const fx = loadAttentionFixtures();

function stateDict(c: Record<string, unknown>): Map<string, E.Tensor> {
  return new Map(Object.entries(c.stateDict as Record<string, Encoded>).map(([k, v]) => [k, toTensor(v)]));
}

async function expectParamGrads(m: E.Module, c: Record<string, unknown>): Promise<void> {
  const want = c.gparams as Record<string, Encoded>;
  const names = m.namedParameters().map(([k]) => k);
  expect(names.sort()).toEqual(Object.keys(want).sort());
  for (const [k, p] of m.namedParameters()) await expectTorch(p.grad!, want[k]!, `grad ${k}`);
}

describe('MultiheadAttention matches torch.nn.MultiheadAttention with its state_dict', () => {
  for (const c of fx.mha) {
    it(String(c.name), async () => {
      const enc = (k: string) => c[k] as Encoded;
      const m = new MultiheadAttention(c.embedDim as number, c.numHeads as number, { bias: c.bias as boolean, batchFirst: c.batchFirst as boolean });
      expect([...m.stateDict().keys()].sort()).toEqual(Object.keys(c.stateDict as object).sort());
      await E.scope(async () => {
        m.loadStateDict(stateDict(c));
        const q = toTensor(enc('query')).requiresGrad_();
        const k = c.selfAttn ? q : toTensor(enc('key')).requiresGrad_();
        const v = c.selfAttn ? q : toTensor(enc('value')).requiresGrad_();
        const attnMask = c.attnMask ? toTensor(enc('attnMask'), c.attnMaskKind === 'bool' ? 'int32' : 'float32') : null;
        const keyPaddingMask = c.keyPaddingMask ? toTensor(enc('keyPaddingMask'), 'int32') : null;
        const { output, weights } = m.forwardWithWeights(q, k, v, { attnMask, keyPaddingMask });
        await expectTorch(output, enc('out'), 'output');
        await expectTorch(weights!, enc('weights'), 'weights');
        // forward (no weights: the scaledDotProductAttention path) gives the same output
        await expectTorch(m.forward(q, k, v, keyPaddingMask, attnMask), enc('out'), 'forward output');
        output.backward(toTensor(enc('upstream')));
        await expectTorch(q.grad!, enc('gquery'), 'grad query');
        if (!c.selfAttn) {
          await expectTorch(k.grad!, enc('gkey'), 'grad key');
          await expectTorch(v.grad!, enc('gvalue'), 'grad value');
        }
        await expectParamGrads(m, c);
      });
      m.dispose();
    });
  }

  it('unbatched [L, E] input equals a batch of one; averageAttnWeights: false gives per-head weights', async () => {
    const m = new MultiheadAttention(8, 2, { generator: new E.Generator(5) });
    await E.scope(async () => {
      const x = E.randn([3, 8], { generator: new E.Generator(6) });
      const a = m.forwardWithWeights(x, x, x);
      const b = m.forwardWithWeights(E.unsqueeze(x, 1), E.unsqueeze(x, 1), E.unsqueeze(x, 1), { averageAttnWeights: false });
      expect(a.output.shape).toEqual([3, 8]);
      expect(a.weights!.shape).toEqual([3, 3]);
      expect(b.weights!.shape).toEqual([1, 2, 3, 3]);
      const [ao, bo] = [await a.output.toArray(), await b.output.toArray()];
      ao.forEach((x, i) => expect(x).toBeCloseTo(bo[i]!, 6));
    });
    m.dispose();
  });

  it('rejects embedDim not divisible by numHeads and mis-shaped inputs and masks', () => {
    expect(() => new MultiheadAttention(6, 4)).toThrow(/divisible/);
    const m = new MultiheadAttention(4, 2);
    expect(() => m.forward(E.zeros([2, 3, 5]))).toThrow(/query must be/);
    expect(() => m.forward(E.zeros([2, 3, 4]), undefined, undefined, null, E.zeros([3, 3]))).toThrow(/attnMask must be \[2, 2\]/);
    expect(() => m.forward(E.zeros([2, 3, 4]), undefined, undefined, E.zeros([2, 2]))).toThrow(/keyPaddingMask must be \[3, 2\]/);
    m.dispose();
  });
});

describe('TransformerEncoderLayer matches torch.nn.TransformerEncoderLayer (eval mode) with its state_dict', () => {
  for (const c of fx.encoder) {
    it(String(c.name), async () => {
      const enc = (k: string) => c[k] as Encoded;
      const m = new TransformerEncoderLayer(c.dModel as number, c.nhead as number, {
        dimFeedforward: c.dimFeedforward as number, activation: c.activation as 'relu' | 'gelu',
        normFirst: c.normFirst as boolean, batchFirst: c.batchFirst as boolean,
      }).eval();
      await E.scope(async () => {
        m.loadStateDict(stateDict(c));
        const x = toTensor(enc('x')).requiresGrad_();
        const out = m.forward(x, c.mask ? toTensor(enc('mask')) : null);
        await expectTorch(out, enc('out'), 'output');
        out.backward(toTensor(enc('upstream')));
        await expectTorch(x.grad!, enc('gx'), 'grad x');
        await expectParamGrads(m, c);
      });
      m.dispose();
    });
  }

  it('training mode applies dropout (outputs differ from eval), keys as PyTorch', async () => {
    const m = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.5, generator: new E.Generator(1) });
    expect([...m.stateDict().keys()]).toEqual([
      'self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
      'linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias', 'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias',
    ]);
    await E.scope(async () => {
      const x = E.randn([4, 2, 8], { generator: new E.Generator(2) });
      const train = await m.forward(x).toArray();
      const ev = await m.eval().forward(x).toArray();
      expect(train.some((v, i) => Math.abs(v - ev[i]!) > 1e-3)).toBe(true);
    });
    m.dispose();
  });
});
