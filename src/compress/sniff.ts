/** Compression imprint can read. */
export type Decompression = 'gzip' | 'xz' | 'zstd' | 'none';

/** Bytes needed to tell every supported format apart (the xz magic is the longest). */
export const SNIFF_BYTES = 6;

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}

/**
 * Sniffs the compression from the first bytes (magic numbers): gzip `1f 8b 08`, xz
 * `fd 37 7a 58 5a 00`, zstd `28 b5 2f fd` or a zstd skippable frame `5? 2a 4d 18`; anything else
 * (including too few bytes to tell) is 'none'. Pure; reads at most SNIFF_BYTES.
 */
export function sniffCompression(head: Uint8Array): Decompression {
  if (startsWith(head, [0x1f, 0x8b, 0x08])) return 'gzip';
  if (startsWith(head, XZ_MAGIC)) return 'xz';
  if (startsWith(head, ZSTD_MAGIC)) return 'zstd';
  if (
    head.length >= 4 &&
    ((head[0] as number) & 0xf0) === 0x50 &&
    head[1] === 0x2a &&
    head[2] === 0x4d &&
    head[3] === 0x18
  ) {
    return 'zstd';
  }
  return 'none';
}
