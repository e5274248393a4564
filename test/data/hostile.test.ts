// Hostile input: decompression bombs in every compressed format, gzip framing tricks, junk inside a
// MAT compressed element, and URLs whose connection drops, stalls or is aborted.
//
// Each bomb inflates to 1 GiB but is built from one compressed MiB of zeros repeated, so neither the
// test nor the file ever holds the inflated data. Every bomb is read in a child process of its own,
// which reports how far its peak resident memory (maxRSS) rose while reading: the check is that the
// reader refused the file, naming it, before that rise reached 100 MB. With the compression-ratio
// guard turned off, the format's own bound must stop it within that bound plus 64 MB.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants, crc32 as zlibCrc32, deflateRawSync, deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import ts from 'typescript';
import { CifarArchive, fetchBytes, gunzip, mnistFromURL, parseIdx, readMat, svhnFromURL, unzlib } from '../../src/data/index.js';
import { asyncErrorOf, errorOf, firstDifference, REPO } from './fixtures.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const MEMORY_LIMIT = 100 * 1000 * 1000;

// ---------------------------------------------------------------------------------------------
// Building compressed files from pieces

/** Raw DEFLATE blocks for `data` ending in a sync flush and without the final bit: such pieces concatenate into one stream. */
function deflatePiece(data: Uint8Array): Uint8Array {
  return deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
}

const ZERO_MIB = new Uint8Array(MiB);
const ZERO_MIB_PIECE = deflatePiece(ZERO_MIB);
const FINAL_EMPTY_BLOCK = deflateRawSync(new Uint8Array(0));

/** `prefix` followed by `zeros` zero bytes (a whole number of MiB), as the parts of one raw DEFLATE stream. */
function deflateWithZeros(prefix: Uint8Array, zeros: number): Uint8Array[] {
  if (zeros % MiB !== 0) throw new Error('zeros must be whole MiB');
  const pieces = [deflatePiece(prefix)];
  for (let i = 0; i < zeros / MiB; i++) pieces.push(ZERO_MIB_PIECE);
  pieces.push(FINAL_EMPTY_BLOCK);
  return pieces;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function uint32(value: number, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, littleEndian);
  return out;
}

/** A gzip file of `prefix` then `zeros` zero bytes, with a correct CRC-32 and length trailer. */
function gzipWithZeros(prefix: Uint8Array, zeros: number): Uint8Array {
  let crc = zlibCrc32(prefix);
  for (let i = 0; i < zeros / MiB; i++) crc = zlibCrc32(ZERO_MIB, crc);
  const header = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  return concat([header, ...deflateWithZeros(prefix, zeros), uint32(crc, true), uint32((prefix.length + zeros) % 2 ** 32, true)]);
}

/** A zlib stream of `prefix` then `zeros` zero bytes, with a correct Adler-32 trailer. */
function zlibWithZeros(prefix: Uint8Array, zeros: number): Uint8Array {
  let a = 1;
  let b = 0;
  for (const byte of prefix) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  b = (b + (zeros % 65521) * a) % 65521; // Zeros leave a alone and add a to b once each.
  return concat([Uint8Array.from([0x78, 0x9c]), ...deflateWithZeros(prefix, zeros), uint32(((b << 16) | a) >>> 0, false)]);
}

function idxHeader(shape: readonly number[]): Uint8Array {
  return concat([Uint8Array.from([0, 0, 8, shape.length]), ...shape.map((d) => uint32(d, false))]);
}

/** A ustar header block for a regular file (or another type), with a valid checksum. */
function tarHeader(path: string, size: number, type = '0'): Uint8Array {
  const h = new Uint8Array(512);
  const put = (offset: number, text: string) => h.set(new TextEncoder().encode(text), offset);
  put(0, path);
  put(100, '0000644\0');
  put(124, `${size.toString(8).padStart(11, '0')}\0`);
  put(136, '00000000000\0');
  h.fill(0x20, 148, 156);
  put(156, type);
  put(257, 'ustar\x0000');
  const sum = h.reduce((s, b) => s + b, 0);
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** A MAT data element tag (long form). */
function matTag(type: number, size: number): Uint8Array {
  return concat([uint32(type, true), uint32(size, true)]);
}

/** An miMATRIX element for a uint8 variable, little-endian, padded as MATLAB pads it. */
function matMatrix(name: string, dims: readonly number[], values: readonly number[]): Uint8Array {
  const pad = (bytes: Uint8Array) => concat([bytes, new Uint8Array((8 - (bytes.length % 8)) % 8)]);
  const flags = concat([matTag(6, 8), uint32(9, true), uint32(0, true)]); // miUINT32: class uint8
  const dimsElement = pad(concat([matTag(5, 4 * dims.length), ...dims.map((d) => uint32(d, true))]));
  const nameElement = pad(concat([matTag(1, name.length), new TextEncoder().encode(name)]));
  const real = pad(concat([matTag(2, values.length), Uint8Array.from(values)]));
  const body = concat([flags, dimsElement, nameElement, real]);
  return concat([matTag(14, body.length), body]);
}

function matHeader(): Uint8Array {
  const header = new Uint8Array(128).fill(0x20);
  header.set(new TextEncoder().encode('MATLAB 5.0 MAT-file, written by the engram tests'), 0);
  header.set([0, 1, 0x49, 0x4d], 124); // version 0x0100, "IM" (little-endian)
  return header;
}

/** A MAT-file with one miCOMPRESSED element holding `zlibStream`. */
function matWithCompressed(zlibStream: Uint8Array): Uint8Array {
  return concat([matHeader(), matTag(15, zlibStream.length), zlibStream]);
}

// ---------------------------------------------------------------------------------------------
// The bombs, each read in a child process

/** The dataset readers, transpiled to plain JavaScript so that a bare `node` child can import them. */
let lib = '';
let work = '';

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'engram-hostile-'));
  lib = join(work, 'lib');
  mkdirSync(lib);
  writeFileSync(join(work, 'package.json'), '{ "type": "module" }');
  const fflate = pathToFileURL(join(REPO, 'node_modules/fflate/esm/index.mjs')).href;
  for (const file of ['checksums', 'compress', 'idx', 'cifar', 'tar', 'mat', 'mat-element', 'readers', 'dataset']) {
    const source = readFileSync(join(REPO, 'src/data', `${file}.ts`), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    writeFileSync(join(lib, `${file}.js`), js.replace(/from 'fflate'/g, `from '${fflate}'`));
  }
  writeFileSync(join(work, 'child.mjs'), CHILD);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

// The child reads the bomb, then measures how far the peak of its resident memory rises while a
// reader runs. maxRSS before the call is the baseline: the process has freed nothing yet, so it is
// the resident size at that moment.
const CHILD = `
import { readFileSync } from 'node:fs';
const [kind, file, json] = process.argv.slice(2);
const options = JSON.parse(json, (k, v) => (v === 'Infinity' ? Infinity : v));
const { parseIdx } = await import('./lib/idx.js');
const { parseCifar10, CifarArchive } = await import('./lib/cifar.js');
const { svhnFromMat } = await import('./lib/readers.js');
const bytes = new Uint8Array(readFileSync(file));
const read = {
  idx: () => parseIdx(bytes, file, options),
  cifar10: () => parseCifar10(bytes, file, options),
  'tar.gz': () => CifarArchive.read(bytes, file, options),
  svhn: () => svhnFromMat(bytes, file, options),
}[kind];
const before = process.resourceUsage().maxRSS * 1024;
let message = null;
try {
  read();
} catch (err) {
  message = err.message;
}
const after = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ growth: after - before, message }));
`;

interface ChildResult {
  growth: number;
  message: string | null;
}

function readInChild(kind: string, file: string, options: Record<string, unknown> = {}): Promise<ChildResult> {
  const json = JSON.stringify(options, (_, v) => (v === Infinity ? 'Infinity' : v));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['child.mjs', kind, file, json], { cwd: work, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`child failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as ChildResult);
    });
  });
}

function writeBomb(name: string, bytes: Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

interface BombCase {
  format: string;
  kind: string;
  file: string;
  build: () => Uint8Array;
  /** The error with default options: the format's own bound when it is reached first, else the compression-ratio guard. */
  byDefault: RegExp;
  /** With the ratio guard off: what the format's own bound says. */
  byHeader: RegExp;
  /** That bound in bytes: with the guard off, memory may grow to it plus a fixed overhead. */
  bound: number;
}

/** fflate's discarded buffers that the garbage collector has not yet reclaimed, at most. */
const OVERHEAD_LIMIT = 64 * 1000 * 1000;

const IDX_SHAPE = [60000, 28, 28];
const TAR_PREFIX = concat([tarHeader('cifar-10-batches-bin/batches.meta.txt', 4), new TextEncoder().encode('cat\n'), new Uint8Array(508), new Uint8Array(1024)]);
const MATRIX = matMatrix('y', [1, 4], [1, 2, 3, 4]);

const BOMBS: BombCase[] = [
  {
    format: 'idx .gz',
    kind: 'idx',
    file: 'train-images-idx3-ubyte.gz',
    build: () => gzipWithZeros(idxHeader(IDX_SHAPE), GiB),
    byDefault: /^\S+train-images-idx3-ubyte\.gz: inflates more than 100-fold \(\d+ bytes from the first \d+ compressed bytes\).*pass \{ maxCompressionRatio \}/,
    byHeader: /^\S+train-images-idx3-ubyte\.gz: decompresses to more than 47040016 bytes, the size its IDX header declares \(shape \[60000, 28, 28\]\); the file is corrupt or a decompression bomb$/,
    bound: 47040016,
  },
  {
    format: 'CIFAR .bin.gz',
    kind: 'cifar10',
    file: 'data_batch_1.bin.gz',
    build: () => gzipWithZeros(new Uint8Array(0), GiB),
    byDefault: /^\S+data_batch_1\.bin\.gz: inflates more than 100-fold/,
    byHeader: /^\S+data_batch_1\.bin\.gz: decompresses to more than 30730000 bytes, the size of the 10000 records in the official CIFAR-10 data_batch_1\.bin; if this is a larger file in CIFAR-10 format, pass \{ maxDecompressedBytes \}/,
    bound: 30730000,
  },
  {
    format: '.tar.gz',
    kind: 'tar.gz',
    file: 'cifar-10-binary.tar.gz',
    // A valid archive, its end-of-archive marker, then 1 GiB of zeros: once accepted whole.
    build: () => gzipWithZeros(TAR_PREFIX, GiB),
    byDefault: /^\S+cifar-10-binary\.tar\.gz: decompresses to more than 67584 bytes, the size its tar headers declare \(end-of-archive marker at byte 1024, plus at most 65536 bytes of padding\)/,
    byHeader: /^\S+cifar-10-binary\.tar\.gz: decompresses to more than 67584 bytes, the size its tar headers declare \(end-of-archive marker at byte 1024, plus at most 65536 bytes of padding\)/,
    bound: 67584,
  },
  {
    format: 'SVHN .mat compressed element',
    kind: 'svhn',
    file: 'train_32x32.mat',
    // A valid variable, then 1 GiB of zeros inside the same compressed element: once ignored.
    build: () => matWithCompressed(zlibWithZeros(MATRIX, GiB)),
    byDefault: new RegExp(`^\\S+train_32x32\\.mat \\(compressed element at byte 128\\): decompresses to more than ${MATRIX.length} bytes, the size its miMATRIX tag declares`),
    byHeader: new RegExp(`^\\S+train_32x32\\.mat \\(compressed element at byte 128\\): decompresses to more than ${MATRIX.length} bytes, the size its miMATRIX tag declares`),
    bound: MATRIX.length,
  },
];

describe('a 1 GiB decompression bomb is refused, naming the file, with peak memory under 100 MB above baseline', () => {
  for (const bomb of BOMBS) {
    it(`${bomb.format}: with default options, and by the format's own size with the ratio guard off`, async () => {
      const path = writeBomb(bomb.file, bomb.build());
      const byDefault = await readInChild(bomb.kind, path);
      const byHeader = await readInChild(bomb.kind, path, { maxCompressionRatio: Infinity });
      console.log(
        `${bomb.format}: ${(readFileSync(path).length / MiB).toFixed(2)} MiB bomb; peak +${(byDefault.growth / 1e6).toFixed(1)} MB (defaults), ` +
          `+${(byHeader.growth / 1e6).toFixed(1)} MB (format bound, no ratio guard)`,
      );
      expect(byDefault.message).toMatch(bomb.byDefault);
      expect(byDefault.growth).toBeLessThan(MEMORY_LIMIT);
      expect(byHeader.message).toMatch(bomb.byHeader);
      expect(byHeader.growth).toBeLessThan(bomb.bound + OVERHEAD_LIMIT);
    });
  }

  it('a header that honestly declares 1 GiB is refused before allocating when over the cap', async () => {
    const cap = { maxCompressionRatio: Infinity, maxDecompressedBytes: 256 * MiB };
    const idx = writeBomb('big-idx.gz', gzipWithZeros(idxHeader([16384, 256, 256]), GiB));
    const tar = writeBomb('big.tar.gz', gzipWithZeros(tarHeader('data_batch_1.bin', GiB), GiB));
    const mat = writeBomb('big.mat', matWithCompressed(zlibWithZeros(matTag(14, GiB), GiB)));
    const results = [await readInChild('idx', idx, cap), await readInChild('tar.gz', tar, cap), await readInChild('svhn', mat, cap)];
    expect(results[0]!.message).toMatch(
      /big-idx\.gz: the size its IDX header declares \(shape \[16384, 256, 256\]\) is 1073741840 bytes, more than the cap of 268435456 decompressed bytes; pass \{ maxDecompressedBytes \} to raise the cap$/,
    );
    expect(results[1]!.message).toMatch(/big\.tar\.gz: the size its tar headers declare so far is 1073742336 bytes, more than the cap of 268435456/);
    expect(results[2]!.message).toMatch(/big\.mat \(compressed element at byte 128\): the size its miMATRIX tag declares is 1073741832 bytes, more than the cap/);
    for (const result of results) expect(result.growth).toBeLessThan(MEMORY_LIMIT);
    // With neither a header bound nor a guard, the cap alone stops a headerless CIFAR file.
    const cifar = writeBomb('my_cifar.bin.gz', gzipWithZeros(new Uint8Array(0), GiB));
    const capped = await readInChild('cifar10', cifar, { maxCompressionRatio: Infinity, maxDecompressedBytes: 16 * MiB });
    expect(capped.message).toMatch(/my_cifar\.bin\.gz: decompresses to more than 16777216 bytes, the cap on decompressed size; pass \{ maxDecompressedBytes \} to raise the cap/);
    expect(capped.growth).toBeLessThan(MEMORY_LIMIT);
  });

  it('the bombs are valid streams: a small one built the same way inflates with Node zlib', () => {
    const prefix = idxHeader([3, 2, 2]);
    const expected = concat([prefix, new Uint8Array(4 * MiB)]);
    expect(firstDifference(new Uint8Array(gunzipSync(gzipWithZeros(prefix, 4 * MiB))), expected)).toBe(-1);
    expect(firstDifference(new Uint8Array(inflateSync(zlibWithZeros(prefix, 4 * MiB))), expected)).toBe(-1);
  });
});

describe('gzip framing', () => {
  const a = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) % 253);
  const b = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 13) % 249);

  it('a multi-member file (concatenated gzip streams) inflates to all members', () => {
    expect(firstDifference(gunzip(concat([gzipSync(a), gzipSync(b), gzipSync(a)]), 'multi.gz'), concat([a, b, a]))).toBe(-1);
    // An IDX file split across members, as `cat header.gz data.gz` makes it.
    const labels = Uint8Array.from({ length: 1000 }, (_, i) => i % 10);
    const parsed = parseIdx(concat([gzipSync(idxHeader([1000])), gzipSync(labels)]), 'labels.gz');
    expect(parsed.shape).toEqual([1000]);
    expect(firstDifference(parsed.data, labels)).toBe(-1);
  });

  it('bytes after the last member are refused, naming their offset', () => {
    const gz = gzipSync(a);
    expect(errorOf(() => gunzip(concat([gz, Uint8Array.from([1, 2, 3])]), 'x.gz'))).toBe(
      `x.gz: 3 bytes of trailing garbage at byte ${gz.length}, after the last gzip member; the file is corrupt (or was appended to)`,
    );
    expect(errorOf(() => gunzip(concat([gz, new Uint8Array(512)]), 'x.gz'))).toMatch(/^x\.gz: 512 bytes of trailing garbage at byte \d+/);
    // Something that starts like a member but is not one is reported as that member.
    expect(errorOf(() => gunzip(concat([gz, Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff])]), 'x.gz'))).toMatch(
      new RegExp(`^x\\.gz: gzip stream is truncated or corrupt \\(only 13 bytes of member 2 at byte ${gz.length}`),
    );
  });

  it('a member whose trailer describes only a prefix of its data is refused, not cut to the prefix', () => {
    // The trailer is that of the first half: length and CRC agree with each other, so only
    // checking the inflated length against the data (not the trailer against itself) catches it.
    const half = a.subarray(0, a.length / 2);
    const gz = new Uint8Array(gzipSync(a));
    gz.set(uint32(zlibCrc32(half), true), gz.length - 8);
    gz.set(uint32(half.length, true), gz.length - 4);
    expect(errorOf(() => gunzip(gz, 'short-trailer.gz'))).toBe(
      `short-trailer.gz: gzip stream is truncated or corrupt (inflated to ${a.length} bytes but the trailer says ${half.length})`,
    );
  });

  it('a zlib stream with bytes after its Adler-32 is refused', () => {
    const z = deflateSync(a);
    expect(errorOf(() => unzlib(concat([z, Uint8Array.from([9, 9])]), 'var'))).toBe(
      `var: 2 bytes of trailing garbage at byte ${z.length}, after the end of the zlib stream; the data is corrupt`,
    );
  });
});

describe('caps and options', () => {
  it('the cap and the ratio reach the readers, and bad values are refused naming the file', () => {
    const labels = Uint8Array.from({ length: 20_000 }, (_, i) => i % 10);
    const gz = gzipSync(concat([idxHeader([20_000]), labels]));
    expect(parseIdx(gz, 'labels.gz').data.length).toBe(20_000);
    expect(errorOf(() => parseIdx(gz, 'labels.gz', { maxDecompressedBytes: 1000 }))).toBe(
      'labels.gz: the size its IDX header declares (shape [20000]) is 20008 bytes, more than the cap of 1000 decompressed bytes; pass { maxDecompressedBytes } to raise the cap',
    );
    expect(errorOf(() => parseIdx(gz, 'labels.gz', { maxDecompressedBytes: -1 }))).toBe('labels.gz: maxDecompressedBytes must be a whole number of bytes, got -1');
    expect(errorOf(() => parseIdx(gz, 'labels.gz', { maxCompressionRatio: 0 }))).toBe('labels.gz: maxCompressionRatio must be a number >= 1, got 0');
    // Raw files are already in memory; the options change nothing for them.
    expect(parseIdx(concat([idxHeader([20_000]), labels]), 'labels', { maxDecompressedBytes: 1 }).data.length).toBe(20_000);
  });

  it('pax and GNU archives inflate within the size their tar headers declare', () => {
    for (const file of ['pax.tar', 'gnu.tar']) {
      const tar = readFileSync(join(REPO, 'test/fixtures/data/tar', file));
      const archive = CifarArchive.read(gzipSync(tar), `${file}.gz`);
      // deep.bin's name needs a pax 'x' or GNU 'L' entry before it, which the size tracking must step over.
      expect(archive.member('deep.bin').bytes.length).toBe(768);
      expect(new TextDecoder().decode(archive.member('café.txt').bytes)).toBe('déjà vu');
    }
  });
});

describe('MAT compressed elements decode exactly', () => {
  it('one variable per element is read; junk after it inside the element is refused', () => {
    const good = matWithCompressed(deflateSync(MATRIX));
    expect(Array.from(readMat(good, 'good.mat').get('y')!.data)).toEqual([1, 2, 3, 4]);
    const junk = matWithCompressed(deflateSync(concat([MATRIX, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])])));
    expect(errorOf(() => readMat(junk, 'junk.mat'))).toBe(
      `junk.mat (compressed element at byte 128): decompresses to more than ${MATRIX.length} bytes, the size its miMATRIX tag declares; the file is corrupt or a decompression bomb`,
    );
    // A second variable smuggled into the same element is junk too.
    const two = matWithCompressed(deflateSync(concat([MATRIX, matMatrix('z', [1, 1], [5])])));
    expect(errorOf(() => readMat(two, 'two.mat'))).toMatch(/^two\.mat \(compressed element at byte 128\): decompresses to more than/);
  });

  it('an element that holds something other than an miMATRIX is refused as soon as its tag inflates', () => {
    const wrong = matWithCompressed(zlibWithZeros(matTag(2, 8), 16 * MiB));
    expect(errorOf(() => readMat(wrong, 'wrong.mat'))).toBe('wrong.mat (compressed element at byte 128): expected an miMATRIX inside, found miUINT8');
  });
});

// ---------------------------------------------------------------------------------------------
// URL readers against a local server that misbehaves on purpose

describe('URL readers: dropped, stalled and aborted downloads name the URL', () => {
  let server: Server;
  let base = '';

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '';
      if (path.startsWith('/drop')) {
        // Promise a megabyte, send a kilobyte, hang up.
        res.writeHead(200, { 'content-length': String(MiB) });
        res.write(new Uint8Array(1000), () => setTimeout(() => res.socket?.destroy(), 20));
      } else if (path.startsWith('/stall')) {
        res.writeHead(200, { 'content-length': String(MiB) });
        res.write(new Uint8Array(10)); // ...and nothing more, with the connection left open.
      } else if (path.startsWith('/silent')) {
        // Never answers at all.
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('a connection dropped mid-body says how much arrived', async () => {
    const message = await asyncErrorOf(() => fetchBytes(`${base}/drop`));
    expect(message).toMatch(new RegExp(`^${base}/drop: connection closed after 1000 of ${MiB} bytes \\(`));
    expect(await asyncErrorOf(() => svhnFromURL(`${base}/drop/train_32x32.mat`))).toMatch(/\/drop\/train_32x32\.mat: connection closed after 1000 of/);
  });

  it('a server that stalls after its headers, or never answers, times out', async () => {
    const started = Date.now();
    expect(await asyncErrorOf(() => fetchBytes(`${base}/stall`, { timeoutMs: 200 }))).toBe(
      `${base}/stall: no data for 0.2 s while reading the body after 10 of ${MiB} bytes; pass a larger { timeoutMs } for a slow server`,
    );
    expect(await asyncErrorOf(() => fetchBytes(`${base}/silent`, { timeoutMs: 200 }))).toBe(
      `${base}/silent: no data for 0.2 s waiting for the response; pass a larger { timeoutMs } for a slow server`,
    );
    // Through a loader: the first stalled file fails the load and the URL is named.
    expect(await asyncErrorOf(() => mnistFromURL(`${base}/stall`, { timeoutMs: 200 }))).toMatch(/\/stall\/train-(images|labels)-idx\d-ubyte: no data for 0\.2 s/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('an AbortSignal aborts, before or during the download, with an AbortError naming the URL', async () => {
    const controller = new AbortController();
    const pending = fetchBytes(`${base}/stall`, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user closed the page')), 100);
    const error = await pending.then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.name).toBe('AbortError');
    expect(error?.message).toBe(`${base}/stall: aborted after 10 of ${MiB} bytes (user closed the page)`);
    const already = await asyncErrorOf(() => fetchBytes(`${base}/stall`, { signal: AbortSignal.abort() }));
    expect(already).toMatch(new RegExp(`^${base}/stall: aborted \\(`));
    // Aborted while waiting for the headers of a server that never answers.
    const early = new AbortController();
    setTimeout(() => early.abort(), 50);
    expect(await asyncErrorOf(() => fetchBytes(`${base}/silent`, { signal: early.signal }))).toMatch(new RegExp(`^${base}/silent: aborted before the response \\(`));
  });
});
