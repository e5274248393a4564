// The lab's "run a kernel" panels: each op runs on the reader's GPU through the public API and is
// compared with the float64 CPU reference the engine's own tests use (test/reference/*.ts, imported
// rather than copied, so the page and the tests cannot disagree about what an op computes).
//
// The gradient check: for a fixed random upstream gradient G, the loss sum(G * op(inputs)) is
// differentiated twice: by the engine's backward kernels on the GPU (float32), and by central
// differences (L(x + h) - L(x - h)) / 2h on the float64 reference, element by element. Central
// differences need no analytic gradient at all, so they check the backward kernels against nothing
// but the forward definition.

import * as E from '../src/index.js';
import { arr, type Arr } from '../test/reference/arr.js';
import { identify, workgroupSize3, type KernelRef } from './lab-catalogue.js';

/** Tolerances the page judges by (and the tests check): float32 GPU vs float64 CPU, relative to the largest reference magnitude. */
export const FORWARD_TOL = 1e-4;
/** Gradient tolerance: the GPU's backward kernels vs central differences on the float64 reference. */
export const GRAD_TOL = 1e-3;

/** A small deterministic generator (mulberry32): the same seed gives the same inputs on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values in [lo, hi), rounded to float32 so that the GPU and the reference see the very same numbers. */
export function randomArr(shape: number[], r: () => number, lo = -1, hi = 1): Arr {
  const a = arr(shape);
  for (let i = 0; i < a.data.length; i++) a.data[i] = Math.fround(lo + (hi - lo) * r());
  return a;
}

/** An input of an op case: its float64 values, and whether the gradient check covers it. */
export interface Input {
  name: string;
  value: Arr;
  grad: boolean;
  /** Integer class indices (uploaded as int32; never differentiated). */
  int?: boolean;
}

export interface OpCase {
  id: string;
  title: string;
  /** The shader reader's section for the kernels this op dispatches. */
  family: string;
  /** One line: what the op computes and which kernels run. */
  about: string;
  /**
   * The src/shaders exports this panel dispatches (over its variants): the coverage test
   * (test/lab-coverage.test.ts) runs every variant and checks each one is really dispatched.
   */
  kernels: string[];
  /** Editable integer parameters (shape, window, ...) with their defaults. */
  params: Record<string, number>;
  /** A choice among variants (e.g. which unary op), first is the default. */
  variants?: string[];
  /** Set engine switches for a run (which kernel family, a threshold); returns what undoes them. */
  configure?(variant: string, p: Record<string, number>): () => void;
  /** The GPU's float32 result must match the reference to this relative difference (default FORWARD_TOL). */
  tolerance?: number;
  inputs(p: Record<string, number>, r: () => number, variant: string): Input[];
  /** The op on the GPU; `raw` holds the inputs' float64 values (for ops that take CPU bytes, such as the codecs). */
  gpu(xs: E.Tensor[], p: Record<string, number>, variant: string, raw?: Arr[]): E.Tensor;
  ref(xs: Arr[], p: Record<string, number>, variant: string): Arr;
}

export interface Diff {
  maxAbs: number;
  /** maxAbs relative to the largest magnitude of the reference (so tiny elements do not dominate). */
  maxRel: number;
}

export function diff(got: ArrayLike<number>, want: ArrayLike<number>): Diff {
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  if (got.length !== want.length) maxAbs = Infinity;
  return { maxAbs, maxRel: maxAbs / Math.max(scale, 1e-12) };
}

/** sum(G * y) in float64. */
function weighted(y: Arr, g: Arr): number {
  let s = 0;
  for (let i = 0; i < y.data.length; i++) s += g.data[i]! * y.data[i]!;
  return s;
}

/** Central differences of sum(G * ref(inputs)) with respect to input `which`, on the float64 reference. */
export function centralDifference(c: OpCase, xs: Arr[], which: number, g: Arr, p: Record<string, number>, variant: string, h = 1e-6): Float64Array {
  const x = xs[which]!;
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const v = x.data[i]!;
    x.data[i] = v + h;
    const up = weighted(c.ref(xs, p, variant), g);
    x.data[i] = v - h;
    const down = weighted(c.ref(xs, p, variant), g);
    x.data[i] = v;
    out[i] = (up - down) / (2 * h);
  }
  return out;
}

/** One dispatch a run recorded, with what the lab knows about it. */
export interface RunDispatch {
  /** The runtime's kernel name. */
  name: string;
  /** The src/shaders export that made its WGSL (null: defined elsewhere). */
  ref: KernelRef | null;
  /** The kernel's WGSL (for its @workgroup_size and the mapping rule). */
  wgsl: string;
  workgroups: [number, number, number];
  workgroupSize: [number, number, number];
  /** A copy of the parameter block's words (sizes the mapping rules read). */
  params: Uint32Array;
  /** The runtime's record of it (kernel, buffers): test/lab-owners.test.ts re-runs its workgroups one by one. */
  traced?: E.TracedDispatch;
  /** 'forward': the op itself; 'backward': its gradient; 'harness': the lab's sum(G * y). */
  phase: 'forward' | 'harness' | 'backward';
  /** For a backward dispatch that last writes the gradient of input k (the one that finishes it): those k. */
  gradOf?: number[];
}

export interface OpResult {
  inputs: Input[];
  outShape: number[];
  gpu: Float32Array;
  ref: Float64Array;
  forward: Diff;
  /** Per differentiated input: the GPU gradient, the central difference, their difference. */
  grads: { name: string; gpu: Float32Array; numeric: Float64Array; diff: Diff }[];
  /** Every dispatch of the run, in order. */
  dispatches: RunDispatch[];
}

/**
 * Run one op case: forward and backward on the GPU, reference and central differences on the CPU.
 * `gradients: false` still runs the backward kernels but skips reading and checking the gradients.
 */
export async function runCase(c: OpCase, p: Record<string, number>, seed: number, variant: string, opts: { gradients?: boolean } = {}): Promise<OpResult> {
  const r = rng(seed);
  const inputs = c.inputs(p, r, variant);
  const refOut = c.ref(inputs.map((i) => i.value), p, variant);
  const g = randomArr(refOut.shape, r);
  const differentiable = inputs.some((i) => i.grad);
  const rt = E.runtime();
  const trace: E.TracedDispatch[] = [];
  const marks = { forward: 0, harness: 0 };
  const undo = c.configure?.(variant, p);
  rt.trace = trace;
  let kept: { y: E.Tensor; grads: (E.Tensor | null)[] };
  try {
    // Record forward and backward in one scope: everything it creates is released at its end except
    // what it returns (the output and the input gradients, read back below and then disposed).
    kept = E.scope(() => {
      const ts = inputs.map((i) => i.int
        ? E.tensor(Int32Array.from(i.value.data), i.value.shape)
        : E.tensor(Float32Array.from(i.value.data), i.value.shape, { requiresGrad: i.grad }));
      const y = c.gpu(ts, p, variant, inputs.map((i) => i.value));
      marks.forward = trace.length;
      if (differentiable) {
        const loss = E.sum(E.mul(y, E.tensor(Float32Array.from(g.data), g.shape)));
        marks.harness = trace.length;
        loss.backward();
      } else marks.harness = trace.length;
      return { y, grads: ts.map((t, k) => (inputs[k]!.grad ? t.grad : null)) };
    });
  } finally {
    rt.trace = null;
    undo?.();
  }
  // The backward of sum(G · y) itself comes first in the backward: the seed fill, the sum's expand
  // and the product's gradient G · 1 (kernels fill, reduce_expand, mul_gradA); those are the lab's too.
  const HARNESS_BACKWARD = ['fill', 'reduce_expand', 'mul_gradA'];
  let harnessEnd = marks.harness;
  while (differentiable && harnessEnd - marks.harness < 3 && trace[harnessEnd]?.kernel.name === HARNESS_BACKWARD[harnessEnd - marks.harness]) harnessEnd++;
  const dispatches: RunDispatch[] = trace.map((d, i) => ({
    name: d.kernel.name, ref: identify(d.kernel.wgsl), wgsl: d.kernel.wgsl, workgroups: d.workgroups,
    workgroupSize: workgroupSize3(d.kernel.wgsl), params: d.params, traced: d,
    phase: i < marks.forward ? 'forward' : i < harnessEnd ? 'harness' : 'backward',
  }));
  // The writer of each input's gradient: the last backward dispatch that writes its buffer.
  kept.grads.forEach((t, k) => {
    if (!t) return;
    const buffer = t.buffer;
    for (let i = dispatches.length - 1; i >= 0; i--) {
      const d = dispatches[i]!;
      if (d.phase === 'backward' && d.traced!.kernel.writes.some((w) => d.traced!.buffers[w] === buffer)) {
        (d.gradOf ??= []).push(k);
        break;
      }
    }
  });
  try {
    const gpu = Float32Array.from(await kept.y.toArray());
    const grads: OpResult['grads'] = [];
    for (let k = 0; k < inputs.length && opts.gradients !== false; k++) {
      const t = kept.grads[k];
      if (!inputs[k]!.grad || !t) continue;
      const got = Float32Array.from(await t.toArray());
      const numeric = centralDifference(c, inputs.map((i) => i.value), k, g, p, variant);
      grads.push({ name: inputs[k]!.name, gpu: got, numeric, diff: diff(got, numeric) });
    }
    return { inputs, outShape: refOut.shape, gpu, ref: refOut.data, forward: diff(gpu, refOut.data), grads, dispatches };
  } finally {
    kept.y.dispose();
    for (const t of kept.grads) t?.dispose();
  }
}
