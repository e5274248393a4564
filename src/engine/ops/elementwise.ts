// Elementwise ops with broadcasting: add, sub, mul, div, maximum, eq, and the unary table
// (neg, exp, log, sqrt, pow, relu, abs, sigmoid, tanh). Forward and backward live side by side.

import { runtime, grid1d, f32bits, EngramError } from '../runtime.js';
import {
  UNARY_OPS, BINARY_OPS, unaryForwardWGSL, unaryBackwardWGSL, binaryWGSL, SUM_TO_WGSL, SUM_TO_WIDE_WGSL, ADD_INPLACE_WGSL,
  type UnaryOp, type BinaryOp,
} from '../../shaders/elementwise.js';
import { empty, withGrad, type Tensor } from '../tensor.js';
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
  return withGrad(y, op, [x], (g) => [unaryBackward(op, g, x, y, a)]);
}

/**
 * The gradient through a ReLU whose output is `y`: g where y > 0, else 0. Fused conv/batch-norm
 * kernels that apply ReLU in their epilogue keep only y, and y > 0 exactly where the input was.
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
  });
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
/** Elementwise maximum of two tensors (gradient to `a` on ties). Inside fuse(), `b` may also be a number. */
export const maximum = (a: Tensor, b: Tensor): Tensor => binary('maximum', a, b);

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
