// Float64 references for the elementwise ops: forward and analytic gradient.
import { map, map2, sumTo, broadcastShape, arr, unravel, at, type Arr } from './arr.js';

type Unary = { f: (x: number, a: number) => number; df: (x: number, a: number) => number };

export const unary: Record<string, Unary> = {
  neg: { f: (x) => -x, df: () => -1 },
  exp: { f: (x) => Math.exp(x), df: (x) => Math.exp(x) },
  log: { f: (x) => Math.log(x), df: (x) => 1 / x },
  sqrt: { f: (x) => Math.sqrt(x), df: (x) => 0.5 / Math.sqrt(x) },
  relu: { f: (x) => Math.max(x, 0), df: (x) => (x > 0 ? 1 : 0) },
  abs: { f: (x) => Math.abs(x), df: (x) => Math.sign(x) },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), df: (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); } },
  tanh: { f: (x) => Math.tanh(x), df: (x) => 1 - Math.tanh(x) ** 2 },
  pow: { f: (x, a) => x ** a, df: (x, a) => a * x ** (a - 1) },
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

type Binary = { f: (a: number, b: number) => number; da: (a: number, b: number) => number; db: (a: number, b: number) => number };
export const binary: Record<string, Binary> = {
  add: { f: (a, b) => a + b, da: () => 1, db: () => 1 },
  sub: { f: (a, b) => a - b, da: () => 1, db: () => -1 },
  mul: { f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a },
  div: { f: (a, b) => a / b, da: (_a, b) => 1 / b, db: (a, b) => -a / (b * b) },
  maximum: { f: (a, b) => Math.max(a, b), da: (a, b) => (a >= b ? 1 : 0), db: (a, b) => (a < b ? 1 : 0) },
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
