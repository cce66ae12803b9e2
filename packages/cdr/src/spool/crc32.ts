import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, value?: number) => number;

let table: Uint32Array | undefined;

/** The table-driven CRC-32 (IEEE), for Node.js releases older than 20.15 that lack `zlib.crc32`. */
function crc32Portable(data: Uint8Array, value = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (let i = 0; i < data.length; i++)
    crc = (table[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** CRC-32 (IEEE, as zlib and gzip compute it) of `data`, continuing from `value`. */
export const crc32: Crc32 = (zlib as { crc32?: Crc32 }).crc32 ?? crc32Portable;

export { crc32Portable as crc32ForTests };
