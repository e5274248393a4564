// A minimal, safe reader and writer for Python pickles, enough for PyTorch checkpoints.
//
// Reading: a pickle is a program for a stack machine, and Python's unpickler will import and call any
// global it names (`os.system` included). This reader never calls anything it was not given: every
// GLOBAL / STACK_GLOBAL is resolved through the caller's `resolveGlobal`, which returns a value for
// the few globals a checkpoint may use and throws for the rest (the same policy as
// torch.load(weights_only=True)). Only the opcodes of protocols 0-5 that carry data are implemented;
// any other opcode is an error naming it and its byte offset, never a guess.
//
// Python values map to JS as: None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
// float -> number, str -> string, bytes -> Uint8Array, tuple and list -> array (tuples frozen),
// dict -> Map (str/int/bool/None keys only).
//
// Writing: PickleWriter emits the protocol-2 opcodes torch.save uses; the caller composes them.

import { EngramError } from '../engine/runtime.js';

/** A global a pickle may name; `call` makes it callable by REDUCE (globals without it are plain values). */
export interface PickleGlobal {
  readonly module: string;
  readonly name: string;
  call?(args: readonly unknown[]): unknown;
}

export interface UnpickleOptions {
  /** Used in every error message, e.g. "model.pt: entry 'archive/data.pkl'". */
  name: string;
  /** Returns the value for `module.name`, or throws if that global is not allowed. */
  resolveGlobal(module: string, name: string): PickleGlobal;
  /** Returns the object for a persistent id (BINPERSID); without it, persistent ids are errors. */
  persistentLoad?(pid: unknown): unknown;
  /** BUILD on a value (e.g. OrderedDict's `_metadata` attribute dict). Default: reject. */
  build?(target: unknown, state: unknown): void;
}

/** Bounds the memo and stack so hostile input cannot make the reader allocate without limit. */
const MAX_MEMO = 1 << 24;

type Key = string | number | bigint | boolean | null;

function isKey(v: unknown): v is Key {
  return v === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof v);
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'a tuple' : 'a list';
  if (v instanceof Map) return 'a dict';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object' && v && 'module' in v && 'name' in v) return `the global ${(v as PickleGlobal).module}.${(v as PickleGlobal).name}`;
  return typeof v;
}

/** Little-endian two's-complement integer of `bytes`, as a number when exact, else a bigint. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Runs a pickle and returns the object it builds. Every failure names `opts.name` and the byte offset. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let opAt = 0;
  const fail = (what: string): never => {
    throw new EngramError(`${opts.name}: invalid pickle at byte ${opAt}: ${what}`);
  };
  const take = (n: number): number => {
    if (n < 0 || pos + n > bytes.byteLength) fail(`needs ${n} more bytes but the data ends at byte ${bytes.byteLength} (truncated)`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[take(1)]!;
  const u32 = () => dv.getUint32(take(4), true);
  const u64 = () => {
    const v = dv.getBigUint64(take(8), true);
    return v > BigInt(bytes.byteLength) ? fail(`length ${v} exceeds the data`) : Number(v);
  };
  const raw = (n: number) => bytes.subarray(take(n), pos);
  const str = (n: number) => {
    const b = raw(n); // outside the try: a truncation must be reported as one
    try {
      return utf8.decode(b);
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text line');
    const s = new TextDecoder().decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  // As in Python's unpickler, a MARK starts a new stack frame: nothing may reach below it.
  const empty = () => stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!);
  const pop = (): unknown => {
    if (empty()) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (empty()) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK to pop to');
    return stack.splice(m!);
  };
  const global = (module: string, name: string): unknown => {
    if (!/^[A-Za-z_][\w.]*$/.test(module) || !/^[A-Za-z_][\w.]*$/.test(name)) fail(`malformed global name ${JSON.stringify(`${module}.${name}`)}`);
    return opts.resolveGlobal(module, name);
  };
  const dictOf = (v: unknown, op: string): Map<Key, unknown> => (v instanceof Map ? (v as Map<Key, unknown>) : fail(`${op} on ${describe(v)}, not a dict`));
  const setItems = (d: Map<Key, unknown>, items: unknown[], op: string) => {
    if (items.length % 2) fail(`${op} with an odd number of items`);
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      if (!isKey(k)) fail(`${op}: dict key is ${describe(k)}; only str, int, bool and None keys are supported`);
      d.set(k as Key, items[i + 1]);
    }
  };
  const listOf = (v: unknown, op: string): unknown[] => (Array.isArray(v) && !Object.isFrozen(v) ? v : fail(`${op} on ${describe(v)}, not a list`));
  const put = (i: number) => {
    if (memo.size >= MAX_MEMO && !memo.has(i)) fail('memo grows beyond its limit');
    memo.set(i, top());
  };
  const get = (i: number) => (memo.has(i) ? memo.get(i) : fail(`memo index ${i} was never stored`));

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const p = u8();
        if (p > 5) fail(`pickle protocol ${p} is newer than 5`);
        break;
      }
      case 0x95: u64(); break; // FRAME: only a buffering hint; the data is contiguous here
      case 0x2e: { // STOP
        if (stack.length !== 1 || marks.length) fail(`STOP with ${stack.length} values and ${marks.length} marks on the stack`);
        return stack[0];
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(dv.getInt32(take(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(dv.getUint16(take(2), true)); break; // BININT2
      case 0x8a: stack.push(decodeLong(raw(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = dv.getInt32(take(4), true);
        // Decoding is quadratic in the length; no integer in a checkpoint comes near 1 KiB.
        if (n < 0 || n > 1024) fail(`LONG4 with length ${n} (only 0..1024 bytes are accepted)`);
        stack.push(decodeLong(raw(n)));
        break;
      }
      case 0x47: stack.push(dv.getFloat64(take(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(str(u64())); break; // BINUNICODE8
      case 0x42: stack.push(raw(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(raw(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(raw(u64()).slice()); break; // BINBYTES8
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(Object.freeze([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(Object.freeze(popMark())); break; // TUPLE
      case 0x85: stack.push(Object.freeze([pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(Object.freeze([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(Object.freeze([pop(), b, c]));
        break;
      }
      case 0x64: { // DICT
        const d = new Map<Key, unknown>();
        setItems(d, popMark(), 'DICT');
        stack.push(d);
        break;
      }
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(dictOf(top(), 'SETITEM'), [k, v], 'SETITEM');
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(dictOf(top(), 'SETITEMS'), items, 'SETITEMS');
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        listOf(top(), 'APPEND').push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        listOf(top(), 'APPENDS').push(...items);
        break;
      }
      case 0x71: put(u8()); break; // BINPUT
      case 0x72: put(u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x68: stack.push(get(u8())); break; // BINGET
      case 0x6a: stack.push(get(u32())); break; // LONG_BINGET
      case 0x63: { // GLOBAL: "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('persistent id (BINPERSID) where none is expected');
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop() as PickleGlobal;
        if (!Array.isArray(args)) fail(`REDUCE arguments are ${describe(args)}, not a tuple`);
        if (typeof fn !== 'object' || fn === null || typeof fn.call !== 'function') fail(`REDUCE calls ${describe(fn)}, which is not callable here`);
        stack.push(fn.call!(args as unknown[]));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const target = top();
        if (!opts.build) fail(`BUILD (setting the state of ${describe(target)}) is not allowed here`);
        opts.build!(target, state);
        break;
      }
      default:
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} is not supported (a checkpoint of tensors never needs it; the file may be corrupt or hold arbitrary Python objects)`);
    }
  }
}

/** Emits protocol-2 pickle opcodes into a growing buffer. */
export class PickleWriter {
  private buf = new Uint8Array(1024);
  private len = 0;
  private readonly enc = new TextEncoder();

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  private byte(...bs: number[]): this {
    this.ensure(bs.length);
    for (const b of bs) this.buf[this.len++] = b;
    return this;
  }
  private bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  proto(p = 2): this { return this.byte(0x80, p); }
  mark(): this { return this.byte(0x28); }
  stop(): this { return this.byte(0x2e); }
  emptyDict(): this { return this.byte(0x7d); }
  bool(v: boolean): this { return this.byte(v ? 0x88 : 0x89); }
  reduce(): this { return this.byte(0x52); }
  build(): this { return this.byte(0x62); }
  setitems(): this { return this.byte(0x75); }
  persid(): this { return this.byte(0x51); }
  /** TUPLE from the last MARK. */
  tupleFromMark(): this { return this.byte(0x74); }

  global(module: string, name: string): this {
    return this.byte(0x63).bytes(this.enc.encode(`${module}\n${name}\n`));
  }

  str(s: string): this {
    const b = this.enc.encode(s);
    this.byte(0x58);
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.len, b.length, true);
    this.len += 4;
    return this.bytes(b);
  }

  /** The shortest integer opcode Python's pickler would choose. */
  int(v: number): this {
    if (!Number.isSafeInteger(v)) throw new EngramError(`PickleWriter.int: ${v} is not a safe integer`);
    if (v >= 0 && v < 0x100) return this.byte(0x4b, v);
    if (v >= 0 && v < 0x10000) return this.byte(0x4d, v & 0xff, v >> 8);
    if (v >= -0x80000000 && v <= 0x7fffffff) {
      this.byte(0x4a);
      this.ensure(4);
      new DataView(this.buf.buffer).setInt32(this.len, v, true);
      this.len += 4;
      return this;
    }
    // LONG1: minimal little-endian two's complement.
    const out: number[] = [];
    let b = BigInt(v);
    for (;;) {
      const byte = Number(b & 0xffn);
      out.push(byte);
      b >>= 8n;
      if ((b === 0n && !(byte & 0x80)) || (b === -1n && byte & 0x80)) break;
    }
    return this.byte(0x8a, out.length, ...out);
  }

  /** A tuple of small ints, as Python pickles `torch.Size`-like tuples (TUPLE1-3 when short). */
  intTuple(vs: readonly number[]): this {
    if (vs.length === 0) return this.byte(0x29);
    if (vs.length > 3) this.mark();
    for (const v of vs) this.int(v);
    return vs.length > 3 ? this.tupleFromMark() : this.byte(0x84 + vs.length); // 0x85..0x87
  }

  /** EMPTY_TUPLE. */
  emptyTuple(): this { return this.byte(0x29); }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
