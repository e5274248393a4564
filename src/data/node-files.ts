// Node-only loaders that find dataset files on disk in the layouts torchvision and Debian use, read
// them and hand the bytes to the browser-safe readers. node:fs and node:path are imported lazily so
// that a bundler following the data index never has to resolve them; only src/data/node.ts exports
// this file.
import type { DecompressOptions } from './compress.js';
import type { ImageDataset } from './dataset.js';
import { CIFAR10_BATCHES, CIFAR10_CLASS_NAMES, CIFAR100_FILES, parseClassNames } from './cifar.js';
import {
  cifar100FromArchive,
  cifar100FromBin,
  cifar10FromArchive,
  cifar10FromBins,
  fashionMnistFromIdx,
  mnistFromIdx,
  svhnFromMat,
  type Cifar100LabelKind,
  type IdxPairNames,
} from './readers.js';

/** Where Debian's dataset-fashion-mnist package installs the gzipped IDX files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Which split a Node folder loader reads, and the caps on decompressing it. */
export interface SplitOptions extends DecompressOptions {
  /** The training split (default) or the test split. */
  train?: boolean;
}

async function nodeModules() {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  return { fs, path };
}

async function isFile(path: string): Promise<boolean> {
  const { fs } = await nodeModules();
  try {
    return (await fs.stat(path)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  const { fs } = await nodeModules();
  try {
    return (await fs.stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Contents of a file as a plain Uint8Array (not a Buffer, so equality checks and views behave alike everywhere). */
async function readBytes(path: string): Promise<Uint8Array> {
  const { fs } = await nodeModules();
  const buffer = await fs.readFile(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** The first candidate that exists; otherwise an error listing every path tried. */
async function firstExisting(loader: string, what: string, candidates: readonly string[], hint = ''): Promise<string> {
  for (const candidate of candidates) if (await isFile(candidate)) return candidate;
  throw new Error(`${loader}: cannot find ${what}; tried:\n${candidates.map((c) => `  ${c}`).join('\n')}${hint}`);
}

/** Each file name in each folder, raw and gzipped, folder by folder. */
async function idxCandidates(folders: readonly string[], file: string): Promise<string[]> {
  const { path } = await nodeModules();
  return folders.flatMap((folder) => [path.join(folder, file), path.join(folder, `${file}.gz`)]);
}

async function loadIdxPair(
  loader: string,
  folders: readonly string[],
  train: boolean,
  build: (images: Uint8Array, labels: Uint8Array, names: IdxPairNames, options: DecompressOptions) => ImageDataset,
  options: DecompressOptions,
): Promise<ImageDataset> {
  const prefix = train ? 'train' : 't10k';
  const imagesPath = await firstExisting(loader, `${prefix}-images-idx3-ubyte`, await idxCandidates(folders, `${prefix}-images-idx3-ubyte`));
  const labelsPath = await firstExisting(loader, `${prefix}-labels-idx1-ubyte`, await idxCandidates(folders, `${prefix}-labels-idx1-ubyte`));
  const [images, labels] = await Promise.all([readBytes(imagesPath), readBytes(labelsPath)]);
  return build(images, labels, { images: imagesPath, labels: labelsPath }, options);
}

/**
 * MNIST from torchvision's layout `<root>/MNIST/raw/train-images-idx3-ubyte[.gz]`, or from `root`
 * being the MNIST folder or the raw folder itself.
 */
export async function loadMNIST(root: string, options: SplitOptions = {}): Promise<ImageDataset> {
  const { path } = await nodeModules();
  const folders = [path.join(root, 'MNIST', 'raw'), path.join(root, 'raw'), root];
  return loadIdxPair('loadMNIST', folders, options.train ?? true, mnistFromIdx, options);
}

/**
 * Fashion-MNIST from torchvision's layout `<root>/FashionMNIST/raw/...`, or from `root` being a folder
 * with the IDX files. Without a root it reads Debian's dataset-fashion-mnist package.
 */
export async function loadFashionMNIST(root: string = DEBIAN_FASHION_MNIST_DIR, options: SplitOptions = {}): Promise<ImageDataset> {
  const { path } = await nodeModules();
  const folders = [path.join(root, 'FashionMNIST', 'raw'), path.join(root, 'raw'), root];
  const hint = root === DEBIAN_FASHION_MNIST_DIR ? '\n(on Debian/Ubuntu: apt-get install dataset-fashion-mnist)' : '';
  try {
    return await loadIdxPair('loadFashionMNIST', folders, options.train ?? true, fashionMnistFromIdx, options);
  } catch (err) {
    if (hint && err instanceof Error && err.message.includes('cannot find')) throw new Error(err.message + hint, { cause: err });
    throw err;
  }
}

/** Class names from a text file next to the data, if there is one. */
async function optionalClassNames(file: string): Promise<string[] | undefined> {
  return (await isFile(file)) ? parseClassNames(await readBytes(file)) : undefined;
}

/**
 * CIFAR-10 (binary version) from `<root>/cifar-10-batches-bin/*.bin`, from `root` being that folder,
 * or from `<root>/cifar-10-binary.tar.gz`.
 */
export async function loadCIFAR10(root: string, options: SplitOptions = {}): Promise<ImageDataset> {
  const { path } = await nodeModules();
  const batches = (options.train ?? true) ? CIFAR10_BATCHES.train : CIFAR10_BATCHES.test;
  const folders = [path.join(root, 'cifar-10-batches-bin'), root];
  for (const folder of folders) {
    const first = path.join(folder, batches[0]);
    if (!(await isFile(first))) continue;
    const files = await Promise.all(
      batches.map(async (batch) => {
        const file = await firstExisting('loadCIFAR10', batch, [path.join(folder, batch)]);
        return { name: file, bytes: await readBytes(file) };
      }),
    );
    const classNames = (await optionalClassNames(path.join(folder, 'batches.meta.txt'))) ?? CIFAR10_CLASS_NAMES;
    return cifar10FromBins(files, classNames, options);
  }
  const archives = [path.join(root, 'cifar-10-binary.tar.gz'), path.join(root, 'cifar-10-binary.tar')];
  const tried = [...folders.map((folder) => path.join(folder, batches[0])), ...archives];
  const pythonLayout = path.join(root, 'cifar-10-batches-py');
  const hint = (await isDirectory(pythonLayout))
    ? `\n(${pythonLayout} is the Python-pickle version, which is not supported; download the binary version, cifar-10-binary.tar.gz)`
    : '';
  const archive = await firstExisting('loadCIFAR10', `the CIFAR-10 ${batches[0]} or archive`, tried, hint);
  return cifar10FromArchive(await readBytes(archive), archive, { ...options, train: options.train ?? true });
}

/** Options of `loadCIFAR100()`: the split and which labels to use. */
export interface Cifar100LoadOptions extends SplitOptions {
  /** 'fine' (100 classes, default) or 'coarse' (20 superclasses). */
  labels?: Cifar100LabelKind;
}

/** CIFAR-100 (binary version) from `<root>/cifar-100-binary/`, from `root` being that folder, or from `<root>/cifar-100-binary.tar.gz`. */
export async function loadCIFAR100(root: string, options: Cifar100LoadOptions = {}): Promise<ImageDataset> {
  const { path } = await nodeModules();
  const train = options.train ?? true;
  const labels = options.labels ?? 'fine';
  const file = train ? CIFAR100_FILES.train : CIFAR100_FILES.test;
  const folders = [path.join(root, 'cifar-100-binary'), root];
  const archives = [path.join(root, 'cifar-100-binary.tar.gz'), path.join(root, 'cifar-100-binary.tar')];
  const candidates = [...folders.map((folder) => path.join(folder, file)), ...archives];
  const found = await firstExisting('loadCIFAR100', `the CIFAR-100 ${file} or archive`, candidates);
  const bytes = await readBytes(found);
  if (archives.includes(found)) return cifar100FromArchive(bytes, found, { ...options, train, labels });
  const classNames = await optionalClassNames(path.join(path.dirname(found), `${labels}_label_names.txt`));
  return cifar100FromBin(bytes, found, { ...options, labels, classNames });
}

/** Options of `loadSVHN()`. */
export interface SvhnLoadOptions extends DecompressOptions {
  /** Which file to read: train_32x32.mat (default), test_32x32.mat or extra_32x32.mat. */
  split?: 'train' | 'test' | 'extra';
}

/** SVHN cropped digits from `<root>/train_32x32.mat` (torchvision's layout) or `<root>/SVHN/train_32x32.mat`. */
export async function loadSVHN(root: string, options: SvhnLoadOptions = {}): Promise<ImageDataset> {
  const { path } = await nodeModules();
  const file = `${options.split ?? 'train'}_32x32.mat`;
  const candidates = [path.join(root, file), path.join(root, 'SVHN', file), path.join(root, 'svhn', file)];
  const found = await firstExisting('loadSVHN', file, candidates);
  return svhnFromMat(await readBytes(found), found, options);
}
