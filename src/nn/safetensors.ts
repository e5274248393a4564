// Checkpoints in the safetensors format (the format of Hugging Face and `safetensors.torch`):
//   8 bytes   little-endian u64 N = header length
//   N bytes   JSON: { "<key>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ...,
//                     "__metadata__": { string: string } }   (may be padded with spaces)
//   rest      the tensors' bytes, little-endian, row-major; offsets are relative to this section.
// Keys are PyTorch state_dict names, so `model.state_dict()` saved with safetensors.torch.save_file
// loads here and the reverse. Parsing validates everything and names the file in every error.

import { EngramError } from '../engine/runtime.js';
import { tensor, type Tensor } from '../engine/tensor.js';
import type { Module } from './module.js';

/** Element types of the safetensors format. */
export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const FLOAT_DTYPES = new Set<SafetensorsDType>(['F32', 'F16', 'BF16', 'F64']);

/** One tensor of a parsed safetensors file. */
export interface SafetensorsEntry {
  /** dtype as stored in the file. */
  storedDtype: SafetensorsDType;
  /** Dimensions, outermost first. */
  shape: number[];
  /** Values converted to engram's dtypes: floats to float32, integers to int32. */
  data: Float32Array | Int32Array;
}

/** The contents of a safetensors file: tensors by key and the header's `__metadata__`. */
export interface ParsedSafetensors {
  /** Tensors by key (PyTorch state_dict names for checkpoints). */
  tensors: Map<string, SafetensorsEntry>;
  /** String pairs from the header's `__metadata__` (empty when absent). */
  metadata: Record<string, string>;
}

function fail(name: string, what: string): never {
  throw new EngramError(`${name}: not a valid safetensors file: ${what}`);
}

/** An IEEE binary16 bit pattern as a number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function decode(bytes: Uint8Array, dtype: SafetensorsDType, count: number, key: string, name: string): Float32Array | Int32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (FLOAT_DTYPES.has(dtype)) {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      switch (dtype) {
        case 'F32': out[i] = dv.getFloat32(i * 4, true); break;
        case 'F64': out[i] = dv.getFloat64(i * 8, true); break;
        case 'F16': out[i] = halfToFloat(dv.getUint16(i * 2, true)); break;
        default: out[i] = new Float32Array(new Uint32Array([dv.getUint16(i * 2, true) << 16]).buffer)[0]!; // BF16
      }
    }
    return out;
  }
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let v: number;
    switch (dtype) {
      case 'I32': v = dv.getInt32(i * 4, true); break;
      case 'I16': v = dv.getInt16(i * 2, true); break;
      case 'I8': v = dv.getInt8(i); break;
      case 'U8': case 'BOOL': v = dv.getUint8(i); break;
      default: {
        const big = dv.getBigInt64(i * 8, true);
        if (big > 2147483647n || big < -2147483648n) fail(name, `tensor '${key}' holds the int64 value ${big}, which does not fit int32`);
        v = Number(big);
      }
    }
    out[i] = v;
  }
  return out;
}

/**
 * The first key that appears twice in one object of a JSON text (already known to be valid JSON),
 * or null. A scan over the text: strings are skipped with their escapes, a string followed by ':'
 * is a key of the innermost open object.
 */
export function firstDuplicateKey(json: string): string | null {
  const objects: (Set<string> | null)[] = []; // one entry per open bracket; null for arrays
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{') objects.push(new Set());
    else if (c === '[') objects.push(null);
    else if (c === '}' || c === ']') objects.pop();
    else if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      let k = j + 1;
      while (k < json.length && ' \t\n\r'.includes(json[k]!)) k++;
      const keys = objects[objects.length - 1];
      if (json[k] === ':' && keys) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = j;
    }
  }
  return null;
}

/** Parse and validate a safetensors file. `name` (e.g. its path) is used in error messages. */
export function parseSafetensors(bytes: Uint8Array, name = 'safetensors data'): ParsedSafetensors {
  if (bytes.byteLength < 8) fail(name, `file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (headerLen > bytes.byteLength - 8) fail(name, `header length ${headerLen} exceeds the file size (${bytes.byteLength} bytes); the file is truncated or not safetensors`);
  if (headerLen > 100_000_000) fail(name, `header length ${headerLen} is implausibly large`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen))) as Record<string, unknown>;
  } catch (e) {
    fail(name, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(name, 'header is not a JSON object');
  // JSON.parse keeps the last of two equal keys without a word; a file with duplicates is ambiguous.
  const duplicate = firstDuplicateKey(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  if (duplicate !== null) fail(name, `the header lists the key ${JSON.stringify(duplicate)} twice`);
  const data = bytes.subarray(8 + headerLen);
  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [key, raw] of Object.entries(header)) {
    if (key === '__metadata__') {
      // The format: a map of strings to strings.
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(name, `__metadata__ must be an object of strings, got ${JSON.stringify(raw)}`);
      for (const [mk, mv] of Object.entries(raw)) {
        if (typeof mv !== 'string') fail(name, `__metadata__ entry '${mk}' must be a string, got ${JSON.stringify(mv)}`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info?.dtype as SafetensorsDType;
    // Own keys only: 'toString' or 'constructor' are in every object through its prototype.
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) fail(name, `tensor '${key}' has unsupported dtype ${JSON.stringify(info?.dtype)}`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(name, `tensor '${key}' has an invalid shape ${JSON.stringify(shape)}`);
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) fail(name, `tensor '${key}' has invalid data_offsets ${JSON.stringify(offs)}`);
    const [begin, end] = offs as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = count * DTYPE_BYTES[dtype];
    if (end < begin || end - begin !== expected) fail(name, `tensor '${key}' (${dtype} ${JSON.stringify(shape)}) needs ${expected} bytes but data_offsets span ${end - begin}`);
    if (end > data.byteLength) fail(name, `tensor '${key}' ends at byte ${end} of the data section, which has only ${data.byteLength} bytes (truncated file?)`);
    ranges.push([begin, end, key]);
    tensors.set(key, { storedDtype: dtype, shape: shape as number[], data: decode(data.subarray(begin, end), dtype, count, key, name) });
  }
  // As the format's reference implementation requires: the tensors tile the data section exactly,
  // from byte 0 with no gap and no overlap (empty tensors sit anywhere on the tiling, so ties sort
  // by end: an empty [8, 8] comes before [8, 16]).
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [begin, end, key] of ranges) {
    if (begin < at) fail(name, `tensor '${key}' (data_offsets [${begin}, ${end}]) overlaps the tensor before it, which ends at byte ${at}`);
    if (begin > at) fail(name, `bytes ${at}..${begin} of the data section belong to no tensor (a hole before '${key}')`);
    at = end;
  }
  if (at !== data.byteLength) fail(name, `data section has ${data.byteLength} bytes but the tensors cover ${at}`);
  return { tensors, metadata };
}

/** Serialize named tensors (reads them back from the GPU). float32 -> F32, int32 -> I32. */
export async function serializeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const entries = [...(tensors instanceof Map ? tensors : new Map(Object.entries(tensors))).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const [key, t] of entries) {
    const arr = await t.toArray();
    const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    header[key] = { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8); // align the data section to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  return out;
}

/** Upload parsed tensors to the GPU as engram tensors (integers as int32, floats as float32). */
export function toTensors(parsed: ParsedSafetensors): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, e] of parsed.tensors) out.set(k, tensor(e.data, e.shape, { dtype: e.data instanceof Int32Array ? 'int32' : 'float32' }));
  return out;
}

/** A module's state dict as safetensors bytes (PyTorch key names). */
export function saveStateDict(module: Module, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  return serializeSafetensors(module.stateDict(), { format: 'pt', ...metadata });
}

/**
 * Load safetensors bytes into a module (strict by default: missing, unexpected and mis-shaped keys
 * are listed in the error). PyTorch's int64 buffers (num_batches_tracked) load as int32.
 */
export function loadStateDictBytes(module: Module, bytes: Uint8Array, name = 'checkpoint', opts: { strict?: boolean } = {}) {
  const tensors = toTensors(parseSafetensors(bytes, name));
  try {
    return module.loadStateDict(tensors, opts);
  } catch (e) {
    throw new EngramError(`${name}: ${(e as Error).message}`);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
