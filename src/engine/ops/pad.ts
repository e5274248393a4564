// pad (torch.nn.functional.pad, constant and reflect), repeat (torch.Tensor.repeat) and oneHot
// (torch.nn.functional.one_hot).

import { runtime, grid1d, f32bits, EngramError } from '../runtime.js';
import { padWGSL, padBackwardWGSL, ONE_HOT_WGSL } from '../../shaders/pad.js';
import { empty, withGrad, type Tensor } from '../tensor.js';
import { MAX_RANK, padRank, shapeStr } from '../shape.js';
import { scope } from '../scope.js';
import { reshape, expand } from './shape-ops.js';

/** Options of `pad`. */
export interface PadOptions {
  /** 'constant' (default) fills with `value`; 'reflect' mirrors the input without repeating its edge. */
  mode?: 'constant' | 'reflect';
  /** The fill value of the constant mode (default 0). */
  value?: number;
}

function padDispatch(wgsl: string, name: string, src: Tensor, dst: Tensor, n: number, outShape: readonly number[], inShape: readonly number[], lo: readonly number[], value: number): void {
  const rt = runtime();
  const k = rt.kernel({ name, wgsl, bindings: ['read', 'write'] });
  const params = [n, outShape.length, f32bits(value), 0, ...padRank(outShape, 1), ...padRank(inShape, 1), ...padRank(lo)];
  rt.dispatch(k, [src.buffer, dst.buffer], params, grid1d(n));
}

/**
 * Pads x as torch.nn.functional.pad: `pads` lists (before, after) pairs starting from the LAST
 * dimension: [left, right] pads the last one, [left, right, top, bottom] the last two, and so on.
 * `mode: 'constant'` fills with `value` (default 0); `'reflect'` mirrors the input without
 * repeating the edge element (each pad must be smaller than its dimension). Pads are
 * non-negative (crop with `narrow`). The gradient flows back to the elements that were read.
 */
export function pad(x: Tensor, pads: readonly number[], opts: PadOptions = {}): Tensor {
  const op = 'pad';
  const mode = opts.mode ?? 'constant';
  const value = opts.value ?? 0;
  if (x.rank === 0) throw new EngramError(`${op}: a 0-d tensor has no dimension to pad (reshape it to [1] first)`);
  if (mode !== 'constant' && mode !== 'reflect') throw new EngramError(`${op}: mode must be 'constant' or 'reflect', got ${String(mode)}`);
  if (x.dtype !== 'float32') throw new EngramError(`${op}: expects a float32 input, got ${x.dtype} (shape ${shapeStr(x.shape)}); convert with toFloat()`);
  if (!Array.isArray(pads) || pads.length % 2 !== 0 || pads.length / 2 > x.rank || pads.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new EngramError(`${op}: pads must be an even-length list of non-negative integers, (before, after) pairs from the last dimension, at most 2 * rank (${2 * x.rank}) long, got [${String(pads)}] for input ${shapeStr(x.shape)} (crop with narrow instead of negative pads)`);
  }
  if (typeof value !== 'number') throw new EngramError(`${op}: value must be a number, got ${String(value)}`);
  const lo = x.shape.map(() => 0);
  const hi = x.shape.map(() => 0);
  for (let k = 0; k < pads.length / 2; k++) {
    const d = x.rank - 1 - k;
    lo[d] = pads[2 * k]!;
    hi[d] = pads[2 * k + 1]!;
    if (mode === 'reflect' && (lo[d]! >= x.shape[d]! || hi[d]! >= x.shape[d]!)) {
      throw new EngramError(`${op}: reflect padding (${lo[d]}, ${hi[d]}) of dimension ${d} must be smaller than its size ${x.shape[d]} (input ${shapeStr(x.shape)}); use mode 'constant' or smaller pads`);
    }
  }
  const outShape = x.shape.map((n, d) => n + lo[d]! + hi[d]!);
  const reflect = mode === 'reflect';
  const y = empty(outShape);
  if (y.size > 0) padDispatch(padWGSL(reflect), reflect ? 'pad_reflect' : 'pad', x, y, y.size, outShape, x.shape, lo, value);
  return withGrad(y, op, [x], (g) => {
    const dx = empty(x.shape);
    if (dx.size > 0) padDispatch(padBackwardWGSL(reflect), reflect ? 'pad_reflect_bwd' : 'pad_bwd', g, dx, dx.size, outShape, x.shape, lo, 0);
    return [dx];
  }, { saved: [] });
}

/**
 * Tiles x as torch.Tensor.repeat: `repeats[i]` copies along dimension i; with more repeats than
 * dimensions, x is first seen with leading 1s (so [3] repeated [2, 2] is [2, 6]). The gradient sums
 * the tiles (repeat is expand + reshape, and expand's backward sums).
 */
export function repeat(x: Tensor, repeats: readonly number[]): Tensor {
  const op = 'repeat';
  if (!Array.isArray(repeats) || repeats.length < x.rank || repeats.some((r) => !Number.isInteger(r) || r < 0)) {
    throw new EngramError(`${op}: repeats must list a non-negative integer for each of the ${x.rank} dimensions of ${shapeStr(x.shape)} (or more, adding leading dimensions), got [${String(repeats)}]`);
  }
  const shape = [...repeats.slice(0, repeats.length - x.rank).map(() => 1), ...x.shape];
  const outShape = shape.map((n, d) => n * repeats[d]!);
  // Each repeated dimension d of size n becomes a pair (repeats[d], n): x viewed with a 1 before
  // it, expanded to the repeat count, then the pairs merged.
  const view: number[] = [];
  const expanded: number[] = [];
  shape.forEach((n, d) => {
    if (repeats[d] !== 1) {
      view.push(1);
      expanded.push(repeats[d]!);
    }
    view.push(n);
    expanded.push(n);
  });
  if (view.length > MAX_RANK) {
    throw new EngramError(`${op}: repeating ${shapeStr(x.shape)} by [${repeats.join(', ')}] needs ${view.length} intermediate dimensions; at most ${MAX_RANK} are supported (repeat fewer dimensions at once)`);
  }
  return scope(() => reshape(expand(reshape(x, view), expanded), outShape));
}

/**
 * torch.nn.functional.one_hot: int32 `indices` of any shape [...] -> [..., numClasses] with a 1 at
 * each index. The result is int32 (PyTorch returns int64, which engram does not have; `toFloat()`
 * converts it for losses). `numClasses` is required: inferring it (PyTorch's -1) would read the
 * indices back. An index outside [0, numClasses) raises at the next readback or sync (its row is 0).
 */
export function oneHot(indices: Tensor, numClasses: number): Tensor {
  const op = 'oneHot';
  if (typeof indices !== 'object' || indices === null || indices.dtype !== 'int32') {
    throw new EngramError(`${op}: indices must be an int32 tensor, got ${indices?.dtype ?? typeof indices}${indices?.shape ? ` (shape ${shapeStr(indices.shape)})` : ''} (convert with toInt())`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new EngramError(`${op}: numClasses must be a positive integer, got ${numClasses} (engram needs it explicitly: inferring it from the indices would read the GPU back)`);
  }
  const rt = runtime();
  const out = empty([...indices.shape, numClasses], 'int32');
  // The last binding is the index check's flags: an out-of-range index raises at the next readback.
  const k = rt.kernel({ name: 'oneHot', wgsl: ONE_HOT_WGSL, bindings: ['read', 'write', 'write'] });
  rt.dispatch(k, [indices.buffer, out.buffer, rt.indexFlags()], [out.size, numClasses], grid1d(out.size));
  return out;
}
