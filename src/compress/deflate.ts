import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import pako from 'pako';
import { ImprintError } from '../errors.js';
import { CODEC_CHUNK } from './inner-stream.js';

// imprint's deflate output is defined as what canonical zlib (Mark Adler's) produces with
// windowBits 15, memLevel 8, the default strategy and no flushes; pako is a faithful port of it
// (equal to the system's zlib 1.2.13 on the test corpus at levels 1, 6 and 9). Node's bundled zlib
// is Chromium's fork, which hashes with CRC32C when the CPU has SSE4.2 or ARMv8 CRC: its output
// then differs from canonical zlib and depends on the CPU, and distribution builds of Node link the
// system zlib instead. So Node's zlib is used only after a self-check shows it produces canonical
// bytes here; otherwise pako (pure JavaScript, the same bytes everywhere, slower) does the work.

/** The pinned raw-deflate parameters; recorded in codecDescription. */
export const DEFLATE_PARAMS = { memLevel: 8, windowBits: 15, strategy: 'default' } as const;

/** Which implementation produces the canonical deflate bytes. */
export type DeflateEngine = 'node-zlib' | 'pako';

const verdicts = new Map<number, boolean>();

/** Deterministic probe input: text with repeats at many distances, runs, and noise. */
function probeInput(): Buffer {
  const words = 'layer image digest manifest config tar gzip zstd index blob store debian package'.split(' ');
  let s = 0x2545f491;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const parts: string[] = [];
  for (let i = 0; i < 6000; i++) {
    const r = next();
    parts.push(
      r % 7 === 0 ? (r >>> 4).toString(16) : (words[r % words.length] as string),
      r % 11 === 0 ? '\n' : ' ',
    );
  }
  const text = Buffer.from(parts.join(''));
  const noise = Buffer.alloc(8192);
  for (let i = 0; i < noise.length; i++) noise[i] = next() & 0xff;
  return Buffer.concat([text, Buffer.alloc(3000, 0x20), noise, text.subarray(0, 20000)]);
}

let probe: Buffer | undefined;

/**
 * True when Node's zlib produces canonical deflate bytes at `level` on this host, checked once per
 * level per process by compressing a ~70 KB probe both ways (~20 ms).
 */
export function nativeDeflateIsCanonical(level: number): boolean {
  let verdict = verdicts.get(level);
  if (verdict === undefined) {
    probe ??= probeInput();
    const native = zlib.deflateRawSync(probe, nativeOptions(level));
    const reference = pako.deflateRaw(probe, pakoOptions(level));
    verdict = native.equals(reference);
    verdicts.set(level, verdict);
  }
  return verdict;
}

/** The engine createDeflateRaw uses at `level` on this host. */
export function deflateEngine(level: number): DeflateEngine {
  return nativeDeflateIsCanonical(level) ? 'node-zlib' : 'pako';
}

function nativeOptions(level: number): zlib.ZlibOptions {
  return {
    level,
    memLevel: DEFLATE_PARAMS.memLevel,
    windowBits: DEFLATE_PARAMS.windowBits,
    strategy: zlib.constants.Z_DEFAULT_STRATEGY,
    chunkSize: CODEC_CHUNK,
  };
}

function pakoOptions(level: number): pako.DeflateFunctionOptions {
  return {
    level: level as pako.DeflateFunctionOptions['level'],
    windowBits: DEFLATE_PARAMS.windowBits,
    memLevel: DEFLATE_PARAMS.memLevel as pako.DeflateFunctionOptions['memLevel'],
    strategy: 0,
    raw: true,
  };
}

/** Raw deflate with pako, as a Transform; output chunks are freshly allocated by pako. */
class PakoDeflateRaw extends Transform {
  readonly #deflate: pako.Deflate;
  #out: Uint8Array[] = [];

  constructor(level: number) {
    super({ readableHighWaterMark: CODEC_CHUNK, writableHighWaterMark: CODEC_CHUNK });
    this.#deflate = new pako.Deflate({ ...pakoOptions(level), chunkSize: 256 * 1024 });
    this.#deflate.onData = (chunk) => {
      this.#out.push(chunk as Uint8Array);
    };
  }

  #run(data: Uint8Array, final: boolean, callback: TransformCallback): void {
    if (!this.#deflate.push(data, final)) {
      callback(
        new ImprintError(
          'INTERNAL',
          `pako deflate failed: ${this.#deflate.msg || `error ${this.#deflate.err}`}`,
        ),
      );
      return;
    }
    for (const chunk of this.#out) this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.#out = [];
    callback();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) callback();
    else this.#run(chunk, false, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#run(new Uint8Array(0), true, callback);
  }
}

/**
 * A raw-deflate Transform producing canonical zlib bytes at `level` with the pinned parameters,
 * whatever the chunking of the input. `engine` forces an implementation (tests, benchmarks).
 * Cost: CPU-bound; Node's zlib ~50 MB/s, pako ~15 MB/s at level 6.
 */
export function createDeflateRaw(level: number, engine: DeflateEngine = deflateEngine(level)): Transform {
  return engine === 'node-zlib' ? zlib.createDeflateRaw(nativeOptions(level)) : new PakoDeflateRaw(level);
}
