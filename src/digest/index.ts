import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ImprintError } from '../errors.js';

/** A content digest; imprint produces and accepts sha256 only. */
export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** True for a well-formed `sha256:<64 lowercase hex>` string. */
export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

/** Checks and narrows a digest string; `what` names its origin in the error. */
export function parseDigest(value: string, what = 'digest'): Digest {
  if (!isDigest(value)) {
    throw new ImprintError('INVALID_IMAGE', `${what} is not a sha256 digest: ${JSON.stringify(value)}`, {
      hint: 'Digests look like sha256:<64 lowercase hex digits>.',
    });
  }
  return value;
}

/** The hex part of a digest. */
export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}

/** sha256 of bytes in memory. */
export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A pass-through stream that hashes and counts what flows; read `digest()`/`size` after it ends. */
export class HashingStream extends Transform {
  #hash: Hash = createHash('sha256');
  #digest: Digest | undefined;
  size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.#digest = `sha256:${this.#hash.digest('hex')}`;
    cb();
  }

  /** The digest of everything that passed; only valid once the stream has finished. */
  digest(): Digest {
    if (this.#digest === undefined)
      throw new ImprintError('INTERNAL', 'digest() read before the stream ended');
    return this.#digest;
  }
}

export interface Expectation {
  digest?: Digest | undefined;
  size?: number | undefined;
}

/**
 * A pass-through stream that fails with DIGEST_MISMATCH / SIZE_MISMATCH at the end (or as soon as the
 * size is exceeded) when the bytes do not match `expect`. `what` names the content in errors.
 */
export class VerifyingStream extends Transform {
  #hash: Hash = createHash('sha256');
  #size = 0;
  readonly #expect: Expectation;
  readonly #what: string;

  constructor(expect: Expectation, what: string) {
    super();
    this.#expect = expect;
    this.#what = what;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#expect.size !== undefined && this.#size > this.#expect.size) {
      cb(sizeMismatch(this.#what, this.#expect.size, `more than ${this.#expect.size}`));
      return;
    }
    this.#hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const found: Digest = `sha256:${this.#hash.digest('hex')}`;
    if (this.#expect.size !== undefined && this.#size !== this.#expect.size) {
      cb(sizeMismatch(this.#what, this.#expect.size, String(this.#size)));
    } else if (this.#expect.digest !== undefined && found !== this.#expect.digest) {
      cb(digestMismatch(this.#what, this.#expect.digest, found));
    } else {
      cb();
    }
  }
}

/** The DIGEST_MISMATCH error, in one shape everywhere. */
export function digestMismatch(what: string, expected: Digest, found: Digest): ImprintError {
  return new ImprintError('DIGEST_MISMATCH', `${what}: expected ${expected}, found ${found}`, {
    hint: 'The content changed or was corrupted; fetch it again from a trusted source.',
    details: { expected, found },
  });
}

function sizeMismatch(what: string, expected: number, found: string): ImprintError {
  return new ImprintError('SIZE_MISMATCH', `${what}: expected ${expected} bytes, found ${found}`, {
    hint: 'The content changed or was truncated; fetch it again from a trusted source.',
    details: { expected, found },
  });
}
