import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';

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
  /** The library file loaded, and which known build it is. */
  path: string;
  build: string;
}

type Fn = (...args: unknown[]) => unknown;
interface Koffi {
  load(path: string): { func(signature: string): Fn };
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
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    lib = koffi.load(file);
  } catch {
    return undefined;
  }
  const alloc = lib.func('void *libdeflate_alloc_compressor(int)');
  const bound = lib.func('size_t libdeflate_deflate_compress_bound(void *, size_t)');
  const compress = lib.func(
    'size_t libdeflate_deflate_compress(void *, const uint8_t *, size_t, uint8_t *, size_t)',
  );
  // One compressor per level and one output buffer, for the life of the thread (never freed).
  const compressors = new Map<number, unknown>();
  let scratch = Buffer.alloc(0);
  const raw = (data: Uint8Array, level: number): Uint8Array => {
    let compressor = compressors.get(level);
    if (compressor === undefined) {
      compressor = alloc(level);
      if (compressor === null) throw new Error(`libdeflate has no compression level ${level}`);
      compressors.set(level, compressor);
    }
    const need = Number(bound(compressor, data.length));
    if (scratch.length < need) scratch = Buffer.allocUnsafeSlow(Math.max(need, 1 << 20));
    const n = Number(compress(compressor, data, data.length, scratch, scratch.length));
    if (n === 0) throw new Error(`libdeflate found no room for ${data.length} bytes deflated`);
    return new Uint8Array(scratch.buffer, scratch.byteOffset, n).slice();
  };
  return { raw, path: file, build };
}
