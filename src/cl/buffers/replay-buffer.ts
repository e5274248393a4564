// The common shape of replay buffers: a bounded ExemplarStore (any format) plus a policy that decides,
// for every exemplar of the stream, whether it enters the memory and which slot it overwrites.
// Subclasses implement only that policy (`choose`) and their bookkeeping (`placed`); adding, encoding,
// sampling and GPU batches are shared. Every random decision draws from a seeded Generator.
//
// Byte budgets count the bytes actually stored. Uncompressed, every exemplar costs bytesPerExemplar,
// so `capacityBytes` is simply floor(capacityBytes / bytesPerExemplar) exemplars. Deflated, the cost
// varies by exemplar, so the capacity moves: the memory holds what it has plus as many more as fit
// even if stored raw (capacity = size + floor((budget - bytes) / bytesPerExemplar)), and when a
// replacement pushes the stored bytes past the budget, the policy evicts (`evictionVictim`) until
// they fit again. Compressible exemplars therefore buy more of them.

import { EngramError } from '../../engine/runtime.js';
import { Generator } from '../../engine/random.js';
import { tensor, type Tensor } from '../../engine/tensor.js';
import { shapeStr } from '../../engine/shape.js';
import {
  createExemplarStore, encodedRow,
  type EncodedBatch, type EncodedExemplar, type ExemplarStore, type ExemplarStoreOptions,
} from '../memory/store.js';
import { randomIndex, sampleWithoutReplacement } from './sampling.js';

/** k exemplars: values flat (k * D floats or pixels) or packed, one label each, one task or one per exemplar. */
export interface ExemplarBatch {
  /** Values: k * D floats, k * D 8-bit pixels (p stands for p / 255), or k exemplars already packed. */
  values: Float32Array | Uint8Array | EncodedBatch;
  /** One label per exemplar. */
  labels: ArrayLike<number>;
  /** One task id for the whole batch, or one per exemplar. */
  task: number | ArrayLike<number>;
  /**
   * Logits carried with the exemplars (stores made with `logitDim`, e.g. DER's): k * c floats, c per
   * exemplar (1 <= c <= store.logitDim); required by such stores, refused by the others.
   */
  logits?: Float32Array;
}

/** A replay batch on the GPU. */
export interface ReplayBatch {
  /** float32 [k, ...shape], decoded on the GPU. */
  x: Tensor;
  /** int32 [k] labels. */
  y: Tensor;
  /** int32 [k] task ids. */
  task: Tensor;
  /** The store indices drawn. */
  indices: Int32Array;
}

/** Options of the replay buffers: the store (or how to make one), the capacity and the randomness. */
export interface ReplayBufferOptions extends Partial<ExemplarStoreOptions> {
  /** An empty store to fill (its format wins); otherwise one is made from shape/format/quantization/compress/downscale. */
  store?: ExemplarStore;
  /** Capacity in exemplars. Give this or capacityBytes. */
  capacity?: number;
  /**
   * Capacity in bytes of stored payload (`store.bytes`, the deflated sizes when compressing): the memory
   * never stores more; uncompressed that is floor(capacityBytes / store.bytesPerExemplar) exemplars.
   */
  capacityBytes?: number;
  /** Source of every random decision (default: a new Generator(seed)). */
  generator?: Generator;
  /** Seed of the default generator (default 0). */
  seed?: number;
}

/**
 * A bounded replay memory for continual learning: an `ExemplarStore` plus a policy that decides, for each
 * exemplar of the stream, whether it enters the memory and which slot it overwrites.
 */
export interface ReplayBuffer {
  /** The policy's class name (e.g. 'ReservoirBuffer'). */
  readonly kind: string;
  /** The store holding the exemplars. */
  readonly store: ExemplarStore;
  /**
   * Most exemplars held: fixed, or, under a byte budget of a compressed store, those held plus how
   * many more fit even uncompressed (it moves with the stored bytes).
   */
  readonly capacity: number;
  /** The byte budget on stored payload, or null when the capacity is in exemplars. */
  readonly capacityBytes: number | null;
  /** Exemplars held now. */
  readonly size: number;
  /** Stored payload bytes now (see ExemplarStore.bytes). */
  readonly bytes: number;
  /** Exemplars offered so far. */
  readonly seen: number;
  /**
   * Offer k exemplars, in stream order; each is stored, overwrites a slot or is dropped, as the policy
   * decides.
   */
  add(batch: ExemplarBatch): void;
  /** Add a float32 GPU batch [k, ...shape] (fp16 stores pack it on the GPU before the readback). */
  addTensor(x: Tensor, labels: ArrayLike<number>, task: number | ArrayLike<number>): Promise<void>;
  /** min(k, size) distinct store indices, uniformly at random. */
  sample(k: number, generator?: Generator): Int32Array;
  /** sample(), then the exemplars as a GPU batch. */
  sampleBatch(k: number, generator?: Generator): ReplayBatch;
}

/** Returned by `choose` to drop the incoming exemplar. */
export const DROP_EXEMPLAR = -1;

/**
 * Base of the replay buffers: adding, encoding, sampling and GPU batches, shared; subclasses implement the
 * policy (which slot each new exemplar takes). Every random decision draws from a seeded Generator.
 */
export abstract class BaseReplayBuffer implements ReplayBuffer {
  abstract readonly kind: string;
  readonly store: ExemplarStore;
  readonly capacityBytes: number | null;
  private readonly fixedCapacity: number;
  /** Source of every random decision of the policy and of `sample()` (unless given a generator). */
  protected readonly generator: Generator;
  private seenCount = 0;

  constructor(opts: ReplayBufferOptions, name: string) {
    if (opts.store) {
      if (opts.shape || opts.format || opts.quantization || opts.compress !== undefined || opts.logitDim !== undefined || opts.downscale !== undefined || opts.upsample !== undefined) {
        throw new EngramError(`${name}: give either a store or shape/format/quantization/compress/logitDim/downscale options, not both`);
      }
      if (opts.store.size !== 0) throw new EngramError(`${name}: the store must start empty (it holds ${opts.store.size} exemplars)`);
      this.store = opts.store;
    } else {
      if (!opts.shape) throw new EngramError(`${name}: needs the exemplar shape (or a store)`);
      this.store = createExemplarStore({
        shape: opts.shape, format: opts.format, quantization: opts.quantization, compress: opts.compress, downscale: opts.downscale, upsample: opts.upsample, logitDim: opts.logitDim,
      });
    }
    if ((opts.capacity === undefined) === (opts.capacityBytes === undefined)) {
      throw new EngramError(`${name}: give exactly one of capacity (exemplars) or capacityBytes`);
    }
    const capacity = opts.capacity ?? this.store.capacityFor(opts.capacityBytes!);
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new EngramError(
        opts.capacity !== undefined
          ? `${name}: capacity must be a positive integer, got ${opts.capacity}`
          : `${name}: capacityBytes ${opts.capacityBytes} holds no ${this.store.format} exemplar of shape ${shapeStr(this.store.shape)} (${this.store.bytesPerExemplar} bytes each)`,
      );
    }
    this.fixedCapacity = capacity;
    this.capacityBytes = opts.capacityBytes ?? null;
    this.generator = opts.generator ?? new Generator(opts.seed ?? 0);
  }

  get capacity(): number {
    const budget = this.capacityBytes;
    if (budget === null || !this.store.compressed) return this.fixedCapacity;
    return this.store.size + Math.max(0, Math.floor((budget - this.store.bytes) / this.store.bytesPerExemplar));
  }

  get size(): number {
    return this.store.size;
  }
  get bytes(): number {
    return this.store.bytes;
  }
  get seen(): number {
    return this.seenCount;
  }

  /**
   * The slot the next exemplar (label, task) goes to: `store.size` to append, an existing slot to
   * overwrite, or DROP_EXEMPLAR. Called once per exemplar, in stream order, with `seen` counting
   * the ones before it. May remove exemplars from the store (task-balanced trimming).
   */
  protected abstract choose(label: number, task: number): number;

  /** Bookkeeping after the exemplar was written to `slot` (appended when `replaced` is false). */
  protected placed(_slot: number, _label: number, _task: number, _replaced: boolean): void {}

  /**
   * The slot to evict when a byte budget is exceeded (compressed stores only); `newest` is the slot
   * just written. Default: uniformly at random among the others.
   */
  protected evictionVictim(newest: number): number {
    const j = randomIndex(this.generator, this.size - 1);
    return j >= newest ? j + 1 : j;
  }

  /**
   * Bookkeeping after `slot` was removed from the store: the exemplar that was in slot `moved` now
   * sits in `slot` (moved = -1 when the removed one was last).
   */
  protected removed(_slot: number, _moved: number): void {}

  /** Evict until the stored bytes fit the budget again, never the exemplar just written unless alone. */
  private enforceBudget(newest: number): void {
    const budget = this.capacityBytes;
    if (budget === null) return;
    while (this.store.bytes > budget && this.size > 1) {
      const victim = this.evictionVictim(newest);
      const moved = this.store.remove(victim);
      this.removed(victim, moved);
      if (victim === newest) return; // the new exemplar itself went: the bytes are back under budget
      if (moved === newest) newest = victim;
    }
  }

  add(batch: ExemplarBatch): void {
    const { values, labels, task } = batch;
    const k = labels.length;
    const d = this.store.dim;
    const encoded = !(values instanceof Float32Array) && !(values instanceof Uint8Array);
    const count = encoded ? (values as EncodedBatch).count : values.length / d;
    if (count !== k) {
      throw new EngramError(
        `${this.kind}.add: ${k} labels but ${encoded ? `${count} packed exemplars` : `${values.length} values (${d} per exemplar of shape ${shapeStr(this.store.shape)})`}`,
      );
    }
    if (typeof task !== 'number' && task.length !== k) throw new EngramError(`${this.kind}.add: ${k} labels but ${task.length} task ids`);
    const { logits } = batch;
    const L = this.store.logitDim;
    if ((logits !== undefined) !== (L > 0)) {
      throw new EngramError(L > 0 ? `${this.kind}.add: this buffer's store keeps logits (logitDim ${L}); pass logits with the exemplars` : `${this.kind}.add: this buffer's store keeps no logits; make it with logitDim to store them`);
    }
    const c = logits && k ? logits.length / k : 0;
    if (logits && k && !(Number.isInteger(c) && c >= 1 && c <= L)) throw new EngramError(`${this.kind}.add: ${logits.length} logits for ${k} exemplars; expected 1 to ${L} per exemplar`);
    for (let r = 0; r < k; r++) {
      const label = labels[r]!;
      const t = typeof task === 'number' ? task : task[r]!;
      for (const [what, v] of [['label', label], ['task', t]] as const) {
        if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0x7fff_ffff) throw new EngramError(`${this.kind}.add: ${what} ${v} of exemplar ${r} is not a 32-bit integer`);
      }
    }
    for (let r = 0; r < k; r++) {
      const label = labels[r]!;
      const t = typeof task === 'number' ? task : task[r]!;
      const slot = this.choose(label, t);
      this.seenCount++;
      if (slot === DROP_EXEMPLAR) continue;
      // Encoded only once admitted: a late reservoir drops almost everything it is offered.
      const row: EncodedExemplar = encoded
        ? encodedRow(values as EncodedBatch, r)
        : this.store.encode((values as Float32Array | Uint8Array).subarray(r * d, (r + 1) * d));
      const append = slot === this.store.size;
      const z = logits ? logits.subarray(r * c, (r + 1) * c) : undefined;
      if (append) this.store.add(row, label, t, z);
      else this.store.replace(slot, row, label, t, z);
      this.placed(slot, label, t, !append);
      if (this.store.compressed) this.enforceBudget(slot);
    }
  }

  async addTensor(x: Tensor, labels: ArrayLike<number>, task: number | ArrayLike<number>): Promise<void> {
    this.add({ values: await this.store.encodeTensor(x), labels, task });
  }

  sample(k: number, generator: Generator = this.generator): Int32Array {
    if (!Number.isInteger(k) || k < 0) throw new EngramError(`${this.kind}.sample: k must be a non-negative integer, got ${k}`);
    return sampleWithoutReplacement(generator, this.size, Math.min(k, this.size));
  }

  sampleBatch(k: number, generator: Generator = this.generator): ReplayBatch {
    const indices = this.sample(k, generator);
    const n = indices.length;
    return {
      x: this.store.toTensor(indices),
      y: tensor(this.store.labels(indices), [n], { dtype: 'int32' }),
      task: tensor(this.store.tasks(indices), [n], { dtype: 'int32' }),
      indices,
    };
  }
}
