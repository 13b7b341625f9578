import * as zlib from 'node:zlib';

// CRC-32 as gzip uses it (ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320).

type Crc32Fn = (data: Uint8Array, value?: number) => number;

/** Node's native CRC-32 (`zlib.crc32`, Node >= 20.15 / 22.2), or undefined on older Node. */
export const nativeCrc32: Crc32Fn | undefined = (zlib as unknown as { crc32?: Crc32Fn }).crc32;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  return table;
}

/** Table-driven CRC-32 of `data` continuing from `value`; the fallback when `zlib.crc32` is missing. Cost: O(n), ~0.5 GB/s. */
export function tableCrc32(data: Uint8Array, value = 0): number {
  const t = crcTable();
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = (t[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of `data` continuing from `value` (0 to start), as an unsigned 32-bit number. */
export function crc32(data: Uint8Array, value = 0): number {
  return nativeCrc32 === undefined ? tableCrc32(data, value) : nativeCrc32(data, value) >>> 0;
}
