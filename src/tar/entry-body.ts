// The body of one entry read from an archive: a Readable that pulls from the shared source on demand.
import { Readable } from 'node:stream';
import type { ByteSource } from './byte-source.js';

const CHUNK = 64 * 1024;

/**
 * Streams `size` bytes of `source` through `readable`, only as fast as its consumer reads. `finish()`
 * hands the source back to the archive reader: it waits for an in-flight read, discards what the
 * consumer left unread, and destroys the readable if it had not ended (so late reads fail loudly).
 */
export class EntryBody {
  readonly readable: Readable;
  readonly #source: ByteSource;
  readonly #truncated: () => Error;
  #remaining: number;
  #inflight: Promise<void> | null = null;
  #detached = false;
  #ended = false;

  /** `truncated` builds the error for a stream that ends inside the body. */
  constructor(source: ByteSource, size: number, truncated: () => Error) {
    this.#source = source;
    this.#remaining = size;
    this.#truncated = truncated;
    this.readable = new Readable({
      highWaterMark: CHUNK,
      read: () => {
        if (this.#ended || this.#detached) return;
        this.#inflight = this.#pump();
      },
    });
    if (size === 0) this.#end(null);
  }

  /** Skips whatever the consumer did not read; throws the truncation error if the stream ends early. */
  async finish(): Promise<void> {
    this.#detached = true;
    await this.#inflight;
    if (this.#remaining > 0) {
      const skipped = await this.#source.skip(this.#remaining);
      this.#remaining -= skipped;
      if (this.#remaining > 0) {
        const err = this.#truncated();
        if (!this.readable.destroyed)
          this.readable.destroy(this.readable.listenerCount('error') > 0 ? err : undefined);
        throw err;
      }
    }
    if (!this.#ended && !this.readable.destroyed) this.readable.destroy();
  }

  async #pump(): Promise<void> {
    let chunk: Buffer | null;
    try {
      chunk = await this.#source.pull(Math.min(this.#remaining, CHUNK));
    } catch (err) {
      this.#ended = true;
      this.readable.destroy(err as Error);
      return;
    }
    if (chunk === null) {
      this.#ended = true;
      this.readable.destroy(this.#truncated());
      return;
    }
    this.#remaining -= chunk.length;
    this.#end(chunk);
  }

  /** Pushes `chunk` and, when the body is complete, the end of stream. */
  #end(chunk: Buffer | null): void {
    if (this.#remaining === 0) {
      this.#ended = true;
      if (chunk !== null) this.readable.push(chunk);
      this.readable.push(null);
    } else if (chunk !== null) {
      this.readable.push(chunk);
    }
  }
}
