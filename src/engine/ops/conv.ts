// 2-D convolution (NCHW, groups = 1) with PyTorch's F.conv2d semantics: forward and the gradients of
// input, weight and bias, each one implicit-GEMM kernel (see src/shaders/conv2d.ts).

import { runtime, grid1d, EngramError, type Kernel } from '../runtime.js';
import {
  conv2dForwardWGSL, conv2dDirectWGSL, CONV2D_GRAD_INPUT_WGSL, CONV2D_GRAD_WEIGHT_WGSL, CONV2D_GRAD_BIAS_WGSL, TILE,
} from '../../shaders/conv2d.js';
import { empty, withGrad, type Tensor } from '../tensor.js';
import { shapeStr } from '../shape.js';
import { sumTo } from './elementwise.js';

export interface Conv2dOptions {
  /** Step between output pixels, per axis (default 1). */
  stride?: number | [number, number];
  /** Zeros added on each side, per axis (default 0). */
  padding?: number | [number, number];
  /** Spacing between kernel taps, per axis (default 1). */
  dilation?: number | [number, number];
}

/** Everything a conv kernel needs to know about the problem, resolved and validated once. */
interface Geometry {
  N: number; C: number; H: number; W: number;
  CO: number; KH: number; KW: number; OH: number; OW: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
}

function pair(v: number | [number, number] | undefined, dflt: number, min: number, what: string): [number, number] {
  const p: unknown = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new EngramError(`conv2d: ${what} must be an integer >= ${min} or a pair [h, w] of them, got ${JSON.stringify(v)}`);
  }
  return [p[0] as number, p[1] as number];
}

function geometry(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions): Geometry {
  for (const [t, what] of [[x, 'input'], [weight, 'weight'], [bias, 'bias']] as const) {
    if (t && t.dtype !== 'float32') throw new EngramError(`conv2d: expects float32 tensors, got ${t.dtype} ${what} (shape ${shapeStr(t.shape)}); convert with toFloat()`);
  }
  if (x.rank !== 4) throw new EngramError(`conv2d: input must be 4-D [N, C, H, W], got shape ${shapeStr(x.shape)}`);
  if (weight.rank !== 4) throw new EngramError(`conv2d: weight must be 4-D [Cout, Cin, KH, KW], got shape ${shapeStr(weight.shape)}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [CO, CI, KH, KW] = weight.shape as [number, number, number, number];
  if (CI !== C) {
    throw new EngramError(`conv2d: input ${shapeStr(x.shape)} has ${C} channels but weight ${shapeStr(weight.shape)} expects ${CI}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== CO)) {
    throw new EngramError(`conv2d: bias ${shapeStr(bias.shape)} must have shape [${CO}] (one value per output channel of weight ${shapeStr(weight.shape)})`);
  }
  const [sh, sw] = pair(opts.stride, 1, 1, 'stride');
  const [ph, pw] = pair(opts.padding, 0, 0, 'padding');
  const [dh, dw] = pair(opts.dilation, 1, 1, 'dilation');
  const OH = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
  if (OH <= 0 || OW <= 0 || KH === 0 || KW === 0) {
    throw new EngramError(
      `conv2d: output size [${OH}, ${OW}] is not positive for input ${shapeStr(x.shape)} and weight ${shapeStr(weight.shape)} ` +
        `(stride [${sh}, ${sw}], padding [${ph}, ${pw}], dilation [${dh}, ${dw}]): the dilated kernel [${dh * (KH - 1) + 1}, ${dw * (KW - 1) + 1}] ` +
        `is larger than the padded input [${H + 2 * ph}, ${W + 2 * pw}]`,
    );
  }
  return { N, C, H, W, CO, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw };
}

/** The parameter block shared by every conv kernel (order of the Params struct in conv2d.ts). */
function params(g: Geometry, gemm: { M: number; NN: number; K: number; kChunk?: number; splitStride?: number }): number[] {
  const mTiles = Math.ceil(gemm.M / TILE.BM);
  return [
    g.N, g.C, g.H, g.W, g.CO, g.KH, g.KW, g.OH, g.OW, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw,
    gemm.M, gemm.NN, gemm.K, mTiles, gemm.kChunk ?? gemm.K, gemm.splitStride ?? 0,
  ];
}

/** Launch an implicit GEMM: one workgroup per 64x64 tile of C[M, NN] (folded past 65535), `splits` slices of K on z. */
function gemm(k: Kernel, buffers: GPUBuffer[], g: Geometry, M: number, NN: number, K: number, splits = 1, kChunk = K, splitStride = 0): void {
  const tiles = Math.ceil(M / TILE.BM) * Math.ceil(NN / TILE.BN);
  const [x, y] = grid1d(tiles, 1);
  runtime().dispatch(k, buffers, params(g, { M, NN, K, kChunk, splitStride }), [x, y, splits]);
}

function forward(x: Tensor, weight: Tensor, bias: Tensor | null, g: Geometry): Tensor {
  const rt = runtime();
  const k = rt.kernel({ name: 'conv2d_fwd', wgsl: conv2dForwardWGSL(!!bias), bindings: bias ? ['read', 'read', 'read', 'write'] : ['read', 'read', 'write'] });
  const y = empty([g.N, g.CO, g.OH, g.OW]);
  const bufs = bias ? [x.buffer, weight.buffer, bias.buffer, y.buffer] : [x.buffer, weight.buffer, y.buffer];
  gemm(k, bufs, g, g.N * g.OH * g.OW, g.CO, g.C * g.KH * g.KW);
  return y;
}

function gradInput(gy: Tensor, weight: Tensor, g: Geometry): Tensor {
  const rt = runtime();
  const k = rt.kernel({ name: 'conv2d_grad_input', wgsl: CONV2D_GRAD_INPUT_WGSL, bindings: ['read', 'read', 'write'] });
  const dx = empty([g.N, g.C, g.H, g.W]);
  gemm(k, [gy.buffer, weight.buffer, dx.buffer], g, g.N * g.H * g.W, g.C, g.CO * g.KH * g.KW);
  return dx;
}

/**
 * How many slices of K grad-weight uses. Its output (CO x C*KH*KW) is often a handful of tiles while
 * K = N*OH*OW runs to tens of thousands, which would leave a GPU with a few busy workgroups. Split
 * until about 128 workgroups are in flight, keeping at least 256 of K per slice so the extra
 * partial-sum pass stays small next to the GEMM.
 */
function weightSplits(M: number, NN: number, K: number): { splits: number; kChunk: number } {
  const tiles = Math.ceil(M / TILE.BM) * Math.ceil(NN / TILE.BN);
  const wanted = Math.min(Math.ceil(128 / tiles), Math.floor(K / 256), 64);
  if (wanted <= 1) return { splits: 1, kChunk: K };
  const kChunk = Math.ceil(K / wanted / TILE.BK) * TILE.BK;
  return { splits: Math.ceil(K / kChunk), kChunk };
}

function gradWeight(gy: Tensor, x: Tensor, g: Geometry): Tensor {
  const rt = runtime();
  const k = rt.kernel({ name: 'conv2d_grad_weight', wgsl: CONV2D_GRAD_WEIGHT_WGSL, bindings: ['read', 'read', 'write'] });
  const M = g.C * g.KH * g.KW;
  const K = g.N * g.OH * g.OW;
  const wShape = [g.CO, g.C, g.KH, g.KW];
  const { splits, kChunk } = weightSplits(M, g.CO, K);
  if (splits === 1) {
    const dw = empty(wShape);
    gemm(k, [x.buffer, gy.buffer, dw.buffer], g, M, g.CO, K);
    return dw;
  }
  const partial = empty([splits, ...wShape]);
  gemm(k, [x.buffer, gy.buffer, partial.buffer], g, M, g.CO, K, splits, kChunk, g.CO * M);
  const dw = sumTo(partial, wShape);
  partial.dispose();
  return dw;
}

function gradBias(gy: Tensor, g: Geometry): Tensor {
  const rt = runtime();
  const k = rt.kernel({ name: 'conv2d_grad_bias', wgsl: CONV2D_GRAD_BIAS_WGSL, bindings: ['read', 'write'] });
  const db = empty([g.CO]);
  rt.dispatch(k, [gy.buffer, db.buffer], params(g, { M: 0, NN: 0, K: 0 }), grid1d(g.CO, 1));
  return db;
}

/**
 * 2-D convolution over a batch of images, like PyTorch's `F.conv2d(x, weight, bias, stride, padding,
 * dilation)` with groups = 1: x [N, Cin, H, W], weight [Cout, Cin, KH, KW], bias [Cout] (optional),
 * result [N, Cout, OH, OW] with OH = floor((H + 2*padding - dilation*(KH-1) - 1) / stride) + 1.
 * (Cross-correlation, as in every deep-learning library: the kernel is not flipped.)
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const b = bias ?? null;
  const g = geometry(x, weight, b, opts);
  const y = forward(x, weight, b, g);
  const inputs = b ? [x, weight, b] : [x, weight];
  return withGrad(y, 'conv2d', inputs, (gy) => [
    x.requiresGrad ? gradInput(gy, weight, g) : null,
    weight.requiresGrad ? gradWeight(gy, x, g) : null,
    ...(b ? [b.requiresGrad ? gradBias(gy, g) : null] : []),
  ]);
}

/**
 * The naive direct convolution (one thread per output element): same contract as `conv2d`, forward
 * only and no autograd. It is the oracle the implicit-GEMM kernel is tested against; do not use it
 * for training.
 */
export function conv2dDirect(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const b = bias ?? null;
  const g = geometry(x, weight, b, opts);
  const rt = runtime();
  const k = rt.kernel({ name: 'conv2d_direct', wgsl: conv2dDirectWGSL(!!b), bindings: b ? ['read', 'read', 'read', 'write'] : ['read', 'read', 'write'] });
  const y = empty([g.N, g.CO, g.OH, g.OW]);
  rt.dispatch(k, b ? [x.buffer, weight.buffer, b.buffer, y.buffer] : [x.buffer, weight.buffer, y.buffer], params(g, { M: 0, NN: 0, K: 0 }), grid1d(y.size));
  return y;
}
