// The GPU side of the packed exemplar formats: upload packed u32 words and unpack them into a float32
// batch in a kernel (so a replay batch crosses the bus at 1/2 or 1/4 of its float32 size), and pack
// float32 tensors into fp16 words on the GPU (so exemplars that already live on the GPU come back
// at half size). Kernels: src/shaders/pack.ts.

import { runtime, grid1d, EngramError, type Runtime } from '../../engine/runtime.js';
import { empty, type Tensor } from '../../engine/tensor.js';
import { numel, shapeStr } from '../../engine/shape.js';
import { PACK_F16_WGSL, UNPACK_F16_WGSL, UNPACK_U8_AFFINE_WGSL, UNPACK_U8_TABLE_WGSL } from '../../shaders/pack.js';
import { PIXEL_VALUES } from './codecs.js';

/** An int32-typed GPU tensor holding `bytes` (whole u32 words), uploaded in command order. */
function uploadWords(bytes: Uint8Array): Tensor {
  if (bytes.length % 4) throw new EngramError(`packed exemplars: ${bytes.length} bytes is not a whole number of u32 words`);
  const t = empty([bytes.length / 4], 'int32');
  runtime().upload(t.buffer, bytes);
  return t;
}

function checkBatch(op: string, bytes: Uint8Array, k: number, wordsPerExemplar: number): void {
  if (bytes.length !== 4 * k * wordsPerExemplar) {
    throw new EngramError(`${op}: ${bytes.length} bytes do not hold ${k} exemplars of ${wordsPerExemplar} words (${4 * k * wordsPerExemplar} bytes)`);
  }
}

/** Float32 [k, ...shape] from k fp16 exemplars packed two values per word (W = ceil(D / 2)). */
export function unpackF16Gpu(packed: Uint8Array, k: number, shape: readonly number[]): Tensor {
  const d = numel(shape);
  const w = Math.ceil(d / 2);
  checkBatch('unpackF16Gpu', packed, k, w);
  const rt = runtime();
  const words = uploadWords(packed);
  const out = empty([k, ...shape]);
  const kernel = rt.kernel({ name: 'unpack_f16', wgsl: UNPACK_F16_WGSL, bindings: ['read', 'write'] });
  rt.dispatch(kernel, [words.buffer, out.buffer], [k * w, d, w], grid1d(k * w));
  words.dispose();
  return out;
}

// The 256-entry pixel table, uploaded once per runtime and kept past every scope.
const pixelTables = new WeakMap<Runtime, Tensor>();
function pixelTable(rt: Runtime): Tensor {
  let t = pixelTables.get(rt);
  if (!t || t.disposed) {
    t = empty([256]).keep();
    rt.upload(t.buffer, PIXEL_VALUES);
    pixelTables.set(rt, t);
  }
  return t;
}

/**
 * Float32 [k, ...shape] from k uint8 exemplars packed four values per word (W = ceil(D / 4)).
 * `meta` null: 8-bit images, q -> float32(q / 255). `meta` given: [offset, step] per exemplar (2k
 * floats), q -> offset + q * step.
 */
export function unpackU8Gpu(packed: Uint8Array, k: number, shape: readonly number[], meta: Float32Array | null): Tensor {
  const d = numel(shape);
  const w = Math.ceil(d / 4);
  checkBatch('unpackU8Gpu', packed, k, w);
  if (meta && meta.length !== 2 * k) throw new EngramError(`unpackU8Gpu: ${k} exemplars need ${2 * k} offset/step floats, got ${meta.length}`);
  const rt = runtime();
  const words = uploadWords(packed);
  const out = empty([k, ...shape]);
  let side: Tensor;
  let kernel;
  if (meta) {
    side = empty([Math.max(1, meta.length)]);
    rt.upload(side.buffer, meta);
    kernel = rt.kernel({ name: 'unpack_u8_affine', wgsl: UNPACK_U8_AFFINE_WGSL, bindings: ['read', 'read', 'write'] });
  } else {
    side = pixelTable(rt);
    kernel = rt.kernel({ name: 'unpack_u8_table', wgsl: UNPACK_U8_TABLE_WGSL, bindings: ['read', 'read', 'write'] });
  }
  rt.dispatch(kernel, [words.buffer, side.buffer, out.buffer], [k * w, d, w], grid1d(k * w));
  words.dispose();
  if (meta) side.dispose();
  return out;
}

/**
 * Pack a float32 tensor [k, ...] (k exemplars of D = size / k values; a 1-D tensor is one exemplar
 * row per element of dim 0) into fp16 words on the GPU: an int32-typed tensor of k * ceil(D / 2)
 * words, in the layout unpackF16Gpu reads. Rounding of values that fp16 cannot represent is the
 * GPU's (pack2x16float: nearest or a neighbour, implementation-defined), so GPU-packed exemplars may
 * differ from CPU-packed ones in the last bit; NaN, Infinity and overflow follow the CPU exactly.
 */
export function packF16Gpu(x: Tensor): Tensor {
  if (x.dtype !== 'float32') throw new EngramError(`packF16Gpu: expects a float32 tensor, got ${x.dtype} (shape ${shapeStr(x.shape)})`);
  if (x.rank < 1) throw new EngramError(`packF16Gpu: expects a batch [k, ...] of exemplars, got shape ${shapeStr(x.shape)}`);
  const k = x.shape[0]!;
  const d = k === 0 ? 0 : x.size / k;
  const w = Math.ceil(d / 2);
  const rt = runtime();
  const words = empty([k * w], 'int32');
  const kernel = rt.kernel({ name: 'pack_f16', wgsl: PACK_F16_WGSL, bindings: ['read', 'write'] });
  rt.dispatch(kernel, [x.buffer, words.buffer], [k * w, d, w], grid1d(k * w));
  return words;
}
