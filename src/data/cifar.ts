// CIFAR-10 and CIFAR-100 "binary version" files. A file is a bare sequence of fixed-size records:
// CIFAR-10 has one label byte then 3072 pixel bytes, CIFAR-100 a coarse and a fine label byte then the
// pixels. The pixels are already channel-major (1024 red, 1024 green, 1024 blue, rows top to bottom),
// which is exactly one CHW image. There is no header, so the record size and the label ranges are the
// only ways to notice a truncated file or a file of the other dataset.
import { maybeDecompress, type DecompressOptions, type SizeFromHeader } from './compress.js';
import { readTar, tarSizeFromHeaders } from './tar.js';

export const CIFAR_CHANNELS = 3;
export const CIFAR_SIZE = 32;
export const CIFAR_IMAGE_BYTES = CIFAR_CHANNELS * CIFAR_SIZE * CIFAR_SIZE;

/** The records of a CIFAR-10 binary file: images and their labels. */
export interface Cifar10Records {
  /** Number of records. */
  n: number;
  /** n CHW images of 3x32x32. */
  images: Uint8Array;
  /** n labels in 0..9. */
  labels: Uint8Array;
}

/** The records of a CIFAR-100 binary file: images with coarse and fine labels. */
export interface Cifar100Records {
  /** Number of records. */
  n: number;
  /** n CHW images of 3x32x32. */
  images: Uint8Array;
  /** n coarse (superclass) labels in 0..19. */
  coarseLabels: Uint8Array;
  /** n fine labels in 0..99. */
  fineLabels: Uint8Array;
}

/** A file's contents with the name used in error messages (a path, or `archive:member`). */
export interface NamedBytes {
  /** Name used in error messages. */
  name: string;
  /** The file's bytes. */
  bytes: Uint8Array;
}

/** CIFAR-10's class names, by label. */
export const CIFAR10_CLASS_NAMES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

interface LabelSpec {
  what: string;
  classes: number;
}

/** How many records the official files hold, by base name; a compressed file of that name may not inflate to more. */
const OFFICIAL_RECORD_COUNTS: Record<string, Record<string, number>> = {
  'CIFAR-10': { 'data_batch_1.bin': 10000, 'data_batch_2.bin': 10000, 'data_batch_3.bin': 10000, 'data_batch_4.bin': 10000, 'data_batch_5.bin': 10000, 'test_batch.bin': 10000 },
  'CIFAR-100': { 'train.bin': 50000, 'test.bin': 10000 },
};

/**
 * CIFAR files have no header, so the only size a compressed one can be held to (short of the cap)
 * is that of the official file it is named after. An explicit maxDecompressedBytes replaces this
 * guess, for larger files in CIFAR format that happen to share a name.
 */
function officialSize(name: string, dataset: string, recordBytes: number, options: DecompressOptions): SizeFromHeader | undefined {
  if (options.maxDecompressedBytes !== undefined) return undefined;
  const baseName = name.split(/[\\/]/).pop()!.replace(/\.(gz|z|zlib)$/i, ''); // Either path separator.
  const records = OFFICIAL_RECORD_COUNTS[dataset]?.[baseName];
  if (records === undefined) return undefined;
  const size = {
    bytes: records * recordBytes,
    what: `the size of the ${records} records in the official ${dataset} ${baseName}`,
    final: true,
    exact: false,
    fix: `if this is a larger file in ${dataset} format, pass { maxDecompressedBytes } to allow it`,
  };
  return () => size;
}

/** Splits fixed-size records into labels (one array per label byte) and CHW images. */
function parseRecords(
  fileBytes: Uint8Array,
  name: string,
  dataset: string,
  labelSpecs: readonly LabelSpec[],
  options: DecompressOptions,
): { n: number; images: Uint8Array; labels: Uint8Array[] } {
  const labelBytes = labelSpecs.length;
  const recordBytes = labelBytes + CIFAR_IMAGE_BYTES;
  const bytes = maybeDecompress(fileBytes, name, { ...options, sizeFromHeader: officialSize(name, dataset, recordBytes, options) });
  const layout = `${labelBytes === 1 ? '1 label byte' : `${labelBytes} label bytes`} + ${CIFAR_IMAGE_BYTES} pixels`;
  if (bytes.length === 0) throw new Error(`${name}: ${dataset} file is empty`);
  if (bytes.length % recordBytes !== 0) {
    const whole = Math.floor(bytes.length / recordBytes);
    throw new Error(
      `${name}: ${dataset} file length ${bytes.length} is not a multiple of the ${recordBytes}-byte record (${layout}): ` +
        `${whole} whole records and ${bytes.length - whole * recordBytes} bytes left over; the file is truncated or not a ${dataset} binary file`,
    );
  }
  const n = bytes.length / recordBytes;
  const images = new Uint8Array(n * CIFAR_IMAGE_BYTES);
  const labels = labelSpecs.map(() => new Uint8Array(n));
  for (let i = 0; i < n; i++) {
    const record = i * recordBytes;
    labelSpecs.forEach((spec, k) => {
      const label = bytes[record + k]!;
      if (label >= spec.classes) {
        throw new Error(`${name}: record ${i} has ${spec.what} ${label}, but ${dataset} ${spec.what}s are 0..${spec.classes - 1}`);
      }
      labels[k]![i] = label;
    });
    images.set(bytes.subarray(record + labelBytes, record + recordBytes), i * CIFAR_IMAGE_BYTES);
  }
  return { n, images, labels };
}

/** One CIFAR-10 batch file (e.g. data_batch_1.bin), raw or gzip-compressed. */
export function parseCifar10(bytes: Uint8Array, name: string, options: DecompressOptions = {}): Cifar10Records {
  const { n, images, labels } = parseRecords(bytes, name, 'CIFAR-10', [{ what: 'label', classes: 10 }], options);
  return { n, images, labels: labels[0]! };
}

/** One CIFAR-100 file (train.bin or test.bin), raw or gzip-compressed. */
export function parseCifar100(bytes: Uint8Array, name: string, options: DecompressOptions = {}): Cifar100Records {
  const { n, images, labels } = parseRecords(
    bytes,
    name,
    'CIFAR-100',
    [
      { what: 'coarse label', classes: 20 },
      { what: 'fine label', classes: 100 },
    ],
    options,
  );
  return { n, images, coarseLabels: labels[0]!, fineLabels: labels[1]! };
}

/** The file names of CIFAR-10's binary batches: five training batches and one test batch. */
export const CIFAR10_BATCHES = {
  /** The five training batches. */
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  /** The test batch. */
  test: ['test_batch.bin'],
} as const;

/** The file names of CIFAR-100's binary training and test files. */
export const CIFAR100_FILES = {
  /** The training set. */
  train: 'train.bin',
  /** The test set. */
  test: 'test.bin',
} as const;

/** The files of a CIFAR archive (.tar or .tar.gz), as unpacked in memory. */
export class CifarArchive {
  private constructor(
    /** The archive's name, used in error messages and in the names of its members. */
    readonly name: string,
    private readonly files: Map<string, Uint8Array>,
  ) {}

  /**
   * Unpack a CIFAR archive (.tar, or .tar.gz); `name` is used in error messages. A compressed archive
   * is held to the size its tar headers declare while it inflates.
   */
  static read(bytes: Uint8Array, name: string, options: DecompressOptions = {}): CifarArchive {
    return new CifarArchive(name, readTar(maybeDecompress(bytes, name, { ...options, sizeFromHeader: tarSizeFromHeaders(name) }), name));
  }

  /** The entry whose file name is `baseName`, in whatever folder the archive keeps it. */
  member(baseName: string): NamedBytes {
    const found = this.find(baseName);
    if (!found) {
      const listing = [...this.files.keys()].join(', ') || 'none';
      throw new Error(`${this.name}: archive has no ${baseName} (its files: ${listing})`);
    }
    return found;
  }

  /** Like `member`, but undefined when the archive lacks it (used for optional metadata). */
  find(baseName: string): NamedBytes | undefined {
    const matches = [...this.files.entries()].filter(([path]) => path === baseName || path.endsWith(`/${baseName}`));
    if (matches.length > 1) {
      throw new Error(`${this.name}: archive has several files named ${baseName}: ${matches.map(([p]) => p).join(', ')}`);
    }
    const match = matches[0];
    return match && { name: `${this.name}:${match[0]}`, bytes: match[1] };
  }

  /** A text file of one name per line (batches.meta.txt, fine_label_names.txt), if the archive has it. */
  classNames(baseName: string): string[] | undefined {
    const file = this.find(baseName);
    return file && parseClassNames(file.bytes);
  }
}

/** Class-name files have one name per line and trailing blank lines. */
export function parseClassNames(bytes: Uint8Array): string[] {
  return new TextDecoder('utf-8')
    .decode(bytes)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}
