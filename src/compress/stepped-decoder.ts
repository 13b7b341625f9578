import { Transform, type TransformCallback } from 'node:stream';
import { CODEC_CHUNK } from './inner-stream.js';
import type { DecompressionGuard } from './limits.js';

/**
 * Base for decoders that run synchronously in JavaScript or WebAssembly (xz, fzstd). A subclass
 * turns input into a generator of bounded output pieces, reporting the input it has consumed to
 * the guard as it goes; this class pushes the pieces one by one, checking the guard before each,
 * and suspends the generator whenever the reader is behind, so memory stays bounded by one piece
 * even for hostile input.
 */
export abstract class SteppedDecoder extends Transform {
  readonly #guard: DecompressionGuard;
  #suspended: { steps: Iterator<Uint8Array>; callback: TransformCallback } | undefined;

  constructor(guard: DecompressionGuard) {
    super({ readableHighWaterMark: CODEC_CHUNK, writableHighWaterMark: CODEC_CHUNK });
    this.#guard = guard;
  }

  /** Waits for anything the decoder needs before its first step (e.g. compiling WebAssembly). */
  protected ready(): Promise<void> | undefined {
    return undefined;
  }

  /** Decodes `chunk`, yielding output pieces; bounded work between yields. */
  protected abstract decode(chunk: Buffer): Iterable<Uint8Array>;

  /** Signals end of input, yielding the remaining output; throws if the input was truncated. */
  protected abstract finish(): Iterable<Uint8Array>;

  /** Frees decoder resources; called once, on completion, error or destroy. */
  protected abstract release(): void;

  /** Turns a decoder failure into the error the stream reports. */
  protected abstract mapError(err: unknown): Error;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#start(() => this.decode(chunk), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#start(() => this.finish(), callback);
  }

  #start(steps: () => Iterable<Uint8Array>, callback: TransformCallback): void {
    const pending = this.ready();
    if (pending === undefined) {
      this.#run(steps, callback);
      return;
    }
    pending.then(
      () => this.#run(steps, callback),
      (err: unknown) => callback(this.mapError(err)),
    );
  }

  #run(steps: (() => Iterable<Uint8Array>) | Iterator<Uint8Array>, callback: TransformCallback): void {
    if (this.destroyed) return;
    let iterator: Iterator<Uint8Array>;
    try {
      iterator = typeof steps === 'function' ? steps()[Symbol.iterator]() : steps;
      for (;;) {
        const step = iterator.next();
        if (step.done === true) break;
        const piece = step.value;
        if (piece.length === 0) continue;
        this.#guard.output(piece.length);
        const buf = Buffer.isBuffer(piece)
          ? piece
          : Buffer.from(piece.buffer, piece.byteOffset, piece.length);
        if (!this.push(buf)) {
          if (this.destroyed) return;
          this.#suspended = { steps: iterator, callback };
          return;
        }
      }
    } catch (err) {
      callback(this.mapError(err));
      return;
    }
    callback();
  }

  override _read(size: number): void {
    const suspended = this.#suspended;
    if (suspended === undefined) {
      super._read(size);
      return;
    }
    this.#suspended = undefined;
    this.#run(suspended.steps, suspended.callback);
    // If the steps finished without pushing, Readable still counts this _read as pending and will
    // not call again: let Transform start on the next written chunk now.
    if (this.#suspended === undefined) super._read(size);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#suspended = undefined;
    this.release();
    callback(err);
  }
}
