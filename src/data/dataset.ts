// An in-memory image classification dataset: uint8 pixels in NCHW order plus one integer label per
// image. It is immutable in spirit: every transformation returns a new dataset with its own copies,
// so a subset can be handed to a training loop while the original is still being sliced elsewhere.

/** What an `ImageDataset` is built from. */
export interface ImageDatasetInit {
  /** n * channels * height * width bytes, image after image, each channel plane after plane (NCHW). */
  images: Uint8Array;
  /** One integer label per image. */
  labels: Int32Array | ArrayLike<number>;
  /** Channels per image (1 for grayscale, 3 for RGB). */
  channels: number;
  /** Image height in pixels. */
  height: number;
  /** Image width in pixels. */
  width: number;
  /** Name of each label value, indexed by label. */
  classNames?: readonly string[];
}

/** A relabeling: new label by old label, as a Map or a plain object. */
export type LabelMapping = ReadonlyMap<number, number> | Readonly<Record<number, number>>;

/**
 * An in-memory image classification dataset: uint8 pixels in NCHW order plus one int32 label per image.
 * Transformations return new datasets with their own copies.
 */
export class ImageDataset {
  /** n * channels * height * width bytes, image after image, each channel plane after plane (NCHW). */
  readonly images: Uint8Array;
  /** One label per image. */
  readonly labels: Int32Array;
  /** Number of images. */
  readonly n: number;
  /** Channels per image. */
  readonly channels: number;
  /** Image height in pixels. */
  readonly height: number;
  /** Image width in pixels. */
  readonly width: number;
  /** Name of each label value, indexed by label, when known. */
  readonly classNames: readonly string[] | undefined;

  constructor(init: ImageDatasetInit) {
    for (const key of ['channels', 'height', 'width'] as const) {
      const value = init[key];
      if (!Number.isInteger(value) || value <= 0) throw new Error(`ImageDataset: ${key} must be a positive integer, got ${value}`);
    }
    this.channels = init.channels;
    this.height = init.height;
    this.width = init.width;
    this.labels = toInt32Labels(init.labels);
    this.n = this.labels.length;
    const expected = this.n * this.imageSize;
    if (init.images.length !== expected) {
      throw new Error(
        `ImageDataset: ${this.n} labels of ${this.channels}x${this.height}x${this.width} images need ${expected} pixel bytes, got ${init.images.length}`,
      );
    }
    this.images = init.images;
    this.classNames = init.classNames;
  }

  /** Number of images. */
  get length(): number {
    return this.n;
  }

  /** Bytes per image: channels * height * width. */
  get imageSize(): number {
    return this.channels * this.height * this.width;
  }

  /** Pixels of image `i` (CHW), a view into `images`, not a copy. */
  image(i: number): Uint8Array {
    this.checkIndex(i, 'image');
    const size = this.imageSize;
    return this.images.subarray(i * size, (i + 1) * size);
  }

  /** The label of image `i`. */
  label(i: number): number {
    this.checkIndex(i, 'label');
    return this.labels[i]!;
  }

  /** Sorted distinct label values. */
  classes(): number[] {
    return [...new Set(this.labels)].sort((a, b) => a - b);
  }

  /** The images at `indices`, in that order (repeats allowed). */
  subset(indices: ArrayLike<number>): ImageDataset {
    for (let k = 0; k < indices.length; k++) this.checkIndex(indices[k]!, 'subset');
    const size = this.imageSize;
    const images = new Uint8Array(indices.length * size);
    const labels = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      images.set(this.images.subarray(i * size, (i + 1) * size), k * size);
      labels[k] = this.labels[i]!;
    }
    return this.derive(images, labels, this.classNames);
  }

  /** Only the images whose label is one of `classes`, in their original order. Labels are unchanged. */
  filterClasses(classes: Iterable<number>): ImageDataset {
    const keep = new Set(classes);
    for (const c of keep) {
      if (!Number.isInteger(c)) throw new Error(`filterClasses: class ${c} is not an integer`);
    }
    const indices: number[] = [];
    for (let i = 0; i < this.n; i++) if (keep.has(this.labels[i]!)) indices.push(i);
    return this.subset(indices);
  }

  /**
   * Relabels through `mapping` (old label -> new label); labels without an entry are kept. The class
   * names no longer line up with the new labels, so they are dropped unless `classNames` is given.
   */
  remapLabels(mapping: LabelMapping, classNames?: readonly string[]): ImageDataset {
    const table = toMap(mapping);
    const labels = this.labels.map((label) => table.get(label) ?? label);
    return this.derive(this.images.slice(), labels, classNames);
  }

  /**
   * The datasets one after another. All must have the same image shape. Class names are kept when
   * every dataset has the same ones, and dropped otherwise (they would contradict each other).
   */
  static concat(datasets: readonly ImageDataset[]): ImageDataset {
    const first = datasets[0];
    if (!first) throw new Error('ImageDataset.concat: needs at least one dataset');
    const shape = (d: ImageDataset) => `${d.channels}x${d.height}x${d.width}`;
    datasets.forEach((d, k) => {
      if (d.channels !== first.channels || d.height !== first.height || d.width !== first.width) {
        throw new Error(`ImageDataset.concat: dataset ${k} has ${shape(d)} images but dataset 0 has ${shape(first)}`);
      }
    });
    const n = datasets.reduce((sum, d) => sum + d.n, 0);
    const images = new Uint8Array(n * first.imageSize);
    const labels = new Int32Array(n);
    let offset = 0;
    for (const d of datasets) {
      images.set(d.images, offset * first.imageSize);
      labels.set(d.labels, offset);
      offset += d.n;
    }
    const sameNames = datasets.every((d) => sameStrings(d.classNames, first.classNames));
    return first.derive(images, labels, sameNames ? first.classNames : undefined);
  }

  private derive(images: Uint8Array, labels: Int32Array, classNames: readonly string[] | undefined): ImageDataset {
    return new ImageDataset({ images, labels, channels: this.channels, height: this.height, width: this.width, classNames });
  }

  private checkIndex(i: number, what: string): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) {
      throw new Error(`${what}: index ${i} is out of range for a dataset of length ${this.n}`);
    }
  }
}

function toInt32Labels(labels: Int32Array | ArrayLike<number>): Int32Array {
  if (labels instanceof Int32Array) return labels;
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < -0x8000_0000 || label > 0x7fff_ffff) {
      throw new Error(`ImageDataset: label ${label} at index ${i} is not a 32-bit integer`);
    }
    out[i] = label;
  }
  return out;
}

function toMap(mapping: LabelMapping): Map<number, number> {
  const entries: [number, number][] =
    mapping instanceof Map ? [...mapping.entries()] : Object.entries(mapping).map(([k, v]) => [Number(k), v as number]);
  for (const [from, to] of entries) {
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < -0x8000_0000 || to > 0x7fff_ffff) {
      throw new Error(`remapLabels: mapping ${from} -> ${to} is not between 32-bit integers`);
    }
  }
  return new Map(entries);
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((s, i) => s === b[i]);
}
