// Float64 reference for batch normalization over x [N, C, ...]: forward, running-stat update and
// the analytic gradients (training: batch statistics depend on x; eval: running stats are constants).
import { arr, type Arr } from './arr.js';

interface Dims {
  N: number;
  C: number;
  S: number;
}

function dims(x: Arr): Dims {
  const S = x.shape.slice(2).reduce((a, b) => a * b, 1);
  return { N: x.shape[0]!, C: x.shape[1]!, S };
}

/** Visit every element of channel c: f(linear index). */
function eachInChannel(d: Dims, c: number, f: (i: number) => void): void {
  for (let n = 0; n < d.N; n++) for (let s = 0; s < d.S; s++) f((n * d.C + c) * d.S + s);
}

/** Per-channel mean and biased variance. */
export function channelStats(x: Arr): { mean: number[]; variance: number[] } {
  const d = dims(x);
  const count = d.N * d.S;
  const mean: number[] = [];
  const variance: number[] = [];
  for (let c = 0; c < d.C; c++) {
    let s = 0;
    eachInChannel(d, c, (i) => (s += x.data[i]!));
    const m = s / count;
    let v = 0;
    eachInChannel(d, c, (i) => (v += (x.data[i]! - m) ** 2));
    mean.push(m);
    variance.push(v / count);
  }
  return { mean, variance };
}

export interface BNRefOptions {
  training: boolean;
  eps?: number;
  momentum?: number;
}

/** The mean and variance used to normalize: the batch's in training, the running ones in eval. */
function usedStats(x: Arr, rm: Arr | null, rv: Arr | null, o: BNRefOptions): { mean: number[]; variance: number[] } {
  if (o.training) return channelStats(x);
  return { mean: [...rm!.data], variance: [...rv!.data] };
}

export function batchNormForward(x: Arr, rm: Arr | null, rv: Arr | null, w: Arr | null, b: Arr | null, o: BNRefOptions): Arr {
  const d = dims(x);
  const eps = o.eps ?? 1e-5;
  const { mean, variance } = usedStats(x, rm, rv, o);
  const y = arr(x.shape);
  for (let c = 0; c < d.C; c++) {
    const invstd = 1 / Math.sqrt(variance[c]! + eps);
    eachInChannel(d, c, (i) => {
      const xhat = (x.data[i]! - mean[c]!) * invstd;
      y.data[i] = w && b ? xhat * w.data[c]! + b.data[c]! : xhat;
    });
  }
  return y;
}

/** Running stats after one training step: (1 - m) * old + m * batch (unbiased variance). */
export function updatedRunningStats(x: Arr, rm: Arr, rv: Arr, momentum = 0.1): [Arr, Arr] {
  const d = dims(x);
  const count = d.N * d.S;
  const { mean, variance } = channelStats(x);
  const nm = arr([d.C]);
  const nv = arr([d.C]);
  for (let c = 0; c < d.C; c++) {
    nm.data[c] = (1 - momentum) * rm.data[c]! + momentum * mean[c]!;
    nv.data[c] = (1 - momentum) * rv.data[c]! + momentum * variance[c]! * (count / (count - 1));
  }
  return [nm, nv];
}

/** Gradients [dx, dweight, dbias] (dweight/dbias null without affine). */
export function batchNormGrad(g: Arr, x: Arr, rm: Arr | null, rv: Arr | null, w: Arr | null, o: BNRefOptions): [Arr, Arr | null, Arr | null] {
  const d = dims(x);
  const count = d.N * d.S;
  const eps = o.eps ?? 1e-5;
  const { mean, variance } = usedStats(x, rm, rv, o);
  const dx = arr(x.shape);
  const dw = arr([d.C]);
  const db = arr([d.C]);
  for (let c = 0; c < d.C; c++) {
    const invstd = 1 / Math.sqrt(variance[c]! + eps);
    const wc = w ? w.data[c]! : 1;
    let sumG = 0;
    let sumGX = 0;
    eachInChannel(d, c, (i) => {
      sumG += g.data[i]!;
      sumGX += g.data[i]! * (x.data[i]! - mean[c]!) * invstd;
    });
    dw.data[c] = sumGX;
    db.data[c] = sumG;
    eachInChannel(d, c, (i) => {
      const xhat = (x.data[i]! - mean[c]!) * invstd;
      dx.data[i] = o.training
        ? ((wc * invstd) / count) * (count * g.data[i]! - sumG - xhat * sumGX)
        : g.data[i]! * wc * invstd;
    });
  }
  return [dx, w ? dw : null, w ? db : null];
}
