import { PassThrough, pipeline, Readable, type Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { errorText, ImprintError } from '../errors.js';
import { CODEC_CHUNK, InnerStreamTransform } from './inner-stream.js';
import { DecompressionGuard, type DecompressLimits } from './limits.js';
import { type Decompression, SNIFF_BYTES, sniffCompression } from './sniff.js';
import { XzDecoder } from './xz.js';
import { LiblzmaDecoder, loadLiblzma } from './xz-liblzma.js';
import { findXzTool, NativeXzDecoder } from './xz-native.js';
import { createNativeZstdDecompress } from './zstd.js';
import { FzstdDecoder } from './zstd-decode.js';

export interface DecompressOptions {
  /** Names the content (archive, file, blob) in error messages. */
  what: string;
  limits?: DecompressLimits;
  /** The compressed size, when known: small xz inputs may be decoded in-process (NATIVE_XZ_MIN_INPUT). */
  inputSize?: number;
}

/**
 * xz inputs smaller than this are decoded in WebAssembly, in this thread: starting an xz process
 * (a fork of this process, or a helper shell's fork, two named pipes and an exec) costs more than
 * decoding them (every control.tar.xz; on examples/python 16 of 44 data.tar.xz members). Measured:
 * installing examples/python took 7 % less time than with every input sent to xz.
 */
export const NATIVE_XZ_MIN_INPUT = 64 * 1024;

/** A Node zlib stream; `bytesWritten` counts the input the engine has consumed so far. */
type ZlibStream = Transform & { readonly bytesWritten?: number };

/** A Node zlib decoder (gunzip, built-in zstd) with the bomb guard and imprint's error codes. */
class ZlibDecoder extends InnerStreamTransform {
  readonly #inner: ZlibStream;
  readonly #guard: DecompressionGuard;
  readonly #what: string;
  readonly #codec: string;
  #written = 0;

  constructor(inner: ZlibStream, codec: string, what: string, guard: DecompressionGuard) {
    super(inner);
    this.#inner = inner;
    this.#guard = guard;
    this.#what = what;
    this.#codec = codec;
  }

  protected override onInput(chunk: Buffer): void {
    this.#written += chunk.length;
  }

  protected override onOutput(chunk: Buffer): void {
    // Ratio against the input the engine has actually consumed, not what was handed to it: a
    // whole bomb often arrives in one chunk.
    const consumed = this.#inner.bytesWritten ?? this.#written;
    this.#guard.input(consumed - this.#guard.inputBytes);
    this.#guard.output(chunk.length);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#written === 0) {
      callback(this.mapError(new Error('empty input')));
      return;
    }
    super._flush(callback);
  }

  protected override mapError(err: Error): Error {
    if (err instanceof ImprintError) return err;
    return new ImprintError(
      'COMPRESSION_INVALID',
      `${this.#what}: expected a valid ${this.#codec} stream, found ${err.message}`,
      {
        cause: err,
        details: { what: this.#what, codec: this.#codec, zlibCode: (err as { code?: unknown }).code },
      },
    );
  }
}

/**
 * A Transform that decompresses `kind`: gzip (Node zlib, multi-member), xz (the host's liblzma in
 * this process when it has XZ Utils' library; else its `xz` in a child process, started by a helper
 * shell; else, or for small inputs when xz must be forked, xz-embedded in WebAssembly; the same bytes
 * and errors either way), zstd (Node built-in when present, else fzstd). Fails with
 * DECOMPRESSION_BOMB (naming `what`) when the limits are exceeded, COMPRESSION_INVALID on corrupt
 * or truncated data, COMPRESSION_UNSUPPORTED for valid input this decoder cannot handle.
 * Cost: streaming; memory bounded by one output chunk plus the codec's window.
 */
export function decompressStream(kind: Decompression, opts: DecompressOptions): Transform {
  const guard = new DecompressionGuard(opts.what, opts.limits);
  switch (kind) {
    case 'gzip':
      return new ZlibDecoder(zlib.createGunzip({ chunkSize: CODEC_CHUNK }), 'gzip', opts.what, guard);
    case 'xz': {
      const lzma = loadLiblzma();
      if (lzma !== undefined) return new LiblzmaDecoder(lzma, opts.what, guard);
      const found = findXzTool();
      const small = opts.inputSize !== undefined && opts.inputSize < NATIVE_XZ_MIN_INPUT;
      const tool = found !== undefined && !small ? found : undefined;
      return tool === undefined
        ? new XzDecoder(opts.what, guard)
        : new NativeXzDecoder(tool, opts.what, guard);
    }
    case 'zstd': {
      const native = createNativeZstdDecompress();
      return native === undefined
        ? new FzstdDecoder(opts.what, guard)
        : new ZlibDecoder(native, 'zstd', opts.what, guard);
    }
    case 'none':
      return new PassThrough({ highWaterMark: CODEC_CHUNK });
    default:
      throw new ImprintError(
        'COMPRESSION_UNSUPPORTED',
        `${opts.what}: unknown compression ${JSON.stringify(kind)}`,
        {
          hint: 'imprint reads gzip, xz and zstd.',
        },
      );
  }
}

/** Reads chunks from `source` until at least `n` bytes arrived or it ended; leaves it paused. */
function readHead(source: Readable, n: number): Promise<{ head: Buffer; ended: boolean }> {
  if (source.readableEnded) return Promise.resolve({ head: Buffer.alloc(0), ended: true });
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let length = 0;
    const cleanup = (): void => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      parts.push(buf);
      length += buf.length;
      if (length >= n) {
        source.pause();
        cleanup();
        resolve({ head: Buffer.concat(parts, length), ended: false });
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ head: Buffer.concat(parts, length), ended: true });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', onError);
  });
}

const ignore = (): void => {};

/**
 * Like decompressStream, but sniffs the first bytes of `source` to choose the codec ('none' passes
 * the bytes through). Errors of `source` surface on the returned stream, and destroying the
 * returned stream destroys `source`. Cost: waits for the first chunk only.
 */
export async function openDecompressed(
  source: Readable,
  opts: DecompressOptions,
): Promise<{ kind: Decompression; stream: Readable }> {
  let head: Buffer;
  let ended: boolean;
  try {
    ({ head, ended } = await readHead(source, SNIFF_BYTES));
  } catch (err) {
    throw new ImprintError('IO', `${opts.what}: could not read the first bytes: ${errorText(err)}`, {
      cause: err,
    });
  }
  const kind = sniffCompression(head);
  const out =
    kind === 'none' ? new PassThrough({ highWaterMark: CODEC_CHUNK }) : decompressStream(kind, opts);
  if (ended) {
    pipeline(Readable.from(head.length > 0 ? [head] : []), out, ignore);
  } else {
    out.write(head);
    // Errors reach the consumer through `out`, which pipeline destroys with them.
    pipeline(source, out, ignore);
  }
  return { kind, stream: out };
}
