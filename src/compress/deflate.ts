import * as zlib from 'node:zlib';
import pako from 'pako';
import { ImprintError } from '../errors.js';

// imprint's deflate stream is a sequence of independently compressed blocks (see gzip.ts for the
// layout). Each block's bytes are defined as what canonical zlib (Mark Adler's) produces for it with
// windowBits 15, memLevel 8, the default strategy, the 32 KiB of input before the block as preset
// dictionary, and Z_SYNC_FLUSH (Z_FINISH for the last block). pako is a faithful port of zlib and the
// reference. Node's bundled zlib is Chromium's fork, which hashes with CRC32C when the CPU has SSE4.2
// or ARMv8 CRC: its output then differs from canonical zlib and depends on the CPU, while
// distribution builds of Node link the system zlib. So Node's zlib is used only after a self-check
// shows it produces canonical bytes here; otherwise pako (pure JavaScript, slower) does the work.
// This module is also loaded by deflate-worker.ts: it imports nothing beyond zlib, pako and errors.

/** The pinned raw-deflate parameters; recorded in codecDescription. */
export const DEFLATE_PARAMS = { memLevel: 8, windowBits: 15, strategy: 'default' } as const;

/** Bytes of preceding input each block gets as preset dictionary: deflate's whole 32 KiB window. */
export const DEFLATE_DICTIONARY_SIZE = 32 * 1024;

/** Which implementation produces the canonical deflate bytes. */
export type DeflateEngine = 'node-zlib' | 'pako';

/** One block of the deflate stream, as handed to deflateBlock (possibly in a worker thread). */
export interface BlockJob {
  level: number;
  engine: DeflateEngine;
  /** The block's uncompressed bytes. */
  data: Uint8Array;
  /** Up to DEFLATE_DICTIONARY_SIZE bytes of input right before the block (empty for the first). */
  dictionary: Uint8Array;
  /** The last block ends the stream (Z_FINISH); every other one ends byte-aligned (Z_SYNC_FLUSH). */
  last: boolean;
}

const Z_SYNC_FLUSH = 2;
const Z_FINISH = 4;

function pakoOptions(level: number): pako.DeflateFunctionOptions {
  return {
    level: level as pako.DeflateFunctionOptions['level'],
    windowBits: DEFLATE_PARAMS.windowBits,
    memLevel: DEFLATE_PARAMS.memLevel as pako.DeflateFunctionOptions['memLevel'],
    strategy: 0,
    raw: true,
  };
}

function pakoDeflateBlock(job: BlockJob): Uint8Array {
  // One output chunk for nearly every block: room for stored blocks' overhead on incompressible data.
  const chunkSize = Math.max(64 * 1024, job.data.length + (job.data.length >>> 8) + 1024);
  const deflate = new pako.Deflate({
    ...pakoOptions(job.level),
    chunkSize,
    ...(job.dictionary.length > 0 ? { dictionary: job.dictionary } : {}),
  });
  const chunks: Uint8Array[] = [];
  deflate.onData = (chunk) => {
    chunks.push(chunk as Uint8Array);
  };
  if (deflate.err !== 0 || !deflate.push(job.data, job.last ? Z_FINISH : Z_SYNC_FLUSH)) {
    throw new ImprintError('INTERNAL', `pako deflate failed: ${deflate.msg || `error ${deflate.err}`}`);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  return Buffer.concat(chunks);
}

function nativeOptions(level: number): zlib.ZlibOptions {
  return {
    level,
    memLevel: DEFLATE_PARAMS.memLevel,
    windowBits: DEFLATE_PARAMS.windowBits,
    strategy: zlib.constants.Z_DEFAULT_STRATEGY,
  };
}

function nativeDeflateBlock(job: BlockJob): Uint8Array {
  return zlib.deflateRawSync(job.data, {
    ...nativeOptions(job.level),
    ...(job.dictionary.length > 0 ? { dictionary: job.dictionary } : {}),
    finishFlush: job.last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
  });
}

/**
 * Compresses one block of the blocked deflate stream with `job.engine`; the result may be a view into
 * a larger buffer. Synchronous and CPU-bound: pako ~10 MB/s, Node's zlib ~20 MB/s at level 6.
 */
export function deflateBlock(job: BlockJob): Uint8Array {
  return job.engine === 'node-zlib' ? nativeDeflateBlock(job) : pakoDeflateBlock(job);
}

/**
 * Compresses `data` as blocks of `blockSize` bytes, each with the preceding 32 KiB as dictionary, in
 * the calling thread: the whole blocked deflate stream in one call (self-check, benchmarks).
 */
export function deflateBlocksSync(
  data: Uint8Array,
  level: number,
  blockSize: number,
  engine: DeflateEngine,
): Buffer {
  const out: Uint8Array[] = [];
  let off = 0;
  do {
    const end = Math.min(data.length, off + blockSize);
    out.push(
      deflateBlock({
        level,
        engine,
        data: data.subarray(off, end),
        dictionary: data.subarray(Math.max(0, off - DEFLATE_DICTIONARY_SIZE), off),
        last: end === data.length,
      }),
    );
    off = end;
  } while (off < data.length);
  return Buffer.concat(out);
}

/** Deterministic probe input: text with repeats at many distances, runs, and noise. */
function probeInput(): Buffer {
  const words = 'layer image digest manifest config tar gzip zstd index blob store debian package'.split(' ');
  let s = 0x2545f491;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const parts: string[] = [];
  for (let i = 0; i < 6000; i++) {
    const r = next();
    parts.push(
      r % 7 === 0 ? (r >>> 4).toString(16) : (words[r % words.length] as string),
      r % 11 === 0 ? '\n' : ' ',
    );
  }
  const text = Buffer.from(parts.join(''));
  const noise = Buffer.alloc(8192);
  for (let i = 0; i < noise.length; i++) noise[i] = next() & 0xff;
  return Buffer.concat([text, Buffer.alloc(3000, 0x20), noise, text.subarray(0, 20000)]);
}

/** Block size of the self-check: several blocks of the probe, each with a full dictionary after the first. */
const PROBE_BLOCK_SIZE = 40_000;

const verdicts = new Map<number, boolean>();
let probe: Buffer | undefined;

/**
 * True when Node's zlib produces canonical deflate blocks (dictionary, sync flush, finish) at `level`
 * on this host, checked once per level per process by compressing a ~70 KB probe both ways (~20 ms).
 */
export function nativeDeflateIsCanonical(level: number): boolean {
  let verdict = verdicts.get(level);
  if (verdict === undefined) {
    probe ??= probeInput();
    const native = deflateBlocksSync(probe, level, PROBE_BLOCK_SIZE, 'node-zlib');
    const reference = deflateBlocksSync(probe, level, PROBE_BLOCK_SIZE, 'pako');
    verdict = native.equals(reference);
    verdicts.set(level, verdict);
  }
  return verdict;
}

/** The engine imprint uses at `level` on this host. */
export function deflateEngine(level: number): DeflateEngine {
  return nativeDeflateIsCanonical(level) ? 'node-zlib' : 'pako';
}
