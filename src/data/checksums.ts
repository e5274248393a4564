// The two checksums that end gzip and zlib streams. fflate inflates but does not verify them, and a
// verified checksum is the only way to tell a truncated or bit-flipped download from a good one.

let crcTable: Uint32Array | undefined;

function crc32Table(): Uint32Array {
  if (crcTable) return crcTable;
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  crcTable = table;
  return table;
}

/**
 * CRC-32 (IEEE 802.3, the one gzip uses) of `bytes`, as an unsigned 32-bit number. Pass the CRC of
 * the preceding bytes as `previous` to continue it over data that arrives in chunks.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  const table = crc32Table();
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    c = (table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)) >>> 0;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Adler-32 (the one zlib uses) of `bytes`, as an unsigned 32-bit number. Pass the Adler-32 of the
 * preceding bytes as `previous` to continue it over data that arrives in chunks.
 */
export function adler32(bytes: Uint8Array, previous = 1): number {
  const MOD = 65521;
  // 5552 is the largest run for which the sums cannot overflow 2^32 before the modulo is taken.
  const RUN = 5552;
  let a = previous & 0xffff;
  let b = previous >>> 16;
  for (let start = 0; start < bytes.length; start += RUN) {
    const end = Math.min(start + RUN, bytes.length);
    for (let i = start; i < end; i++) {
      a += bytes[i]!;
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return ((b << 16) | a) >>> 0;
}
