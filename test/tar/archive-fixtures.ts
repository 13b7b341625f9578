// Test helpers that build tar bytes by hand (for hostile and foreign archives) and read archives back.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { encodeHeader, type HeaderInput } from '../../src/tar/header.js';
import { encodePax, type PaxRecord } from '../../src/tar/pax.js';
import { readTar } from '../../src/tar/reader.js';
import type { TarReadEntry, TarReadLimits } from '../../src/tar/types.js';

/** Defaults for a raw header: a regular file, mode 0644, owned by 0:0, mtime 0. */
export function header(fields: Partial<HeaderInput> & { name: string | Buffer }): Buffer {
  return encodeHeader({ mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, typeflag: '0', ...fields });
}

/** Body bytes padded with zeros to a whole number of blocks. */
export function padded(body: Buffer): Buffer {
  const pad = (512 - (body.length % 512)) % 512;
  return Buffer.concat([body, Buffer.alloc(pad)]);
}

/** A raw member: header (size taken from body) then padded body. */
export function member(
  fields: Partial<HeaderInput> & { name: string | Buffer },
  body: Buffer = Buffer.alloc(0),
): Buffer {
  return Buffer.concat([header({ size: body.length, ...fields }), padded(body)]);
}

/** A PAX 'x' (or 'g') header member holding `records`. */
export function paxMember(records: Record<string, string | Buffer>, typeflag: 'x' | 'g' = 'x'): Buffer {
  const list: PaxRecord[] = Object.entries(records).map(([key, v]) => ({
    key,
    value: Buffer.isBuffer(v) ? v : Buffer.from(v),
  }));
  return member({ name: 'PaxHeaders/x', typeflag }, encodePax(list));
}

/** The end-of-archive marker. */
export const END = Buffer.alloc(1024);

/** A Readable over `buf`, in chunks of `chunk` bytes (odd sizes exercise block reassembly). */
export function chunked(buf: Buffer, chunk = 4096): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts, { objectMode: false });
}

/** Everything a stream yields, concatenated (test sizes only). */
export async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

export type ReadBack = Omit<TarReadEntry, 'body' | 'chunks'> & { data: Buffer };

/** Reads a whole archive, collecting each body. */
export async function readAll(
  archive: Buffer | Readable,
  opts: { limits?: TarReadLimits; allowUnsafe?: boolean; chunk?: number } = {},
): Promise<ReadBack[]> {
  const src = Buffer.isBuffer(archive) ? chunked(archive, opts.chunk ?? 4096) : archive;
  const out: ReadBack[] = [];
  for await (const e of readTar(src, {
    archive: 'test.tar',
    limits: opts.limits,
    allowUnsafe: opts.allowUnsafe,
  })) {
    const { body, chunks: _chunks, ...rest } = e;
    out.push({ ...rest, data: await collect(body) });
  }
  return out;
}

/** Deterministic pseudo-random bytes (xorshift32), produced lazily; `produced` counts bytes handed out. */
export class RandomBytes {
  produced = 0;
  readonly #size: number;
  #state: number;

  constructor(size: number, seed: number) {
    this.#size = size;
    this.#state = seed >>> 0 || 1;
  }

  /** A fresh stream of all the bytes (call once per instance). */
  stream(chunk = 64 * 1024): Readable {
    const self = this;
    return Readable.from(
      (function* () {
        while (self.produced < self.#size) {
          const n = Math.min(chunk, self.#size - self.produced);
          const buf = Buffer.alloc(n);
          for (let i = 0; i < n; i += 4) {
            let x = self.#state;
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            self.#state = x >>> 0;
            const word = self.#state;
            for (let k = 0; k < 4 && i + k < n; k++) buf[i + k] = (word >>> (8 * k)) & 0xff;
          }
          self.produced += n;
          yield buf;
        }
      })(),
      { objectMode: false },
    );
  }
}

/** sha256 hex of everything a stream yields, without keeping it. */
export async function streamSha256(stream: AsyncIterable<unknown>): Promise<{ hex: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of stream) {
    const b = c as Buffer;
    h.update(b);
    size += b.length;
  }
  return { hex: h.digest('hex'), size };
}

/** Asserts a promise rejects with an ImprintError of `code`; returns the error for more checks. */
export async function rejectsWith(
  p: Promise<unknown>,
  code: string,
): Promise<{ code: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: string; details?: Record<string, unknown>; message?: string };
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`, { cause: err });
    return { code: e.code, details: e.details ?? {} };
  }
  throw new Error(`expected rejection with ${code}, but it resolved`);
}
