// gzip and zlib unwrapping for dataset files. fflate does the inflating (pure JS, so it runs in the
// browser too); the framing is parsed here so that we can verify the CRC/Adler trailer and the
// declared length, which fflate skips. Without that check a truncated download can inflate "fine"
// into garbage.
//
// Compressed input is hostile until proven otherwise: a 1 MiB file can inflate to 1 GiB. So nothing
// here inflates a whole stream in one call. The input is fed to fflate's streaming inflater in small
// slices, and every piece of output is checked before it is stored against the caller's cap
// (maxDecompressedBytes), the size the format's own header declares once the first inflated bytes
// reveal it (IDX dimensions, a MAT element's miMATRIX tag, tar entry sizes), and the expansion so
// far (maxCompressionRatio), which is what stops a bomb whose header declares a large size honestly.
// A bomb is refused after at most one slice past its bound.
import { Inflate } from 'fflate';
import { adler32, crc32 } from './checksums.js';

/**
 * Default cap on how many bytes one compressed file (or MAT compressed element) may inflate to:
 * 2 GiB. The largest file of the supported datasets, SVHN's extra_32x32.mat, holds 1.63 GB of images
 * in one compressed element; everything else is under 200 MB.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 2 * 1024 ** 3;

/**
 * Default cap on how many times larger than the compressed bytes read so far the output may grow:
 * 100. Real dataset files compress 1.1:1 (CIFAR, SVHN) to 5:1 (MNIST); a decompression bomb inflates
 * about 1000:1. Without this, a bomb could still fill the size a header (or CIFAR's file name)
 * declares before being caught, up to 1.6 GB for an SVHN-sized header.
 */
export const DEFAULT_MAX_COMPRESSION_RATIO = 100;

/** The ratio check starts once the output passes this, so tiny files (headers, label lists) are not held to it. */
const RATIO_GRACE_BYTES = 8 * 1024 * 1024;

/** Limits on decompressing a dataset file, accepted by every reader and loader (see the README's Datasets section). */
export interface DecompressOptions {
  /**
   * Refuse to inflate a compressed file (or a MAT compressed element) to more than this many bytes,
   * checked as the data is inflated, before anything larger is allocated. Default
   * DEFAULT_MAX_DECOMPRESSED_BYTES (2 GiB). Files whose header declares their size are also held to
   * that size, whatever the cap.
   */
  maxDecompressedBytes?: number;
  /**
   * Refuse a file whose output grows to more than this many times the compressed bytes consumed so
   * far (checked once past 8 MiB of output). Default DEFAULT_MAX_COMPRESSION_RATIO (100); Infinity
   * turns the check off.
   */
  maxCompressionRatio?: number;
}

/** What the inflated data's own header says about its size. */
export interface DeclaredSize {
  /** The size in bytes (at most, or exactly when `exact`). */
  bytes: number;
  /** A noun phrase for error messages, e.g. "the size its IDX header declares (shape [2, 28, 28])". */
  what: string;
  /** False while more of the header is still to come: `bytes` is then only what is declared so far. */
  final: boolean;
  /** The data must be exactly `bytes` long (rather than at most), so the output buffer can be sized to it. */
  exact: boolean;
  /** Replaces "the file is corrupt or a decompression bomb" when the bound is a guess the user may overrule. */
  fix?: string;
}

/**
 * Looks at the inflated output so far (it grows between calls; the first call sees no bytes) and
 * returns its declared size once the header says, or undefined until then. It may throw to reject
 * a header outright, which stops inflating at once.
 */
export type SizeFromHeader = (output: Uint8Array) => DeclaredSize | undefined;

/** DecompressOptions plus, for the format readers, how to read the declared size from the inflated header. */
export interface BoundedDecompressOptions extends DecompressOptions {
  /** Consulted as output arrives; see SizeFromHeader. */
  sizeFromHeader?: SizeFromHeader;
}

const GZIP_FLAG_HEADER_CRC = 0x02;
const GZIP_FLAG_EXTRA = 0x04;
const GZIP_FLAG_NAME = 0x08;
const GZIP_FLAG_COMMENT = 0x10;
const GZIP_FLAGS_RESERVED = 0xe0;
const ZLIB_FLAG_PRESET_DICTIONARY = 0x20;

/**
 * Compressed bytes handed to fflate per call. fflate allocates (and discards) about three times each
 * call's output, so calls are kept to about OUTPUT_PER_CALL of output: the slice is sized from the
 * expansion seen so far, between 1 KiB and 16 KiB (at DEFLATE's 1032:1 limit, at most ~17 MB once,
 * when a stream turns from incompressible to a bomb, and ~1 MB per call after that).
 */
const MIN_SLICE = 1024;
const MAX_SLICE = 16 * 1024;
const OUTPUT_PER_CALL = 256 * 1024;
/** Headers are read from the first bytes of a piece of output before it is stored or counted against the ratio. */
const HEADER_PEEK = 64 * 1024;
/** A size trailer promising more than this ratio is not trusted for preallocation (datasets compress ~5:1). */
const PLAUSIBLE_RATIO = 64;

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
 * The inflated output: stored as it arrives, refused the moment it would pass its bound. The buffer
 * grows by doubling but never past the bound, and is sized exactly once a header declares the size.
 */
class BoundedOutput {
  private buffer: Uint8Array;
  private length = 0;
  private bound: number;
  private declared: DeclaredSize | undefined;

  constructor(
    private readonly name: string,
    private readonly cap: number,
    private readonly maxRatio: number,
    private readonly sizeFromHeader: SizeFromHeader | undefined,
    sizeHint: number | undefined,
  ) {
    this.bound = cap;
    this.buffer = new Uint8Array(0);
    this.consultHeader(this.buffer, 0);
    const initial = sizeHint !== undefined && sizeHint <= this.bound ? sizeHint : Math.min(this.bound, 64 * 1024);
    if (this.buffer.length === 0) this.buffer = new Uint8Array(initial);
  }

  /** `consumed`: how many compressed bytes have been read to produce the output so far, this chunk included. */
  write(chunk: Uint8Array, consumed: number): void {
    if (chunk.length === 0) return;
    const end = this.length + chunk.length;
    // A header that arrives in this piece decides first: its bound (or its error) says more than the ratio does.
    if (this.sizeFromHeader && !this.declared && this.length < HEADER_PEEK) {
      const head = new Uint8Array(Math.min(HEADER_PEEK, end));
      head.set(this.buffer.subarray(0, this.length));
      head.set(chunk.subarray(0, head.length - this.length), this.length);
      this.consultHeader(head, this.length);
    }
    if (end > this.bound) throw this.tooLong();
    if (end > RATIO_GRACE_BYTES && end > this.maxRatio * consumed) {
      throw new Error(
        `${this.name}: inflates more than ${this.maxRatio}-fold (${end} bytes from the first ${consumed} compressed bytes), ` +
          'far beyond any real dataset file, so it is most likely a decompression bomb; if it is genuine, pass { maxCompressionRatio } to allow it',
      );
    }
    if (end > this.buffer.length) this.resize(Math.min(this.bound, Math.max(end, this.buffer.length * 2)));
    this.buffer.set(chunk, this.length);
    this.length = end;
    if (this.sizeFromHeader && !this.declared) this.consultHeader(this.buffer.subarray(0, this.length), this.length);
  }

  /** Exactly the bytes written (the buffer itself when it fits, so the common case copies nothing). */
  result(): Uint8Array {
    return this.length === this.buffer.length ? this.buffer : this.buffer.slice(0, this.length);
  }

  /** Asks the header about `output` (the output so far, or a peek at its start); `stored` bytes of it are already stored. */
  private consultHeader(output: Uint8Array, stored: number): void {
    const answer = this.sizeFromHeader?.(output);
    if (!answer) return;
    if (answer.bytes > this.cap) {
      throw new Error(
        `${this.name}: ${answer.what} is ${answer.bytes} bytes, more than the cap of ${this.cap} decompressed bytes; ` +
          'pass { maxDecompressedBytes } to raise the cap',
      );
    }
    if (!answer.final) return;
    this.declared = answer;
    if (stored > answer.bytes) throw this.tooLong();
    this.bound = answer.bytes;
    if (answer.exact && this.buffer.length !== answer.bytes) this.resize(answer.bytes);
  }

  private resize(capacity: number): void {
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  private tooLong(): Error {
    const declared = this.declared;
    if (declared) {
      return new Error(`${this.name}: decompresses to more than ${declared.bytes} bytes, ${declared.what}; ${declared.fix ?? 'the file is corrupt or a decompression bomb'}`);
    }
    return new Error(
      `${this.name}: decompresses to more than ${this.cap} bytes, the cap on decompressed size; ` +
        `pass { maxDecompressedBytes } to raise the cap (the default is ${DEFAULT_MAX_DECOMPRESSED_BYTES})`,
    );
  }
}

function boundedOutput(name: string, options: BoundedDecompressOptions, sizeHint?: number): BoundedOutput {
  const cap = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (!Number.isSafeInteger(cap) || cap < 0) {
    throw new Error(`${name}: maxDecompressedBytes must be a whole number of bytes, got ${String(cap)}`);
  }
  const ratio = options.maxCompressionRatio ?? DEFAULT_MAX_COMPRESSION_RATIO;
  if (!(ratio >= 1)) throw new Error(`${name}: maxCompressionRatio must be a number >= 1, got ${String(ratio)}`);
  return new BoundedOutput(name, cap, ratio, options.sizeFromHeader, sizeHint);
}

/**
 * fflate's streaming Inflate keeps its state in these (minified, undocumented) fields: `s.f` is set
 * once the final block has started, `s.l` is cleared at the end of each block, and the unconsumed
 * input is `p`, whose first `s.p` bits (0..7) are spent. Only they tell where a DEFLATE stream ends,
 * which a gzip or zlib trailer and anything after it must be found from.
 */
interface InflateInternals {
  s?: { f?: number; l?: unknown; p?: number };
  p?: unknown;
}

/**
 * Inflates the raw DEFLATE stream that starts at `start`, handing the output to `sink` piece by
 * piece (about OUTPUT_PER_CALL each once the expansion is known), and returns the offset just past the stream's last byte. fflate's terse errors
 * become "<name>: <what> stream is truncated or corrupt (...)"; errors thrown by `sink` pass through.
 */
function inflateStream(bytes: Uint8Array, start: number, name: string, what: string, sink: (chunk: Uint8Array, consumed: number) => void): number {
  let sinkFailed = false;
  let consumed = start;
  let produced = 0;
  const inflater = new Inflate((chunk) => {
    produced += chunk.length;
    try {
      sink(chunk, consumed);
    } catch (err) {
      sinkFailed = true;
      throw err;
    }
  });
  const state = inflater as unknown as InflateInternals;
  if (typeof state.s !== 'object' || !(state.p instanceof Uint8Array)) {
    throw new Error(`${name}: the installed fflate does not keep the streaming state this reader relies on (written for fflate 0.8)`);
  }
  let slice = MIN_SLICE; // The expansion is unknown until something has been inflated.
  for (let offset = start; offset < bytes.length; ) {
    const next = Math.min(offset + slice, bytes.length);
    consumed = next;
    try {
      inflater.push(bytes.subarray(offset, next), false);
    } catch (err) {
      if (sinkFailed) throw err;
      throw new Error(`${name}: ${what} stream is truncated or corrupt (${errorMessage(err)})`);
    }
    offset = next;
    const expansion = Math.max(1, produced / (offset - start));
    slice = Math.max(MIN_SLICE, Math.min(MAX_SLICE, Math.floor(OUTPUT_PER_CALL / expansion)));
    if (state.s.f && !state.s.l) {
      const unconsumed = (state.p as Uint8Array).length;
      return offset - unconsumed + (((state.s.p ?? 0) + 7) >> 3);
    }
  }
  throw new Error(`${name}: ${what} stream is truncated or corrupt (the input ends inside the compressed data)`);
}

/** Offset of the compressed data after the gzip member header at `offset`. */
function gzipHeaderEnd(bytes: Uint8Array, offset: number, name: string, member: string, truncated: (detail: string) => Error): number {
  if (bytes.length - offset < 18) throw truncated(`only ${bytes.length - offset} bytes${member}; a gzip member has at least 18`);
  const method = bytes[offset + 2]!;
  if (method !== 8) throw new Error(`${name}: unsupported gzip compression method ${method}${member} (only 8, deflate, exists)`);
  const flags = bytes[offset + 3]!;
  if (flags & GZIP_FLAGS_RESERVED) throw new Error(`${name}: gzip header${member} has reserved flag bits set (0x${flags.toString(16)}); the file is corrupt`);
  let end = offset + 10;
  if (flags & GZIP_FLAG_EXTRA) end += 2 + (bytes[offset + 10]! | (bytes[offset + 11]! << 8));
  if (flags & GZIP_FLAG_NAME) end = skipZeroTerminated(bytes, end);
  if (end >= 0 && flags & GZIP_FLAG_COMMENT) end = skipZeroTerminated(bytes, end);
  if (end >= 0 && flags & GZIP_FLAG_HEADER_CRC) end += 2;
  if (end < 0 || end + 8 > bytes.length) throw truncated(`the header${member} runs past the end of the file`);
  return end;
}

/**
 * Decompresses a gzip file (RFC 1952), checking each member's CRC-32 and length trailer. A file of
 * several members (concatenated gzip streams, as `cat a.gz b.gz` or pigz make) inflates to their
 * concatenation; anything after the last member that is not another member is an error.
 */
export function gunzip(bytes: Uint8Array, name: string, options: BoundedDecompressOptions = {}): Uint8Array {
  const truncated = (detail: string) => new Error(`${name}: gzip stream is truncated or corrupt (${detail})`);
  if (!isGzip(bytes)) throw new Error(`${name}: not a gzip file (does not start with 1f 8b)`);
  // The last four bytes are the (last member's) length; when plausible, the output starts that big.
  const isize = bytes.length >= 4 ? readUint32LE(bytes, bytes.length - 4) : 0;
  const out = boundedOutput(name, options, isize > 0 && isize <= bytes.length * PLAUSIBLE_RATIO ? isize : undefined);
  let offset = 0;
  for (let index = 1; ; index++) {
    const member = index === 1 ? '' : ` of member ${index} at byte ${offset}`;
    const dataStart = gzipHeaderEnd(bytes, offset, name, member, truncated);
    let crc = 0;
    let size = 0;
    const end = inflateStream(bytes, dataStart, name, 'gzip', (chunk, consumed) => {
      out.write(chunk, consumed);
      crc = crc32(chunk, crc);
      size += chunk.length;
    });
    if (end + 8 > bytes.length) throw truncated(`the file ends inside the 8-byte trailer${member}`);
    const expectedCrc = readUint32LE(bytes, end);
    const expectedSize = readUint32LE(bytes, end + 4);
    // ISIZE is the length modulo 2^32, so compare it that way.
    if (size % 0x1_0000_0000 !== expectedSize) throw truncated(`inflated to ${size} bytes but the trailer${member} says ${expectedSize}`);
    if (crc !== expectedCrc) throw truncated(`CRC-32 mismatch${member}: trailer says ${hex32(expectedCrc)}, data has ${hex32(crc)}`);
    offset = end + 8;
    if (offset === bytes.length) return out.result();
    if (!isGzip(bytes.subarray(offset))) {
      throw new Error(
        `${name}: ${bytes.length - offset} bytes of trailing garbage at byte ${offset}, after the last gzip member; ` +
          'the file is corrupt (or was appended to)',
      );
    }
  }
}

/** Decompresses a zlib stream (RFC 1950) that fills `bytes` exactly, checking its Adler-32 trailer. */
export function unzlib(bytes: Uint8Array, name: string, options: BoundedDecompressOptions = {}): Uint8Array {
  const corrupt = (detail: string) => new Error(`${name}: zlib stream is truncated or corrupt (${detail})`);
  if (bytes.length < 6) throw corrupt(`only ${bytes.length} bytes; a zlib stream has at least 6`);
  const cmf = bytes[0]!;
  const flg = bytes[1]!;
  if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0) {
    throw new Error(`${name}: not a zlib stream (header bytes ${hex8(cmf)} ${hex8(flg)})`);
  }
  if (flg & ZLIB_FLAG_PRESET_DICTIONARY) throw new Error(`${name}: zlib stream needs a preset dictionary, which is not supported`);

  const out = boundedOutput(name, options);
  let adler = 1;
  const end = inflateStream(bytes, 2, name, 'zlib', (chunk, consumed) => {
    out.write(chunk, consumed);
    adler = adler32(chunk, adler);
  });
  if (end + 4 > bytes.length) throw corrupt('the data ends inside the 4-byte Adler-32 trailer');
  const expected = readUint32BE(bytes, end);
  if (adler !== expected) throw corrupt(`Adler-32 mismatch: trailer says ${hex32(expected)}, data has ${hex32(adler)}`);
  if (end + 4 !== bytes.length) {
    throw new Error(`${name}: ${bytes.length - end - 4} bytes of trailing garbage at byte ${end + 4}, after the end of the zlib stream; the data is corrupt`);
  }
  return out.result();
}

/** Raw DEFLATE has no framing and no checksum; only the inflater's own errors can catch damage. */
export function inflateRaw(bytes: Uint8Array, name: string, options: BoundedDecompressOptions = {}): Uint8Array {
  const out = boundedOutput(name, options);
  const end = inflateStream(bytes, 0, name, 'deflate', (chunk, consumed) => out.write(chunk, consumed));
  if (end !== bytes.length) {
    throw new Error(`${name}: ${bytes.length - end} bytes of trailing garbage at byte ${end}, after the end of the deflate stream; the data is corrupt`);
  }
  return out.result();
}

/**
 * Returns the decompressed contents when `bytes` is gzip or zlib (sniffed from the header, not the
 * file name), and `bytes` itself otherwise. `name` is only used in error messages.
 */
export function maybeDecompress(bytes: Uint8Array, name: string, options: BoundedDecompressOptions = {}): Uint8Array {
  if (isGzip(bytes)) return gunzip(bytes, name, options);
  if (looksLikeZlib(bytes)) return unzlib(bytes, name, options);
  return bytes;
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

function hex8(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}
