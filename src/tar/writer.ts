// Deterministic streaming tar writer: entries in the given order, bodies streamed, two zero blocks at the end.
import { Readable } from 'node:stream';
import { errorText, ImprintError } from '../errors.js';
import { encodeEntryHeaders, padding } from './entry-header.js';
import { BLOCK_SIZE } from './header.js';
import type { TarWriteEntry } from './types.js';

const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK_SIZE);

/**
 * A tar stream of `entries`, written in the order given (the caller sorts). Each entry is validated
 * (see encodeEntryHeaders); file bodies are opened one at a time, streamed with backpressure and must
 * yield exactly `size` bytes (TAR_INVALID otherwise). Ends with exactly two zero blocks, no record
 * padding. `what` names the archive in errors. Memory: one body chunk at a time.
 */
export function tarStream(
  entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>,
  opts: { what?: string } = {},
): Readable {
  return Readable.from(tarChunks(entries, opts.what ?? 'tar stream'), { objectMode: false });
}

/** The archive as an async sequence of buffers; tarStream wraps it in a Readable. */
export async function* tarChunks(
  entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>,
  what: string,
): AsyncGenerator<Buffer> {
  for await (const part of tarParts(entries, what)) if (Buffer.isBuffer(part)) yield part;
}

/** Where a file's body (with its padding) begins or ends in tarParts' sequence. */
export interface TarBodyMark {
  body: 'start' | 'end';
  entry: TarWriteEntry;
}

/** How tarParts groups its output. */
export interface TarPartsOptions {
  /**
   * Marks only bodies of at least this many bytes (default 0: every file body). The bytes between
   * marks (headers, smaller bodies held in memory, padding) come in buffers of up to ~128 KiB instead
   * of one per header, body and padding: the same bytes, in far fewer parts.
   */
  marksFrom?: number;
}

/** Bytes gathered between marks before they are yielded. */
const GATHER = 128 * 1024;
/** Padding to a block boundary is at most this many zero bytes. */
const ZEROS = Buffer.alloc(BLOCK_SIZE);

/**
 * The archive's bytes as tarChunks yields them, with a mark before and after each file body (its
 * bytes and zero padding) of at least `marksFrom` bytes, for writers that treat large bodies specially
 * (the gzip layer writer).
 */
export async function* tarParts(
  entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>,
  what: string,
  options: TarPartsOptions = {},
): AsyncGenerator<Buffer | TarBodyMark> {
  const marksFrom = options.marksFrom ?? 0;
  const gathered: Buffer[] = [];
  let gatheredBytes = 0;
  const gather = (b: Buffer): void => {
    gathered.push(b);
    gatheredBytes += b.length;
  };
  const take = (): Buffer => {
    const b = gathered.length === 1 ? (gathered[0] as Buffer) : Buffer.concat(gathered, gatheredBytes);
    gathered.length = 0;
    gatheredBytes = 0;
    return b;
  };
  for await (const entry of entries) {
    gather(encodeEntryHeaders(entry, what));
    if (entry.type === 'file') {
      const marked = entry.size >= marksFrom;
      const whole = marked ? undefined : bodyNow(entry);
      if (whole !== undefined) {
        checkWhole(entry, whole, what);
        if (whole.length > 0) gather(whole);
        const pad = padding(entry.size);
        if (pad > 0) gather(ZEROS.subarray(0, pad));
      } else {
        if (gatheredBytes > 0) yield take();
        if (marked) yield { body: 'start', entry };
        yield* bodyChunks(entry, what);
        if (marked) yield { body: 'end', entry };
      }
    } else if (entry.body !== undefined)
      throw entryError(what, entry.path, `a ${entry.type} entry has no body`);
    if (gatheredBytes >= GATHER) yield take();
  }
  gather(END_OF_ARCHIVE);
  yield take();
}

/**
 * An entry's body bytes without a stream, when they are at hand: from its `bodySync`, else from its
 * `body`'s own `sync` (a layer's entries take that from the tree's openers, and make no function a file).
 */
export function bodyNow(entry: TarWriteEntry): Buffer | undefined {
  return entry.bodySync !== undefined ? entry.bodySync() : entry.body?.sync?.();
}

/** A body read whole must have the declared size. */
function checkWhole(entry: TarWriteEntry, whole: Buffer, what: string): void {
  if (whole.length !== entry.size) {
    throw entryError(what, entry.path, `body has ${whole.length} bytes, declared size is ${entry.size}`, {
      expected: entry.size,
      found: whole.length,
    });
  }
}

async function* bodyChunks(entry: TarWriteEntry, what: string): AsyncGenerator<Buffer> {
  if (entry.body === undefined) {
    if (entry.size === 0) return;
    throw entryError(what, entry.path, `file has size ${entry.size} but no body`);
  }
  const whole = bodyNow(entry);
  if (whole !== undefined) {
    checkWhole(entry, whole, what);
    if (whole.length > 0) yield whole;
    const pad = padding(entry.size);
    if (pad > 0) yield ZEROS.subarray(0, pad);
    return;
  }
  let stream: Readable;
  try {
    stream = await entry.body();
  } catch (err) {
    if (err instanceof ImprintError) throw err;
    throw new ImprintError(
      'IO',
      `${what}: entry ${JSON.stringify(entry.path)}: cannot open body: ${errorText(err)}`,
      {
        cause: err,
        details: { archive: what, entry: entry.path },
      },
    );
  }
  let written = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string | Uint8Array>) {
      const buf =
        typeof chunk === 'string'
          ? Buffer.from(chunk, 'utf8')
          : Buffer.isBuffer(chunk)
            ? chunk
            : Buffer.from(chunk);
      written += buf.length;
      if (written > entry.size) {
        throw entryError(what, entry.path, `body yielded more than the declared size ${entry.size} bytes`, {
          expected: entry.size,
        });
      }
      if (buf.length > 0) yield buf;
    }
  } catch (err) {
    if (err instanceof ImprintError) throw err;
    throw new ImprintError(
      'IO',
      `${what}: entry ${JSON.stringify(entry.path)}: reading body failed: ${errorText(err)}`,
      {
        cause: err,
        details: { archive: what, entry: entry.path },
      },
    );
  } finally {
    if (typeof stream.destroy === 'function' && !stream.destroyed) stream.destroy();
  }
  if (written !== entry.size) {
    throw entryError(what, entry.path, `body yielded ${written} bytes, declared size is ${entry.size}`, {
      expected: entry.size,
      found: written,
    });
  }
  const pad = padding(entry.size);
  if (pad > 0) yield ZEROS.subarray(0, pad);
}

function entryError(
  what: string,
  entry: string,
  why: string,
  extra: Record<string, unknown> = {},
): ImprintError {
  return new ImprintError('TAR_INVALID', `${what}: entry ${JSON.stringify(entry)}: ${why}`, {
    details: { archive: what, entry, ...extra },
  });
}
