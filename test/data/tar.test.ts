import { describe, it, expect } from 'vitest';
import { gunzip, readTar } from '../../src/data/index.js';
import { errorOf, expected, fixture, sum } from './fixtures.js';

function expectFilesAsPythonWrote(files: Map<string, Uint8Array>): void {
  const summary = Object.fromEntries([...files].map(([path, data]) => [path, { size: data.length, sum: sum(data) }]));
  expect(summary).toEqual(expected.tar.files);
}

describe('readTar', () => {
  it('reads a GNU tar (long names in L entries), keeping only regular files', () => {
    const { bytes, name } = fixture('tar', 'gnu.tar');
    expectFilesAsPythonWrote(readTar(bytes, name));
  });

  it('reads a pax tar (long and non-ASCII names in x headers)', () => {
    const { bytes, name } = fixture('tar', 'pax.tar');
    expectFilesAsPythonWrote(readTar(bytes, name));
  });

  it('returns file contents byte for byte', () => {
    const { bytes, name } = fixture('tar', 'pax.tar');
    const text = new TextDecoder().decode(readTar(bytes, name).get('top/café.txt'));
    expect(text).toBe('déjà vu');
  });

  it('reads the tar inside cifar-10-binary.tar.gz', () => {
    const { bytes, name } = fixture('cifar-10-binary.tar.gz');
    const files = readTar(gunzip(bytes, name), name);
    expect([...files.keys()].sort()).toEqual([
      'cifar-10-batches-bin/batches.meta.txt',
      'cifar-10-batches-bin/data_batch_1.bin',
      'cifar-10-batches-bin/data_batch_2.bin',
      'cifar-10-batches-bin/data_batch_3.bin',
      'cifar-10-batches-bin/data_batch_4.bin',
      'cifar-10-batches-bin/data_batch_5.bin',
      'cifar-10-batches-bin/test_batch.bin',
    ]);
    expect(files.get('cifar-10-batches-bin/data_batch_3.bin')!.length).toBe(2 * 3073);
  });

  it('rejects a header whose checksum does not match, naming the archive and the entry', () => {
    const { bytes } = fixture('tar', 'gnu.tar');
    const corrupt = bytes.slice();
    corrupt[512 + 2] = corrupt[512 + 2]! ^ 0x20; // second header: 'top/hello.txt' becomes 'toP/hello.txt'
    expect(errorOf(() => readTar(corrupt, 'gnu.tar'))).toMatch(/^gnu\.tar: tar header checksum mismatch for entry 'toP\/hello\.txt'.*corrupt/);
  });

  it('rejects an archive cut inside an entry, naming the archive and the entry', () => {
    const { bytes } = fixture('cifar-10-binary.tar.gz');
    const tar = gunzip(bytes, 'cifar-10-binary.tar.gz');
    const files = [...readTar(tar, 'x').keys()];
    expect(files).toContain('cifar-10-batches-bin/data_batch_1.bin');
    // Header 0 is the folder, header 1 + data is batches.meta.txt, then data_batch_1.bin's header.
    const cut = tar.subarray(0, 512 * 4 + 1000);
    expect(errorOf(() => readTar(cut, 'cifar-10-binary.tar'))).toBe(
      "cifar-10-binary.tar: tar archive is truncated inside entry 'cifar-10-batches-bin/data_batch_1.bin' (needs 6146 bytes of data, only 1000 present)",
    );
  });

  it('rejects an archive that stops at an entry boundary without the end-of-archive marker', () => {
    const { bytes } = fixture('tar', 'gnu.tar');
    const firstTwoEntries = bytes.subarray(0, 512 * 3); // 'top/' header, 'top/hello.txt' header + 1 data block
    expect(errorOf(() => readTar(firstTwoEntries, 'gnu.tar'))).toMatch(
      /^gnu\.tar: tar archive ends without its end-of-archive marker after entry 'top\/hello\.txt'; the archive is truncated/,
    );
    expect(errorOf(() => readTar(bytes.subarray(0, 512 * 3 + 100), 'gnu.tar'))).toMatch(/truncated inside a header block after entry 'top\/hello\.txt'/);
  });
});
