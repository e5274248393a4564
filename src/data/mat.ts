// MATLAB level-5 MAT-files (the format of `save -v7` and of scipy.io.savemat), limited to what image
// datasets like SVHN need: real numeric arrays, possibly inside zlib-compressed elements, in either
// byte order. Layout: a 128-byte header (text, subsystem offset, version, endian indicator), then one
// data element per variable, either miMATRIX or miCOMPRESSED wrapping an miMATRIX. An miMATRIX holds
// sub-elements: array flags (class), dimensions, name, real part (and imaginary part if complex).
// The real part may be stored in a smaller type than its class (MATLAB saves a double array of small
// integers as miUINT8); values are converted to the class's type.
import { unzlib, type DecompressOptions, type SizeFromHeader } from './compress.js';
import { ElementReader, MI, miName, type DataElement, type MatData } from './mat-element.js';

export type { MatData } from './mat-element.js';

/** The numeric MATLAB array classes `readMat()` decodes. */
export type MatClass = 'double' | 'single' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32';

/** One numeric variable of a MAT-file. */
export interface MatVariable {
  /** The variable's name. */
  name: string;
  /** The variable's MATLAB class (its values' type). */
  class: MatClass;
  /** MATLAB dimensions; the data is column-major (first dimension varies fastest). */
  dims: number[];
  /** Real values converted to the class's type. May share memory with the input bytes. */
  data: MatData;
  /** Set for MATLAB logical arrays, which are uint8 with a flag. */
  logical: boolean;
}

/** Options of `readMat()`. */
export interface ReadMatOptions extends DecompressOptions {
  /** Skip variables this reader cannot decode (cell, struct, char, sparse, complex...) instead of throwing. */
  skipUnsupported?: boolean;
}

const HEADER_BYTES = 128;

const NUMERIC_CLASSES: Record<number, { name: MatClass; array: new (length: number) => MatData }> = {
  6: { name: 'double', array: Float64Array },
  7: { name: 'single', array: Float32Array },
  8: { name: 'int8', array: Int8Array },
  9: { name: 'uint8', array: Uint8Array },
  10: { name: 'int16', array: Int16Array },
  11: { name: 'uint16', array: Uint16Array },
  12: { name: 'int32', array: Int32Array },
  13: { name: 'uint32', array: Uint32Array },
};

const UNSUPPORTED_CLASSES: Record<number, string> = {
  1: 'a cell array',
  2: 'a struct',
  3: 'an object',
  4: 'a char array',
  5: 'a sparse array',
  14: 'an int64 array',
  15: 'a uint64 array',
  16: 'a function handle',
  17: 'an opaque object',
};

const FLAG_COMPLEX = 0x08;
const FLAG_LOGICAL = 0x02;

class UnsupportedVariable extends Error {}

/** Reads the variables of a level-5 MAT-file. `name` is used in error messages. */
export function readMat(bytes: Uint8Array, name: string, options: ReadMatOptions = {}): Map<string, MatVariable> {
  const littleEndian = readHeader(bytes, name);
  const file = new ElementReader(bytes, littleEndian, name);
  const variables = new Map<string, MatVariable>();
  let offset = HEADER_BYTES;
  while (offset < bytes.length) {
    const element = file.element(offset, bytes.length, 'a variable');
    const variable = readTopLevelElement(file, element, offset, name, options);
    // Unnamed matrices hold MATLAB's subsystem data (for objects), not a variable.
    if (variable && variable.name !== '') variables.set(variable.name, variable);
    // Top-level miMATRIX sizes are multiples of 8 already; compressed elements are not padded.
    offset = element.next;
  }
  return variables;
}

/** Validates the header and returns the byte order of the rest of the file. */
function readHeader(bytes: Uint8Array, name: string): boolean {
  if (bytes.length < HEADER_BYTES) {
    throw new Error(`${name}: truncated: a MAT-file header is ${HEADER_BYTES} bytes, the file has ${bytes.length}`);
  }
  const text = String.fromCharCode(...bytes.subarray(0, 116));
  const indicator = String.fromCharCode(bytes[126]!, bytes[127]!);
  const hdf5Signature = bytes.length >= 520 && String.fromCharCode(...bytes.subarray(512, 520)) === '\x89HDF\r\n\x1a\n';
  if (text.startsWith('MATLAB 7.3') || hdf5Signature) {
    throw new Error(`${name}: MAT-file version 7.3 (HDF5) is not supported; save it with -v7 (or scipy.io.savemat)`);
  }
  if (indicator !== 'IM' && indicator !== 'MI') {
    throw new Error(
      `${name}: bad MAT-file header: endian indicator is ${JSON.stringify(indicator)}, expected "IM" or "MI" (not a level-5 MAT-file; level 4 files are not supported)`,
    );
  }
  const littleEndian = indicator === 'IM';
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(124, littleEndian);
  if (version !== 0x0100) {
    throw new Error(`${name}: bad MAT-file header: version 0x${version.toString(16).padStart(4, '0')}, expected 0x0100 (level 5)`);
  }
  return littleEndian;
}

function readTopLevelElement(file: ElementReader, element: DataElement, offset: number, name: string, options: ReadMatOptions): MatVariable | undefined {
  if (element.type === MI.COMPRESSED) {
    const where = `${name} (compressed element at byte ${offset})`;
    const bytes = unzlib(file.data(element), where, { ...options, sizeFromHeader: compressedMatrixSize(where, file.littleEndian) });
    const inflated = new ElementReader(bytes, file.littleEndian, where);
    const inner = inflated.element(0, inflated.bytes.length, 'the compressed variable');
    return readMatrixOrSkip(inflated, inner, options);
  }
  if (element.type === MI.MATRIX) return readMatrixOrSkip(file, element, options);
  throw new Error(`${name}: unexpected top-level data element ${miName(element.type)} at byte ${offset}; expected miMATRIX or miCOMPRESSED`);
}

/**
 * A compressed element holds exactly one miMATRIX, whose tag (the first 8 inflated bytes) declares
 * its size: inflating stops there, so neither a bomb nor junk after the variable gets through.
 */
function compressedMatrixSize(where: string, littleEndian: boolean): SizeFromHeader {
  return (head) => {
    if (head.length < 8) return undefined;
    const view = new DataView(head.buffer, head.byteOffset, 8);
    const first = view.getUint32(0, littleEndian);
    // A small data element (size in the upper half of the first word) is never an miMATRIX.
    const type = first >>> 16 !== 0 ? first & 0xffff : first;
    if (type !== MI.MATRIX) throw new Error(`${where}: expected an miMATRIX inside, found ${miName(type)}`);
    const size = view.getUint32(4, littleEndian);
    // Sub-elements are padded to 8 bytes, so a well-formed matrix size is a multiple of 8 already.
    return { bytes: 8 + Math.ceil(size / 8) * 8, what: `the size its miMATRIX tag declares`, final: true, exact: size % 8 === 0 };
  };
}

function readMatrixOrSkip(reader: ElementReader, element: DataElement, options: ReadMatOptions): MatVariable | undefined {
  try {
    return readMatrix(reader, element);
  } catch (err) {
    if (err instanceof UnsupportedVariable && options.skipUnsupported) return undefined;
    throw err;
  }
}

/** An miMATRIX element: array flags, dimensions, name, real part. */
function readMatrix(reader: ElementReader, matrix: DataElement): MatVariable | undefined {
  if (matrix.size === 0) return undefined; // MATLAB writes empty miMATRIX placeholders; they hold nothing.
  const end = matrix.start + matrix.size;

  const flagsElement = reader.element(matrix.start, end, 'array flags');
  if (flagsElement.type !== MI.UINT32 || flagsElement.size !== 8) {
    throw new Error(`${reader.where}: corrupt array flags at byte ${matrix.start} (${miName(flagsElement.type)}, ${flagsElement.size} bytes; expected miUINT32, 8 bytes)`);
  }
  const flagsWord = reader.view.getUint32(flagsElement.start, reader.littleEndian);
  const classId = flagsWord & 0xff;
  const flags = (flagsWord >>> 8) & 0xff;

  const dimsElement = reader.element(flagsElement.next, end, 'array dimensions');
  const dims = Array.from(reader.numbers(dimsElement, Int32Array, 'array dimensions'));
  if (dims.length < 2 || dims.some((d) => d < 0)) {
    throw new Error(`${reader.where}: corrupt array dimensions [${dims.join(', ')}] at byte ${flagsElement.next}`);
  }

  const nameElement = reader.element(dimsElement.next, end, 'array name');
  if (nameElement.type !== MI.INT8 && nameElement.type !== MI.UINT8 && nameElement.type !== MI.UTF8) {
    throw new Error(`${reader.where}: array name at byte ${dimsElement.next} is ${miName(nameElement.type)}, expected miINT8`);
  }
  const name = new TextDecoder('utf-8').decode(reader.data(nameElement));
  const what = `variable '${name}'`;

  const numericClass = NUMERIC_CLASSES[classId];
  if (!numericClass) {
    const kind = UNSUPPORTED_CLASSES[classId] ?? `of unknown class ${classId}`;
    throw new UnsupportedVariable(`${reader.where}: ${what} is ${kind}, which this reader does not support (only real numeric arrays)`);
  }
  if (flags & FLAG_COMPLEX) {
    throw new UnsupportedVariable(`${reader.where}: ${what} is complex, which this reader does not support (only real numeric arrays)`);
  }

  const realElement = reader.element(nameElement.next, end, `the real part of ${what}`);
  const data = reader.numbers(realElement, numericClass.array, what);
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new Error(`${reader.where}: ${what} has dimensions [${dims.join(', ')}] (${expected} values) but its data holds ${data.length}`);
  }
  return { name, class: numericClass.name, dims, data, logical: (flags & FLAG_LOGICAL) !== 0 };
}
