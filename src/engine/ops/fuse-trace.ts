// Tracing for fuse(): the function being fused runs once per input signature on FusedValues, stand-ins
// for its tensors that record each elementwise op into an expression DAG instead of running a kernel.
// Identical subexpressions get one node (so they are computed once), every node's shape is
// broadcast exactly as the eager op would, with the same errors, and anything that is not an
// elementwise table op throws. This file only records; fuse.ts compiles and runs.

import { EngramError } from '../runtime.js';
import { checkNumber, show } from '../validate.js';
import { broadcastShapes, numel } from '../shape.js';
import type { FusedNode } from '../../shaders/fused-elementwise.js';
import type { UnaryOp, BinaryOp } from '../../shaders/elementwise.js';

/** Where a scalar slot of the kernel's parameter block gets its value at each call. */
export type ScalarSlot = { kind: 'constant'; value: number } | { kind: 'argument'; arg: number };

const FUSIBLE = 'add, sub, mul, div, maximum, minimum (tensor or number operands), neg, exp, log, sqrt, relu, abs, sigmoid, tanh, pow (number exponent), gelu, silu, leakyRelu, elu, softplus, hardswish, clamp';

/** The error for an op that fuse() cannot put in an elementwise kernel. */
export function notElementwise(op: string | null): EngramError {
  const what = op ? `'${op}' is not` : 'fn called an op that is not';
  return new EngramError(`fuse: only elementwise ops can be fused (${FUSIBLE}); ${what} elementwise: call it outside the fused function`);
}

/**
 * The engine op that touched a traced value's data, for free functions such as matmul(x, w) that
 * have no FusedValue method to name themselves: the outermost frame inside engine/ops on a V8 stack
 * (Node, Chromium). Elsewhere (other engines, minified bundles) the error goes without the name.
 */
function opOnStack(): string | null {
  let name: string | null = null;
  for (const line of (new Error().stack ?? '').split('\n')) {
    const m = /at (?:[\w$]+\.)*([\w$]+) \(.*\/engine\/ops\/([\w-]+)\.[jt]s/.exec(line);
    if (m && !m[2]!.startsWith('fuse')) name = m[1]!;
    else if (name) break;
  }
  return name;
}

/** The DAG being recorded for one trace of a fused function. */
export class FusionTrace {
  readonly nodes: FusedNode[] = [];
  readonly slots: ScalarSlot[] = [];
  private readonly shapes: (readonly number[])[] = [];
  private readonly scalarOnly: boolean[] = [];
  private readonly ids = new Map<string, number>();
  private readonly constants = new Map<string, number>();

  /** Tensor argument `input` of the fused function. */
  input(input: number, shape: readonly number[]): FusedValue {
    return this.node({ kind: 'input', input }, shape, false);
  }

  /** Number argument `arg` of the fused function: a 0-d value read from the parameters at every call. */
  argument(arg: number): FusedValue {
    const slot = this.slots.push({ kind: 'argument', arg }) - 1;
    return this.node({ kind: 'scalar', slot }, [], true);
  }

  /** A number written in the traced function, passed as a parameter (equal values share a slot). */
  constant(value: number): FusedValue {
    const f = Math.fround(value);
    const key = Object.is(f, -0) ? '-0' : String(f);
    let slot = this.constants.get(key);
    if (slot === undefined) {
      slot = this.slots.push({ kind: 'constant', value }) - 1;
      this.constants.set(key, slot);
    }
    return this.node({ kind: 'scalar', slot }, [], true);
  }

  shapeOf(id: number): readonly number[] {
    return this.shapes[id]!;
  }

  isScalarOnly(id: number): boolean {
    return this.scalarOnly[id]!;
  }

  node(node: FusedNode, shape: readonly number[], scalarOnly: boolean): FusedValue {
    const key = JSON.stringify(node);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.nodes.push(node) - 1;
      this.shapes.push(shape);
      this.scalarOnly.push(scalarOnly);
      this.ids.set(key, id);
    }
    return new FusedValue(this, id, shape);
  }
}

type Operand = FusedValue | number | { shape: readonly number[] };

/**
 * A traced value: what the fused function's tensor (and number) arguments are while it is traced.
 * It has the table's elementwise ops as methods (PyTorch names, as on Tensor), and the engine's free
 * functions (add, exp, ...) accept it too. Number operands follow the eager ops exactly: x.sub(2) is
 * addScalar(-2), x.mul(2) is mulScalar(2); maximum and minimum also take a number here.
 */
export class FusedValue {
  readonly dtype = 'float32' as const;
  /** Never set: autograd is the fused function's concern, not the trace's. */
  readonly requiresGrad = false;

  constructor(readonly trace: FusionTrace, readonly id: number, readonly shape: readonly number[]) {}

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return numel(this.shape);
  }

  add(o: Operand): FusedValue { return typeof o === 'number' ? this.unary('addScalar', o) : this.binary('add', o); }
  sub(o: Operand): FusedValue { return typeof o === 'number' ? this.unary('addScalar', -o) : this.binary('sub', o); }
  mul(o: Operand): FusedValue { return typeof o === 'number' ? this.unary('mulScalar', o) : this.binary('mul', o); }
  div(o: Operand): FusedValue { return typeof o === 'number' ? this.unary('divScalar', o) : this.binary('div', o); }
  maximum(o: Operand): FusedValue { return this.binary('maximum', o); }
  minimum(o: Operand): FusedValue { return this.binary('minimum', o); }
  neg(): FusedValue { return this.unary('neg'); }
  exp(): FusedValue { return this.unary('exp'); }
  log(): FusedValue { return this.unary('log'); }
  sqrt(): FusedValue { return this.unary('sqrt'); }
  relu(): FusedValue { return this.unary('relu'); }
  abs(): FusedValue { return this.unary('abs'); }
  sigmoid(): FusedValue { return this.unary('sigmoid'); }
  tanh(): FusedValue { return this.unary('tanh'); }
  /** GELU, exact or with `approximate: 'tanh'` (as the eager gelu). */
  gelu(options: { approximate?: 'none' | 'tanh' } = {}): FusedValue {
    const approximate = options.approximate ?? 'none';
    if (approximate !== 'none' && approximate !== 'tanh') throw new EngramError(`gelu: approximate must be 'none' or 'tanh' (as in PyTorch), got ${show(approximate)}`);
    return this.unary(approximate === 'tanh' ? 'geluTanh' : 'gelu');
  }
  silu(): FusedValue { return this.unary('silu'); }
  leakyRelu(negativeSlope = 0.01): FusedValue { return this.unary('leakyRelu', checkNumber('leakyRelu', 'negativeSlope', negativeSlope)); }
  elu(alpha = 1): FusedValue { return this.unary('elu', checkNumber('elu', 'alpha', alpha)); }
  /** softplus(beta x) / beta, as the eager softplus (beta x, the table op, then / beta). */
  softplus(beta = 1, threshold = 20): FusedValue {
    checkNumber('softplus', 'beta', beta, { min: 0, minInclusive: false });
    checkNumber('softplus', 'threshold', threshold);
    if (beta === 1) return this.unary('softplus', threshold);
    return this.unary('mulScalar', beta).unary('softplus', threshold).unary('divScalar', beta);
  }
  hardswish(): FusedValue { return this.unary('hardswish'); }
  /** Clamp to [min, max] (either may be omitted), as the eager clamp. */
  clamp(min?: number, max?: number): FusedValue {
    for (const [name, v] of [['min', min], ['max', max]] as const) {
      if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v))) throw new EngramError(`clamp: ${name} must be a number (or undefined for no bound), got ${show(v)}`);
    }
    if (min === undefined && max === undefined) throw new EngramError('clamp: give at least one of min and max (both were undefined)');
    const lower = min === undefined ? this : this.unary('clampMin', min);
    return max === undefined ? lower : lower.unary('clampMax', max);
  }
  /** x ** exponent for a number exponent, or a number argument of the fused function. */
  pow(exponent: number | FusedValue): FusedValue {
    if (exponent instanceof FusedValue) {
      this.sameTrace(exponent, 'pow');
      if (!this.trace.isScalarOnly(exponent.id)) throw new EngramError('pow: the exponent must be a number (tensor exponents are not supported)');
      return this.unary('pow', exponent);
    }
    if (typeof exponent !== 'number') throw new EngramError('pow: the exponent must be a number (tensor exponents are not supported)');
    return this.unary('pow', exponent);
  }

  /** Record a table unary op; `scalar` is its parameter `a` (addScalar's addend, pow's exponent). */
  unary(op: UnaryOp, scalar?: number | FusedValue): FusedValue {
    const s = scalar === undefined ? null : scalar instanceof FusedValue ? scalar : this.trace.constant(scalar);
    const scalarOnly = this.trace.isScalarOnly(this.id);
    return this.trace.node({ kind: 'unary', op, x: this.id, scalar: s ? s.id : null }, this.shape, scalarOnly);
  }

  /** Record a table binary op, broadcasting like the eager op (same error for shapes that do not broadcast). */
  binary(op: BinaryOp, o: Operand): FusedValue {
    const other = typeof o === 'number' ? this.trace.constant(o) : o;
    if (!(other instanceof FusedValue)) {
      throw new EngramError(`fuse: '${op}' got a tensor that is not an argument of the fused function; pass it as an argument (tensors cannot be captured from outside)`);
    }
    this.sameTrace(other, op);
    const shape = broadcastShapes(this.shape, other.shape, op);
    const scalarOnly = this.trace.isScalarOnly(this.id) && this.trace.isScalarOnly(other.id);
    return this.trace.node({ kind: 'binary', op, a: this.id, b: other.id }, shape, scalarOnly);
  }

  private sameTrace(o: FusedValue, op: string): void {
    if (o.trace !== this.trace) throw new EngramError(`fuse: '${op}' got a value from another trace (a traced value kept from an earlier call of a fused function)`);
  }

  /** Non-elementwise free functions (matmul, sum, reshape, ...) end up here when they reach for the data. */
  get buffer(): never {
    throw notElementwise(opOnStack());
  }

  get storage(): never {
    throw notElementwise(opOnStack());
  }

  [Symbol.toPrimitive](): never {
    throw new EngramError('fuse: a traced value cannot be used in JavaScript arithmetic or comparisons; use its ops (x.mul(2), x.add(y))');
  }
}

// Tensor methods that are not elementwise: each throws, naming itself, when called on a traced value.
const NOT_ELEMENTWISE_METHODS = [
  'sum', 'mean', 'max', 'min', 'amax', 'amin', 'argmax', 'argmin', 'matmul', 'reshape', 'view', 'flatten', 'squeeze', 'unsqueeze',
  'transpose', 'permute', 'expand', 'slice', 'narrow', 'indexSelect', 'gather', 'softmax', 'logSoftmax', 'eq', 'where',
  'toFloat', 'toInt', 'clone', 'detach', 'backward', 'toArray', 'item', 'dispose', 'requiresGrad_',
] as const;
for (const name of NOT_ELEMENTWISE_METHODS) {
  Object.defineProperty(FusedValue.prototype, name, {
    value: function notFusible(): never {
      throw notElementwise(name);
    },
  });
}
