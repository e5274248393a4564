// Float64 references for the activations, clamp, where and the losses: forward and analytic gradient.
// The activations' formulas are the mathematical ones (not PyTorch's float32 order of operations):
// the PyTorch fixtures pin the float32 rounding, these pin the math.
import { map, map2, arr, unravel, at, sumTo, broadcastShape, type Arr } from './arr.js';

/**
 * erf in float64 by the everywhere-positive series erf(x) = 2/√π e^(-x²) Σ 2^n x^(2n+1) / (1·3···(2n+1))
 * (no cancellation, so about 1e-15 relative for |x| <= 6; beyond that erf is ±1 in float64 to 1e-17).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) > 6) return Math.sign(x);
  let term = x;
  let total = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(total); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    total += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * total;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const K = Math.sqrt(2 / Math.PI);

type Unary = { f: (x: number) => number; df: (x: number) => number };

export function activation(op: string, p: Record<string, number> = {}): Unary {
  switch (op) {
    case 'gelu': return {
      f: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
      df: (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
    };
    case 'geluTanh': return {
      f: (x) => 0.5 * x * (1 + Math.tanh(K * (x + 0.044715 * x ** 3))),
      df: (x) => {
        const t = Math.tanh(K * (x + 0.044715 * x ** 3));
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * 0.044715 * x * x);
      },
    };
    case 'silu': return { f: (x) => x * sigmoid(x), df: (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x))) };
    case 'leakyRelu': return { f: (x) => (x > 0 ? x : p.slope! * x), df: (x) => (x > 0 ? 1 : p.slope!) };
    case 'elu': return { f: (x) => (x > 0 ? x : p.alpha! * Math.expm1(x)), df: (x) => (x > 0 ? 1 : p.alpha! * Math.exp(x)) };
    case 'softplus': {
      const { beta, threshold } = p as { beta: number; threshold: number };
      return {
        f: (x) => (beta * x > threshold ? x : Math.log1p(Math.exp(beta * x)) / beta),
        df: (x) => (beta * x > threshold ? 1 : sigmoid(beta * x)),
      };
    }
    case 'hardswish': return {
      f: (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6,
      df: (x) => (x < -3 ? 0 : x < 3 ? x / 3 + 0.5 : 1),
    };
    case 'clamp': {
      const lo = p.min ?? -Infinity;
      const hi = p.max ?? Infinity;
      return { f: (x) => Math.min(Math.max(x, lo), hi), df: (x) => (x >= lo && x <= hi ? 1 : 0) };
    }
    default: throw new Error(`no reference for ${op}`);
  }
}

export function activationRef(op: string, p: Record<string, number> = {}) {
  const u = activation(op, p);
  return {
    forward: (x: Arr) => map(x, (v) => u.f(v)),
    grad: (g: Arr, x: Arr) => [map(x, (v, i) => g.data[i]! * u.df(v))],
  };
}

/** where(cond, a, b) with broadcasting; gradients summed back to each operand's shape (cond gets none). */
export function whereRef() {
  return {
    forward: (c: Arr, a: Arr, b: Arr) => {
      const shape = broadcastShape(broadcastShape(c.shape, a.shape), b.shape);
      const out = arr(shape);
      for (let i = 0; i < out.data.length; i++) {
        const k = unravel(i, shape);
        out.data[i] = at(c, k) !== 0 ? at(a, k) : at(b, k);
      }
      return out;
    },
    grad: (g: Arr, c: Arr, a: Arr, b: Arr) => {
      const shape = g.shape;
      const ga = arr(shape);
      const gb = arr(shape);
      for (let i = 0; i < g.data.length; i++) {
        const k = unravel(i, shape);
        if (at(c, k) !== 0) ga.data[i] = g.data[i]!;
        else gb.data[i] = g.data[i]!;
      }
      return [null, sumTo(ga, a.shape), sumTo(gb, b.shape)];
    },
  };
}

/** Pointwise loss l(x, t) and its partial derivatives. */
type Pointwise = { f: (x: number, t: number) => number; dx: (x: number, t: number) => number; dt: (x: number, t: number) => number };

export function pointwiseLoss(op: string, p: Record<string, number> = {}): Pointwise {
  switch (op) {
    case 'mseLoss': return { f: (x, t) => (x - t) ** 2, dx: (x, t) => 2 * (x - t), dt: (x, t) => -2 * (x - t) };
    case 'l1Loss': return { f: (x, t) => Math.abs(x - t), dx: (x, t) => Math.sign(x - t), dt: (x, t) => -Math.sign(x - t) };
    case 'smoothL1Loss': {
      const b = p.beta!;
      const d = (x: number, t: number) => (Math.abs(x - t) < b ? (x - t) / b : Math.sign(x - t));
      return { f: (x, t) => (Math.abs(x - t) < b ? (0.5 * (x - t) ** 2) / b : Math.abs(x - t) - 0.5 * b), dx: d, dt: (x, t) => -d(x, t) };
    }
    case 'huberLoss': {
      const dl = p.delta!;
      const d = (x: number, t: number) => (Math.abs(x - t) < dl ? x - t : dl * Math.sign(x - t));
      return { f: (x, t) => (Math.abs(x - t) < dl ? 0.5 * (x - t) ** 2 : dl * (Math.abs(x - t) - 0.5 * dl)), dx: d, dt: (x, t) => -d(x, t) };
    }
    case 'binaryCrossEntropy': return {
      f: (x, t) => -(t * Math.max(Math.log(x), -100) + (1 - t) * Math.max(Math.log(1 - x), -100)),
      dx: (x, t) => (x - t) / Math.max(x * (1 - x), 1e-12),
      dt: (x) => Math.log(1 - x) - Math.log(x),
    };
    case 'klDiv': return {
      f: (x, t) => (t === 0 ? 0 : t * Math.log(t)) - t * x,
      dx: (_x, t) => -t,
      dt: (x, t) => Math.log(t) + 1 - x,
    };
    case 'klDivLog': return {
      f: (x, t) => Math.exp(t) * (t - x),
      dx: (_x, t) => -Math.exp(t),
      dt: (x, t) => Math.exp(t) * (t - x + 1),
    };
    default: throw new Error(`no reference for ${op}`);
  }
}

/** A loss with `reduction` ('mean' | 'sum' | 'none' | 'batchmean') over same-shaped input and target. */
export function lossRef(op: string, reduction: string, p: Record<string, number> = {}) {
  const l = pointwiseLoss(op, p);
  const scale = (x: Arr) => (reduction === 'mean' ? 1 / x.data.length : reduction === 'batchmean' ? 1 / x.shape[0]! : 1);
  return {
    forward: (x: Arr, t: Arr) => {
      const el = map2(x, t, l.f);
      if (reduction === 'none') return el;
      let s = 0;
      for (const v of el.data) s += v;
      return arr([], [s * scale(x)]);
    },
    grad: (g: Arr, x: Arr, t: Arr) => {
      const gi = (i: number) => (reduction === 'none' ? g.data[i]! : g.data[0]! * scale(x));
      return [map(x, (v, i) => gi(i) * l.dx(v, t.data[i]!)), map(t, (v, i) => gi(i) * l.dt(x.data[i]!, v))];
    },
  };
}
