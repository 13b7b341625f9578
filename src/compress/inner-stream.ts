import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';

/** Chunk and buffer size for codec streams: large chunks keep per-chunk overhead negligible. */
export const CODEC_CHUNK = 1024 * 1024;

/**
 * A Transform that runs another Transform (a Node zlib stream) inside itself, so that codecs can
 * add bytes around its output (gzip header/trailer) or watch what flows (bomb limits) while the
 * caller still gets one plain Transform. Backpressure: a chunk is acknowledged only once `inner`
 * has consumed it, and `inner` is paused while this stream's readable side is full.
 */
export abstract class InnerStreamTransform extends Transform {
  readonly #inner: Transform;
  #flushCallback: TransformCallback | undefined;

  constructor(inner: Transform, options: TransformOptions = {}) {
    super({ readableHighWaterMark: CODEC_CHUNK, writableHighWaterMark: CODEC_CHUNK, ...options });
    this.#inner = inner;
    inner.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      try {
        this.onOutput(chunk);
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => {
      const cb = this.#flushCallback;
      this.#flushCallback = undefined;
      if (cb === undefined || this.destroyed) return;
      let tail: Buffer | undefined;
      try {
        tail = this.trailer();
      } catch (err) {
        cb(err as Error);
        return;
      }
      if (tail !== undefined) this.push(tail);
      cb();
    });
    inner.on('error', (err: Error) => this.destroy(this.mapError(err)));
  }

  /** Sees every input chunk before `inner` does; may throw to fail the stream. */
  protected onInput(_chunk: Buffer): void {}

  /** Sees every output chunk of `inner` before it is pushed; may throw to fail the stream. */
  protected onOutput(_chunk: Buffer): void {}

  /** Bytes to emit after `inner` has ended (e.g. a trailer). */
  protected trailer(): Buffer | undefined {
    return undefined;
  }

  /** Translates an error of `inner` into the error this stream fails with. */
  protected mapError(err: Error): Error {
    return err;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.onInput(chunk);
    } catch (err) {
      callback(err as Error);
      return;
    }
    // Written one chunk at a time with Z_NO_FLUSH; the finish flag only ever comes from end()
    // with no data, so the inner codec sees the same calls whatever the caller's chunking.
    this.#inner.write(chunk, (err) => {
      if (err) this.destroy(this.mapError(err));
      else callback();
    });
  }

  override _flush(callback: TransformCallback): void {
    this.#flushCallback = callback;
    this.#inner.end();
  }

  override _read(size: number): void {
    if (this.#inner.isPaused()) this.#inner.resume();
    super._read(size);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#flushCallback = undefined;
    this.#inner.destroy();
    callback(err);
  }
}
