// Compressing large file bodies before their layer is written. In imprint's gzip layers the body of a
// large file starts its own members (GZIP_ALIGNED_BODY_MIN), so its members are a function of the body
// alone and can be made while packages are still being unpacked, on the cores the unpacking leaves
// idle. The layer writer takes them instead of compressing the body again: the bytes are the same
// either way, so this is a cache of work, never a source of difference.
import type { Readable } from 'node:stream';
import { type BlockRunner, blockBuffer, defaultDeflateWorkers, sharedDeflatePool } from './deflate-pool.js';
import { GZIP_ALIGNED_BODY_MIN, GZIP_BLOCK_SIZE } from './gzip.js';

/** Opens a fresh stream of a body (a ContentOpener). */
export type BodyOpener = () => Promise<Readable> | Readable;

export interface GzipBodyCacheOptions {
  /** Runs the blocks (default: the shared pool of defaultDeflateWorkers() threads). */
  pool?: BlockRunner;
  /** Blocks submitted at once (default 2 per default worker): the layer writer's blocks queue behind them. */
  maxInFlight?: number;
  /** Compressed bytes kept (default 48 MiB); bodies offered beyond it are left to the layer writer. */
  maxHeldBytes?: number;
  /** Changes the bytes: only tests set it (with the layer writer's). Default GZIP_BLOCK_SIZE. */
  blockSize?: number;
  /** Tar padding unit: a body is compressed with its zero padding to a multiple of it (default 512). */
  padTo?: number;
}

interface Pending {
  key: string;
  size: number;
  open: BodyOpener;
  resolve: (members: Uint8Array[] | undefined) => void;
}

/**
 * Gzip members of large bodies, keyed by the body's sha256 and size, made ahead of the layer writer.
 * `offer()` queues a body (bodies smaller than GZIP_ALIGNED_BODY_MIN, repeats and offers beyond the
 * memory budget are ignored); bodies are read one at a time, cut into blocks of the body plus its tar
 * padding, and compressed in the pool with at most `maxInFlight` blocks submitted. `take()` gives the
 * members of a body offered before (waiting for them) and drops them from the cache, or undefined. A body that cannot be read, or
 * yields another size, is dropped: the layer writer then reads it itself and reports the error.
 * Memory: the members kept (bounded by maxHeldBytes) plus the blocks in flight.
 */
export class GzipBodyCache {
  readonly level: number;
  /** Smaller bodies are not offered (they share members with their neighbours in a layer). */
  readonly minSize = GZIP_ALIGNED_BODY_MIN;
  readonly #run: BlockRunner['run'];
  readonly #maxInFlight: number;
  readonly #maxHeld: number;
  readonly #blockSize: number;
  readonly #padTo: number;
  readonly #members = new Map<string, Promise<Uint8Array[] | undefined>>();
  readonly #queue: Pending[] = [];
  #held = 0;
  #inFlight = 0;
  /** Submissions waiting for a block to come back. */
  readonly #waiting: Array<() => void> = [];
  #pumping = false;
  #closed = false;

  constructor(level: number, options: GzipBodyCacheOptions = {}) {
    this.level = level;
    const pool = options.pool ?? sharedDeflatePool(defaultDeflateWorkers());
    this.#run = (job, transfer) => pool.run(job, transfer, true);
    this.#maxInFlight = options.maxInFlight ?? 2 * defaultDeflateWorkers();
    this.#maxHeld = options.maxHeldBytes ?? 48 * 1024 * 1024;
    this.#blockSize = options.blockSize ?? GZIP_BLOCK_SIZE;
    this.#padTo = options.padTo ?? 512;
  }

  /** Compressed bytes kept now. */
  get heldBytes(): number {
    return this.#held;
  }

  /** Queues the body with this sha256 (hex) and size for compression; cheap, never throws. */
  offer(sha256: string, size: number, open: BodyOpener): void {
    if (this.#closed || size < GZIP_ALIGNED_BODY_MIN || this.#held >= this.#maxHeld) return;
    const key = `${sha256}:${size}`;
    if (this.#members.has(key)) return;
    let resolve!: Pending['resolve'];
    this.#members.set(key, new Promise((r) => (resolve = r)));
    this.#queue.push({ key, size, open, resolve });
    if (!this.#pumping) void this.#pump();
  }

  /**
   * The members of an offered body (body plus padding, cut into blocks), or undefined. They are given
   * away: the cache drops them (the layer writer writes them once; a repeat of the body in a layer is
   * compressed there again, to the same bytes), so what it holds shrinks as the layer is written.
   */
  take(sha256: string, size: number): Promise<Uint8Array[] | undefined> | undefined {
    const key = `${sha256}:${size}`;
    const members = this.#members.get(key);
    if (members === undefined) return undefined;
    this.#members.delete(key);
    // Counted in #held when they were made (before the promise settles): uncounted once given away.
    members.then(
      (m) => {
        if (m !== undefined && !this.#closed) for (const member of m) this.#held -= member.length;
      },
      () => {}, // the taker sees it
    );
    return members;
  }

  /** Drops everything kept and stops compressing what is queued. */
  close(): void {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.resolve(undefined);
    this.#members.clear();
    this.#held = 0;
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        const members = await this.#compress(next).catch(() => undefined);
        if (members === undefined || this.#closed) this.#members.delete(next.key);
        next.resolve(this.#closed ? undefined : members);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Compression of one body fed as it is read elsewhere (the install spool's capture, which has the
   * bytes in hand: no second read): `push` each chunk in order (it may wait while the pool is busy),
   * then `end(sha256)` files the members under the body's digest; a body that is not ended (its
   * capture failed) is dropped. Undefined when the body is too small or the cache is full or closed.
   */
  feed(size: number): BodyFeed | undefined {
    if (this.#closed || size < GZIP_ALIGNED_BODY_MIN || this.#held >= this.#maxHeld) return undefined;
    const blocks = this.#blocks(size);
    return {
      push: (chunk) => blocks.push(chunk),
      end: (sha256) => {
        const key = `${sha256}:${size}`;
        if (this.#closed || this.#members.has(key)) return;
        const members = blocks.finish();
        this.#members.set(key, members);
        members.then((m) => {
          if (m === undefined) this.#members.delete(key);
        });
      },
    };
  }

  /** Reads one body into blocks and compresses them; undefined when it yields another size. */
  async #compress(body: Pending): Promise<Uint8Array[] | undefined> {
    const blocks = this.#blocks(body.size);
    const stream = await body.open();
    try {
      for await (const chunk of stream as AsyncIterable<Uint8Array>) {
        if (this.#closed || !(await blocks.push(chunk))) return undefined;
      }
    } finally {
      stream.destroy();
    }
    return blocks.finish();
  }

  /** Cuts a body of `size` bytes plus its padding into blocks as it arrives, and submits them. */
  #blocks(size: number): {
    push(chunk: Uint8Array): Promise<boolean>;
    finish(): Promise<Uint8Array[] | undefined>;
  } {
    const padded = Math.ceil(size / this.#padTo) * this.#padTo;
    const members: Array<Promise<Uint8Array>> = [];
    let done = 0;
    let block = blockBuffer(Math.min(this.#blockSize, padded));
    let fill = 0;
    let read = 0;
    const submit = async (): Promise<void> => {
      while (this.#inFlight >= this.#maxInFlight) await new Promise<void>((r) => this.#waiting.push(r));
      this.#inFlight++;
      const data = block;
      // Counted before the run: handing the block to a worker detaches its buffer.
      done += data.length;
      const member = this.#run({ level: this.level, data }, [data.buffer as ArrayBuffer]);
      member
        .catch(() => {})
        .finally(() => {
          this.#inFlight--;
          this.#waiting.shift()?.();
        });
      members.push(member);
      if (done < padded) block = blockBuffer(Math.min(this.#blockSize, padded - done));
      fill = 0;
    };
    return {
      push: async (chunk) => {
        read += chunk.length;
        if (read > size) return false;
        let at = 0;
        while (at < chunk.length) {
          const n = Math.min(chunk.length - at, block.length - fill);
          block.set(chunk.subarray(at, at + n), fill);
          fill += n;
          at += n;
          if (fill === block.length && done + fill < padded) await submit();
        }
        return true;
      },
      finish: async () => {
        if (read !== size) return undefined;
        block.fill(0, fill); // the tar padding (a recycled buffer holds old bytes)
        await submit(); // the last block: the body's tail and its padding
        const out = await Promise.all(members).catch(() => undefined);
        if (out !== undefined) for (const m of out) this.#held += m.length;
        return out;
      },
    };
  }
}

/** A body being compressed as it is read elsewhere (GzipBodyCache.feed). */
export interface BodyFeed {
  /** The next chunk (copied before the promise settles); false when more than `size` bytes came. */
  push(chunk: Uint8Array): Promise<boolean>;
  /** The body is complete and has this sha256 (hex): its members become available to take(). */
  end(sha256: string): void;
}
