// A minimal tar reader: enough for dataset archives such as cifar-10-binary.tar.gz. Reads ustar, GNU
// (long names via 'L' entries) and pax ('x' headers with path/size) archives, keeps regular files and
// skips directories, links and devices. Every header checksum is verified and every entry must fit
// in the archive, so a truncated or damaged download is reported instead of yielding short files.

import type { SizeFromHeader } from './compress.js';

const BLOCK = 512;
/**
 * Writers pad an archive after its end-of-archive marker to a whole record: 10 KiB by default (GNU
 * tar, bsdtar, Python's tarfile), up to 64 KiB with `tar -b 128`.
 */
const MAX_PADDING = 64 * 1024;

/** Header layout (POSIX ustar); GNU reuses the same offsets for the fields read here. */
const FIELD = {
  name: [0, 100],
  size: [124, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  magic: [257, 6],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [offset: number, length: number]>;

const textDecoder = new TextDecoder('utf-8');

/** Files in the archive by path ("./" prefix removed). A later entry with the same path wins, as in `tar -x`. */
export function readTar(bytes: Uint8Array, name: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let offset = 0;
  let previousEntry: string | undefined;
  // GNU 'L' and pax 'x' entries describe the entry that follows them.
  let pendingPath: string | undefined;
  let pendingSize: number | undefined;
  const where = () => (previousEntry === undefined ? 'at the first entry' : `after entry '${previousEntry}'`);

  for (;;) {
    if (offset >= bytes.length) {
      throw new Error(`${name}: tar archive ends without its end-of-archive marker ${where()}; the archive is truncated`);
    }
    if (offset + BLOCK > bytes.length) {
      throw new Error(`${name}: tar archive is truncated inside a header block ${where()} (${bytes.length - offset} of ${BLOCK} bytes present)`);
    }
    const header = bytes.subarray(offset, offset + BLOCK);
    if (isZeroBlock(header)) break; // End-of-archive marker (normally two zero blocks; one is enough to stop).
    verifyChecksum(header, name, offset, where);

    const type = String.fromCharCode(header[FIELD.typeflag[0]]!);
    const headerPath = entryPath(header);
    const path = pendingPath ?? headerPath;
    const size = pendingSize ?? readNumber(header, FIELD.size, name, headerPath);
    const dataStart = offset + BLOCK;
    if (dataStart + size > bytes.length) {
      throw new Error(`${name}: tar archive is truncated inside entry '${path}' (needs ${size} bytes of data, only ${Math.max(0, bytes.length - dataStart)} present)`);
    }
    const data = bytes.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'L') {
      pendingPath = cString(data);
      continue;
    }
    if (type === 'x') {
      const pax = parsePaxRecords(data, name, headerPath);
      if (pax.path !== undefined) pendingPath = pax.path;
      if (pax.size !== undefined) pendingSize = pax.size;
      continue;
    }
    pendingPath = undefined;
    pendingSize = undefined;
    previousEntry = path;
    if (type === 'S') throw new Error(`${name}: entry '${path}' is a GNU sparse file, which is not supported`);
    // '0' and NUL are regular files, '7' is a contiguous file (a regular file to everyone but old Unix).
    if (type === '0' || type === '\0' || type === '7') files.set(stripDotSlash(path), data);
    // Everything else (directories, links, devices, FIFOs, volume labels, global pax headers, 'K'
    // long link names) carries no file contents we want.
  }
  return files;
}

/**
 * For inflating a .tar.gz: follows the entry headers as the archive is inflated and, once the
 * end-of-archive marker arrives, declares the archive's size (the marker plus at most MAX_PADDING),
 * so that whatever a bomb hides after the marker is never stored. Before that it reports the size the
 * headers declare so far, which may not pass the cap either; a damaged header stops inflating at once.
 */
export function tarSizeFromHeaders(name: string): SizeFromHeader {
  let next = 0; // Offset of the next header.
  let pendingSize: number | undefined; // From a pax 'x' entry, for the entry after it (as in readTar).
  return (output) => {
    while (output.length >= next + BLOCK) {
      const header = output.subarray(next, next + BLOCK);
      if (isZeroBlock(header)) {
        return {
          bytes: next + 2 * BLOCK + MAX_PADDING,
          what: `the size its tar headers declare (end-of-archive marker at byte ${next}, plus at most ${MAX_PADDING} bytes of padding)`,
          final: true,
          exact: false,
        };
      }
      verifyChecksum(header, name, next, () => 'in the inflated archive');
      const type = String.fromCharCode(header[FIELD.typeflag[0]]!);
      const size = pendingSize ?? readNumber(header, FIELD.size, name, entryPath(header));
      if (type === 'x') {
        const dataEnd = next + BLOCK + size;
        if (output.length < dataEnd) break; // Its records may change the next entry's size: wait for them.
        const pax = parsePaxRecords(output.subarray(next + BLOCK, dataEnd), name, entryPath(header));
        if (pax.size !== undefined) pendingSize = pax.size;
      } else if (type !== 'L') {
        pendingSize = undefined;
      }
      next += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    }
    return { bytes: next, what: 'the size its tar headers declare so far', final: false, exact: false };
  };
}

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** The checksum is the byte sum of the header with the checksum field read as spaces. */
function verifyChecksum(header: Uint8Array, name: string, offset: number, where: () => string): void {
  const [fieldStart, fieldLength] = FIELD.checksum;
  let unsigned = 0;
  let signed = 0; // Some historical tars summed signed chars; accept either.
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= fieldStart && i < fieldStart + fieldLength ? 0x20 : header[i]!;
    unsigned += byte;
    signed += byte >= 128 ? byte - 256 : byte;
  }
  const stored = parseOctal(header.subarray(fieldStart, fieldStart + fieldLength));
  if (stored !== unsigned && stored !== signed) {
    const path = entryPath(header);
    throw new Error(
      `${name}: tar header checksum mismatch for entry '${path}' at byte ${offset} ${where()} ` +
        `(stored ${stored === undefined ? 'unreadable' : stored}, computed ${unsigned}); the archive is corrupt`,
    );
  }
}

function entryPath(header: Uint8Array): string {
  const name = cString(field(header, FIELD.name));
  // Only POSIX ustar ("ustar\0") has a prefix field; GNU ("ustar  \0") stores other data there.
  const magic = String.fromCharCode(...field(header, FIELD.magic));
  if (magic === 'ustar\0') {
    const prefix = cString(field(header, FIELD.prefix));
    if (prefix) return `${prefix}/${name}`;
  }
  return name;
}

function field(header: Uint8Array, [offset, length]: readonly [number, number]): Uint8Array {
  return header.subarray(offset, offset + length);
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return textDecoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function stripDotSlash(path: string): string {
  let p = path;
  while (p.startsWith('./')) p = p.slice(2);
  return p;
}

/** Octal digits padded with spaces or NULs; undefined if anything else appears. */
function parseOctal(bytes: Uint8Array): number | undefined {
  let value = 0;
  let sawDigit = false;
  for (const byte of bytes) {
    if (byte >= 0x30 && byte <= 0x37) {
      value = value * 8 + (byte - 0x30);
      sawDigit = true;
    } else if (byte === 0x20 || byte === 0) {
      if (sawDigit) break;
    } else {
      return undefined;
    }
  }
  return sawDigit ? value : 0;
}

/** Size fields are octal text, or (GNU, for files of 8 GiB and more) big-endian base-256 flagged by the top bit. */
function readNumber(header: Uint8Array, spec: readonly [number, number], name: string, path: string): number {
  const bytes = field(header, spec);
  if (bytes[0]! & 0x80) {
    if (bytes[0] === 0xff) throw new Error(`${name}: entry '${path}' has a negative size`);
    let value = bytes[0]! & 0x7f;
    for (let i = 1; i < bytes.length; i++) value = value * 256 + bytes[i]!;
    return value;
  }
  const value = parseOctal(bytes);
  if (value === undefined) throw new Error(`${name}: entry '${path}' has an unreadable size field`);
  return value;
}

/** pax records are "<length> <key>=<value>\n", the length counting the whole record. */
function parsePaxRecords(data: Uint8Array, name: string, path: string): { path?: string; size?: number } {
  const result: { path?: string; size?: number } = {};
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = space < 0 ? NaN : Number(textDecoder.decode(data.subarray(offset, space)));
    if (!Number.isInteger(length) || length <= 0 || offset + length > data.length) {
      throw new Error(`${name}: malformed pax extended header in entry '${path}'`);
    }
    const record = textDecoder.decode(data.subarray(space + 1, offset + length - 1));
    const equals = record.indexOf('=');
    const key = record.slice(0, equals);
    const value = record.slice(equals + 1);
    if (key === 'path') result.path = value;
    if (key === 'size') {
      const size = Number(value);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`${name}: pax header in entry '${path}' has a bad size '${value}'`);
      result.size = size;
    }
    offset += length;
  }
  return result;
}
