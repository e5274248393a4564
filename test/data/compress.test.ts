import { describe, it, expect } from 'vitest';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { adler32, crc32, gunzip, maybeDecompress, unzlib } from '../../src/data/index.js';
import { errorOf, firstDifference } from './fixtures.js';

// Data with structure and noise, so the compressed streams contain real Huffman blocks.
const original = Uint8Array.from({ length: 100_000 }, (_, i) => (i % 251) ^ ((i * 2654435761) >>> 24));

describe('checksums', () => {
  it('CRC-32 and Adler-32 agree with the standard check values', () => {
    const ascii = new TextEncoder().encode('123456789');
    expect(crc32(ascii)).toBe(0xcbf43926);
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
  });
});

describe('gunzip', () => {
  it('inflates what Node zlib compressed, verifying the trailer', () => {
    expect(firstDifference(gunzip(gzipSync(original), 'data.gz'), original)).toBe(-1);
  });

  it('reads header fields (file name) that gzip -N writes', () => {
    // Build a gzip header with FNAME set by hand: 1f 8b 08 08 mtime(4) xfl os "name\0".
    const body = gzipSync(original).subarray(10);
    const header = Uint8Array.from([0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3, ...new TextEncoder().encode('orig.bin'), 0]);
    const file = new Uint8Array(header.length + body.length);
    file.set(header);
    file.set(body, header.length);
    expect(firstDifference(gunzip(file, 'named.gz'), original)).toBe(-1);
  });

  it('reports a truncated stream, naming the file', () => {
    const gz = gzipSync(original);
    for (const keep of [gz.length - 3, gz.length - 8, Math.floor(gz.length / 2), 12]) {
      const message = errorOf(() => gunzip(gz.subarray(0, keep), 'train-images-idx3-ubyte.gz'));
      expect(message).toMatch(/^train-images-idx3-ubyte\.gz: gzip stream is truncated or corrupt/);
    }
  });

  it('reports a flipped bit through the CRC even when the deflate stream still decodes', () => {
    const stored = gzipSync(original, { level: 0 }); // stored blocks: any payload byte can change silently
    stored[5000] = stored[5000]! ^ 0x01;
    expect(errorOf(() => gunzip(stored, 'x.gz'))).toMatch(/^x\.gz: gzip stream is truncated or corrupt \(CRC-32 mismatch/);
  });

  it('reports a length trailer that disagrees with the data, whether too small or too large', () => {
    const gz = new Uint8Array(gzipSync(original)); // a plain copy: Buffer.slice would not copy
    const view = new DataView(gz.buffer);
    for (const wrong of [original.length - 1, original.length + 1, 7]) {
      const damaged = gz.slice();
      new DataView(damaged.buffer).setUint32(damaged.length - 4, wrong, true);
      expect(errorOf(() => gunzip(damaged, 'x.gz'))).toMatch(/^x\.gz: gzip stream is truncated or corrupt \((inflated to|CRC-32 mismatch)/);
    }
    expect(view.getUint32(gz.length - 4, true)).toBe(original.length);
  });
});

describe('unzlib', () => {
  it('inflates a zlib stream and checks its Adler-32', () => {
    const z = deflateSync(original);
    expect(firstDifference(unzlib(z, 'z'), original)).toBe(-1);
    const damaged = deflateSync(original, { level: 0 });
    damaged[300] = damaged[300]! ^ 0x80;
    expect(errorOf(() => unzlib(damaged, 'var.mat'))).toMatch(/^var\.mat: zlib stream is truncated or corrupt \(Adler-32 mismatch/);
  });
});

describe('maybeDecompress', () => {
  it('sniffs gzip and zlib from the header and passes anything else through unchanged', () => {
    expect(firstDifference(maybeDecompress(gzipSync(original), 'a.gz'), original)).toBe(-1);
    expect(firstDifference(maybeDecompress(deflateSync(original), 'a.z'), original)).toBe(-1);
    const raw = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 0]);
    expect(maybeDecompress(raw, 'raw')).toBe(raw);
    // Raw DEFLATE has no header to sniff, so it is left alone.
    const deflated = deflateRawSync(original);
    expect(maybeDecompress(deflated, 'raw-deflate')).toBe(deflated);
  });
});
