// What the replay methods that keep their own memory share (DER, A-GEM, GDumb): the memory options
// (a ready buffer, or a policy, a capacity and a store format), building the buffer from them, offering
// dataset images to it (raw 8-bit pixels taken by index: no GPU readback), and reading the memory back
// as an ImageDataset. ExperienceReplay (replay.ts) has the same options; ERACE, MIR and WA build on it.

import { EngramError } from '../../engine/runtime.js';
import { shapeStr } from '../../engine/shape.js';
import { ImageDataset } from '../../data/dataset.js';
import type { ExemplarFormat, Uint8Quantization } from '../memory/codecs.js';
import type { ExemplarStore } from '../memory/store.js';
import type { ReplayBuffer, ReplayBufferOptions } from '../buffers/replay-buffer.js';
import { ReservoirBuffer } from '../buffers/reservoir.js';
import { FifoBuffer } from '../buffers/fifo.js';
import { ClassBalancedBuffer } from '../buffers/class-balanced.js';
import { TaskBalancedBuffer } from '../buffers/task-balanced.js';
import type { BufferKind } from './replay.js';

/** The replay memory of a method that keeps one: a ready buffer, or how to make one. */
export interface ReplayMemoryOptions {
  /** A ready, empty replay buffer over [C, H, W] images; otherwise one is made from the options below. */
  buffer?: ReplayBuffer;
  /** Memory policy (default: the method's own, e.g. 'reservoir' for DER). */
  bufferKind?: BufferKind;
  /** Capacity in exemplars. */
  capacity?: number;
  /** Capacity in stored bytes (see ExemplarStore.bytesPerExemplar: stored logits included). */
  capacityBytes?: number;
  /** Store format of the images (default 'float32'). */
  memoryFormat?: ExemplarFormat;
  /** uint8 only: 'image' (lossless for 8-bit images, default) or 'affine'. */
  quantization?: Uint8Quantization;
  /** Deflate each stored exemplar. */
  compress?: boolean | {
    /** Deflate level 0-9 (default 6). */
    level?: number;
  };
  /** Store images downscaled by this integer factor, resized back on the GPU when replayed (see ExemplarStoreOptions.downscale). */
  downscale?: number;
}

/** Effectively unbounded: the store grows on demand. */
export const UNBOUNDED_CAPACITY = 0x7fff_ffff;
const BUFFER_KINDS: readonly BufferKind[] = ['reservoir', 'fifo', 'class-balanced', 'task-balanced'];

/** Validate memory options at construction: a buffer or sizing options, not both; a known kind; an empty buffer. */
export function checkMemoryOptions(kind: string, o: ReplayMemoryOptions, needsCapacity: boolean): void {
  const sizing = [o.bufferKind, o.capacity, o.capacityBytes, o.memoryFormat, o.quantization, o.compress, o.downscale].some((v) => v !== undefined);
  if (o.buffer && sizing) throw new EngramError(`${kind}: give either a buffer or bufferKind/capacity/capacityBytes/memoryFormat/quantization/compress/downscale, not both`);
  if (o.buffer && o.buffer.size !== 0) throw new EngramError(`${kind}: the buffer must start empty (it holds ${o.buffer.size} exemplars)`);
  if (needsCapacity && !o.buffer && o.capacity === undefined && o.capacityBytes === undefined) {
    throw new EngramError(`${kind}: needs a memory size: capacity (exemplars) or capacityBytes`);
  }
  if (o.bufferKind !== undefined && !BUFFER_KINDS.includes(o.bufferKind)) {
    throw new EngramError(`${kind}: bufferKind must be one of ${BUFFER_KINDS.map((k) => `'${k}'`).join(', ')}, got ${JSON.stringify(o.bufferKind)}`);
  }
}

/** The buffer the options describe, over exemplars of `shape` (logitDim > 0: the store carries logits). */
export function makeReplayBuffer(o: ReplayMemoryOptions, shape: number[], seed: number, defaultKind: BufferKind, logitDim = 0): ReplayBuffer {
  const sized = o.capacity !== undefined || o.capacityBytes !== undefined;
  const opts: ReplayBufferOptions = {
    shape,
    format: o.memoryFormat,
    quantization: o.quantization,
    compress: o.compress,
    downscale: o.downscale,
    capacity: sized ? o.capacity : UNBOUNDED_CAPACITY,
    capacityBytes: o.capacityBytes,
    seed,
    logitDim: logitDim > 0 ? logitDim : undefined,
  };
  switch (o.bufferKind ?? defaultKind) {
    case 'reservoir':
      return new ReservoirBuffer(opts);
    case 'fifo':
      return new FifoBuffer(opts);
    case 'class-balanced':
      return new ClassBalancedBuffer(opts);
    case 'task-balanced':
      return new TaskBalancedBuffer(opts);
  }
}

/** Throw unless the buffer's exemplars have the dataset's image shape. */
export function checkBufferShape(kind: string, buf: ReplayBuffer, ds: ImageDataset, taskId: number): void {
  const shape = [ds.channels, ds.height, ds.width];
  const have = buf.store.shape;
  if (have.length !== 3 || have.some((n, i) => n !== shape[i])) {
    throw new EngramError(`${kind}: the buffer holds exemplars of shape ${shapeStr(have)} but task ${taskId} has ${shapeStr(shape)} images`);
  }
}

/** Offer the dataset images at `indices` (raw pixels, the dataset's labels; `logits` c per image) to the buffer. */
export function offerImages(buf: ReplayBuffer, ds: ImageDataset, indices: ArrayLike<number>, taskId: number, logits?: Float32Array): void {
  const d = ds.imageSize;
  const values = new Uint8Array(indices.length * d);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i]!;
    values.set(ds.images.subarray(j * d, (j + 1) * d), i * d);
    labels[i] = ds.labels[j]!;
  }
  buf.add({ values, labels, task: taskId, logits });
}

/**
 * The store's exemplars as an ImageDataset of 8-bit images shaped like `like` (store order): each value
 * decoded and turned back into a pixel, round(255 v), exact for pixels stored as float32, fp16 or uint8 'image'.
 */
export function storeAsDataset(kind: string, store: ExemplarStore, like: ImageDataset): ImageDataset {
  const d = store.dim;
  if (d !== like.imageSize) throw new EngramError(`${kind}: the memory holds ${d}-value exemplars, the task's images have ${like.imageSize}`);
  const n = store.size;
  const images = new Uint8Array(n * d);
  const row = new Float32Array(d);
  for (let i = 0; i < n; i++) {
    store.decode(i, row);
    for (let j = 0; j < d; j++) images[i * d + j] = Math.min(255, Math.max(0, Math.round(row[j]! * 255)));
  }
  return new ImageDataset({ images, labels: store.labels(), channels: like.channels, height: like.height, width: like.width });
}
