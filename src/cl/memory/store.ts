// Exemplar memory for continual learning: N exemplars of D values each, with an int32 label and task
// id, kept on the CPU in a packed format (float32, fp16 or uint8; codecs.ts) and optionally deflated.
// Replay batches are decoded on the GPU: `toTensor` uploads the packed words of the chosen exemplars
// and unpacks them in a kernel, so a batch crosses the bus at its packed size.
//
// Slots are dense (0..size-1). `remove(i)` moves the last exemplar into slot i (O(1)), so indices of
// other exemplars stay valid except the last one's; replay buffers rely on that.
//
// Downscaled exemplars (option `downscale: f`, images [C, H, W] only): each exemplar is stored at
// [C, ceil(H/f), ceil(W/f)] (block means, downscale.ts) in the chosen format, and resized back to
// [C, H, W] when read: on the GPU by `toTensor`, on the CPU (float64) by `decode`. The payload and
// `bytesPerExemplar` are those of the small image; `dim` and `shape` stay the full image's.
//
// Byte accounting: `bytesPerExemplar` is the packed payload (values, padded to whole u32 words, plus
// the 8 bytes of offset/step of affine uint8). Labels and task ids (8 bytes per exemplar, the same in
// every format) are not counted, so at equal budgets the ratios are those of the payloads:
//   float32 4D, fp16 4*ceil(D/2), uint8 4*ceil(D/4), uint8 affine 4*ceil(D/4) + 8 bytes.
//
// Logits (DER): a store made with `logitDim: L` also carries L float32 values per exemplar (the model's
// logits when the exemplar was stored), counted in `bytesPerExemplar` and `bytes` (4L bytes each, so byte
// budgets pay for them). An exemplar stored while the head had c < L outputs keeps its c logits, the rest
// of its row zero, and `logitCounts` says how many are its own.

import { deflateSync, inflateSync, type DeflateOptions } from 'fflate';
import { EngramError } from '../../engine/runtime.js';
import { tensor, type Tensor } from '../../engine/tensor.js';
import { checkShape, numel, shapeStr } from '../../engine/shape.js';
import { createCodec, type Codec, type ExemplarFormat, type RawValues, type Uint8Quantization } from './codecs.js';
import { packF16Gpu, unpackF16Gpu, unpackU8Gpu } from './gpu-codec.js';
import { downscaledShape, downsampleArea, upsampleCPU, upsampleGpu, type UpsampleMode } from './downscale.js';

/** One exemplar already in its packed form (from `encode` or `encodeTensor`). */
export interface EncodedExemplar {
  /** packedBytes bytes (whole u32 words). */
  readonly packed: Uint8Array;
  /** metaFloats floats (offset, step for affine uint8; empty otherwise). */
  readonly meta: Float32Array;
}

/** What `add`/`replace` accept: floats, 8-bit pixels (p means p / 255), or a packed exemplar. */
export type ExemplarValues = RawValues | EncodedExemplar;

/** k exemplars in packed form, exemplar after exemplar. */
export interface EncodedBatch {
  /** Number of exemplars. */
  readonly count: number;
  /** Their packed payloads, count * packedBytes bytes. */
  readonly packed: Uint8Array;
  /** Their side floats, count * metaFloats (offset, step for affine uint8; empty otherwise). */
  readonly meta: Float32Array;
}

/** One exemplar decoded on the CPU. */
export interface Exemplar {
  /** The decoded values, D floats. */
  values: Float32Array;
  /** Class label. */
  label: number;
  /** Task id. */
  task: number;
}

/** Options of an exemplar store (`createExemplarStore()`). */
export interface ExemplarStoreOptions {
  /** Shape of one exemplar, e.g. [1, 28, 28]; D = its number of elements. */
  shape: readonly number[];
  /** Storage format (default 'float32'). */
  format?: ExemplarFormat;
  /** uint8 only: 'image' (lossless 8-bit pixels, default) or 'affine' (per-exemplar min/step). */
  quantization?: Uint8Quantization;
  /** Deflate each packed exemplar (fflate); `true` or a deflate level 0-9 (default 6). */
  compress?: boolean | {
    /** Deflate level 0-9 (default 6). */
    level?: number;
  };
  /**
   * Float32 logits carried with each exemplar (DER's stored logits), at most this many per exemplar
   * (default 0: none). Counted in `bytesPerExemplar`: 4 * logitDim bytes.
   */
  logitDim?: number;
  /**
   * Store images [C, H, W] downscaled by this integer factor (block means), resized back when read
   * (default 1: full size). With uint8 'image' the block means are rounded to the nearest 8-bit level.
   */
  downscale?: number;
  /** How downscaled exemplars are resized back: 'bilinear' (default) or 'nearest' (block replication). */
  upsample?: UpsampleMode;
}

/**
 * Exemplar memory for continual learning: N exemplars of D values with a label and task id each, kept on the
 * CPU in a packed format (float32, fp16 or uint8), optionally deflated, and decoded on the GPU for replay.
 * Slots are dense: `remove(i)` moves the last exemplar into slot i.
 */
export interface ExemplarStore {
  /** The storage format. */
  readonly format: ExemplarFormat;
  /** The uint8 quantization, or null for the other formats. */
  readonly quantization: Uint8Quantization | null;
  /** Whether each packed exemplar is deflated. */
  readonly compressed: boolean;
  /** Shape of one exemplar. */
  readonly shape: readonly number[];
  /** Values per exemplar. */
  readonly dim: number;
  /** Downscale factor of stored images (1: stored at full size). */
  readonly downscale: number;
  /** Shape each exemplar is stored at (`shape`, or the downscaled image). */
  readonly storedShape: readonly number[];
  /** Exemplars held. */
  readonly size: number;
  /** Logit values carried per exemplar (0 when the store keeps none; see `ExemplarStoreOptions.logitDim`). */
  readonly logitDim: number;
  /** Stored payload bytes of one exemplar, uncompressed (values + per-exemplar side floats + 4 * logitDim). */
  readonly bytesPerExemplar: number;
  /** Stored payload bytes of all exemplars (compressed sizes when compressing). */
  readonly bytes: number;
  /**
   * How many exemplars surely fit in `byteBudget` bytes: floor(byteBudget / bytesPerExemplar). A
   * compressed store may hold more (replay buffers with `capacityBytes` count the deflated bytes).
   */
  capacityFor(byteBudget: number): number;
  /**
   * Append an exemplar; returns its index. A store with `logitDim` > 0 needs its logits (1 to logitDim
   * values); one without refuses them.
   */
  add(values: ExemplarValues, label: number, task?: number, logits?: ArrayLike<number>): number;
  /** Overwrite exemplar i (its logits too, in a store that keeps them). */
  replace(i: number, values: ExemplarValues, label: number, task?: number, logits?: ArrayLike<number>): void;
  /** Delete exemplar i by moving the last one into its slot; returns the old index of the moved exemplar (-1 when i was last). */
  remove(i: number): number;
  /** Exemplar i, decoded on the CPU, with its label and task. */
  get(i: number): Exemplar;
  /** CPU decode of exemplar i into `out` (or a new array). */
  decode(i: number, out?: Float32Array): Float32Array;
  /** Label of exemplar i. */
  label(i: number): number;
  /** Task id of exemplar i. */
  task(i: number): number;
  /** Labels of `indices` (all exemplars when omitted). */
  labels(indices?: ArrayLike<number>): Int32Array;
  /** Task ids of `indices` (all exemplars when omitted). */
  tasks(indices?: ArrayLike<number>): Int32Array;
  /** Stored logits of `indices` (all when omitted), logitDim per exemplar, zero past each one's count. */
  logits(indices?: ArrayLike<number>): Float32Array;
  /** How many of each exemplar's logitDim logits are its own (the head's size when it was stored). */
  logitCounts(indices?: ArrayLike<number>): Int32Array;
  /** A copy of the packed form of exemplar i (decompressed). */
  packed(i: number): EncodedExemplar;
  /** Pack values on the CPU without storing them. */
  encode(values: RawValues): EncodedExemplar;
  /** Pack a float32 batch [k, ...shape] (fp16: on the GPU) and read it back; nothing is stored. */
  encodeTensor(x: Tensor): Promise<EncodedBatch>;
  /** encodeTensor, then add every row; returns their indices. */
  addFromTensor(x: Tensor, labels: ArrayLike<number>, tasks?: number | ArrayLike<number>): Promise<number[]>;
  /** Float32 GPU batch [k, ...shape] of the exemplars at `indices`, decoded on the GPU. */
  toTensor(indices: ArrayLike<number>): Tensor;
  /** Remove every exemplar. */
  clear(): void;
}

/** Row i of an encoded batch (views, no copy). */
export function encodedRow(batch: EncodedBatch, i: number): EncodedExemplar {
  const pb = batch.packed.length / Math.max(1, batch.count);
  const mf = batch.meta.length / Math.max(1, batch.count);
  return { packed: batch.packed.subarray(i * pb, (i + 1) * pb), meta: batch.meta.subarray(i * mf, (i + 1) * mf) };
}

function isEncoded(v: ExemplarValues): v is EncodedExemplar {
  return !(v instanceof Float32Array) && !(v instanceof Uint8Array) && typeof v === 'object' && v !== null && 'packed' in v;
}

/** An empty exemplar store with the given shape, format and compression. */
export function createExemplarStore(opts: ExemplarStoreOptions): ExemplarStore {
  return new PackedExemplarStore(opts);
}

/**
 * The `ExemplarStore` implementation: packed exemplars on the CPU (one deflated chunk per exemplar when
 * compressing), decoded on the GPU by `toTensor`.
 */
export class PackedExemplarStore implements ExemplarStore {
  readonly shape: readonly number[];
  readonly dim: number;
  readonly compressed: boolean;
  readonly logitDim: number;
  readonly downscale: number;
  readonly storedShape: readonly number[];
  /** How downscaled exemplars are resized back. */
  readonly upsample: UpsampleMode;
  private readonly codec: Codec;
  private readonly level: number;
  private n = 0;
  private cap = 0;
  private data = new Uint8Array(0); // uncompressed: cap * packedBytes
  private chunks: Uint8Array[] = []; // compressed: one deflated (or raw, if not smaller) chunk per slot
  private chunkBytes = 0;
  private meta = new Float32Array(0);
  private labelArr = new Int32Array(0);
  private taskArr = new Int32Array(0);
  private logitArr = new Float32Array(0); // cap * logitDim
  private logitCountArr = new Int32Array(0);

  constructor(opts: ExemplarStoreOptions) {
    checkShape(opts.shape, 'ExemplarStore');
    this.shape = Object.freeze([...opts.shape]);
    this.dim = numel(opts.shape);
    if (this.dim === 0) throw new EngramError(`ExemplarStore: exemplar shape ${shapeStr(opts.shape)} has no elements`);
    const format = opts.format ?? 'float32';
    if (opts.quantization !== undefined && format !== 'uint8') {
      throw new EngramError(`ExemplarStore: quantization '${opts.quantization}' only applies to the 'uint8' format, not '${format}'`);
    }
    if (opts.quantization !== undefined && opts.quantization !== 'image' && opts.quantization !== 'affine') {
      throw new EngramError(`ExemplarStore: unknown quantization '${String(opts.quantization)}' (expected 'image' or 'affine')`);
    }
    this.downscale = opts.downscale ?? 1;
    this.storedShape = Object.freeze(this.downscale === 1 ? [...this.shape] : downscaledShape(this.shape, this.downscale));
    this.upsample = opts.upsample ?? 'bilinear';
    if (this.upsample !== 'bilinear' && this.upsample !== 'nearest') throw new EngramError(`ExemplarStore: upsample must be 'bilinear' or 'nearest', got ${JSON.stringify(opts.upsample)}`);
    if (opts.upsample !== undefined && this.downscale === 1) throw new EngramError(`ExemplarStore: upsample applies to downscaled exemplars only (give downscale >= 2)`);
    this.codec = createCodec(format, numel(this.storedShape), opts.quantization);
    this.compressed = !!opts.compress;
    this.level = typeof opts.compress === 'object' ? (opts.compress.level ?? 6) : 6;
    if (!Number.isInteger(this.level) || this.level < 0 || this.level > 9) {
      throw new EngramError(`ExemplarStore: deflate level must be an integer 0-9, got ${this.level}`);
    }
    this.logitDim = opts.logitDim ?? 0;
    if (!Number.isInteger(this.logitDim) || this.logitDim < 0) throw new EngramError(`ExemplarStore: logitDim must be an integer >= 0, got ${opts.logitDim}`);
  }

  get format(): ExemplarFormat {
    return this.codec.format;
  }
  get quantization(): Uint8Quantization | null {
    return this.codec.quantization;
  }
  get size(): number {
    return this.n;
  }
  get bytesPerExemplar(): number {
    return this.codec.packedBytes + 4 * this.codec.metaFloats + 4 * this.logitDim;
  }
  get bytes(): number {
    const side = this.n * 4 * (this.codec.metaFloats + this.logitDim);
    return (this.compressed ? this.chunkBytes : this.n * this.codec.packedBytes) + side;
  }

  capacityFor(byteBudget: number): number {
    if (!(byteBudget >= 0) || !Number.isFinite(byteBudget)) throw new EngramError(`capacityFor: byte budget must be a finite number >= 0, got ${byteBudget}`);
    return Math.floor(byteBudget / this.bytesPerExemplar);
  }

  // ------------------------------------------------------------ writing

  encode(values: RawValues): EncodedExemplar {
    this.checkValues(values);
    const packed = new Uint8Array(this.codec.packedBytes);
    const meta = new Float32Array(this.codec.metaFloats);
    this.codec.encode(this.shrink(values), packed, meta);
    return { packed, meta };
  }

  /** The values the codec stores: the image itself, or its block means (8-bit levels for uint8 'image'). */
  private shrink(values: RawValues): RawValues {
    if (this.downscale === 1) return values;
    const small = downsampleArea(values, this.shape, this.downscale);
    if (this.codec.format !== 'uint8' || this.codec.quantization !== 'image') return small;
    const q = new Uint8Array(small.length);
    for (let i = 0; i < small.length; i++) {
      const v = small[i]!;
      if (!(v >= 0 && v <= 1)) throw new EngramError(`ExemplarStore (uint8, image, downscale ${this.downscale}): block mean ${v} at index ${i} is not in [0, 1]; use quantization: 'affine' for other data`);
      q[i] = Math.round(v * 255);
    }
    return q;
  }

  add(values: ExemplarValues, label: number, task = 0, logits?: ArrayLike<number>): number {
    this.checkTag(label, task);
    this.checkLogits(logits, 'add');
    const enc = this.toEncoded(values); // validate before growing
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    this.write(i, enc, label, task, logits);
    return i;
  }

  replace(i: number, values: ExemplarValues, label: number, task = 0, logits?: ArrayLike<number>): void {
    this.checkIndex(i, 'replace');
    this.checkTag(label, task);
    this.checkLogits(logits, 'replace');
    this.write(i, this.toEncoded(values), label, task, logits);
  }

  remove(i: number): number {
    this.checkIndex(i, 'remove');
    const last = this.n - 1;
    if (this.compressed) this.chunkBytes -= this.chunks[i]!.length;
    if (i !== last) {
      const pb = this.codec.packedBytes;
      const mf = this.codec.metaFloats;
      if (this.compressed) this.chunks[i] = this.chunks[last]!;
      else this.data.copyWithin(i * pb, last * pb, (last + 1) * pb);
      this.meta.copyWithin(i * mf, last * mf, (last + 1) * mf);
      this.labelArr[i] = this.labelArr[last]!;
      this.taskArr[i] = this.taskArr[last]!;
      const L = this.logitDim;
      this.logitArr.copyWithin(i * L, last * L, (last + 1) * L);
      this.logitCountArr[i] = this.logitCountArr[last]!;
    }
    if (this.compressed) this.chunks.length = last;
    this.n = last;
    return i === last ? -1 : last;
  }

  clear(): void {
    this.n = 0;
    this.chunks = [];
    this.chunkBytes = 0;
  }

  async encodeTensor(x: Tensor): Promise<EncodedBatch> {
    if (x.dtype !== 'float32' || x.rank !== this.shape.length + 1 || x.shape.slice(1).some((n, i) => n !== this.shape[i])) {
      throw new EngramError(`ExemplarStore.encodeTensor: expects a float32 batch [k, ${this.shape.join(', ')}], got ${x.dtype} ${shapeStr(x.shape)}`);
    }
    const k = x.shape[0]!;
    if (this.codec.format === 'fp16' && this.downscale === 1) {
      const words = packF16Gpu(x);
      const w = (await words.toArray()) as Int32Array;
      const packed = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
      words.dispose();
      return { count: k, packed, meta: new Float32Array(0) };
    }
    const values = (await x.toArray()) as Float32Array;
    const pb = this.codec.packedBytes;
    const mf = this.codec.metaFloats;
    const packed = new Uint8Array(k * pb);
    const meta = new Float32Array(k * mf);
    for (let r = 0; r < k; r++) {
      this.codec.encode(this.shrink(values.subarray(r * this.dim, (r + 1) * this.dim)), packed.subarray(r * pb, (r + 1) * pb), meta.subarray(r * mf, (r + 1) * mf));
    }
    return { count: k, packed, meta };
  }

  async addFromTensor(x: Tensor, labels: ArrayLike<number>, tasks: number | ArrayLike<number> = 0): Promise<number[]> {
    const k = x.shape[0] ?? 0;
    if (labels.length !== k) throw new EngramError(`ExemplarStore.addFromTensor: ${k} exemplars but ${labels.length} labels`);
    if (typeof tasks !== 'number' && tasks.length !== k) throw new EngramError(`ExemplarStore.addFromTensor: ${k} exemplars but ${tasks.length} task ids`);
    const batch = await this.encodeTensor(x);
    const out: number[] = [];
    for (let r = 0; r < k; r++) out.push(this.add(encodedRow(batch, r), labels[r]!, typeof tasks === 'number' ? tasks : tasks[r]!));
    return out;
  }

  // ------------------------------------------------------------ reading

  label(i: number): number {
    this.checkIndex(i, 'label');
    return this.labelArr[i]!;
  }

  task(i: number): number {
    this.checkIndex(i, 'task');
    return this.taskArr[i]!;
  }

  labels(indices?: ArrayLike<number>): Int32Array {
    return this.pick(this.labelArr, indices, 'labels');
  }

  tasks(indices?: ArrayLike<number>): Int32Array {
    return this.pick(this.taskArr, indices, 'tasks');
  }

  logits(indices?: ArrayLike<number>): Float32Array {
    const L = this.logitDim;
    if (!indices) return this.logitArr.slice(0, this.n * L);
    const out = new Float32Array(indices.length * L);
    for (let r = 0; r < indices.length; r++) {
      const i = indices[r]!;
      this.checkIndex(i, 'logits');
      out.set(this.logitArr.subarray(i * L, (i + 1) * L), r * L);
    }
    return out;
  }

  logitCounts(indices?: ArrayLike<number>): Int32Array {
    return this.pick(this.logitCountArr, indices, 'logitCounts');
  }

  packed(i: number): EncodedExemplar {
    this.checkIndex(i, 'packed');
    const mf = this.codec.metaFloats;
    return { packed: this.packedBytesOf(i).slice(), meta: this.meta.slice(i * mf, (i + 1) * mf) };
  }

  decode(i: number, out = new Float32Array(this.dim)): Float32Array {
    this.checkIndex(i, 'decode');
    if (out.length !== this.dim) throw new EngramError(`ExemplarStore.decode: output holds ${out.length} values, an exemplar has ${this.dim}`);
    const mf = this.codec.metaFloats;
    if (this.downscale === 1) {
      this.codec.decode(this.packedBytesOf(i), this.meta.subarray(i * mf, (i + 1) * mf), out);
      return out;
    }
    const small = new Float32Array(this.codec.dim);
    this.codec.decode(this.packedBytesOf(i), this.meta.subarray(i * mf, (i + 1) * mf), small);
    return upsampleCPU(small, this.shape, this.downscale, this.upsample, out);
  }

  get(i: number): Exemplar {
    return { values: this.decode(i), label: this.labelArr[i]!, task: this.taskArr[i]! };
  }

  toTensor(indices: ArrayLike<number>): Tensor {
    const k = indices.length;
    for (let r = 0; r < k; r++) this.checkIndex(indices[r]!, 'toTensor');
    const pb = this.codec.packedBytes;
    const mf = this.codec.metaFloats;
    const packed = new Uint8Array(k * pb);
    const meta = new Float32Array(k * mf);
    for (let r = 0; r < k; r++) {
      const i = indices[r]!;
      packed.set(this.packedBytesOf(i), r * pb);
      meta.set(this.meta.subarray(i * mf, (i + 1) * mf), r * mf);
    }
    const small = this.unpackGpu(packed, meta, k);
    if (this.downscale === 1) return small;
    const full = upsampleGpu(small, this.shape, this.downscale, this.upsample);
    small.dispose();
    return full;
  }

  /** k packed exemplars decoded on the GPU at their stored shape. */
  private unpackGpu(packed: Uint8Array, meta: Float32Array, k: number): Tensor {
    const shape = this.storedShape;
    switch (this.codec.format) {
      case 'float32':
        return tensor(new Float32Array(packed.buffer), [k, ...shape]);
      case 'fp16':
        return unpackF16Gpu(packed, k, shape);
      case 'uint8':
        return unpackU8Gpu(packed, k, shape, this.codec.quantization === 'affine' ? meta : null);
    }
  }

  // ------------------------------------------------------------ internals

  private packedBytesOf(i: number): Uint8Array {
    const pb = this.codec.packedBytes;
    if (!this.compressed) return this.data.subarray(i * pb, (i + 1) * pb);
    const chunk = this.chunks[i]!;
    return chunk.length === pb ? chunk : inflateSync(chunk, { out: new Uint8Array(pb) });
  }

  private write(i: number, enc: EncodedExemplar, label: number, task: number, logits?: ArrayLike<number>): void {
    const pb = this.codec.packedBytes;
    const mf = this.codec.metaFloats;
    if (this.compressed) {
      const deflated = deflateSync(enc.packed, { level: this.level as DeflateOptions['level'] });
      // Incompressible data is kept raw, so a slot never costs more than bytesPerExemplar.
      const chunk = deflated.length < pb ? deflated : enc.packed.slice();
      this.chunkBytes += chunk.length - (this.chunks[i]?.length ?? 0);
      this.chunks[i] = chunk;
    } else {
      this.data.set(enc.packed, i * pb);
    }
    this.meta.set(enc.meta, i * mf);
    this.labelArr[i] = label;
    this.taskArr[i] = task;
    if (logits) {
      const L = this.logitDim;
      const row = this.logitArr.subarray(i * L, (i + 1) * L);
      row.fill(0);
      for (let c = 0; c < logits.length; c++) row[c] = logits[c]!;
      this.logitCountArr[i] = logits.length;
    }
  }

  private checkLogits(logits: ArrayLike<number> | undefined, what: string): void {
    const L = this.logitDim;
    if (L === 0) {
      if (logits !== undefined) throw new EngramError(`ExemplarStore.${what}: this store keeps no logits (make it with logitDim: ${logits.length})`);
      return;
    }
    if (!logits || logits.length < 1 || logits.length > L) {
      throw new EngramError(`ExemplarStore.${what}: this store keeps 1 to ${L} logits per exemplar (logitDim ${L}), got ${logits ? logits.length : 'none'}`);
    }
    for (let c = 0; c < logits.length; c++) if (!Number.isFinite(logits[c]!)) throw new EngramError(`ExemplarStore.${what}: logit ${c} is ${logits[c]}, not a finite number`);
  }

  private toEncoded(values: ExemplarValues): EncodedExemplar {
    if (!isEncoded(values)) return this.encode(values);
    if (values.packed.length !== this.codec.packedBytes || values.meta.length !== this.codec.metaFloats) {
      throw new EngramError(
        `ExemplarStore: packed exemplar has ${values.packed.length} bytes and ${values.meta.length} side floats; ` +
          `this ${this.describe()} store needs ${this.codec.packedBytes} and ${this.codec.metaFloats}`,
      );
    }
    return values;
  }

  private grow(): void {
    const cap = Math.max(8, this.cap * 2);
    const pb = this.codec.packedBytes;
    const mf = this.codec.metaFloats;
    if (!this.compressed) this.data = copyInto(new Uint8Array(cap * pb), this.data);
    this.meta = copyInto(new Float32Array(cap * mf), this.meta);
    this.labelArr = copyInto(new Int32Array(cap), this.labelArr);
    this.taskArr = copyInto(new Int32Array(cap), this.taskArr);
    this.logitArr = copyInto(new Float32Array(cap * this.logitDim), this.logitArr);
    this.logitCountArr = copyInto(new Int32Array(cap), this.logitCountArr);
    this.cap = cap;
  }

  private pick(src: Int32Array, indices: ArrayLike<number> | undefined, what: string): Int32Array {
    if (!indices) return src.slice(0, this.n);
    const out = new Int32Array(indices.length);
    for (let r = 0; r < indices.length; r++) {
      this.checkIndex(indices[r]!, what);
      out[r] = src[indices[r]!]!;
    }
    return out;
  }

  private describe(): string {
    return `${this.codec.format}${this.codec.quantization ? ` (${this.codec.quantization})` : ''} ${shapeStr(this.shape)}${this.downscale > 1 ? ` downscaled by ${this.downscale}` : ''}`;
  }

  private checkValues(values: RawValues): void {
    if (!(values instanceof Float32Array) && !(values instanceof Uint8Array)) {
      throw new EngramError(`ExemplarStore: values must be a Float32Array, a Uint8Array of pixels or a packed exemplar`);
    }
    if (values.length !== this.dim) {
      throw new EngramError(`ExemplarStore: got ${values.length} values, a ${this.describe()} exemplar has ${this.dim}`);
    }
  }

  private checkTag(label: number, task: number): void {
    for (const [name, v] of [['label', label], ['task', task]] as const) {
      if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0x7fff_ffff) throw new EngramError(`ExemplarStore: ${name} ${v} is not a 32-bit integer`);
    }
  }

  private checkIndex(i: number, what: string): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) {
      throw new EngramError(`ExemplarStore.${what}: index ${i} is out of range for a store of ${this.n} exemplars`);
    }
  }
}

function copyInto<T extends Uint8Array | Float32Array | Int32Array>(dst: T, src: T): T {
  dst.set(src as never);
  return dst;
}
