// DataLoader: batches of an in-memory ImageDataset as GPU tensors, after torch.utils.data.DataLoader.
//
//   const loader = new DataLoader(train, { batchSize: 128, shuffle: true, seed: 0, transform: normalize([0.1307], [0.3081]) });
//   for (const { x, y } of loader) E.scope(() => step(x, y));       // `for await` works too
//
// Each batch travels to the GPU as raw uint8 pixels packed 4 per u32 word (a quarter of the bytes
// of float32) and becomes float32 pixels/255 in one kernel, through a 256-entry table per channel;
// a normalize() at the head of the transform is folded into that table, so it costs nothing, and
// the rest of the transform then runs on the GPU. Labels travel as int32 in the same upload.
//
// Ownership: the loader owns the tensors it yields. A batch's x and y stay valid until the next
// batch is requested (or the loop ends, or is left with break/throw), then the loader frees them.
// They are exempt from scopes, so a step wrapped in E.scope frees its own intermediates and the
// batch is freed by the loader either way; clone() a batch to keep it longer.

import { runtime, grid1d, EngramError, type Runtime } from '../engine/runtime.js';
import { empty, tensor, type Tensor } from '../engine/tensor.js';
import { scope, noGrad } from '../engine/scope.js';
import { Generator as Rng } from '../engine/random.js';
import { U8_TO_F32_WGSL } from '../shaders/transforms.js';
import { ImageDataset, type LabelMapping } from './dataset.js';
import { splitLeadingNormalize, type GpuTransform } from './transforms.js';

/** Options of `DataLoader`. */
export interface DataLoaderOptions {
  /** Images per batch (a positive integer). */
  batchSize: number;
  /** Visit the images in a new random order every epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Seeds the shuffle and the random transforms; epoch e uses generators seeded from (seed, e). */
  seed?: number;
  /** Skip the last batch when it would be smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Applied on the GPU to each float32 batch of pixels/255. */
  transform?: GpuTransform;
  /** Relabel on the fly, old label -> new label (labels without an entry are kept), like ImageDataset.remapLabels. */
  labelMap?: LabelMapping;
}

/**
 * One batch from a `DataLoader`: GPU tensors for the images and labels, plus the dataset index of each image.
 */
export interface Batch {
  /** float32 [B, C, H, W]: pixels/255, then the transform. */
  x: Tensor;
  /** int32 [B] labels (after labelMap). */
  y: Tensor;
  /** Dataset index of each image of the batch. */
  indices: Int32Array;
}

/**
 * Iterates an `ImageDataset` in batches on the GPU, like torch.utils.data.DataLoader: each `for ... of` is
 * one epoch, optionally shuffled, with pixels converted to float32/255 and the optional transform applied on
 * the GPU. Seeded, so epochs are reproducible.
 */
export class DataLoader implements Iterable<Batch> {
  /** The dataset the batches come from. */
  readonly dataset: ImageDataset;
  /** Images per batch. */
  readonly batchSize: number;
  /** Whether each epoch visits the images in a new random order. */
  readonly shuffle: boolean;
  /** Seed of the shuffle and the random transforms. */
  readonly seed: number;
  /** Whether a last batch smaller than batchSize is skipped. */
  readonly dropLast: boolean;
  /** The transform applied on the GPU to each batch, if any. */
  readonly transform: GpuTransform | undefined;
  /** The labels the loader yields, one per dataset image (labelMap applied). */
  readonly labels: Int32Array;
  /** Shape [C, H, W] of the images in the yielded batches (after the transform). */
  readonly imageShape: [number, number, number];
  /** The epoch the next `for ... of` iterates; it advances each time an iteration starts. */
  epoch = 0;
  /** Reused CPU buffer for a batch's packed pixels and labels (uploads copy it right away). */
  private scratch = new Uint8Array(0);
  /** Conversion tables: 256 float32 values per channel (a leading normalize folded in), and what remains to apply. */
  private readonly table: { key: string; values: Float32Array; channels: number };
  private readonly rest: GpuTransform | undefined;

  constructor(dataset: ImageDataset, opts: DataLoaderOptions) {
    if (!(dataset instanceof ImageDataset)) throw new EngramError('DataLoader: the first argument must be an ImageDataset');
    if (!opts || typeof opts !== 'object') throw new EngramError('DataLoader: options { batchSize, ... } are required');
    const { batchSize, shuffle = false, seed = 0, dropLast = false, transform, labelMap } = opts;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new EngramError(`DataLoader: batchSize must be a positive integer, got ${String(batchSize)}`);
    if (!Number.isInteger(seed)) throw new EngramError(`DataLoader: seed must be an integer, got ${String(seed)}`);
    if (transform !== undefined && (typeof transform.apply !== 'function' || typeof transform.outputShape !== 'function')) {
      throw new EngramError('DataLoader: transform must be a GpuTransform (normalize(), randomCrop(), compose([...]), ...)');
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = !!shuffle;
    this.seed = seed;
    this.dropLast = !!dropLast;
    this.transform = transform;
    this.labels = labelMap ? remap(dataset.labels, labelMap) : dataset.labels;
    const shape: [number, number, number] = [dataset.channels, dataset.height, dataset.width];
    this.imageShape = transform ? transform.outputShape(shape) : shape;
    const [norm, rest] = splitLeadingNormalize(transform);
    this.rest = rest;
    this.table = conversionTable(norm);
  }

  /** Number of batches per epoch. */
  get len(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Dataset indices in the order epoch `epoch` visits them (before batching and dropLast). */
  order(epoch: number): Int32Array {
    const n = this.dataset.length;
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    return new Rng(streamSeed(this.seed, epoch, 0)).permutation(n);
  }

  /** Iterate the next epoch (`this.epoch`, which then advances). */
  [Symbol.iterator](): Generator<Batch, void, undefined> {
    return this.batches(this.epoch++);
  }

  /**
   * The batches of one epoch, without touching `this.epoch`: the same epoch number always gives the
   * same order and the same random transforms.
   */
  *batches(epoch: number): Generator<Batch, void, undefined> {
    if (!Number.isInteger(epoch) || epoch < 0) throw new EngramError(`DataLoader: epoch must be a non-negative integer, got ${epoch}`);
    const order = this.order(epoch);
    const augment = new Rng(streamSeed(this.seed, epoch, 1));
    const count = this.len;
    const rt = runtime();
    let current: Batch | null = null;
    let next: Batch | null = null;
    try {
      next = count > 0 ? this.load(order, 0, augment) : null;
      for (let k = 0; k < count; k++) {
        current = next!;
        next = null;
        // Prefetch, with one GPU queue. Everything is recorded into one command stream, in order:
        // Runtime.upload copies the bytes into a staging buffer now and records a copy command, so
        // batch k+1's upload, conversion and transform are ordered before the step the caller is
        // about to record on batch k, and after whatever used the buffers before. First, submit
        // what the caller recorded for batch k-1: the GPU works on that step while the CPU gathers
        // and packs batch k+1's pixels below (the CPU's part of the data pipeline), so the two
        // overlap instead of alternating.
        rt.flush();
        if (k + 1 < count) next = this.load(order, k + 1, augment);
        yield current;
        disposeBatch(current);
        current = null;
      }
    } finally {
      if (current) disposeBatch(current);
      if (next) disposeBatch(next);
    }
  }

  /** Gather, pack and upload batch k of `order` (pixels and labels in one upload); record its conversion and transform. */
  private load(order: Int32Array, k: number, augment: Rng): Batch {
    const ds = this.dataset;
    const indices = order.slice(k * this.batchSize, Math.min((k + 1) * this.batchSize, order.length));
    const b = indices.length;
    const per = ds.imageSize;
    const pixels = b * per;
    const words = Math.ceil(pixels / 4);
    const bytes = (words + b) * 4;
    if (this.scratch.length < bytes) this.scratch = new Uint8Array(bytes);
    const packed = this.scratch.subarray(0, bytes);
    const labels = new Int32Array(packed.buffer, words * 4, b);
    for (let i = 0; i < b; i++) {
      const src = indices[i]!;
      packed.set(ds.images.subarray(src * per, (src + 1) * per), i * per);
      labels[i] = this.labels[src]!;
    }
    packed.fill(0, pixels, words * 4); // the unused bytes of the last word
    const { x, y } = noGrad(() => scope(() => {
      const rt = runtime();
      const raw = empty([words + b], 'int32');
      rt.upload(raw.buffer, packed);
      const y = empty([b], 'int32');
      rt.copy(raw.buffer, words * 4, y.buffer, 0, b * 4);
      const pix = empty([b, ds.channels, ds.height, ds.width]);
      const kernel = rt.kernel({ name: 'u8ToF32', wgsl: U8_TO_F32_WGSL, bindings: ['read', 'read', 'write'] });
      const params = [pixels, ds.height * ds.width, this.table.channels];
      rt.dispatch(kernel, [tableFor(rt, this.table).buffer, raw.buffer, pix.buffer], params, grid1d(words));
      return { x: this.rest ? this.rest.apply(pix, augment) : pix, y };
    }));
    return { x: x.keep(), y: y.keep(), indices };
  }
}

/** labels through `mapping` (labels without an entry are kept), without copying the images. */
function remap(labels: Int32Array, mapping: LabelMapping): Int32Array {
  if (!mapping || typeof mapping !== 'object') throw new EngramError('DataLoader: labelMap must be a Map or an object of old label -> new label');
  const entries: [number, number][] = mapping instanceof Map
    ? [...(mapping as ReadonlyMap<number, number>).entries()]
    : Object.entries(mapping).map(([k, v]) => [Number(k), v as number]);
  for (const [from, to] of entries) {
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < -0x8000_0000 || to > 0x7fff_ffff) {
      throw new EngramError(`DataLoader: labelMap entry ${from} -> ${to} is not between 32-bit integers`);
    }
  }
  const table = new Map(entries);
  return labels.map((l) => table.get(l) ?? l);
}

function disposeBatch(b: Batch): void {
  b.x.dispose();
  b.y.dispose();
}

/** float32(v / 255) for every byte value, or float32((v / 255 - mean[c]) / std[c]) per channel c. */
function conversionTable(norm: GpuTransform['normalization'] | null): { key: string; values: Float32Array; channels: number } {
  const channels = norm ? norm.mean.length : 1;
  const values = new Float32Array(256 * channels);
  for (let c = 0; c < channels; c++) {
    for (let v = 0; v < 256; v++) values[256 * c + v] = norm ? (v / 255 - norm.mean[c]!) / norm.std[c]! : v / 255;
  }
  const key = norm ? `${norm.mean.join(',')}/${norm.std.join(',')}` : '';
  return { key, values, channels };
}

// The tables on the GPU, per runtime, kept for the runtime's life (one per distinct normalization).
const tables = new WeakMap<Runtime, Map<string, Tensor>>();
function tableFor(rt: Runtime, table: { key: string; values: Float32Array }): Tensor {
  let perRuntime = tables.get(rt);
  if (!perRuntime) tables.set(rt, (perRuntime = new Map()));
  let t = perRuntime.get(table.key);
  if (!t || t.disposed) {
    t = tensor(table.values, [table.values.length]).keep();
    perRuntime.set(table.key, t);
  }
  return t;
}

/** A 32-bit seed for random stream `stream` of epoch `epoch` of a loader seeded with `seed`. */
export function streamSeed(seed: number, epoch: number, stream: number): number {
  let h = mix32(seed >>> 0);
  h = mix32(h ^ Math.imul(epoch + 1, 0x9e3779b1));
  h = mix32(h ^ Math.imul(stream + 1, 0x85ebca77));
  return h;
}

// MurmurHash3's finalizer: every input bit affects every output bit.
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
