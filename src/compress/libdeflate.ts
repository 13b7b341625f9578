import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { deflate } from 'libdeflate';
import { ImprintError } from '../errors.js';

// The deflate engine of imprint's gzip output: libdeflate (Eric Biggers' C library) compiled to
// WebAssembly, from the npm package `libdeflate` (libdeflate.js), pinned exactly in package.json. Its
// WebAssembly is integer-only (no SIMD, no floats, no threads: checked with wasm-objdump for 0.1.0),
// and WebAssembly integer semantics are the same on every engine and CPU, so the bytes depend only on
// the input, the level and this package version: never on the CPU, the Node version or the heap
// state. A known-answer check per level (assertPinnedDeflate) catches any other build in
// node_modules before its first use. This module is also loaded by deflate-worker.ts.

/** The exact version of the npm package `libdeflate` imprint pins (package.json; codecDescription). */
export const LIBDEFLATE_VERSION = '0.1.0';

/** The process-wide events whose handlers the package's Emscripten runtime installs when it loads. */
const HOOKED_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
let loaded = false;

/**
 * Raw deflate of `data` at `level` (1..12 in libdeflate; imprint uses 1..9), as one whole buffer:
 * the result is a fresh Uint8Array owning its buffer. Cost: ~45 MB/s at level 6, ~120 MB/s at level
 * 1, ~14 MB/s at level 9 per thread, plus a copy in and out of WebAssembly memory.
 */
export function libdeflateRaw(data: Uint8Array, level: number): Uint8Array {
  if (loaded) return deflate(data, level);
  // On first use the package instantiates its Emscripten module, which adds process-wide
  // 'uncaughtException' and 'unhandledRejection' handlers (the latter rethrows; together they change
  // how the CLI fails and its exit code). Remove exactly the handlers it added.
  const emitter: EventEmitter = process;
  const before = HOOKED_EVENTS.map((event) => new Set(emitter.listeners(event)));
  try {
    return deflate(data, level);
  } finally {
    loaded = true;
    HOOKED_EVENTS.forEach((event, i) => {
      for (const listener of emitter.listeners(event)) {
        if (!before[i]?.has(listener))
          emitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    });
  }
}

/**
 * sha256 of libdeflateRaw(knownAnswerProbe(), level) for levels 1..9 with libdeflate 0.1.0: the
 * engine's known answers. A different package version or build changes them.
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

/** verifyKnownAnswer for the installed engine, once per level per process (then free). */
export function assertPinnedDeflate(level: number): void {
  if (verified.has(level)) return;
  verifyKnownAnswer(level);
  verified.add(level);
}
