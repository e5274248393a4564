import { describe, it, expect } from 'vitest';
import { gzipSync } from 'node:zlib';
import {
  CIFAR10_CLASS_NAMES,
  cifar100FromArchive,
  cifar100FromBin,
  cifar10FromArchive,
  cifar10FromBins,
  parseCifar10,
} from '../../src/data/index.js';
import { errorOf, expectImagesMatch, expected, fixture } from './fixtures.js';

describe('CIFAR-10 binary batches', () => {
  it('a batch file holds 3x32x32 images in NCHW order with the labels Python wrote', () => {
    const dataset = cifar10FromBins([fixture('cifar10_sample.bin')]);
    expect([dataset.channels, dataset.height, dataset.width]).toEqual([3, 32, 32]);
    expect(Array.from(dataset.labels)).toEqual(expected.cifar10_sample.labels);
    expectImagesMatch(dataset, expected.cifar10_sample);
    expect(dataset.classNames).toEqual(CIFAR10_CLASS_NAMES);
  });

  it('several batches are concatenated in the order given', () => {
    const file = fixture('cifar10_sample.bin');
    const twice = cifar10FromBins([file, { ...file, name: 'again.bin' }]);
    expect(twice.length).toBe(40);
    expect(Array.from(twice.labels.subarray(20))).toEqual(expected.cifar10_sample.labels);
  });

  it('a gzipped batch file is read too', () => {
    const { bytes } = fixture('cifar10_sample.bin');
    expect(parseCifar10(gzipSync(bytes), 'data_batch_1.bin.gz').n).toBe(20);
  });

  it('cifar-10-binary.tar.gz gives the 5 training batches in order, or the test batch', () => {
    const { bytes, name } = fixture('cifar-10-binary.tar.gz');
    const train = cifar10FromArchive(bytes, name, { train: true });
    const test = cifar10FromArchive(bytes, name, { train: false });
    expect(Array.from(train.labels)).toEqual(expected.cifar10_archive.train.labels);
    expectImagesMatch(train, expected.cifar10_archive.train);
    expect(Array.from(test.labels)).toEqual(expected.cifar10_archive.test.labels);
    expectImagesMatch(test, expected.cifar10_archive.test);
    expect(train.classNames).toEqual(expected.cifar10_archive.classNames);
  });

  it('a file whose length is not a whole number of 3073-byte records is refused', () => {
    const { bytes } = fixture('cifar10_sample.bin');
    expect(errorOf(() => parseCifar10(bytes.subarray(0, 3073 * 4 + 100), 'data_batch_1.bin'))).toBe(
      'data_batch_1.bin: CIFAR-10 file length 12392 is not a multiple of the 3073-byte record (1 label byte + 3072 pixels): ' +
        '4 whole records and 100 bytes left over; the file is truncated or not a CIFAR-10 binary file',
    );
    expect(errorOf(() => parseCifar10(new Uint8Array(0), 'empty.bin'))).toBe('empty.bin: CIFAR-10 file is empty');
  });

  it('a label above 9 is refused, naming the file and the record', () => {
    const bad = fixture('cifar10_sample.bin').bytes.slice();
    bad[3073 * 7] = 10;
    expect(errorOf(() => parseCifar10(bad, 'data_batch_2.bin'))).toBe('data_batch_2.bin: record 7 has label 10, but CIFAR-10 labels are 0..9');
  });

  it('an archive missing a batch says which one', () => {
    const { bytes } = fixture('cifar-100-binary.tar.gz');
    expect(errorOf(() => cifar10FromArchive(bytes, 'wrong.tar.gz', { train: true }))).toMatch(
      /^wrong\.tar\.gz: archive has no data_batch_1\.bin \(its files: cifar-100-binary\/coarse_label_names\.txt, /,
    );
  });
});

describe('CIFAR-100 binary files', () => {
  it('train.bin with fine labels (0..99) or coarse labels (0..19)', () => {
    const { bytes, name } = fixture('cifar100_train.bin');
    const fine = cifar100FromBin(bytes, name, { labels: 'fine' });
    const coarse = cifar100FromBin(bytes, name, { labels: 'coarse' });
    expect(Array.from(fine.labels)).toEqual(expected.cifar100.train.fine);
    expect(Array.from(coarse.labels)).toEqual(expected.cifar100.train.coarse);
    expect(fine.labels[0]).toBe(99);
    expect(coarse.labels[0]).toBe(19);
    expectImagesMatch(fine, expected.cifar100.train);
    expectImagesMatch(coarse, expected.cifar100.train);
  });

  it('cifar-100-binary.tar.gz gives train or test with class names from the archive', () => {
    const { bytes, name } = fixture('cifar-100-binary.tar.gz');
    const train = cifar100FromArchive(bytes, name, { train: true, labels: 'fine' });
    const test = cifar100FromArchive(bytes, name, { train: false, labels: 'coarse' });
    expect(Array.from(train.labels)).toEqual(expected.cifar100.train.fine);
    expectImagesMatch(train, expected.cifar100.train);
    expect(train.classNames).toEqual(expected.cifar100.fineNames);
    expect(Array.from(test.labels)).toEqual(expected.cifar100.test.coarse);
    expectImagesMatch(test, expected.cifar100.test);
    expect(test.classNames).toEqual(expected.cifar100.coarseNames);
  });

  it('a truncated file and out-of-range labels are refused', () => {
    const { bytes } = fixture('cifar100_test.bin');
    expect(errorOf(() => cifar100FromBin(bytes.subarray(1), 'test.bin', { labels: 'fine' }))).toMatch(
      /^test\.bin: CIFAR-100 file length 18443 is not a multiple of the 3074-byte record \(2 label bytes \+ 3072 pixels\)/,
    );
    const badFine = bytes.slice();
    badFine[3074 * 2 + 1] = 100;
    expect(errorOf(() => cifar100FromBin(badFine, 'test.bin', { labels: 'coarse' }))).toBe(
      'test.bin: record 2 has fine label 100, but CIFAR-100 fine labels are 0..99',
    );
    const badCoarse = bytes.slice();
    badCoarse[3074 * 5] = 20;
    expect(errorOf(() => cifar100FromBin(badCoarse, 'test.bin', { labels: 'fine' }))).toBe(
      'test.bin: record 5 has coarse label 20, but CIFAR-100 coarse labels are 0..19',
    );
  });

  it('a CIFAR-10 file read as CIFAR-100 is caught by the record size', () => {
    const { bytes } = fixture('cifar10_sample.bin');
    expect(errorOf(() => cifar100FromBin(bytes, 'cifar10_sample.bin', { labels: 'fine' }))).toMatch(/not a multiple of the 3074-byte record/);
  });
});
