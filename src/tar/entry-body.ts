// The body of one entry read from an archive: a Readable that pulls from the shared source on demand.
import { Readable } from 'node:stream';
import { ImprintError } from '../errors.js';
import type { ByteSource } from './byte-source.js';

const CHUNK = 64 * 1024;

/**
 * Streams `size` bytes of `source` through `readable`, only as fast as its consumer reads. `finish()`
 * hands the source back to the archive reader: it waits for an in-flight read, discards what the
 * consumer left unread, and destroys the readable if it had not ended (so late reads fail loudly).
 */
export class EntryBody {
  readonly #source: ByteSource;
  readonly #truncated: () => Error;
  #readable: Readable | undefined;
  /** Read through chunks() (no Readable is made then). */
  #direct = false;
  #remaining: number;
  #inflight: Promise<void> | null = null;
  #detached = false;
  #ended = false;

  /** `truncated` builds the error for a stream that ends inside the body. */
  constructor(source: ByteSource, size: number, truncated: () => Error) {
    this.#source = source;
    this.#remaining = size;
    this.#truncated = truncated;
  }

  /** The body as a Readable, made on first use (an entry whose body is never read costs none). */
  get readable(): Readable {
    if (this.#readable === undefined) {
      if (this.#direct) throw new ImprintError('INTERNAL', 'tar entry body already read through chunks()');
      this.#readable = new Readable({
        highWaterMark: CHUNK,
        read: () => {
          if (this.#ended || this.#detached) return;
          this.#inflight = this.#pump();
        },
      });
      if (this.#remaining === 0) this.#end(null);
    }
    return this.#readable;
  }

  /**
   * The body as views of the source's chunks, without a Readable: the cheap path for a consumer that
   * copies each chunk before asking for the next (a view is valid only until then). Throws the
   * truncation error if the archive ends inside the body. Use it or `readable`, not both.
   */
  async *chunks(): AsyncGenerator<Buffer> {
    if (this.#readable !== undefined)
      throw new ImprintError('INTERNAL', 'tar entry body already read as a stream');
    this.#direct = true;
    while (this.#remaining > 0 && !this.#detached) {
      const chunk = await this.#source.pull(this.#remaining);
      if (chunk === null) throw this.#truncated();
      this.#remaining -= chunk.length;
      yield chunk;
    }
  }

  /** Skips whatever the consumer did not read; throws the truncation error if the stream ends early. */
  async finish(): Promise<void> {
    this.#detached = true;
    await this.#inflight;
    const readable = this.#readable;
    if (this.#remaining > 0) {
      const skipped = await this.#source.skip(this.#remaining);
      this.#remaining -= skipped;
      if (this.#remaining > 0) {
        const err = this.#truncated();
        if (readable !== undefined && !readable.destroyed)
          readable.destroy(readable.listenerCount('error') > 0 ? err : undefined);
        throw err;
      }
    }
    if (readable !== undefined && !this.#ended && !readable.destroyed) readable.destroy();
  }

  /** Destroys the Readable, if one was made and is still open. */
  destroy(): void {
    if (this.#readable !== undefined && !this.#readable.destroyed) this.#readable.destroy();
  }

  async #pump(): Promise<void> {
    const readable = this.readable;
    let chunk: Buffer | null;
    try {
      chunk = await this.#source.pull(Math.min(this.#remaining, CHUNK));
    } catch (err) {
      this.#ended = true;
      readable.destroy(err as Error);
      return;
    }
    if (chunk === null) {
      this.#ended = true;
      readable.destroy(this.#truncated());
      return;
    }
    this.#remaining -= chunk.length;
    this.#end(chunk);
  }

  /** Pushes `chunk` and, when the body is complete, the end of stream. */
  #end(chunk: Buffer | null): void {
    const readable = this.#readable as Readable;
    if (this.#remaining === 0) {
      this.#ended = true;
      if (chunk !== null) readable.push(chunk);
      readable.push(null);
    } else if (chunk !== null) {
      readable.push(chunk);
    }
  }
}
