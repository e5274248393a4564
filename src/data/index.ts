// Browser-safe dataset readers: everything here parses bytes and never touches a file system.
// Node's folder-layout loaders live in ./node.js.
export { ImageDataset, type ImageDatasetInit, type LabelMapping } from './dataset.js';
export { gunzip, unzlib, inflateRaw, maybeDecompress, isGzip, looksLikeZlib, DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_MAX_COMPRESSION_RATIO, type DecompressOptions, type BoundedDecompressOptions, type SizeFromHeader, type DeclaredSize } from './compress.js';
export { crc32, adler32 } from './checksums.js';
export { readTar } from './tar.js';
export { parseIdx, type IdxArray } from './idx.js';
export {
  parseCifar10,
  parseCifar100,
  parseClassNames,
  CifarArchive,
  CIFAR10_CLASS_NAMES,
  CIFAR10_BATCHES,
  CIFAR100_FILES,
  type Cifar10Records,
  type Cifar100Records,
  type NamedBytes,
} from './cifar.js';
export { readMat, type MatVariable, type MatClass, type MatData, type ReadMatOptions } from './mat.js';
export {
  datasetFromIdx,
  mnistFromIdx,
  fashionMnistFromIdx,
  cifar10FromBins,
  cifar10FromArchive,
  cifar100FromBin,
  cifar100FromArchive,
  svhnFromMat,
  MNIST_CLASS_NAMES,
  FASHION_MNIST_CLASS_NAMES,
  SVHN_CLASS_NAMES,
  type IdxPairNames,
  type Cifar100LabelKind,
  type Cifar100Options,
} from './readers.js';
export { DataLoader, streamSeed, type DataLoaderOptions, type Batch } from './loader.js';
export { normalize, randomCrop, randomHorizontalFlip, resize, compose, deterministicPart, normalizationsOf, randomPartsOf, type GpuTransform, type ImageShape } from './transforms.js';
export { randomResizedCrop, resizedCropWindow, resizedCrop, colorJitter, adjustColor, randomGrayscale, toGrayscale } from './augment.js';
export { fetchBytes, mnistFromURL, cifar10FromURL, svhnFromURL, DEFAULT_FETCH_TIMEOUT_MS, type FetchOptions, type UrlLoaderOptions } from './fetch.js';
export { permutePixels, rotate, rotationCosSin, type RotateInterpolation } from './domain-transforms.js';
