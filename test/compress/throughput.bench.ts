// Codec throughput on ~50 MB of generated, text-like data (not a test; numbers go in
// src/compress/README.md). Run: node --import tsx test/compress/throughput.bench.ts [MiB]
// Needs the xz and zstd CLIs to build the compressed inputs. Reports the best of 3 runs, in MB/s
// of uncompressed data, by wall time and by process CPU time (steadier on a busy machine; for
// Node's zlib it includes the thread-pool thread, for imprint's gzip the worker threads). Encoders
// run on the first 20 MiB only, and print the compressed size.
import { createRequire } from 'node:module';
import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { GzipWriter } from '../../src/compress/gzip.js';
import { decompressStream } from '../../src/compress/index.js';
import { LIBDEFLATE_VERSION } from '../../src/compress/libdeflate.js';
import type { Decompression } from '../../src/compress/sniff.js';
import { fixedChunks, mixedBytes, tarLikeBytes, textBytes } from './corpus.js';
import { runTool } from './tools.js';

const MiB = 1024 * 1024;
const size = Number(process.argv[2] ?? 50) * MiB;

function input(): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  for (let seed = 1; n < size; seed++) {
    const part =
      seed % 3 === 0
        ? tarLikeBytes(400, seed)
        : seed % 3 === 1
          ? textBytes(2 * MiB, seed)
          : mixedBytes(MiB, seed);
    parts.push(part);
    n += part.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

async function best(label: string, bytes: number, run: () => Promise<void>): Promise<void> {
  let wall = Number.POSITIVE_INFINITY;
  let cpu = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    await run();
    const used = process.cpuUsage(cpuStart);
    wall = Math.min(wall, Number(process.hrtime.bigint() - start) / 1e9);
    cpu = Math.min(cpu, (used.user + used.system) / 1e6);
  }
  const rate = (seconds: number): string => (bytes / 1e6 / seconds).toFixed(1).padStart(7);
  console.log(`${label.padEnd(44)} wall ${rate(wall)} MB/s   cpu ${rate(cpu)} MB/s`);
}

function sink(): Writable {
  return new Writable({ highWaterMark: MiB, write: (_c, _e, cb) => cb() });
}

async function decode(kind: Decompression, compressed: Buffer): Promise<void> {
  await pipeline(Readable.from(fixedChunks(compressed, MiB)), decompressStream(kind, { what: kind }), sink());
}

const data = input();
console.log(
  `input ${(data.length / MiB).toFixed(0)} MiB; Node ${process.version}, zlib ${process.versions.zlib}`,
);
const xz = await runTool('xz', ['-c', '-6', '-T0'], data);
const zst = await runTool('zstd', ['-c', '-q', '-3'], data);
const gz = await runTool('gzip', ['-c', '-6'], data);
console.log(
  `ratios: xz ${(data.length / xz.length).toFixed(2)}, zstd ${(data.length / zst.length).toFixed(2)}, gzip ${(data.length / gz.length).toFixed(2)}`,
);

await best('decode xz (imprint, wasm driven directly)', data.length, () => decode('xz', xz));
const require = createRequire(import.meta.url);
const { XzReadableStream } = require('xz-decompress') as {
  XzReadableStream: new (s: ReadableStream) => ReadableStream;
};
await best('decode xz (xz-decompress XzReadableStream)', data.length, async () => {
  const web = new XzReadableStream(
    Readable.toWeb(Readable.from(fixedChunks(xz, MiB))) as unknown as ReadableStream,
  );
  for await (const _ of web as unknown as AsyncIterable<Uint8Array>);
});
await best('decode zstd (imprint: built-in or fzstd)', data.length, () => decode('zstd', zst));
for (const slice of [512, 1024, 4096, 16384, 65536]) {
  await best(`decode zstd (fzstd, ${slice} B slices)`, data.length, async () => {
    const d = new Decompress(() => {});
    for (let off = 0; off < zst.length; off += slice) d.push(zst.subarray(off, off + slice));
    d.push(new Uint8Array(0), true);
  });
}
await best('decode gzip (Node zlib)', data.length, () => decode('gzip', gz));
const encodeInput = data.subarray(0, 20 * MiB);

async function encode(label: string, make: () => Transform): Promise<void> {
  let size = 0;
  const counter = new Writable({
    highWaterMark: MiB,
    write: (c: Buffer, _e, cb) => {
      size += c.length;
      cb();
    },
  });
  await pipeline(Readable.from(fixedChunks(encodeInput, MiB)), make(), counter);
  await best(`${label} (${size} B)`, encodeInput.length, async () => {
    await pipeline(Readable.from(fixedChunks(encodeInput, MiB)), make(), sink());
  });
}

for (const level of [1, 6, 9]) {
  console.log(
    `deflate level ${level}: imprint's engine is libdeflate ${LIBDEFLATE_VERSION}; cpu = all threads`,
  );
  await encode(`encode ${level} Node zlib, single stream`, () => zlib.createDeflateRaw({ level }));
  for (const workers of [1, 2]) {
    await encode(
      `encode ${level} imprint gzip, ${workers} worker(s)`,
      () => new GzipWriter(level, { workers }),
    );
  }
}
for (const blockSize of [256 * 1024, MiB, 4 * MiB]) {
  await encode(
    `encode 6 imprint gzip, ${blockSize / 1024} KiB blocks, 2 workers`,
    () => new GzipWriter(6, { blockSize, workers: 2 }),
  );
}
