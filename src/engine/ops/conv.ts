// 2-D convolution (NCHW) with PyTorch's F.conv2d semantics: forward and the gradients of
// input, weight and bias. groups = 1 runs the kernels below; groups > 1 (depthwise included) runs the
// grouped/depthwise direct kernels of src/shaders/conv-grouped.ts. convTranspose2d and conv1d are
// built on the same passes (a transposed convolution is conv2d's grad-input). Forward and the input and weight gradients are implicit GEMMs whose tile
// shape is chosen per call from the GEMM's size (narrow tiles for the few channels of small CNNs);
// grad-input has a stride-1 variant. See src/shaders/conv2d.ts.

import { runtime, grid1d, EngramError, type Kernel } from '../runtime.js';
import {
  conv2dForwardWGSL, conv2dDirectWGSL, conv2dRegisterWGSL, conv2dSubgroupWGSL, conv2dGradWeightRegisterWGSL, conv2dGradWeightSubgroupWGSL, CONV2D_WEIGHT_LAYOUT_WGSL, conv2dGradInputWGSL, conv2dGradWeightWGSL, CONV2D_GRAD_BIAS_WGSL, tiling, type Tile,
} from '../../shaders/conv2d.js';
import { conv2dGradBiasVec4WGSL } from '../../shaders/conv-bias.js';
import { conv2dGradWeightSubgroupRowsWGSL } from '../../shaders/conv2d-grad-weight-rows.js';
import { convGroupedWGSL, type GroupedPass, type DepthwiseRow } from '../../shaders/conv-grouped.js';
import { empty, withGrad, type Tensor } from '../tensor.js';
import { reshape } from './shape-ops.js';
import { applyBinary } from './elementwise.js';
import { shapeStr } from '../shape.js';
import { sumTo, reluBackwardFromOutput } from './elementwise.js';
import { fill_ } from './fill.js';
import { gemmUsesF16 } from '../precision.js';

/** Options for `conv2d()` and its gradient ops, as in torch.nn.functional.conv2d. */
export interface Conv2dOptions {
  /** Step between output pixels, per axis (default 1). */
  stride?: number | [number, number];
  /** Zeros added on each side, per axis (default 0). */
  padding?: number | [number, number];
  /** Spacing between kernel taps, per axis (default 1). */
  dilation?: number | [number, number];
  /**
   * Split the channels into this many groups (default 1), as PyTorch's `groups`: input and output
   * channels must both be divisible by it, the weight is [Cout, Cin/groups, KH, KW], and output
   * channel co sees only the input channels of its group. groups = Cin is a depthwise convolution.
   */
  groups?: number;
  /**
   * Apply ReLU to the output in the same kernel: `conv2d(x, w, b, { relu: true })` equals
   * `relu(conv2d(x, w, b))` (values and gradients) without the extra pass over y. Forward only:
   * ignored by conv2dGradInput / conv2dGradWeight.
   */
  relu?: boolean;
}

/** Everything a conv kernel needs to know about the problem, resolved and validated once. */
interface Geometry {
  N: number; C: number; H: number; W: number;
  CO: number; KH: number; KW: number; OH: number; OW: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  /** Groups (1: the dense kernels). */
  G: number;
}

function pair(v: number | [number, number] | undefined, dflt: number, min: number, what: string, op: string): [number, number] {
  const p: unknown = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new EngramError(`${op}: ${what} must be an integer >= ${min} or a pair [h, w] of them, got ${JSON.stringify(v)}`);
  }
  return [p[0] as number, p[1] as number];
}

function geometry(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions, op = 'conv2d'): Geometry {
  for (const [t, what] of [[x, 'input'], [weight, 'weight'], [bias, 'bias']] as const) {
    if (t) checkFloat(t, what, op);
  }
  return shapeGeometry(x.shape, weight.shape, bias ? bias.shape : null, opts, op);
}

function checkFloat(t: Tensor, what: string, op: string): void {
  if (t.dtype !== 'float32') throw new EngramError(`${op}: expects float32 tensors, got ${t.dtype} ${what} (shape ${shapeStr(t.shape)}); convert with toFloat()`);
}

function shapeGeometry(xShape: readonly number[], wShape: readonly number[], bShape: readonly number[] | null, opts: Conv2dOptions, op: string): Geometry {
  if (xShape.length !== 4) throw new EngramError(`${op}: input must be 4-D [N, C, H, W], got shape ${shapeStr(xShape)}`);
  if (wShape.length !== 4) throw new EngramError(`${op}: weight must be 4-D [Cout, Cin, KH, KW], got shape ${shapeStr(wShape)}`);
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [CO, CI, KH, KW] = wShape as [number, number, number, number];
  const G = opts.groups ?? 1;
  if (!Number.isInteger(G) || G < 1) throw new EngramError(`${op}: groups must be an integer >= 1, got ${JSON.stringify(opts.groups)}`);
  if (G > 1) {
    if (C % G !== 0 || CO % G !== 0) {
      throw new EngramError(`${op}: groups ${G} must divide both the input channels (${C}, input ${shapeStr(xShape)}) and the output channels (${CO}, weight ${shapeStr(wShape)})`);
    }
    if (CI * G !== C) {
      throw new EngramError(`${op}: input ${shapeStr(xShape)} has ${C} channels, so with groups ${G} the weight ${shapeStr(wShape)} must have ${C / G} per group (dimension 1), not ${CI}`);
    }
  } else if (CI !== C) {
    throw new EngramError(`${op}: input ${shapeStr(xShape)} has ${C} channels but weight ${shapeStr(wShape)} expects ${CI}`);
  }
  if (bShape && (bShape.length !== 1 || bShape[0] !== CO)) {
    throw new EngramError(`${op}: bias ${shapeStr(bShape)} must have shape [${CO}] (one value per output channel of weight ${shapeStr(wShape)})`);
  }
  const [sh, sw] = pair(opts.stride, 1, 1, 'stride', op);
  const [ph, pw] = pair(opts.padding, 0, 0, 'padding', op);
  const [dh, dw] = pair(opts.dilation, 1, 1, 'dilation', op);
  const OH = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
  if (OH <= 0 || OW <= 0 || KH === 0 || KW === 0) {
    throw new EngramError(
      `${op}: output size [${OH}, ${OW}] is not positive for input ${shapeStr(xShape)} and weight ${shapeStr(wShape)} ` +
        `(stride [${sh}, ${sw}], padding [${ph}, ${pw}], dilation [${dh}, ${dw}]): the dilated kernel [${dh * (KH - 1) + 1}, ${dw * (KW - 1) + 1}] ` +
        `is larger than the padded input [${H + 2 * ph}, ${W + 2 * pw}]`,
    );
  }
  return { N, C, H, W, CO, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw, G };
}

/**
 * The row-blocked depthwise kernels' blocking (convGroupedWGSL's `row`), used where the direct kernel
 * family runs (CPU-backed adapters), or null: grad-input needs stride 1 along both axes. 8 pixels
 * per thread (measured on lavapipe, [32,64,28,28] 3x3: forward ~1.3x and forward+backward ~1.15x the
 * 4-pixel blocking in CPU time, despite the half-empty last block of a 28-wide row).
 */
function depthwiseRow(pass: GroupedPass, g: Geometry): DepthwiseRow | null {
  if (!useDirect() || g.C !== g.G) return null;
  if (pass === 'gradInput' && (g.sh !== 1 || g.sw !== 1)) return null;
  return { PPT: depthwiseKernels.ppt, KW: g.KW, SW: g.sw, DW: g.dw };
}

/** Tests and benchmarks only: the row-blocked depthwise kernels' pixels per thread. */
export const depthwiseKernels = {
  /** Output pixels per thread along the width (default 8). */
  ppt: 8,
};

/**
 * Runs one pass of the grouped/depthwise kernels (src/shaders/conv-grouped.ts): forward
 * (a = x, b = w, bias), gradInput (a = dy, b = w) or gradWeight (a = x, b = dy). Depthwise passes
 * run the row-blocked kernels where depthwiseRow allows, unless `oneThreadPerOutput` (conv2dDirect,
 * the oracle, keeps the plain kernels).
 */
function grouped(pass: GroupedPass, a: Tensor, b: Tensor, g: Geometry, bias: Tensor | null = null, relu = false, oneThreadPerOutput = false): Tensor {
  const rt = runtime();
  const depthwise = g.C === g.G;
  const row = oneThreadPerOutput ? null : depthwiseRow(pass, g);
  const k = rt.kernel({
    name: `conv2d_${depthwise ? 'depthwise' : 'grouped'}_${pass}${row ? `_row${row.PPT}_k${row.KW}s${row.SW}d${row.DW}` : ''}`,
    wgsl: convGroupedWGSL(pass, depthwise, row),
    bindings: pass === 'forward' ? ['read', 'read', 'read', 'write'] : ['read', 'read', 'write'],
  });
  const shape = pass === 'forward' ? [g.N, g.CO, g.OH, g.OW] : pass === 'gradInput' ? [g.N, g.C, g.H, g.W] : [g.CO, g.C / g.G, g.KH, g.KW];
  // Threads: one per element of the result, or (row-blocked) one per PPT pixels or per kernel row.
  const threads = row && pass === 'gradWeight' ? g.CO * g.KH : shape.reduce((m, d) => m * d, 1);
  // grad-weight: few threads each summing N*OH*OW products; slice the rows across z.
  const { rowsPerSplit, slices } = pass === 'gradWeight' ? rowSlices(g.N * g.OH, Math.ceil(threads / 64), 128) : { rowsPerSplit: 0, slices: 1 };
  const out = empty(slices === 1 ? shape : [slices, ...shape]);
  const flags = (bias ? EPILOGUE_BIAS : 0) | (relu ? EPILOGUE_RELU : 0);
  const p = [g.N, g.C, g.H, g.W, g.CO, g.KH, g.KW, g.OH, g.OW, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.G, flags, rowsPerSplit];
  const buffers = pass === 'forward' ? [a.buffer, b.buffer, (bias ?? b).buffer, out.buffer] : [a.buffer, b.buffer, out.buffer];
  if (row && pass !== 'gradWeight') {
    // (blocks of 64 threads of one channel plane, plane folded into z): planes [N, C_out], rows, width.
    const [, planeC, rows, width] = shape as [number, number, number, number];
    rt.dispatch(k, buffers, p, [Math.ceil((rows * Math.ceil(width / row.PPT)) / 64), ...grid1d(g.N * planeC, 1)]);
  } else {
    rt.dispatch(k, buffers, p, [...grid1d(threads, 64), slices]);
  }
  return pass === 'gradWeight' ? sumSlices(out, shape, slices) : out;
}

/** The parameter block shared by every conv kernel (order of the Params struct in conv2d.ts). */
function params(g: Geometry, gemm: { M: number; NN: number; K: number; mTiles?: number; kChunk?: number; splitStride?: number; epilogue?: number }): number[] {
  return [
    g.N, g.C, g.H, g.W, g.CO, g.KH, g.KW, g.OH, g.OW, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw,
    gemm.M, gemm.NN, gemm.K, gemm.mTiles ?? 0, gemm.kChunk ?? gemm.K, gemm.splitStride ?? 0, gemm.epilogue ?? 0,
  ];
}

/** Forward epilogue flags (the `bias` word of the parameter block). */
const EPILOGUE_BIAS = 1;
const EPILOGUE_RELU = 2;

/** The GEMM tile for C[M, NN] (see `tiling.choose`), unless a test or benchmark forces one. */
function tileFor(M: number, NN: number): Tile {
  return tiling.force ?? tiling.choose(M, NN, runtime().device.limits.maxComputeWorkgroupStorageSize);
}

/** Launch an implicit GEMM: one workgroup per tile of C[M, NN] (folded past 65535), `splits` slices of K on z. */
function gemm(k: Kernel, t: Tile, buffers: GPUBuffer[], g: Geometry, M: number, NN: number, K: number, splits = 1, kChunk = K, splitStride = 0, epilogue = 0): void {
  const mTiles = Math.ceil(M / t.BM);
  const [x, y] = grid1d(mTiles * Math.ceil(NN / t.BN), 1);
  runtime().dispatch(k, buffers, params(g, { M, NN, K, mTiles, kChunk, splitStride, epilogue }), [x, y, splits]);
}

/** Kernel name suffix: the tile, and _f16 when the operands are staged as float16 (see precision.ts). */
const tileName = (t: Tile, f16: boolean) => `${t.BM}x${t.BN}x${t.BK}_${t.TM}x${t.TN}${f16 ? '_f16' : ''}`;

/** The register-blocked direct kernel's blocking: 8 pixels x 8 channels when CO allows, else x 4. */
function registerBlocking(outChannels: number): { PPT: number; CPT: number } | null {
  if (outChannels % 8 === 0) return { PPT: 8, CPT: 8 };
  if (outChannels % 4 === 0) return { PPT: 8, CPT: 4 };
  return null;
}

/**
 * The subgroup kernel's blocking (PPT pixels x 4*QB channels, measured on lavapipe: 4 x 32 is ~2x the
 * register kernel from 64 channels up, 8 x 16 at 32 channels), or null when it does not apply: no
 * `subgroups` feature, a subgroup smaller than QB, or a test forcing it off.
 */
function subgroupBlocking(outChannels: number): { PPT: number; QB: number } | null {
  const size = runtime().info.subgroupMinSize;
  if (convKernels.subgroups === false || size === 0) return null;
  const options = [
    { PPT: 4, QB: 8, ok: outChannels % 32 === 0 && outChannels >= 64 },
    { PPT: 8, QB: 4, ok: outChannels % 16 === 0 },
    { PPT: 8, QB: 2, ok: outChannels % 8 === 0 },
    { PPT: 8, QB: 1, ok: outChannels % 4 === 0 },
  ];
  const b = options.find((o) => o.ok && o.QB <= size);
  return b ? { PPT: b.PPT, QB: b.QB } : null;
}

/**
 * Whether forward and stride-1 grad-input use the register-blocked direct kernel (conv2dRegisterWGSL)
 * instead of the implicit GEMM: by default on CPU-backed adapters (runtime().kernelFamily), where it measured faster, and not
 * with float16 operands (an implicit-GEMM feature) or a forced GEMM tile. Tests and benchmarks set
 * `direct` to force either way, and `subgroups = false` to keep the direct path off the subgroup kernel.
 */
export const convKernels = {
  /** true forces the direct kernels, false the implicit GEMMs; null (default) chooses by adapter. */
  direct: null as boolean | null,
  /** false keeps the direct path off the subgroup kernels; null (default) uses them where they apply. */
  subgroups: null as boolean | null,
  /**
   * false keeps 3x3 grad-weight of widths W % 4 != 0 off the scalar-row subgroup kernel
   * (conv2dGradWeightSubgroupRowsWGSL), so they fall back as before; null (default) uses it where it applies.
   */
  gradWeightRows: null as boolean | null,
};
function useDirect(): boolean {
  if (convKernels.direct !== null) return convKernels.direct;
  return runtime().kernelFamily === 'direct' && !gemmUsesF16() && tiling.force === null;
}

/** w [CO, C/G, KH, KW] re-laid out as [K][OC] for the direct kernel (flipped and transposed for grad-input). */
function weightLayout(weight: Tensor, g: Geometry, flip: boolean): Tensor {
  const rt = runtime();
  const k = rt.kernel({ name: 'conv2d_weight_layout', wgsl: CONV2D_WEIGHT_LAYOUT_WGSL, bindings: ['read', 'write'] });
  const wt = empty([weight.size]);
  rt.dispatch(k, [weight.buffer, wt.buffer], [g.CO, g.C, g.KH, g.KW, flip ? 1 : 0, weight.size, g.G], grid1d(weight.size));
  return wt;
}

/**
 * Grouped convolutions (groups > 1, not depthwise) on CPU-backed adapters with subgroups run the
 * grouped variants of the dense direct kernels: the same loops, restricted to one group's channels
 * (measured on lavapipe, [32,64,28,28] 3x3 groups 4: ~10x+ the one-thread-per-output grouped
 * kernels). Operands: forward a = x, b = w; gradInput a = dy, b = w; gradWeight a = dy, b = x.
 * `pass` names the kernels (conv2d_grouped_<pass>_...). Returns null where they do not
 * apply (another adapter, no subgroups, a group's channel count not a multiple of 4, or, for
 * grad-input, a stride other than 1): the caller then runs the conv-grouped kernels.
 */
function groupedDirect(pass: GroupedPass, a: Tensor, b: Tensor, g: Geometry, bias: Tensor | null = null, epilogue = 0): Tensor | null {
  if (g.G === 1 || g.C === g.G || !useDirect()) return null;
  if (pass === 'gradWeight') return gradWeightSubgroup(a, b, g);
  const weight = b;
  if (pass === 'forward') {
    if (!subgroupBlocking(g.CO / g.G)) return null;
    const wt = weightLayout(weight, g, false);
    const y = directConv(a, wt, bias, g, epilogue, null, 'forward');
    wt.dispose();
    return y;
  }
  const ph2 = g.dh * (g.KH - 1) - g.ph;
  const pw2 = g.dw * (g.KW - 1) - g.pw;
  if (g.sh !== 1 || g.sw !== 1 || ph2 < 0 || pw2 < 0 || !subgroupBlocking(g.C / g.G)) return null;
  const wt = weightLayout(weight, g, true);
  const asConv: Geometry = { N: g.N, C: g.CO, H: g.OH, W: g.OW, CO: g.C, KH: g.KH, KW: g.KW, OH: g.H, OW: g.W, sh: 1, sw: 1, ph: ph2, pw: pw2, dh: g.dh, dw: g.dw, G: g.G };
  const dx = directConv(a, wt, null, asConv, 0, null, 'gradInput');
  wt.dispose();
  return dx;
}

/**
 * Runs the direct kernel for geometry `g` (x [N, C, H, W] -> y [N, CO, OH, OW]) with WT from
 * weightLayout: the subgroup variant where it applies, else the register-blocked one.
 */
function directConv(x: Tensor, wt: Tensor, bias: Tensor | null, g: Geometry, epilogue: number, b: { PPT: number; CPT: number } | null, groupedPass: 'forward' | 'gradInput' = 'forward'): Tensor {
  const rt = runtime();
  const y = empty([g.N, g.CO, g.OH, g.OW]);
  // Grouped variants read G from the M word (the direct kernels have no M).
  const p = params(g, { M: g.G > 1 ? g.G : 0, NN: 0, K: g.C * g.KH * g.KW, epilogue });
  const buffers = [x.buffer, wt.buffer, (bias ?? wt).buffer, y.buffer];
  const sg = subgroupBlocking(g.CO / g.G);
  if (sg) {
    const grouped = g.G > 1;
    const name = `conv2d_${grouped ? `grouped_${groupedPass}_` : ''}subgroup_${sg.PPT}x${4 * sg.QB}_k${g.KW}s${g.sw}d${g.dw}`;
    const k = rt.kernel({ name, wgsl: conv2dSubgroupWGSL(sg.PPT, sg.QB, g.KW, g.sw, g.dw, grouped ? groupedPass : null), bindings: ['read', 'read', 'read', 'write'] });
    const [gx, gz] = grid1d(g.N * g.OH * Math.ceil(g.OW / sg.PPT), 64);
    rt.dispatch(k, buffers, p, [gx, g.CO / (4 * sg.QB), gz]);
    return y;
  }
  if (!b || g.G > 1) throw new EngramError(`conv2d: internal: no direct kernel for ${JSON.stringify(g)}`);
  const k = rt.kernel({ name: `conv2d_register_${b.PPT}x${b.CPT}`, wgsl: conv2dRegisterWGSL(b.PPT, b.CPT), bindings: ['read', 'read', 'read', 'write'] });
  const threads = g.N * g.OH * Math.ceil(g.OW / b.PPT) * (g.CO / b.CPT);
  rt.dispatch(k, buffers, p, grid1d(threads, 64));
  return y;
}

function forward(x: Tensor, weight: Tensor, bias: Tensor | null, g: Geometry, relu = false): Tensor {
  if (g.G > 1) return groupedDirect('forward', x, weight, g, bias, (bias ? EPILOGUE_BIAS : 0) | (relu ? EPILOGUE_RELU : 0)) ?? grouped('forward', x, weight, g, bias, relu);
  const rt = runtime();
  const blocking = registerBlocking(g.CO);
  if (useDirect() && blocking) {
    const wt = weightLayout(weight, g, false);
    const y = directConv(x, wt, bias, g, (bias ? EPILOGUE_BIAS : 0) | (relu ? EPILOGUE_RELU : 0), blocking);
    wt.dispose();
    return y;
  }
  const M = g.N * g.OH * g.OW;
  const t = tileFor(M, g.CO);
  const f16 = gemmUsesF16();
  const k = rt.kernel({ name: `conv2d_fwd_${tileName(t, f16)}`, wgsl: conv2dForwardWGSL(t, f16), bindings: ['read', 'read', 'read', 'write'] });
  const y = empty([g.N, g.CO, g.OH, g.OW]);
  // One kernel with and without bias and ReLU (flags in the parameters; the weight stands in for the absent bias).
  const epilogue = (bias ? EPILOGUE_BIAS : 0) | (relu ? EPILOGUE_RELU : 0);
  gemm(k, t, [x.buffer, weight.buffer, (bias ?? weight).buffer, y.buffer], g, M, g.CO, g.C * g.KH * g.KW, 1, undefined, 0, epilogue);
  return y;
}

function gradInput(gy: Tensor, weight: Tensor, g: Geometry): Tensor {
  if (g.G > 1) return groupedDirect('gradInput', gy, weight, g) ?? grouped('gradInput', gy, weight, g);
  const rt = runtime();
  // Stride 1: dx is the convolution of dy with the flipped, transposed kernel and padding d*(K-1) - p.
  const blocking = registerBlocking(g.C);
  const ph2 = g.dh * (g.KH - 1) - g.ph;
  const pw2 = g.dw * (g.KW - 1) - g.pw;
  if (useDirect() && blocking && g.sh === 1 && g.sw === 1 && ph2 >= 0 && pw2 >= 0) {
    const wt = weightLayout(weight, g, true);
    const asConv: Geometry = {
      N: g.N, C: g.CO, H: g.OH, W: g.OW, CO: g.C, KH: g.KH, KW: g.KW, OH: g.H, OW: g.W,
      sh: 1, sw: 1, ph: ph2, pw: pw2, dh: g.dh, dw: g.dw, G: 1,
    };
    const dx = directConv(gy, wt, null, asConv, 0, blocking);
    wt.dispose();
    return dx;
  }
  const M = g.N * g.H * g.W;
  const t = tileFor(M, g.C);
  const stride1 = g.sh === 1 && g.sw === 1;
  const f16 = gemmUsesF16();
  const k = rt.kernel({ name: `conv2d_grad_input_${tileName(t, f16)}${stride1 ? '_s1' : ''}`, wgsl: conv2dGradInputWGSL(t, stride1, f16), bindings: ['read', 'read', 'write'] });
  const dx = empty([g.N, g.C, g.H, g.W]);
  gemm(k, t, [gy.buffer, weight.buffer, dx.buffer], g, M, g.C, g.CO * g.KH * g.KW);
  return dx;
}

/**
 * How many slices of K grad-weight uses. Its output (CO x C*KH*KW) is often a handful of tiles while
 * K = N*OH*OW runs to tens of thousands, which would leave a GPU with a few busy workgroups. Split
 * until about 128 workgroups are in flight, keeping at least 256 of K per slice so the extra
 * partial-sum pass stays small next to the GEMM.
 */
function weightSplits(t: Tile, M: number, NN: number, K: number): { splits: number; kChunk: number } {
  const tiles = Math.ceil(M / t.BM) * Math.ceil(NN / t.BN);
  const wanted = Math.min(Math.ceil(128 / tiles), Math.floor(K / 256), 64);
  if (wanted <= 1) return { splits: 1, kChunk: K };
  const kChunk = Math.ceil(K / wanted / t.BK) * t.BK;
  return { splits: Math.ceil(K / kChunk), kChunk };
}

/**
 * How the direct grad-weight kernels slice the output rows (n, oh) across workgroups (z): enough
 * slices for about `minWorkgroups` workgroups in all, each slice at least 4 rows, at most 64 slices.
 */
function rowSlices(rows: number, workgroups: number, minWorkgroups: number): { rowsPerSplit: number; slices: number } {
  const splits = Math.max(1, Math.min(Math.ceil(minWorkgroups / workgroups), Math.floor(rows / 4), 64));
  const rowsPerSplit = Math.ceil(rows / splits);
  return { rowsPerSplit, slices: Math.ceil(rows / rowsPerSplit) };
}

/** dw from per-slice partial sums [slices, ...wShape] (or the result itself when there is one slice). */
function sumSlices(out: Tensor, wShape: number[], slices: number): Tensor {
  if (slices === 1) return out;
  const dw = sumTo(out, wShape);
  out.dispose();
  return dw;
}

/** Register-blocked grad-weight (CPU-backed adapters): needs CO % 8 == 0 and OW % 4 == 0. */
function gradWeightDirect(gy: Tensor, x: Tensor, g: Geometry): Tensor {
  const rt = runtime();
  const K = g.C * g.KH * g.KW;
  const k = rt.kernel({ name: 'conv2d_grad_weight_register', wgsl: conv2dGradWeightRegisterWGSL(), bindings: ['read', 'read', 'write'] });
  const wShape = [g.CO, g.C, g.KH, g.KW];
  const threads = Math.ceil(K / 8) * (g.CO / 8);
  const { rowsPerSplit, slices } = rowSlices(g.N * g.OH, Math.ceil(threads / 64), 32);
  const grid: [number, number, number] = [...grid1d(threads, 64), slices];
  const out = empty(slices === 1 ? wShape : [slices, ...wShape]);
  rt.dispatch(k, [x.buffer, gy.buffer, out.buffer], params(g, { M: 0, NN: 0, K, kChunk: rowsPerSplit, splitStride: g.CO * K }), grid);
  return sumSlices(out, wShape, slices);
}

/**
 * Subgroup grad-weight for 3x3 convolutions that keep the width (stride 1, dilation 1 and padding 1
 * along it; any stride, padding and dilation along the height), or null when it does not apply.
 * W % 4 == 0 runs the vec4 kernel (conv2dGradWeightSubgroupWGSL), other widths the scalar-row one
 * (conv2dGradWeightSubgroupRowsWGSL, unless convKernels.gradWeightRows is false). 8 output channels per
 * workgroup (measured on lavapipe: 2.6-3x the register kernel; 4 channels: 1.6-2.5x), 4 where the
 * subgroup or CO needs it.
 */
function gradWeightSubgroup(gy: Tensor, x: Tensor, g: Geometry): Tensor | null {
  const size = runtime().info.subgroupMinSize;
  const Cg = g.C / g.G;
  const CB = [8, 4].find((cb) => cb <= size && (g.CO / g.G) % cb === 0);
  const fits = g.KH === 3 && g.KW === 3 && g.sw === 1 && g.dw === 1 && g.pw === 1 && g.OW === g.W;
  if (!CB || !fits || convKernels.subgroups === false) return null;
  const vec4 = g.W % 4 === 0;
  if (!vec4 && convKernels.gradWeightRows === false) return null;
  const rt = runtime();
  const grouped = g.G > 1;
  const wShape = [g.CO, Cg, 3, 3];
  const { rowsPerSplit, slices } = rowSlices(g.N * g.OH, Math.ceil(Cg / 8) * (g.CO / CB), 64);
  const out = empty(slices === 1 ? wShape : [slices, ...wShape]);
  const grid: [number, number, number] = [Math.ceil(Cg / 8), g.CO / CB, slices];
  const prefix = `conv2d_${grouped ? 'grouped_gradWeight_' : 'grad_weight_'}`;
  if (vec4) {
    const k = rt.kernel({ name: `${prefix}subgroup_${CB}`, wgsl: conv2dGradWeightSubgroupWGSL(CB, grouped), bindings: ['read', 'read', 'write'] });
    const p = params(g, { M: grouped ? g.G : 0, NN: 0, K: Cg * 9, kChunk: rowsPerSplit, splitStride: g.CO * Cg * 9 });
    rt.dispatch(k, [x.buffer, gy.buffer, out.buffer], p, grid);
  } else {
    const k = rt.kernel({ name: `${prefix}rows_${CB}`, wgsl: conv2dGradWeightSubgroupRowsWGSL(CB, grouped), bindings: ['read', 'read', 'write'] });
    const p = [g.N, g.C, g.H, g.W, g.CO, g.OH, g.sh, g.ph, g.dh, g.G, rowsPerSplit, g.CO * Cg * 9];
    rt.dispatch(k, [x.buffer, gy.buffer, out.buffer], p, grid);
  }
  return sumSlices(out, wShape, slices);
}

function gradWeight(gy: Tensor, x: Tensor, g: Geometry): Tensor {
  // An empty batch (or empty output) contributes nothing: dw = 0, as in PyTorch. The kernels below
  // size their row slices and split-K chunks by dividing by the row count, which would be 0.
  if (g.N * g.OH * g.OW === 0) return fill_(empty([g.CO, g.C / g.G, g.KH, g.KW]), 0);
  if (g.G > 1) return groupedDirect('gradWeight', gy, x, g) ?? grouped('gradWeight', x, gy, g);
  const rt = runtime();
  if (useDirect()) {
    const dw = gradWeightSubgroup(gy, x, g);
    if (dw) return dw;
  }
  if (useDirect() && g.CO % 8 === 0 && g.OW % 4 === 0) return gradWeightDirect(gy, x, g);
  const M = g.C * g.KH * g.KW;
  const K = g.N * g.OH * g.OW;
  const t = tileFor(M, g.CO);
  const f16 = gemmUsesF16();
  const k = rt.kernel({ name: `conv2d_grad_weight_${tileName(t, f16)}`, wgsl: conv2dGradWeightWGSL(t, f16), bindings: ['read', 'read', 'write'] });
  const wShape = [g.CO, g.C, g.KH, g.KW];
  const { splits, kChunk } = weightSplits(t, M, g.CO, K);
  if (splits === 1) {
    const dw = empty(wShape);
    gemm(k, t, [x.buffer, gy.buffer, dw.buffer], g, M, g.CO, K);
    return dw;
  }
  const partial = empty([splits, ...wShape]);
  gemm(k, t, [x.buffer, gy.buffer, partial.buffer], g, M, g.CO, K, splits, kChunk, g.CO * M);
  const dw = sumTo(partial, wShape);
  partial.dispose();
  return dw;
}

/** Which bias-gradient kernel runs (conv2d's db), for tests and benchmarks. */
export const convBiasKernels = {
  /**
   * true (default) sends OH * OW % 4 == 0 to the vec4 kernel (conv2dGradBiasVec4WGSL: four values a
   * load, no division per element); false forces the scalar CONV2D_GRAD_BIAS_WGSL everywhere.
   */
  vec4: true,
  /**
   * The vec4 kernel's threads per channel (a power of two, 1 to 256); null (default) takes 8 on
   * CPU-backed adapters, where fewer threads, hence fewer barriers in the final tree, measured
   * fastest (bench/conv-bias.ts), and 256 elsewhere.
   */
  workgroupSize: null as number | null,
};

function gradBias(gy: Tensor, g: Geometry): Tensor {
  const rt = runtime();
  const db = empty([g.CO]);
  const S = g.OH * g.OW;
  if (convBiasKernels.vec4 && S % 4 === 0) {
    const wg = convBiasKernels.workgroupSize ?? (rt.cpuBacked ? 8 : 256);
    if (!(Number.isInteger(wg) && wg >= 1 && wg <= 256 && (wg & (wg - 1)) === 0)) {
      throw new EngramError(`conv2d grad-bias: convBiasKernels.workgroupSize = ${wg} for g ${shapeStr(gy.shape)}; it must be a power of two from 1 to 256, or null for the adapter's default`);
    }
    const k = rt.kernel({ name: `conv2d_grad_bias_vec4_${wg}`, wgsl: conv2dGradBiasVec4WGSL(wg), bindings: ['read', 'write'] });
    // A thread's step of 2 * wg vec4s, split into whole planes and the rest (see the kernel).
    const S4 = S / 4;
    const stepImages = Math.floor((2 * wg) / S4);
    const rest = 2 * wg - stepImages * S4;
    rt.dispatch(k, [gy.buffer, db.buffer], [g.CO, S4, g.N * S4, rest, stepImages * g.CO * S4, g.CO * S4], grid1d(g.CO, 1));
    return db;
  }
  const k = rt.kernel({ name: 'conv2d_grad_bias', wgsl: CONV2D_GRAD_BIAS_WGSL, bindings: ['read', 'write'] });
  rt.dispatch(k, [gy.buffer, db.buffer], params(g, { M: 0, NN: 0, K: 0 }), grid1d(g.CO, 1));
  return db;
}

/**
 * 2-D convolution over a batch of images, like PyTorch's `F.conv2d(x, weight, bias, stride, padding,
 * dilation, groups)`: x [N, Cin, H, W], weight [Cout, Cin/groups, KH, KW], bias [Cout] (optional),
 * result [N, Cout, OH, OW] with OH = floor((H + 2*padding - dilation*(KH-1) - 1) / stride) + 1.
 * (Cross-correlation, as in every deep-learning library: the kernel is not flipped.) groups > 1
 * (depthwise: groups = Cin) runs dedicated grouped/depthwise kernels, forward and backward.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const b = bias ?? null;
  const g = geometry(x, weight, b, opts);
  const relu = opts.relu === true;
  const y = forward(x, weight, b, g, relu);
  const inputs = b ? [x, weight, b] : [x, weight];
  return withGrad(y, relu ? 'conv2dRelu' : 'conv2d', inputs, (gyOut) => {
    // With the fused ReLU, first route the gradient through it (y > 0 exactly where the pre-activation was).
    const gy = relu ? reluBackwardFromOutput(gyOut, y) : gyOut;
    const grads = [
      x.requiresGrad ? gradInput(gy, weight, g) : null,
      weight.requiresGrad ? gradWeight(gy, x, g) : null,
      ...(b ? [b.requiresGrad ? gradBias(gy, g) : null] : []),
    ];
    if (relu) gy.dispose();
    return grads;
  }, { saved: relu ? [x, weight, y] : [x, weight] });
}

/**
 * The naive direct convolution (one thread per output element): same contract as `conv2d`, forward
 * only and no autograd. It is the oracle the implicit-GEMM kernel is tested against; do not use it
 * for training.
 */
export function conv2dDirect(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const b = bias ?? null;
  if (opts.relu) throw new EngramError('conv2dDirect: the reference kernel has no fused ReLU; apply relu() to its result');
  const g = geometry(x, weight, b, opts);
  if (g.G > 1) return grouped('forward', x, weight, g, b, false, true);
  const rt = runtime();
  const k = rt.kernel({ name: 'conv2d_direct', wgsl: conv2dDirectWGSL(!!b), bindings: b ? ['read', 'read', 'read', 'write'] : ['read', 'read', 'write'] });
  const y = empty([g.N, g.CO, g.OH, g.OW]);
  rt.dispatch(k, b ? [x.buffer, weight.buffer, b.buffer, y.buffer] : [x.buffer, weight.buffer, y.buffer], params(g, { M: 0, NN: 0, K: 0 }), grid1d(y.size));
  return y;
}

/** Checks that a gradient tensor has the convolution's output shape. */
function checkGradOutput(gy: Tensor, g: Geometry, op: string): void {
  checkFloat(gy, 'grad_output', op);
  const want = [g.N, g.CO, g.OH, g.OW];
  if (gy.rank !== 4 || gy.shape.some((d, i) => d !== want[i])) {
    throw new EngramError(`${op}: grad_output ${shapeStr(gy.shape)} must have the convolution's output shape ${shapeStr(want)}`);
  }
}

/**
 * The gradient of `conv2d` with respect to its input, like PyTorch's `torch.nn.grad.conv2d_input`:
 * given the input's shape [N, Cin, H, W], the weight [Cout, Cin, KH, KW] and the gradient of the
 * output [N, Cout, OH, OW], returns dL/dx [N, Cin, H, W]. No autograd (the result is a plain tensor).
 */
export function conv2dGradInput(inputShape: readonly number[], weight: Tensor, gradOutput: Tensor, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2dGradInput';
  checkFloat(weight, 'weight', op);
  if (inputShape.length !== 4 || !inputShape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new EngramError(`${op}: input shape must be 4 non-negative integers [N, C, H, W], got ${JSON.stringify(inputShape)}`);
  }
  const g = shapeGeometry(inputShape, weight.shape, null, opts, op);
  checkGradOutput(gradOutput, g, op);
  return gradInput(gradOutput, weight, g);
}

/**
 * The gradient of `conv2d` with respect to its weight, like PyTorch's `torch.nn.grad.conv2d_weight`:
 * given the input [N, Cin, H, W], the weight's shape [Cout, Cin, KH, KW] and the gradient of the
 * output [N, Cout, OH, OW], returns dL/dw [Cout, Cin, KH, KW]. No autograd.
 */
export function conv2dGradWeight(input: Tensor, weightShape: readonly number[], gradOutput: Tensor, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2dGradWeight';
  checkFloat(input, 'input', op);
  if (weightShape.length === 4 && !weightShape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new EngramError(`${op}: weight shape must be 4 non-negative integers [Cout, Cin, KH, KW], got ${JSON.stringify(weightShape)}`);
  }
  const g = shapeGeometry(input.shape, weightShape, null, opts, op);
  checkGradOutput(gradOutput, g, op);
  return gradWeight(gradOutput, input, g);
}

/** Options for `convTranspose2d()`, as in torch.nn.functional.conv_transpose2d. */
export interface ConvTranspose2dOptions {
  /** Step between input pixels in the output, per axis (default 1). */
  stride?: number | [number, number];
  /** dilation*(K-1) - padding zeros are added on each side of the (dilated) input, per axis (default 0). */
  padding?: number | [number, number];
  /** Extra rows/columns added on one side of the output, per axis (default 0; less than stride or dilation). */
  outputPadding?: number | [number, number];
  /** Spacing between kernel taps, per axis (default 1). */
  dilation?: number | [number, number];
  /** Channel groups (default 1): weight [Cin, Cout/groups, KH, KW]. */
  groups?: number;
}

/**
 * The conv2d geometry whose grad-input is the transposed convolution of x [N, Cin, H, W] with
 * weight [Cin, Cout/G, KH, KW]: conv input [N, Cout, OH', OW'], conv output = x.
 */
function transposedGeometry(xShape: readonly number[], wShape: readonly number[], bShape: readonly number[] | null, opts: ConvTranspose2dOptions, op: string): Geometry {
  if (xShape.length !== 4) throw new EngramError(`${op}: input must be 4-D [N, Cin, H, W], got shape ${shapeStr(xShape)}`);
  if (wShape.length !== 4) throw new EngramError(`${op}: weight must be 4-D [Cin, Cout/groups, KH, KW], got shape ${shapeStr(wShape)}`);
  const [N, CI, H, W] = xShape as [number, number, number, number];
  const [WI, CO_G, KH, KW] = wShape as [number, number, number, number];
  const G = opts.groups ?? 1;
  if (!Number.isInteger(G) || G < 1) throw new EngramError(`${op}: groups must be an integer >= 1, got ${JSON.stringify(opts.groups)}`);
  if (WI !== CI) throw new EngramError(`${op}: input ${shapeStr(xShape)} has ${CI} channels but weight ${shapeStr(wShape)} expects ${WI} (dimension 0)`);
  if (CI % G !== 0) throw new EngramError(`${op}: groups ${G} must divide the input channels (${CI}, input ${shapeStr(xShape)})`);
  const CO = CO_G * G;
  if (bShape && (bShape.length !== 1 || bShape[0] !== CO)) {
    throw new EngramError(`${op}: bias ${shapeStr(bShape)} must have shape [${CO}] (one value per output channel: weight ${shapeStr(wShape)} x groups ${G})`);
  }
  const [sh, sw] = pair(opts.stride, 1, 1, 'stride', op);
  const [ph, pw] = pair(opts.padding, 0, 0, 'padding', op);
  const [oph, opw] = pair(opts.outputPadding, 0, 0, 'outputPadding', op);
  const [dh, dw] = pair(opts.dilation, 1, 1, 'dilation', op);
  if (oph >= Math.max(sh, dh) || opw >= Math.max(sw, dw)) {
    throw new EngramError(`${op}: outputPadding [${oph}, ${opw}] must be smaller than stride [${sh}, ${sw}] or dilation [${dh}, ${dw}] (per axis)`);
  }
  const OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oph + 1;
  const OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + opw + 1;
  if (OH <= 0 || OW <= 0) {
    throw new EngramError(`${op}: output size [${OH}, ${OW}] is not positive for input ${shapeStr(xShape)}, weight ${shapeStr(wShape)}, stride [${sh}, ${sw}] and padding [${ph}, ${pw}]`);
  }
  // The forward convolution this transposes: x [N, CO, OH, OW] -> [N, CI, H, W] with weight [CI, CO/G, KH, KW].
  return { N, C: CO, H: OH, W: OW, CO: CI, KH, KW, OH: H, OW: W, sh, sw, ph, pw, dh, dw, G };
}

/**
 * 2-D transposed convolution ("deconvolution"), like PyTorch's `F.conv_transpose2d(x, weight, bias,
 * stride, padding, output_padding, groups, dilation)`: x [N, Cin, H, W], weight [Cin, Cout/groups,
 * KH, KW], bias [Cout] (optional), result [N, Cout, OH, OW] with
 * OH = (H-1)*stride - 2*padding + dilation*(KH-1) + outputPadding + 1. It is the gradient of conv2d
 * with respect to its input, and runs on those kernels (its backward on conv2d's forward and
 * grad-weight kernels).
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  const b = bias ?? null;
  for (const [t, what] of [[x, 'input'], [weight, 'weight'], [b, 'bias']] as const) if (t) checkFloat(t, what, op);
  const g = transposedGeometry(x.shape, weight.shape, b ? b.shape : null, opts, op);
  const y = g.N * g.CO * g.H * g.W === 0 ? fill_(empty([g.N, g.C, g.H, g.W]), 0) : gradInput(x, weight, g);
  const out = withGrad(y, 'convTranspose2d', [x, weight], (gy) => [
    x.requiresGrad ? forward(gy, weight, null, g) : null,
    weight.requiresGrad ? gradWeight(x, gy, g) : null,
  ], { saved: [x, weight] });
  if (!b) return out;
  const r = applyBinary('add', out, reshape(b, [1, g.C, 1, 1]));
  out.dispose();
  return r;
}

/** Options for `conv1d()`, as in torch.nn.functional.conv1d (one number per option). */
export interface Conv1dOptions {
  /** Step between output positions (default 1). */
  stride?: number;
  /** Zeros added on each side (default 0). */
  padding?: number;
  /** Spacing between kernel taps (default 1). */
  dilation?: number;
  /** Channel groups (default 1): weight [Cout, Cin/groups, K]. */
  groups?: number;
}

/**
 * 1-D convolution, like PyTorch's `F.conv1d(x, weight, bias, stride, padding, dilation, groups)`:
 * x [N, Cin, L], weight [Cout, Cin/groups, K], bias [Cout] (optional), result [N, Cout, OL] with
 * OL = floor((L + 2*padding - dilation*(K-1) - 1) / stride) + 1. Runs as conv2d over [N, Cin, 1, L]
 * with a [K]-wide, height-1 kernel (forward and backward).
 */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv1dOptions = {}): Tensor {
  const op = 'conv1d';
  if (x.rank !== 3) throw new EngramError(`${op}: input must be 3-D [N, Cin, L], got shape ${shapeStr(x.shape)}`);
  if (weight.rank !== 3) throw new EngramError(`${op}: weight must be 3-D [Cout, Cin/groups, K], got shape ${shapeStr(weight.shape)}`);
  for (const [v, what] of [[opts.stride, 'stride'], [opts.padding, 'padding'], [opts.dilation, 'dilation']] as const) {
    if (v !== undefined && typeof v !== 'number') throw new EngramError(`${op}: ${what} must be a number, got ${JSON.stringify(v)}`);
  }
  const [N, C, L] = x.shape as [number, number, number];
  const [CO, CI, K] = weight.shape as [number, number, number];
  const x4 = reshape(x, [N, C, 1, L]);
  const w4 = reshape(weight, [CO, CI, 1, K]);
  const y4 = conv2d(x4, w4, bias, {
    stride: [1, opts.stride ?? 1], padding: [0, opts.padding ?? 0], dilation: [1, opts.dilation ?? 1], groups: opts.groups ?? 1,
  });
  x4.dispose();
  w4.dispose();
  const y = reshape(y4, [N, CO, y4.shape[3]!]);
  y4.dispose();
  return y;
}
