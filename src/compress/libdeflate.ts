import { createHash } from 'node:crypto';
import { ImprintError } from '../errors.js';
import { loadNativeLibdeflate, type NativeLibdeflate } from './libdeflate-native.js';
import { LIBDEFLATE_WASM_BASE64, LIBDEFLATE_WASM_SHA256, LIBDEFLATE_WASM_SOURCE } from './libdeflate-wasm.js';

// The deflate engine of imprint's gzip output: libdeflate 1.14 (Eric Biggers' C library, MIT), the
// version of Debian bookworm's libdeflate0, compiled to WebAssembly by scripts/build-libdeflate-wasm.sh
// from Debian's source tarball (src/compress/libdeflate-wasm.ts, embedded so that workers and bundles
// load it with no file access). The module uses integer and bulk-memory instructions only (no SIMD,
// floats, atomics or threads), whose results WebAssembly defines exactly, so the bytes depend only on
// the input, the level and libdeflate's version: never on the CPU, the Node version or the heap state.
// A known-answer check per level (assertPinnedDeflate) guards every engine before its first use.
// Where the host has a known native build of the same version (libdeflate-native.ts), it does the
// work instead: same bytes, less CPU.

/** The version of libdeflate (the C library) whose output imprint's gzip layers are (codecDescription). */
export const LIBDEFLATE_VERSION = LIBDEFLATE_WASM_SOURCE;

// The few WebAssembly APIs used here (the project's TypeScript lib has no WebAssembly declarations).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
};

interface Exports {
  memory: { buffer: ArrayBuffer };
  imprint_init(): void;
  imprint_alloc(size: number): number;
  libdeflate_alloc_compressor(level: number): number;
  libdeflate_deflate_compress(
    compressor: number,
    input: number,
    inputSize: number,
    output: number,
    outputSize: number,
  ): number;
  libdeflate_deflate_compress_bound(compressor: number, inputSize: number): number;
}

/** The instantiated module and the buffers it reuses (one per thread: each worker has its own). */
interface Engine {
  exports: Exports;
  compressors: Map<number, number>;
  input: { at: number; size: number };
  output: { at: number; size: number };
}
let engine: Engine | undefined;

function loadEngine(): Engine {
  const bytes = Buffer.from(LIBDEFLATE_WASM_BASE64, 'base64');
  const found = createHash('sha256').update(bytes).digest('hex');
  if (found !== LIBDEFLATE_WASM_SHA256) {
    throw new ImprintError(
      'INTERNAL',
      `the embedded libdeflate module has sha256 ${found}, expected ${LIBDEFLATE_WASM_SHA256}`,
      {
        hint: 'reinstall imprint, or rebuild the module with scripts/build-libdeflate-wasm.sh',
      },
    );
  }
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as Exports;
  exports.imprint_init();
  return { exports, compressors: new Map(), input: { at: 0, size: 0 }, output: { at: 0, size: 0 } };
}

/** Grows `region` to hold `size` bytes (the old memory is not reused: regions only grow, rarely). */
function reserve(e: Exports, region: { at: number; size: number }, size: number): void {
  if (region.size >= size) return;
  const want = Math.max(size, 1 << 20);
  const at = e.imprint_alloc(want);
  if (at === 0)
    throw new ImprintError(
      'INTERNAL',
      `the deflate engine could not allocate ${want} bytes of WebAssembly memory`,
    );
  region.at = at;
  region.size = want;
}

/** The native library (undefined: not looked up yet in this thread; null: none, or it failed a check). */
let native: NativeLibdeflate | null | undefined;

function nativeEngine(): NativeLibdeflate | null {
  if (native === undefined) native = loadNativeLibdeflate() ?? null;
  return native;
}

/** This thread's native libdeflate (a known build that has not failed a check), or null. */
export function nativeDeflateEngine(): NativeLibdeflate | null {
  return nativeEngine();
}

/** Which engine deflates in this thread: the known native build, or imprint's WebAssembly. */
export function deflateEngine(): string {
  const n = nativeEngine();
  return n === null
    ? `libdeflate ${LIBDEFLATE_VERSION} (WebAssembly)`
    : `libdeflate ${LIBDEFLATE_VERSION} (${n.build})`;
}

/**
 * Raw deflate of `data` at `level` (1..12 in libdeflate; imprint uses 1..9), as one whole buffer:
 * the result is a fresh Uint8Array owning its buffer. The native library when the host has a known
 * build of it, else the WebAssembly one: the same bytes. Cost per thread at level 6 on the
 * development machine: ~65 MB/s native, ~50 MB/s WebAssembly.
 */
export function libdeflateRaw(data: Uint8Array, level: number): Uint8Array {
  const n = nativeEngine();
  return n === null ? wasmDeflateRaw(data, level) : n.raw(data, level);
}

/** libdeflateRaw by the WebAssembly build, whatever the host has (for tests and the fallback). */
export function wasmDeflateRaw(data: Uint8Array, level: number): Uint8Array {
  engine ??= loadEngine();
  const e = engine.exports;
  let compressor = engine.compressors.get(level);
  if (compressor === undefined) {
    compressor = e.libdeflate_alloc_compressor(level);
    if (compressor === 0) throw new ImprintError('USAGE', `libdeflate has no compression level ${level}`);
    engine.compressors.set(level, compressor);
  }
  reserve(e, engine.input, data.length);
  reserve(e, engine.output, e.libdeflate_deflate_compress_bound(compressor, data.length));
  // Allocation may grow the memory, which detaches earlier views: take them after it.
  new Uint8Array(e.memory.buffer, engine.input.at, data.length).set(data);
  const n = e.libdeflate_deflate_compress(
    compressor,
    engine.input.at,
    data.length,
    engine.output.at,
    engine.output.size,
  );
  if (n === 0)
    throw new ImprintError('INTERNAL', `libdeflate found no room for ${data.length} bytes deflated`);
  return new Uint8Array(e.memory.buffer, engine.output.at, n).slice();
}

/**
 * sha256 of libdeflateRaw(knownAnswerProbe(), level) for levels 1..9 with libdeflate 1.14: the
 * engine's known answers. Another engine (zlib, another level) changes them. Versions of libdeflate
 * close to 1.14 may not: their outputs differ on rare blocks only (1 block in 50 of a python tar at
 * levels 2-9 for the version libdeflate.js 0.1.0 built), which is why the module's own bytes are
 * checked by sha256 before it is compiled.
 */
const KNOWN_ANSWERS: Readonly<Record<number, string>> = {
  1: 'eff86f952a611a0227369f77c526657268cf8c2ad1b3bab8efaa1106f6319a74',
  2: '45ef609be068397ae337f2ace521fa46bca5c917bc7487b41ef2a71abde8b729',
  3: 'ef4149798842d7fcd664ec7a55705197ef3dc1e2fbdca6dfe379d65739b1cb6e',
  4: '8851f353befd75d5b3798e043210018dc34cb95d0aa495598bcaeecd188e0880',
  5: '73cef81d0ab71870759224094e578484a03a7eaa2c29deba856ff529b12229ca',
  6: 'a941a11c8fd47248e7fa5cd1318cffa74b0e890e0a8483542a369987b34f8a59',
  7: 'b0b3ae96c74ea6eec0cafa2eb156a358580edf2c2158f54ae4f103a351b89716',
  8: 'f42a08fc413265e56cce3e1fa4b5d400d842076acba9518eaf0e4a38da9fff44',
  9: 'f42a08fc413265e56cce3e1fa4b5d400d842076acba9518eaf0e4a38da9fff44',
};

/** xorshift32 from a non-zero seed: a small deterministic generator (the probe's; tests' corpora). */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Deterministic ~19 KB probe: text with repeats at many distances, a run, noise, a long repeat. */
export function knownAnswerProbe(): Buffer {
  const words = 'layer image digest manifest config tar gzip zstd index blob store debian package'.split(' ');
  const next = xorshift32(0x2545f491);
  const parts: string[] = [];
  for (let i = 0; i < 1500; i++) {
    const r = next();
    parts.push(
      r % 7 === 0 ? (r >>> 4).toString(16) : (words[r % words.length] as string),
      r % 11 === 0 ? '\n' : ' ',
    );
  }
  const text = Buffer.from(parts.join(''));
  const noise = Buffer.alloc(2048);
  for (let i = 0; i < noise.length; i++) noise[i] = next() & 0xff;
  return Buffer.concat([text, Buffer.alloc(1000, 0x20), noise, text.subarray(0, 5000)]);
}

/** A raw deflate function of (data, level); libdeflateRaw unless a test passes another. */
export type RawDeflate = (data: Uint8Array, level: number) => Uint8Array;

/**
 * Throws COMPRESSION_UNSUPPORTED, naming the pinned version, unless `engine` gives the pinned bytes
 * for the known-answer probe at `level`. Cost: one deflate of ~18 KB (~0.5-2 ms).
 */
export function verifyKnownAnswer(level: number, engine: RawDeflate = libdeflateRaw): void {
  const expected = KNOWN_ANSWERS[level];
  const found = createHash('sha256').update(engine(knownAnswerProbe(), level)).digest('hex');
  if (found === expected) return;
  throw new ImprintError(
    'COMPRESSION_UNSUPPORTED',
    `the deflate engine is not the pinned libdeflate ${LIBDEFLATE_VERSION}: its level ${level} output of the known-answer probe has sha256 ${found}, expected ${expected ?? '(no known answer for this level)'}`,
    {
      hint: `gzip layers would not be reproducible; reinstall the dependencies with \`npm ci\` (package.json pins libdeflate ${LIBDEFLATE_VERSION}).`,
      details: { level, found, expected: expected ?? null, pinned: LIBDEFLATE_VERSION },
    },
  );
}

const verified = new Set<number>();

/**
 * verifyKnownAnswer for this thread's engine, once per level (then free). A native library that
 * fails it is dropped for the WebAssembly build, which must pass.
 */
export function assertPinnedDeflate(level: number): void {
  if (verified.has(level)) return;
  const n = nativeEngine();
  if (n !== null) {
    try {
      verifyKnownAnswer(level, n.raw);
    } catch {
      native = null;
    }
  }
  if (native === null) verifyKnownAnswer(level, wasmDeflateRaw);
  verified.add(level);
}
