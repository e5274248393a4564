// The lab's op panels, part 2: pooling, normalization, shape and indexing ops, attention, dropout
// and random draws, fills and casts, optimizer updates, the replay memory's codecs and the image
// transforms. Where an op has no float64 reference in test/reference (optimizer steps), the few
// lines of its PyTorch update rule are written out here in float64.

import * as E from '../src/index.js';
import { arr, map, type Arr } from '../test/reference/arr.js';
import { maxPoolRef, avgPoolRef, adaptiveAvgPoolRef } from '../test/reference/pool.js';
import { batchNormForward } from '../test/reference/batchnorm.js';
import { layerNormForward, groupNormForward } from '../test/reference/norm.js';
import { transposeRef, sliceRef, indexSelectRef, gatherRef } from '../test/reference/shape.js';
import { embeddingForward } from '../test/reference/embedding.js';
import { padRef, repeatRef, oneHotRef } from '../test/reference/pad.js';
import { keepMaskRef, dropoutRef } from '../test/reference/dropout.js';
import { sdpaRef } from '../test/reference/attention.js';
import { normalizeRef, randomCropRef, randomHorizontalFlipRef, resizeBilinearRef } from '../test/reference/transforms.js';
import { packF16Gpu, unpackU8Gpu } from '../src/cl/memory/gpu-codec.js';
import { f32ToF16Bits, f16BitsToF32 } from '../src/cl/memory/half.js';
import { UNPACK_F16_WGSL } from '../src/shaders/pack.js';
import { U8_TO_F32_WGSL } from '../src/shaders/transforms.js';
import { ROWNORM_SHORT_ROW } from '../src/shaders/layernorm.js';
import { batchNormFusion } from '../src/engine/ops/batchnorm.js';
import { setRandomGpuThreshold, randomUniformCPU, randomNormalCPU, randomIntCPU } from '../src/engine/ops/random.js';
import { randomArr, type OpCase } from './lab-ops.js';
import { CORE_CASES } from './lab-cases.js';
import { DATA_CASES } from './lab-cases-data.js';

/** A row longer than ROWNORM_SHORT_ROW: layerNorm runs its workgroup-per-row kernels. */
const LONG_ROW = ROWNORM_SHORT_ROW + 2;
const two = (v: number): [number, number] => [v, v];
const ints = (n: number, r: () => number, hi: number): number[] => Array.from({ length: n }, () => Math.floor(r() * hi));

// ------------------------------------------------------------------ optimizer steps in float64

/** Two steps of `variant` on parameter w with the same gradient g each step (as PyTorch would with that .grad). */
function optimizerRef(variant: string, w: Arr, g: Arr): Arr {
  const p = Float64Array.from(w.data);
  const n = p.length;
  const buf = new Float64Array(n);
  const m = new Float64Array(n);
  const v = new Float64Array(n);
  const start = Float64Array.from(p);
  for (let t = 1; t <= 2; t++) {
    let gs = Float64Array.from(g.data);
    if (variant === 'clipGradNorm_ + SGD') {
      const norm = Math.sqrt(gs.reduce((s, x) => s + x * x, 0));
      const c = Math.min(1, 0.5 / (norm + 1e-6));
      gs = gs.map((x) => x * c);
    }
    if (variant === 'clipGradValue_ + SGD') gs = gs.map((x) => Math.min(0.1, Math.max(-0.1, x)));
    for (let i = 0; i < n; i++) {
      let d = gs[i]!;
      if (variant === 'SGD momentum') {
        d += 0.01 * p[i]!;
        buf[i] = t === 1 ? d : 0.9 * buf[i]! + d;
        p[i] = p[i]! - 0.1 * buf[i]!;
      } else if (variant === 'Adam' || variant === 'AdamW') {
        if (variant === 'Adam') d += 0.01 * p[i]!;
        else p[i] = p[i]! * (1 - 0.01 * 0.01);
        m[i] = 0.9 * m[i]! + 0.1 * d;
        v[i] = 0.999 * v[i]! + 0.001 * d * d;
        p[i] = p[i]! - (0.01 * m[i]! / (1 - 0.9 ** t)) / (Math.sqrt(v[i]! / (1 - 0.999 ** t)) + 1e-8);
      } else if (variant === 'RMSprop') {
        v[i] = 0.99 * v[i]! + 0.01 * d * d;
        p[i] = p[i]! - 0.01 * d / (Math.sqrt(v[i]!) + 1e-8);
      } else p[i] = p[i]! - 0.1 * d; // the clipped SGD steps and the EMA's SGD
    }
  }
  // EMA (decay 0.9): the average starts as the weights, then after each step blends them in.
  if (variant === 'EMA of SGD') {
    const one = Float64Array.from(start, (x, i) => x - 0.1 * g.data[i]!);
    return arr(w.shape, start.map((x, i) => 0.9 * (0.9 * x + 0.1 * one[i]!) + 0.1 * p[i]!));
  }
  return arr(w.shape, p);
}

/**
 * The multi-tensor ('3 tensors') variants: w and G cut into three parameters, stepped by one optimizer
 * whose foreach kernel updates all three in one dispatch, then joined into one vector (cat). RMSprop's
 * is cut in two: it binds 5 buffers a tensor, so 3 tensors fill lavapipe's 16 storage buffers and leave
 * none for the lab's workgroup probe (web/lab-probe.ts binds one more).
 */
function optimizerForeach(variant: string, w: Arr, g: Arr): E.Tensor {
  const n = w.data.length;
  const parts = variant.startsWith('RMSprop') ? 2 : 3;
  const cuts = Array.from({ length: parts + 1 }, (_, i) => Math.floor((i * n) / parts));
  const part = (a: Arr, i: number): E.Tensor => E.tensor(Float32Array.from(a.data.slice(cuts[i]!, cuts[i + 1]!)), [cuts[i + 1]! - cuts[i]!]);
  const ws = Array.from({ length: parts }, (_, i) => part(w, i).requiresGrad_());
  for (let i = 0; i < parts; i++) E.sum(E.mul(ws[i]!, part(g, i))).backward();
  const opt = variant.startsWith('SGD') ? new E.SGD(ws, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 })
    : variant.startsWith('AdamW') ? new E.AdamW(ws, { lr: 0.01, weightDecay: 0.01 })
      : variant.startsWith('RMSprop') ? new E.RMSprop(ws, { lr: 0.01 }) : new E.Adam(ws, { lr: 0.01, weightDecay: 0.01 });
  opt.step();
  opt.step();
  E.disposeOptimizerState(opt.stateDict());
  return E.cat(ws.map((t) => t.detach()));
}

function optimizerGpu(variant: string, w0: E.Tensor, g: E.Tensor): E.Tensor {
  const w = w0.clone().requiresGrad_();
  E.sum(E.mul(w, g)).backward(); // w.grad = g
  const opt = variant === 'SGD momentum' ? new E.SGD([w], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 })
    : variant === 'Adam' ? new E.Adam([w], { lr: 0.01, weightDecay: 0.01 })
      : variant === 'AdamW' ? new E.AdamW([w], { lr: 0.01, weightDecay: 0.01 })
        : variant === 'RMSprop' ? new E.RMSprop([w], { lr: 0.01 })
          : new E.SGD([w], { lr: 0.1 });
  const ema = variant === 'EMA of SGD' ? new E.ExponentialMovingAverage([w], 0.9) : null;
  ema?.update();
  for (let t = 0; t < 2; t++) {
    if (variant === 'clipGradNorm_ + SGD') E.clipGradNorm_([w], 0.5);
    if (variant === 'clipGradValue_ + SGD') E.clipGradValue_([w], 0.1);
    opt.step();
    ema?.update();
  }
  E.disposeOptimizerState(opt.stateDict());
  if (!ema) return w.detach();
  const out = ema.averages[0]!.clone();
  for (const a of ema.averages) a.dispose();
  return out;
}

// ------------------------------------------------------------------ the codecs' and the loader's raw kernels

/** Unpack fp16 words (an int32 tensor [k * ceil(d / 2)]) on the GPU with the codec's kernel and parameters. */
function unpackWordsF16(words: E.Tensor, k: number, d: number): E.Tensor {
  const rt = E.runtime();
  const w = Math.ceil(d / 2);
  const out = E.empty([k, d]);
  const kernel = rt.kernel({ name: 'unpack_f16', wgsl: UNPACK_F16_WGSL, bindings: ['read', 'write'] });
  rt.dispatch(kernel, [words.buffer, out.buffer], [k * w, d, w], E.grid1d(k * w));
  return out;
}

/** Bytes q (0..255, four per word) -> LUT[256 * c + q] as the DataLoader's u8ToF32 does, with LUT = q / 255 per channel. */
function u8ToF32(q: Arr, shape: number[]): E.Tensor {
  const rt = E.runtime();
  const [, c, h, w] = shape as [number, number, number, number];
  const n = q.data.length;
  const words = Math.ceil(n / 4);
  const bytes = new Uint8Array(words * 4);
  bytes.set(Array.from(q.data));
  const lut = new Float32Array(256 * c);
  for (let ch = 0; ch < c; ch++) for (let v = 0; v < 256; v++) lut[256 * ch + v] = v / 255;
  const table = E.tensor(lut, [lut.length]);
  const raw = E.tensor(new Int32Array(bytes.buffer), [words], { dtype: 'int32' });
  const out = E.empty(shape);
  const kernel = rt.kernel({ name: 'u8ToF32', wgsl: U8_TO_F32_WGSL, bindings: ['read', 'read', 'write'] });
  rt.dispatch(kernel, [table.buffer, raw.buffer, out.buffer], [n, h * w, c], E.grid1d(words));
  return out;
}

const f16 = (x: number): number => f16BitsToF32(f32ToF16Bits(x));

/** The maxPool2d panel's variant that runs the 2x2 vec4 kernels: k = stride = 2, W rounded up to a multiple of 4. */
export const MAX_POOL_VEC4_VARIANT = '2 × 2, stride 2, W rounded up to a multiple of 4 (vec4 kernels)';
/** Kernel size and stride of a maxPool2d panel variant (also the lab's read rules' windows). */
export function maxPoolKS(p: Record<string, number>, variant: string): [number, number] {
  if (variant === MAX_POOL_VEC4_VARIANT) return [2, 2];
  return [p.k!, variant === 'as set' ? p.stride! : p.k!];
}

export const MORE_CASES: OpCase[] = [
  {
    id: 'maxPool2d', title: 'maxPool2d', family: 'pool',
    about: 'y = the max of each k×k window, its argmax kept; the backward routes each upstream gradient to the window\'s argmax: one thread per input element gathering from the windows covering it, or where the windows tile the input (stride = k) one thread per window. The common 2×2, stride 2 case with W a multiple of 4 has its own pair (the _2x2_vec4 kernels): one thread per two adjacent outputs, reading and writing four values per load.',
    kernels: ['MAX_POOL_FWD_WGSL', 'MAX_POOL_BWD_WGSL', 'MAX_POOL_BWD_TILED_WGSL', 'MAX_POOL_FWD_2X2_VEC4_WGSL', 'MAX_POOL_BWD_2X2_VEC4_WGSL'],
    params: { N: 1, C: 2, H: 6, W: 6, k: 3, stride: 2 },
    variants: ['as set', 'stride = k (windows tile the input)', MAX_POOL_VEC4_VARIANT],
    // The vec4 variant pools 2×2 with stride 2 and rounds W up to a multiple of 4 (see MAX_POOL_VEC4_VARIANT).
    inputs: (p, r, v) => [{ name: 'x', value: randomArr([p.N!, p.C!, p.H!, v === MAX_POOL_VEC4_VARIANT ? 4 * Math.ceil(p.W! / 4) : p.W!], r), grad: true }],
    gpu: ([x], p, v) => E.maxPool2d(x!, { kernelSize: maxPoolKS(p, v)[0], stride: maxPoolKS(p, v)[1] }),
    ref: ([x], p, v) => maxPoolRef({ k: two(maxPoolKS(p, v)[0]), s: two(maxPoolKS(p, v)[1]), pad: [0, 0] }).forward(x!),
  },
  {
    id: 'avgPool2d', title: 'avgPool2d', family: 'pool',
    about: 'y = the mean of each k×k window (padding counted in the divisor, as in PyTorch); the backward spreads each upstream gradient evenly over its window.',
    kernels: ['AVG_POOL_FWD_WGSL', 'AVG_POOL_BWD_WGSL'],
    params: { N: 1, C: 2, H: 5, W: 5, k: 3, stride: 2, padding: 1 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.N!, p.C!, p.H!, p.W!], r), grad: true }],
    gpu: ([x], p) => E.avgPool2d(x!, { kernelSize: p.k!, stride: p.stride!, padding: p.padding! }),
    ref: ([x], p) => avgPoolRef({ k: two(p.k!), s: two(p.stride!), pad: two(p.padding!) }).forward(x!),
  },
  {
    id: 'adaptiveAvgPool2d', title: 'adaptiveAvgPool2d', family: 'pool',
    about: 'y [OH, OW] = means over PyTorch\'s adaptive windows (start = ⌊o·H/OH⌋, end = ⌈(o+1)·H/OH⌉; windows may overlap); one thread per output, and per input element in the backward.',
    kernels: ['ADAPTIVE_AVG_FWD_WGSL', 'ADAPTIVE_AVG_BWD_WGSL'],
    params: { N: 1, C: 2, H: 5, W: 7, OH: 3, OW: 3 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.N!, p.C!, p.H!, p.W!], r), grad: true }],
    gpu: ([x], p) => E.adaptiveAvgPool2d(x!, [p.OH!, p.OW!]),
    ref: ([x], p) => adaptiveAvgPoolRef(p.OH!, p.OW!).forward(x!),
  },
  {
    id: 'batchNorm', title: 'batchNorm', family: 'batchnorm',
    about: 'y = (x - mean) / sqrt(var + eps) · w + b per channel. Training, unfused: a stats kernel (which also updates the running statistics, and the step counter by addInt), a normalize kernel, and two backward kernels (per-channel sums, then dx). Training, fused (CPU-backed adapters, and GPUs from 256 channels): one workgroup per channel computes the statistics and then normalizes the channel, and in backward sums and then writes dx; where H·W is a multiple of 4 (as here) the fused kernels load four values at a time (the _vec4 kernels), otherwise one. Eval: the running statistics\' kernel instead of the batch\'s.',
    kernels: ['bnStatsWGSL', 'bnNormalizeWGSL', 'bnBackwardReduceWGSL', 'bnBackwardDxWGSL', 'BN_EVAL_STATS_WGSL', 'bnStatsNormalizeWGSL', 'bnBackwardFusedWGSL'],
    params: { N: 4, C: 3, H: 2, W: 2 },
    variants: ['training (fused)', 'training (fused, one value per load)', 'training (unfused)', 'eval'],
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.N!, p.C!, p.H!, p.W!], r, -2, 2), grad: true },
      { name: 'w', value: randomArr([p.C!], r, 0.5, 1.5), grad: true },
      { name: 'b', value: randomArr([p.C!], r), grad: true },
      { name: 'running mean', value: randomArr([p.C!], r, -0.5, 0.5), grad: false },
      { name: 'running var', value: randomArr([p.C!], r, 0.5, 1.5), grad: false },
    ],
    gpu: ([x, w, b, rm, rv], _p, v) => {
      // The forward's choice of path holds for its backward too.
      const before = { ...batchNormFusion };
      batchNormFusion.mode = v === 'training (unfused)' ? 'never' : 'always';
      batchNormFusion.vec4 = v !== 'training (fused, one value per load)';
      try {
        return E.batchNorm(x!, rm!, rv!, w!, b!, { training: v.startsWith('training') });
      } finally {
        Object.assign(batchNormFusion, before);
      }
    },
    ref: ([x, w, b, rm, rv], _p, v) => batchNormForward(x!, rm!, rv!, w!, b!, { training: v.startsWith('training') }),
  },
  {
    id: 'layerNorm', title: 'layerNorm / groupNorm', family: 'layernorm',
    about: 'Both normalize contiguous rows with the row\'s mean and biased variance (layerNorm: the last dim; groupNorm: the C/G channels of a group of a sample): a stats kernel (one thread per row up to ' + ROWNORM_SHORT_ROW + ' elements, else a workgroup per row), a normalize kernel with the affine weight and bias, and backward kernels for dx and for the affine parameters.',
    kernels: ['ROWNORM_STATS_WGSL', 'rowNormNormalizeWGSL', 'rowNormBackwardDxWGSL', 'ROWNORM_BACKWARD_AFFINE_WGSL', 'ROWNORM_STATS_SHORT_WGSL', 'rowNormBackwardDxShortWGSL'],
    params: { N: 2, C: 4, L: 3, groups: 2 },
    variants: ['layerNorm (last dim)', 'groupNorm', `layerNorm, rows of ${LONG_ROW}`],
    inputs: (p, r, v) => {
      const shape = v.startsWith('layerNorm, rows') ? [p.N!, LONG_ROW] : [p.N!, p.C!, p.L!];
      const wb = v === 'groupNorm' ? p.C! : shape[shape.length - 1]!;
      return [
        { name: 'x', value: randomArr(shape, r, -2, 2), grad: true },
        { name: 'w', value: randomArr([wb], r, 0.5, 1.5), grad: true },
        { name: 'b', value: randomArr([wb], r), grad: true },
      ];
    },
    gpu: ([x, w, b], p, v) => (v === 'groupNorm' ? E.groupNorm(x!, p.groups!, w!, b!) : E.layerNorm(x!, [x!.shape[x!.rank - 1]!], w!, b!)),
    ref: ([x, w, b], p, v) => (v === 'groupNorm' ? groupNormForward(x!, p.groups!, w!, b!) : layerNormForward(x!, [x!.shape[x!.shape.length - 1]!], w!, b!)),
  },
  {
    id: 'transpose', title: 'transpose / slice (strided copies)', family: 'shape',
    about: 'Tensors are always contiguous, so a transpose or a strided slice is a copy: the strided gather kernel reads each output element from its strided place; the backward of a slice scatters the gradient back into zeros (strided scatter), a transpose\'s is the inverse gather.',
    kernels: ['STRIDED_GATHER_WGSL', 'STRIDED_SCATTER_WGSL', 'FILL_WGSL'],
    params: { rows: 3, cols: 6 },
    variants: ['transpose', 'slice(1, 1, 6, 2)'],
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true }],
    gpu: ([x], _p, v) => (v === 'transpose' ? E.transpose(x!, 0, 1) : E.slice(x!, 1, 1, 6, 2)),
    ref: ([x], _p, v) => (v === 'transpose' ? transposeRef(2, 0, 1).forward(x!) : sliceRef(1, 1, 6, 2).forward(x!)),
  },
  {
    id: 'indexSelect', title: 'indexSelect', family: 'shape',
    about: 'y = x.index_select(0, index): row index[i] of x copied to row i (rows may repeat); the backward sums the gradient of every pick of a row (one thread per element of dx, scanning the index).',
    kernels: ['INDEX_SELECT_WGSL', 'INDEX_SELECT_BACKWARD_WGSL'],
    params: { rows: 4, cols: 3, picks: 5 },
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true },
      { name: 'index', value: arr([p.picks!], ints(p.picks!, r, p.rows!)), grad: false, int: true },
    ],
    gpu: ([x, i]) => E.indexSelect(x!, 0, i!),
    ref: ([x, i]) => indexSelectRef(0).forward(x!, i!),
  },
  {
    id: 'gather', title: 'gather', family: 'shape',
    about: 'y[i, j] = x[i, index[i, j]] (torch.gather along dim 1); the backward adds each gradient into the element it came from.',
    kernels: ['GATHER_WGSL', 'GATHER_BACKWARD_WGSL'],
    params: { rows: 3, cols: 4, picks: 5 },
    inputs: (p, r) => [
      { name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true },
      { name: 'index', value: arr([p.rows!, p.picks!], ints(p.rows! * p.picks!, r, p.cols!)), grad: false, int: true },
    ],
    gpu: ([x, i]) => E.gather(x!, 1, i!),
    ref: ([x, i]) => gatherRef(1).forward(x!, i!),
  },
  {
    id: 'embedding', title: 'embedding', family: 'embedding',
    about: 'y[j] = W[index[j]]; the weight gradient sums the rows of every lookup of an index: by scanning the indices per weight element, or (where that is cheaper: a large vocabulary) after sorting the indices, over each run of equal ones.',
    kernels: ['EMBEDDING_WGSL', 'EMBEDDING_BACKWARD_WGSL', 'EMBEDDING_BACKWARD_SORTED_WGSL', 'sortWGSL', 'castWGSL'],
    params: { V: 4, E: 3, K: 5 },
    variants: ['scan backward', 'sorted backward (V = 64)'],
    inputs: (p, r, v) => {
      const V = v === 'scan backward' ? p.V! : 64;
      return [
        { name: 'index', value: arr([p.K!], ints(p.K!, r, V)), grad: false, int: true },
        { name: 'W', value: randomArr([V, p.E!], r), grad: true },
      ];
    },
    gpu: ([i, w]) => E.embedding(i!, w!),
    ref: ([i, w]) => embeddingForward(i!, w!),
  },
  {
    id: 'pad', title: 'pad / repeat', family: 'pad',
    about: 'pad: zeros (or the mirrored border, reflect) around the last two dims, one thread per output; its backward copies the interior gradient back (reflect: adds the mirrored elements). repeat: the tensor tiled, a strided gather.',
    kernels: ['padWGSL', 'padBackwardWGSL', 'STRIDED_GATHER_WGSL', 'SUM_TO_WGSL'],
    params: { rows: 3, cols: 4 },
    variants: ['constant', 'reflect', 'repeat [2, 3]'],
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true }],
    gpu: ([x], _p, v) => (v.startsWith('repeat') ? E.repeat(x!, [2, 3]) : E.pad(x!, [1, 2, 1, 1], { mode: v as 'reflect' })),
    ref: ([x], _p, v) => (v.startsWith('repeat') ? repeatRef(x!, [2, 3]) : padRef(x!, [1, 2, 1, 1], v as 'reflect')),
  },
  {
    id: 'oneHot', title: 'oneHot, casts, fills', family: 'fill',
    about: 'Integer kernels shown as floats (the int32 result cast by the cast kernel): oneHot(index, classes); arange (int32 or float32); full (the fill kernel); addInt_ (in-place int32 add, the batch-norm step counter\'s kernel).',
    kernels: ['ONE_HOT_WGSL', 'castWGSL', 'arangeWGSL', 'FILL_WGSL', 'ADD_INT_INPLACE_WGSL'],
    params: { n: 5, classes: 4 },
    variants: ['oneHot', 'arange int32', 'arange float32', 'full', 'addInt_'],
    inputs: (p, r) => [{ name: 'index', value: arr([p.n!], ints(p.n!, r, p.classes!)), grad: false, int: true }],
    gpu: ([i], p, v) => {
      if (v === 'oneHot') return E.toFloat(E.oneHot(i!, p.classes!));
      if (v === 'arange int32') return E.toFloat(E.arange_(E.empty([p.n!], 'int32'), 3, 2));
      if (v === 'arange float32') return E.arange_(E.empty([p.n!]), 0.5, 0.25);
      if (v === 'full') return E.fill_(E.empty([p.n!]), 2.5);
      return E.toFloat(E.addInt_(E.toInt(E.toFloat(i!)), 7));
    },
    ref: ([i], p, v) => {
      if (v === 'oneHot') return oneHotRef(i!, p.classes!);
      const n = p.n!;
      if (v === 'arange int32') return arr([n], Array.from({ length: n }, (_, k) => 3 + 2 * k));
      if (v === 'arange float32') return arr([n], Array.from({ length: n }, (_, k) => 0.5 + 0.25 * k));
      if (v === 'full') return arr([n], new Array<number>(n).fill(2.5));
      return map(i!, (x) => x + 7);
    },
  },
  {
    id: 'dropout', title: 'dropout', family: 'dropout',
    about: 'y = x / (1 - p) where the hash of (seed, element) keeps it, else 0: the mask is never stored, the backward recomputes it. The reference recomputes the mask from the hash\'s specification in JS integers.',
    kernels: ['DROPOUT_WGSL'],
    params: { rows: 4, cols: 6, pPercent: 30, seed: 7 },
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.rows!, p.cols!], r), grad: true }],
    gpu: ([x], p) => E.dropout(x!, p.pPercent! / 100, true, p.seed!),
    ref: ([x], p) => dropoutRef(p.pPercent! / 100, keepMaskRef(x!.data.length, p.pPercent! / 100, p.seed!)).forward(x!),
  },
  {
    id: 'random', title: 'random draws on the GPU', family: 'random',
    about: 'rand / randn / randint with a seeded Generator, drawn on the GPU (the threshold set to 0 for this panel): each element is a hash of (two keys from the generator, its index). The reference is the engine\'s CPU twin of the hash (randomUniformCPU, …), so the two must agree to float32 rounding.',
    kernels: ['RANDOM_WGSL', 'castWGSL'],
    params: { n: 12, seed: 3 },
    variants: ['uniform [-1, 2)', 'normal (2, 0.5)', 'integers [0, 10)'],
    tolerance: 1e-5,
    configure: () => {
      const before = setRandomGpuThreshold(0);
      return () => void setRandomGpuThreshold(before);
    },
    inputs: () => [],
    gpu: (_xs, p, v) => {
      const generator = new E.Generator(p.seed!);
      if (v.startsWith('uniform')) return E.uniform([p.n!], -1, 2, { generator });
      if (v.startsWith('normal')) return E.randn([p.n!], { mean: 2, std: 0.5, generator });
      return E.toFloat(E.randint(0, 10, [p.n!], { generator }));
    },
    ref: (_xs, p, v) => {
      const g = new E.Generator(p.seed!);
      const k0 = g.nextU32();
      const k1 = g.nextU32();
      const n = p.n!;
      if (v.startsWith('uniform')) return arr([n], randomUniformCPU(n, k0, k1, -1, 2));
      if (v.startsWith('normal')) return arr([n], randomNormalCPU(n, k0, k1, 2, 0.5));
      return arr([n], randomIntCPU(n, k0, k1, 0, 10));
    },
  },
  {
    id: 'attention', title: 'scaled dot-product attention', family: 'attention',
    about: 'softmax(q kᵀ / √E + mask) v, fused: a workgroup per block of query rows streams key/value tiles through workgroup memory with an online softmax (never storing the L×S scores); the backward has a dq kernel and a dk/dv kernel.',
    kernels: ['attentionForwardWGSL', 'attentionBackwardQWGSL', 'attentionBackwardKVWGSL', 'binaryWGSL', 'reduceWGSL', 'STRIDED_SCATTER_WGSL', 'STRIDED_GATHER_WGSL'],
    params: { B: 1, L: 4, S: 5, E: 3 },
    variants: ['no mask', 'causal'],
    inputs: (p, r, v) => [
      { name: 'q', value: randomArr([p.B!, p.L!, p.E!], r), grad: true },
      { name: 'k', value: randomArr([p.B!, v === 'causal' ? p.L! : p.S!, p.E!], r), grad: true },
      { name: 'v', value: randomArr([p.B!, v === 'causal' ? p.L! : p.S!, p.E!], r), grad: true },
    ],
    gpu: ([q, k, v], _p, variant) => E.scaledDotProductAttention(q!, k!, v!, { isCausal: variant === 'causal', implementation: 'fused' }),
    ref: ([q, k, v], _p, variant) => {
      if (variant !== 'causal') return sdpaRef(q!, k!, v!);
      const L = q!.shape[1]!;
      const mask = arr([L, L], Array.from({ length: L * L }, (_, i) => (i % L > Math.floor(i / L) ? -Infinity : 0)));
      return sdpaRef(q!, k!, v!, mask);
    },
  },
  {
    id: 'optimizer', title: 'optimizer updates', family: 'optim',
    about: 'Two steps of an optimizer on a parameter whose .grad is a fixed G, each one in-place kernel over the parameter and its state; the \'3 tensors\' variants cut w into three parameters that one multi-tensor (foreach) kernel updates in a single dispatch, as Optimizer.foreach does by default (PyTorch\'s update rules, checked against the same rules in float64). clip* scale or clamp the gradient first; EMA blends the weights into an average after each step.',
    kernels: ['SGD_WGSL', 'ADAM_WGSL', 'RMSPROP_WGSL', 'CLIP_SCALE_WGSL', 'CLIP_VALUE_WGSL', 'EMA_WGSL', 'sgdMultiWGSL', 'adamMultiWGSL', 'rmspropMultiWGSL', 'binaryWGSL', 'reduceWGSL', 'FILL_WGSL', 'REDUCE_EXPAND_WGSL', 'unaryForwardWGSL', 'STRIDED_SCATTER_WGSL'],
    params: { n: 8 },
    variants: ['SGD momentum', 'Adam', 'AdamW', 'RMSprop', 'clipGradNorm_ + SGD', 'clipGradValue_ + SGD', 'EMA of SGD', 'SGD momentum, 3 tensors (foreach)', 'Adam, 3 tensors (foreach)', 'AdamW, 3 tensors (foreach)', 'RMSprop, 2 tensors (foreach)'],
    inputs: (p, r) => [{ name: 'w', value: randomArr([p.n!], r), grad: false }, { name: 'G', value: randomArr([p.n!], r), grad: false }],
    gpu: ([w, g], _p, v, raw) => (v.endsWith('(foreach)') ? optimizerForeach(v, raw![0]!, raw![1]!) : optimizerGpu(v, w!, g!)),
    ref: ([w, g], _p, v) => optimizerRef(v.split(',')[0]!, w!, g!),
  },
  {
    id: 'codecs', title: 'replay-memory codecs', family: 'pack',
    about: 'The continual-learning memory stores exemplars compressed: fp16 (two per 32-bit word; packed and unpacked on the GPU here, compared with the CPU codec\'s rounding) or uint8 (four per word; 8-bit images through a 256-entry table, or offset + q · step per exemplar).',
    kernels: ['PACK_F16_WGSL', 'UNPACK_F16_WGSL', 'UNPACK_U8_TABLE_WGSL', 'UNPACK_U8_AFFINE_WGSL'],
    params: { k: 2, d: 7 },
    variants: ['fp16 pack + unpack', 'uint8 image table', 'uint8 affine'],
    inputs: (p, r, v) => [{ name: v.startsWith('fp16') ? 'x' : 'q', value: v.startsWith('fp16') ? randomArr([p.k!, p.d!], r, -4, 4) : arr([p.k!, p.d!], ints(p.k! * p.d!, r, 256)), grad: false }],
    gpu: ([x], p, v, raw) => {
      if (v.startsWith('fp16')) return unpackWordsF16(packF16Gpu(x!), p.k!, p.d!);
      const bytes = new Uint8Array(p.k! * Math.ceil(p.d! / 4) * 4);
      for (let e = 0; e < p.k!; e++) for (let j = 0; j < p.d!; j++) bytes[e * Math.ceil(p.d! / 4) * 4 + j] = raw![0]!.data[e * p.d! + j]!;
      const meta = v === 'uint8 affine' ? Float32Array.from({ length: 2 * p.k! }, (_, i) => (i % 2 ? 0.5 : -1 + i)) : null;
      return unpackU8Gpu(bytes, p.k!, [p.d!], meta);
    },
    ref: ([x], _p, v) => {
      if (v.startsWith('fp16')) return map(x!, f16);
      const d = x!.shape[1]!;
      return map(x!, (q, i) => (v === 'uint8 affine' ? Math.fround(-1 + 2 * Math.floor(i / d)) + q * 0.5 : q / 255));
    },
  },
  {
    id: 'transforms', title: 'image transforms', family: 'transforms',
    about: 'The data pipeline\'s GPU kernels on a [B, C, H, W] batch: uint8 pixels to float32 through a per-channel table (the DataLoader\'s first kernel), normalize, random crop with padding plus horizontal flip (one kernel), bilinear resize. Random parameters come from a seeded Generator on the CPU, the same in the reference.',
    kernels: ['U8_TO_F32_WGSL', 'NORMALIZE_WGSL', 'CROP_FLIP_WGSL', 'RESIZE_BILINEAR_WGSL'],
    params: { B: 2, C: 2, H: 5, W: 6 },
    variants: ['uint8 -> float32', 'normalize', 'randomCrop(4, padding 1)', 'horizontal flip', 'resize to 3×4'],
    inputs: (p, r, v) => [{ name: 'x', value: v.startsWith('uint8') ? arr([p.B!, p.C!, p.H!, p.W!], ints(p.B! * p.C! * p.H! * p.W!, r, 256)) : randomArr([p.B!, p.C!, p.H!, p.W!], r), grad: false }],
    gpu: ([x], p, v, raw) => {
      if (v.startsWith('uint8')) return u8ToF32(raw![0]!, [p.B!, p.C!, p.H!, p.W!]);
      if (v === 'normalize') return E.normalize([0.5, -0.25], [2, 0.5]).apply(x!);
      if (v.startsWith('randomCrop')) return E.randomCrop(4, 1).apply(x!, new E.Generator(11));
      if (v === 'horizontal flip') return E.randomHorizontalFlip(0.5).apply(x!, new E.Generator(11));
      return E.resize(3, 4).apply(x!);
    },
    ref: ([x], _p, v) => {
      if (v.startsWith('uint8')) return map(x!, (q) => q / 255);
      if (v === 'normalize') return normalizeRef(x!, [0.5, -0.25], [2, 0.5]);
      if (v.startsWith('randomCrop')) return randomCropRef(x!, 4, 4, 1, new E.Generator(11));
      if (v === 'horizontal flip') return randomHorizontalFlipRef(x!, 0.5, new E.Generator(11));
      return resizeBilinearRef(x!, 3, 4);
    },
  },
];

/** Every op panel of the lab, in page order. */
export const OP_CASES: OpCase[] = [...CORE_CASES, ...MORE_CASES, ...DATA_CASES];
