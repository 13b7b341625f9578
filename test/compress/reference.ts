// The reference for imprint's gzip bytes, independent of src/compress: the input cut into blocks of
// `blockSize` bytes, each written by libdeflate's own gzip writer (its header, its CRC-32 computed in
// WebAssembly), the members concatenated; an empty input is one member.
import assert from 'node:assert/strict';
import { gzip } from 'libdeflate';
import { libdeflateRaw } from '../../src/compress/libdeflate.js';

// The package's first call installs process-wide handlers; src/compress removes them, so load it there.
libdeflateRaw(new Uint8Array(0), 6);

/** The gzip members imprint must write for `data`; `members` receives each member when given. */
export function referenceGzip(
  data: Uint8Array,
  level: number,
  blockSize: number,
  members?: Buffer[],
): Buffer {
  const out: Buffer[] = [];
  let off = 0;
  do {
    const end = Math.min(off + blockSize, data.length);
    const member = Buffer.from(gzip(data.subarray(off, end), level));
    members?.push(member);
    out.push(member);
    off = end;
  } while (off < data.length);
  return Buffer.concat(out);
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Fails with sizes and the first differing offset (never dumps megabytes). */
export function assertSameBytes(actual: Buffer, expected: Buffer, label: string): void {
  if (actual.equals(expected)) return;
  assert.fail(
    `${label}: ${actual.length} bytes vs ${expected.length} expected, first difference at offset ${firstDifference(actual, expected)}`,
  );
}
