// The lab's "run a kernel" panels: each op runs on the reader's GPU through the public API and is
// compared with the float64 CPU reference the engine's own tests use (test/reference/*.ts, imported
// rather than copied, so the page and the tests cannot disagree about what an op computes).
//
// The gradient check: for a fixed random upstream gradient G, the loss sum(G * op(inputs)) is
// differentiated twice: by the engine's backward kernels on the GPU (float32), and by central
// differences (L(x + h) - L(x - h)) / 2h on the float64 reference, element by element. Central
// differences need no analytic gradient at all, so they check the backward kernels against nothing
// but the forward definition.

import * as E from '../src/index.js';
import { arr, type Arr } from '../test/reference/arr.js';
import { matmulRef, linearRef } from '../test/reference/matmul.js';
import { conv2dRef } from '../test/reference/conv.js';
import { unaryRef, binaryRef } from '../test/reference/elementwise.js';
import { reduceRef, type ReduceOp } from '../test/reference/reduce.js';
import { softmaxRef, crossEntropyRef } from '../test/reference/softmax.js';
import { maxPoolRef, avgPoolRef } from '../test/reference/pool.js';
import { batchNormForward } from '../test/reference/batchnorm.js';
import { transposeRef, indexSelectRef } from '../test/reference/shape.js';

/** A small deterministic generator (mulberry32): the same seed gives the same inputs on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values in [lo, hi), rounded to float32 so that the GPU and the reference see the very same numbers. */
function randomArr(shape: number[], r: () => number, lo = -1, hi = 1): Arr {
  const a = arr(shape);
  for (let i = 0; i < a.data.length; i++) a.data[i] = Math.fround(lo + (hi - lo) * r());
  return a;
}

/** An input of an op case: its float64 values, and whether the gradient check covers it. */
interface Input {
  name: string;
  value: Arr;
  grad: boolean;
  /** Integer class indices (uploaded as int32; never differentiated). */
  int?: boolean;
}

export interface OpCase {
  id: string;
  title: string;
  /** The shader reader's section for the kernels this op dispatches. */
  family: string;
  /** One line: what the op computes and which kernels run. */
  about: string;
  /** Editable integer parameters (shape, window, ...) with their defaults. */
  params: Record<string, number>;
  /** A choice among variants (e.g. which unary op), first is the default. */
  variants?: string[];
  inputs(p: Record<string, number>, r: () => number, variant: string): Input[];
  gpu(xs: E.Tensor[], p: Record<string, number>, variant: string): E.Tensor;
  ref(xs: Arr[], p: Record<string, number>, variant: string): Arr;
}

const two = (v: number): [number, number] => [v, v];

export const OP_CASES: OpCase[] = [
  {
    id: 'matmul', title: 'matmul', family: 'matmul',
    about: 'C = A @ B. The forward is one GEMM; the backward two more (dA = G @ Bᵀ, dB = Aᵀ @ G) reading the operands transposed in place.',
    params: { M: 4, K: 5, N: 3 },
    inputs: (p, r) => [{ name: 'A', value: randomArr([p.M!, p.K!], r), grad: true }, { name: 'B', value: randomArr([p.K!, p.N!], r), grad: true }],
    gpu: ([a, b]) => E.matmul(a!, b!),
    ref: ([a, b]) => matmulRef(a!, b!),
  },
  {
    id: 'conv2d', title: 'conv2d', family: 'conv2d',
    about: 'y = conv2d(x, w, b) (NCHW, cross-correlation). Forward, grad-input, grad-weight and grad-bias are separate kernels.',
    params: { N: 1, C: 2, H: 5, W: 5, CO: 4, K: 3, stride: 1, padding: 1 },
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.N!, p.C!, p.H!, p.W!], r), grad: true },
      { name: 'w', value: randomArr([p.CO!, p.C!, p.K!, p.K!], r), grad: true },
      { name: 'b', value: randomArr([p.CO!], r), grad: true },
    ],
    gpu: ([x, w, b], p) => E.conv2d(x!, w!, b!, { stride: p.stride!, padding: p.padding! }),
    ref: ([x, w, b], p) => conv2dRef({ stride: p.stride!, padding: p.padding! }).forward(x!, w!, b!),
  },
  {
    id: 'linear', title: 'linear', family: 'matmul',
    about: 'y = x @ Wᵀ + b with W in PyTorch\'s [out, in] layout: one GEMM reading W transposed in place, the bias added in its epilogue.',
    params: { rows: 3, in: 5, out: 4 },
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.rows!, p.in!], r), grad: true },
      { name: 'W', value: randomArr([p.out!, p.in!], r), grad: true },
      { name: 'b', value: randomArr([p.out!], r), grad: true },
    ],
    gpu: ([x, w, b]) => E.linear(x!, w!, b!),
    ref: ([x, w, b]) => linearRef(x!, w!, b!),
  },
  {
    id: 'unary', title: 'elementwise (unary)', family: 'elementwise',
    about: 'y = f(x), one thread per element; the backward kernel multiplies the upstream gradient by f\'(x).',
    params: { rows: 3, cols: 4 },
    variants: ['sigmoid', 'tanh', 'exp', 'relu'],
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r, -2, 2), grad: true }],
    gpu: ([x], _p, v) => ({ sigmoid: E.sigmoid, tanh: E.tanh, exp: E.exp, relu: E.relu } as Record<string, (t: E.Tensor) => E.Tensor>)[v]!(x!),
    ref: ([x], _p, v) => unaryRef(v).forward(x!),
  },
  {
    id: 'binary', title: 'elementwise (binary, broadcast)', family: 'elementwise',
    about: 'y = a ∘ b with b [cols] broadcast over the rows; the gradient of b sums over the broadcast rows (a reduction).',
    params: { rows: 3, cols: 4 },
    variants: ['mul', 'add', 'sub', 'div'],
    inputs: (p, r) => [{ name: 'a', value: randomArr([p.rows!, p.cols!], r), grad: true }, { name: 'b', value: randomArr([p.cols!], r, 0.5, 1.5), grad: true }],
    gpu: ([a, b], _p, v) => ({ mul: E.mul, add: E.add, sub: E.sub, div: E.div } as Record<string, (x: E.Tensor, y: E.Tensor) => E.Tensor>)[v]!(a!, b!),
    ref: ([a, b], _p, v) => binaryRef(v).forward(a!, b!),
  },
  {
    id: 'reduce', title: 'reduction', family: 'reduce',
    about: 'y = sum / mean / amax of x [rows, cols] over dim (0: down the columns, 1: along each row); the reduce kernel picks its row or column layout from the dim.',
    params: { rows: 4, cols: 6, dim: 1 },
    variants: ['sum', 'mean', 'amax'],
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true }],
    gpu: ([x], p, v) => ({ sum: E.sum, mean: E.mean, amax: E.amax } as Record<string, (t: E.Tensor, d: number) => E.Tensor>)[v]!(x!, p.dim!),
    ref: ([x], p, v) => reduceRef(v as ReduceOp, p.dim!).forward(x!),
  },
  {
    id: 'softmax', title: 'softmax', family: 'softmax',
    about: 'y = softmax(x) along the last dim: one workgroup per row finds the max, sums exp(x - max), then normalizes.',
    params: { rows: 3, cols: 5 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r, -3, 3), grad: true }],
    gpu: ([x]) => E.softmax(x!, -1),
    ref: ([x]) => softmaxRef(false, -1).forward(x!),
  },
  {
    id: 'logSoftmax', title: 'logSoftmax', family: 'softmax',
    about: 'y = x - logsumexp(x) along the last dim: the softmax kernel\'s log variant (no exp-then-log round trip).',
    params: { rows: 3, cols: 5 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r, -3, 3), grad: true }],
    gpu: ([x]) => E.logSoftmax(x!, -1),
    ref: ([x]) => softmaxRef(true, -1).forward(x!),
  },
  {
    id: 'crossEntropy', title: 'crossEntropy', family: 'softmax',
    about: 'loss = mean over rows of -log softmax(logits)[target]: the fused loss kernel, then its backward softmax(x) - onehot(target).',
    params: { rows: 4, classes: 5 },
    inputs: (p, r) => [
      { name: 'logits', value: randomArr([p.rows!, p.classes!], r, -3, 3), grad: true },
      { name: 'target', value: arr([p.rows!], Array.from({ length: p.rows! }, () => Math.floor(r() * p.classes!))), grad: false, int: true },
    ],
    gpu: ([x, t]) => E.crossEntropy(x!, t!),
    ref: ([x, t]) => crossEntropyRef('mean').forward(x!, t!),
  },
  {
    id: 'maxPool2d', title: 'maxPool2d', family: 'pool',
    about: 'y = the max of each k×k window; the backward routes each upstream gradient to the window\'s argmax.',
    params: { N: 1, C: 2, H: 6, W: 6, k: 2, stride: 2 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.N!, p.C!, p.H!, p.W!], r), grad: true }],
    gpu: ([x], p) => E.maxPool2d(x!, { kernelSize: p.k!, stride: p.stride! }),
    ref: ([x], p) => maxPoolRef({ k: two(p.k!), s: two(p.stride!), pad: [0, 0] }).forward(x!),
  },
  {
    id: 'avgPool2d', title: 'avgPool2d', family: 'pool',
    about: 'y = the mean of each k×k window (padding counted in the divisor, as in PyTorch); the backward spreads each upstream gradient evenly over its window.',
    params: { N: 1, C: 2, H: 5, W: 5, k: 3, stride: 2, padding: 1 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.N!, p.C!, p.H!, p.W!], r), grad: true }],
    gpu: ([x], p) => E.avgPool2d(x!, { kernelSize: p.k!, stride: p.stride!, padding: p.padding! }),
    ref: ([x], p) => avgPoolRef({ k: two(p.k!), s: two(p.stride!), pad: two(p.padding!) }).forward(x!),
  },
  {
    id: 'batchNorm', title: 'batchNorm (training)', family: 'batchnorm',
    about: 'y = (x - mean) / sqrt(var + eps) * w + b with the batch\'s per-channel statistics: a stats kernel, a normalize kernel, and two backward kernels (per-channel sums, then dx).',
    params: { N: 4, C: 3, H: 2, W: 2 },
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.N!, p.C!, p.H!, p.W!], r, -2, 2), grad: true },
      { name: 'w', value: randomArr([p.C!], r, 0.5, 1.5), grad: true },
      { name: 'b', value: randomArr([p.C!], r), grad: true },
    ],
    gpu: ([x, w, b]) => E.batchNorm(x!, null, null, w!, b!, { training: true }),
    ref: ([x, w, b]) => batchNormForward(x!, null, null, w!, b!, { training: true }),
  },
  {
    id: 'transpose', title: 'transpose (shape op)', family: 'shape',
    about: 'y = xᵀ (tensors are always contiguous, so a transpose is a copy): a strided gather kernel copies each element to its new place; the backward is the inverse scatter.',
    params: { rows: 3, cols: 4 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true }],
    gpu: ([x]) => E.transpose(x!, 0, 1),
    ref: ([x]) => transposeRef(2, 0, 1).forward(x!),
  },
  {
    id: 'indexSelect', title: 'indexSelect (shape op)', family: 'shape',
    about: 'y = x.index_select(0, index): row index[i] of x copied to row i (rows may repeat); the backward scatters the gradient back, adding where a row was picked twice.',
    params: { rows: 4, cols: 3, picks: 5 },
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true },
      { name: 'index', value: arr([p.picks!], Array.from({ length: p.picks! }, () => Math.floor(r() * p.rows!))), grad: false, int: true },
    ],
    gpu: ([x, i]) => E.indexSelect(x!, 0, i!),
    ref: ([x, i]) => indexSelectRef(0).forward(x!, i!),
  },
];

export interface Diff {
  maxAbs: number;
  /** maxAbs relative to the largest magnitude of the reference (so tiny elements do not dominate). */
  maxRel: number;
}

export function diff(got: ArrayLike<number>, want: ArrayLike<number>): Diff {
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  if (got.length !== want.length) maxAbs = Infinity;
  return { maxAbs, maxRel: maxAbs / Math.max(scale, 1e-12) };
}

/** sum(G * y) in float64. */
function weighted(y: Arr, g: Arr): number {
  let s = 0;
  for (let i = 0; i < y.data.length; i++) s += g.data[i]! * y.data[i]!;
  return s;
}

/** Central differences of sum(G * ref(inputs)) with respect to input `which`, on the float64 reference. */
export function centralDifference(c: OpCase, xs: Arr[], which: number, g: Arr, p: Record<string, number>, variant: string, h = 1e-6): Float64Array {
  const x = xs[which]!;
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const v = x.data[i]!;
    x.data[i] = v + h;
    const up = weighted(c.ref(xs, p, variant), g);
    x.data[i] = v - h;
    const down = weighted(c.ref(xs, p, variant), g);
    x.data[i] = v;
    out[i] = (up - down) / (2 * h);
  }
  return out;
}

export interface OpResult {
  inputs: Input[];
  outShape: number[];
  gpu: Float32Array;
  ref: Float64Array;
  forward: Diff;
  /** Per differentiated input: the GPU gradient, the central difference, their difference. */
  grads: { name: string; gpu: Float32Array; numeric: Float64Array; diff: Diff }[];
}

/** Run one op case: forward and backward on the GPU, reference and central differences on the CPU. */
export async function runCase(c: OpCase, p: Record<string, number>, seed: number, variant: string): Promise<OpResult> {
  const r = rng(seed);
  const inputs = c.inputs(p, r, variant);
  const refOut = c.ref(inputs.map((i) => i.value), p, variant);
  const g = randomArr(refOut.shape, r);
  // Record forward and backward in one scope: everything it creates is released at its end except
  // what it returns (the output and the input gradients, read back below and then disposed).
  const kept = E.scope(() => {
    const ts = inputs.map((i) => i.int
      ? E.tensor(Int32Array.from(i.value.data), i.value.shape)
      : E.tensor(Float32Array.from(i.value.data), i.value.shape, { requiresGrad: i.grad }));
    const y = c.gpu(ts, p, variant);
    E.sum(E.mul(y, E.tensor(Float32Array.from(g.data), g.shape))).backward();
    return { y, grads: ts.map((t, k) => (inputs[k]!.grad ? t.grad : null)) };
  });
  try {
    const gpu = Float32Array.from(await kept.y.toArray());
    const grads: OpResult['grads'] = [];
    for (let k = 0; k < inputs.length; k++) {
      const t = kept.grads[k];
      if (!inputs[k]!.grad || !t) continue;
      const got = Float32Array.from(await t.toArray());
      const numeric = centralDifference(c, inputs.map((i) => i.value), k, g, p, variant);
      grads.push({ name: inputs[k]!.name, gpu: got, numeric, diff: diff(got, numeric) });
    }
    return { inputs, outShape: refOut.shape, gpu, ref: refOut.data, forward: diff(gpu, refOut.data), grads };
  } finally {
    kept.y.dispose();
    for (const t of kept.grads) t?.dispose();
  }
}
