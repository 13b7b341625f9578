import { createRequire } from 'node:module';
import { ImprintError } from '../errors.js';
import type { DecompressionGuard } from './limits.js';
import { SteppedDecoder } from './stepped-decoder.js';

// xz decoding with the WebAssembly build of xz-embedded that the `xz-decompress` package ships.
//
// We drive the package's WebAssembly exports directly instead of going through its public
// `XzReadableStream`, because that class (0.2.x) serializes every xz stream of the process behind
// one mutex (two interleaved decodes deadlock), reads an empty chunk as end of input, and crashes on
// empty input. The exports are the C ABI of xzwasm, unchanged since its first release:
//   create_context() -> ctx, destroy_context(ctx), supply_input(ctx, n), get_next_output(ctx) -> xz_ret
// and ctx starts with { u32 bufsize; u8* in; u32 in_pos; u32 in_size; u8* out; u32 out_pos; u32 out_size }.
// The decoder is built with XZ_DEC_CONCATENATED (concatenated streams and stream padding are
// accepted), CRC32/CRC64 checks, no BCJ filters, and a 64 MiB dictionary limit.
// Throughput equals the public class (measured, see README): the decoder itself is the bottleneck.

// Minimal shapes: the project's TypeScript lib has no WebAssembly declarations.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

interface XzExports {
  memory: WasmMemory;
  create_context(): number;
  destroy_context(ctx: number): void;
  supply_input(ctx: number, size: number): void;
  get_next_output(ctx: number): number;
}

interface XzPackage {
  XzReadableStream: { _getModuleInstance?: () => Promise<void>; _moduleInstance?: { exports: unknown } };
}

// xz_ret values (xz-embedded's xz.h).
const XZ_OK = 0;
const XZ_STREAM_END = 1;
const XZ_RET_NAMES: Record<number, string> = {
  2: 'unsupported integrity check',
  3: 'out of memory',
  4: 'dictionary larger than the 64 MiB limit',
  5: 'not an xz stream',
  6: 'unsupported options or filters',
  7: 'corrupt data',
  8: 'truncated input',
};

let exportsPromise: Promise<XzExports> | undefined;

async function loadExports(): Promise<XzExports> {
  const require = createRequire(import.meta.url);
  const pkg = require('xz-decompress') as XzPackage;
  const cls = pkg.XzReadableStream;
  if (cls._moduleInstance === undefined) await cls._getModuleInstance?.();
  const ex = cls._moduleInstance?.exports as Partial<XzExports> | undefined;
  const ok =
    ex !== undefined &&
    ex.memory?.buffer instanceof ArrayBuffer &&
    ['create_context', 'destroy_context', 'supply_input', 'get_next_output'].every(
      (name) => typeof (ex as Record<string, unknown>)[name] === 'function',
    );
  if (!ok) {
    const version = (require('xz-decompress/package.json') as { version?: string }).version;
    throw new ImprintError(
      'INTERNAL',
      `xz-decompress ${version ?? '?'} does not expose the WebAssembly decoder imprint expects`,
      {
        hint: 'imprint is tested with xz-decompress 0.2.x; install that version.',
      },
    );
  }
  return ex as XzExports;
}

/** The shared WebAssembly instance; compiled once per process (~20 ms). */
function xzExports(): Promise<XzExports> {
  exportsPromise ??= loadExports();
  return exportsPromise;
}

/** Frees the context of a decoder that was dropped without being ended or destroyed. */
const orphans = new FinalizationRegistry<{ ex: XzExports; ptr: number }>(({ ex, ptr }) =>
  ex.destroy_context(ptr),
);

/** One xz-embedded decoder context inside the shared WebAssembly memory. */
class XzContext {
  readonly #ex: XzExports;
  readonly #ptr: number;
  readonly bufSize: number;
  readonly #inPtr: number;
  readonly #outPtr: number;

  constructor(ex: XzExports) {
    this.#ex = ex;
    this.#ptr = ex.create_context();
    orphans.register(this, { ex, ptr: this.#ptr }, this);
    const header = this.#header();
    this.bufSize = header[0] as number;
    this.#inPtr = header[1] as number;
    this.#outPtr = header[4] as number;
    const memSize = ex.memory.buffer.byteLength;
    const sane =
      this.#ptr > 0 &&
      this.bufSize >= 1024 &&
      this.bufSize <= 16 * 1024 * 1024 &&
      header[6] === this.bufSize &&
      this.#inPtr + this.bufSize <= memSize &&
      this.#outPtr + this.bufSize <= memSize;
    if (!sane) {
      throw new ImprintError('INTERNAL', 'xz-decompress decoder context has an unexpected layout', {
        hint: 'imprint is tested with xz-decompress 0.2.x; install that version.',
      });
    }
  }

  // Views are re-made after every call: memory.grow() detaches the old ArrayBuffer.
  #header(): Uint32Array {
    return new Uint32Array(this.#ex.memory.buffer, this.#ptr, 7);
  }

  /** Hands the decoder `piece` (at most bufSize bytes); an empty piece means end of input. */
  supply(piece: Uint8Array): void {
    new Uint8Array(this.#ex.memory.buffer, this.#inPtr, this.bufSize).set(piece);
    this.#ex.supply_input(this.#ptr, piece.length);
  }

  /**
   * Runs the decoder until its output buffer is full or the input is used up; returns a copy of the
   * output and how many bytes of the supplied piece have been consumed so far.
   */
  step(): { ret: number; out: Buffer; consumed: number; inputUsedUp: boolean } {
    const ret = this.#ex.get_next_output(this.#ptr);
    const h = this.#header();
    const outPos = h[5] as number;
    const out = Buffer.from(new Uint8Array(this.#ex.memory.buffer, this.#outPtr, outPos));
    h[5] = 0;
    return { ret, out, consumed: h[2] as number, inputUsedUp: h[2] === h[3] };
  }

  dispose(): void {
    orphans.unregister(this);
    this.#ex.destroy_context(this.#ptr);
  }
}

/** Streaming xz decoder (a Transform); see decompressStream. Cost: ~40 MB/s of output. */
export class XzDecoder extends SteppedDecoder {
  readonly #what: string;
  readonly #guard: DecompressionGuard;
  #ctx: XzContext | undefined;
  #loading: Promise<void> | undefined;
  #released = false;

  constructor(what: string, guard: DecompressionGuard) {
    super(guard);
    this.#what = what;
    this.#guard = guard;
  }

  protected override ready(): Promise<void> | undefined {
    if (this.#ctx !== undefined) return undefined;
    this.#loading ??= xzExports().then((ex) => {
      if (!this.#released) this.#ctx = new XzContext(ex);
    });
    return this.#loading;
  }

  #context(): XzContext {
    if (this.#ctx === undefined)
      throw new ImprintError('INTERNAL', `${this.#what}: xz decoder used after release`);
    return this.#ctx;
  }

  protected override *decode(chunk: Buffer): Iterable<Uint8Array> {
    const ctx = this.#context();
    for (let off = 0; off < chunk.length; off += ctx.bufSize) {
      ctx.supply(chunk.subarray(off, off + ctx.bufSize));
      let counted = 0;
      for (;;) {
        const { ret, out, consumed, inputUsedUp } = ctx.step();
        this.#guard.input(consumed - counted);
        counted = consumed;
        if (ret === XZ_STREAM_END) throw this.#fail(8);
        if (ret !== XZ_OK) throw this.#fail(ret);
        if (out.length > 0) yield out;
        if (inputUsedUp && out.length < ctx.bufSize) break;
      }
    }
  }

  protected override *finish(): Iterable<Uint8Array> {
    const ctx = this.#context();
    ctx.supply(new Uint8Array(0));
    for (let idle = 0; idle < 2; ) {
      const { ret, out } = ctx.step();
      if (ret !== XZ_OK && ret !== XZ_STREAM_END) throw this.#fail(ret);
      if (out.length > 0) yield out;
      if (ret === XZ_STREAM_END) return;
      idle = out.length === 0 ? idle + 1 : 0;
    }
    throw this.#fail(8);
  }

  #fail(ret: number): ImprintError {
    const what = XZ_RET_NAMES[ret] ?? `decoder error ${ret}`;
    const unsupported = ret === 2 || ret === 4 || ret === 6;
    return new ImprintError(
      unsupported ? 'COMPRESSION_UNSUPPORTED' : 'COMPRESSION_INVALID',
      `${this.#what}: expected a valid xz stream, found ${what}`,
      { details: { what: this.#what, codec: 'xz', xzRet: ret } },
    );
  }

  protected override mapError(err: unknown): Error {
    if (err instanceof ImprintError) return err;
    return new ImprintError('COMPRESSION_INVALID', `${this.#what}: xz decoding failed: ${String(err)}`, {
      cause: err,
    });
  }

  protected override release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#ctx?.dispose();
    this.#ctx = undefined;
  }
}
