// Data elements, the building block of MATLAB level-5 MAT-files: an 8-byte tag (data type, byte
// count) followed by the data, padded to 8 bytes. Elements of at most 4 bytes may use the "small
// data element" form, where type and count share the first tag word and the data sits in the second.
// This file reads tags and turns numeric elements into typed arrays; mat.ts knows what they mean.

export const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
  UTF16: 17,
  UTF32: 18,
} as const;

const MI_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MI).map(([k, v]) => [v, `mi${k}`]));

export function miName(type: number): string {
  return MI_NAMES[type] ?? `unknown type ${type}`;
}

/** The typed array holding a MAT-file variable's values: one array type per numeric MATLAB class. */
export type MatData = Float64Array | Float32Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

interface NumericType {
  bytes: number;
  read: (view: DataView, offset: number, little: boolean) => number;
}

const NUMERIC_TYPES: Record<number, NumericType> = {
  [MI.INT8]: { bytes: 1, read: (v, o) => v.getInt8(o) },
  [MI.UINT8]: { bytes: 1, read: (v, o) => v.getUint8(o) },
  [MI.INT16]: { bytes: 2, read: (v, o, le) => v.getInt16(o, le) },
  [MI.UINT16]: { bytes: 2, read: (v, o, le) => v.getUint16(o, le) },
  [MI.INT32]: { bytes: 4, read: (v, o, le) => v.getInt32(o, le) },
  [MI.UINT32]: { bytes: 4, read: (v, o, le) => v.getUint32(o, le) },
  [MI.SINGLE]: { bytes: 4, read: (v, o, le) => v.getFloat32(o, le) },
  [MI.DOUBLE]: { bytes: 8, read: (v, o, le) => v.getFloat64(o, le) },
  // 64-bit integers only as storage for smaller classes; values beyond 2^53 are refused below.
  [MI.INT64]: { bytes: 8, read: (v, o, le) => Number(v.getBigInt64(o, le)) },
  [MI.UINT64]: { bytes: 8, read: (v, o, le) => Number(v.getBigUint64(o, le)) },
};

/** The typed array whose elements are exactly the stored type, when there is one. */
const SAME_ARRAY_FOR_TYPE: Record<number, (new (buffer: ArrayBufferLike, offset: number, length: number) => MatData) | undefined> = {
  [MI.INT8]: Int8Array,
  [MI.UINT8]: Uint8Array,
  [MI.INT16]: Int16Array,
  [MI.UINT16]: Uint16Array,
  [MI.INT32]: Int32Array,
  [MI.UINT32]: Uint32Array,
  [MI.SINGLE]: Float32Array,
  [MI.DOUBLE]: Float64Array,
};

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface DataElement {
  type: number;
  /** Offset of the first data byte. */
  start: number;
  /** Data bytes (without padding). */
  size: number;
  /** Offset of the next element. */
  next: number;
}

/** Reads data elements from one buffer (the file, or a decompressed element) of known endianness. */
export class ElementReader {
  readonly view: DataView;

  /** `where` names the buffer in error messages, e.g. "train_32x32.mat" or "x.mat (compressed element at byte 128)". */
  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
    readonly where: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The element whose tag is at `offset`; its data must end by `end`. `what` says what we expected, for errors. */
  element(offset: number, end: number, what: string): DataElement {
    if (offset + 8 > end) {
      throw new Error(`${this.where}: truncated: the tag of ${what} at byte ${offset} needs 8 bytes, only ${Math.max(0, end - offset)} remain`);
    }
    const first = this.view.getUint32(offset, this.littleEndian);
    if (first >>> 16 !== 0) {
      const size = first >>> 16;
      const type = first & 0xffff;
      if (size > 4) throw new Error(`${this.where}: corrupt small data element for ${what} at byte ${offset} (claims ${size} bytes, at most 4 fit)`);
      return { type, start: offset + 4, size, next: offset + 8 };
    }
    const type = first;
    const size = this.view.getUint32(offset + 4, this.littleEndian);
    const start = offset + 8;
    if (start + size > end) {
      throw new Error(
        `${this.where}: truncated: ${what} at byte ${offset} (${miName(type)}) declares ${size} bytes of data, only ${end - start} remain`,
      );
    }
    // Compressed elements are not padded; everything else is padded to a multiple of 8 bytes.
    const padded = type === MI.COMPRESSED ? size : Math.ceil(size / 8) * 8;
    return { type, start, size, next: Math.min(start + padded, end) };
  }

  /** The data of an element as bytes (a view). */
  data(element: DataElement): Uint8Array {
    return this.bytes.subarray(element.start, element.start + element.size);
  }

  /** Number of values in a numeric element, or undefined if the type is not numeric. */
  count(element: DataElement): number | undefined {
    const numeric = NUMERIC_TYPES[element.type];
    return numeric && element.size / numeric.bytes;
  }

  /**
   * Numeric element converted to `ArrayType` (the array's MATLAB class). When the stored type already
   * is that class, in the host's byte order and suitably aligned, the result is a view into the buffer
   * instead of a copy. Integer classes refuse stored values they cannot hold.
   */
  numbers<T extends MatData>(element: DataElement, ArrayType: new (length: number) => T, what: string): T {
    const numeric = NUMERIC_TYPES[element.type];
    if (!numeric) throw new Error(`${this.where}: ${what} is stored as ${miName(element.type)}, not a numeric type`);
    if (element.size % numeric.bytes !== 0) {
      throw new Error(`${this.where}: ${what} has ${element.size} bytes, not a whole number of ${miName(element.type)} values`);
    }
    const count = element.size / numeric.bytes;
    const Same = SAME_ARRAY_FOR_TYPE[element.type];
    const absolute = this.bytes.byteOffset + element.start;
    if (Same !== undefined && Same === (ArrayType as unknown) && (numeric.bytes === 1 || this.littleEndian === HOST_IS_LITTLE_ENDIAN)) {
      if (absolute % numeric.bytes === 0) return new Same(this.bytes.buffer, absolute, count) as T;
      const copy = new ArrayType(count);
      new Uint8Array(copy.buffer).set(this.data(element));
      return copy;
    }
    const out = new ArrayType(count);
    const isFloat = out instanceof Float32Array || out instanceof Float64Array;
    const [min, max] = isFloat ? [-Infinity, Infinity] : integerRange(out);
    for (let i = 0; i < count; i++) {
      const value = numeric.read(this.view, element.start + i * numeric.bytes, this.littleEndian);
      if (!isFloat && !(Number.isInteger(value) && value >= min && value <= max)) {
        throw new Error(`${this.where}: ${what} value ${value} at index ${i} (stored as ${miName(element.type)}) does not fit its class`);
      }
      if (isFloat && (element.type === MI.INT64 || element.type === MI.UINT64) && !Number.isSafeInteger(value)) {
        throw new Error(`${this.where}: ${what} value at index ${i} (stored as ${miName(element.type)}) is too large to convert exactly`);
      }
      out[i] = value;
    }
    return out;
  }
}

function integerRange(array: MatData): [number, number] {
  if (array instanceof Int8Array) return [-128, 127];
  if (array instanceof Uint8Array) return [0, 255];
  if (array instanceof Int16Array) return [-32768, 32767];
  if (array instanceof Uint16Array) return [0, 65535];
  if (array instanceof Int32Array) return [-0x8000_0000, 0x7fff_ffff];
  return [0, 0xffff_ffff];
}
