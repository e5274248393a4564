// PyTorch's own checkpoint format, both ways, so `torch.save(model.state_dict(), 'model.pt')` loads
// into engram and engram's `.pt` loads with `torch.load`. Browser-safe: bytes in, bytes out.
//
// The format (torch.save since PyTorch 1.6): a zip archive whose entries share one top-level folder
// (the "archive name", any string):
//   <archive>/data.pkl     a pickle of the saved object; each tensor is
//                          torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
//                          backward_hooks[, metadata]) and each storage a persistent id
//                          ('storage', torch.FloatStorage, '<key>', '<location>', numel)
//   <archive>/data/<key>   the storage's raw bytes (little-endian; entries normally stored, not deflated)
//   <archive>/version      the serialization version, "3\n" (also at <archive>/.data/version in PyTorch 2)
//   <archive>/byteorder    "little" or "big" (PyTorch >= 2.0; absent means little)
//
// Reading executes nothing: the pickle may name only the globals in ALLOWED_GLOBALS (the policy of
// torch.load(weights_only=True)); anything else is an error naming the global. The loaded object
// must be a dict of tensors (a state_dict), or hold one under `opts.key` (e.g. 'model' for a training
// checkpoint {'model': model.state_dict(), 'epoch': 3}). Tensors may share storages and have any
// strides (non-contiguous views are gathered). dtypes convert as in the safetensors loader: float
// types to float32, integer and bool types to int32; an int64 outside int32's range is an error.
//
// Writing produces what torch.save(model.state_dict()) would: an OrderedDict of contiguous CPU
// tensors, float32 as FloatStorage and int32 as int64 LongStorage (PyTorch's dtype for
// num_batches_tracked), pickle protocol 2, every storage its own 64-byte-aligned zip entry.

import { EngramError } from '../engine/runtime.js';
import type { Tensor } from '../engine/tensor.js';
import type { Module } from './module.js';
import { unpickle, PickleWriter, type PickleGlobal } from './pickle.js';
import { readZip, writeZip, isZip, type ZipArchive } from './zip.js';
import { toTensors, halfToFloat, type ParsedSafetensors, type SafetensorsDType, type SafetensorsEntry } from './safetensors.js';

/** PyTorch storage classes and the safetensors dtype names engram uses for them. */
const STORAGE_DTYPES: Record<string, SafetensorsDType> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64',
  LongStorage: 'I64', IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};
const ITEM_BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Elements of the largest tensor materialized (2^31 - 1: typed-array and GPU binding limits are near it). */
const MAX_ELEMENTS = 2 ** 31 - 1;

/**
 * The only Python globals a torch.save file may name (as torch.load(weights_only=True) allows):
 * OrderedDict, the tensor rebuild functions and the storage classes. Anything else is refused.
 */
export const ALLOWED_GLOBALS: readonly string[] = [
  'collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter',
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
];

/** Options for reading a torch.save file. */
export interface TorchLoadOptions {
  /**
   * When the file holds a dict that wraps the state dict (e.g. {'model': state_dict, 'epoch': 3}),
   * the key of the state dict in it. Without it, the top level must be the state dict itself.
   */
  key?: string;
}

interface StorageRef { readonly kind: 'storage'; readonly key: string; readonly dtype: SafetensorsDType; readonly numel: number }
interface TensorRef { readonly kind: 'tensor'; readonly storage: StorageRef; readonly offset: number; readonly size: readonly number[]; readonly stride: readonly number[] }
interface StorageClass extends PickleGlobal { readonly dtype: SafetensorsDType }

const isTensorRef = (v: unknown): v is TensorRef => typeof v === 'object' && v !== null && (v as TensorRef).kind === 'tensor';

function fail(name: string, what: string): never {
  throw new EngramError(`${name}: not a loadable PyTorch checkpoint: ${what}`);
}

function isIntTuple(v: unknown): v is readonly number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** A short description of an unpickled value for error messages (values may be cyclic or huge). */
function preview(v: unknown, depth = 0): string {
  if (Array.isArray(v)) return depth > 1 ? '(...)' : `(${v.slice(0, 6).map((x) => preview(x, depth + 1)).join(', ')}${v.length > 6 ? ', ...' : ''})`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'object' && v !== null) return 'module' in v ? `${(v as PickleGlobal).module}.${(v as PickleGlobal).name}` : 'an object';
  return String(v);
}

/** Finds the one `<archive>/data.pkl`; explains the files that are zips but not torch.save output. */
function findArchivePrefix(zip: ZipArchive, name: string): string {
  const names = [...zip.entries.keys()];
  const pkls = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length === 1) return pkls[0]!.slice(0, -'data.pkl'.length);
  if (pkls.length > 1) fail(name, `the zip holds ${pkls.length} archives (${pkls.join(', ')}); torch.save writes exactly one <archive>/data.pkl`);
  if (names.some((n) => /^[^/]+\/constants\.pkl$/.test(n) || /^[^/]+\/code\//.test(n))) {
    fail(name, 'it is a TorchScript archive (torch.jit.save); save the weights with torch.save(model.state_dict(), path) instead');
  }
  fail(name, `no <archive>/data.pkl entry among ${names.length} zip entries (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}); this zip was not written by torch.save`);
}

function checkVersionAndByteOrder(zip: ZipArchive, prefix: string, name: string): void {
  const text = (entry: string) => new TextDecoder().decode(zip.read(entry)).trim();
  const versionEntry = [`${prefix}version`, `${prefix}.data/version`].find((e) => zip.entries.has(e));
  if (!versionEntry) fail(name, `entry '${prefix}version' is missing (torch.save always writes it; the file is damaged)`);
  const version = text(versionEntry!);
  if (!/^\d+$/.test(version)) fail(name, `entry '${versionEntry}' holds ${JSON.stringify(version)}, not a version number`);
  if (zip.entries.has(`${prefix}byteorder`)) {
    const order = text(`${prefix}byteorder`);
    if (order === 'big') fail(name, `entry '${prefix}byteorder' says the storages are big-endian, which engram does not read; load the file in PyTorch on a little-endian machine and torch.save it again`);
    if (order !== 'little') fail(name, `entry '${prefix}byteorder' holds ${JSON.stringify(order)}; expected "little" or "big"`);
  }
}

/** Runs data.pkl with only the allowed globals; storages and tensors become references, not data. */
function unpickleCheckpoint(zip: ZipArchive, prefix: string, name: string): unknown {
  const where = `${name}: entry '${prefix}data.pkl'`;
  const storages = new Map<string, StorageRef>();
  const orderedDict: PickleGlobal = {
    module: 'collections', name: 'OrderedDict',
    call(args) {
      if (args.length === 0) return new Map();
      throw new EngramError(`${where}: OrderedDict called with arguments; torch.save pickles it without`);
    },
  };
  const rebuildTensor: PickleGlobal = {
    module: 'torch._utils', name: '_rebuild_tensor_v2',
    call(args): TensorRef {
      const [storage, offset, size, stride] = args as [StorageRef, number, unknown, unknown];
      if (args.length < 6 || args.length > 7) throw new EngramError(`${where}: _rebuild_tensor_v2 called with ${args.length} arguments; torch.save passes 6 or 7`);
      if (storage?.kind !== 'storage') throw new EngramError(`${where}: _rebuild_tensor_v2's first argument is not a storage`);
      if (!Number.isSafeInteger(offset) || offset < 0) throw new EngramError(`${where}: tensor storage offset ${String(offset)} is not a non-negative integer`);
      if (!isIntTuple(size) || !isIntTuple(stride) || size.length !== stride.length) {
        throw new EngramError(`${where}: tensor size ${preview(size)} and stride ${preview(stride)} are not two equally long tuples of non-negative integers`);
      }
      return { kind: 'tensor', storage, offset, size, stride };
    },
  };
  const rebuildParameter: PickleGlobal = {
    module: 'torch._utils', name: '_rebuild_parameter',
    call(args) {
      if (!isTensorRef(args[0])) throw new EngramError(`${where}: _rebuild_parameter's first argument is not a tensor`);
      return args[0];
    },
  };
  const globals = new Map<string, PickleGlobal>([
    ['collections.OrderedDict', orderedDict],
    ['torch._utils._rebuild_tensor_v2', rebuildTensor],
    ['torch._utils._rebuild_parameter', rebuildParameter],
    ...Object.entries(STORAGE_DTYPES).map(([cls, dtype]): [string, StorageClass] => [`torch.${cls}`, { module: 'torch', name: cls, dtype }]),
  ]);
  return unpickle(zip.read(`${prefix}data.pkl`), {
    name: where,
    resolveGlobal(module, global) {
      const g = globals.get(`${module}.${global}`);
      if (g) return g;
      throw new EngramError(
        `${where}: refusing to load the global '${module}.${global}': only ${ALLOWED_GLOBALS.join(', ')} are allowed ` +
          '(the policy of torch.load(weights_only=True); engram never runs code from a checkpoint). ' +
          'Save plain tensors instead: torch.save(model.state_dict(), path)',
      );
    },
    persistentLoad(pid) {
      const [tag, cls, key, , numel] = (Array.isArray(pid) ? pid : []) as [unknown, StorageClass, unknown, unknown, unknown];
      if (!Array.isArray(pid) || pid.length !== 5 || tag !== 'storage' || typeof key !== 'string' || !Number.isSafeInteger(numel) || (numel as number) < 0 || !cls?.dtype) {
        throw new EngramError(`${where}: persistent id ${preview(pid)} is not ('storage', <torch storage class>, key, location, numel)`);
      }
      const seen = storages.get(key);
      if (seen && (seen.dtype !== cls.dtype || seen.numel !== numel)) {
        throw new EngramError(`${where}: storage '${key}' is used as ${seen.dtype} x ${seen.numel} and as ${cls.dtype} x ${String(numel)}; views of one storage with different dtypes are not supported`);
      }
      const ref: StorageRef = seen ?? { kind: 'storage', key, dtype: cls.dtype, numel: numel as number };
      storages.set(key, ref);
      return ref;
    },
    build(target, state) {
      // torch.save pickles a state_dict's `_metadata` attribute (per-module versions) with BUILD on
      // the OrderedDict. Those versions only matter to PyTorch's own load hooks; they are dropped.
      if (!(target instanceof Map)) throw new EngramError(`${where}: BUILD on something other than a dict`);
      void state;
    },
  });
}

/**
 * Copies the tensor's elements, in row-major order of its size, from the storage into `out`, after
 * checking that its offset, size and strides stay inside the storage.
 */
function gather(t: TensorRef, read: (i: number) => number, out: Float32Array | Int32Array): void {
  const count = out.length;
  if (count === 0) return;
  let contiguous = true;
  for (let d = t.size.length - 1, expect = 1; d >= 0; expect *= t.size[d]!, d--) if (t.size[d]! > 1 && t.stride[d] !== expect) contiguous = false;
  if (contiguous) {
    for (let i = 0; i < count; i++) out[i] = read(t.offset + i);
    return;
  }
  // A view (transposed, sliced, expanded): walk the dimensions like an odometer, last fastest.
  const idx = new Array<number>(t.size.length).fill(0);
  let at = t.offset;
  for (let n = 0; n < count; n++) {
    out[n] = read(at);
    for (let d = t.size.length - 1; d >= 0; d--) {
      if (++idx[d]! < t.size[d]!) {
        at += t.stride[d]!;
        break;
      }
      at -= (t.size[d]! - 1) * t.stride[d]!;
      idx[d] = 0;
    }
  }
}

/** Reads element `i` of a little-endian storage as a number (float types) or an int32 (integer types). */
function elementReader(dtype: SafetensorsDType, dv: DataView, key: string, name: string): (i: number) => number {
  switch (dtype) {
    case 'F32': return (i) => dv.getFloat32(i * 4, true);
    case 'F64': return (i) => dv.getFloat64(i * 8, true);
    case 'F16': return (i) => halfToFloat(dv.getUint16(i * 2, true));
    case 'BF16': return (i) => { BF16_U32[0] = dv.getUint16(i * 2, true) << 16; return BF16_F32[0]!; };
    case 'I32': return (i) => dv.getInt32(i * 4, true);
    case 'I16': return (i) => dv.getInt16(i * 2, true);
    case 'I8': return (i) => dv.getInt8(i);
    case 'U8': case 'BOOL': return (i) => dv.getUint8(i);
    case 'I64': return (i) => {
      const big = dv.getBigInt64(i * 8, true);
      if (big > 2147483647n || big < -2147483648n) fail(name, `tensor '${key}' holds the int64 value ${big}, which does not fit int32 (engram's integer dtype)`);
      return Number(big);
    };
  }
}
const BF16_U32 = new Uint32Array(1);
const BF16_F32 = new Float32Array(BF16_U32.buffer);

/** Explains why a loaded object is not a state dict, suggesting `key` when it wraps one. */
function selectStateDict(root: unknown, key: string | undefined, name: string): Map<string, TensorRef> {
  let sd = root;
  if (key !== undefined) {
    if (!(root instanceof Map)) fail(name, `option key '${key}' was given, but the file holds a ${Array.isArray(root) ? 'list or tuple' : typeof root}, not a dict`);
    if (!root.has(key)) fail(name, `option key '${key}' was given, but the top-level dict has only the keys ${[...root.keys()].map((k) => `'${String(k)}'`).join(', ')}`);
    sd = root.get(key);
  }
  const where = key === undefined ? 'the top level' : `the entry '${key}'`;
  if (!(sd instanceof Map)) fail(name, `${where} is not a dict of tensors (a state_dict)`);
  const bad = [...sd.entries()].filter(([k, v]) => typeof k !== 'string' || !isTensorRef(v)).map(([k]) => String(k));
  if (bad.length) {
    const wrapped = [...sd.entries()].filter(([, v]) => v instanceof Map && [...v.values()].some(isTensorRef)).map(([k]) => String(k));
    const hint = wrapped.length ? `; it looks like a training checkpoint: pass { key: '${wrapped[0]}' } to load the state dict stored under '${wrapped[0]}'` : '';
    fail(name, `${where} is not a state_dict: ${bad.length} entries are not tensors (${bad.slice(0, 5).map((k) => `'${k}'`).join(', ')}${bad.length > 5 ? ', ...' : ''})${hint}`);
  }
  return sd as Map<string, TensorRef>;
}

/**
 * Parses and validates a torch.save file holding a state dict (or, with `opts.key`, a dict holding
 * one). `name` (e.g. the path) is used in every error. The result has the shape of
 * parseSafetensors's, so `toTensors` uploads it.
 */
export function parseTorchStateDict(bytes: Uint8Array, name = 'PyTorch checkpoint', opts: TorchLoadOptions = {}): ParsedSafetensors {
  if (!isZip(bytes)) {
    if (bytes[0] === 0x80 && bytes.byteLength > 1 && bytes[1]! <= 5) {
      fail(name, 'it is in the legacy (pre-1.6) torch.save format, which engram does not read; in PyTorch, torch.load it and torch.save it again (the zip format is the default since PyTorch 1.6)');
    }
    fail(name, 'it does not start with a zip signature (torch.save writes zip archives)');
  }
  const zip = readZip(bytes, name);
  const prefix = findArchivePrefix(zip, name);
  checkVersionAndByteOrder(zip, prefix, name);
  const sd = selectStateDict(unpickleCheckpoint(zip, prefix, name), opts.key, name);

  const storageBytes = new Map<string, DataView>();
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [key, t] of sd) {
    const s = t.storage;
    let dv = storageBytes.get(s.key);
    if (!dv) {
      const entry = `${prefix}data/${s.key}`;
      if (!zip.entries.has(entry)) fail(name, `tensor '${key}' uses storage '${s.key}', but the entry '${entry}' is missing`);
      const data = zip.read(entry);
      const expected = s.numel * ITEM_BYTES[s.dtype];
      if (data.byteLength !== expected) fail(name, `entry '${entry}' has ${data.byteLength} bytes, but its storage is ${s.numel} x ${s.dtype} = ${expected} bytes`);
      dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      storageBytes.set(s.key, dv);
    }
    // Bounds first, then size: a stride-0 (expanded) view can be far larger than its storage.
    const count = t.size.reduce((a, b) => a * b, 1);
    const last = t.offset + t.size.reduce((sum, d, i) => sum + (d - 1) * t.stride[i]!, 0);
    if (count > 0 && last >= s.numel) {
      fail(name, `tensor '${key}' (offset ${t.offset}, size ${JSON.stringify(t.size)}, stride ${JSON.stringify(t.stride)}) reaches element ${last} of storage '${s.key}', which has ${s.numel}`);
    }
    if (count > MAX_ELEMENTS) fail(name, `tensor '${key}' has ${count} elements (size ${JSON.stringify(t.size)}); engram tensors hold at most ${MAX_ELEMENTS}`);
    const isFloat = s.dtype[0] === 'F' || s.dtype === 'BF16';
    const out = isFloat ? new Float32Array(count) : new Int32Array(count);
    gather(t, elementReader(s.dtype, dv, key, name), out);
    tensors.set(key, { storedDtype: s.dtype, shape: [...t.size], data: out });
  }
  return { tensors, metadata: {} };
}

/**
 * Named tensors as a torch.save file (reads them back from the GPU). `torch.load` returns an
 * OrderedDict with the same keys, in the same order; float32 stays float32, int32 becomes int64.
 */
export async function serializeTorchStateDict(tensors: Map<string, Tensor> | Record<string, Tensor>): Promise<Uint8Array> {
  // Storages are copied from typed arrays, which use the machine's byte order; the file says "little".
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new EngramError('serializeTorchStateDict: this machine is big-endian; engram writes little-endian checkpoints only');
  const entries = [...(tensors instanceof Map ? tensors : new Map(Object.entries(tensors))).entries()];
  const prefix = 'archive/';
  const storages: [string, Uint8Array][] = [];
  const p = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce();
  if (entries.length) p.mark();
  for (const [i, [key, t]] of entries.entries()) {
    const arr = await t.toArray();
    let data: Uint8Array;
    if (t.dtype === 'int32') {
      // Sign-extend to int64: PyTorch's integer buffers (num_batches_tracked) are int64.
      const wide = new BigInt64Array(arr.length);
      for (let j = 0; j < arr.length; j++) wide[j] = BigInt(arr[j]!);
      data = new Uint8Array(wide.buffer);
    } else {
      data = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    }
    storages.push([`${prefix}data/${i}`, data]);
    const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    p.str(key).global('torch._utils', '_rebuild_tensor_v2').mark()
      .mark().str('storage').global('torch', t.dtype === 'int32' ? 'LongStorage' : 'FloatStorage').str(String(i)).str('cpu').int(arr.length).tupleFromMark().persid()
      .int(0).intTuple(t.shape).intTuple(strides).bool(false)
      .global('collections', 'OrderedDict').emptyTuple().reduce() // backward_hooks
      .tupleFromMark().reduce();
  }
  if (entries.length) p.setitems();
  const enc = new TextEncoder();
  return writeZip([
    [`${prefix}data.pkl`, p.stop().finish()],
    [`${prefix}byteorder`, enc.encode('little')],
    ...storages,
    [`${prefix}version`, enc.encode('3\n')],
  ]);
}

/** A module's state dict as a PyTorch checkpoint (`torch.load(path)` reads it; PyTorch key names). */
export function saveTorchStateDict(module: Module): Promise<Uint8Array> {
  return serializeTorchStateDict(module.stateDict());
}

/**
 * Load a torch.save file into a module, with the same strict key, shape and dtype checks as
 * loadStateDictBytes (missing, unexpected and mis-shaped keys are listed in one error).
 */
export function loadTorchStateDictBytes(module: Module, bytes: Uint8Array, name = 'checkpoint', opts: { strict?: boolean } & TorchLoadOptions = {}) {
  const tensors = toTensors(parseTorchStateDict(bytes, name, opts));
  try {
    return module.loadStateDict(tensors, opts);
  } catch (e) {
    throw new EngramError(`${name}: ${(e as Error).message}`);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
