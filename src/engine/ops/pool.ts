// 2-D pooling over the last two dimensions of [N, C, H, W] (or unbatched [C, H, W]) input, with
// PyTorch's semantics: maxPool2d (padding acts as -inf; the backward routes each output's gradient
// to its argmax), avgPool2d (countIncludePad), adaptiveAvgPool2d. No dilation, no ceil mode.

import { runtime, grid1d, EngramError } from '../runtime.js';
import {
  MAX_POOL_FWD_WGSL, MAX_POOL_BWD_WGSL, MAX_POOL_BWD_TILED_WGSL, MAX_POOL_FWD_2X2_VEC4_WGSL, MAX_POOL_BWD_2X2_VEC4_WGSL, AVG_POOL_FWD_WGSL, AVG_POOL_BWD_WGSL, ADAPTIVE_AVG_FWD_WGSL, ADAPTIVE_AVG_BWD_WGSL,
} from '../../shaders/pool.js';
import { empty, withGrad, type Tensor } from '../tensor.js';
import { shapeStr } from '../shape.js';

/** A 2-D size: one number for both axes, or [height, width]. */
export type Size2 = number | readonly [number, number];

/** Options for `maxPool2d()` and `maxPool2dWithIndices()` (and the base of `AvgPool2dOptions`). */
export interface Pool2dOptions {
  /** Window size. */
  kernelSize: Size2;
  /** Default: the kernel size. */
  stride?: Size2;
  /** Implicit padding on both sides; at most half the kernel size. Default 0. */
  padding?: Size2;
}

/** Options for `avgPool2d()`. */
export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count padded positions in the divisor (default true, as in PyTorch). */
  countIncludePad?: boolean;
}

/** The setting `poolKernels` holds. */
export interface PoolKernels {
  /**
   * Max pooling with 2x2 windows, stride 2, no padding and an input width that is a multiple of 4
   * (the usual "maxpool 2" of a CNN) runs the `_2x2_vec4` kernels (default true): one thread per
   * pair of outputs with vec4 loads and stores, a quarter of the loads and bounds checks. Their
   * results (values, indices, gradients) are bitwise those of the generic kernels (tested).
   */
  vec4: boolean;
}

/**
 * Which max-pool kernels may run; tests and benchmarks set `poolKernels.vec4 = false` to force the
 * generic kernels where the 2x2 vec4 ones would be chosen.
 */
export const poolKernels: PoolKernels = { vec4: true };

/** Sizes resolved to pairs, plus the geometry the kernels need. */
interface Geometry {
  planes: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  k: [number, number];
  s: [number, number];
  pad: [number, number];
}

function pair(v: Size2, what: string, op: string, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if ((typeof v !== 'number' && (!Array.isArray(v) || v.length !== 2)) || !p.every((d) => Number.isInteger(d) && d >= min)) {
    const arr = Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
    throw new EngramError(`${op}: ${what} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer or a pair of them, got ${arr}`);
  }
  return p;
}

function checkInput(x: Tensor, op: string): void {
  if (x.dtype !== 'float32') throw new EngramError(`${op}: expects a float32 input, got ${x.dtype} (shape ${shapeStr(x.shape)})`);
  if (x.rank !== 3 && x.rank !== 4) {
    throw new EngramError(`${op}: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape ${shapeStr(x.shape)}`);
  }
  if (x.shape[x.rank - 1] === 0 || x.shape[x.rank - 2] === 0) {
    throw new EngramError(`${op}: input ${shapeStr(x.shape)} has an empty spatial dimension`);
  }
}

function geometry(x: Tensor, o: Pool2dOptions, op: string): Geometry {
  checkInput(x, op);
  const k = pair(o.kernelSize, 'kernelSize', op, 1);
  const s = pair(o.stride ?? k, 'stride', op, 1);
  const pad = pair(o.padding ?? 0, 'padding', op, 0);
  if (pad[0] * 2 > k[0] || pad[1] * 2 > k[1]) {
    throw new EngramError(`${op}: padding [${pad.join(', ')}] must be at most half the kernel size [${k.join(', ')}]`);
  }
  const H = x.shape[x.rank - 2]!;
  const W = x.shape[x.rank - 1]!;
  const OH = Math.floor((H + 2 * pad[0] - k[0]) / s[0]) + 1;
  const OW = Math.floor((W + 2 * pad[1] - k[1]) / s[1]) + 1;
  if (OH <= 0 || OW <= 0) {
    throw new EngramError(
      `${op}: input ${shapeStr(x.shape)} is too small for kernel [${k.join(', ')}] with stride [${s.join(', ')}] and padding [${pad.join(', ')}] (output would be ${OH}x${OW})`,
    );
  }
  return { planes: x.size / (H * W), H, W, OH, OW, k, s, pad };
}

function outShape(x: Tensor, OH: number, OW: number): number[] {
  return [...x.shape.slice(0, -2), OH, OW];
}

/** The windowed kernels' parameter block (see WINDOW_PARAMS in shaders/pool.ts). */
function windowParams(n: number, g: Geometry, countIncludePad = true): number[] {
  return [n, g.H, g.W, g.OH, g.OW, g.k[0], g.k[1], g.s[0], g.s[1], g.pad[0], g.pad[1], countIncludePad ? 1 : 0];
}

/**
 * Whether the 2x2 vec4 kernels apply: kernel 2, stride 2, no padding, W % 4 == 0 (so OW = W / 2 is
 * even and every output pair lies in one row and one vec4 of each input row). An odd H is fine: floor
 * mode drops the last input row, which the backward zeroes.
 */
function vec4Pool(g: Geometry): boolean {
  return poolKernels.vec4 && g.k[0] === 2 && g.k[1] === 2 && g.s[0] === 2 && g.s[1] === 2 && g.pad[0] === 0 && g.pad[1] === 0 && g.W % 4 === 0;
}

function maxPoolForward(x: Tensor, g: Geometry, vec4: boolean): [Tensor, Tensor] {
  const rt = runtime();
  const k = vec4
    ? rt.kernel({ name: 'maxPool2d_fwd_2x2_vec4', wgsl: MAX_POOL_FWD_2X2_VEC4_WGSL, bindings: ['read', 'write', 'write'] })
    : rt.kernel({ name: 'maxPool2d_fwd', wgsl: MAX_POOL_FWD_WGSL, bindings: ['read', 'write', 'write'] });
  const shape = outShape(x, g.OH, g.OW);
  const out = empty(shape);
  const idx = empty(shape, 'int32');
  const threads = vec4 ? out.size / 2 : out.size; // the vec4 kernel: one thread per pair of outputs
  rt.dispatch(k, [x.buffer, out.buffer, idx.buffer], windowParams(threads, g), grid1d(threads));
  return [out, idx];
}

function maxPoolBackward(grad: Tensor, idx: Tensor, x: Tensor, g: Geometry, vec4: boolean): Tensor {
  const rt = runtime();
  if (vec4) {
    const kv = rt.kernel({ name: 'maxPool2d_bwd_2x2_vec4', wgsl: MAX_POOL_BWD_2X2_VEC4_WGSL, bindings: ['read', 'read', 'write'] });
    const dx = empty(x.shape);
    const pairs = grad.size / 2;
    rt.dispatch(kv, [grad.buffer, idx.buffer, dx.buffer], windowParams(pairs, g), grid1d(pairs));
    return dx;
  }
  const tiles = g.s[0] === g.k[0] && g.s[1] === g.k[1] && g.pad[0] === 0 && g.pad[1] === 0 && g.H % g.k[0] === 0 && g.W % g.k[1] === 0;
  if (tiles) {
    const kt = rt.kernel({ name: 'maxPool2d_bwd_tiled', wgsl: MAX_POOL_BWD_TILED_WGSL, bindings: ['read', 'read', 'write'] });
    const dx = empty(x.shape);
    rt.dispatch(kt, [grad.buffer, idx.buffer, dx.buffer], windowParams(grad.size, g), grid1d(grad.size));
    return dx;
  }
  const k = rt.kernel({ name: 'maxPool2d_bwd', wgsl: MAX_POOL_BWD_WGSL, bindings: ['read', 'read', 'write'] });
  const dx = empty(x.shape);
  rt.dispatch(k, [grad.buffer, idx.buffer, dx.buffer], windowParams(dx.size, g), grid1d(dx.size));
  return dx;
}

/**
 * Max pooling over H, W (torch.nn.functional.max_pool2d). Returns the pooled values and the int32
 * argmax of each window as an offset h * W + w within its input plane (PyTorch's indices).
 */
export function maxPool2dWithIndices(x: Tensor, opts: Pool2dOptions): [Tensor, Tensor] {
  const g = geometry(x, opts, 'maxPool2d');
  const vec4 = vec4Pool(g); // the forward's choice holds for its backward
  const [out, idx] = maxPoolForward(x, g, vec4);
  // The indices are the caller's too: saved (a write into them raises in backward), not owned.
  withGrad(out, 'maxPool2d', [x], (grad) => [maxPoolBackward(grad, idx, x, g, vec4)], { saved: [idx] });
  return [out, idx];
}

/** Max pooling over H, W (torch.nn.functional.max_pool2d); padding acts as -inf. */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const g = geometry(x, opts, 'maxPool2d');
  const vec4 = vec4Pool(g); // the forward's choice holds for its backward
  const [out, idx] = maxPoolForward(x, g, vec4);
  // The indices only serve the backward: the graph owns them (without a graph they are freed now).
  return withGrad(out, 'maxPool2d', [x], (grad) => [maxPoolBackward(grad, idx, x, g, vec4)], { saved: [], owned: [idx] });
}

/** Average pooling over H, W (torch.nn.functional.avg_pool2d); padding counts as zeros. */
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const g = geometry(x, opts, 'avgPool2d');
  const cip = opts.countIncludePad ?? true;
  const rt = runtime();
  const fwd = rt.kernel({ name: 'avgPool2d_fwd', wgsl: AVG_POOL_FWD_WGSL, bindings: ['read', 'write'] });
  const out = empty(outShape(x, g.OH, g.OW));
  rt.dispatch(fwd, [x.buffer, out.buffer], windowParams(out.size, g, cip), grid1d(out.size));
  return withGrad(out, 'avgPool2d', [x], (grad) => {
    const bwd = rt.kernel({ name: 'avgPool2d_bwd', wgsl: AVG_POOL_BWD_WGSL, bindings: ['read', 'write'] });
    const dx = empty(x.shape);
    rt.dispatch(bwd, [grad.buffer, dx.buffer], windowParams(dx.size, g, cip), grid1d(dx.size));
    return [dx];
  }, { saved: [] });
}

/**
 * Adaptive average pooling to `outputSize` (torch.nn.functional.adaptive_avg_pool2d): output
 * (i, j) averages input rows floor(i*H/OH) .. ceil((i+1)*H/OH) - 1 and the matching columns.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Size2): Tensor {
  const op = 'adaptiveAvgPool2d';
  checkInput(x, op);
  const [OH, OW] = pair(outputSize, 'outputSize', op, 1);
  const H = x.shape[x.rank - 2]!;
  const W = x.shape[x.rank - 1]!;
  const rt = runtime();
  const fwd = rt.kernel({ name: 'adaptiveAvgPool2d_fwd', wgsl: ADAPTIVE_AVG_FWD_WGSL, bindings: ['read', 'write'] });
  const out = empty(outShape(x, OH, OW));
  rt.dispatch(fwd, [x.buffer, out.buffer], [out.size, H, W, OH, OW], grid1d(out.size));
  return withGrad(out, op, [x], (grad) => {
    const bwd = rt.kernel({ name: 'adaptiveAvgPool2d_bwd', wgsl: ADAPTIVE_AVG_BWD_WGSL, bindings: ['read', 'write'] });
    const dx = empty(x.shape);
    rt.dispatch(bwd, [grad.buffer, dx.buffer], [dx.size, H, W, OH, OW], grid1d(dx.size));
    return [dx];
  }, { saved: [] });
}
