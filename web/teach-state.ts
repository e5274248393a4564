// The "Teach it" page's saved state: one safetensors file (readable by Python's `safetensors` too)
// that the page keeps in IndexedDB after every change, offers as an export, and takes back as an import.
//   exemplars        U8  [n, 28, 28]  the drawings of the taught classes, as packed in the exemplar memory
//   exemplar_labels  I32 [n]          their class ids
//   backbone.<key>   F32              the backbone's weights, only when they are not the shipped ones
//   __metadata__                      format 'engram-teach' version 1; classes, nextId, fineTuned,
//                                     backbone (its file name), mode, steps, history (JSON strings)
// The head's statistics and the unknown threshold are derived from these on restore (web/teach-model.ts).

import * as E from 'engram/browser';
import { DIGITS, PIXELS, type ClassInfo, type Learner, type SavedState } from './teach-model.js';
import { SIDE } from './teach-canvas.js';

/** One line of the "does it still know the digits?" log. */
export interface HistoryEntry {
  /** What happened ('start', "taught 'A' (5 drawings)", ...). */
  event: string;
  /** Classes known after it. */
  classes: number;
  /** Held-out digit accuracy after it. */
  accuracy: number;
  /** Share of held-out digits flagged unknown after it. */
  unknownRate: number;
  /** 'gaussian' or 'replay'. */
  mode: string;
}

/** The page's state besides the learner's: its log and the selected mode. */
export interface PageState {
  /** The log. */
  history: HistoryEntry[];
  /** The selected learning mode. */
  mode: 'gaussian' | 'replay';
  /** Replay fine-tuning steps. */
  steps: number;
}

const FORMAT = 'engram-teach';
const VERSION = '1';

interface Entry {
  dtype: 'U8' | 'I32' | 'F32';
  shape: number[];
  data: Uint8Array | Int32Array | Float32Array;
}

/** A safetensors file from CPU arrays (the library's serializer takes GPU tensors and writes F32/I32 only). */
function writeSafetensors(entries: Record<string, Entry>, metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const keys = Object.keys(entries).sort();
  for (const k of keys) {
    const e = entries[k]!;
    header[k] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.data.byteLength] };
    offset += e.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let pos = 8 + hb.length;
  for (const k of keys) {
    const d = entries[k]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** The learner's and the page's state as one file. */
export async function exportState(learner: Learner, page: PageState, shippedBackbone: string): Promise<Uint8Array> {
  const drawn = Array.from(learner.memory.labels()).flatMap((l, i) => (l >= DIGITS ? [i] : []));
  const entries: Record<string, Entry> = {
    exemplars: { dtype: 'U8', shape: [drawn.length, SIDE, SIDE], data: learner.pixelsOf(drawn) },
    exemplar_labels: { dtype: 'I32', shape: [drawn.length], data: Int32Array.from(drawn, (i) => learner.memory.label(i)) },
  };
  if (learner.fineTuned || learner.backboneName !== shippedBackbone) {
    for (const [k, t] of learner.model.stateDict()) entries[`backbone.${k}`] = { dtype: 'F32', shape: [...t.shape], data: (await t.toArray()) as Float32Array };
  }
  return writeSafetensors(entries, {
    format: FORMAT,
    version: VERSION,
    classes: JSON.stringify(learner.taught),
    nextId: String(learner.nextId),
    fineTuned: String(learner.fineTuned),
    backbone: learner.backboneName,
    mode: page.mode,
    steps: String(page.steps),
    history: JSON.stringify(page.history),
  });
}

/** Read a state file; throws an Error saying what is wrong with it. */
export function importState(bytes: Uint8Array, name: string): { saved: SavedState; page: PageState } {
  const p = E.parseSafetensors(bytes, name);
  const m = p.metadata;
  if (m.format !== FORMAT) throw new Error(`${name}: not a saved 'Teach it' state (metadata format is '${m.format ?? 'missing'}', expected '${FORMAT}')`);
  if (m.version !== VERSION) throw new Error(`${name}: state version ${m.version}, this page reads version ${VERSION}`);
  const ex = p.tensors.get('exemplars');
  const lb = p.tensors.get('exemplar_labels');
  if (!ex || !lb || ex.shape.length !== 3 || ex.shape[1] !== SIDE || ex.shape[2] !== SIDE || lb.shape[0] !== ex.shape[0]) {
    throw new Error(`${name}: needs exemplars [n, ${SIDE}, ${SIDE}] and exemplar_labels [n]`);
  }
  const taught = JSON.parse(m.classes ?? '[]') as ClassInfo[];
  const ids = new Set(taught.map((c) => c.id));
  const labels = Int32Array.from(lb.data);
  for (const l of labels) if (!ids.has(l)) throw new Error(`${name}: an exemplar has label ${l}, which no class in the file has`);
  let weights: Map<string, E.Tensor> | null = null;
  for (const [k, e] of p.tensors) {
    if (!k.startsWith('backbone.')) continue;
    weights ??= new Map();
    weights.set(k.slice('backbone.'.length), E.tensor(e.data, e.shape));
  }
  const images = Uint8Array.from(ex.data);
  if (images.length !== ex.shape[0]! * PIXELS) throw new Error(`${name}: exemplars hold ${images.length} values`);
  return {
    saved: { taught, nextId: Number(m.nextId), drawings: { images, labels, n: ex.shape[0]! }, weights, fineTuned: m.fineTuned === 'true', backboneName: m.backbone ?? 'backbone' },
    page: { history: JSON.parse(m.history ?? '[]') as HistoryEntry[], mode: m.mode === 'replay' ? 'replay' : 'gaussian', steps: Number(m.steps) > 0 ? Number(m.steps) : 5 },
  };
}

// ------------------------------------------------------------------ IndexedDB

const DB = 'engram-teach';
const STORE = 'state';
const KEY = 'current';

function openDB(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB: cannot open'));
  });
}

function request<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return openDB().then((db) => new Promise<T>((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    tx.oncomplete = () => {
      db.close();
      resolve(req.result);
    };
    tx.onerror = () => {
      db.close();
      reject(tx.error ?? new Error('IndexedDB: transaction failed'));
    };
  }));
}

/** Keep the state file in this browser's IndexedDB. */
export function saveLocal(bytes: Uint8Array): Promise<void> {
  return request('readwrite', (s) => s.put(bytes, KEY)).then(() => undefined);
}

/** The state file kept in IndexedDB, or null. */
export async function loadLocal(): Promise<Uint8Array | null> {
  const v = await request<unknown>('readonly', (s) => s.get(KEY));
  return v instanceof Uint8Array ? v : null;
}

/** Remove the kept state. */
export function clearLocal(): Promise<void> {
  return request('readwrite', (s) => s.delete(KEY)).then(() => undefined);
}
