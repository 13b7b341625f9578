import { ImprintError } from '../errors.js';

export interface DecompressLimits {
  /** Largest allowed output/input ratio once past the grace amount. Default 200. */
  maxRatio?: number;
  /** The ratio is only enforced once the output exceeds this many bytes. Default 16 MiB. */
  ratioGraceBytes?: number;
  /** Absolute cap on output bytes. Default: none. */
  maxOutputBytes?: number;
}

export const DEFAULT_MAX_RATIO = 200;
export const DEFAULT_RATIO_GRACE_BYTES = 16 * 1024 * 1024;

/**
 * Counts compressed input and decompressed output of one stream and throws DECOMPRESSION_BOMB,
 * naming `what`, as soon as the output breaks a limit; decoders call it before pushing output.
 */
export class DecompressionGuard {
  readonly #what: string;
  readonly #maxRatio: number;
  readonly #grace: number;
  readonly #maxOutput: number;
  inputBytes = 0;
  outputBytes = 0;

  constructor(what: string, limits: DecompressLimits = {}) {
    this.#what = what;
    this.#maxRatio = limits.maxRatio ?? DEFAULT_MAX_RATIO;
    this.#grace = limits.ratioGraceBytes ?? DEFAULT_RATIO_GRACE_BYTES;
    this.#maxOutput = limits.maxOutputBytes ?? Number.POSITIVE_INFINITY;
  }

  /** Records `n` compressed bytes handed to the decoder. */
  input(n: number): void {
    this.inputBytes += n;
  }

  /** Records `n` decompressed bytes about to be emitted; throws DECOMPRESSION_BOMB past a limit. */
  output(n: number): void {
    this.check(n);
    this.outputBytes += n;
  }

  /**
   * Throws DECOMPRESSION_BOMB if `pending` more output bytes would break a limit, without recording
   * them: lets a decoder that produces output in bursts stop in the middle of one.
   */
  check(pending: number): void {
    const out = this.outputBytes + pending;
    if (out > this.#maxOutput) {
      throw new ImprintError(
        'DECOMPRESSION_BOMB',
        `${this.#what}: decompressed output exceeds the limit of ${this.#maxOutput} bytes (${out} bytes from ${this.inputBytes} compressed)`,
        {
          hint: 'The input is hostile or corrupt; raise maxOutputBytes only if it is trusted.',
          details: this.#details(out),
        },
      );
    }
    if (out > this.#grace && out > this.#maxRatio * this.inputBytes) {
      const ratio = this.inputBytes === 0 ? 'infinite' : (out / this.inputBytes).toFixed(1);
      throw new ImprintError(
        'DECOMPRESSION_BOMB',
        `${this.#what}: decompression ratio ${ratio}:1 exceeds the limit of ${this.#maxRatio}:1 (${out} bytes from ${this.inputBytes} compressed)`,
        {
          hint: 'The input is hostile or corrupt; raise maxRatio only if it is trusted.',
          details: this.#details(out),
        },
      );
    }
  }

  #details(outputBytes: number): Record<string, unknown> {
    return {
      what: this.#what,
      inputBytes: this.inputBytes,
      outputBytes,
      maxRatio: this.#maxRatio,
      ratioGraceBytes: this.#grace,
      maxOutputBytes: Number.isFinite(this.#maxOutput) ? this.#maxOutput : undefined,
    };
  }
}
