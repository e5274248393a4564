// GPU augmentations of contrastive learning (SimCLR, SupCon, SCR), after torchvision.transforms:
// randomResizedCrop, colorJitter (brightness, contrast, saturation) and randomGrayscale. With
// randomHorizontalFlip (transforms.ts) they are SCR's four augmentations. Kernels: src/shaders/augment.ts.
//
// As in transforms.ts, every random choice is drawn on the CPU from a seeded Generator, in the order
// each function documents, and uploaded as a small per-image array; the outputs carry no gradient.
//
// Colour operations follow torchvision's definitions on float images in [0, 1] (each result clamped
// to [0, 1]; gray = 0.2989 R + 0.587 G + 0.114 B) and need 1 or 3 channels. On a 1-channel image,
// brightness and contrast apply, while saturation and grayscale leave it unchanged (it is gray
// already), as torchvision does. Factors are drawn per image (kornia's batch convention, which
// SCR's code uses; torchvision draws one set per call). Hue jitter is not implemented.

import { runtime, grid1d, EngramError } from '../engine/runtime.js';
import { empty, tensor, type Tensor } from '../engine/tensor.js';
import { isGradEnabled } from '../engine/scope.js';
import { defaultGenerator, type Generator } from '../engine/random.js';
import { shapeStr } from '../engine/shape.js';
import { RESIZED_CROP_WGSL, GRAY_MEAN_WGSL, COLOR_JITTER_WGSL, GRAYSCALE_WGSL } from '../shaders/augment.js';
import type { GpuTransform } from './transforms.js';

function batchDims(x: Tensor, op: string): [number, number, number, number] {
  if (x.dtype !== 'float32' || x.rank !== 4) {
    throw new EngramError(`${op}: expects a float32 batch [B, C, H, W], got ${x.dtype} of shape ${shapeStr(x.shape)}`);
  }
  if (x.requiresGrad && isGradEnabled()) {
    throw new EngramError(`${op}: transforms carry no gradient, but the input (shape ${shapeStr(x.shape)}) requires one; detach() it first`);
  }
  return x.shape as unknown as [number, number, number, number];
}

function colorChannels(c: number, op: string): void {
  if (c !== 1 && c !== 3) throw new EngramError(`${op}: colour operations need 1 (gray) or 3 (RGB) channels, got ${c}`);
}

function range(v: unknown, what: string, op: string): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((a) => typeof a === 'number' && Number.isFinite(a) && a > 0) || v[0] > v[1]) {
    throw new EngramError(`${op}: ${what} must be [low, high] with 0 < low <= high, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

/** Python's round(): halves to even (torchvision computes crop sizes with it). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// ------------------------------------------------------------------ random resized crop

/**
 * Crop each image of x [B, C, H, W] to its window (`windows`: 4 integers per image, top, left, height,
 * width, inside the image) and resize it to oh x ow bilinearly (torchvision's resized_crop with
 * antialias=False): the deterministic half of randomResizedCrop.
 */
export function resizedCrop(x: Tensor, windows: ArrayLike<number>, oh: number, ow: number): Tensor {
  const op = 'resizedCrop';
  const [b, c, h, w] = batchDims(x, op);
  if (windows.length !== 4 * b) throw new EngramError(`${op}: needs 4 window values (top, left, height, width) per image, ${4 * b} for ${b} images; got ${windows.length}`);
  for (const v of [oh, ow]) if (!Number.isInteger(v) || v <= 0) throw new EngramError(`${op}: output size must be positive integers, got ${oh}x${ow}`);
  for (let i = 0; i < b; i++) {
    const [t, l, ch, cw] = [0, 1, 2, 3].map((k) => windows[4 * i + k]!);
    if (![t, l, ch, cw].every(Number.isInteger) || t! < 0 || l! < 0 || ch! < 1 || cw! < 1 || t! + ch! > h || l! + cw! > w) {
      throw new EngramError(`${op}: window ${i} [top ${t}, left ${l}, ${ch}x${cw}] does not lie inside the ${h}x${w} image`);
    }
  }
  const rt = runtime();
  const k = rt.kernel({ name: 'resizedCrop', wgsl: RESIZED_CROP_WGSL, bindings: ['read', 'read', 'write'] });
  const out = empty([b, c, oh, ow]);
  const r = tensor(Int32Array.from(windows), [4 * b], { dtype: 'int32' });
  rt.dispatch(k, [x.buffer, r.buffer, out.buffer], [out.size, c, h, w, oh, ow], grid1d(out.size));
  r.dispose();
  return out;
}

/**
 * The crop window [top, left, height, width] of torchvision's RandomResizedCrop.get_params for an
 * h x w image: up to 10 attempts, each drawing the area fraction uniform in `scale` (gen.next())
 * and the log aspect ratio uniform in log(`ratio`) (gen.next()); the first window that fits takes
 * its top gen.int(h - ch + 1) and left gen.int(w - cw + 1). Otherwise the central crop of the
 * clamped aspect ratio.
 */
export function resizedCropWindow(gen: Generator, h: number, w: number, scale: readonly [number, number], ratio: readonly [number, number]): [number, number, number, number] {
  const area = h * w;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * gen.next());
    const aspect = Math.exp(logLo + (logHi - logLo) * gen.next());
    const cw = roundHalfEven(Math.sqrt(target * aspect));
    const ch = roundHalfEven(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) return [gen.int(h - ch + 1), gen.int(w - cw + 1), ch, cw];
  }
  const inRatio = w / h;
  let cw = w;
  let ch = h;
  if (inRatio < ratio[0]) ch = roundHalfEven(cw / ratio[0]);
  else if (inRatio > ratio[1]) cw = roundHalfEven(ch * ratio[1]);
  return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
}

/**
 * torchvision's RandomResizedCrop(size, scale, ratio) with bilinear sampling and no antialiasing:
 * per image a window (see `resizedCropWindow`, drawn image after image) resized to size[0] x size[1].
 * Defaults as torchvision: scale [0.08, 1], ratio [3/4, 4/3] (SCR uses scale [0.2, 1]).
 */
export function randomResizedCrop(
  size: number | readonly [number, number],
  opts: {
    /** Range of the window's area as a fraction of the image's (default [0.08, 1]). */
    scale?: readonly [number, number];
    /** Range of the window's aspect ratio width / height (default [3/4, 4/3]). */
    ratio?: readonly [number, number];
  } = {},
): GpuTransform {
  const op = 'randomResizedCrop';
  const [oh, ow] = typeof size === 'number' ? [size, size] : (size as [number, number]);
  for (const v of [oh, ow]) if (!Number.isInteger(v) || v <= 0) throw new EngramError(`${op}: size must be a positive integer or [height, width], got ${JSON.stringify(size)}`);
  const scale = range(opts.scale ?? [0.08, 1], 'scale', op);
  if (scale[1] > 1) throw new EngramError(`${op}: scale is a fraction of the image area, at most 1; got ${JSON.stringify(opts.scale)}`);
  const ratio = range(opts.ratio ?? [3 / 4, 4 / 3], 'ratio', op);
  return {
    name: `randomResizedCrop([${oh}, ${ow}], scale=[${scale.join(', ')}], ratio=[${ratio.map((r) => +r.toFixed(4)).join(', ')}])`,
    random: true,
    outputShape: ([c]) => [c, oh, ow],
    apply(x, gen = defaultGenerator) {
      const [b, , h, w] = batchDims(x, op);
      if (h === 0 || w === 0) throw new EngramError(`${op}: cannot crop empty images (shape ${shapeStr(x.shape)})`);
      const params = new Int32Array(4 * b);
      for (let i = 0; i < b; i++) params.set(resizedCropWindow(gen, h, w, scale, ratio), 4 * i);
      return resizedCrop(x, params, oh, ow);
    },
  };
}

// ------------------------------------------------------------------ colour jitter

/** The jitter operations in kernel order (op ids 0, 1, 2). */
const JITTER_OPS = ['brightness', 'contrast', 'saturation'] as const;

/** One colour adjustment: op id j, F = (flag, factor) per image; contrast first takes the gray means. */
function jitterOp(x: Tensor, j: number, flagsAndFactors: Float32Array): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const hw = h * w;
  const rt = runtime();
  const jitter = rt.kernel({ name: 'colorJitter', wgsl: COLOR_JITTER_WGSL, bindings: ['read', 'read', 'read', 'write'] });
  const f = tensor(flagsAndFactors, [2 * b]);
  let means = f; // unread by brightness and saturation
  if (j === 1) {
    if (b > 65535) throw new EngramError(`colorJitter: contrast needs one workgroup per image, at most 65535 images per batch; got ${b}`);
    means = empty([b]);
    const mk = rt.kernel({ name: 'grayMean', wgsl: GRAY_MEAN_WGSL, bindings: ['read', 'write'] });
    rt.dispatch(mk, [x.buffer, means.buffer], [c, hw], [b]);
  }
  const out = empty(x.shape);
  rt.dispatch(jitter, [x.buffer, f.buffer, means.buffer, out.buffer], [out.size, c, hw, j], grid1d(out.size));
  if (means !== f) means.dispose();
  f.dispose();
  return out;
}

/**
 * torchvision's adjust_brightness, adjust_contrast or adjust_saturation with one factor per image
 * (`factors`, B values >= 0): the deterministic half of colorJitter, on x [B, C, H, W] in [0, 1].
 */
export function adjustColor(x: Tensor, op: 'brightness' | 'contrast' | 'saturation', factors: ArrayLike<number>): Tensor {
  const name = 'adjustColor';
  const [b, c] = batchDims(x, name);
  colorChannels(c, name);
  const j = JITTER_OPS.indexOf(op);
  if (j < 0) throw new EngramError(`${name}: op must be 'brightness', 'contrast' or 'saturation', got ${JSON.stringify(op)}`);
  if (factors.length !== b) throw new EngramError(`${name}: needs one factor per image (${b}), got ${factors.length}`);
  const ff = new Float32Array(2 * b);
  for (let i = 0; i < b; i++) {
    const v = factors[i]!;
    if (!(v >= 0) || !Number.isFinite(v)) throw new EngramError(`${name}: factor ${i} must be a finite number >= 0, got ${v}`);
    ff[2 * i] = 1;
    ff[2 * i + 1] = v;
  }
  return b === 0 ? x.clone() : jitterOp(x, j, ff);
}

/**
 * Colour jitter with torchvision's brightness, contrast and saturation adjustments: with probability
 * p per image, each enabled adjustment k scales by a factor uniform in [max(0, 1 - k), 1 + k].
 * Draws, per call: the order of the three operations (gen.permutation(3), shared by the batch as in
 * kornia); then per image: the flag gen.next() < p, then one gen.next() per enabled operation in the
 * order brightness, contrast, saturation. Contrast blends towards the image's gray mean at that
 * point of the sequence (computed on the GPU). Expects images in [0, 1] (results are clamped there):
 * put it before any normalize().
 */
export function colorJitter(brightness = 0, contrast = 0, saturation = 0, opts: {
  /** Probability that an image is jittered at all (default 1; SCR uses 0.8). */
  p?: number;
} = {}): GpuTransform {
  const op = 'colorJitter';
  const amounts = [brightness, contrast, saturation];
  amounts.forEach((a, i) => {
    if (typeof a !== 'number' || !(a >= 0) || !Number.isFinite(a)) throw new EngramError(`${op}: ${JITTER_OPS[i]} must be a finite number >= 0, got ${String(a)}`);
  });
  const p = opts.p ?? 1;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new EngramError(`${op}: p must be a probability in [0, 1], got ${p}`);
  return {
    name: `colorJitter(brightness=${brightness}, contrast=${contrast}, saturation=${saturation}, p=${p})`,
    random: true,
    outputShape(shape) {
      colorChannels(shape[0], op);
      return [...shape];
    },
    apply(x, gen = defaultGenerator) {
      const [b, c] = batchDims(x, op);
      colorChannels(c, op);
      const order = gen.permutation(3);
      if (b === 0) return x.clone();
      const factors = amounts.map(() => new Float32Array(2 * b));
      for (let i = 0; i < b; i++) {
        const on = gen.next() < p ? 1 : 0;
        amounts.forEach((a, j) => {
          if (a === 0) return;
          const lo = Math.max(0, 1 - a);
          factors[j]![2 * i] = on;
          factors[j]![2 * i + 1] = lo + (1 + a - lo) * gen.next();
        });
      }
      let cur = x;
      for (const j of order) {
        if (amounts[j] === 0) continue;
        const next = jitterOp(cur, j, factors[j]!);
        if (cur !== x) cur.dispose();
        cur = next;
      }
      return cur === x ? x.clone() : cur;
    },
  };
}

// ------------------------------------------------------------------ random grayscale

/**
 * torchvision's RandomGrayscale(p): each image, with probability p (gen.next() < p, image after
 * image), becomes gray in all three channels; 1-channel images are unchanged.
 */
export function randomGrayscale(p = 0.1): GpuTransform {
  const op = 'randomGrayscale';
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new EngramError(`${op}: p must be a probability in [0, 1], got ${p}`);
  return {
    name: `randomGrayscale(p=${p})`,
    random: true,
    outputShape(shape) {
      colorChannels(shape[0], op);
      return [...shape];
    },
    apply(x, gen = defaultGenerator) {
      const [b, c] = batchDims(x, op);
      colorChannels(c, op);
      const flags = new Int32Array(b);
      for (let i = 0; i < b; i++) flags[i] = gen.next() < p ? 1 : 0;
      return toGrayscale(x, flags);
    },
  };
}

/**
 * The images of x [B, C, H, W] whose entry in `which` is non-zero (every image when omitted) made gray
 * in all channels (torchvision's rgb_to_grayscale with 3 output channels); 1-channel images unchanged.
 */
export function toGrayscale(x: Tensor, which?: ArrayLike<number | boolean>): Tensor {
  const op = 'toGrayscale';
  const [b, c, h, w] = batchDims(x, op);
  colorChannels(c, op);
  if (which && which.length !== b) throw new EngramError(`${op}: needs one flag per image (${b}), got ${which.length}`);
  const flags = Int32Array.from({ length: b }, (_, i) => (which ? (which[i] ? 1 : 0) : 1));
  const rt = runtime();
  const k = rt.kernel({ name: 'grayscale', wgsl: GRAYSCALE_WGSL, bindings: ['read', 'read', 'write'] });
  const out = empty(x.shape);
  const r = tensor(flags, [Math.max(1, b)], { dtype: 'int32' });
  rt.dispatch(k, [x.buffer, r.buffer, out.buffer], [out.size, c, h * w], grid1d(out.size));
  r.dispose();
  return out;
}
