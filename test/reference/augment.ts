// Float64 references for the contrastive augmentations (src/data/augment.ts) on NCHW batches: the
// same draws from the same Generator, then plain loops in float64.

import type { Generator } from '../../src/index.js';
import { arr, type Arr } from './arr.js';

const GRAY_W = [0.2989, 0.587, 0.114];

/** Python's round(): halves to even. */
function pyRound(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision RandomResizedCrop.get_params, drawn as augment.ts documents. */
export function resizedCropWindowRef(gen: Generator, h: number, w: number, scale: [number, number], ratio: [number, number]): [number, number, number, number] {
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = h * w * (scale[0] + (scale[1] - scale[0]) * gen.next());
    const logR = Math.log(ratio[0]) + (Math.log(ratio[1]) - Math.log(ratio[0])) * gen.next();
    const cw = pyRound(Math.sqrt(targetArea * Math.exp(logR)));
    const ch = pyRound(Math.sqrt(targetArea / Math.exp(logR)));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
      const top = gen.int(h - ch + 1);
      const left = gen.int(w - cw + 1);
      return [top, left, ch, cw];
    }
  }
  let cw = w;
  let ch = h;
  if (w / h < ratio[0]) ch = pyRound(w / ratio[0]);
  else if (w / h > ratio[1]) cw = pyRound(h * ratio[1]);
  return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
}

/** Crop each image to its window, then F.interpolate(bilinear, align_corners=False) to oh x ow. */
export function randomResizedCropRef(x: Arr, oh: number, ow: number, scale: [number, number], ratio: [number, number], gen: Generator): Arr {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const out = arr([b, c, oh, ow]);
  const source = (dst: number, inSize: number, outSize: number): [number, number, number] => {
    const src = Math.max((dst + 0.5) * (inSize / outSize) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    return [i0, Math.min(i0 + 1, inSize - 1), src - i0];
  };
  for (let n = 0; n < b; n++) {
    const [top, left, ch, cw] = resizedCropWindowRef(gen, h, w, scale, ratio);
    for (let k = 0; k < c; k++) {
      const at = (yy: number, xx: number) => x.data[((n * c + k) * h + top + yy) * w + left + xx]!;
      for (let yy = 0; yy < oh; yy++) {
        const [y0, y1, ly] = source(yy, ch, oh);
        for (let xx = 0; xx < ow; xx++) {
          const [x0, x1, lx] = source(xx, cw, ow);
          const t = (1 - lx) * at(y0, x0) + lx * at(y0, x1);
          const d = (1 - lx) * at(y1, x0) + lx * at(y1, x1);
          out.data[((n * c + k) * oh + yy) * ow + xx] = (1 - ly) * t + ly * d;
        }
      }
    }
  }
  return out;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** Gray value of pixel p of image n (the value itself for 1 channel). */
function gray(x: Arr, n: number, p: number): number {
  const [, c, h, w] = x.shape as [number, number, number, number];
  const hw = h * w;
  if (c === 1) return x.data[n * hw + p]!;
  let g = 0;
  for (let k = 0; k < 3; k++) g += GRAY_W[k]! * x.data[(n * 3 + k) * hw + p]!;
  return g;
}

/** torchvision's adjust_brightness / adjust_contrast / adjust_saturation on image n of x, in place into out. */
function adjust(x: Arr, out: Arr, n: number, op: number, f: number): void {
  const [, c, h, w] = x.shape as [number, number, number, number];
  const hw = h * w;
  let mean = 0;
  if (op === 1) {
    for (let p = 0; p < hw; p++) mean += gray(x, n, p);
    mean /= hw;
  }
  for (let k = 0; k < c; k++) {
    for (let p = 0; p < hw; p++) {
      const i = (n * c + k) * hw + p;
      const v = x.data[i]!;
      if (op === 0) out.data[i] = clamp01(f * v);
      else if (op === 1) out.data[i] = clamp01(f * v + (1 - f) * mean);
      else out.data[i] = c === 3 ? clamp01(f * v + (1 - f) * gray(x, n, p)) : v;
    }
  }
}

/** colorJitter(brightness, contrast, saturation, {p}) with the draws augment.ts documents. */
export function colorJitterRef(x: Arr, amounts: [number, number, number], p: number, gen: Generator): Arr {
  const b = x.shape[0]!;
  const order = gen.permutation(3);
  const on: boolean[] = [];
  const factors: number[][] = [];
  for (let n = 0; n < b; n++) {
    on.push(gen.next() < p);
    factors.push(amounts.map((a) => (a === 0 ? 1 : Math.max(0, 1 - a) + (1 + a - Math.max(0, 1 - a)) * gen.next())));
  }
  let cur = arr(x.shape, x.data);
  for (const op of order) {
    if (amounts[op] === 0) continue;
    const next = arr(cur.shape, cur.data);
    for (let n = 0; n < b; n++) if (on[n]) adjust(cur, next, n, op, Math.fround(factors[n]![op]!));
    cur = next;
  }
  return cur;
}

/** RandomGrayscale(p): images drawn (gen.next() < p) become gray in all 3 channels; 1 channel: unchanged. */
export function randomGrayscaleRef(x: Arr, p: number, gen: Generator): Arr {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const hw = h * w;
  const out = arr(x.shape, x.data);
  for (let n = 0; n < b; n++) {
    if (!(gen.next() < p) || c !== 3) continue;
    for (let q = 0; q < hw; q++) {
      const g = gray(x, n, q);
      for (let k = 0; k < 3; k++) out.data[(n * 3 + k) * hw + q] = g;
    }
  }
  return out;
}
