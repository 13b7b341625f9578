import { Transform, type TransformCallback } from 'node:stream';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { type BlockRunner, defaultDeflateWorkers, sharedDeflatePool } from './deflate-pool.js';
import { type BlockJob, gzipMember } from './gzip-member.js';
import { CODEC_CHUNK } from './inner-stream.js';
import { assertPinnedDeflate } from './libdeflate.js';

/** gzip levels imprint accepts (0, "store", is not one: it is never what an image wants). */
export const GZIP_MIN_LEVEL = 1;
export const GZIP_MAX_LEVEL = 9;
export const GZIP_DEFAULT_LEVEL = 6;

/**
 * Uncompressed bytes per gzip member: the input is cut at every multiple of this offset, whatever
 * its chunking or the machine. Part of the format (recorded in codecDescription); chosen by
 * measurement (README.md): within 0.2% of the size of one stream, and enough blocks to keep the
 * workers busy on layers of a few MiB.
 */
export const GZIP_BLOCK_SIZE = 1024 * 1024;

export interface GzipWriterOptions {
  /** Worker threads compressing blocks: 0 or 1 compress in the calling thread. Default: defaultDeflateWorkers(). */
  workers?: number;
  /** Runs the blocks when workers > 1 (a DeflatePool). Default: the process-wide sharedDeflatePool(workers). */
  pool?: BlockRunner;
  /** Changes the bytes: only tests and benchmarks set it. Default GZIP_BLOCK_SIZE; at least 1. */
  blockSize?: number;
}

function runInline(job: BlockJob): Promise<Uint8Array> {
  try {
    return Promise.resolve(gzipMember(job));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** A block handed to the engine, until its member is emitted in order. */
interface InFlight {
  output: Uint8Array | undefined;
}

/**
 * Writes imprint's multi-member gzip: the input is cut into `blockSize` blocks by offset, and each
 * block becomes one complete gzip member (fixed header, libdeflate raw deflate, the block's
 * CRC-32/ISIZE), compressed on its own in worker threads; the members are emitted in input order. An
 * empty input is one member of an empty deflate stream. The bytes depend only on the input, the
 * level, the block size and the pinned libdeflate: never on the chunking of the input, the worker
 * count, timing, the Node build or the CPU. Memory: at most 2 blocks per worker in flight, and input
 * is accepted only while the readable side is below its high-water mark. Throws
 * COMPRESSION_UNSUPPORTED when the installed libdeflate fails its known-answer check.
 * Cost: CPU-bound, ~45 MB/s per worker at level 6.
 */
export class GzipWriter extends Transform {
  readonly #level: number;
  readonly #blockSize: number;
  readonly #run: BlockRunner['run'];
  readonly #maxInFlight: number;
  readonly #inFlight: InFlight[] = [];
  #block: Uint8Array;
  #fill = 0;
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
    if (!Number.isInteger(blockSize) || blockSize < 1) {
      throw new ImprintError('USAGE', `gzip block size must be an integer >= 1, found ${String(blockSize)}`);
    }
    // Here rather than in a worker, so a foreign engine fails the call with its own error.
    assertPinnedDeflate(level);
    this.#level = level;
    this.#blockSize = blockSize;
    if (workers <= 1) {
      this.#run = runInline;
    } else {
      const pool = options.pool ?? sharedDeflatePool(workers);
      this.#run = (job, transfer) => pool.run(job, transfer);
    }
    this.#maxInFlight = 2 * Math.max(1, workers);
    this.#block = new Uint8Array(blockSize);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#consume(chunk, 0, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#flushCallback = callback;
    // The current block is the last: never empty, unless the whole input is (one empty member).
    this.#submit();
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
        this.#submit();
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

  /** Hands the current block to the engine and starts a new one. */
  #submit(): void {
    const data = this.#block.subarray(0, this.#fill);
    this.#block = new Uint8Array(this.#blockSize);
    this.#fill = 0;
    const entry: InFlight = { output: undefined };
    this.#inFlight.push(entry);
    // The buffer belongs to this block alone, so a worker may take it without a copy.
    this.#run({ level: this.#level, data }, [data.buffer as ArrayBuffer]).then(
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

  /** Emits the members finished at the head of the queue, in input order. */
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
      flushed();
    }
  }
}
