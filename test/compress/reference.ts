// The reference for imprint's gzip bytes, independent of src/compress: the input cut into blocks of
// `blockSize` bytes, each written by `libdeflate-gzip` (Debian's libdeflate-tools: libdeflate 1.14
// compiled natively, with its own gzip header and CRC-32), the members concatenated; an empty input
// is one member. So every test against it also checks that imprint's WebAssembly build of libdeflate
// gives the bytes of the native library.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const TOOL = 'libdeflate-gzip';

/** One gzip member of `block` at `level`, written by the native libdeflate-gzip. */
function nativeMember(block: Uint8Array, level: number): Buffer {
  const run = spawnSync(TOOL, [`-${level}`, '-c'], { input: block, maxBuffer: 2 * block.length + 1024 });
  if (run.error || run.status !== 0) {
    assert.fail(
      `${TOOL} failed (${run.error?.message ?? run.stderr.toString().trim()}): install Debian's libdeflate-tools (\`.ci/run\` does)`,
    );
  }
  return run.stdout;
}

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
    const member = nativeMember(data.subarray(off, end), level);
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
