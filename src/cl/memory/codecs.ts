// How one exemplar's D values become packed bytes and back, on the CPU. Every format packs into whole
// 32-bit words per exemplar (so that a batch of exemplars is an array<u32> a kernel can unpack), in
// little-endian order: value 2j of an fp16 exemplar is the low half of word j, value 4j + c of a uint8
// exemplar is byte c of word j. The GPU side of the same formats is in gpu-codec.ts.
//
// Formats and their round-trip error (x the stored float32 value, x' what decodes):
//  - 'float32': 4 bytes per value, exact.
//  - 'fp16': 2 bytes per value, round to nearest even: |x - x'| <= 2^-11 |x| for x in the normal
//    half range [2^-14, 65504]; exact for every value representable in fp16; +-Infinity beyond
//    65519.99..; absolute error <= 2^-25 below 2^-14 (subnormal halves).
//  - 'uint8' quantization 'image': 1 byte per value, for 8-bit images. A pixel p (Uint8Array input) or
//    the float32 nearest p / 255 decodes to exactly float32(p / 255): lossless. Other floats throw.
//  - 'uint8' quantization 'affine': 1 byte per value plus two float32 per exemplar (offset, step),
//    q = round((x - min) / step) with step = (max - min) / 255 rounded UP to 16 significant bits, and
//    x' = float32(min + q * step). |x - x'| <= step / 2 + ulp/2 <= (max - min) / 510 * (1 + 2^-15)
//    plus half a float32 ulp of the largest |x| (the final rounding of x'). The 16-bit step makes
//    q * step exact in float32 (8 bits times 16 bits), so x' has one rounding whether or not a GPU
//    fuses the multiply-add: GPU and CPU decode agree bit for bit.

import { EngramError } from '../../engine/runtime.js';
import { f16BitsToF32, f32ToF16Bits } from './half.js';

/**
 * How exemplar values are stored: 'float32' (exact), 'fp16' (IEEE half precision) or 'uint8' (8-bit
 * quantized, see `Uint8Quantization`).
 */
export type ExemplarFormat = 'float32' | 'fp16' | 'uint8';
/**
 * uint8 quantization: 'image' stores 8-bit pixels losslessly (values p / 255); 'affine' stores a per-exemplar
 * minimum and step with 8-bit codes.
 */
export type Uint8Quantization = 'image' | 'affine';

/** Input values of one exemplar: floats, or 8-bit pixels (p stands for the value p / 255). */
export type RawValues = Float32Array | Uint8Array;

/** Packs and unpacks the values of one exemplar in one storage format. */
export interface Codec {
  /** The storage format. */
  readonly format: ExemplarFormat;
  /** The uint8 quantization, or null for the other formats. */
  readonly quantization: Uint8Quantization | null;
  /** Values per exemplar. */
  readonly dim: number;
  /** Packed payload bytes per exemplar, a multiple of 4. */
  readonly packedBytes: number;
  /** Float32 side values per exemplar (2 for affine uint8: offset, step; else 0). */
  readonly metaFloats: number;
  /** Pack `values` (dim of them) into `dst` (packedBytes) and `meta` (metaFloats). */
  encode(values: RawValues, dst: Uint8Array, meta: Float32Array): void;
  /** Unpack `src` (packedBytes) with its `meta` into `out` (dim floats). */
  decode(src: Uint8Array, meta: Float32Array, out: Float32Array): void;
}

/** float32(p / 255) for every byte p: the value an 8-bit pixel stands for, in every format. */
export const PIXEL_VALUES: Float32Array = Float32Array.from({ length: 256 }, (_, p) => p / 255);

function pixelsToFloats(values: RawValues): Float32Array | RawValues {
  if (!(values instanceof Uint8Array)) return values;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = PIXEL_VALUES[values[i]!]!;
  return out;
}

class Float32Codec implements Codec {
  readonly format = 'float32' as const;
  readonly quantization = null;
  readonly packedBytes: number;
  readonly metaFloats = 0;
  constructor(readonly dim: number) {
    this.packedBytes = 4 * dim;
  }
  encode(values: RawValues, dst: Uint8Array): void {
    new Float32Array(dst.buffer, dst.byteOffset, this.dim).set(pixelsToFloats(values));
  }
  decode(src: Uint8Array, _meta: Float32Array, out: Float32Array): void {
    out.set(new Float32Array(src.buffer, src.byteOffset, this.dim));
  }
}

class Fp16Codec implements Codec {
  readonly format = 'fp16' as const;
  readonly quantization = null;
  readonly packedBytes: number;
  readonly metaFloats = 0;
  constructor(readonly dim: number) {
    this.packedBytes = 4 * Math.ceil(dim / 2);
  }
  encode(values: RawValues, dst: Uint8Array): void {
    const halves = new Uint16Array(dst.buffer, dst.byteOffset, this.packedBytes / 2);
    const src = pixelsToFloats(values);
    for (let i = 0; i < this.dim; i++) halves[i] = f32ToF16Bits(src[i]!);
    if (this.dim % 2) halves[this.dim] = 0; // the pad half of the last word
  }
  decode(src: Uint8Array, _meta: Float32Array, out: Float32Array): void {
    const halves = new Uint16Array(src.buffer, src.byteOffset, this.packedBytes / 2);
    for (let i = 0; i < this.dim; i++) out[i] = f16BitsToF32(halves[i]!);
  }
}

class Uint8ImageCodec implements Codec {
  readonly format = 'uint8' as const;
  readonly quantization = 'image' as const;
  readonly packedBytes: number;
  readonly metaFloats = 0;
  constructor(readonly dim: number) {
    this.packedBytes = 4 * Math.ceil(dim / 4);
  }
  encode(values: RawValues, dst: Uint8Array): void {
    dst.fill(0, this.dim);
    if (values instanceof Uint8Array) {
      dst.set(values);
      return;
    }
    for (let i = 0; i < this.dim; i++) {
      const x = values[i]!;
      const q = Math.round(x * 255);
      if (!(q >= 0 && q <= 255) || PIXEL_VALUES[q] !== x) {
        throw new EngramError(
          `ExemplarStore (uint8, image): value ${x} at index ${i} is not an 8-bit pixel value p/255 in [0, 1]; ` +
            `use quantization: 'affine' for arbitrary float data`,
        );
      }
      dst[i] = q;
    }
  }
  decode(src: Uint8Array, _meta: Float32Array, out: Float32Array): void {
    for (let i = 0; i < this.dim; i++) out[i] = PIXEL_VALUES[src[i]!]!;
  }
}

/**
 * (max - min) / 255 rounded up to 16 significant bits, so that q * step is exact in float32 for every
 * q < 256. Ranges below 255 * 2^-100 give 0 (every value decodes to min, off by less than 2^-92):
 * this keeps q * step clear of float32 subnormals, which some GPUs flush to zero.
 */
export function affineStep(min: number, max: number): number {
  const raw = (max - min) / 255;
  if (!(raw >= 2 ** -100)) return 0;
  let e = Math.floor(Math.log2(raw));
  while (2 ** e > raw) e--; // log2 may be off by one next to powers of two
  while (2 ** (e + 1) <= raw) e++;
  const unit = 2 ** (e - 15); // raw / unit lies in [2^15, 2^16)
  return Math.ceil(raw / unit) * unit;
}

class Uint8AffineCodec implements Codec {
  readonly format = 'uint8' as const;
  readonly quantization = 'affine' as const;
  readonly packedBytes: number;
  readonly metaFloats = 2;
  constructor(readonly dim: number) {
    this.packedBytes = 4 * Math.ceil(dim / 4);
  }
  encode(values: RawValues, dst: Uint8Array, meta: Float32Array): void {
    const src = pixelsToFloats(values);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < this.dim; i++) {
      const x = src[i]!;
      if (!Number.isFinite(x)) throw new EngramError(`ExemplarStore (uint8, affine): value ${x} at index ${i} is not finite`);
      if (x < min) min = x;
      if (x > max) max = x;
    }
    const step = affineStep(min, max);
    meta[0] = min;
    meta[1] = step;
    dst.fill(0, this.dim);
    if (step === 0) return;
    for (let i = 0; i < this.dim; i++) dst[i] = Math.min(255, Math.max(0, Math.round((src[i]! - min) / step)));
  }
  decode(src: Uint8Array, meta: Float32Array, out: Float32Array): void {
    const min = meta[0]!;
    const step = meta[1]!;
    for (let i = 0; i < this.dim; i++) out[i] = min + src[i]! * step; // one rounding: q * step is exact
  }
}

/** The codec for `format` and `dim` values per exemplar (`quantization` applies to 'uint8' only). */
export function createCodec(format: ExemplarFormat, dim: number, quantization: Uint8Quantization = 'image'): Codec {
  switch (format) {
    case 'float32':
      return new Float32Codec(dim);
    case 'fp16':
      return new Fp16Codec(dim);
    case 'uint8':
      return quantization === 'affine' ? new Uint8AffineCodec(dim) : new Uint8ImageCodec(dim);
    default:
      throw new EngramError(`ExemplarStore: unknown format '${String(format)}' (expected 'float32', 'fp16' or 'uint8')`);
  }
}
