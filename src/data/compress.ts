// gzip and zlib unwrapping for dataset files. fflate does the inflating (pure JS, so it runs in the
// browser too); the framing is parsed here so that we can verify the CRC/Adler trailer and the
// declared length, which fflate skips. Without that check a truncated download can inflate "fine"
// into garbage, or fflate can size its output buffer from bytes that are not a trailer at all.
import { inflateSync } from 'fflate';
import { adler32, crc32 } from './checksums.js';

const GZIP_FLAG_HEADER_CRC = 0x02;
const GZIP_FLAG_EXTRA = 0x04;
const GZIP_FLAG_NAME = 0x08;
const GZIP_FLAG_COMMENT = 0x10;
const GZIP_FLAGS_RESERVED = 0xe0;
const ZLIB_FLAG_PRESET_DICTIONARY = 0x20;

/** True when the bytes start with the gzip magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * True for a zlib header with a 32 KiB window (CMF 0x78), which every common encoder writes.
 * Smaller windows are valid zlib too, but sniffing for them would misfire on raw files: a CIFAR-10
 * record with label 8 and first pixel 29 would pass the header check.
 */
export function looksLikeZlib(bytes: Uint8Array): boolean {
  if (bytes.length < 2) return false;
  const cmf = bytes[0]!;
  const flg = bytes[1]!;
  return cmf === 0x78 && ((cmf << 8) | flg) % 31 === 0;
}

/**
 * Inflates a raw DEFLATE stream; fflate's terse errors become "<name>: <what> stream is truncated or
 * corrupt (...)". `expectedSize`, when given, becomes the exact output buffer: fflate then neither
 * grows it nor copies the result out, but also drops (rather than reports) bytes past its end, so
 * callers must check the length and checksum afterwards.
 */
function inflateOrExplain(deflated: Uint8Array, name: string, what: string, expectedSize?: number): Uint8Array {
  try {
    return expectedSize === undefined ? inflateSync(deflated) : inflateSync(deflated, { out: new Uint8Array(expectedSize) });
  } catch (err) {
    throw new Error(`${name}: ${what} stream is truncated or corrupt (${errorMessage(err)})`);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function readUint32LE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

function readUint32BE(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/** Index just past a zero-terminated field starting at `offset`, or -1 if the terminator is missing. */
function skipZeroTerminated(bytes: Uint8Array, offset: number): number {
  const end = bytes.indexOf(0, offset);
  return end < 0 ? -1 : end + 1;
}

/**
 * Decompresses a single-member gzip file (RFC 1952) and checks its CRC-32 and length trailer.
 * A multi-member file (concatenated gzip streams) fails the trailer check and is reported as corrupt.
 */
export function gunzip(bytes: Uint8Array, name: string): Uint8Array {
  const truncated = (detail: string) => new Error(`${name}: gzip stream is truncated or corrupt (${detail})`);
  if (!isGzip(bytes)) throw new Error(`${name}: not a gzip file (does not start with 1f 8b)`);
  if (bytes.length < 18) throw truncated(`only ${bytes.length} bytes; a gzip file has at least 18`);
  const method = bytes[2]!;
  if (method !== 8) throw new Error(`${name}: unsupported gzip compression method ${method} (only 8, deflate, exists)`);
  const flags = bytes[3]!;
  if (flags & GZIP_FLAGS_RESERVED) throw new Error(`${name}: gzip header has reserved flag bits set (0x${flags.toString(16)}); the file is corrupt`);

  let offset = 10;
  if (flags & GZIP_FLAG_EXTRA) offset += 2 + (bytes[10]! | (bytes[11]! << 8));
  if (flags & GZIP_FLAG_NAME) offset = skipZeroTerminated(bytes, offset);
  if (offset >= 0 && flags & GZIP_FLAG_COMMENT) offset = skipZeroTerminated(bytes, offset);
  if (offset >= 0 && flags & GZIP_FLAG_HEADER_CRC) offset += 2;
  if (offset < 0 || offset + 8 > bytes.length) throw truncated('the header runs past the end of the file');

  const trailer = bytes.length - 8;
  const expectedCrc = readUint32LE(bytes, trailer);
  const expectedSize = readUint32LE(bytes, trailer + 4);
  // Inflating straight into a buffer of the trailer's size saves fflate's guess (3x the input) and a
  // final copy. In a damaged file the "trailer" may be any bytes, so the hint is only taken when it
  // asks for no more memory than that guess would; the checks below catch a wrong size either way.
  const deflated = bytes.subarray(offset, trailer);
  const sizeHint = expectedSize > 0 && expectedSize <= deflated.length * 3 ? expectedSize : undefined;
  const out = inflateOrExplain(deflated, name, 'gzip', sizeHint);
  // ISIZE is the length modulo 2^32, so compare it that way.
  if (out.length % 0x1_0000_0000 !== expectedSize) {
    throw truncated(`inflated to ${out.length} bytes but the trailer says ${expectedSize}`);
  }
  const actualCrc = crc32(out);
  if (actualCrc !== expectedCrc) {
    throw truncated(`CRC-32 mismatch: trailer says ${hex32(expectedCrc)}, data has ${hex32(actualCrc)}`);
  }
  return out;
}

/** Decompresses a zlib stream (RFC 1950) that fills `bytes` exactly, checking its Adler-32 trailer. */
export function unzlib(bytes: Uint8Array, name: string): Uint8Array {
  const corrupt = (detail: string) => new Error(`${name}: zlib stream is truncated or corrupt (${detail})`);
  if (bytes.length < 6) throw corrupt(`only ${bytes.length} bytes; a zlib stream has at least 6`);
  const cmf = bytes[0]!;
  const flg = bytes[1]!;
  if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0) {
    throw new Error(`${name}: not a zlib stream (header bytes ${hex8(cmf)} ${hex8(flg)})`);
  }
  if (flg & ZLIB_FLAG_PRESET_DICTIONARY) throw new Error(`${name}: zlib stream needs a preset dictionary, which is not supported`);

  const trailer = bytes.length - 4;
  const out = inflateOrExplain(bytes.subarray(2, trailer), name, 'zlib');
  const expected = readUint32BE(bytes, trailer);
  const actual = adler32(out);
  if (actual !== expected) throw corrupt(`Adler-32 mismatch: trailer says ${hex32(expected)}, data has ${hex32(actual)}`);
  return out;
}

/** Raw DEFLATE has no framing and no checksum; only the inflater's own errors can catch damage. */
export function inflateRaw(bytes: Uint8Array, name: string): Uint8Array {
  return inflateOrExplain(bytes, name, 'deflate');
}

/**
 * Returns the decompressed contents when `bytes` is gzip or zlib (sniffed from the header, not the
 * file name), and `bytes` itself otherwise. `name` is only used in error messages.
 */
export function maybeDecompress(bytes: Uint8Array, name: string): Uint8Array {
  if (isGzip(bytes)) return gunzip(bytes, name);
  if (looksLikeZlib(bytes)) return unzlib(bytes, name);
  return bytes;
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

function hex8(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}
