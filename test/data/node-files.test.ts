import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadCIFAR10, loadCIFAR100, loadFashionMNIST, loadMNIST, loadSVHN } from '../../src/data/node.js';
import { DEBIAN_FASHION_DIR, FIXTURES, MNIST_DIR, asyncErrorOf, expectImagesMatch, expected } from './fixtures.js';

let root: string;

/** Copies `from` to `root/...to`, creating folders on the way. */
function place(from: string, ...to: string[]): void {
  const target = join(root, ...to);
  mkdirSync(join(target, '..'), { recursive: true });
  copyFileSync(from, target);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'engram-data-'));
  // torchvision's MNIST layout: raw training files, gzipped test files.
  place(join(MNIST_DIR, 'train-images-idx3-ubyte'), 'torch', 'MNIST', 'raw', 'train-images-idx3-ubyte');
  place(join(MNIST_DIR, 'train-labels-idx1-ubyte'), 'torch', 'MNIST', 'raw', 'train-labels-idx1-ubyte');
  for (const file of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    writeFileSync(join(root, 'torch', 'MNIST', 'raw', `${file}.gz`), gzipSync(readFileSync(join(MNIST_DIR, file)), { level: 1 }));
  }
  // CIFAR-10 as an unpacked folder (every batch a copy of the sample), and as the archive elsewhere.
  for (const batch of ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch']) {
    place(join(FIXTURES, 'cifar10_sample.bin'), 'torch', 'cifar-10-batches-bin', `${batch}.bin`);
  }
  place(join(FIXTURES, 'cifar-10-binary.tar.gz'), 'archives', 'cifar-10-binary.tar.gz');
  place(join(FIXTURES, 'cifar100_train.bin'), 'torch', 'cifar-100-binary', 'train.bin');
  place(join(FIXTURES, 'cifar-100-binary.tar.gz'), 'archives', 'cifar-100-binary.tar.gz');
  // torchvision keeps SVHN's .mat files directly in root; some setups use a SVHN subfolder.
  place(join(FIXTURES, 'svhn', 'train_32x32.mat'), 'torch', 'train_32x32.mat');
  place(join(FIXTURES, 'svhn', 'test_32x32.mat'), 'archives', 'SVHN', 'test_32x32.mat');
  mkdirSync(join(root, 'empty', 'cifar-10-batches-py'), { recursive: true });
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('loaders for the torchvision folder layout', () => {
  it('loadMNIST reads <root>/MNIST/raw, raw or .gz, or the raw folder itself', async () => {
    const train = await loadMNIST(join(root, 'torch'), { train: true });
    expect([train.n, train.channels, train.height, train.width]).toEqual([60000, 1, 28, 28]);
    expect(train.labels[0]).toBe(5);
    const test = await loadMNIST(join(root, 'torch', 'MNIST', 'raw'), { train: false });
    expect(test.length).toBe(10000);
    expect(test.labels[0]).toBe(7);
  });

  it('loadFashionMNIST reads the Debian package by default', async () => {
    if (!existsSync(DEBIAN_FASHION_DIR)) {
      throw new Error(`${DEBIAN_FASHION_DIR} is missing: install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)`);
    }
    const test = await loadFashionMNIST(undefined, { train: false });
    expect(test.length).toBe(10000);
    expect(test.classNames![0]).toBe('T-shirt/top');
  });

  it('loadCIFAR10 reads <root>/cifar-10-batches-bin/*.bin or <root>/cifar-10-binary.tar.gz', async () => {
    const fromFolder = await loadCIFAR10(join(root, 'torch'), { train: true });
    expect(fromFolder.length).toBe(5 * 20);
    expect(Array.from(fromFolder.labels.subarray(80))).toEqual(expected.cifar10_sample.labels);
    const test = await loadCIFAR10(join(root, 'torch'), { train: false });
    expectImagesMatch(test, expected.cifar10_sample);
    const fromArchive = await loadCIFAR10(join(root, 'archives'), { train: true });
    expectImagesMatch(fromArchive, expected.cifar10_archive.train);
  });

  it('loadCIFAR100 reads <root>/cifar-100-binary/ or the archive, with fine or coarse labels', async () => {
    const fine = await loadCIFAR100(join(root, 'torch'), { train: true });
    expect(Array.from(fine.labels)).toEqual(expected.cifar100.train.fine);
    const coarse = await loadCIFAR100(join(root, 'archives'), { train: false, labels: 'coarse' });
    expect(Array.from(coarse.labels)).toEqual(expected.cifar100.test.coarse);
    expect(coarse.classNames).toEqual(expected.cifar100.coarseNames);
  });

  it('loadSVHN reads <root>/<split>_32x32.mat or <root>/SVHN/<split>_32x32.mat', async () => {
    const train = await loadSVHN(join(root, 'torch'), { split: 'train' });
    expectImagesMatch(train, expected.svhn.train);
    const test = await loadSVHN(join(root, 'archives'), { split: 'test' });
    expect(Array.from(test.labels)).toEqual(expected.svhn.test.labels);
  });

  it('a missing dataset is an error listing every path tried', async () => {
    const empty = join(root, 'empty');
    const mnist = await asyncErrorOf(() => loadMNIST(empty));
    expect(mnist).toBe(
      [
        'loadMNIST: cannot find train-images-idx3-ubyte; tried:',
        `  ${join(empty, 'MNIST', 'raw', 'train-images-idx3-ubyte')}`,
        `  ${join(empty, 'MNIST', 'raw', 'train-images-idx3-ubyte.gz')}`,
        `  ${join(empty, 'raw', 'train-images-idx3-ubyte')}`,
        `  ${join(empty, 'raw', 'train-images-idx3-ubyte.gz')}`,
        `  ${join(empty, 'train-images-idx3-ubyte')}`,
        `  ${join(empty, 'train-images-idx3-ubyte.gz')}`,
      ].join('\n'),
    );
    const cifar = await asyncErrorOf(() => loadCIFAR10(empty));
    expect(cifar).toContain(join(empty, 'cifar-10-batches-bin', 'data_batch_1.bin'));
    expect(cifar).toContain(join(empty, 'cifar-10-binary.tar.gz'));
    expect(cifar).toContain('cifar-10-batches-py is the Python-pickle version, which is not supported');
    expect(await asyncErrorOf(() => loadCIFAR100(empty))).toContain(join(empty, 'cifar-100-binary', 'train.bin'));
    expect(await asyncErrorOf(() => loadSVHN(empty, { split: 'extra' }))).toContain(join(empty, 'SVHN', 'extra_32x32.mat'));
    expect(await asyncErrorOf(() => loadFashionMNIST(empty))).toContain(join(empty, 'FashionMNIST', 'raw', 'train-images-idx3-ubyte.gz'));
  });
});
