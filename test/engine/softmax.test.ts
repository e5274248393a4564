import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { arr } from '../reference/arr.js';
import { softmaxRef, crossEntropyRef, type Reduction, type LossRefOptions } from '../reference/softmax.js';

useGPU();

const vals = async (t: E.Tensor) => [...(await t.toArray())];
const int32 = (xs: number[]) => E.tensor(new Int32Array(xs), [xs.length]);

// 'row' mapping: inner == 1 and R >= 33 (a workgroup per row, rows longer than 256 included);
// 'col' mapping: everything else (a thread per row, strided when the dim is not the last).
const CASES: [number[], number][] = [
  [[], -1],
  [[1], 0],
  [[7], -1],
  [[3, 5], 0],
  [[3, 5], 1],
  [[3, 5], -1],
  [[2, 3, 37], 0],
  [[2, 3, 37], 1],
  [[2, 3, 37], -1],
  [[257], 0],
  [[4, 131], 1],
  [[4, 131], 0],
  [[2, 600], -1],
];

describe('softmax and logSoftmax match the float64 reference, forward and backward', () => {
  for (const log of [false, true]) {
    const name = log ? 'logSoftmax' : 'softmax';
    it(`${name} over ${CASES.length} shape/dim cases`, async () => {
      for (const [shape, dim] of CASES) {
        const r = softmaxRef(log, dim);
        await checkOp({
          name: `${name} [${shape}] dim ${dim}`,
          inputs: [{ shape, low: -3, high: 3 }],
          gpu: (x) => (log ? E.logSoftmax(x, dim) : E.softmax(x, dim)),
          ref: r.forward,
          refGrad: r.grad,
          fdSamples: 24,
        });
      }
    });
  }

  it('softmax rows sum to 1, also for large logits', async () => {
    for (const [shape, dim] of [[[6, 300], -1], [[5, 4, 3], 1], [[64, 10], 1]] as [number[], number][]) {
      const x = E.randn(shape, { std: 20, generator: new E.Generator(3) });
      const s = await vals(E.sum(E.softmax(x, dim), dim));
      for (const v of s) expect(v).toBeCloseTo(1, 5);
    }
  });

  it('stays finite for logits of +-50 and more', async () => {
    const x = E.tensor([[50, -50, 49], [1000, 0, -1000], [-80, -80, -80]]);
    const y = await vals(E.softmax(x));
    const ly = await vals(E.logSoftmax(x));
    expect(y.every(Number.isFinite)).toBe(true);
    expect(ly.every(Number.isFinite)).toBe(true);
    expect(y[3]).toBeCloseTo(1, 6);
    expect(ly[5]).toBeCloseTo(-2000, 1);
    expect(y[6]).toBeCloseTo(1 / 3, 6);
  });

  it('logSoftmax at logits around 1e3 is within float32 rounding of float64 (PyTorch computes (x - max) - log(sum) too)', async () => {
    const gen = new E.Generator(4);
    const xs = Float32Array.from({ length: 8 * 50 }, () => 1000 + (gen.next() * 2 - 1) * 4);
    const want = softmaxRef(true).forward(arr([8, 50], [...xs])).data;
    const got = await vals(E.logSoftmax(E.tensor(xs, [8, 50])));
    // x - max is exact and log(sum) is O(1): a few ulps of the O(10) result, not ulp(1e3) = 6e-5
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(4e-6));
  });

  it('Tensor methods default to the last dimension', async () => {
    const x = E.tensor([[0, Math.log(3)]]);
    const y = await vals(x.softmax());
    expect(y[0]).toBeCloseTo(0.25, 6);
    expect(y[1]).toBeCloseTo(0.75, 6);
    expect(await vals(x.logSoftmax(0))).toEqual([0, 0]);
  });

  it('errors name the op and the shape', () => {
    const x = E.zeros([2, 3]);
    expect(() => E.softmax(x, 2)).toThrow(/softmax: dimension 2 is out of range/);
    expect(() => E.logSoftmax(x, -3)).toThrow(/logSoftmax: dimension -3 is out of range/);
    expect(() => E.softmax(int32([1, 2]))).toThrow(/softmax: expects a float32 tensor, got int32 \(shape \[2\]\)/);
  });
});

describe('crossEntropy matches the float64 reference (PyTorch semantics)', () => {
  for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
    it(`reduction '${reduction}' for C in 1, 3, 10, 37 and N in 1, 5, 64`, async () => {
      const r = crossEntropyRef(reduction);
      for (const c of [1, 3, 10, 37]) {
        for (const n of [1, 5, 64]) {
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
  }

  it('large logits (+-50) give finite losses and gradients', async () => {
    for (const reduction of ['mean', 'none'] as Reduction[]) {
      const r = crossEntropyRef(reduction);
      for (const c of [3, 37]) {
        await checkOp({
          name: `crossEntropy ${reduction} large logits C=${c}`,
          inputs: [{ shape: [5, c], low: -50, high: 50 }, { shape: [5], dtype: 'int32', low: 0, high: c }],
          gpu: (x, y) => E.crossEntropy(x, y, { reduction }),
          ref: r.forward,
          refGrad: r.grad,
          fwdTol: { atol: 1e-4, rtol: 1e-5 },
          fdSamples: 16,
          fdTol: { atol: 1e-5, rtol: 1e-4 },
        });
      }
    }
  });

  it('default reduction is the mean, and equals -logSoftmax at the labels', async () => {
    const x = E.tensor([[2, 1, 0.5], [0, 0, 3]]);
    const loss = await E.crossEntropy(x, int32([0, 2])).item();
    const ls = await vals(E.logSoftmax(x));
    expect(loss).toBeCloseTo(-(ls[0]! + ls[5]!) / 2, 6);
  });

  it('an out-of-range label raises at the next readback (checked on the GPU, no extra readback), and its row (and a reduced loss, and its gradient) is NaN', async () => {
    const x = E.tensor([[1, 2, 3], [3, 2, 1], [0, 0, 0]]).requiresGrad_();
    const noneLoss = E.crossEntropy(x, int32([0, 3, -5]), { reduction: 'none' });
    await expect(noneLoss.toArray()).rejects.toThrow(/crossEntropy: target (3|-5) is outside the valid range \[0, 3\) .*one of 2 out-of-range reads.*ignoreIndex/);
    const none = await vals(noneLoss);
    expect(Number.isNaN(none[0]!)).toBe(false);
    expect(Number.isNaN(none[1]!)).toBe(true);
    expect(Number.isNaN(none[2]!)).toBe(true);
    const loss = E.crossEntropy(x, int32([0, 1, 7]), { reduction: 'sum' });
    await expect(loss.item()).rejects.toThrow(/crossEntropy: target 7 is outside the valid range \[0, 3\)/);
    expect(Number.isNaN(await loss.item())).toBe(true);
    loss.backward();
    const g = await vals(x.grad!);
    expect(g.slice(0, 6).every(Number.isFinite)).toBe(true);
    expect(g.slice(6).every(Number.isNaN)).toBe(true);
    // a mean divides by the summed weight of the counted rows, which the bad row makes NaN
    x.grad = null;
    E.crossEntropy(x, int32([0, 1, 7])).backward();
    await expect(E.sync()).rejects.toThrow(/crossEntropy: target 7/);
    expect((await vals(x.grad!)).every(Number.isNaN)).toBe(true);
    // nllLoss reports under its own name; ignoreIndex is not out of range
    const logp = E.logSoftmax(E.tensor([[1, 2], [2, 1]]), 1);
    await expect(E.nllLoss(logp, int32([1, 2])).item()).rejects.toThrow(/nllLoss: target 2 is outside the valid range \[0, 2\)/);
    expect(Number.isFinite(await E.nllLoss(logp, int32([1, -100])).item())).toBe(true);
  });

  it('errors name the op, the shapes and the fix', () => {
    const x = E.zeros([4, 3]);
    expect(() => E.crossEntropy(x, E.zeros([4]))).toThrow(/crossEntropy: logits \[4, 3\] and class probabilities \[4\] do not match; expected int32 class indices \[4\] or float32 probabilities \[4, 3\]/);
    expect(() => E.crossEntropy(x, int32([0, 1, 2]))).toThrow(/crossEntropy: logits \[4, 3\] and class indices \[3\] do not match; expected logits \[N, C\] and int32 class indices \[N\]/);
    expect(() => E.crossEntropy(E.zeros([12]), int32([0]))).toThrow(/crossEntropy: logits \[12\] must have shape \[N, C\]/);
    expect(() => E.crossEntropy(x, E.tensor(new Int32Array(4), [4, 1]))).toThrow(/logits \[4, 3\] and class indices \[4, 1\]/);
    expect(() => E.crossEntropy(int32([1, 2]), int32([0, 1]))).toThrow(/crossEntropy: logits must be float32, got int32/);
    expect(() => E.crossEntropy(E.zeros([2, 0]), int32([0, 0]))).toThrow(/crossEntropy: logits \[2, 0\] have no classes/);
    expect(() => E.crossEntropy(x, int32([0, 1, 2, 0]), { reduction: 'avg' as 'mean' })).toThrow(/reduction must be 'mean', 'sum' or 'none'/);
    expect(() => E.crossEntropy(x, E.zeros([4, 3]), { ignoreIndex: 0 })).toThrow(/crossEntropy: ignoreIndex applies to class index targets only.*PyTorch rejects it too/);
    expect(() => E.crossEntropy(x, int32([0, 1, 2, 0]), { weight: E.ones([4]) })).toThrow(/crossEntropy: weight must be a float32 tensor of shape \[3\] .*got float32 \[4\]/);
    expect(() => E.crossEntropy(x, int32([0, 1, 2, 0]), { labelSmoothing: 1.5 })).toThrow(/crossEntropy: labelSmoothing must be a number in \[0, 1\], got 1.5/);
    expect(() => E.crossEntropy(x, int32([0, 1, 2, 0]), { ignoreIndex: 0.5 })).toThrow(/crossEntropy: ignoreIndex must be an int32 integer, got 0.5/);
    expect(() => E.nllLoss(x, E.zeros([4, 3]))).toThrow(/nllLoss: the target must be int32 class indices \[N\], got float32 \[4, 3\]/);
    expect(() => E.nllLoss(x, int32([0, 1, 2, 0]), { labelSmoothing: 0.1 } as E.NllLossOptions)).toThrow(/nllLoss: labelSmoothing is a crossEntropy option/);
  });
});

describe('crossEntropy and nllLoss options match the float64 reference (PyTorch 1.13 semantics)', () => {
  // C = 37 and 300 take the workgroup-per-row mapping (300 > 256 threads), 1 and 3 a thread per row.
  const SHAPES: [number, number][] = [[1, 1], [5, 3], [17, 37], [3, 300]];
  const weightsFor = (c: number) => Array.from({ length: c }, (_, k) => 0.25 + ((k * 7) % 5) * 0.5);
  type Variant = { name: string; opts: LossRefOptions; labelsFrom?: number };
  const VARIANTS: Variant[] = [
    { name: 'weight', opts: { weight: [] } },
    // labels drawn from [-1, C): about one row in C + 1 is ignored
    { name: 'ignoreIndex -1', opts: { ignoreIndex: -1 }, labelsFrom: -1 },
    { name: 'weight + ignoreIndex', opts: { weight: [], ignoreIndex: -1 }, labelsFrom: -1 },
    { name: 'labelSmoothing 0.1', opts: { labelSmoothing: 0.1 } },
    { name: 'labelSmoothing 0.25 + weight + ignoreIndex', opts: { labelSmoothing: 0.25, weight: [], ignoreIndex: -1 }, labelsFrom: -1 },
    { name: 'probability targets', opts: { prob: true } },
    { name: 'probability targets + weight + labelSmoothing 0.2', opts: { prob: true, weight: [], labelSmoothing: 0.2 } },
    { name: 'nllLoss', opts: { logProbs: true } },
    { name: 'nllLoss + weight + ignoreIndex', opts: { logProbs: true, weight: [], ignoreIndex: -1 }, labelsFrom: -1 },
  ];
  for (const v of VARIANTS) {
    it(`${v.name}, reductions mean / sum / none`, async () => {
      for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
        for (const [n, c] of SHAPES) {
          const opts: LossRefOptions = { ...v.opts, weight: v.opts.weight ? weightsFor(c) : undefined };
          const r = crossEntropyRef(reduction, opts);
          const target = opts.prob
            ? { shape: [n, c], low: 0, high: 1, grad: false }
            : { shape: [n], dtype: 'int32' as const, low: v.labelsFrom ?? 0, high: c };
          await checkOp({
            name: `${v.name} ${reduction} N=${n} C=${c}`,
            inputs: [{ shape: [n, c], low: -4, high: 4 }, target],
            gpu: (x, t) => {
              const weight = opts.weight ? E.tensor(opts.weight) : undefined;
              const o = { reduction, weight, ignoreIndex: opts.ignoreIndex, labelSmoothing: opts.labelSmoothing };
              return opts.logProbs ? E.nllLoss(x, t, { reduction, weight, ignoreIndex: opts.ignoreIndex }) : E.crossEntropy(x, t, o);
            },
            ref: r.forward,
            refGrad: r.grad,
            fdSamples: 12,
          });
        }
      }
    });
  }

  it('the default ignoreIndex is -100: those rows give 0 loss and 0 gradient and are not counted', async () => {
    const x = E.tensor([[1, 2, 3], [3, 2, 1], [0, 5, 0]]).requiresGrad_();
    const y = int32([2, -100, 1]);
    const none = await vals(E.crossEntropy(x, y, { reduction: 'none' }));
    expect(none[1]).toBe(0);
    const loss = E.crossEntropy(x, y);
    expect(await loss.item()).toBeCloseTo((none[0]! + none[2]!) / 2, 6);
    loss.backward();
    expect((await vals(x.grad!)).slice(3, 6)).toEqual([0, 0, 0]);
  });

  it('every row ignored: mean is NaN (0 / 0, as in PyTorch), sum is 0, gradient 0', async () => {
    const x = E.tensor([[1, 2, 3], [3, 2, 1]]).requiresGrad_();
    const y = int32([-100, -100]);
    expect(Number.isNaN(await E.crossEntropy(x, y).item())).toBe(true);
    const s = E.crossEntropy(x, y, { reduction: 'sum' });
    expect(await s.item()).toBe(0);
    s.backward();
    expect(await vals(x.grad!)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('intermediates are freed with the scope, with and without backward', () => {
    const before = E.memory().undisposed;
    E.scope(() => {
      const x = E.randn([6, 40]).requiresGrad_();
      const y = E.randint(0, 40, [6]);
      for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
        E.crossEntropy(x, y, { reduction, weight: E.ones([40]), labelSmoothing: 0.1 }).sum().backward();
        E.crossEntropy(x, E.softmax(E.randn([6, 40])), { reduction });
        E.nllLoss(x, y, { reduction });
      }
      x.grad!.dispose(); // a leaf's gradient deliberately outlives the scope
    });
    expect(E.memory().undisposed).toBe(before);
  });

  it('nllLoss(logSoftmax(x)) equals crossEntropy(x), values and gradients', async () => {
    const g = new E.Generator(5);
    const data = E.randn([9, 41], { generator: g });
    const y = E.randint(0, 41, [9], { generator: g });
    const w = E.rand([41], { generator: g });
    const a = data.clone().requiresGrad_();
    const b = data.clone().requiresGrad_();
    const la = E.crossEntropy(a, y, { weight: w });
    const lb = E.nllLoss(E.logSoftmax(b), y, { weight: w });
    expect(await la.item()).toBeCloseTo(await lb.item(), 5);
    la.backward();
    lb.backward();
    const ga = await vals(a.grad!);
    const gb = await vals(b.grad!);
    ga.forEach((v, i) => expect(v).toBeCloseTo(gb[i]!, 6));
  });

  it('logits around 1e3: gradient within float32 rounding of the float64 value (1e-8 for the mean, was 1.7e-5)', async () => {
    // The issue: exp(x - lse) with lse = max + log(sum) rounded at 1e3 (ulp 6e-5) gave errors of 1.7e-5.
    const n = 64;
    const c = 10;
    const gen = new E.Generator(11);
    const xs = Float32Array.from({ length: n * c }, () => 1000 + (gen.next() * 2 - 1) * 4);
    const labels = Array.from({ length: n }, () => gen.int(c));
    for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
      const x = E.tensor(xs, [n, c]).requiresGrad_();
      const loss = E.crossEntropy(x, int32(labels), { reduction });
      const up = reduction === 'none' ? E.ones([n]) : E.ones([]);
      loss.backward(up);
      const r = crossEntropyRef(reduction);
      const xa = arr([n, c], [...xs]);
      const la = arr([n], labels);
      const [want] = r.grad(arr(up.shape as number[], reduction === 'none' ? new Array(n).fill(1) : [1]), xa, la);
      const got = await vals(x.grad!);
      const err = Math.max(...got.map((v, i) => Math.abs(v - want!.data[i]!)));
      if (process.env.ENGRAM_REPORT_CE_ERR) console.log(`crossEntropy 1e3 logits, ${reduction}: max gradient error ${err}`);
      expect(err, `${reduction}: max gradient error`).toBeLessThan(reduction === 'mean' ? 1e-8 : 3e-7); // 1 - 2 float32 ulps of 1
      const fwd = await vals(loss);
      const fwdWant = r.forward(xa, la).data;
      fwd.forEach((v, i) => expect(Math.abs(v - fwdWant[i]!), `${reduction}: loss`).toBeLessThan(2e-5 * Math.max(1, Math.abs(fwdWant[i]!))));
    }
  });
});

