// The lab's op panels, part 1: matmul and conv2d (every variant of their kernels), elementwise,
// reductions, softmax and losses, scans and sorting. Each case names the src/shaders exports it
// dispatches (`kernels`), which test/lab-coverage.test.ts checks against what a run records.
// Part 2 (lab-cases-more.ts): pooling, normalization, indexing, attention, random, optimizers,
// memory codecs and image transforms.

import * as E from '../src/index.js';
import { arr, map, type Arr } from '../test/reference/arr.js';
import { matmulRef, linearRef } from '../test/reference/matmul.js';
import { conv2dRef, convTranspose2dRef } from '../test/reference/conv.js';
import { unaryRef, binaryRef } from '../test/reference/elementwise.js';
import { whereRef, activationRef } from '../test/reference/activations-losses.js';
import { reduceRef, maxDimRef, type ReduceOp } from '../test/reference/reduce.js';
import { softmaxRef, crossEntropyRef } from '../test/reference/softmax.js';
import { logsumexpRef, cumsumRef } from '../test/reference/stats.js';
import { sortRef } from '../test/reference/sort.js';
import { randomArr, type OpCase } from './lab-ops.js';

const ints = (n: number, r: () => number, hi: number): number[] => Array.from({ length: n }, () => Math.floor(r() * hi));
/** A 2-D reference array transposed. */
const transpose2d = (x: Arr): Arr => {
  const [R, C] = x.shape as [number, number];
  return arr([C, R], Array.from({ length: R * C }, (_, i) => x.data[(i % R) * C + Math.floor(i / R)]!));
};
const fn1 = (t: Record<string, (x: E.Tensor) => E.Tensor>, v: string) => t[v]!;

const CONV_KERNELS = ['conv2dForwardWGSL', 'conv2dGradInputWGSL', 'conv2dGradWeightWGSL', 'conv2dGradBiasVec4WGSL', 'conv2dRegisterWGSL',
  'CONV2D_WEIGHT_LAYOUT_WGSL', 'conv2dGradWeightRegisterWGSL', 'conv2dSubgroupWGSL', 'conv2dGradWeightSubgroupWGSL'];

/** Sets the conv kernel switches for a variant ('auto', 'implicit GEMM', 'direct', 'direct, no subgroups'). */
function convSwitches(variant: string): () => void {
  const before = { ...E.convKernels };
  if (variant === 'implicit GEMM') E.convKernels.direct = false;
  if (variant.startsWith('direct')) E.convKernels.direct = true;
  if (variant === 'direct, no subgroups') E.convKernels.subgroups = false;
  return () => Object.assign(E.convKernels, before);
}

/**
 * The grouped panel's shapes for a variant: the panel's C, CO and W for 'grouped' and 'depthwise'
 * (groups = C); 4 groups of 4 channels for the direct variants, whose subgroup kernels block channels
 * by 4 or 8, with W a multiple of 4 (the vec4 grad-weight kernel) or odd (the scalar-row one).
 */
function groupedShape(p: Record<string, number>, variant: string): { C: number; CO: number; G: number; W: number } {
  if (variant === 'depthwise') return { C: p.C!, CO: p.C!, G: p.C!, W: p.W! };
  if (!variant.includes('direct')) return { C: p.C!, CO: p.CO!, G: p.groups!, W: p.W! };
  // 4 groups of 4 channels: C = 16 while a group has 4, so a rule that forgets the groups is off.
  const W = variant.includes('odd') ? p.W! | 1 : 4 * Math.ceil(p.W! / 4);
  return { C: 16, CO: 16, G: 4, W };
}

export const CORE_CASES: OpCase[] = [
  {
    id: 'matmul', title: 'matmul', family: 'matmul',
    about: 'C = A @ B. The forward is one GEMM; the backward two more (dA = G @ Bᵀ, dB = Aᵀ @ G) reading the operands transposed in place. The engine picks the kernel from the shape (see the gemm panel to force one).',
    kernels: ['matmulNaiveWGSL'],
    params: { M: 4, K: 5, N: 3 },
    inputs: (p, r) => [{ name: 'A', value: randomArr([p.M!, p.K!], r), grad: true }, { name: 'B', value: randomArr([p.K!, p.N!], r), grad: true }],
    gpu: ([a, b]) => E.matmul(a!, b!),
    ref: ([a, b]) => matmulRef(a!, b!),
  },
  {
    id: 'gemm', title: 'gemm, each kernel forced', family: 'matmul',
    about: 'C = A @ B through E.gemm with its kernel forced: naive (a thread per element), tiled (64×64 tiles staged in workgroup memory), vec4 (4×4 register blocks, M, N, K multiples of 4), dot (split-K: a workgroup per output), subgroup (CPU-backed adapters: 32 rows of C a workgroup, the rows of A shared across lanes by subgroupBroadcast; needs the adapter\'s subgroups feature and M, N, K multiples of 4). Forward kernels: no gradient here (the matmul panel checks the backward).',
    kernels: ['matmulNaiveWGSL', 'matmulTiledWGSL', 'matmulVec4WGSL', 'matmulDotWGSL', 'matmulSubgroupWGSL'],
    params: { M: 8, K: 12, N: 8 },
    variants: ['vec4', 'tiled', 'naive', 'dot', 'subgroup'],
    inputs: (p, r) => [{ name: 'A', value: randomArr([p.M!, p.K!], r), grad: false }, { name: 'B', value: randomArr([p.K!, p.N!], r), grad: false }],
    gpu: ([a, b], p, v) => E.gemm({ a: a!, b: b!, out: E.empty([p.M!, p.N!]), M: p.M!, N: p.N!, K: p.K!, kernel: v as 'vec4' }),
    ref: ([a, b]) => matmulRef(a!, b!),
  },
  {
    id: 'gemm-rows', title: 'gemm, CPU-adapter kernels for odd M or N', family: 'matmul-rowdot',
    about: 'C = op(A) @ op(B) + bias through E.gemm with the kernels CPU-backed adapters pick when M or N is not a multiple of 4 (src/shaders/matmul-rowdot.ts): rowdot computes A @ Bᵀ (K a multiple of 4), a thread per 4 outputs of a row, both operands read as vec4 along k (a classifier head, x @ Wᵀ); nvec4 computes Aᵀ @ B (N a multiple of 4), a thread per vec4 of columns in up to 8 rows, B read as vec4 along n (its weight gradient, dYᵀ @ x). Forward kernels: no gradient here.',
    kernels: ['matmulRowDotWGSL', 'matmulNVec4WGSL'],
    params: { M: 5, K: 8, N: 8 },
    variants: ['rowdot: A @ Bᵀ', 'nvec4: Aᵀ @ B'],
    inputs: (p, r, v) => [
      v.startsWith('rowdot') ? { name: 'A', value: randomArr([p.M!, p.K!], r), grad: false } : { name: 'Aᵀ', value: randomArr([p.K!, p.M!], r), grad: false },
      v.startsWith('rowdot') ? { name: 'Bᵀ', value: randomArr([p.N!, p.K!], r), grad: false } : { name: 'B', value: randomArr([p.K!, p.N!], r), grad: false },
      { name: 'bias', value: randomArr([p.N!], r), grad: false },
    ],
    gpu: ([a, b, bias], p, v) => E.gemm({ a: a!, b: b!, bias, out: E.empty([p.M!, p.N!]), M: p.M!, N: p.N!, K: p.K!, ...(v.startsWith('rowdot') ? { transB: true, kernel: 'rowdot' } : { transA: true, kernel: 'nvec4' }) }),
    // rowdot: A @ Bᵀ + bias is linear(A, Bᵀ, bias); nvec4: (Aᵀ)ᵀ @ B + bias.
    ref: ([a, b, bias], p, v) => (v.startsWith('rowdot') ? linearRef(a!, b!, bias!) : linearRef(transpose2d(a!), transpose2d(b!), bias!)),
  },
  {
    id: 'linear', title: 'linear', family: 'matmul',
    about: 'y = x @ Wᵀ + b with W in PyTorch\'s [out, in] layout: one GEMM reading W transposed in place, the bias added in its epilogue.',
    kernels: ['matmulNaiveWGSL', 'SUM_TO_WGSL'],
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
    id: 'conv2d', title: 'conv2d', family: 'conv2d',
    about: 'y = conv2d(x, w, b) (NCHW, cross-correlation). Forward, grad-input, grad-weight and grad-bias are separate kernels: implicit GEMMs with workgroup-memory tiles, or the direct register-blocked (and subgroup, where the adapter has subgroups) kernels over a re-laid-out weight. Grad-bias reads four values a load here (OH·OW a multiple of 4; the conv1d panel shows its scalar kernel). "auto" is the adapter\'s default.',
    kernels: CONV_KERNELS,
    params: { N: 1, C: 2, H: 4, W: 4, CO: 8, K: 3, stride: 1, padding: 1 },
    variants: ['auto', 'implicit GEMM', 'direct', 'direct, no subgroups'],
    configure: convSwitches,
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.N!, p.C!, p.H!, p.W!], r), grad: true },
      { name: 'w', value: randomArr([p.CO!, p.C!, p.K!, p.K!], r), grad: true },
      { name: 'b', value: randomArr([p.CO!], r), grad: true },
    ],
    gpu: ([x, w, b], p) => E.conv2d(x!, w!, b!, { stride: p.stride!, padding: p.padding! }),
    ref: ([x, w, b], p) => conv2dRef({ stride: p.stride!, padding: p.padding! }).forward(x!, w!, b!),
  },
  {
    id: 'conv2dDirect', title: 'conv2d, naive direct kernel', family: 'conv2d',
    about: 'The one-thread-per-output direct convolution E.conv2dDirect (the oracle the fast kernels are tested against, and the first rung of the conv ladder): each thread walks C·K·K taps.',
    kernels: ['conv2dDirectWGSL'],
    params: { N: 1, C: 2, H: 5, W: 5, CO: 3, K: 3, stride: 1, padding: 1 },
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.N!, p.C!, p.H!, p.W!], r), grad: false },
      { name: 'w', value: randomArr([p.CO!, p.C!, p.K!, p.K!], r), grad: false },
      { name: 'b', value: randomArr([p.CO!], r), grad: false },
    ],
    gpu: ([x, w, b], p) => E.conv2dDirect(x!, w!, b!, { stride: p.stride!, padding: p.padding! }),
    ref: ([x, w, b], p) => conv2dRef({ stride: p.stride!, padding: p.padding! }).forward(x!, w!, b!),
  },
  {
    id: 'convGrouped', title: 'conv2d, grouped and depthwise', family: 'conv-grouped',
    about: 'conv2d with groups > 1: output channel co sees only the C/groups input channels of its group; groups = C is depthwise. One thread per output (forward, grad-input) or per weight (grad-weight) in the grouped kernels. The "direct" variants set convKernels.direct with 4 groups of 4 channels (C = CO = 16): with the adapter\'s subgroups a group then runs the dense subgroup kernels restricted to its channels, the grad-weight on the vec4 kernel where W % 4 == 0 (W rounded up to a multiple of 4) or on the scalar-row kernel (W made odd).',
    kernels: ['convGroupedWGSL', 'CONV2D_WEIGHT_LAYOUT_WGSL', 'conv2dSubgroupWGSL', 'conv2dGradWeightSubgroupWGSL', 'conv2dGradWeightSubgroupRowsWGSL'],
    params: { N: 1, C: 4, H: 5, W: 5, CO: 4, K: 3, groups: 2 },
    variants: ['grouped', 'depthwise', 'grouped, direct, W % 4 == 0', 'grouped, direct, odd W'],
    configure: (v) => convSwitches(v.includes('direct') ? 'direct' : 'auto'),
    inputs: (p, r, v) => {
      const s = groupedShape(p, v);
      return [
        { name: 'x', value: randomArr([p.N!, s.C, p.H!, s.W], r), grad: true },
        { name: 'w', value: randomArr([s.CO, s.C / s.G, p.K!, p.K!], r), grad: true },
      ];
    },
    gpu: ([x, w], p, v) => E.conv2d(x!, w!, null, { padding: 1, groups: groupedShape(p, v).G }),
    ref: ([x, w], p, v) => conv2dRef({ padding: 1, groups: groupedShape(p, v).G }).forward(x!, w!),
  },
  {
    id: 'convTranspose2d', title: 'convTranspose2d', family: 'conv2d',
    about: 'The transposed convolution: its forward is conv2d\'s grad-input pass, its input gradient a conv2d forward, so it runs the same kernels the other way round.',
    kernels: ['conv2dGradInputWGSL', 'conv2dGradWeightWGSL', 'SUM_TO_WGSL', 'binaryWGSL', 'conv2dForwardWGSL'],
    params: { N: 1, C: 2, H: 3, W: 3, CO: 3, K: 3, stride: 2, padding: 1 },
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.N!, p.C!, p.H!, p.W!], r), grad: true },
      { name: 'w', value: randomArr([p.C!, p.CO!, p.K!, p.K!], r), grad: true },
      { name: 'b', value: randomArr([p.CO!], r), grad: true },
    ],
    gpu: ([x, w, b], p) => E.convTranspose2d(x!, w!, b!, { stride: p.stride!, padding: p.padding! }),
    ref: ([x, w, b], p) => convTranspose2dRef({ stride: p.stride!, padding: p.padding! }).forward(x!, w!, b!),
  },
  {
    id: 'conv1d', title: 'conv1d', family: 'conv2d',
    about: 'conv1d on [N, C, L] runs as conv2d with H = 1 (a view, no copy): the same kernels on a one-row image.',
    kernels: ['CONV2D_GRAD_BIAS_WGSL', 'conv2dForwardWGSL', 'conv2dGradInputWGSL', 'conv2dGradWeightWGSL'],
    params: { N: 1, C: 2, L: 7, CO: 3, K: 3, padding: 1 },
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.N!, p.C!, p.L!], r), grad: true },
      { name: 'w', value: randomArr([p.CO!, p.C!, p.K!], r), grad: true },
      { name: 'b', value: randomArr([p.CO!], r), grad: true },
    ],
    gpu: ([x, w, b], p) => E.conv1d(x!, w!, b!, { padding: p.padding! }),
    ref: ([x, w, b], p) => {
      const y = conv2dRef({ padding: [0, p.padding!] }).forward(
        arr([x!.shape[0]!, x!.shape[1]!, 1, x!.shape[2]!], x!.data), arr([w!.shape[0]!, w!.shape[1]!, 1, w!.shape[2]!], w!.data), b!);
      return arr([y.shape[0]!, y.shape[1]!, y.shape[3]!], y.data);
    },
  },
  {
    id: 'conv2dGradWeightRows', title: 'conv2d grad-weight, width not a multiple of 4', family: 'conv2d',
    about: 'dw = conv2dGradWeight(x, [CO, C, 3, 3], G) for a 3×3 convolution with padding 1 on rows whose width is not a multiple of 4 (W = 5 here): dw[co, c, kh, kw] = Σ over n, oh, ow of G[n, co, oh, ow] · x[n, c, oh − 1 + kh, ow − 1 + kw]. With the direct kernels and the adapter\'s subgroups it runs the scalar-row kernel of conv2d-grad-weight-rows.ts: a subgroup of 8 lanes is 8 input channels, each sliding a three-tap window along x\'s rows while subgroupBroadcast shares G among the lanes; slices of the rows on z, summed after. "direct, rows off" sets convKernels.gradWeightRows = false: the implicit GEMM it replaces. (W % 4 == 0 runs the vec4 kernel: the conv2d panel.)',
    kernels: ['conv2dGradWeightSubgroupRowsWGSL', 'conv2dGradWeightWGSL', 'SUM_TO_WGSL'],
    params: { N: 2, C: 3, H: 5, W: 5, CO: 8 },
    variants: ['direct', 'direct, rows off'],
    configure: (v) => {
      const before = { ...E.convKernels };
      E.convKernels.direct = true;
      if (v.endsWith('rows off')) E.convKernels.gradWeightRows = false;
      return () => Object.assign(E.convKernels, before);
    },
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.N!, p.C!, p.H!, p.W!], r), grad: false },
      { name: 'G', value: randomArr([p.N!, p.CO!, p.H!, p.W!], r), grad: false },
    ],
    gpu: ([x, g], p) => E.conv2dGradWeight(x!, [p.CO!, p.C!, 3, 3], g!, { padding: 1 }),
    ref: ([x, g], p) => conv2dRef({ padding: 1 }).grad(g!, x!, arr([p.CO!, p.C!, 3, 3]))[1]!,
  },
  {
    id: 'unary', title: 'elementwise (unary)', family: 'elementwise',
    about: 'y = f(x), one thread per element; the backward kernel multiplies the upstream gradient by f\'(x).',
    kernels: ['unaryForwardWGSL', 'unaryBackwardWGSL'],
    params: { rows: 3, cols: 4 },
    variants: ['sigmoid', 'tanh', 'exp', 'relu', 'gelu', 'silu'],
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r, -2, 2), grad: true }],
    gpu: ([x], _p, v) => fn1({ sigmoid: E.sigmoid, tanh: E.tanh, exp: E.exp, relu: E.relu, gelu: (t) => E.gelu(t), silu: E.silu }, v)(x!),
    ref: ([x], _p, v) => (['gelu', 'silu'].includes(v) ? activationRef(v) : unaryRef(v)).forward(x!),
  },
  {
    id: 'binary', title: 'elementwise (binary, broadcast)', family: 'elementwise',
    about: 'y = a ∘ b with b [cols] broadcast over the rows; the gradient of b sums over the broadcast rows (sumTo: a thread per output, or with "wide" a workgroup per output, the GPU default for long sums).',
    kernels: ['binaryWGSL', 'SUM_TO_WGSL', 'SUM_TO_WIDE_WGSL'],
    params: { rows: 3, cols: 4 },
    variants: ['mul', 'add', 'sub', 'div', 'mul, wide sumTo'],
    configure: (v) => {
      const before = E.sumToKernels.wide;
      E.sumToKernels.wide = v.endsWith('wide sumTo') ? true : before;
      return () => { E.sumToKernels.wide = before; };
    },
    inputs: (p, r) => [{ name: 'a', value: randomArr([p.rows!, p.cols!], r), grad: true }, { name: 'b', value: randomArr([p.cols!], r, 0.5, 1.5), grad: true }],
    gpu: ([a, b], _p, v) => ({ mul: E.mul, add: E.add, sub: E.sub, div: E.div } as Record<string, (x: E.Tensor, y: E.Tensor) => E.Tensor>)[v.split(',')[0]!]!(a!, b!),
    ref: ([a, b], _p, v) => binaryRef(v.split(',')[0]!).forward(a!, b!),
  },
  {
    id: 'accumulate', title: 'gradient accumulation', family: 'elementwise',
    about: 'y = a·b where a.grad already exists (a first backward left zeros in it): the second backward adds its gradient into a.grad in place (the addInPlace kernel), as gradient accumulation over micro-batches does.',
    kernels: ['ADD_INPLACE_WGSL', 'binaryWGSL', 'FILL_WGSL', 'reduceWGSL', 'REDUCE_EXPAND_WGSL'],
    params: { n: 6 },
    inputs: (p, r) => [{ name: 'a', value: randomArr([p.n!], r), grad: true }, { name: 'b', value: randomArr([p.n!], r), grad: true }],
    gpu: ([a, b]) => {
      E.sum(E.mul(a!, E.zerosLike(a!))).backward();
      return E.mul(a!, b!);
    },
    ref: ([a, b]) => map(a!, (v, i) => v * b!.data[i]!),
  },
  {
    id: 'where', title: 'where', family: 'elementwise',
    about: 'y = cond ? a : b, elementwise; the gradient goes to a where cond holds and to b elsewhere.',
    kernels: ['whereWGSL', 'binaryWGSL'],
    params: { rows: 3, cols: 4 },
    inputs: (p, r) => [
      { name: 'cond', value: arr([p.rows!, p.cols!], ints(p.rows! * p.cols!, r, 2)), grad: false },
      { name: 'a', value: randomArr([p.rows!, p.cols!], r), grad: true },
      { name: 'b', value: randomArr([p.rows!, p.cols!], r), grad: true },
    ],
    gpu: ([c, a, b]) => E.where(c!, a!, b!),
    ref: ([c, a, b]) => whereRef().forward(c!, a!, b!),
  },
  {
    id: 'fused', title: 'fused elementwise chain', family: 'fused-elementwise',
    about: 'E.fuse((x, b) => x.mul(b).add(1).tanh().mul(0.5)) with b [cols] broadcast: the whole chain is one kernel with the values in registers, and its backward one more.',
    kernels: ['fusedForwardWGSL', 'fusedBackwardWGSL', 'SUM_TO_WGSL'],
    params: { rows: 3, cols: 4 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true }, { name: 'b', value: randomArr([p.cols!], r), grad: true }],
    gpu: ([x, b]) => GATE(x!, b!),
    ref: ([x, b]) => map(x!, (v, i) => 0.5 * Math.tanh(v * b!.data[i % b!.data.length]! + 1)),
  },
  {
    id: 'reduce', title: 'reduction', family: 'reduce',
    about: 'y = sum / mean / amax of x [rows, cols] over dim (0: down the columns, 1: along each row); the reduce kernel picks its row or column layout from the dim. Backward: an expand kernel (sum, mean), or for amax a tie mask and an even split among tied maxima.',
    kernels: ['reduceWGSL', 'REDUCE_EXPAND_WGSL', 'TIE_MASK_WGSL', 'TIE_SPLIT_WGSL'],
    params: { rows: 4, cols: 6, dim: 1 },
    variants: ['sum', 'mean', 'amax'],
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true }],
    gpu: ([x], p, v) => ({ sum: E.sum, mean: E.mean, amax: E.amax } as Record<string, (t: E.Tensor, d: number) => E.Tensor>)[v]!(x!, p.dim!),
    ref: ([x], p, v) => reduceRef(v as ReduceOp, p.dim!).forward(x!),
  },
  {
    id: 'maxDim', title: 'max along a dim (values)', family: 'reduce',
    about: 'max(x, dim).values: the reduce kernel also writes the argmax, and the backward scatters each gradient to its argmax (PyTorch\'s max(dim) picks one winner).',
    kernels: ['reduceWGSL', 'REDUCE_SCATTER_WGSL'],
    params: { rows: 4, cols: 6, dim: 1 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true }],
    gpu: ([x], p) => E.max(x!, p.dim!).values,
    ref: ([x], p) => maxDimRef('max', p.dim!).forward(x!),
  },
  {
    id: 'softmax', title: 'softmax', family: 'softmax',
    about: 'y = softmax(x) along a dim: the row layout (last dim) gives a workgroup per row; the column layout a thread per column.',
    kernels: ['softmaxForwardWGSL', 'softmaxBackwardWGSL'],
    params: { rows: 3, cols: 5 },
    variants: ['last dim (rows)', 'dim 0 (columns)'],
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r, -3, 3), grad: true }],
    gpu: ([x], _p, v) => E.softmax(x!, v.startsWith('last') ? -1 : 0),
    ref: ([x], _p, v) => softmaxRef(false, v.startsWith('last') ? -1 : 0).forward(x!),
  },
  {
    id: 'logSoftmax', title: 'logSoftmax', family: 'softmax',
    about: 'y = x - logsumexp(x) along the last dim: the softmax kernel\'s log variant (no exp-then-log round trip).',
    kernels: ['softmaxForwardWGSL', 'softmaxBackwardWGSL'],
    params: { rows: 3, cols: 5 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r, -3, 3), grad: true }],
    gpu: ([x]) => E.logSoftmax(x!, -1),
    ref: ([x]) => softmaxRef(true, -1).forward(x!),
  },
  {
    id: 'crossEntropy', title: 'crossEntropy', family: 'softmax',
    about: 'loss = mean over rows of -log softmax(logits)[target]: the fused loss kernel (per-row terms), a combine kernel (the reduction), then the backward softmax(x) - onehot(target).',
    kernels: ['lossForwardWGSL', 'LOSS_COMBINE_WGSL', 'lossBackwardWGSL', 'reduceWGSL'],
    params: { rows: 4, classes: 5 },
    inputs: (p, r) => [
      { name: 'logits', value: randomArr([p.rows!, p.classes!], r, -3, 3), grad: true },
      { name: 'target', value: arr([p.rows!], ints(p.rows!, r, p.classes!)), grad: false, int: true },
    ],
    gpu: ([x, t]) => E.crossEntropy(x!, t!),
    ref: ([x, t]) => crossEntropyRef('mean').forward(x!, t!),
  },
  {
    id: 'logsumexp', title: 'logsumexp', family: 'scan',
    about: 'y = m + log Σ exp(x - m) along the last dim, one thread per row; the backward is g · softmax(x).',
    kernels: ['LOGSUMEXP_WGSL', 'LOGSUMEXP_BACKWARD_WGSL'],
    params: { rows: 3, cols: 5 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r, -3, 3), grad: true }],
    gpu: ([x]) => E.logsumexp(x!, -1),
    ref: ([x]) => logsumexpRef(x!, -1),
  },
  {
    id: 'cumsum', title: 'cumsum', family: 'scan',
    about: 'y[i] = x[0] + … + x[i] along the last dim, one thread per row; the backward is the reverse cumulative sum (the same kernel, reversed).',
    kernels: ['cumsumWGSL'],
    params: { rows: 3, cols: 6 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true }],
    gpu: ([x]) => E.cumsum(x!, -1),
    ref: ([x]) => cumsumRef(x!, -1),
  },
  {
    id: 'sort', title: 'sort / topk (values)', family: 'sort',
    about: 'Sorted values along the last dim (a bitonic sort per row in workgroup memory, carrying the indices); the backward sends each gradient back to where its value came from.',
    kernels: ['sortWGSL', 'SORT_BACKWARD_WGSL', 'STRIDED_GATHER_WGSL', 'FILL_WGSL', 'STRIDED_SCATTER_WGSL'],
    params: { rows: 3, cols: 6, k: 3 },
    variants: ['ascending', 'descending', 'topk'],
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true }],
    gpu: ([x], p, v) => (v === 'topk' ? E.topk(x!, p.k!).values : E.sort(x!, -1, v === 'descending').values),
    ref: ([x], p, v) => sortRef(x!, 1, v !== 'ascending', v === 'topk' ? p.k! : undefined).values,
  },
];

let gate: E.FusedFunction | null = null;
/** The fused gate, made once (fuse traces and compiles on first call per shape). */
function GATE(x: E.Tensor, b: E.Tensor): E.Tensor {
  gate ??= E.fuse((u: E.Tensor, w: E.Tensor) => E.mul(E.tanh(E.add(E.mul(u, w), 1)), 0.5));
  return gate(x, b);
}
