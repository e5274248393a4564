// Per-task input transforms of domain-incremental scenarios, as GPU batch transforms:
//   permutePixels(perm): the same fixed shuffle of pixel positions for every image (Permuted MNIST);
//     a gather along the pixel axis (indexSelect), no kernel of its own;
//   rotate(degrees):     a rotation about the image centre (Rotated MNIST), nearest or bilinear
//     (src/shaders/rotate.ts).
// Their float64 CPU references are in test/reference/domain-transforms.ts.
// Like the other transforms they are data preparation: outputs carry no gradient.

import { runtime, grid1d, f32bits, EngramError } from '../engine/runtime.js';
import { empty, tensor, type Tensor } from '../engine/tensor.js';
import { isGradEnabled, scope } from '../engine/scope.js';
import { indexSelect, reshape } from '../engine/ops/index.js';
import { shapeStr } from '../engine/shape.js';
import { ROTATE_WGSL } from '../shaders/rotate.js';
import type { GpuTransform, ImageShape } from './transforms.js';

function batchDims(x: Tensor, op: string): [number, number, number, number] {
  if (x.dtype !== 'float32' || x.rank !== 4) throw new EngramError(`${op}: expects a float32 batch [B, C, H, W], got ${x.dtype} of shape ${shapeStr(x.shape)}`);
  if (x.requiresGrad && isGradEnabled()) throw new EngramError(`${op}: transforms carry no gradient, but the input (shape ${shapeStr(x.shape)}) requires one; detach() it first`);
  return x.shape as unknown as [number, number, number, number];
}

/** Check that `perm` is a permutation of 0..n-1 (every index exactly once); returns it as an Int32Array. */
function checkPermutation(perm: ArrayLike<number>, op: string): Int32Array {
  const n = perm.length;
  if (n === 0) throw new EngramError(`${op}: the permutation is empty`);
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = perm[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= n) throw new EngramError(`${op}: entry ${i} is ${v}, not an index in [0, ${n})`);
    if (seen[v]) throw new EngramError(`${op}: index ${v} appears twice; a permutation holds each of 0..${n - 1} once`);
    seen[v] = 1;
  }
  return Int32Array.from(perm);
}

// ------------------------------------------------------------------ permutation

/**
 * Shuffle pixel positions with a fixed permutation of the H*W positions, the same for every image and
 * channel: out[b, c, p] = x[b, c, perm[p]] with p = y * W + x (PyTorch's `x.view(-1)[perm]` per plane, as
 * Avalanche's PermutedMNIST does).
 */
export function permutePixels(perm: ArrayLike<number>): GpuTransform {
  const op = 'permutePixels';
  const p = checkPermutation(perm, op);
  const check = (h: number, w: number): void => {
    if (h * w !== p.length) throw new EngramError(`${op}: a permutation of ${p.length} positions cannot shuffle ${h}x${w} images (${h * w} pixels)`);
  };
  return {
    name: `permutePixels(${p.length})`,
    outputShape(shape) {
      check(shape[1], shape[2]);
      return [...shape];
    },
    apply(x) {
      const [b, c, h, w] = batchDims(x, op);
      check(h, w);
      // The result is a new tensor (indexSelect copies); the index and the views are freed by the scope.
      return scope(() => reshape(indexSelect(reshape(x, [b * c, h * w]), 1, tensor(p, [p.length], { dtype: 'int32' })), [b, c, h, w]));
    },
  };
}

// ------------------------------------------------------------------ rotation

/** How `rotate` samples between pixels. */
export type RotateInterpolation = 'nearest' | 'bilinear';

/** cos and sin of `degrees`, exact (0, ±1) at multiples of 90°. */
export function rotationCosSin(degrees: number): [number, number] {
  if (!Number.isFinite(degrees)) throw new EngramError(`rotate: the angle must be a finite number of degrees, got ${degrees}`);
  const q = degrees / 90;
  if (Number.isInteger(q)) {
    const k = ((q % 4) + 4) % 4;
    return [[1, 0, -1, 0][k]!, [0, 1, 0, -1][k]!];
  }
  const r = (degrees * Math.PI) / 180;
  return [Math.cos(r), Math.sin(r)];
}

/**
 * Rotate each image counter-clockwise by `degrees` about its centre, filling with 0 outside (like
 * torchvision's `rotate(img, angle)` with fill=0 and the same output size). 'nearest' (default: the
 * interpolation of torchvision's RandomRotation, which Avalanche's RotatedMNIST uses) or 'bilinear'.
 * See src/shaders/rotate.ts for the exact sampling.
 */
export function rotate(degrees: number, opts: { interpolation?: RotateInterpolation } = {}): GpuTransform {
  const op = 'rotate';
  const [c, s] = rotationCosSin(degrees);
  const interp = opts.interpolation ?? 'nearest';
  if (interp !== 'nearest' && interp !== 'bilinear') throw new EngramError(`${op}: interpolation must be 'nearest' or 'bilinear', got ${JSON.stringify(interp)}`);
  return {
    name: `rotate(${degrees}, ${interp})`,
    outputShape: (shape: ImageShape) => [...shape],
    apply(x) {
      const [, , h, w] = batchDims(x, op);
      const rt = runtime();
      const k = rt.kernel({ name: 'rotate', wgsl: ROTATE_WGSL, bindings: ['read', 'write'] });
      const out = empty(x.shape);
      if (out.size === 0) return out;
      rt.dispatch(k, [x.buffer, out.buffer], [out.size, h, w, interp === 'nearest' ? 0 : 1, f32bits(c), f32bits(s), f32bits((w - 1) / 2), f32bits((h - 1) / 2)], grid1d(out.size));
      return out;
    },
  };
}
