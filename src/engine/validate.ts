// Argument checks for public constructors and functions. Each error names the op, the argument,
// the value it got and what it accepts, e.g.
//   "Conv2d: kernelSize must be a positive integer (or a pair of them), got 0".
// The value is printed with `show` so that strings, NaN, null and arrays are told apart (a string
// '3' and the number 3 would otherwise read the same).

import { EngramError } from './runtime.js';

/** The dtypes engram tensors have (kept in step with `DType` in tensor.ts). */
export const DTYPES = ['float32', 'int32'] as const;

/** A value as it should appear in an error message. */
export function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

function fail(op: string, name: string, wanted: string, v: unknown): never {
  throw new EngramError(`${op}: ${name} must be ${wanted}, got ${show(v)}`);
}

/** An integer >= min (sizes, channel counts, counts of steps). */
export function checkInt(op: string, name: string, v: unknown, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    fail(op, name, min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : min === -Infinity ? 'an integer' : `an integer >= ${min}`, v);
  }
  return v;
}

/** An integer or a pair of integers, each >= min (kernel sizes, strides, padding); returns the pair. */
export function checkPair(op: string, name: string, v: unknown, min: number): [number, number] {
  const ok = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= min;
  const wanted = `${min === 1 ? 'a positive' : min === 0 ? 'a non-negative' : `an (>= ${min})`} integer (or a pair of them)`;
  if (typeof v === 'number') {
    if (!ok(v)) fail(op, name, wanted, v);
    return [v, v];
  }
  if (!Array.isArray(v) || v.length !== 2 || !v.every(ok)) fail(op, name, wanted, v);
  return [v[0] as number, v[1] as number];
}

export interface RangeSpec {
  /** Lower bound (default -Infinity) and whether it is allowed (default true). */
  min?: number;
  minInclusive?: boolean;
  max?: number;
  maxInclusive?: boolean;
}

/** A finite number within a range (hyperparameters: learning rates, momenta, eps, probabilities). */
export function checkNumber(op: string, name: string, v: unknown, r: RangeSpec = {}): number {
  const { min = -Infinity, max = Infinity, minInclusive = true, maxInclusive = true } = r;
  const above = minInclusive ? (x: number) => x >= min : (x: number) => x > min;
  const below = maxInclusive ? (x: number) => x <= max : (x: number) => x < max;
  if (typeof v !== 'number' || !Number.isFinite(v) || !above(v) || !below(v)) {
    let wanted = 'a finite number';
    if (min > -Infinity && max < Infinity) wanted = `a number in ${minInclusive ? '[' : '('}${min}, ${max}${maxInclusive ? ']' : ')'}`;
    else if (min > -Infinity) wanted = `a number ${minInclusive ? '>=' : '>'} ${min}`;
    else if (max < Infinity) wanted = `a number ${maxInclusive ? '<=' : '<'} ${max}`;
    fail(op, name, wanted, v);
  }
  return v;
}

/** Each given (not undefined) argument is a finite number, e.g. `checkNumbers('arange', { start, end, step })`. */
export function checkNumbers(op: string, args: Record<string, unknown>): void {
  for (const [name, v] of Object.entries(args)) if (v !== undefined) checkNumber(op, name, v);
}

/** A probability in [0, 1] (dropout). */
export function checkProbability(op: string, name: string, v: unknown): number {
  return checkNumber(op, name, v, { min: 0, max: 1 });
}

/** A boolean flag (a truthy string such as 'false' would otherwise switch a feature on). */
export function checkBoolean(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(op, name, 'true or false', v);
  return v;
}

/**
 * A tensor dtype engram supports. `undefined` passes (the caller's default applies). Catches
 * 'float64', 'int64' and 'float16', which would otherwise label float32 data with the wrong dtype.
 */
export function checkDType(op: string, dtype: unknown): void {
  if (dtype === undefined) return;
  if (!(DTYPES as readonly unknown[]).includes(dtype)) {
    const hint = dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16' ? "; use 'float32'" : dtype === 'int64' || dtype === 'uint8' || dtype === 'bool' ? "; use 'int32'" : '';
    throw new EngramError(`${op}: dtype must be one of ${DTYPES.map((d) => `'${d}'`).join(', ')}, got ${show(dtype)}${hint}`);
  }
}
