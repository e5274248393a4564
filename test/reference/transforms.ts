// Float64 references for the data pipeline: uint8 -> pixels/255 and the image transforms, on NCHW
// batches. Random transforms draw from a Generator in the order src/data/transforms.ts documents,
// so a same-seeded Generator gives the same crops and flips as the GPU.

import type { Generator } from '../../src/index.js';
import { arr, type Arr } from './arr.js';

/** pixels / 255 as an Arr of `shape`. */
export function pixelsRef(pixels: ArrayLike<number>, shape: number[]): Arr {
  const out = arr(shape);
  for (let i = 0; i < pixels.length; i++) out.data[i] = pixels[i]! / 255;
  return out;
}

export function normalizeRef(x: Arr, mean: number[], std: number[]): Arr {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const out = arr(x.shape);
  for (let n = 0; n < b; n++) {
    for (let k = 0; k < c; k++) {
      const m = mean.length === 1 ? mean[0]! : mean[k]!;
      const s = std.length === 1 ? std[0]! : std[k]!;
      for (let i = 0; i < h * w; i++) {
        const j = (n * c + k) * h * w + i;
        out.data[j] = (x.data[j]! - m) / s;
      }
    }
  }
  return out;
}

/** Value of x[n, k, y, x] in the image padded by zeros (0 outside). */
function padded(x: Arr, n: number, k: number, yy: number, xx: number): number {
  const [, c, h, w] = x.shape as [number, number, number, number];
  if (yy < 0 || yy >= h || xx < 0 || xx >= w) return 0;
  return x.data[((n * c + k) * h + yy) * w + xx]!;
}

/** torchvision RandomCrop([ch, cw], padding): zero-pad, then a window at a random offset per image. */
export function randomCropRef(x: Arr, ch: number, cw: number, padding: number, gen: Generator): Arr {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const out = arr([b, c, ch, cw]);
  for (let n = 0; n < b; n++) {
    const top = gen.int(h + 2 * padding - ch + 1);
    const left = gen.int(w + 2 * padding - cw + 1);
    for (let k = 0; k < c; k++) {
      for (let yy = 0; yy < ch; yy++) {
        for (let xx = 0; xx < cw; xx++) {
          out.data[((n * c + k) * ch + yy) * cw + xx] = padded(x, n, k, top + yy - padding, left + xx - padding);
        }
      }
    }
  }
  return out;
}

/** torchvision RandomHorizontalFlip(p): each image mirrored left-right when gen.next() < p. */
export function randomHorizontalFlipRef(x: Arr, p: number, gen: Generator): Arr {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const out = arr(x.shape);
  for (let n = 0; n < b; n++) {
    const flip = gen.next() < p;
    for (let k = 0; k < c; k++) {
      for (let yy = 0; yy < h; yy++) {
        for (let xx = 0; xx < w; xx++) {
          out.data[((n * c + k) * h + yy) * w + xx] = padded(x, n, k, yy, flip ? w - 1 - xx : xx);
        }
      }
    }
  }
  return out;
}

/**
 * F.interpolate(x, size=(oh, ow), mode='bilinear', align_corners=False), no antialiasing: output
 * pixel centres map back to src = (dst + 0.5) * in/out - 0.5, clamped at 0; the two neighbours
 * floor(src) and floor(src)+1 (clamped to the edge) are blended linearly, per axis.
 */
export function resizeBilinearRef(x: Arr, oh: number, ow: number): Arr {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const out = arr([b, c, oh, ow]);
  const source = (dst: number, inSize: number, outSize: number): [number, number, number] => {
    const src = Math.max((dst + 0.5) * (inSize / outSize) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    return [i0, i1, src - i0];
  };
  for (let n = 0; n < b; n++) {
    for (let k = 0; k < c; k++) {
      for (let yy = 0; yy < oh; yy++) {
        const [y0, y1, ly] = source(yy, h, oh);
        for (let xx = 0; xx < ow; xx++) {
          const [x0, x1, lx] = source(xx, w, ow);
          const top = (1 - lx) * padded(x, n, k, y0, x0) + lx * padded(x, n, k, y0, x1);
          const bottom = (1 - lx) * padded(x, n, k, y1, x0) + lx * padded(x, n, k, y1, x1);
          out.data[((n * c + k) * oh + yy) * ow + xx] = (1 - ly) * top + ly * bottom;
        }
      }
    }
  }
  return out;
}
