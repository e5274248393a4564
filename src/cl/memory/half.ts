// IEEE-754 binary16 ("fp16", "half") conversion on the CPU, written on the bit patterns so that it is
// exact and identical in every JavaScript engine (Float16Array is not available everywhere yet).
//
// float32 -> half rounds to nearest, ties to even, like a hardware conversion and PyTorch's .half():
// values of magnitude >= 65520 become +-Infinity, values below 2^-25 become +-0, values between
// 2^-24 and 2^-14 become half subnormals. NaN stays NaN (quiet, with the top payload bits kept).
// half -> float32 is exact (every half is a float32).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bit pattern nearest to `x` (rounded to float32 first), ties to even. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00; // NaN (made quiet) or Inf
  const e = exp - 112; // exponent re-biased for half (127 - 15)
  if (e >= 0x1f) return sign | 0x7c00; // too large even before rounding
  if (e <= 0) {
    // Half subnormal (or zero): the value in units of 2^-24 is M * 2^(e - 14), M with its implicit bit.
    const s = 14 - e;
    if (s > 24) return sign; // below half of the smallest subnormal (float32 subnormals land here too)
    const m = mant | 0x800000;
    return sign | roundShift(m, s);
  }
  // Normal: keep the top 10 mantissa bits; a carry out of the mantissa correctly bumps the exponent,
  // up to 0x7c00 (Infinity) for values >= 65520.
  return sign | (((e << 10) | (mant >>> 13)) + roundBit(mant & 0x1fff, 0x1000, mant >>> 13));
}

/** m >> s rounded to nearest, ties to even (1 <= s <= 24). */
function roundShift(m: number, s: number): number {
  const q = m >>> s;
  return q + roundBit(m & ((1 << s) - 1), 1 << (s - 1), q);
}

/** 1 when a dropped remainder `rem` (half-way point `half`) rounds the kept value `q` up. */
function roundBit(rem: number, half: number, q: number): number {
  return rem > half || (rem === half && (q & 1) === 1) ? 1 : 0;
}

/** The float32 value of a binary16 bit pattern (exact). */
export function f16BitsToF32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) {
    u32[0] = sign | 0x7f800000 | (mant << 13);
  } else if (exp !== 0) {
    u32[0] = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant === 0) {
    u32[0] = sign;
  } else {
    // Subnormal half -> normal float32: shift the leading 1 into the implicit position.
    let e = 113;
    while ((mant & 0x400) === 0) {
      mant <<= 1;
      e--;
    }
    u32[0] = sign | (e << 23) | ((mant & 0x3ff) << 13);
  }
  return f32[0]!;
}

/** Halves of `src` into `dst` (same length), ties to even. */
export function packF16(src: ArrayLike<number>, dst: Uint16Array): Uint16Array {
  for (let i = 0; i < src.length; i++) dst[i] = f32ToF16Bits(src[i]!);
  return dst;
}

/** Float32 values of the halves in `src` into `dst` (same length). */
export function unpackF16(src: Uint16Array, dst: Float32Array): Float32Array {
  for (let i = 0; i < src.length; i++) dst[i] = f16BitsToF32(src[i]!);
  return dst;
}
