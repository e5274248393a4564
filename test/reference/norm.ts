// Float64 reference for layerNorm and groupNorm: forward and analytic gradients. Both normalize
// contiguous rows of x (layerNorm: the last D = prod(normalizedShape) elements; groupNorm: the
// (C / G) * S elements of one group of one sample) with the row's mean and biased variance; the
// affine weight/bias of element i is at index affineIndex(i).
import { arr, type Arr } from './arr.js';

interface Layout {
  R: number;
  D: number;
  /** Index into weight/bias of element i. */
  affine: (i: number) => number;
  affineSize: number;
}

function layerLayout(x: Arr, normalizedShape: number[]): Layout {
  const D = normalizedShape.reduce((a, b) => a * b, 1);
  return { R: x.data.length / D, D, affine: (i) => i % D, affineSize: D };
}

function groupLayout(x: Arr, G: number): Layout {
  const C = x.shape[1]!;
  const S = x.shape.slice(2).reduce((a, b) => a * b, 1);
  return { R: x.shape[0]! * G, D: (C / G) * S, affine: (i) => Math.floor(i / S) % C, affineSize: C };
}

function rowStats(x: Arr, L: Layout, eps: number): { mean: number[]; invstd: number[] } {
  const mean: number[] = [];
  const invstd: number[] = [];
  for (let r = 0; r < L.R; r++) {
    let s = 0;
    for (let k = 0; k < L.D; k++) s += x.data[r * L.D + k]!;
    const m = s / L.D;
    let v = 0;
    for (let k = 0; k < L.D; k++) v += (x.data[r * L.D + k]! - m) ** 2;
    mean.push(m);
    invstd.push(1 / Math.sqrt(v / L.D + eps));
  }
  return { mean, invstd };
}

function forward(x: Arr, L: Layout, w: Arr | null, b: Arr | null, eps: number): Arr {
  const { mean, invstd } = rowStats(x, L, eps);
  const y = arr(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const r = Math.floor(i / L.D);
    const a = L.affine(i);
    const xhat = (x.data[i]! - mean[r]!) * invstd[r]!;
    y.data[i] = xhat * (w ? w.data[a]! : 1) + (b ? b.data[a]! : 0);
  }
  return y;
}

/** [dx, dweight, dbias] of sum(g * y) (dweight/dbias shaped like `affineShape`). */
function grad(g: Arr, x: Arr, L: Layout, w: Arr | null, eps: number, affineShape: number[]): [Arr, Arr, Arr] {
  const { mean, invstd } = rowStats(x, L, eps);
  const dx = arr(x.shape);
  const dw = arr(affineShape);
  const db = arr(affineShape);
  for (let r = 0; r < L.R; r++) {
    let sg = 0;
    let sgx = 0;
    for (let k = 0; k < L.D; k++) {
      const i = r * L.D + k;
      const xhat = (x.data[i]! - mean[r]!) * invstd[r]!;
      const gw = g.data[i]! * (w ? w.data[L.affine(i)]! : 1);
      sg += gw;
      sgx += gw * xhat;
      dw.data[L.affine(i)]! += g.data[i]! * xhat;
      db.data[L.affine(i)]! += g.data[i]!;
    }
    for (let k = 0; k < L.D; k++) {
      const i = r * L.D + k;
      const xhat = (x.data[i]! - mean[r]!) * invstd[r]!;
      const gw = g.data[i]! * (w ? w.data[L.affine(i)]! : 1);
      dx.data[i] = invstd[r]! * (gw - sg / L.D - (xhat * sgx) / L.D);
    }
  }
  return [dx, dw, db];
}

export function layerNormForward(x: Arr, normalizedShape: number[], w: Arr | null, b: Arr | null, eps = 1e-5): Arr {
  return forward(x, layerLayout(x, normalizedShape), w, b, eps);
}

export function layerNormGrad(g: Arr, x: Arr, normalizedShape: number[], w: Arr | null, eps = 1e-5): [Arr, Arr, Arr] {
  return grad(g, x, layerLayout(x, normalizedShape), w, eps, normalizedShape);
}

export function groupNormForward(x: Arr, G: number, w: Arr | null, b: Arr | null, eps = 1e-5): Arr {
  return forward(x, groupLayout(x, G), w, b, eps);
}

export function groupNormGrad(g: Arr, x: Arr, G: number, w: Arr | null, eps = 1e-5): [Arr, Arr, Arr] {
  return grad(g, x, groupLayout(x, G), w, eps, [x.shape[1]!]);
}
