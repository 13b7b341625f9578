// xz decoding by the host's liblzma (XZ Utils' library, the one `xz` runs on), called in this process
// through the koffi FFI on libuv's thread pool: no xz process, named pipes or pipe copies per package.
// Decoding is deterministic by definition (any correct decoder gives the same bytes or fails), so the
// library is not pinned; it must be XZ Utils 5.2 or later, as for the xz tool. The stream state and
// both buffers live in native memory that koffi allocated: a call in flight never points into memory
// V8 manages, and nothing is marshalled but one pointer and one integer.
import { Transform, type TransformCallback } from 'node:stream';
import { isMainThread } from 'node:worker_threads';
import { errorText, ImprintError } from '../errors.js';
import { type Koffi, loadKoffi, type NativeFn } from './koffi.js';
import type { DecompressionGuard } from './limits.js';
import { XzFeatureCheck } from './xz-features.js';

/** Compressed bytes handed to liblzma per call. */
const IN_SIZE = 64 * 1024;
/** Decoded bytes per call, pushed as one piece (the xz tool's path gathers pieces of this size too). */
const OUT_SIZE = 256 * 1024;
/** As the xz tool's --memlimit-decompress=80MiB: 64 MiB dictionaries pass, 96 MiB ones do not. */
const MEMLIMIT = 80 * 1024 * 1024;
/** lzma_stream_decoder flags: LZMA_CONCATENATED, as `xz --decompress` reads its input. */
const LZMA_CONCATENATED = 0x08;
const LZMA_RUN = 0;
const LZMA_FINISH = 3;

/** lzma_ret values (lzma/base.h). */
const LZMA_RET: Readonly<Record<number, string>> = {
  0: 'LZMA_OK',
  1: 'LZMA_STREAM_END',
  2: 'LZMA_NO_CHECK',
  3: 'LZMA_UNSUPPORTED_CHECK',
  4: 'LZMA_GET_CHECK',
  5: 'LZMA_MEM_ERROR',
  6: 'LZMA_MEMLIMIT_ERROR',
  7: 'LZMA_FORMAT_ERROR',
  8: 'LZMA_OPTIONS_ERROR',
  9: 'LZMA_DATA_ERROR',
  10: 'LZMA_BUF_ERROR',
  11: 'LZMA_PROG_ERROR',
};

/** What each failing lzma_ret says, in the words `xz` uses for it. */
const FAILURE: Readonly<Record<number, { unsupported: boolean; text: string }>> = {
  5: { unsupported: false, text: 'cannot allocate memory' },
  6: { unsupported: true, text: 'memory usage limit reached' },
  7: { unsupported: false, text: 'file format not recognized' },
  8: { unsupported: true, text: 'unsupported options' },
  9: { unsupported: false, text: 'compressed data is corrupt' },
  10: { unsupported: false, text: 'unexpected end of input' },
};

interface Liblzma {
  koffi: Koffi;
  version: string;
  streamType: unknown;
  offsets: { nextIn: number; availIn: number; nextOut: number; availOut: number };
  streamDecoder: NativeFn;
  code: NativeFn;
  end: NativeFn;
}

/** The loaded library (undefined: not looked up yet in this thread; null: none usable). */
let loaded: Liblzma | null | undefined;

/**
 * The host's liblzma.so.5 when it is XZ Utils 5.2 or later and koffi loads it, else undefined.
 * IMPRINT_LIBLZMA=0 turns it off (the xz tool, else the WebAssembly decoder, decodes instead).
 * Main thread only: a worker terminated while a call of its runs on the thread pool (an extraction
 * pool closed after another package failed) has koffi complete that call into a torn-down
 * environment, and Node aborts the process (FATAL ERROR ... napi_throw). Extraction workers run only
 * on hosts without liblzma anyway (install.ts). Cost: loading koffi and the library (~5 ms), once.
 */
export function loadLiblzma(): Liblzma | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  if (process.env.IMPRINT_LIBLZMA === '0' || process.platform !== 'linux' || !isMainThread) return undefined;
  try {
    const koffi = loadKoffi();
    if (koffi === undefined) return undefined;
    const lib = koffi.load('liblzma.so.5');
    const number = Number(lib.func('uint32_t lzma_version_number(void)')());
    // XZ Utils encodes version x.y.z as x*10000000 + y*10000 + z*10 + stability.
    if (!(number >= 50020000)) return undefined;
    const streamType = koffi.struct('imprint_lzma_stream', {
      next_in: 'void *',
      avail_in: 'size_t',
      total_in: 'uint64_t',
      next_out: 'void *',
      avail_out: 'size_t',
      total_out: 'uint64_t',
      allocator: 'void *',
      internal: 'void *',
      reserved_ptr1: 'void *',
      reserved_ptr2: 'void *',
      reserved_ptr3: 'void *',
      reserved_ptr4: 'void *',
      seek_pos: 'uint64_t',
      reserved_int2: 'uint64_t',
      reserved_int3: 'size_t',
      reserved_int4: 'size_t',
      reserved_enum1: 'int',
      reserved_enum2: 'int',
    });
    loaded = {
      koffi,
      version: `liblzma ${Math.floor(number / 10000000)}.${Math.floor(number / 10000) % 1000}.${Math.floor(number / 10) % 1000}`,
      streamType,
      offsets: {
        nextIn: koffi.offsetof(streamType, 'next_in'),
        availIn: koffi.offsetof(streamType, 'avail_in'),
        nextOut: koffi.offsetof(streamType, 'next_out'),
        availOut: koffi.offsetof(streamType, 'avail_out'),
      },
      streamDecoder: lib.func('int lzma_stream_decoder(void *, uint64_t, uint32_t)'),
      code: lib.func('int lzma_code(void *, int)'),
      end: lib.func('void lzma_end(void *)'),
    };
  } catch {
    loaded = null;
  }
  return loaded ?? undefined;
}

/**
 * Streaming xz decoder on the host's liblzma (a Transform; see decompressStream). The same results as
 * the xz tool's NativeXzDecoder and the WebAssembly XzDecoder: COMPRESSION_INVALID for corrupt,
 * truncated, empty or non-xz input and trailing garbage, COMPRESSION_UNSUPPORTED for what the
 * WebAssembly decoder lacks (XzFeatureCheck) or the memory limit refuses, DECOMPRESSION_BOMB from the
 * guard. Backpressure: no call is made while the readable side is full. Cost: ~200 KB of native
 * memory and liblzma's dictionary per stream; the decoding runs on libuv's thread pool, one call at
 * a time per stream.
 */
export class LiblzmaDecoder extends Transform {
  readonly #lib: Liblzma;
  readonly #what: string;
  readonly #guard: DecompressionGuard;
  readonly #features: XzFeatureCheck;
  readonly #stream: unknown;
  readonly #input: unknown;
  readonly #output: unknown;
  readonly #inView: Uint8Array;
  readonly #outView: Uint8Array;
  /** A call is running on the thread pool: the native memory must stay until it returns. */
  #busy = false;
  #freed = false;
  #wake: (() => void) | undefined;
  /**
   * Readable has called _read and nothing was pushed since: it will not call _read again until a push
   * answers this one. That _read may be the very one that handed Transform the next piece (when the
   * last piece left the readable side at its high-water mark), so the piece must be decoded and pushed,
   * not held back to wait for a read that never comes.
   */
  #readPending = false;

  constructor(lib: Liblzma, what: string, guard: DecompressionGuard) {
    super({ readableHighWaterMark: OUT_SIZE, writableHighWaterMark: IN_SIZE });
    this.#lib = lib;
    this.#what = what;
    this.#guard = guard;
    this.#features = new XzFeatureCheck(what);
    const k = lib.koffi;
    this.#stream = k.alloc(lib.streamType, 1);
    this.#input = k.alloc('uint8_t', IN_SIZE);
    this.#output = k.alloc('uint8_t', OUT_SIZE);
    this.#inView = new Uint8Array(k.view(this.#input, IN_SIZE));
    this.#outView = new Uint8Array(k.view(this.#output, OUT_SIZE));
    const ret = Number(lib.streamDecoder(this.#stream, MEMLIMIT, LZMA_CONCATENATED));
    if (ret !== 0) {
      this.#free();
      throw this.#failure(ret);
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.#features.admit(chunk, callback)) return;
    this.#feed(chunk).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#run(LZMA_FINISH).then(() => {
      this.#free();
      callback();
    }, callback);
  }

  override _read(size: number): void {
    this.#readPending = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    super._read(size);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#wake?.();
    this.#free();
    callback(err);
  }

  /** Decodes `chunk`, IN_SIZE bytes at a time. */
  async #feed(chunk: Buffer): Promise<void> {
    const { koffi: k, offsets } = this.#lib;
    for (let at = 0; at < chunk.length; at += IN_SIZE) {
      // Destroyed meanwhile: the native memory is freed (or about to be), never touched again.
      if (this.destroyed || this.#freed) return;
      const part = chunk.subarray(at, at + IN_SIZE);
      this.#guard.input(part.length);
      this.#inView.set(part);
      k.encode(this.#stream, offsets.nextIn, 'void *', this.#input);
      k.encode(this.#stream, offsets.availIn, 'size_t', part.length);
      await this.#run(LZMA_RUN);
    }
  }

  /**
   * Calls lzma_code until it has taken all its input and, for LZMA_FINISH, reached the end of the
   * stream; pushes what each call decodes.
   */
  async #run(action: number): Promise<void> {
    const { koffi: k, offsets } = this.#lib;
    for (;;) {
      if (this.destroyed || this.#freed) return;
      if (this.readableLength >= this.readableHighWaterMark && !this.#readPending)
        await new Promise<void>((resolve) => (this.#wake = resolve));
      if (this.destroyed || this.#freed) return;
      k.encode(this.#stream, offsets.nextOut, 'void *', this.#output);
      k.encode(this.#stream, offsets.availOut, 'size_t', OUT_SIZE);
      const ret = await this.#code(action);
      if (this.destroyed || this.#freed) return;
      const produced = OUT_SIZE - Number(k.decode(this.#stream, offsets.availOut, 'size_t'));
      if (produced > 0) {
        this.#guard.output(produced);
        this.#readPending = false;
        this.push(Buffer.from(this.#outView.subarray(0, produced)));
      }
      if (ret === 1) return; // LZMA_STREAM_END: only after LZMA_FINISH, with LZMA_CONCATENATED
      if (ret !== 0) throw this.#failure(ret);
      const inputLeft = Number(k.decode(this.#stream, offsets.availIn, 'size_t'));
      if (action === LZMA_RUN && inputLeft === 0 && produced < OUT_SIZE) return;
    }
  }

  /** One lzma_code call on the thread pool. */
  #code(action: number): Promise<number> {
    this.#busy = true;
    return new Promise((resolve, reject) => {
      this.#lib.code.async(this.#stream, action, (err: unknown, ret: unknown) => {
        this.#busy = false;
        if (this.destroyed) this.#free();
        if (err !== null && err !== undefined)
          reject(
            new ImprintError('INTERNAL', `${this.#what}: liblzma call failed: ${errorText(err)}`, {
              cause: err,
            }),
          );
        else resolve(Number(ret));
      });
    });
  }

  /** Ends the stream and frees its memory, once no call is running. */
  #free(): void {
    if (this.#busy || this.#freed) return;
    this.#freed = true;
    const k = this.#lib.koffi;
    this.#lib.end(this.#stream);
    k.free(this.#stream);
    k.free(this.#input);
    k.free(this.#output);
  }

  #failure(ret: number): ImprintError {
    const known = FAILURE[ret];
    const found = known?.text ?? `liblzma error ${LZMA_RET[ret] ?? ret}`;
    return new ImprintError(
      known?.unsupported === true ? 'COMPRESSION_UNSUPPORTED' : 'COMPRESSION_INVALID',
      `${this.#what}: expected a valid xz stream, found ${found}`,
      {
        details: { what: this.#what, codec: 'xz', decoder: this.#lib.version, lzmaRet: LZMA_RET[ret] ?? ret },
      },
    );
  }
}
