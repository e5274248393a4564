// Filling and casting: fill_, arange_, toFloat, toInt.

import { runtime, grid1d, f32bits, EngramError } from '../runtime.js';
import { FILL_WGSL, arangeWGSL, castWGSL, ADD_INT_INPLACE_WGSL } from '../../shaders/fill.js';
import { empty, type Tensor } from '../tensor.js';

/** Overwrite every element of `t` with `value` (in place, no gradient). */
export function fill_(t: Tensor, value: number): Tensor {
  const rt = runtime();
  const bits = t.dtype === 'int32' ? value | 0 : f32bits(value);
  const k = rt.kernel({ name: 'fill', wgsl: FILL_WGSL, bindings: ['write'] });
  rt.dispatch(k, [t.buffer], [t.size, bits >>> 0], grid1d(t.size));
  return t;
}

/** Overwrite `t` (1-D) with start, start+step, ... */
export function arange_(t: Tensor, start: number, step: number): Tensor {
  const rt = runtime();
  const isInt = t.dtype === 'int32';
  const k = rt.kernel({ name: 'arange', wgsl: arangeWGSL(isInt ? 'i32' : 'f32'), bindings: ['write'] });
  const enc = (v: number) => (isInt ? (v | 0) >>> 0 : f32bits(v));
  rt.dispatch(k, [t.buffer], [t.size, enc(start), enc(step)], grid1d(t.size));
  return t;
}

function cast(x: Tensor, to: 'float32' | 'int32'): Tensor {
  if (x.dtype === to) return x.clone();
  const rt = runtime();
  const from = x.dtype === 'int32' ? 'i32' : 'f32';
  const k = rt.kernel({ name: `cast_${from}`, wgsl: castWGSL(from, to === 'int32' ? 'i32' : 'f32'), bindings: ['read', 'write'] });
  const out = empty(x.shape, to);
  rt.dispatch(k, [x.buffer, out.buffer], [x.size], grid1d(x.size));
  return out;
}

/** Convert to float32 (e.g. int32 labels or predictions). No gradient flows through. */
export function toFloat(x: Tensor): Tensor {
  return cast(x, 'float32');
}

/** Convert to int32, truncating toward zero. */
export function toInt(x: Tensor): Tensor {
  if (x.requiresGrad) throw new EngramError('toInt: cannot convert a tensor that requires grad to int32; detach() it first');
  return cast(x, 'int32');
}

/** t += delta in place for an int32 tensor (a GPU-side counter: no readback). */
export function addInt_(t: Tensor, delta: number): Tensor {
  if (t.dtype !== 'int32') throw new EngramError(`addInt_: expects an int32 tensor, got ${t.dtype}`);
  const rt = runtime();
  const k = rt.kernel({ name: 'addInt', wgsl: ADD_INT_INPLACE_WGSL, bindings: ['write'] });
  rt.dispatch(k, [t.buffer], [t.size, (delta | 0) >>> 0], grid1d(t.size));
  return t;
}
