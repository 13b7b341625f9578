import { Decompress } from 'fzstd';
import { ImprintError } from '../errors.js';
import type { DecompressionGuard } from './limits.js';
import { SteppedDecoder } from './stepped-decoder.js';

/**
 * fzstd decodes every complete block in what it is given, synchronously. Feeding it small slices
 * bounds the output of one step: a 1 KiB slice yields at most ~32 MiB (all-RLE blocks, the worst
 * case), usually about 1 KiB x the ratio; the guard is also checked block by block inside a step,
 * so a bomb stops within one block. Throughput did not measurably change from 1 to 64 KiB slices.
 */
export const FZSTD_SLICE = 1024;

/**
 * Streaming zstd decoder in pure JavaScript (fzstd), used when Node has no built-in zstd.
 * Accepts concatenated and skippable frames; does not verify frame checksums (the layer digest
 * does). Windows beyond 32 MiB (ultra levels on large inputs) may fail. Cost: ~70 MB/s of output.
 */
export class FzstdDecoder extends SteppedDecoder {
  readonly #what: string;
  readonly #guard: DecompressionGuard;
  #decoder: Decompress | undefined;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #sawInput = false;

  constructor(what: string, guard: DecompressionGuard) {
    super(guard);
    this.#what = what;
    this.#guard = guard;
    this.#decoder = new Decompress((chunk) => {
      this.#pendingBytes += chunk.length;
      guard.check(this.#pendingBytes);
      this.#pending.push(chunk);
    });
  }

  #push(slice: Uint8Array, final: boolean): Uint8Array[] {
    const decoder = this.#decoder;
    if (decoder === undefined)
      throw new ImprintError('INTERNAL', `${this.#what}: zstd decoder used after release`);
    this.#guard.input(slice.length);
    decoder.push(slice, final);
    const out = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    return out;
  }

  protected override *decode(chunk: Buffer): Iterable<Uint8Array> {
    if (chunk.length > 0) this.#sawInput = true;
    for (let off = 0; off < chunk.length; off += FZSTD_SLICE) {
      yield* this.#push(chunk.subarray(off, off + FZSTD_SLICE), false);
    }
  }

  protected override *finish(): Iterable<Uint8Array> {
    // fzstd accepts empty input as an empty stream; `zstd -d` and the other decoders do not.
    if (!this.#sawInput) throw new Error('empty input');
    yield* this.#push(new Uint8Array(0), true);
  }

  protected override mapError(err: unknown): Error {
    if (err instanceof ImprintError) return err;
    const message = err instanceof Error ? err.message : String(err);
    const unsupported = /window size too large|match distance too far/.test(message);
    return new ImprintError(
      unsupported ? 'COMPRESSION_UNSUPPORTED' : 'COMPRESSION_INVALID',
      `${this.#what}: expected a valid zstd stream, found ${message}`,
      { cause: err, details: { what: this.#what, codec: 'zstd' } },
    );
  }

  protected override release(): void {
    this.#decoder = undefined;
    this.#pending = [];
  }
}
