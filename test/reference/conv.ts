// Float64 reference for conv2d (NCHW, with groups) and convTranspose2d: forward and analytic gradients,
// as plain loops over the definition y[n,co,oh,ow] = b[co] + sum_{cl,kh,kw} x[n,g*Cg+cl,oh*s-p+kh*d,ow*s-p+kw*d] * w[co,cl,kh,kw]
// (g = co / (CO/G) the group of co, Cg = C/G channels per group; w [CO, Cg, KH, KW]). The transposed
// convolution is the adjoint of that map: the same taps with the roles of x and y exchanged.
// The gradients walk the same loops and scatter, so they are right exactly when the forward is.
import { arr, type Arr } from './arr.js';

export interface ConvOpts {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  /** Channel groups (default 1; inferred from x and w: C / w.shape[1]). */
  groups?: number;
}

const two = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;

/** [N, CO, OH, OW] of the result. */
export function outShape(x: Arr, w: Arr, o: ConvOpts): [number, number, number, number] {
  const [N, , H, W] = x.shape as [number, number, number, number];
  const [CO, , KH, KW] = w.shape as [number, number, number, number];
  const [sh, sw] = two(o.stride, 1);
  const [ph, pw] = two(o.padding, 0);
  const [dh, dw] = two(o.dilation, 1);
  return [N, CO, Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1, Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1];
}

/** Visit every (output element, input tap, weight) triple that contributes a product to the convolution. */
function forEachTap(x: Arr, w: Arr, o: ConvOpts, visit: (yi: number, xi: number, wi: number) => void): void {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [CO, Cg, KH, KW] = w.shape as [number, number, number, number];
  const G = C / Cg;
  const COg = CO / G;
  const [sh, sw] = two(o.stride, 1);
  const [ph, pw] = two(o.padding, 0);
  const [dh, dw] = two(o.dilation, 1);
  const [, , OH, OW] = outShape(x, w, o);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < CO; co++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          const yi = ((n * CO + co) * OH + oh) * OW + ow;
          for (let cl = 0; cl < Cg; cl++)
            for (let kh = 0; kh < KH; kh++) {
              const c = Math.floor(co / COg) * Cg + cl;
              const ih = oh * sh - ph + kh * dh;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * sw - pw + kw * dw;
                if (iw < 0 || iw >= W) continue;
                visit(yi, ((n * C + c) * H + ih) * W + iw, ((co * Cg + cl) * KH + kh) * KW + kw);
              }
            }
        }
}

export function conv2dRef(o: ConvOpts = {}) {
  return {
    forward: (x: Arr, w: Arr, b?: Arr): Arr => {
      const [N, CO, OH, OW] = outShape(x, w, o);
      const y = arr([N, CO, OH, OW]);
      if (b) for (let i = 0; i < y.data.length; i++) y.data[i] = b.data[Math.floor(i / (OH * OW)) % CO]!;
      forEachTap(x, w, o, (yi, xi, wi) => (y.data[yi] = y.data[yi]! + x.data[xi]! * w.data[wi]!));
      return y;
    },
    /** Gradients of sum(g * y) with respect to x, w and (when given) b. */
    grad: (g: Arr, x: Arr, w: Arr, b?: Arr): Arr[] => {
      const dx = arr(x.shape);
      const dw = arr(w.shape);
      forEachTap(x, w, o, (yi, xi, wi) => {
        dx.data[xi] = dx.data[xi]! + g.data[yi]! * w.data[wi]!;
        dw.data[wi] = dw.data[wi]! + g.data[yi]! * x.data[xi]!;
      });
      if (!b) return [dx, dw];
      const db = arr(b.shape);
      const [, CO, OH, OW] = g.shape as [number, number, number, number];
      for (let i = 0; i < g.data.length; i++) {
        const co = Math.floor(i / (OH * OW)) % CO;
        db.data[co] = db.data[co]! + g.data[i]!;
      }
      return [dx, dw, db];
    },
  };
}

export interface ConvTransposeOpts extends ConvOpts {
  outputPadding?: number | [number, number];
}

/**
 * convTranspose2d: x [N, Cin, H, W], w [Cin, Cout/G, KH, KW] -> [N, Cout, OH, OW] with
 * OH = (H-1)*s - 2p + d*(KH-1) + outputPadding + 1; groups G = given (default 1).
 */
export function convTranspose2dRef(o: ConvTransposeOpts = {}) {
  const G = o.groups ?? 1;
  const shapeOf = (x: Arr, w: Arr): number[] => {
    const [N, , H, W] = x.shape as [number, number, number, number];
    const [, COg, KH, KW] = w.shape as [number, number, number, number];
    const [sh, sw] = two(o.stride, 1);
    const [ph, pw] = two(o.padding, 0);
    const [dh, dw] = two(o.dilation, 1);
    const [oh, ow] = two(o.outputPadding, 0);
    return [N, COg * G, (H - 1) * sh - 2 * ph + dh * (KH - 1) + oh + 1, (W - 1) * sw - 2 * pw + dw * (KW - 1) + ow + 1];
  };
  // The convolution it transposes maps an array of the result's shape to x's shape with weight w.
  const taps = (x: Arr, w: Arr, visit: (xi: number, yi: number, wi: number) => void): number[] => {
    const shape = shapeOf(x, w);
    forEachTap(arr(shape), w, o, (convOut, convIn, wi) => visit(convOut, convIn, wi));
    return shape;
  };
  return {
    forward: (x: Arr, w: Arr, b?: Arr): Arr => {
      const [N, CO, OH, OW] = shapeOf(x, w) as [number, number, number, number];
      const y = arr([N, CO, OH, OW]);
      if (b) for (let i = 0; i < y.data.length; i++) y.data[i] = b.data[Math.floor(i / (OH * OW)) % CO]!;
      taps(x, w, (xi, yi, wi) => (y.data[yi] = y.data[yi]! + x.data[xi]! * w.data[wi]!));
      return y;
    },
    /** Gradients of sum(g * y) with respect to x, w and (when given) b. */
    grad: (g: Arr, x: Arr, w: Arr, b?: Arr): Arr[] => {
      const dx = arr(x.shape);
      const dw = arr(w.shape);
      taps(x, w, (xi, yi, wi) => {
        dx.data[xi] = dx.data[xi]! + g.data[yi]! * w.data[wi]!;
        dw.data[wi] = dw.data[wi]! + g.data[yi]! * x.data[xi]!;
      });
      if (!b) return [dx, dw];
      const db = arr(b.shape);
      const [, CO, OH, OW] = g.shape as [number, number, number, number];
      for (let i = 0; i < g.data.length; i++) {
        const co = Math.floor(i / (OH * OW)) % CO;
        db.data[co] = db.data[co]! + g.data[i]!;
      }
      return [dx, dw, db];
    },
  };
}
