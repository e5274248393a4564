// GPU image transforms for float32 NCHW batches, after torchvision.transforms: normalize,
// randomCrop (with zero padding), randomHorizontalFlip, resize (bilinear) and compose.
//
// Random transforms draw their per-image parameters (crop offsets, flip bits) on the CPU from a
// seeded Generator, in a documented order, and upload them as a small int32 tensor: a CPU
// reference fed the same Generator reproduces the GPU result exactly, and a DataLoader seeded the
// same way augments the same way on every machine.
//
// Transforms are data preparation, not model layers: their outputs carry no gradient.

import { runtime, grid1d, f32bits, EngramError } from '../engine/runtime.js';
import { empty, tensor, type Tensor } from '../engine/tensor.js';
import { isGradEnabled } from '../engine/scope.js';
import { defaultGenerator, type Generator } from '../engine/random.js';
import { shapeStr } from '../engine/shape.js';
import {
  NORMALIZE_WGSL, NORMALIZE_MAX_CHANNELS, CROP_FLIP_WGSL, RESIZE_BILINEAR_WGSL,
} from '../shaders/transforms.js';

/** The shape of one image, [channels, height, width]. */
export type ImageShape = readonly [number, number, number];

/**
 * A batch transform that runs on the GPU (normalize, randomCrop, randomHorizontalFlip, resize,
 * compose): DataLoader applies it to each batch, fit/evaluate reuse its deterministic part.
 */
export interface GpuTransform {
  /** Short description, e.g. "randomCrop(32, padding=4)". */
  readonly name: string;
  /** Shape of the transformed images for input images of `shape`; throws when the transform does not apply. */
  outputShape(shape: ImageShape): [number, number, number];
  /**
   * Transform a float32 batch [B, C, H, W] into a new tensor (the input is left as it is). Random
   * transforms draw from `gen` (default: the global generator).
   */
  apply(x: Tensor, gen?: Generator): Tensor;
  /** Set by normalize(): its per-channel mean and std, so a DataLoader can fold it into the uint8 conversion. */
  readonly normalization?: {
    /** Per-channel mean subtracted. */
    readonly mean: readonly number[];
    /** Per-channel standard deviation divided by. */
    readonly std: readonly number[];
  };
  /** Set by compose(): the transforms it applies, in order. */
  readonly parts?: readonly GpuTransform[];
  /**
   * True for data augmentation (randomCrop, randomHorizontalFlip): it draws from the generator and
   * is left out of evaluation (see deterministicPart). A custom random transform should set it too.
   */
  readonly random?: boolean;
}

/** Validate a batch at a transform's door and return its [B, C, H, W]. */
function batchDims(x: Tensor, op: string): [number, number, number, number] {
  if (x.dtype !== 'float32' || x.rank !== 4) {
    throw new EngramError(`${op}: expects a float32 batch [B, C, H, W], got ${x.dtype} of shape ${shapeStr(x.shape)}`);
  }
  if (x.requiresGrad && isGradEnabled()) {
    throw new EngramError(`${op}: transforms carry no gradient, but the input (shape ${shapeStr(x.shape)}) requires one; detach() it first`);
  }
  return x.shape as unknown as [number, number, number, number];
}

function positiveInt(v: unknown, what: string, op: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new EngramError(`${op}: ${what} must be a positive integer, got ${String(v)}`);
  return v;
}

/** An int or [h, w] pair, like torchvision's size arguments. */
function sizePair(size: number | readonly [number, number], op: string): [number, number] {
  if (typeof size === 'number') return [positiveInt(size, 'size', op), size];
  if (!Array.isArray(size) || size.length !== 2) throw new EngramError(`${op}: size must be an integer or [height, width], got ${JSON.stringify(size)}`);
  return [positiveInt(size[0], 'height', op), positiveInt(size[1], 'width', op)];
}

// ------------------------------------------------------------------ normalize

/** (x - mean[c]) / std[c] per channel, like torchvision's Normalize. One value each means every channel. */
export function normalize(mean: readonly number[], std: readonly number[]): GpuTransform {
  const op = 'normalize';
  if (!Array.isArray(mean) || !Array.isArray(std) || mean.length === 0 || mean.length !== std.length) {
    throw new EngramError(`${op}: mean and std must be non-empty arrays of equal length, got ${JSON.stringify(mean)} and ${JSON.stringify(std)}`);
  }
  if (mean.length > NORMALIZE_MAX_CHANNELS) throw new EngramError(`${op}: at most ${NORMALIZE_MAX_CHANNELS} channels are supported, got ${mean.length}`);
  for (const s of std) if (!(s !== 0 && Number.isFinite(s))) throw new EngramError(`${op}: std must be finite and non-zero, got ${JSON.stringify(std)}`);
  for (const m of mean) if (!Number.isFinite(m)) throw new EngramError(`${op}: mean must be finite, got ${JSON.stringify(mean)}`);
  const channelsFor = (c: number): void => {
    if (mean.length !== 1 && mean.length !== c) throw new EngramError(`${op}: ${mean.length} means/stds for images with ${c} channels`);
  };
  return {
    name: `normalize(mean=[${mean.join(', ')}], std=[${std.join(', ')}])`,
    normalization: { mean: [...mean], std: [...std] },
    outputShape(shape) {
      channelsFor(shape[0]);
      return [...shape];
    },
    apply(x) {
      const [, c, h, w] = batchDims(x, op);
      channelsFor(c);
      const rt = runtime();
      const k = rt.kernel({ name: 'normalize', wgsl: NORMALIZE_WGSL, bindings: ['read', 'write'] });
      const out = empty(x.shape);
      const m = new Array<number>(NORMALIZE_MAX_CHANNELS).fill(0);
      const s = new Array<number>(NORMALIZE_MAX_CHANNELS).fill(f32bits(1));
      for (let i = 0; i < c; i++) {
        m[i] = f32bits(mean.length === 1 ? mean[0]! : mean[i]!);
        s[i] = f32bits(std.length === 1 ? std[0]! : std[i]!);
      }
      rt.dispatch(k, [x.buffer, out.buffer], [out.size, h * w, c, ...m, ...s], grid1d(out.size));
      return out;
    },
  };
}

// ------------------------------------------------------------------ crop and flip (one kernel)

/** Run the crop/flip kernel with 3 int32 parameters per image (oy, ox, flip). */
function cropFlip(x: Tensor, params: Int32Array, oh: number, ow: number, pad: number): Tensor {
  const [b, c, h, w] = x.shape as unknown as [number, number, number, number];
  const rt = runtime();
  const k = rt.kernel({ name: 'cropFlip', wgsl: CROP_FLIP_WGSL, bindings: ['read', 'read', 'write'] });
  const out = empty([b, c, oh, ow]);
  const r = tensor(params, [params.length], { dtype: 'int32' });
  rt.dispatch(k, [x.buffer, r.buffer, out.buffer], [out.size, c, h, w, oh, ow, pad], grid1d(out.size));
  r.dispose();
  return out;
}

/**
 * Pad every side with `padding` zeros, then cut a random size[0] x size[1] window from each image,
 * like torchvision's RandomCrop(size, padding). Per image, in order: the top offset
 * gen.int(H + 2*padding - height + 1), then the left offset gen.int(W + 2*padding - width + 1).
 */
export function randomCrop(size: number | readonly [number, number], padding = 0): GpuTransform {
  const op = 'randomCrop';
  const [ch, cw] = sizePair(size, op);
  if (!Number.isInteger(padding) || padding < 0) throw new EngramError(`${op}: padding must be a non-negative integer, got ${padding}`);
  const check = (h: number, w: number): void => {
    if (ch > h + 2 * padding || cw > w + 2 * padding) {
      throw new EngramError(`${op}: crop ${ch}x${cw} is larger than the ${h}x${w} images padded by ${padding} (${h + 2 * padding}x${w + 2 * padding})`);
    }
  };
  return {
    name: `randomCrop([${ch}, ${cw}], padding=${padding})`,
    random: true,
    outputShape([c, h, w]) {
      check(h, w);
      return [c, ch, cw];
    },
    apply(x, gen = defaultGenerator) {
      const [b, , h, w] = batchDims(x, op);
      check(h, w);
      const params = new Int32Array(3 * b);
      for (let i = 0; i < b; i++) {
        params[3 * i] = gen.int(h + 2 * padding - ch + 1);
        params[3 * i + 1] = gen.int(w + 2 * padding - cw + 1);
      }
      return cropFlip(x, params, ch, cw, padding);
    },
  };
}

/**
 * Mirror each image left-right with probability p, like torchvision's RandomHorizontalFlip.
 * Per image: flipped when gen.next() < p.
 */
export function randomHorizontalFlip(p = 0.5): GpuTransform {
  const op = 'randomHorizontalFlip';
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new EngramError(`${op}: p must be a probability in [0, 1], got ${p}`);
  return {
    name: `randomHorizontalFlip(p=${p})`,
    random: true,
    outputShape: (shape) => [...shape],
    apply(x, gen = defaultGenerator) {
      const [b, , h, w] = batchDims(x, op);
      const params = new Int32Array(3 * b);
      for (let i = 0; i < b; i++) params[3 * i + 2] = gen.next() < p ? 1 : 0;
      return cropFlip(x, params, h, w, 0);
    },
  };
}

// ------------------------------------------------------------------ resize

/** Bilinear resize to height x width, like F.interpolate(mode='bilinear', align_corners=False, antialias=False). */
export function resize(height: number, width: number): GpuTransform {
  const op = 'resize';
  positiveInt(height, 'height', op);
  positiveInt(width, 'width', op);
  return {
    name: `resize(${height}, ${width})`,
    outputShape: ([c]) => [c, height, width],
    apply(x) {
      const [b, c, h, w] = batchDims(x, op);
      if (h === 0 || w === 0) throw new EngramError(`${op}: cannot resize empty images (shape ${shapeStr(x.shape)})`);
      const rt = runtime();
      const k = rt.kernel({ name: 'resizeBilinear', wgsl: RESIZE_BILINEAR_WGSL, bindings: ['read', 'write'] });
      const out = empty([b, c, height, width]);
      rt.dispatch(k, [x.buffer, out.buffer], [out.size, h, w, height, width, f32bits(h / height), f32bits(w / width)], grid1d(out.size));
      return out;
    },
  };
}

// ------------------------------------------------------------------ compose and its inverse

/** Apply transforms in order (intermediate batches are freed as soon as the next one exists). */
export function compose(transforms: readonly GpuTransform[]): GpuTransform {
  if (!Array.isArray(transforms)) throw new EngramError('compose: expects an array of transforms');
  transforms.forEach((t, i) => {
    if (!t || typeof t.apply !== 'function' || typeof t.outputShape !== 'function') {
      throw new EngramError(`compose: element ${i} is not a transform (expected normalize(), randomCrop(), ...)`);
    }
  });
  return {
    name: `compose([${transforms.map((t) => t.name).join(', ')}])`,
    parts: [...transforms],
    outputShape(shape) {
      let s: [number, number, number] = [...shape];
      for (const t of transforms) s = t.outputShape(s);
      return s;
    },
    apply(x, gen) {
      let cur = x;
      for (const t of transforms) {
        const next = t.apply(cur, gen);
        if (cur !== x) cur.dispose();
        cur = next;
      }
      return cur === x ? x.clone() : cur;
    },
  };
}

/**
 * Split a leading normalize() off a pipeline (looking into compose()): [its mean/std, what remains].
 * A DataLoader folds the normalization into its uint8 -> float32 conversion table; the result is
 * the same as applying the pipeline to pixels/255 (up to float32 rounding).
 */
export function splitLeadingNormalize(t: GpuTransform | undefined): [GpuTransform['normalization'] | null, GpuTransform | undefined] {
  if (!t) return [null, undefined];
  if (t.normalization) return [t.normalization, undefined];
  if (t.parts && t.parts.length > 0) {
    const [norm, rest] = splitLeadingNormalize(t.parts[0]);
    if (norm) {
      const remaining = [...(rest ? [rest] : []), ...t.parts.slice(1)];
      return [norm, remaining.length === 0 ? undefined : remaining.length === 1 ? remaining[0] : compose(remaining)];
    }
  }
  return [null, t];
}

// ------------------------------------------------------------------ what evaluation should apply

/** The transforms a pipeline applies, in order, with compose() flattened. */
function leaves(t: GpuTransform | undefined): GpuTransform[] {
  if (!t) return [];
  return t.parts ? t.parts.flatMap(leaves) : [t];
}

/**
 * The part of a training pipeline that evaluation should apply too: every transform except the
 * random ones (augmentation), in order; undefined when nothing remains. E.g.
 * compose([randomCrop(32, 4), randomHorizontalFlip(), normalize(m, s)]) -> normalize(m, s).
 */
export function deterministicPart(t: GpuTransform | undefined): GpuTransform | undefined {
  const all = leaves(t);
  const kept = all.filter((p) => !p.random);
  if (kept.length === all.length) return t;
  return kept.length === 0 ? undefined : kept.length === 1 ? kept[0] : compose(kept);
}

/**
 * The names of a pipeline's random transforms (augmentation: `random: true`), in order, with
 * compose() flattened; empty when it is deterministic. evaluate() and fit() refuse a random
 * preprocessing for evaluation with it.
 */
export function randomPartsOf(t: GpuTransform | undefined): string[] {
  return leaves(t).filter((p) => p.random).map((p) => p.name);
}

/** The normalize() steps of a pipeline (compose() flattened), in order; empty when it normalizes nothing. */
export function normalizationsOf(t: GpuTransform | undefined): NonNullable<GpuTransform['normalization']>[] {
  return leaves(t).flatMap((p) => (p.normalization ? [p.normalization] : []));
}
