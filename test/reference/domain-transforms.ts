// float64 references of the domain-incremental transforms (src/data/domain-transforms.ts).
import { rotationCosSin, type RotateInterpolation } from '../../src/data/domain-transforms.js';

/** float64 reference of `permutePixels`: images [B, C, H, W] flattened, `perm` over the H*W positions. */
export function permuteReference(x: ArrayLike<number>, shape: readonly [number, number, number, number], perm: ArrayLike<number>): Float64Array {
  const [b, c, h, w] = shape;
  const hw = h * w;
  if (perm.length !== hw) throw new Error(`permuteReference: ${perm.length} positions for ${h}x${w} images`);
  if (x.length !== b * c * hw) throw new Error(`permuteReference: ${x.length} values for shape [${shape.join(', ')}]`);
  const out = new Float64Array(x.length);
  for (let plane = 0; plane < b * c; plane++) for (let q = 0; q < hw; q++) out[plane * hw + q] = x[plane * hw + perm[q]!]!;
  return out;
}

/**
 * float64 reference of `rotate` on images [B, C, H, W] (flattened): the same sampling as the kernel,
 * in float64 (cos and sin as the kernel gets them: exact at multiples of 90°).
 */
export function rotateReference(x: ArrayLike<number>, shape: readonly [number, number, number, number], degrees: number, interpolation: RotateInterpolation = 'nearest'): Float64Array {
  const [b, ch, h, w] = shape;
  if (x.length !== b * ch * h * w) throw new Error(`rotateReference: ${x.length} values for shape [${shape.join(', ')}]`);
  const [c, s] = rotationCosSin(degrees);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const out = new Float64Array(x.length);
  for (let plane = 0; plane < b * ch; plane++) {
    const base = plane * h * w;
    const tap = (yy: number, xx: number): number => (yy < 0 || yy >= h || xx < 0 || xx >= w ? 0 : x[base + yy * w + xx]!);
    for (let y = 0; y < h; y++) {
      for (let xo = 0; xo < w; xo++) {
        const dx = xo - cx;
        const dy = y - cy;
        const sx = cx + c * dx - s * dy;
        const sy = cy + s * dx + c * dy;
        let v: number;
        if (interpolation === 'nearest') v = tap(Math.floor(sy + 0.5), Math.floor(sx + 0.5));
        else {
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          const lx = sx - x0;
          const ly = sy - y0;
          v = (1 - ly) * ((1 - lx) * tap(y0, x0) + lx * tap(y0, x0 + 1)) + ly * ((1 - lx) * tap(y0 + 1, x0) + lx * tap(y0 + 1, x0 + 1));
        }
        out[base + y * w + xo] = v;
      }
    }
  }
  return out;
}
