// The gradient-check helper every op test uses. For one op and one set of input shapes it checks:
//  (a) the float64 reference's analytic gradient against central finite differences of the
//      reference forward (so the reference itself is trustworthy), and
//  (b) the GPU forward against the reference forward, and the GPU backward (autograd with a
//      random upstream gradient) against the reference gradient,
// on fresh random inputs, with stated tolerances.

import { expect } from 'vitest';
import { tensor, scope, Generator, type Tensor } from '../../src/index.js';
import { arr, dot, type Arr } from '../reference/arr.js';

export interface InputSpec {
  shape: number[];
  /** 'int32' inputs (labels, indices) are never differentiated. */
  dtype?: 'float32' | 'int32';
  /** Range of random values: floats uniform in [low, high), ints in [low, high). Default [-1, 1) / [0, 2). */
  low?: number;
  high?: number;
  /** Explicit values instead of random ones. */
  values?: ArrayLike<number>;
  /** Whether to differentiate with respect to this input (default: true for float32). */
  grad?: boolean;
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface OpCheck {
  name: string;
  inputs: InputSpec[];
  /** The op under test, on GPU tensors. */
  gpu: (...xs: Tensor[]) => Tensor;
  /** Float64 reference forward. */
  ref: (...xs: Arr[]) => Arr;
  /** Float64 reference vector-Jacobian product: gradients of sum(g * ref(xs)) for each input (null for ints). */
  refGrad?: (g: Arr, ...xs: Arr[]) => (Arr | null)[];
  /** GPU vs reference forward (default atol 1e-5, rtol 1e-5). */
  fwdTol?: Partial<Tolerance>;
  /** GPU vs reference gradient (default atol 1e-4, rtol 1e-4). */
  bwdTol?: Partial<Tolerance>;
  /** Reference analytic vs finite differences (default atol 1e-6, rtol 1e-5). */
  fdTol?: Partial<Tolerance>;
  /** At most this many elements per input are probed with finite differences (default 48). */
  fdSamples?: number;
  seed?: number;
}

const f32 = new Float32Array(1);
function toF32(x: number): number {
  f32[0] = x;
  return f32[0]!;
}

export function makeInputs(specs: InputSpec[], g: Generator): Arr[] {
  return specs.map((s) => {
    const a = arr(s.shape);
    if (s.values) {
      a.data.set(Array.from(s.values));
      return a;
    }
    const isInt = s.dtype === 'int32';
    const low = s.low ?? (isInt ? 0 : -1);
    const high = s.high ?? (isInt ? 2 : 1);
    for (let i = 0; i < a.data.length; i++) {
      a.data[i] = isInt ? low + g.int(high - low) : toF32(low + (high - low) * g.next());
    }
    return a;
  });
}

/** Assert every element of `actual` is within atol + rtol*|expected| of `expected`; the message names the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: Arr | ArrayLike<number>, tol: Partial<Tolerance>, label: string): void {
  const exp = 'data' in (expected as Arr) ? (expected as Arr).data : (expected as ArrayLike<number>);
  const atol = tol.atol ?? 1e-5;
  const rtol = tol.rtol ?? 1e-5;
  expect(actual.length, `${label}: length`).toBe(exp.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < exp.length; i++) {
    const a = actual[i]!;
    const e = exp[i]!;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (Number.isNaN(a) !== Number.isNaN(e) || excess > worstExcess) {
      if (Number.isNaN(a) !== Number.isNaN(e)) {
        worst = i;
        break;
      }
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    const msg = `${label}: element ${worst} is ${actual[worst]}, expected ${exp[worst]} (atol ${atol}, rtol ${rtol})`;
    expect.fail(msg);
  }
}

/** (a) the reference gradient matches central differences of the reference forward, in float64. */
export function checkReferenceGradient(c: OpCheck, xs: Arr[], g: Arr, gen: Generator): void {
  if (!c.refGrad) return;
  const analytic = c.refGrad(g, ...xs);
  const h = 1e-6;
  const tol = { atol: c.fdTol?.atol ?? 1e-6, rtol: c.fdTol?.rtol ?? 1e-5 };
  xs.forEach((x, k) => {
    const spec = c.inputs[k]!;
    const wants = (spec.grad ?? spec.dtype !== 'int32') && spec.dtype !== 'int32';
    if (!wants) return;
    const an = analytic[k];
    if (!an) throw new Error(`${c.name}: reference gradient for input ${k} is missing`);
    expect(an.shape, `${c.name}: reference gradient shape of input ${k}`).toEqual(x.shape);
    const n = x.data.length;
    const samples = Math.min(n, c.fdSamples ?? 48);
    const idx = samples === n ? [...Array(n).keys()] : Array.from({ length: samples }, () => gen.int(n));
    const numeric: number[] = [];
    const expected: number[] = [];
    for (const i of idx) {
      const orig = x.data[i]!;
      x.data[i] = orig + h;
      const up = dot(g, c.ref(...xs));
      x.data[i] = orig - h;
      const down = dot(g, c.ref(...xs));
      x.data[i] = orig;
      numeric.push((up - down) / (2 * h));
      expected.push(an.data[i]!);
    }
    expectClose(expected, numeric, tol, `${c.name}: reference gradient of input ${k} vs finite differences`);
  });
}

/** Run (a) and (b) for one op and one set of input shapes. */
export async function checkOp(c: OpCheck): Promise<void> {
  const gen = new Generator(c.seed ?? 1234);
  const xs = makeInputs(c.inputs, gen);
  const yRef = c.ref(...xs);
  const gRef = arr(yRef.shape);
  for (let i = 0; i < gRef.data.length; i++) gRef.data[i] = toF32(gen.next() * 2 - 1);

  checkReferenceGradient(c, xs, gRef, gen);

  await scope(async () => {
    const ts = xs.map((x, k) => {
      const spec = c.inputs[k]!;
      const isInt = spec.dtype === 'int32';
      const t = tensor(isInt ? Int32Array.from(x.data) : Float32Array.from(x.data), x.shape, { dtype: isInt ? 'int32' : 'float32' });
      if (!isInt && (spec.grad ?? true) && c.refGrad) t.requiresGrad_();
      return t;
    });
    const y = c.gpu(...ts);
    expect([...y.shape], `${c.name}: output shape`).toEqual(yRef.shape);
    expectClose(await y.toArray(), yRef, { atol: 1e-5, rtol: 1e-5, ...c.fwdTol }, `${c.name}: GPU forward vs reference`);
    if (!c.refGrad) return;
    y.backward(tensor(Float32Array.from(gRef.data), gRef.shape));
    const gradsRef = c.refGrad(gRef, ...xs);
    for (let k = 0; k < ts.length; k++) {
      const t = ts[k]!;
      if (!t.requiresGrad) continue;
      expect(t.grad, `${c.name}: input ${k} received no gradient`).not.toBeNull();
      expectClose(await t.grad!.toArray(), gradsRef[k]!, { atol: 1e-4, rtol: 1e-4, ...c.bwdTol }, `${c.name}: GPU gradient of input ${k} vs reference`);
      t.grad!.dispose();
    }
  });
}
