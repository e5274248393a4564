// Builders that turn the bytes of the standard dataset files into ImageDatasets. They only parse: no
// file system access, so they work the same on bytes from fs.readFile, fetch() or a file input.
import { CIFAR10_BATCHES, CIFAR10_CLASS_NAMES, CIFAR100_FILES, CIFAR_CHANNELS, CIFAR_SIZE, CifarArchive, parseCifar10, parseCifar100, type NamedBytes } from './cifar.js';
import type { DecompressOptions } from './compress.js';
import { ImageDataset } from './dataset.js';
import { parseIdx } from './idx.js';
import { readMat, type MatVariable } from './mat.js';

export type { NamedBytes } from './cifar.js';

/** MNIST's class names, by label: the digits '0'..'9'. */
export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
/** Fashion-MNIST's class names, by label. */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
/** SVHN's class names, by label: the digits '0'..'9' (the readers map SVHN's label 10 for digit 0 to 0). */
export const SVHN_CLASS_NAMES: readonly string[] = MNIST_CLASS_NAMES;

/** Names of an IDX image file and its label file, used in error messages. */
export interface IdxPairNames {
  /** Name of the image file. */
  images: string;
  /** Name of the label file. */
  labels: string;
}

/**
 * An IDX image file ([n, height, width]) and its IDX label file ([n]) as a 1-channel dataset. Labels
 * must index `classNames`. MNIST and Fashion-MNIST are the two users; see the named wrappers below.
 */
export function datasetFromIdx(
  imagesBytes: Uint8Array,
  labelsBytes: Uint8Array,
  names: IdxPairNames,
  classNames: readonly string[],
  options: DecompressOptions = {},
): ImageDataset {
  const images = parseIdx(imagesBytes, names.images, options);
  const labels = parseIdx(labelsBytes, names.labels, options);
  const [n, height, width] = images.shape;
  if (images.shape.length !== 3 || n === undefined || height === undefined || width === undefined) {
    throw new Error(`${names.images}: expected images of shape [n, height, width], got [${images.shape.join(', ')}]`);
  }
  if (labels.shape.length !== 1) {
    throw new Error(`${names.labels}: expected labels of shape [n], got [${labels.shape.join(', ')}]`);
  }
  if (labels.data.length !== n) {
    throw new Error(`${names.images} has ${n} images but ${names.labels} has ${labels.data.length} labels`);
  }
  const bad = labels.data.findIndex((label) => label >= classNames.length);
  if (bad >= 0) {
    throw new Error(`${names.labels}: label ${labels.data[bad]} at index ${bad} is out of range 0..${classNames.length - 1}`);
  }
  return new ImageDataset({ images: images.data, labels: Int32Array.from(labels.data), channels: 1, height, width, classNames });
}

/** MNIST from its IDX image and label files (gzipped or not), as a 1x28x28 dataset with classes '0'..'9'. */
export function mnistFromIdx(imagesBytes: Uint8Array, labelsBytes: Uint8Array, names: IdxPairNames, options: DecompressOptions = {}): ImageDataset {
  return datasetFromIdx(imagesBytes, labelsBytes, names, MNIST_CLASS_NAMES, options);
}

/**
 * Fashion-MNIST from its IDX image and label files (gzipped or not), as a 1x28x28 dataset with its ten class
 * names.
 */
export function fashionMnistFromIdx(imagesBytes: Uint8Array, labelsBytes: Uint8Array, names: IdxPairNames, options: DecompressOptions = {}): ImageDataset {
  return datasetFromIdx(imagesBytes, labelsBytes, names, FASHION_MNIST_CLASS_NAMES, options);
}

function cifarDataset(images: Uint8Array, labels: Uint8Array, classNames: readonly string[] | undefined): ImageDataset {
  return new ImageDataset({ images, labels: Int32Array.from(labels), channels: CIFAR_CHANNELS, height: CIFAR_SIZE, width: CIFAR_SIZE, classNames });
}

/** CIFAR-10 batch files (e.g. data_batch_1.bin ... data_batch_5.bin), concatenated in the given order. */
export function cifar10FromBins(
  files: readonly NamedBytes[],
  classNames: readonly string[] = CIFAR10_CLASS_NAMES,
  options: DecompressOptions = {},
): ImageDataset {
  if (files.length === 0) throw new Error('cifar10FromBins: no files given');
  const parts = files.map(({ bytes, name }) => {
    const records = parseCifar10(bytes, name, options);
    return cifarDataset(records.images, records.labels, classNames);
  });
  return parts.length === 1 ? parts[0]! : ImageDataset.concat(parts);
}

/** The train (data_batch_1..5) or test (test_batch) split of cifar-10-binary.tar.gz. */
export function cifar10FromArchive(bytes: Uint8Array, name: string, options: { train: boolean } & DecompressOptions): ImageDataset {
  const archive = CifarArchive.read(bytes, name, options);
  const batches = options.train ? CIFAR10_BATCHES.train : CIFAR10_BATCHES.test;
  const classNames = archive.classNames('batches.meta.txt') ?? CIFAR10_CLASS_NAMES;
  return cifar10FromBins(batches.map((batch) => archive.member(batch)), classNames);
}

/** Which CIFAR-100 labels to use: 'fine' (100 classes) or 'coarse' (20 superclasses). */
export type Cifar100LabelKind = 'fine' | 'coarse';

/** Options of `cifar100FromBin()`. */
export interface Cifar100Options extends DecompressOptions {
  /** 'fine' for the 100 classes, 'coarse' for the 20 superclasses. */
  labels: Cifar100LabelKind;
  /** Name of each label value, indexed by label (default: none). */
  classNames?: readonly string[];
}

/** One CIFAR-100 file (train.bin or test.bin), labelled with the fine or the coarse labels. */
export function cifar100FromBin(bytes: Uint8Array, name: string, options: Cifar100Options): ImageDataset {
  const records = parseCifar100(bytes, name, options);
  const labels = options.labels === 'fine' ? records.fineLabels : records.coarseLabels;
  return cifarDataset(records.images, labels, options.classNames);
}

/** The train or test split of cifar-100-binary.tar.gz; class names come from its *_label_names.txt. */
export function cifar100FromArchive(bytes: Uint8Array, name: string, options: { train: boolean; labels: Cifar100LabelKind } & DecompressOptions): ImageDataset {
  const archive = CifarArchive.read(bytes, name, options);
  const file = archive.member(options.train ? CIFAR100_FILES.train : CIFAR100_FILES.test);
  const classNames = archive.classNames(`${options.labels}_label_names.txt`);
  return cifar100FromBin(file.bytes, file.name, { labels: options.labels, classNames });
}

/**
 * An SVHN cropped-digits file (train_32x32.mat, test_32x32.mat, extra_32x32.mat): X is uint8
 * [height, width, channels, n] in MATLAB's column-major order, y holds labels 1..10 where 10 means
 * the digit 0. The result is NCHW with labels 0..9.
 */
export function svhnFromMat(bytes: Uint8Array, name: string, options: DecompressOptions = {}): ImageDataset {
  const variables = readMat(bytes, name, { ...options, skipUnsupported: true });
  const x = variables.get('X');
  const y = variables.get('y');
  if (!x || !y) {
    const found = [...variables.keys()].join(', ') || 'none';
    throw new Error(`${name}: an SVHN file needs variables X and y (found: ${found})`);
  }
  if (x.class !== 'uint8' || x.dims.length !== 4) {
    throw new Error(`${name}: SVHN X should be uint8 [height, width, channels, n], got ${x.class} [${x.dims.join(', ')}]`);
  }
  const [height, width, channels, n] = x.dims as [number, number, number, number];
  if (y.data.length !== n) throw new Error(`${name}: X has ${n} images but y has ${y.data.length} labels`);
  return new ImageDataset({
    images: columnMajorHWCNToNCHW(x.data as Uint8Array, height, width, channels, n),
    labels: svhnLabels(y, name),
    channels,
    height,
    width,
    classNames: SVHN_CLASS_NAMES,
  });
}

/** MATLAB's X(r, c, ch, i) lives at r + H*(c + W*(ch + C*i)); NCHW wants ((i*C + ch)*H + r)*W + c. */
function columnMajorHWCNToNCHW(x: Uint8Array, height: number, width: number, channels: number, n: number): Uint8Array {
  const plane = height * width;
  const out = new Uint8Array(n * channels * plane);
  // Both layouts keep each (image, channel) plane contiguous; within a plane it is a transpose.
  for (let p = 0; p < n * channels; p++) {
    const base = p * plane;
    for (let c = 0; c < width; c++) {
      const column = base + c * height;
      for (let r = 0; r < height; r++) out[base + r * width + c] = x[column + r]!;
    }
  }
  return out;
}

function svhnLabels(y: MatVariable, name: string): Int32Array {
  const labels = new Int32Array(y.data.length);
  for (let i = 0; i < labels.length; i++) {
    const value = y.data[i]!;
    if (!Number.isInteger(value) || value < 0 || value > 10) {
      throw new Error(`${name}: SVHN label ${value} at index ${i} is not an integer in 0..10 (SVHN uses 10 for the digit 0)`);
    }
    labels[i] = value === 10 ? 0 : value;
  }
  return labels;
}
