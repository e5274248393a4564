// engram's implementation of the layer benchmark's rows (bench/layer-workloads.ts), used by
// bench/engram-peer.ts. Each row is built with the public API (nn modules, ops, optimizers) the way a
// user would write it. prepareLayer also records which kernels one run dispatches (Runtime.trace),
// so the benchmark's output names the kernels behind every row (e.g. depthwise convolution on its
// own kernels, attention on the fused ones) rather than asserting them.

import * as E from '../src/index.js';
import type { PeerRun } from './peer-types.js';
import type { LayerWorkload } from './layer-workloads.js';

/** Records `work`, submits it and waits for the device (engram-peer.ts's `timed`). */
export type Timed = (work: () => void) => Promise<{ recordMs: number; submitMs: number }>;

/** A built row: `forward` gives the output (or the loss), `leaves` are what receives gradients. */
interface Built {
  forward: () => E.Tensor;
  leaves: E.Tensor[];
  /** Everything to free when the row is done (inputs, module, dy, ...). */
  owned: Array<{ dispose(): void }>;
  /** A scalar output (losses): backward() without dy. */
  scalar?: boolean;
}

function build(w: LayerWorkload, gen: E.Generator): Built {
  const x = (shape = w.shape) => E.randn(shape, { generator: gen }).requiresGrad_(w.backward).keep();
  const layer = (m: E.Module, input: E.Tensor): Built => {
    m.train();
    return { forward: () => m.forward(input), leaves: [input, ...m.parameters()], owned: [m, input] };
  };
  const { p } = w;
  const C = w.shape[1]!;
  switch (w.layer) {
    case 'layerNorm': return layer(new E.LayerNorm(w.shape[w.shape.length - 1]!), x());
    case 'groupNorm': return layer(new E.GroupNorm(p.groups!, C), x());
    case 'embedding': {
      const idx = E.randint(0, p.vocab!, w.shape, { generator: gen }).keep();
      const m = new E.Embedding(p.vocab!, p.dim!);
      return { forward: () => m.forward(idx), leaves: m.parameters(), owned: [m, idx] };
    }
    case 'gelu': return layer(new E.GELU(), x());
    case 'silu': return layer(new E.SiLU(), x());
    case 'leakyRelu': return layer(new E.LeakyReLU(0.01), x());
    case 'elu': return layer(new E.ELU(1), x());
    case 'hardswish': return layer(new E.Hardswish(), x());
    case 'conv1d': return layer(new E.Conv1d(C, p.cout!, p.k!, { stride: p.stride, padding: p.pad, groups: p.groups }), x());
    case 'convTranspose2d': return layer(new E.ConvTranspose2d(C, p.cout!, p.k!, { stride: p.stride, padding: p.pad }), x());
    case 'depthwiseConv2d':
    case 'groupedConv2d':
    case 'conv2d': return layer(new E.Conv2d(C, p.cout!, p.k!, { stride: p.stride, padding: p.pad, groups: p.groups }), x());
    case 'sdpa': {
      const [q, k, v] = [x(), x(), x()];
      return { forward: () => E.scaledDotProductAttention(q, k, v), leaves: [q, k, v], owned: [q, k, v] };
    }
    case 'multiheadAttention': {
      const m = new E.MultiheadAttention(w.shape[2]!, p.heads!, { batchFirst: true });
      const input = x();
      m.train();
      return { forward: () => m.forward(input, input, input), leaves: [input, ...m.parameters()], owned: [m, input] };
    }
    case 'transformerEncoderLayer':
      return layer(new E.TransformerEncoderLayer(w.shape[2]!, p.heads!, { dimFeedforward: p.ff, dropout: p.dropout, batchFirst: true }), x());
    case 'mseLoss':
    case 'l1Loss':
    case 'smoothL1Loss': {
      const input = x();
      const target = E.randn(w.shape, { generator: gen }).keep();
      const f = w.layer === 'mseLoss' ? E.mseLoss : w.layer === 'l1Loss' ? E.l1Loss : E.smoothL1Loss;
      return { forward: () => f(input, target), leaves: [input], owned: [input, target], scalar: true };
    }
    case 'binaryCrossEntropy': {
      const input = E.uniform(w.shape, 0.01, 0.99, { generator: gen }).requiresGrad_().keep();
      const target = E.uniform(w.shape, 0, 1, { generator: gen }).keep();
      return { forward: () => E.binaryCrossEntropy(input, target), leaves: [input], owned: [input, target], scalar: true };
    }
    case 'klDiv': {
      const input = E.noGrad(() => E.logSoftmax(E.randn(w.shape, { generator: gen }), -1)).requiresGrad_().keep();
      const target = E.noGrad(() => E.softmax(E.randn(w.shape, { generator: gen }), -1)).keep();
      return { forward: () => E.klDiv(input, target, { reduction: 'batchmean' }), leaves: [input], owned: [input, target], scalar: true };
    }
    case 'rmsprop':
      throw new Error('rmsprop is an optimizer step, not a layer (see prepareLayer)');
  }
}

/** One RMSprop step on a weight and a bias with fixed random gradients. */
function prepareRmsprop(w: LayerWorkload, gen: E.Generator, timed: Timed): PeerRun {
  const params = [w.shape, [w.shape[0]!]].map((s) => E.randn(s, { generator: gen, requiresGrad: true }).keep());
  for (const t of params) t.grad = E.randn(t.shape, { generator: gen }).keep();
  const opt = new E.RMSprop(params, { lr: 0.01, alpha: 0.99, eps: 1e-8 });
  return {
    run: () => timed(() => opt.step()),
    dispose: () => { opt.dispose(); E.zeroGrad(params); for (const t of params) t.dispose(); },
  };
}

/** The kernel names one call of `record` dispatches, first use first, each once. */
export function kernelsOf(record: () => void): string[] {
  const rt = E.runtime();
  rt.trace = [];
  try {
    record();
    return [...new Set(rt.trace.map((d) => d.kernel.name))];
  } finally {
    rt.trace = null;
  }
}

/**
 * Builds row `w` for engram: `run` does one timed pass (fwd: under noGrad; fwd+bwd: forward, then
 * backward of sum(y * dy), gradients dropped before each run); `kernels` lists what one run dispatches.
 */
export async function prepareLayer(w: LayerWorkload, gen: E.Generator, timed: Timed): Promise<PeerRun & { kernels: string[] }> {
  let run: PeerRun;
  let record: () => void;
  if (w.layer === 'rmsprop') {
    run = prepareRmsprop(w, gen, timed);
    record = () => void run.run();
  } else {
    const b = build(w, gen);
    const dy = w.backward && !b.scalar ? E.noGrad(() => E.randn(b.forward().shape, { generator: gen })).keep() : null;
    const work = () => {
      if (!w.backward) return void E.noGrad(b.forward);
      E.zeroGrad(b.leaves);
      const y = b.forward();
      (dy ? E.sum(E.mul(y, dy)) : y).backward();
    };
    run = {
      run: () => timed(work),
      dispose: () => { E.zeroGrad(b.leaves); dy?.dispose(); for (const o of b.owned) o.dispose(); },
    };
    record = () => E.scope(work);
  }
  const kernels = kernelsOf(record);
  await E.sync();
  return { ...run, kernels };
}
