// Minimal ZIP reading and writing for PyTorch checkpoints (torch.save has written a zip archive by
// default since PyTorch 1.6). Bytes in, bytes out: no Node APIs, so it runs in browsers too.
//
// Reading follows the central directory (the authoritative index; local headers may carry stale
// sizes when an archive was streamed), supports ZIP64 (checkpoints over 4 GiB, and writers that
// always emit ZIP64 records), stored and deflated entries, and verifies every entry's CRC-32 so a
// truncated or bit-flipped file is reported instead of loading garbage weights.
//
// Writing stores entries uncompressed and pads each local header (with an extra field, as PyTorch's
// own writer does) so that every entry's data starts on a 64-byte boundary: readers that memory-map
// a checkpoint (torch.load(mmap=True)) need the storages aligned.

import { EngramError } from '../engine/runtime.js';
import { crc32 } from '../data/checksums.js';
import { inflateRaw } from '../data/compress.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const ZIP64_EXTRA_ID = 0x0001;
/** Extra-field id PyTorch's writer uses for its alignment padding ("FB"); readers skip unknown ids. */
const PAD_EXTRA_ID = 0x4246;
/** PyTorch aligns every record's data to 64 bytes. */
export const ZIP_ALIGNMENT = 64;

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  /** Offset of the entry's local file header. */
  headerOffset: number;
}

export interface ZipArchive {
  entries: Map<string, ZipEntry>;
  /** The entry's uncompressed contents, CRC-checked. `read` throws (naming the entry) if it is absent. */
  read(entryName: string): Uint8Array;
}

function fail(name: string, what: string): never {
  throw new EngramError(`${name}: not a valid zip archive: ${what}`);
}

/** A bounds-checked little-endian reader over `bytes`; every overrun is an error naming the file. */
class Reader {
  private readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    private readonly name: string,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(at: number, n: number, what: string): void {
    if (at < 0 || at + n > this.bytes.byteLength) fail(this.name, `${what} at byte ${at} runs past the end of the file (${this.bytes.byteLength} bytes); the file is truncated`);
  }
  u16(at: number, what: string): number {
    this.need(at, 2, what);
    return this.dv.getUint16(at, true);
  }
  u32(at: number, what: string): number {
    this.need(at, 4, what);
    return this.dv.getUint32(at, true);
  }
  u64(at: number, what: string): number {
    this.need(at, 8, what);
    const v = this.dv.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(this.name, `${what} at byte ${at} is ${v}, beyond any real file size`);
    return Number(v);
  }
  slice(at: number, n: number, what: string): Uint8Array {
    this.need(at, n, what);
    return this.bytes.subarray(at, at + n);
  }
}

/** True when `bytes` starts like a zip archive (a local file header, or an empty archive's EOCD). */
export function isZip(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 4) return false;
  const sig = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  return sig === SIG_LOCAL || sig === SIG_EOCD;
}

function findEocd(r: Reader, name: string): number {
  const n = r.bytes.byteLength;
  if (n < EOCD_SIZE) fail(name, `file is ${n} bytes, shorter than the ${EOCD_SIZE}-byte end-of-central-directory record; it is truncated or not a zip`);
  // The EOCD is the last record, followed only by a comment of up to 65535 bytes: search backwards.
  const stop = Math.max(0, n - EOCD_SIZE - MAX_COMMENT);
  for (let at = n - EOCD_SIZE; at >= stop; at--) {
    if (r.bytes[at] === 0x50 && r.u32(at, 'signature') === SIG_EOCD && at + EOCD_SIZE + r.u16(at + 20, 'comment length') === n) return at;
  }
  fail(name, 'no end-of-central-directory record (the file is truncated, or it is not a zip archive)');
}

/** Applies a ZIP64 extra field: each of the fields saturated at 0xFFFF(FFFF) is read from it, in order. */
function applyZip64(r: Reader, extra: number, extraLen: number, e: ZipEntry, name: string): void {
  const end = extra + extraLen;
  for (let at = extra; at + 4 <= end; ) {
    const id = r.u16(at, 'extra field id');
    const len = r.u16(at + 2, 'extra field length');
    if (id === ZIP64_EXTRA_ID) {
      let p = at + 4;
      const take = (what: string): number => {
        if (p + 8 > at + 4 + len) fail(name, `entry '${e.name}': ZIP64 extra field is too short for its ${what}`);
        const v = r.u64(p, `entry '${e.name}' ZIP64 ${what}`);
        p += 8;
        return v;
      };
      if (e.size === 0xffffffff) e.size = take('size');
      if (e.compressedSize === 0xffffffff) e.compressedSize = take('compressed size');
      if (e.headerOffset === 0xffffffff) e.headerOffset = take('header offset');
      return;
    }
    at += 4 + len;
  }
  if (e.size === 0xffffffff || e.compressedSize === 0xffffffff || e.headerOffset === 0xffffffff) {
    fail(name, `entry '${e.name}' has saturated sizes but no ZIP64 extra field`);
  }
}

/** Parses a zip archive's central directory. `name` (e.g. the file path) is used in every error. */
export function readZip(bytes: Uint8Array, name = 'zip data'): ZipArchive {
  const r = new Reader(bytes, name);
  const eocd = findEocd(r, name);
  let disk = r.u16(eocd + 4, 'disk number');
  let count = r.u16(eocd + 10, 'entry count');
  let cdSize = r.u32(eocd + 12, 'central directory size');
  let cdOffset = r.u32(eocd + 16, 'central directory offset');
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff || disk === 0xffff) {
    const loc = eocd - 20;
    if (loc < 0 || r.u32(loc, 'ZIP64 locator signature') !== SIG_EOCD64_LOCATOR) fail(name, 'the end-of-central-directory record is saturated but there is no ZIP64 locator before it');
    const eocd64 = r.u64(loc + 8, 'ZIP64 end-of-central-directory offset');
    if (r.u32(eocd64, 'ZIP64 end-of-central-directory signature') !== SIG_EOCD64) fail(name, `no ZIP64 end-of-central-directory record at byte ${eocd64}`);
    disk = r.u32(eocd64 + 16, 'ZIP64 disk number');
    count = r.u64(eocd64 + 32, 'ZIP64 entry count');
    cdSize = r.u64(eocd64 + 40, 'ZIP64 central directory size');
    cdOffset = r.u64(eocd64 + 48, 'ZIP64 central directory offset');
  }
  if (disk !== 0) fail(name, 'multi-disk (split) archives are not supported');
  if (cdOffset + cdSize > bytes.byteLength) fail(name, `the central directory (bytes ${cdOffset}..${cdOffset + cdSize}) runs past the end of the file (${bytes.byteLength} bytes); the file is truncated`);

  const entries = new Map<string, ZipEntry>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (r.u32(at, 'central directory signature') !== SIG_CENTRAL) fail(name, `central directory entry ${i} at byte ${at} has a bad signature`);
    const flags = r.u16(at + 8, 'flags');
    const nameLen = r.u16(at + 28, 'name length');
    const extraLen = r.u16(at + 30, 'extra length');
    const commentLen = r.u16(at + 32, 'comment length');
    let entryName: string;
    try {
      entryName = utf8.decode(r.slice(at + 46, nameLen, 'entry name'));
    } catch {
      fail(name, `central directory entry ${i} has a name that is not UTF-8`);
    }
    const e: ZipEntry = {
      name: entryName,
      method: r.u16(at + 10, 'method'),
      crc: r.u32(at + 16, 'CRC-32'),
      compressedSize: r.u32(at + 20, 'compressed size'),
      size: r.u32(at + 24, 'size'),
      headerOffset: r.u32(at + 42, 'header offset'),
    };
    applyZip64(r, at + 46 + nameLen, extraLen, e, name);
    if (flags & 0x1) fail(name, `entry '${entryName}' is encrypted`);
    if (entries.has(entryName)) fail(name, `entry '${entryName}' appears twice`);
    entries.set(entryName, e);
    at += 46 + nameLen + extraLen + commentLen;
  }

  const read = (entryName: string): Uint8Array => {
    const e = entries.get(entryName);
    if (!e) fail(name, `entry '${entryName}' is missing`);
    if (r.u32(e.headerOffset, `entry '${entryName}' local header`) !== SIG_LOCAL) fail(name, `entry '${entryName}': no local file header at byte ${e.headerOffset}`);
    const dataAt = e.headerOffset + 30 + r.u16(e.headerOffset + 26, 'local name length') + r.u16(e.headerOffset + 28, 'local extra length');
    const raw = r.slice(dataAt, e.compressedSize, `entry '${entryName}' data (${e.compressedSize} bytes)`);
    let data: Uint8Array;
    if (e.method === 0) {
      if (e.compressedSize !== e.size) fail(name, `stored entry '${entryName}' has compressed size ${e.compressedSize} but size ${e.size}`);
      data = raw;
    } else if (e.method === 8) {
      data = inflateRaw(raw, `${name}: entry '${entryName}'`);
      if (data.byteLength !== e.size) fail(name, `entry '${entryName}' inflated to ${data.byteLength} bytes, but the directory says ${e.size}`);
    } else {
      fail(name, `entry '${entryName}' uses compression method ${e.method}; only stored (0) and deflate (8) are supported`);
    }
    const actual = crc32(data);
    if (actual !== e.crc) fail(name, `entry '${entryName}' fails its CRC-32 check (directory ${hex(e.crc)}, data ${hex(actual)}); the file is corrupt`);
    return data;
  };
  return { entries, read };
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

/**
 * Writes a zip archive of stored (uncompressed) entries, each entry's data aligned to
 * ZIP_ALIGNMENT bytes. Archives of 4 GiB or more would need ZIP64 records, which this writer does
 * not emit; it refuses them rather than writing a file that readers would misparse.
 */
export function writeZip(files: [string, Uint8Array][]): Uint8Array {
  const enc = new TextEncoder();
  const names = files.map(([n]) => enc.encode(n));
  const crcs = files.map(([, d]) => crc32(d));
  // Layout pass: where every local header, and so every entry's data, lands.
  const offsets: number[] = [];
  const pads: number[] = [];
  let pos = 0;
  for (let i = 0; i < files.length; i++) {
    offsets.push(pos);
    const bare = pos + 30 + names[i]!.byteLength;
    // Padding is an extra field: 4 bytes of id and length, then filler; so at least 4 bytes.
    let pad = (ZIP_ALIGNMENT - (bare % ZIP_ALIGNMENT)) % ZIP_ALIGNMENT;
    if (pad > 0 && pad < 4) pad += ZIP_ALIGNMENT;
    pads.push(pad);
    pos = bare + pad + files[i]![1].byteLength;
  }
  const cdOffset = pos;
  const cdSize = names.reduce((s, n) => s + 46 + n.byteLength, 0);
  const total = cdOffset + cdSize + EOCD_SIZE;
  if (total >= 0xffffffff || files.length >= 0xffff) throw new EngramError(`writeZip: the archive would be ${total} bytes with ${files.length} entries; ZIP64 archives (4 GiB or 65535 entries) are not supported by this writer`);

  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < files.length; i++) {
    const at = offsets[i]!;
    const data = files[i]![1];
    dv.setUint32(at, SIG_LOCAL, true);
    dv.setUint16(at + 4, 20, true); // version needed: 2.0
    dv.setUint16(at + 6, 0, true); // flags
    dv.setUint16(at + 8, 0, true); // stored
    dv.setUint32(at + 10, 0, true); // DOS time/date 0, as PyTorch writes (reproducible files)
    dv.setUint32(at + 14, crcs[i]!, true);
    dv.setUint32(at + 18, data.byteLength, true);
    dv.setUint32(at + 22, data.byteLength, true);
    dv.setUint16(at + 26, names[i]!.byteLength, true);
    dv.setUint16(at + 28, pads[i]!, true);
    out.set(names[i]!, at + 30);
    const extra = at + 30 + names[i]!.byteLength;
    if (pads[i]! > 0) {
      dv.setUint16(extra, PAD_EXTRA_ID, true);
      dv.setUint16(extra + 2, pads[i]! - 4, true);
      out.fill(0x5a, extra + 4, extra + pads[i]!); // 'Z' filler, like PyTorch's
    }
    out.set(data, extra + pads[i]!);
  }
  let at = cdOffset;
  for (let i = 0; i < files.length; i++) {
    const size = files[i]![1].byteLength;
    dv.setUint32(at, SIG_CENTRAL, true);
    dv.setUint16(at + 4, 20, true); // version made by
    dv.setUint16(at + 6, 20, true); // version needed
    dv.setUint16(at + 8, 0, true);
    dv.setUint16(at + 10, 0, true);
    dv.setUint32(at + 12, 0, true);
    dv.setUint32(at + 16, crcs[i]!, true);
    dv.setUint32(at + 20, size, true);
    dv.setUint32(at + 24, size, true);
    dv.setUint16(at + 28, names[i]!.byteLength, true);
    // extra, comment, disk, internal and external attributes: all 0 (zero-filled already)
    dv.setUint32(at + 42, offsets[i]!, true);
    out.set(names[i]!, at + 46);
    at += 46 + names[i]!.byteLength;
  }
  dv.setUint32(at, SIG_EOCD, true);
  dv.setUint16(at + 8, files.length, true);
  dv.setUint16(at + 10, files.length, true);
  dv.setUint32(at + 12, cdSize, true);
  dv.setUint32(at + 16, cdOffset, true);
  return out;
}
