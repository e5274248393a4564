// Downscaled exemplars: an image [C, H, W] is stored at [C, ceil(H/f), ceil(W/f)] (each f x f block
// replaced by the mean of its pixels, a partial block at the right or bottom edge by the mean of the
// pixels it has), in any store format, and resized back to [C, H, W] when it is read: on the GPU
// for replay batches (`upsampleGpu`), on the CPU for `decode` (`upsampleCPU`, float64 arithmetic:
// the reference of the GPU path). A factor of 2 stores a quarter of the values, so the same bytes
// hold about four times the exemplars, at the price of the image's fine detail.
//
// Modes: 'bilinear' is F.interpolate(size=(H, W), mode='bilinear', align_corners=False) of the small
// image (transforms.ts's resize kernel); 'nearest' gives every pixel its block's mean (block
// replication, which is PyTorch's 'nearest' when f divides H and W).

import { EngramError, grid1d, runtime } from '../../engine/runtime.js';
import { empty, type Tensor } from '../../engine/tensor.js';
import { shapeStr } from '../../engine/shape.js';
import { resize } from '../../data/transforms.js';
import { UPSAMPLE_BLOCK_WGSL } from '../../shaders/upsample.js';
import type { RawValues } from './codecs.js';

/** How a downscaled exemplar is resized back: bilinear interpolation or block replication. */
export type UpsampleMode = 'bilinear' | 'nearest';

/** [C, ceil(H / f), ceil(W / f)] for an image shape [C, H, W]; checks the factor and the shape. */
export function downscaledShape(shape: readonly number[], factor: number): [number, number, number] {
  if (!Number.isInteger(factor) || factor < 1) throw new EngramError(`ExemplarStore: downscale must be an integer factor >= 1, got ${factor}`);
  if (shape.length !== 3) throw new EngramError(`ExemplarStore: downscale needs image exemplars [C, H, W], got shape ${shapeStr(shape)}`);
  const [c, h, w] = shape as [number, number, number];
  return [c, Math.ceil(h / factor), Math.ceil(w / factor)];
}

/** Block means of one image [C, H, W] (8-bit pixels p count as p / 255), accumulated in float64. */
export function downsampleArea(values: RawValues, shape: readonly number[], factor: number): Float32Array {
  const [c, h, w] = shape as [number, number, number];
  const [, sh, sw] = downscaledShape(shape, factor);
  const scale = values instanceof Uint8Array ? 1 / 255 : 1;
  const out = new Float32Array(c * sh * sw);
  for (let k = 0; k < c; k++) {
    for (let by = 0; by < sh; by++) {
      for (let bx = 0; bx < sw; bx++) {
        let sum = 0;
        let n = 0;
        for (let y = by * factor; y < Math.min(h, (by + 1) * factor); y++) {
          for (let x = bx * factor; x < Math.min(w, (bx + 1) * factor); x++) {
            sum += values[(k * h + y) * w + x]! * scale;
            n++;
          }
        }
        out[(k * sh + by) * sw + bx] = sum / n;
      }
    }
  }
  return out;
}

/** The small image resized back to `shape` [C, H, W] on the CPU, in float64 arithmetic, into `out`. */
export function upsampleCPU(small: Float32Array, shape: readonly number[], factor: number, mode: UpsampleMode, out: Float32Array): Float32Array {
  const [c, h, w] = shape as [number, number, number];
  const [, sh, sw] = downscaledShape(shape, factor);
  const at = (k: number, y: number, x: number) => small[(k * sh + y) * sw + x]!;
  // F.interpolate's source coordinate for align_corners=False: (dst + 0.5) * in / out - 0.5, >= 0.
  const source = (dst: number, inSize: number, outSize: number): [number, number, number] => {
    const src = Math.max((dst + 0.5) * (inSize / outSize) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    return [i0, Math.min(i0 + 1, inSize - 1), src - i0];
  };
  for (let k = 0; k < c; k++) {
    for (let y = 0; y < h; y++) {
      const [y0, y1, ly] = source(y, sh, h);
      for (let x = 0; x < w; x++) {
        let v: number;
        if (mode === 'nearest') {
          v = at(k, Math.floor(y / factor), Math.floor(x / factor));
        } else {
          const [x0, x1, lx] = source(x, sw, w);
          const top = (1 - lx) * at(k, y0, x0) + lx * at(k, y0, x1);
          const bottom = (1 - lx) * at(k, y1, x0) + lx * at(k, y1, x1);
          v = (1 - ly) * top + ly * bottom;
        }
        out[(k * h + y) * w + x] = v;
      }
    }
  }
  return out;
}

/** A batch of small images [k, C, h, w] resized back to [k, ...shape] on the GPU (a new tensor). */
export function upsampleGpu(x: Tensor, shape: readonly number[], factor: number, mode: UpsampleMode): Tensor {
  const [c, h, w] = shape as [number, number, number];
  const [, sh, sw] = downscaledShape(shape, factor);
  const k = x.shape[0]!;
  if (x.rank !== 4 || x.shape[1] !== c || x.shape[2] !== sh || x.shape[3] !== sw) {
    throw new EngramError(`upsampleGpu: expects [k, ${c}, ${sh}, ${sw}] for images ${shapeStr(shape)} downscaled by ${factor}, got ${shapeStr(x.shape)}`);
  }
  if (mode === 'bilinear') return resize(h, w).apply(x);
  const rt = runtime();
  const kernel = rt.kernel({ name: 'upsampleBlock', wgsl: UPSAMPLE_BLOCK_WGSL, bindings: ['read', 'write'] });
  const out = empty([k, c, h, w]);
  rt.dispatch(kernel, [x.buffer, out.buffer], [out.size, sh, sw, h, w, factor], grid1d(out.size));
  return out;
}
