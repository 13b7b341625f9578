import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { type Koffi, loadKoffi, type NativeFn } from './koffi.js';

// The host's libdeflate, called through the koffi FFI, when it is a build known to be libdeflate 1.14:
// the same bytes as imprint's WebAssembly build (libdeflate.ts), ~25 % less CPU. Versions of libdeflate
// near 1.14 differ from it on rare blocks only, which no small probe reliably shows, so a library is
// used only when the sha256 of its file is one of the builds below (each checked against the signed
// archive index it came from, and compared with the WebAssembly build in the tests); anything else,
// a missing library, or a platform koffi has no binary for leaves the WebAssembly engine in charge.
// IMPRINT_NATIVE_DEFLATE=0 turns the lookup off.

/** sha256 of `libdeflate.so.0` files known to be libdeflate 1.14, and what they are. */
export const NATIVE_LIBDEFLATE_BUILDS: Readonly<Record<string, string>> = {
  '7a20781883ba5f05bdf0a259b026109142b9d9af9169e489af608b51c4e233d5': 'Debian 12 libdeflate0 1.14-1 amd64',
  e855913b8d66c3f6aa65e742bf9b531acc94b5c4cd53b70c7a794ea83429e913: 'Debian 12 libdeflate0 1.14-1 arm64',
};

/** Where Debian puts the library, per Node architecture. */
const LIBRARY_PATHS: Readonly<Record<string, string>> = {
  x64: '/usr/lib/x86_64-linux-gnu/libdeflate.so.0',
  arm64: '/usr/lib/aarch64-linux-gnu/libdeflate.so.0',
};

export interface NativeLibdeflate {
  /** Raw deflate of `data` at `level`: a fresh Uint8Array owning its buffer. */
  raw(data: Uint8Array, level: number): Uint8Array;
  /**
   * libdeflate's gzip writer (header, raw deflate, CRC-32 and ISIZE) on `data` at `level`, run on
   * libuv's thread pool: a fresh Uint8Array owning its buffer. `data` must not change until it
   * settles. Each call in flight holds a compressor of its own (libdeflate's are single-threaded).
   */
  gzipAsync(data: Uint8Array, level: number): Promise<Uint8Array>;
  /** The same member, computed in the calling thread (for the known-answer check). */
  gzip(data: Uint8Array, level: number): Uint8Array;
  /** The library file loaded, and which known build it is. */
  path: string;
  build: string;
}

/**
 * The host's libdeflate when it is a known build of 1.14 (see above), else undefined. `path` is for
 * tests. Cost: reading and hashing the ~100 KB library, loading koffi (~5 ms), once per thread.
 */
export function loadNativeLibdeflate(path = LIBRARY_PATHS[process.arch]): NativeLibdeflate | undefined {
  if (process.env.IMPRINT_NATIVE_DEFLATE === '0' || process.platform !== 'linux' || path === undefined) {
    return undefined;
  }
  let file: string;
  let build: string | undefined;
  try {
    file = realpathSync(path);
    build = NATIVE_LIBDEFLATE_BUILDS[createHash('sha256').update(readFileSync(file)).digest('hex')];
  } catch {
    return undefined;
  }
  if (build === undefined) return undefined;
  let lib: ReturnType<Koffi['load']>;
  try {
    const koffi = loadKoffi();
    if (koffi === undefined) return undefined;
    lib = koffi.load(file);
  } catch {
    return undefined;
  }
  const alloc = lib.func('void *libdeflate_alloc_compressor(int)');
  const bound = lib.func('size_t libdeflate_deflate_compress_bound(void *, size_t)');
  const compress = lib.func(
    'size_t libdeflate_deflate_compress(void *, const uint8_t *, size_t, uint8_t *, size_t)',
  );
  const gzipBound = lib.func('size_t libdeflate_gzip_compress_bound(void *, size_t)');
  const gzipCompress = lib.func(
    'size_t libdeflate_gzip_compress(void *, const uint8_t *, size_t, uint8_t *, size_t)',
  );
  /** Idle compressors per level: one per call in flight, kept for the next calls (never freed). */
  const idle = new Map<number, unknown[]>();
  const take = (level: number): unknown => {
    const compressor = idle.get(level)?.pop() ?? alloc(level);
    if (compressor === null) throw new Error(`libdeflate has no compression level ${level}`);
    return compressor;
  };
  const give = (level: number, compressor: unknown): void => {
    const list = idle.get(level) ?? [];
    list.push(compressor);
    idle.set(level, list);
  };
  /** Output buffers of calls that ended, for the next calls (each gets its own while it runs). */
  const spare: Buffer[] = [];
  const outputFor = (need: number): Buffer => {
    const b = spare.pop();
    return b !== undefined && b.length >= need ? b : Buffer.allocUnsafeSlow(Math.max(need, 1 << 20));
  };
  const room = (data: Uint8Array): Error =>
    new Error(`libdeflate found no room for ${data.length} bytes deflated`);
  const sync =
    (fn: NativeFn, boundFn: NativeFn) =>
    (data: Uint8Array, level: number): Uint8Array => {
      const compressor = take(level);
      const out = outputFor(Number(boundFn(compressor, data.length)));
      try {
        const n = Number(fn(compressor, data, data.length, out, out.length));
        if (n === 0) throw room(data);
        return new Uint8Array(out.buffer, out.byteOffset, n).slice();
      } finally {
        give(level, compressor);
        spare.push(out);
      }
    };
  const gzipAsync = (data: Uint8Array, level: number): Promise<Uint8Array> =>
    new Promise((resolve, reject) => {
      const compressor = take(level);
      const out = outputFor(Number(gzipBound(compressor, data.length)));
      // `data` and `out` stay referenced by this closure until the call ends: koffi hands the thread
      // pool their addresses, and ArrayBuffer memory never moves.
      gzipCompress.async(compressor, data, data.length, out, out.length, (err: unknown, n: unknown) => {
        give(level, compressor);
        if (err !== null && err !== undefined) reject(err instanceof Error ? err : new Error(String(err)));
        else if (Number(n) === 0) reject(room(data));
        else resolve(new Uint8Array(out.buffer, out.byteOffset, Number(n)).slice());
        spare.push(out);
      });
    });
  const raw = sync(compress, bound);
  const gzip = sync(gzipCompress, gzipBound);
  return { raw, gzip, gzipAsync, path: file, build };
}
