import { Transform, type TransformCallback } from 'node:stream';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { type BlockRunner, blockBuffer, defaultDeflateWorkers, sharedDeflatePool } from './deflate-pool.js';
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

/**
 * In a layer, the body of a regular file of at least this many bytes (with its tar padding) starts a
 * new member and its members are cut from its own start, so they depend on the body alone and can be
 * compressed while packages are still being unpacked (gzip-bodies.ts). Part of the format (recorded
 * in codecDescription); chosen by measurement (README.md): 0.15 % larger than offset cuts alone on
 * examples/python, with two thirds of its bytes in such bodies.
 */
export const GZIP_ALIGNED_BODY_MIN = 64 * 1024;

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

/** The block runner for `workers` (validated): inline for 0 or 1, else the given or shared pool. */
export function blockRunner(workers: number, pool?: BlockRunner): BlockRunner['run'] {
  if (!Number.isInteger(workers) || workers < 0) {
    throw new ImprintError('USAGE', `gzip workers must be an integer >= 0, found ${String(workers)}`, {
      hint: 'Use 0 or 1 to compress in the calling thread.',
    });
  }
  if (workers <= 1) return runInline;
  const shared = pool ?? sharedDeflatePool(workers);
  return (job, transfer) => shared.run(job, transfer);
}

/** A failed block as the error a stream reports. */
function blockError(err: unknown): Error {
  return isImprintError(err)
    ? err
    : new ImprintError('INTERNAL', `gzip: compressing a block failed: ${errorText(err)}`, { cause: err });
}

/** Members on their way out, in input order: a block handed to the engine, or members inserted ready. */
interface InFlight {
  members: Promise<Uint8Array[]>;
  /** The input bytes of a block handed to the engine; 0 for members inserted ready. */
  bytes: number;
}

/**
 * The core of imprint's multi-member gzip: input is cut into blocks of `blockSize` counted from the
 * start or from the last `cut()`, each block becomes one complete gzip member (fixed header,
 * libdeflate raw deflate, the block's CRC-32/ISIZE) compressed on its own, possibly in worker threads,
 * and `emit` receives the members in input order. `insert()` places members made elsewhere (the same
 * function of the same bytes: gzip-bodies.ts) at a cut. The bytes depend only on the input, the cuts,
 * the level, the block size and the pinned libdeflate: never on chunking, worker count, timing, the
 * Node build or the CPU. Memory: at most 2 blocks' bytes per worker in flight. Calls must not overlap: await
 * each before the next.
 */
export class GzipBlocks {
  readonly #level: number;
  readonly #blockSize: number;
  readonly #run: BlockRunner['run'];
  /** Bytes of blocks handed out and not yet emitted, at most: 2 blocks per worker. */
  readonly #maxBytesInFlight: number;
  readonly #emit: (member: Uint8Array) => void | Promise<void>;
  readonly #seen: ((block: Uint8Array) => void) | undefined;
  /** Members of the blocks handed out, in input order. */
  readonly #inFlight: InFlight[] = [];
  /**
   * Input bytes of the blocks in #inFlight (members inserted ready do not count). Bounded by bytes,
   * not blocks: a layer cuts a short block before every large body, and a bound of 2 blocks per
   * worker let a few short ones fill it while one full block held the head, leaving cores idle.
   */
  #bytesInFlight = 0;
  #block: Uint8Array;
  #fill = 0;
  #members = 0;

  /**
   * `seen`, when given, receives each block's bytes as it is handed out, in input order, before it
   * is compressed (a caller hashing the input hashes 1 MiB at a time instead of every small write).
   */
  constructor(
    level: number,
    options: GzipWriterOptions,
    emit: (member: Uint8Array) => void | Promise<void>,
    seen?: (block: Uint8Array) => void,
  ) {
    const workers = options.workers ?? defaultDeflateWorkers();
    const blockSize = options.blockSize ?? GZIP_BLOCK_SIZE;
    if (!Number.isInteger(blockSize) || blockSize < 1) {
      throw new ImprintError('USAGE', `gzip block size must be an integer >= 1, found ${String(blockSize)}`);
    }
    this.#run = blockRunner(workers, options.pool);
    // Here rather than in a worker, so a foreign engine fails the call with its own error.
    assertPinnedDeflate(level);
    this.#level = level;
    this.#blockSize = blockSize;
    this.#maxBytesInFlight = 2 * Math.max(1, workers) * blockSize;
    this.#block = blockBuffer(blockSize);
    this.#emit = emit;
    this.#seen = seen;
  }

  /** Appends `data`; a full block is handed out once more input follows it. */
  async write(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) {
      if (this.#fill === this.#blockSize) await this.#submit();
      const n = Math.min(data.length - at, this.#blockSize - this.#fill);
      this.#block.set(data.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
    }
  }

  /** Ends the current block here (nothing when it is empty): the next byte starts a new member. */
  async cut(): Promise<void> {
    if (this.#fill > 0) await this.#submit();
  }

  /** Cuts, then places `members` (the members of the bytes that follow, made elsewhere). */
  async insert(members: Promise<Uint8Array[]>): Promise<void> {
    await this.cut();
    this.#members++;
    members.catch(() => {}); // awaited in order by #emitHead
    this.#inFlight.push({ members, bytes: 0 });
  }

  /** Hands out the last block (one empty member when there was no input at all) and emits every member. */
  async end(): Promise<void> {
    if (this.#fill > 0 || this.#members === 0) await this.#submit();
    while (this.#inFlight.length > 0) await this.#emitHead();
  }

  async #submit(): Promise<void> {
    await this.#room(this.#fill);
    let data: Uint8Array;
    if (this.#fill * 2 < this.#blockSize) {
      // A short block (cut before a large body): a copy of its own, and the buffer is reused.
      data = this.#block.slice(0, this.#fill);
    } else {
      // The buffer belongs to this block alone, so a worker may take it without a copy.
      data = this.#block.subarray(0, this.#fill);
      this.#block = blockBuffer(this.#blockSize);
    }
    this.#fill = 0;
    this.#members++;
    this.#seen?.(data);
    const members = this.#run({ level: this.#level, data }, [data.buffer as ArrayBuffer]).then((m) => [m]);
    members.catch(() => {}); // awaited in order by #emitHead
    this.#inFlight.push({ members, bytes: data.length });
    this.#bytesInFlight += data.length;
  }

  /** Waits until `bytes` more fit the limit of bytes in flight, emitting the oldest. */
  async #room(bytes: number): Promise<void> {
    while (this.#bytesInFlight > 0 && this.#bytesInFlight + bytes > this.#maxBytesInFlight)
      await this.#emitHead();
  }

  async #emitHead(): Promise<void> {
    let members: Uint8Array[];
    try {
      const head = this.#inFlight.shift() as InFlight;
      this.#bytesInFlight -= head.bytes;
      members = await head.members;
    } catch (err) {
      throw blockError(err);
    }
    for (const member of members) await this.#emit(member);
  }
}

/**
 * imprint's multi-member gzip as a Transform (GzipBlocks without cuts): the input is cut into
 * `blockSize` blocks by offset. Memory: at most 2 blocks per worker in flight, and input is accepted
 * only while the readable side is below its high-water mark. Throws COMPRESSION_UNSUPPORTED when the
 * deflate engine fails its known-answer check. Cost: CPU-bound, ~55 MB/s per worker at level 6.
 */
export class GzipWriter extends Transform {
  readonly #blocks: GzipBlocks;
  /** Resolves a member emission waiting for the reader. */
  #wake: (() => void) | undefined;

  constructor(level: number, options: GzipWriterOptions = {}) {
    super({ readableHighWaterMark: CODEC_CHUNK, writableHighWaterMark: CODEC_CHUNK });
    this.#blocks = new GzipBlocks(level, options, (member) => {
      if (this.destroyed) return;
      this.push(Buffer.from(member.buffer, member.byteOffset, member.byteLength));
      if (this.readableLength < this.readableHighWaterMark) return;
      return new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#blocks.write(chunk).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#blocks.end().then(() => callback(), callback);
  }

  override _read(size: number): void {
    super._read(size);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // Blocks already on a worker finish there; their outputs are dropped.
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    callback(err);
  }
}
