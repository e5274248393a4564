// Float64 references for the elementwise ops: forward and analytic gradient.
import { map, map2, sumTo, broadcastShape, arr, unravel, at, type Arr } from './arr.js';

type Unary = { f: (x: number, a: number) => number; df: (x: number, a: number) => number };

export const unary: Record<string, Unary> = {
  neg: { f: (x) => -x, df: () => -1 },
  exp: { f: (x) => Math.exp(x), df: (x) => Math.exp(x) },
  log: { f: (x) => Math.log(x), df: (x) => 1 / x },
  sqrt: { f: (x) => Math.sqrt(x), df: (x) => 0.5 / Math.sqrt(x) },
  // PyTorch's threshold_backward: 0 where x <= 0, so a NaN input passes its gradient.
  relu: { f: (x) => Math.max(x, 0), df: (x) => (x <= 0 ? 0 : 1) },
  abs: { f: (x) => Math.abs(x), df: (x) => Math.sign(x) },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), df: (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); } },
  tanh: { f: (x) => Math.tanh(x), df: (x) => 1 - Math.tanh(x) ** 2 },
  // PyTorch's pow backward is exactly 0 for a zero exponent (even at x = 0 or NaN).
  pow: { f: (x, a) => x ** a, df: (x, a) => (a === 0 ? 0 : a * x ** (a - 1)) },
  addScalar: { f: (x, a) => x + a, df: () => 1 },
  mulScalar: { f: (x, a) => x * a, df: (_x, a) => a },
  divScalar: { f: (x, a) => x / a, df: (_x, a) => 1 / a },
};

export function unaryRef(op: string, a = 0) {
  const u = unary[op]!;
  return {
    forward: (x: Arr) => map(x, (v) => u.f(v, a)),
    grad: (g: Arr, x: Arr) => [map(x, (v, i) => g.data[i]! * u.df(v, a))],
  };
}

/** d max(a, b) / da: 1 where a wins or either is NaN, 0.5 on a tie, 0 where b wins. */
function minmaxGrad(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return 1;
  return a === b ? 0.5 : a > b ? 1 : 0;
}

type Binary = { f: (a: number, b: number) => number; da: (a: number, b: number) => number; db: (a: number, b: number) => number };
export const binary: Record<string, Binary> = {
  add: { f: (a, b) => a + b, da: () => 1, db: () => 1 },
  sub: { f: (a, b) => a - b, da: () => 1, db: () => -1 },
  mul: { f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a },
  div: { f: (a, b) => a / b, da: (_a, b) => 1 / b, db: (a, b) => -a / (b * b) },
  // torch.maximum/minimum: NaN wins (Math.max/min propagate it), and on a tie each operand gets half
  // the gradient (which is also what a central difference gives there); a NaN passes g to both.
  maximum: { f: (a, b) => Math.max(a, b), da: (a, b) => minmaxGrad(a, b), db: (a, b) => minmaxGrad(b, a) },
  minimum: { f: (a, b) => Math.min(a, b), da: (a, b) => minmaxGrad(b, a), db: (a, b) => minmaxGrad(a, b) },
};

export function binaryRef(op: string) {
  const o = binary[op]!;
  return {
    forward: (a: Arr, b: Arr) => map2(a, b, o.f),
    grad: (g: Arr, a: Arr, b: Arr) => {
      const shape = broadcastShape(a.shape, b.shape);
      const ga = arr(shape);
      const gb = arr(shape);
      for (let i = 0; i < g.data.length; i++) {
        const c = unravel(i, shape);
        const x = at(a, c);
        const y = at(b, c);
        ga.data[i] = g.data[i]! * o.da(x, y);
        gb.data[i] = g.data[i]! * o.db(x, y);
      }
      return [sumTo(ga, a.shape), sumTo(gb, b.shape)];
    },
  };
}
