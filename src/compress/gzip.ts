import { Transform, type TransformCallback } from 'node:stream';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { crc32 } from './crc32.js';
import {
  type BlockJob,
  DEFLATE_DICTIONARY_SIZE,
  type DeflateEngine,
  deflateBlock,
  deflateEngine,
} from './deflate.js';
import { type BlockRunner, defaultDeflateWorkers, sharedDeflatePool } from './deflate-pool.js';
import { CODEC_CHUNK } from './inner-stream.js';

/** gzip levels imprint accepts (0, "store", is not one: it is never what an image wants). */
export const GZIP_MIN_LEVEL = 1;
export const GZIP_MAX_LEVEL = 9;
export const GZIP_DEFAULT_LEVEL = 6;

/**
 * Uncompressed bytes per deflate block: the input is cut at every multiple of this offset, whatever
 * its chunking or the machine. Part of the format (recorded in codecDescription); chosen by
 * measurement (README.md): compression ratio within 0.05% of one stream, and enough blocks to keep
 * the workers busy on layers of a few MiB.
 */
export const GZIP_BLOCK_SIZE = 1024 * 1024;

/**
 * The OS byte of imprint's gzip header: 255 ("unknown"), as Go's compress/gzip writes, so the bytes
 * never say which host built them (zlib would write 3 on Unix, other tools 0 or 11).
 */
export const GZIP_OS_UNKNOWN = 255;

/** XFL as zlib sets it: 2 for maximum compression (level 9), 4 for fastest (level 1), else 0. */
export function gzipXfl(level: number): number {
  if (level === 9) return 2;
  if (level === 1) return 4;
  return 0;
}

/** The 10-byte gzip member header imprint writes: no name, comment or extra field, mtime 0. */
export function gzipHeader(level: number): Buffer {
  // ID1 ID2 CM=deflate FLG=0 | MTIME=0 (4 bytes) | XFL | OS
  return Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, gzipXfl(level), GZIP_OS_UNKNOWN]);
}

/** The 8-byte gzip trailer: CRC-32 then ISIZE (input length mod 2^32), both little endian. */
export function gzipTrailer(crc: number, size: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(crc >>> 0, 0);
  out.writeUInt32LE(size % 0x1_0000_0000, 4);
  return out;
}

export interface GzipWriterOptions {
  /** Worker threads compressing blocks: 0 or 1 compress in the calling thread. Default: defaultDeflateWorkers(). */
  workers?: number;
  /** Runs the blocks when workers > 1 (a DeflatePool). Default: the process-wide sharedDeflatePool(workers). */
  pool?: BlockRunner;
  /** Changes the bytes: only tests and benchmarks set it. Default GZIP_BLOCK_SIZE; at least 32 KiB. */
  blockSize?: number;
  /** Forces an engine (tests, benchmarks). Default: deflateEngine(level). */
  engine?: DeflateEngine;
}

function runInline(job: BlockJob): Promise<Uint8Array> {
  try {
    return Promise.resolve(deflateBlock(job));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** A block handed to the engine, until its output is emitted in order. */
interface InFlight {
  output: Uint8Array | undefined;
}

/**
 * Writes one gzip member: imprint's fixed header, a blocked deflate stream, CRC-32/ISIZE trailer.
 * The input is cut into `blockSize` blocks by offset; each is compressed on its own (canonical zlib
 * bytes, the preceding 32 KiB of input as dictionary, ending in a sync flush, the last in Z_FINISH),
 * in worker threads, and the outputs are concatenated in order: one valid deflate stream. The bytes
 * depend only on the input, the level and the block size: never on the chunking of the input, the
 * worker count, timing, the Node build or the CPU. Memory: at most 2 blocks per worker in flight,
 * and input is accepted only while the readable side is below its high-water mark.
 * Cost: CPU-bound, ~10 MB/s per worker with pako at level 6.
 */
export class GzipWriter extends Transform {
  readonly #level: number;
  readonly #engine: DeflateEngine;
  readonly #blockSize: number;
  readonly #run: BlockRunner['run'];
  readonly #maxInFlight: number;
  readonly #inFlight: InFlight[] = [];
  #block: Uint8Array;
  #fill = 0;
  /** The input right before the current block: the next block's dictionary. */
  #dictionary: Uint8Array = new Uint8Array(0);
  #crc = 0;
  #size = 0;
  /** Input not yet taken because the limits were reached; resumed as blocks come back or on read. */
  #stalled: { chunk: Buffer; offset: number; callback: TransformCallback } | undefined;
  #flushCallback: TransformCallback | undefined;

  constructor(level: number, options: GzipWriterOptions = {}) {
    super({ readableHighWaterMark: CODEC_CHUNK, writableHighWaterMark: CODEC_CHUNK });
    const workers = options.workers ?? defaultDeflateWorkers();
    const blockSize = options.blockSize ?? GZIP_BLOCK_SIZE;
    if (!Number.isInteger(workers) || workers < 0) {
      throw new ImprintError('USAGE', `gzip workers must be an integer >= 0, found ${String(workers)}`, {
        hint: 'Use 0 or 1 to compress in the calling thread.',
      });
    }
    if (!Number.isInteger(blockSize) || blockSize < DEFLATE_DICTIONARY_SIZE) {
      throw new ImprintError(
        'USAGE',
        `gzip block size must be an integer >= ${DEFLATE_DICTIONARY_SIZE}, found ${String(blockSize)}`,
      );
    }
    this.#level = level;
    this.#engine = options.engine ?? deflateEngine(level);
    this.#blockSize = blockSize;
    if (workers <= 1) {
      this.#run = runInline;
    } else {
      const pool = options.pool ?? sharedDeflatePool(workers);
      this.#run = (job, transfer) => pool.run(job, transfer);
    }
    this.#maxInFlight = 2 * Math.max(1, workers);
    this.#block = new Uint8Array(blockSize);
    this.push(gzipHeader(level));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#crc = crc32(chunk, this.#crc);
    this.#size = (this.#size + chunk.length) % 0x1_0000_0000;
    this.#consume(chunk, 0, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#flushCallback = callback;
    // The current block is the last (empty only when the whole input is): it gets Z_FINISH.
    this.#submit(true);
  }

  override _read(size: number): void {
    super._read(size);
    this.#resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // Blocks already on a worker finish there; their outputs are dropped (#drain checks destroyed).
    this.#stalled = undefined;
    this.#flushCallback = undefined;
    callback(err);
  }

  /** Copies `chunk` from `offset` into blocks, submitting each full block once more input follows. */
  #consume(chunk: Buffer, offset: number, callback: TransformCallback): void {
    let at = offset;
    while (at < chunk.length) {
      if (this.#fill === this.#blockSize) {
        if (this.#inFlight.length >= this.#maxInFlight) {
          this.#stalled = { chunk, offset: at, callback };
          return;
        }
        this.#submit(false);
      }
      const n = Math.min(chunk.length - at, this.#blockSize - this.#fill);
      this.#block.set(chunk.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
    }
    if (this.readableLength >= this.readableHighWaterMark) {
      this.#stalled = { chunk, offset: at, callback };
      return;
    }
    callback();
  }

  #submit(last: boolean): void {
    const data = this.#block.subarray(0, this.#fill);
    const dictionary = this.#dictionary;
    if (!last) {
      // A full block (blockSize >= 32 KiB): its tail is the whole dictionary of the next one.
      this.#dictionary = this.#block.slice(this.#fill - DEFLATE_DICTIONARY_SIZE, this.#fill);
      this.#block = new Uint8Array(this.#blockSize);
      this.#fill = 0;
    }
    const entry: InFlight = { output: undefined };
    this.#inFlight.push(entry);
    // Both buffers belong to this block alone, so a worker may take them without a copy.
    const transfer = [data.buffer as ArrayBuffer];
    if (dictionary.length > 0) transfer.push(dictionary.buffer as ArrayBuffer);
    this.#run({ level: this.#level, engine: this.#engine, data, dictionary, last }, transfer).then(
      (output) => {
        entry.output = output;
        this.#drain();
      },
      (err: unknown) => {
        this.destroy(
          isImprintError(err)
            ? err
            : new ImprintError('INTERNAL', `gzip: compressing a block failed: ${errorText(err)}`, {
                cause: err,
              }),
        );
      },
    );
  }

  /** Emits the finished blocks at the head of the queue, in input order. */
  #drain(): void {
    if (this.destroyed) return;
    while (this.#inFlight[0]?.output !== undefined) {
      const { output } = this.#inFlight.shift() as { output: Uint8Array };
      this.push(Buffer.from(output.buffer, output.byteOffset, output.byteLength));
    }
    this.#resume();
  }

  #resume(): void {
    if (this.destroyed) return;
    const stalled = this.#stalled;
    if (stalled !== undefined) {
      this.#stalled = undefined;
      this.#consume(stalled.chunk, stalled.offset, stalled.callback);
    }
    const flushed = this.#flushCallback;
    if (flushed !== undefined && this.#inFlight.length === 0) {
      this.#flushCallback = undefined;
      flushed(null, gzipTrailer(this.#crc, this.#size));
    }
  }
}
