import { describe, it, expect } from 'vitest';
import { readMat, svhnFromMat } from '../../src/data/index.js';
import { errorOf, expectImagesMatch, expected, fixture } from './fixtures.js';

const TYPED_ARRAY_FOR_CLASS: Record<string, unknown> = {
  double: Float64Array,
  single: Float32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
};

describe('readMat on hand-written MAT-files (checked against scipy.io.loadmat)', () => {
  for (const file of ['little_endian.mat', 'big_endian.mat']) {
    it(`${file}: every variable has its class, dimensions and column-major values`, () => {
      const { bytes, name } = fixture('mat', file);
      const variables = readMat(bytes, name);
      expect([...variables.keys()].sort()).toEqual(Object.keys(expected.mat).sort());
      for (const [varName, want] of Object.entries(expected.mat)) {
        const got = variables.get(varName)!;
        expect(got.class, varName).toBe(want.class);
        expect(got.dims, varName).toEqual(want.dims);
        expect(got.logical, varName).toBe(want.logical);
        expect(got.data, varName).toBeInstanceOf(TYPED_ARRAY_FOR_CLASS[want.class] as new () => unknown);
        expect(Array.from(got.data), varName).toEqual(want.values);
      }
    });
  }

  it('a double array that MATLAB stored as miUINT8 comes back as Float64Array', () => {
    const { bytes, name } = fixture('mat', 'big_endian.mat');
    const y = readMat(bytes, name).get('y')!;
    expect(y.data).toBeInstanceOf(Float64Array);
    expect(Array.from(y.data)).toEqual([1, 10, 3, 7]);
  });
});

describe('readMat refuses what it cannot read, saying what and where', () => {
  it('struct and cell variables are named as unsupported, or skipped on request', () => {
    const { bytes, name } = fixture('mat', 'struct_and_cell.mat');
    expect(errorOf(() => readMat(bytes, 'struct_and_cell.mat'))).toBe(
      "struct_and_cell.mat: variable 's' is a struct, which this reader does not support (only real numeric arrays)",
    );
    const readable = readMat(bytes, name, { skipUnsupported: true });
    expect([...readable.keys()]).toEqual(['ok']);
    expect(Array.from(readable.get('ok')!.data)).toEqual([1, 2]);
  });

  it('a truncated file names the element that runs past the end', () => {
    const { bytes } = fixture('svhn', 'train_32x32.mat');
    expect(errorOf(() => readMat(bytes.subarray(0, bytes.length - 5000), 'train_32x32.mat'))).toMatch(
      /^train_32x32\.mat: truncated: a variable at byte 128 \(miMATRIX\) declares \d+ bytes of data, only \d+ remain$/,
    );
    expect(errorOf(() => readMat(bytes.subarray(0, 100), 'train_32x32.mat'))).toBe(
      'train_32x32.mat: truncated: a MAT-file header is 128 bytes, the file has 100',
    );
    const compressed = fixture('svhn', 'test_32x32.mat').bytes;
    expect(errorOf(() => readMat(compressed.subarray(0, 3000), 'test_32x32.mat'))).toMatch(
      /^test_32x32\.mat: truncated: a variable at byte 128 \(miCOMPRESSED\) declares \d+ bytes of data, only 2864 remain$/,
    );
  });

  it('a damaged compressed element is reported as corrupt zlib data', () => {
    const bytes = fixture('svhn', 'test_32x32.mat').bytes.slice();
    bytes[128 + 8 + 500] = bytes[128 + 8 + 500]! ^ 0xff;
    expect(errorOf(() => readMat(bytes, 'test_32x32.mat'))).toMatch(
      /^test_32x32\.mat \(compressed element at byte 128\): zlib stream is truncated or corrupt/,
    );
  });

  it('a header without the IM/MI endian indicator is not a level-5 MAT-file', () => {
    const bytes = fixture('mat', 'little_endian.mat').bytes.slice();
    bytes[126] = 0x58;
    expect(errorOf(() => readMat(bytes, 'odd.mat'))).toBe(
      'odd.mat: bad MAT-file header: endian indicator is "XM", expected "IM" or "MI" (not a level-5 MAT-file; level 4 files are not supported)',
    );
  });

  it('MATLAB 7.3 (HDF5) files are refused with advice', () => {
    const bytes = fixture('mat', 'little_endian.mat').bytes.slice();
    bytes.set(new TextEncoder().encode('MATLAB 7.3 MAT-file'), 0);
    expect(errorOf(() => readMat(bytes, 'v73.mat'))).toMatch(/^v73\.mat: MAT-file version 7\.3 \(HDF5\) is not supported/);
  });
});

describe('SVHN from .mat files written by scipy.io.savemat', () => {
  it('train_32x32.mat (uncompressed, y double): X [32,32,3,N] column-major', () => {
    const { bytes, name } = fixture('svhn', 'train_32x32.mat');
    const variables = readMat(bytes, name);
    expect(variables.get('X')!.class).toBe('uint8');
    expect(variables.get('X')!.dims).toEqual([32, 32, 3, 12]);
    expect(variables.get('y')!.class).toBe(expected.svhn.train.yClass);
    expect(variables.get('y')!.dims).toEqual([12, 1]);
  });

  for (const split of ['train', 'test'] as const) {
    const facts = expected.svhn[split];
    it(`${split}_32x32.mat (${facts.compressed ? 'compressed' : 'uncompressed'}): NCHW images, label 10 read as 0`, () => {
      const { bytes, name } = fixture('svhn', `${split}_32x32.mat`);
      const dataset = svhnFromMat(bytes, name);
      expect([dataset.n, dataset.channels, dataset.height, dataset.width]).toEqual([facts.n, 3, 32, 32]);
      expect(facts.rawLabels[0]).toBe(10);
      expect(Array.from(dataset.labels)).toEqual(facts.labels);
      expect(dataset.labels[0]).toBe(0);
      expectImagesMatch(dataset, facts);
    });
  }

  it('a .mat without X and y is not an SVHN file', () => {
    const { bytes } = fixture('mat', 'little_endian.mat');
    expect(errorOf(() => svhnFromMat(bytes, 'little_endian.mat'))).toMatch(/^little_endian\.mat: SVHN X should be uint8 \[height, width, channels, n\], got uint8 \[2, 3, 2\]$/);
    const { bytes: other } = fixture('mat', 'struct_and_cell.mat');
    expect(errorOf(() => svhnFromMat(other, 'struct_and_cell.mat'))).toBe('struct_and_cell.mat: an SVHN file needs variables X and y (found: ok)');
  });
});
