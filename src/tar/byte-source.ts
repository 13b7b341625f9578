// Pull-based reading of exact byte counts from a stream, without buffering more than one source chunk.

const EMPTY = Buffer.alloc(0);

/** Reads a byte stream on demand and tracks the offset of the next unread byte. */
export class ByteSource {
  readonly #it: AsyncIterator<unknown>;
  #chunk: Buffer = EMPTY;
  #pos = 0;
  #eof = false;
  #error: Error | null = null;
  readonly #wrap: (err: unknown, offset: number) => Error;
  /** Bytes consumed so far (the offset of the next byte in the stream). */
  offset = 0;

  /** `wrap` turns a failure of the source into the error every later read reports. */
  constructor(
    source: AsyncIterable<unknown>,
    wrap: (err: unknown, offset: number) => Error = (e) => e as Error,
  ) {
    this.#it = source[Symbol.asyncIterator]();
    this.#wrap = wrap;
  }

  /** Up to `max` bytes (at least 1) as a view of the current source chunk, or null at end of stream. */
  async pull(max: number): Promise<Buffer | null> {
    if (!(await this.#fill())) return null;
    const n = Math.min(max, this.#chunk.length - this.#pos);
    const out = this.#chunk.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    this.offset += n;
    return out;
  }

  /** Exactly `n` bytes (a copy when they span chunks), or fewer only when the stream ends first. */
  async read(n: number): Promise<Buffer> {
    const first = await this.pull(n);
    if (first === null) return EMPTY;
    if (first.length === n) return first;
    const out = Buffer.alloc(n);
    first.copy(out);
    let have = first.length;
    while (have < n) {
      const more = await this.pull(n - have);
      if (more === null) return out.subarray(0, have);
      more.copy(out, have);
      have += more.length;
    }
    return out;
  }

  /** Discards up to `n` bytes; returns how many were discarded (fewer only at end of stream). */
  async skip(n: number): Promise<number> {
    let done = 0;
    while (done < n) {
      const chunk = await this.pull(n - done);
      if (chunk === null) break;
      done += chunk.length;
    }
    return done;
  }

  /** Discards everything up to the end of the stream; returns how many bytes that was. */
  async drain(): Promise<number> {
    return this.skip(Number.POSITIVE_INFINITY);
  }

  /** Stops reading: ends the source iterator (for a Readable, this destroys it if it is not finished). */
  async close(): Promise<void> {
    if (!this.#eof) {
      this.#eof = true;
      await this.#it.return?.();
    }
  }

  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      if (this.#error) throw this.#error;
      if (this.#eof) return false;
      let r: IteratorResult<unknown>;
      try {
        r = await this.#it.next();
      } catch (err) {
        this.#error = this.#wrap(err, this.offset);
        throw this.#error;
      }
      if (r.done) {
        this.#eof = true;
        this.#chunk = EMPTY;
        this.#pos = 0;
        return false;
      }
      const v = r.value;
      this.#chunk = Buffer.isBuffer(v)
        ? v
        : v instanceof Uint8Array
          ? Buffer.from(v.buffer, v.byteOffset, v.byteLength)
          : Buffer.from(String(v), 'utf8');
      this.#pos = 0;
    }
    return true;
  }
}
