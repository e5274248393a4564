// Runs inside headless Chromium on the page's navigator.gpu: one forward+backward check per kernel
// family against the same float64 references and gradient checker the Node suite uses. The full
// shape sweeps live in test/engine/; here shapes are tiny (SwiftShader runs ~0.08 GFLOP/s and
// compiles a pipeline in up to ~1 s) but still include 1, primes and sizes off the workgroup size.
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { checkOp } from '../helpers/gradcheck.js';
import { unaryRef, binaryRef } from '../reference/elementwise.js';
import { reduceRef } from '../reference/reduce.js';
import { softmaxRef, crossEntropyRef } from '../reference/softmax.js';
import { matmulRef, matmulRefGrad, linearRef, linearRefGrad } from '../reference/matmul.js';
import { permuteRef, sliceRef, concatRef, indexSelectRef } from '../reference/shape.js';
import { conv2dRef } from '../reference/conv.js';
import { batchNormForward, batchNormGrad } from '../reference/batchnorm.js';
import { maxPoolRef, avgPoolRef, adaptiveAvgPoolRef } from '../reference/pool.js';
import { dropoutRef, keepMaskRef } from '../reference/dropout.js';
import { chainRef, type Dual } from '../reference/fused.js';
import { arr, type Arr } from '../reference/arr.js';
import { useBrowserGPU } from './helpers.js';

useBrowserGPU();

describe('elementwise', () => {
  it('unary ops (exp, log, relu, sigmoid, tanh, pow) over [1], [7], [3, 37]', async () => {
    const cases: [string, (x: E.Tensor) => E.Tensor, number, number, number?][] = [
      ['exp', E.exp, -1, 1],
      ['log', E.log, 0.1, 3],
      ['relu', E.relu, -1, 1],
      ['sigmoid', E.sigmoid, -4, 4],
      ['tanh', E.tanh, -3, 3],
      ['pow', (x) => E.pow(x, 3), 0.3, 2, 3],
    ];
    for (const [name, fn, low, high, a] of cases) {
      const r = unaryRef(name, a);
      for (const shape of [[1], [7], [3, 37]]) {
        await checkOp({ name: `${name} [${shape}]`, inputs: [{ shape, low, high }], gpu: fn, ref: r.forward, refGrad: r.grad });
      }
    }
  });

  it('binary ops broadcast like PyTorch (gradients reduced to each input shape)', async () => {
    const pairs: [number[], number[]][] = [[[7], [7]], [[3, 5], [5]], [[3, 1], [1, 5]], [[2, 3, 37], [3, 1]]];
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum'] as const) {
      const r = binaryRef(op);
      for (const [sa, sb] of pairs) {
        await checkOp({
          name: `${op} [${sa}] [${sb}]`,
          inputs: [{ shape: sa }, op === 'div' ? { shape: sb, low: 0.5, high: 2 } : { shape: sb }],
          gpu: (a, b) => E[op](a!, b!),
          ref: r.forward,
          refGrad: r.grad,
        });
      }
    }
  });
});

describe('fuse', () => {
  it('a fused elementwise chain with broadcasting matches the float64 reference in one forward kernel', async () => {
    const chain = <T extends { mul(o: T | number): T; add(o: T | number): T; tanh(): T; maximum(o: T): T; pow(p: number): T; div(o: T): T; sigmoid(): T }>(x: T, b: T): T =>
      x.mul(b).add(1).tanh().maximum(b.pow(2)).div(x.sigmoid());
    const fused = E.fuse((x, b) => chain(x, b));
    const ref = chainRef((x: Dual, b: Dual) => chain(x, b));
    for (const [sx, sb] of [[[1], [1]], [[3, 37], [37]], [[3, 1, 4], [1, 6, 1]]]) {
      await checkOp({ name: `fused chain [${sx}] [${sb}]`, inputs: [{ shape: sx! }, { shape: sb! }], gpu: (x, b) => fused(x!, b!), ref: ref.forward, refGrad: ref.grad });
    }
    const rt = E.runtime();
    const before = rt.counters.dispatches;
    E.scope(() => fused(E.zeros([5]), E.ones([5])));
    expect(rt.counters.dispatches - before).toBe(1 + 2); // the two fills, then one fused kernel
  });
});

describe('reductions', () => {
  it('sum, mean, amax, amin over all elements and along dims', async () => {
    const cases: [number[], number | number[] | undefined, boolean][] = [
      [[1], undefined, false],
      [[257], undefined, false],
      [[3, 37], 1, true],
      [[2, 3, 7], [0, 2], false],
    ];
    for (const op of ['sum', 'mean', 'amax', 'amin'] as const) {
      for (const [shape, dim, keepdim] of cases) {
        const r = reduceRef(op, dim, keepdim);
        await checkOp({
          name: `${op} [${shape}] dim ${JSON.stringify(dim)}`,
          inputs: [{ shape }],
          gpu: (x) => E[op](x, dim, keepdim),
          ref: r.forward,
          refGrad: r.grad,
          fdSamples: 16,
          fwdTol: { atol: 1e-5, rtol: 1e-5 },
        });
      }
    }
  });

  it('argmax along a dim', async () => {
    const x = E.tensor([0.5, 3, -1, 2, 7, 7.5, -4, 0], [2, 4]);
    expect([...(await E.argmax(x, 1).toArray())]).toEqual([1, 1]);
  });
});

describe('softmax and crossEntropy', () => {
  it('softmax and logSoftmax along the last and a middle dim', async () => {
    for (const log of [false, true]) {
      for (const [shape, dim] of [[[5, 37], -1], [[2, 7, 3], 1]] as [number[], number][]) {
        const r = softmaxRef(log, dim);
        await checkOp({
          name: `${log ? 'logSoftmax' : 'softmax'} [${shape}] dim ${dim}`,
          inputs: [{ shape, low: -3, high: 3 }],
          gpu: (x) => (log ? E.logSoftmax(x, dim) : E.softmax(x, dim)),
          ref: r.forward,
          refGrad: r.grad,
          fdSamples: 16,
        });
      }
    }
  });

  it('crossEntropy with mean, sum and none reductions', async () => {
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const r = crossEntropyRef(reduction);
      for (const [n, c] of [[1, 3], [5, 10], [7, 37]] as [number, number][]) {
        await checkOp({
          name: `crossEntropy ${reduction} N=${n} C=${c}`,
          inputs: [{ shape: [n, c], low: -4, high: 4 }, { shape: [n], dtype: 'int32', low: 0, high: c }],
          gpu: (x, y) => E.crossEntropy(x, y, { reduction }),
          ref: r.forward,
          refGrad: r.grad,
          fdSamples: 16,
        });
      }
    }
  });
});

describe('matmul and linear', () => {
  it('matmul: vectors, matrices, batched with broadcasting', async () => {
    const cases: [number[], number[]][] = [[[7], [7]], [[1, 1], [1, 1]], [[5, 7], [7, 3]], [[37, 13], [13, 11]], [[2, 3, 5], [5, 4]], [[2, 1, 3, 5], [3, 5, 2]]];
    for (const [sa, sb] of cases) {
      await checkOp({ name: `matmul [${sa}] @ [${sb}]`, inputs: [{ shape: sa }, { shape: sb }], gpu: E.matmul, ref: matmulRef, refGrad: matmulRefGrad, fdSamples: 16 });
    }
  });

  it('linear with and without bias', async () => {
    for (const [xs, out, withBias] of [[[5, 7], 3, true], [[2, 3, 13], 11, false], [[1, 1], 1, true]] as [number[], number, boolean][]) {
      const inF = xs[xs.length - 1]!;
      await checkOp({
        name: `linear [${xs}] -> ${out}${withBias ? ' + bias' : ''}`,
        inputs: [{ shape: xs }, { shape: [out, inF] }, ...(withBias ? [{ shape: [out] }] : [])],
        gpu: (x, w, b) => E.linear(x!, w!, b),
        ref: (x, w, b) => linearRef(x!, w!, b),
        refGrad: (g, x, w, b) => linearRefGrad(g, x!, w!, b),
        fdSamples: 16,
      });
    }
  });

  it('linear with the fused ReLU equals relu(linear)', async () => {
    const relu = (a: Arr): Arr => arr(a.shape, a.data.map((v) => Math.max(v, 0)));
    const mask = (g: Arr, pre: Arr): Arr => arr(g.shape, g.data.map((v, i) => (pre.data[i]! > 0 ? v : 0)));
    await checkOp({
      name: 'linear+relu [5,7] -> 3',
      inputs: [{ shape: [5, 7] }, { shape: [3, 7] }, { shape: [3] }],
      gpu: (x, w, b) => E.linear(x!, w!, b, { relu: true }),
      ref: (x, w, b) => relu(linearRef(x!, w!, b)),
      refGrad: (g, x, w, b) => linearRefGrad(mask(g, linearRef(x!, w!, b)), x!, w!, b),
      fdSamples: 16,
    });
  });
});

describe('shape ops', () => {
  it('permute, slice, concat and indexSelect', async () => {
    const p = permuteRef([2, 0, 1]);
    await checkOp({ name: 'permute [2,3,37] (2,0,1)', inputs: [{ shape: [2, 3, 37] }], gpu: (x) => E.permute(x, [2, 0, 1]), ref: p.forward, refGrad: p.grad });
    const s = sliceRef(1, 2, 100, 5);
    await checkOp({ name: 'slice [4,131] dim 1 2:100:5', inputs: [{ shape: [4, 131] }], gpu: (x) => E.slice(x, 1, 2, 100, 5), ref: s.forward, refGrad: s.grad });
    const c = concatRef(1);
    await checkOp({
      name: 'concat [3,2] [3,7] [3,1] dim 1',
      inputs: [{ shape: [3, 2] }, { shape: [3, 7] }, { shape: [3, 1] }],
      gpu: (a, b, d) => E.concat([a!, b!, d!], 1),
      ref: c.forward,
      refGrad: c.grad,
    });
    const ix = indexSelectRef(1);
    await checkOp({
      name: 'indexSelect [4,37] dim 1 (repeated indices)',
      inputs: [{ shape: [4, 37] }, { shape: [6], dtype: 'int32', values: [36, 0, 0, 5, 36, 17] }],
      gpu: (x, i) => E.indexSelect(x, 1, i!),
      ref: ix.forward,
      refGrad: ix.grad,
    });
  });
});

describe('conv2d', () => {
  it('padding, stride, dilation, batch and bias', async () => {
    const cases: { x: number[]; w: number[]; bias: boolean; o: E.Conv2dOptions }[] = [
      { x: [1, 1, 5, 5], w: [1, 1, 1, 1], bias: true, o: {} },
      { x: [2, 3, 7, 5], w: [5, 3, 3, 3], bias: true, o: { padding: 1 } },
      { x: [1, 2, 7, 9], w: [3, 2, 3, 3], bias: false, o: { stride: 2, padding: 2, dilation: 2 } },
    ];
    for (const c of cases) {
      const r = conv2dRef(c.o);
      await checkOp({
        name: `conv2d x [${c.x}] w [${c.w}] ${JSON.stringify(c.o)}`,
        inputs: [{ shape: c.x }, { shape: c.w }, ...(c.bias ? [{ shape: [c.w[0]!] }] : [])],
        gpu: (x, w, b) => E.conv2d(x!, w!, b, c.o),
        ref: (x, w, b) => r.forward(x!, w!, b),
        refGrad: (g, x, w, b) => r.grad(g, x!, w!, b),
        fdSamples: 16,
      });
    }
  });
});

describe('batchNorm', () => {
  it('training mode with affine and running stats, and eval mode', async () => {
    for (const shape of [[5, 3], [2, 3, 7], [2, 3, 5, 5]]) {
      const C = shape[1]!;
      const train = { training: true, eps: 1e-3, momentum: 0.2 };
      await checkOp({
        name: `batchNorm train affine [${shape}]`,
        inputs: [{ shape, low: -2, high: 3 }, { shape: [C], grad: false }, { shape: [C], low: 0.5, high: 2, grad: false }, { shape: [C], low: 0.5, high: 1.5 }, { shape: [C] }],
        gpu: (x, rm, rv, w, b) => E.batchNorm(x, rm!, rv!, w!, b!, train),
        ref: (x, rm, rv, w, b) => batchNormForward(x, rm!, rv!, w!, b!, train),
        refGrad: (g, x, rm, rv, w) => {
          const [dx, dw, db] = batchNormGrad(g, x, rm!, rv!, w!, train);
          return [dx, null, null, dw, db];
        },
        bwdTol: { atol: 2e-4, rtol: 2e-4 },
      });
      const ev = { training: false };
      await checkOp({
        name: `batchNorm eval [${shape}]`,
        inputs: [{ shape }, { shape: [C], grad: false }, { shape: [C], low: 0.3, high: 2, grad: false }],
        gpu: (x, rm, rv) => E.batchNorm(x, rm!, rv!, null, null, ev),
        ref: (x, rm, rv) => batchNormForward(x, rm!, rv!, null, null, ev),
        refGrad: (g, x, rm, rv) => [batchNormGrad(g, x, rm!, rv!, null, ev)[0], null, null],
      });
    }
  });
});

describe('pooling', () => {
  it('maxPool2d, avgPool2d and adaptiveAvgPool2d', async () => {
    const mp = maxPoolRef({ k: [3, 3], s: [2, 2], pad: [1, 1] });
    await checkOp({ name: 'maxPool2d [1,3,7,9] k3 s2 p1', inputs: [{ shape: [1, 3, 7, 9] }], gpu: (x) => E.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), ref: mp.forward, refGrad: mp.grad });
    const ap = avgPoolRef({ k: [2, 3], s: [1, 2], pad: [1, 1], countIncludePad: true });
    await checkOp({
      name: 'avgPool2d [2,2,5,7] k(2,3) s(1,2) p1',
      inputs: [{ shape: [2, 2, 5, 7] }],
      gpu: (x) => E.avgPool2d(x, { kernelSize: [2, 3], stride: [1, 2], padding: [1, 1] }),
      ref: ap.forward,
      refGrad: ap.grad,
    });
    const ad = adaptiveAvgPoolRef(2, 3);
    await checkOp({ name: 'adaptiveAvgPool2d [2,3,5,7] -> 2x3', inputs: [{ shape: [2, 3, 5, 7] }], gpu: (x) => E.adaptiveAvgPool2d(x, [2, 3]), ref: ad.forward, refGrad: ad.grad });
  });
});

describe('dropout', () => {
  it('matches the reference keep mask, forward and backward', async () => {
    for (const [shape, p, seed] of [[[1], 0.5, 5], [[3, 37], 0.3, 6], [[257], 0.7, 9]] as [number[], number, number][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const r = dropoutRef(p, keepMaskRef(n, p, seed, 0));
      await checkOp({ name: `dropout [${shape}] p=${p}`, inputs: [{ shape }], gpu: (x) => E.dropout(x, p, true, seed), ref: r.forward, refGrad: r.grad });
    }
  });
});
