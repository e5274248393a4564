// IDX files, the format of MNIST and Fashion-MNIST: two zero bytes, a dtype code, a rank byte, then
// `rank` big-endian uint32 dimensions and the row-major data. Only unsigned bytes are read (the one
// dtype those datasets use); the file length must match the header exactly, since a short file means
// a broken download and a long one means we would be silently ignoring data.
import { maybeDecompress, type DecompressOptions } from './compress.js';

/** An array read from an IDX file. */
export interface IdxArray {
  /** Dimensions from the header, outermost first (e.g. [n, 28, 28] for MNIST images). */
  shape: number[];
  /** The row-major unsigned bytes. */
  data: Uint8Array;
}

const IDX_DTYPES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};
const UNSIGNED_BYTE = 0x08;

interface IdxHeader {
  shape: number[];
  headerLength: number;
  /** Header plus data, in bytes. */
  totalLength: number;
}

/**
 * The header at the start of `bytes`, or undefined when `bytes` stops before its end (the caller
 * decides whether that is truncation or more data still to be inflated). Throws on a bad header.
 */
function readIdxHeader(bytes: Uint8Array, name: string): IdxHeader | undefined {
  if (bytes.length >= 2 && (bytes[0] !== 0 || bytes[1] !== 0)) {
    throw new Error(`${name}: bad IDX magic ${hexBytes(bytes.subarray(0, 4))} (an IDX file starts with 00 00, then a dtype byte and a rank byte)`);
  }
  if (bytes.length < 4) return undefined;
  const dtype = bytes[2]!;
  if (dtype !== UNSIGNED_BYTE) {
    const known = IDX_DTYPES[dtype];
    throw new Error(
      known
        ? `${name}: IDX dtype 0x${hex(dtype)} (${known}) is not supported; only 0x08 (unsigned byte) is`
        : `${name}: bad IDX magic ${hexBytes(bytes.subarray(0, 4))} (unknown dtype byte 0x${hex(dtype)})`,
    );
  }
  const rank = bytes[3]!;
  if (rank === 0) throw new Error(`${name}: IDX header declares rank 0`);
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  return { shape, headerLength, totalLength: headerLength + shape.reduce((a, b) => a * b, 1) };
}

/**
 * Parses an IDX file, raw or gzip-compressed. `name` is used in error messages. A compressed file is
 * held to the size its header declares while it inflates, so a decompression bomb stops early.
 */
export function parseIdx(fileBytes: Uint8Array, name: string, options: DecompressOptions = {}): IdxArray {
  const bytes = maybeDecompress(fileBytes, name, {
    ...options,
    sizeFromHeader: (head) => {
      const header = readIdxHeader(head, name);
      return header && { bytes: header.totalLength, what: `the size its IDX header declares (shape [${header.shape.join(', ')}])`, final: true, exact: true };
    },
  });
  if (bytes.length < 4) throw new Error(`${name}: IDX file is truncated (${bytes.length} bytes, the header alone is at least 4)`);
  const header = readIdxHeader(bytes, name);
  if (!header) {
    const rank = bytes[3]!;
    throw new Error(`${name}: IDX file is truncated inside its header (rank ${rank} needs ${4 + 4 * rank} header bytes, file has ${bytes.length})`);
  }
  const { shape, headerLength, totalLength: expected } = header;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'longer than its header says';
    throw new Error(
      `${name}: IDX file is ${what}: shape [${shape.join(', ')}] needs ${expected} bytes, file has ${bytes.length}`,
    );
  }
  // A plain Uint8Array view (not a Node Buffer, even if the caller passed one), without copying.
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset + headerLength, expected - headerLength);
  return { shape, data };
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, hex).join(' ');
}
