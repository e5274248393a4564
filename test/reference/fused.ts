// Float64 reference for fused elementwise chains: the same chain function, run per output element on
// dual numbers (value and derivative with respect to one chosen input) whose ops come from the
// elementwise reference table. Forward mode on scalars: independent of the GPU's reverse mode.
import { unary, binary } from './elementwise.js';
import { arr, at, broadcastShape, sumTo, unravel, type Arr } from './arr.js';

/** A float64 value and its derivative with respect to the input being differentiated. */
export class Dual {
  constructor(readonly v: number, readonly d = 0) {}

  private un(op: string, a = 0): Dual {
    const u = unary[op]!;
    return new Dual(u.f(this.v, a), u.df(this.v, a) * this.d);
  }

  private bin(op: string, o: Dual): Dual {
    const b = binary[op]!;
    return new Dual(b.f(this.v, o.v), b.da(this.v, o.v) * this.d + b.db(this.v, o.v) * o.d);
  }

  // Number operands as the engine treats them: sub(n) is addScalar(-n).
  add(o: Dual | number): Dual { return typeof o === 'number' ? this.un('addScalar', o) : this.bin('add', o); }
  sub(o: Dual | number): Dual { return typeof o === 'number' ? this.un('addScalar', -o) : this.bin('sub', o); }
  mul(o: Dual | number): Dual { return typeof o === 'number' ? this.un('mulScalar', o) : this.bin('mul', o); }
  div(o: Dual | number): Dual { return typeof o === 'number' ? this.un('divScalar', o) : this.bin('div', o); }
  maximum(o: Dual | number): Dual { return this.bin('maximum', typeof o === 'number' ? new Dual(o) : o); }
  minimum(o: Dual | number): Dual { return this.bin('minimum', typeof o === 'number' ? new Dual(o) : o); }
  neg(): Dual { return this.un('neg'); }
  exp(): Dual { return this.un('exp'); }
  log(): Dual { return this.un('log'); }
  sqrt(): Dual { return this.un('sqrt'); }
  relu(): Dual { return this.un('relu'); }
  abs(): Dual { return this.un('abs'); }
  sigmoid(): Dual { return this.un('sigmoid'); }
  tanh(): Dual { return this.un('tanh'); }
  pow(p: number): Dual { return this.un('pow', p); }
}

/** A chain written against the op methods, callable on Tensors, traced values and Duals alike. */
export type Chain<T> = (...xs: T[]) => T;

/** Reference forward and vector-Jacobian product of an elementwise chain over broadcast inputs. */
export function chainRef(chain: Chain<Dual>) {
  const evalAt = (xs: Arr[], seed: number) => {
    const shape = xs.map((x) => x.shape).reduce((s, t) => broadcastShape(s, t), [] as number[]);
    const value = arr(shape);
    const deriv = arr(shape);
    for (let i = 0; i < value.data.length; i++) {
      const c = unravel(i, shape);
      const y = chain(...xs.map((x, k) => new Dual(at(x, c), k === seed ? 1 : 0)));
      value.data[i] = y.v;
      deriv.data[i] = y.d;
    }
    return { value, deriv };
  };
  return {
    forward: (...xs: Arr[]): Arr => evalAt(xs, -1).value,
    grad: (g: Arr, ...xs: Arr[]): Arr[] =>
      xs.map((x, k) => {
        const { deriv } = evalAt(xs, k);
        for (let i = 0; i < deriv.data.length; i++) deriv.data[i] = deriv.data[i]! * g.data[i]!;
        return sumTo(deriv, x.shape);
      }),
  };
}
