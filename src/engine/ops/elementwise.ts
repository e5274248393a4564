// Elementwise ops with broadcasting: add, sub, mul, div, maximum, minimum, eq, where, the unary table
// (neg, exp, log, sqrt, pow, relu, abs, sigmoid, tanh) and the activations (gelu, silu, leakyRelu,
// elu, softplus, hardswish) and clamp. Forward and backward live side by side.

import { runtime, grid1d, f32bits, EngramError } from '../runtime.js';
import {
  UNARY_OPS, BINARY_OPS, unaryForwardWGSL, unaryBackwardWGSL, binaryWGSL, whereWGSL, SUM_TO_WGSL, SUM_TO_WIDE_WGSL, ADD_INPLACE_WGSL,
  type UnaryOp, type BinaryOp,
} from '../../shaders/elementwise.js';
import { empty, full, withGrad, type Tensor } from '../tensor.js';
import { checkNumber, show } from '../validate.js';
import { noGrad } from '../scope.js';
import { broadcastShapes, broadcastStrides, padRank, sameShape, shapeStr, numel } from '../shape.js';
import { FusedValue, notElementwise } from './fuse-trace.js';

function requireFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== 'float32') throw new EngramError(`${op}: expects float32 tensors, got ${t.dtype} (shape ${shapeStr(t.shape)}); convert with toFloat()`);
  }
}

// A FusedValue stands in for a tensor while fuse() traces its function: the ops record it instead of running.
const traced = (v: FusedValue): Tensor => v as unknown as Tensor;

// ------------------------------------------------------------------ unary

function unaryForward(op: UnaryOp, x: Tensor, a: number): Tensor {
  const rt = runtime();
  const k = rt.kernel({ name: `${op}_fwd`, wgsl: unaryForwardWGSL(op), bindings: ['read', 'write'] });
  const y = empty(x.shape);
  rt.dispatch(k, [x.buffer, y.buffer], [x.size, f32bits(a)], grid1d(x.size));
  return y;
}

function unaryBackward(op: UnaryOp, g: Tensor, x: Tensor, y: Tensor, a: number): Tensor {
  const rt = runtime();
  const k = rt.kernel({ name: `${op}_bwd`, wgsl: unaryBackwardWGSL(op), bindings: ['read', 'read', 'read', 'write'] });
  const dx = empty(x.shape);
  rt.dispatch(k, [g.buffer, x.buffer, y.buffer, dx.buffer], [x.size, f32bits(a)], grid1d(x.size));
  return dx;
}

function unary(op: UnaryOp, x: Tensor, a = 0): Tensor {
  if (x instanceof FusedValue) return traced(x.unary(op, a)); // inside fuse(): record, do not run
  requireFloat(op, x);
  const y = unaryForward(op, x, a);
  // The backward kernel binds x and y for every op; saved are those its expression reads.
  const expr = UNARY_OPS[op].backward;
  const reads = [...(/\bx\b/.test(expr) ? [x] : []), ...(/\by\b/.test(expr) ? [y] : [])];
  return withGrad(y, op, [x], (g) => [unaryBackward(op, g, x, y, a)], { saved: reads });
}

/**
 * The gradient through a ReLU whose output is `y`: 0 where y <= 0, else g (a NaN passes its
 * gradient, as PyTorch's threshold_backward does). Fused conv/matmul kernels that apply ReLU in their
 * epilogue keep only y, which is <= 0 or NaN exactly where the input was.
 */
export function reluBackwardFromOutput(g: Tensor, y: Tensor): Tensor {
  return unaryBackward('relu', g, y, y, 0);
}

/** Elementwise negation, -x. */
export const neg = (x: Tensor): Tensor => unary('neg', x);
/** Elementwise e^x. */
export const exp = (x: Tensor): Tensor => unary('exp', x);
/** Elementwise natural logarithm. */
export const log = (x: Tensor): Tensor => unary('log', x);
/** Elementwise square root. */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
/** Elementwise max(x, 0). */
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** Elementwise absolute value. */
export const abs = (x: Tensor): Tensor => unary('abs', x);
/** Elementwise logistic sigmoid, 1 / (1 + e^-x). */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/** Elementwise hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/** x ** exponent for a scalar exponent (integral exponents accept negative bases, as in PyTorch). */
export function pow(x: Tensor, exponent: number): Tensor {
  if (x instanceof FusedValue) return traced((x as FusedValue).pow(exponent));
  if (typeof exponent !== 'number') throw new EngramError('pow: the exponent must be a number (tensor exponents are not supported)');
  return unary('pow', x, exponent);
}

/**
 * A pointwise loss table op (squaredError, smoothL1, huber) of d = input - target, with PyTorch's
 * gradients: dL/dinput = f'(input - target) g and dL/dtarget = f'(target - input) g. PyTorch computes
 * the target's gradient by calling the loss's backward with input and target swapped, not as
 * -dL/dinput; the two differ in the sign of zero at a tie (and, for smoothL1 with beta = 0, in
 * value: -g both). Not fusible (the losses reduce). @internal
 */
export function pointwiseLoss(op: 'squaredError' | 'smoothL1' | 'huber', input: Tensor, target: Tensor, a = 0): Tensor {
  if (input instanceof FusedValue || target instanceof FusedValue) throw notElementwise(op);
  requireFloat(op, input, target);
  const d = noGrad(() => sub(input, target));
  const y = unaryForward(op, d, a);
  if (!input.requiresGrad && !target.requiresGrad) {
    d.dispose();
    return y;
  }
  return withGrad(y, op, [input, target], (g) => {
    const di = input.requiresGrad ? unaryBackward(op, g, d, y, a) : null;
    let dt: Tensor | null = null;
    if (target.requiresGrad) {
      const r = noGrad(() => sub(target, input));
      dt = unaryBackward(op, g, r, y, a);
      r.dispose();
    }
    return [di, dt];
  }, { saved: [input, target], owned: [d] });
}

// ------------------------------------------------------------------ activations

/** Options of {@link gelu}. */
export interface GeluOptions {
  /** 'none' (default): the exact x Φ(x) with the Gaussian CDF Φ via erf; 'tanh': PyTorch's tanh approximation. */
  approximate?: 'none' | 'tanh';
}

/** The GELU `approximate` option, checked (shared with the nn.GELU module). @internal */
export function checkGeluApproximate(op: string, approximate: unknown): 'none' | 'tanh' {
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new EngramError(`${op}: approximate must be 'none' or 'tanh' (as in PyTorch), got ${show(approximate)}`);
  }
  return approximate;
}

/**
 * Gaussian error linear unit, as torch.nn.functional.gelu: x Φ(x) = x/2 (1 + erf(x / √2)), or with
 * `approximate: 'tanh'` x/2 (1 + tanh(√(2/π) (x + 0.044715 x³))). PyTorch's edge values: gelu(-inf)
 * is NaN (-inf times 0), gelu(-0) is +0 in the exact form and -0 in the tanh form.
 */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  const approximate = checkGeluApproximate('gelu', options.approximate ?? 'none');
  return unary(approximate === 'tanh' ? 'geluTanh' : 'gelu', x);
}

/** Sigmoid linear unit (swish), x σ(x), as torch.nn.functional.silu (silu(-inf) is NaN, as in PyTorch). */
export const silu = (x: Tensor): Tensor => unary('silu', x);

/**
 * x where x > 0, else negativeSlope · x, as torch.nn.functional.leaky_relu. The gradient at 0 (and
 * at NaN) is negativeSlope, as PyTorch's.
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  checkNumber('leakyRelu', 'negativeSlope', negativeSlope);
  return unary('leakyRelu', x, negativeSlope);
}

/**
 * Exponential linear unit, as torch.nn.functional.elu: x where x > 0, else alpha (e^x - 1) (computed
 * as PyTorch 1.13 does, exp(x) - 1, so tiny negative inputs round as there).
 */
export function elu(x: Tensor, alpha = 1): Tensor {
  checkNumber('elu', 'alpha', alpha);
  return unary('elu', x, alpha);
}

/**
 * log(1 + e^(beta x)) / beta, as torch.nn.functional.softplus; where beta x > threshold it is x
 * itself (the log would only round to it). With beta ≠ 1 this is three kernels: beta x, softplus,
 * divide by beta (x beta / beta may then differ from x in the last bit, and overflows where
 * |beta x| exceeds the float32 range).
 */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  checkNumber('softplus', 'beta', beta, { min: 0, minInclusive: false });
  checkNumber('softplus', 'threshold', threshold);
  if (beta === 1) return unary('softplus', x, threshold);
  return div(unary('softplus', mul(x, beta), threshold), beta);
}

/** x · relu6(x + 3) / 6, as torch.nn.functional.hardswish (gradient 0 below -3, (2x + 3) / 6 on [-3, 3), 1 from 3). */
export const hardswish = (x: Tensor): Tensor => unary('hardswish', x);

/**
 * Clamp to [min, max] (either bound may be omitted), as torch.clamp with number bounds: NaN stays
 * NaN; when min > max every element is max. The gradient passes where min <= x <= max and is 0
 * elsewhere (and at NaN).
 */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  for (const [name, v] of [['min', min], ['max', max]] as const) {
    if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v))) {
      throw new EngramError(`clamp: ${name} must be a number (or undefined for no bound), got ${show(v)}`);
    }
  }
  if (min === undefined && max === undefined) throw new EngramError('clamp: give at least one of min and max (both were undefined)');
  const lower = min === undefined ? x : unary('clampMin', x, min);
  return max === undefined ? lower : unary('clampMax', lower, max);
}

// ------------------------------------------------------------------ binary

function binaryKernelCall(name: string, expr: string, a: Tensor, b: Tensor, outShape: number[], g?: Tensor): Tensor {
  const rt = runtime();
  const same = sameShape(a.shape, outShape) && sameShape(b.shape, outShape);
  const inType = a.dtype === 'int32' ? 'i32' : 'f32';
  const wgsl = binaryWGSL(name, expr, { sameShape: same, withGrad: !!g, inType });
  const k = rt.kernel({ name, wgsl, bindings: g ? ['read', 'read', 'read', 'write'] : ['read', 'read', 'write'] });
  const out = empty(outShape);
  const n = numel(outShape);
  const params = [n, outShape.length, ...padRank(outShape, 1), ...padRank(broadcastStrides(a.shape, outShape)), ...padRank(broadcastStrides(b.shape, outShape))];
  rt.dispatch(k, g ? [a.buffer, b.buffer, g.buffer, out.buffer] : [a.buffer, b.buffer, out.buffer], params, grid1d(n));
  return out;
}

function binary(op: BinaryOp, a: Tensor, b: Tensor | number): Tensor {
  if (a instanceof FusedValue) return traced(a.binary(op, b));
  if (b instanceof FusedValue) {
    throw new EngramError(`fuse: '${op}' got a tensor that is not an argument of the fused function; pass it as an argument (tensors cannot be captured from outside)`);
  }
  if (typeof b === 'number') throw new EngramError(`${op}: needs a tensor operand`);
  requireFloat(op, a, b);
  const outShape = broadcastShapes(a.shape, b.shape, op);
  const spec = BINARY_OPS[op];
  const out = binaryKernelCall(op, spec.forward, a, b, outShape);
  return withGrad(out, op, [a, b], (g) => {
    const gradFor = (expr: string, target: Tensor, which: string): Tensor | null => {
      if (!target.requiresGrad) return null;
      if (expr === 'g') return sameShape(target.shape, g.shape) ? g : sumTo(g, target.shape);
      const full = binaryKernelCall(`${op}_grad${which}`, expr, a, b, outShape, g);
      if (sameShape(full.shape, target.shape)) return full;
      const reduced = sumTo(full, target.shape);
      full.dispose();
      return reduced;
    };
    return [gradFor(spec.gradA, a, 'A'), gradFor(spec.gradB, b, 'B')];
  }, { saved: /\b[ab]\b/.test(spec.gradA + spec.gradB) ? [a, b] : [] });
}

/**
 * The table's binary op `op` on two tensors (broadcast), for other engine modules (the losses' bce
 * and klDiv entries). @internal
 */
export function applyBinary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  return binary(op, a, b);
}

function scalarOrTensor(op: BinaryOp, a: Tensor, b: Tensor | number): Tensor {
  if (typeof b !== 'number') return binary(op, a, b);
  switch (op) {
    case 'add': return unary('addScalar', a, b);
    case 'sub': return unary('addScalar', a, -b);
    case 'mul': return unary('mulScalar', a, b);
    case 'div': return unary('divScalar', a, b);
    default: throw new EngramError(`${op}: needs a tensor operand`);
  }
}

/** a + b with broadcasting (b may be a number). */
export const add = (a: Tensor, b: Tensor | number): Tensor => scalarOrTensor('add', a, b);
/** a - b with broadcasting (b may be a number). */
export const sub = (a: Tensor, b: Tensor | number): Tensor => scalarOrTensor('sub', a, b);
/** a * b with broadcasting (b may be a number). */
export const mul = (a: Tensor, b: Tensor | number): Tensor => scalarOrTensor('mul', a, b);
/** a / b with broadcasting (b may be a number). */
export const div = (a: Tensor, b: Tensor | number): Tensor => scalarOrTensor('div', a, b);
/**
 * Elementwise maximum of two tensors, as torch.maximum: NaN if either is NaN; on a tie each operand
 * gets half the gradient. Inside fuse(), `b` may also be a number.
 */
export const maximum = (a: Tensor, b: Tensor): Tensor => binary('maximum', a, b);
/** Elementwise minimum of two tensors, as torch.minimum (NaN wins, ties split the gradient). */
export const minimum = (a: Tensor, b: Tensor): Tensor => binary('minimum', a, b);

/** 1.0 where a == b, else 0.0 (float32, no gradient). Works for int32 tensors, e.g. predictions vs labels. */
export function eq(a: Tensor, b: Tensor | number): Tensor {
  if (a instanceof FusedValue || b instanceof FusedValue) throw notElementwise('eq');
  if (typeof b === 'number') {
    throw new EngramError('eq: compare with a tensor (use full(shape, value) for a constant)');
  }
  if (a.dtype !== b.dtype) throw new EngramError(`eq: dtypes differ (${a.dtype} vs ${b.dtype})`);
  const outShape = broadcastShapes(a.shape, b.shape, 'eq');
  return binaryKernelCall('eq', 'select(0.0, 1.0, a == b)', a, b, outShape);
}

/**
 * Elementwise choice, as torch.where: a where cond is non-zero, else b, all three broadcast
 * together. `cond` is float32 (e.g. from eq; NaN counts as true, as bool(NaN) does) or int32; `a`
 * and `b` are float32 tensors or numbers. The gradient goes to a where cond is true and to b where
 * it is false, so a NaN or inf in the branch not taken leaks into neither the value nor a gradient.
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  if (cond instanceof FusedValue || a instanceof FusedValue || b instanceof FusedValue) throw notElementwise('where');
  const ta = typeof a === 'number' ? full([], a) : a;
  const tb = typeof b === 'number' ? full([], b) : b;
  if (cond.dtype !== 'float32' && cond.dtype !== 'int32') throw new EngramError(`where: cond must be float32 or int32, got ${cond.dtype}`);
  requireFloat('where', ta, tb);
  const outShape = broadcastShapes(broadcastShapes(cond.shape, ta.shape, 'where'), tb.shape, 'where');
  const rt = runtime();
  const condType = cond.dtype === 'int32' ? 'i32' : 'f32';
  const same = sameShape(cond.shape, outShape) && sameShape(ta.shape, outShape) && sameShape(tb.shape, outShape);
  const k = rt.kernel({ name: 'where', wgsl: whereWGSL(condType, same), bindings: ['read', 'read', 'read', 'write'] });
  const out = empty(outShape);
  const n = numel(outShape);
  const strides = (s: readonly number[]) => padRank(broadcastStrides(s, outShape));
  rt.dispatch(k, [cond.buffer, ta.buffer, tb.buffer, out.buffer], [n, outShape.length, ...padRank(outShape, 1), ...strides(cond.shape), ...strides(ta.shape), ...strides(tb.shape)], grid1d(n));
  // A number operand became a 0-d tensor that only this call holds.
  const owned = [...(ta !== a ? [ta] : []), ...(tb !== b ? [tb] : [])];
  const truthy = condType === 'f32' ? '(bitcast<u32>(a) & 0x7fffffffu) != 0u' : 'a != 0';
  // Number operands are not inputs of the graph (they take no gradient); the graph owns them.
  const branches = [
    { t: ta, expr: `select(0.0, g, ${truthy})`, which: 'A' },
    { t: tb, expr: `select(g, 0.0, ${truthy})`, which: 'B' },
  ].filter((br) => !owned.includes(br.t));
  return withGrad(out, 'where', branches.map((br) => br.t), (g) => branches.map(({ t, expr, which }) => {
    // The gradient kernel reads cond (bound as both operands) and g at the output shape.
    if (!t.requiresGrad) return null;
    const whole = binaryKernelCall(`where_grad${which}`, expr, cond, cond, outShape, g);
    if (sameShape(whole.shape, t.shape)) return whole;
    const reduced = sumTo(whole, t.shape);
    whole.dispose();
    return reduced;
  }), { saved: [cond], owned });
}

// ------------------------------------------------------------------ broadcasting backward, accumulation

/** Sum `g` down to `shape`, the shape of an operand that was broadcast up to `g`'s shape. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g.clone();
  const rank = g.shape.length;
  if (shape.length > rank) throw new EngramError(`sumTo: cannot reduce ${shapeStr(g.shape)} to larger rank ${shapeStr(shape)}`);
  const t = [...new Array<number>(rank - shape.length).fill(1), ...shape];
  let r = 1;
  for (let d = 0; d < rank; d++) {
    if (t[d] !== g.shape[d]) {
      if (t[d] !== 1) throw new EngramError(`sumTo: ${shapeStr(shape)} is not broadcastable to ${shapeStr(g.shape)}`);
      r *= g.shape[d]!;
    }
  }
  const rt = runtime();
  const out = empty(shape);
  const params = [out.size, rank, r, ...padRank(g.shape, 1), ...padRank(t, 1)];
  // Few outputs over a long reduction (bias gradients): a workgroup per output. Not on CPU-backed
  // adapters, where a workgroup barrier splits the kernel and one thread per output is cheaper.
  const wide = sumToKernels.wide ?? (!rt.cpuBacked && out.size <= 4096 && r >= 32);
  if (wide) {
    const k = rt.kernel({ name: 'sumTo_wide', wgsl: SUM_TO_WIDE_WGSL, bindings: ['read', 'write'] });
    rt.dispatch(k, [g.buffer, out.buffer], params, grid1d(out.size, 1));
  } else {
    const k = rt.kernel({ name: 'sumTo', wgsl: SUM_TO_WGSL, bindings: ['read', 'write'] });
    rt.dispatch(k, [g.buffer, out.buffer], params, grid1d(out.size));
  }
  return out;
}

/** Tests force sumTo's kernel: `wide` true (a workgroup per output), false (a thread per output), null (auto). */
export const sumToKernels = {
  /** true: a workgroup per output; false: a thread per output; null (default): chosen by size and adapter. */
  wide: null as boolean | null,
};

/** dst += src, in place (used to accumulate gradients). */
export function addInPlace_(dst: Tensor, src: Tensor): Tensor {
  if (!sameShape(dst.shape, src.shape)) throw new EngramError(`addInPlace_: shapes ${shapeStr(dst.shape)} and ${shapeStr(src.shape)} differ`);
  const rt = runtime();
  const k = rt.kernel({ name: 'addInPlace', wgsl: ADD_INPLACE_WGSL, bindings: ['read', 'write'] });
  rt.dispatch(k, [src.buffer, dst.buffer], [dst.size], grid1d(dst.size));
  return dst;
}

export { UNARY_OPS, BINARY_OPS };
