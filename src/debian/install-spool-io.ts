// Errors and file access of the install spool (install-spool.ts).
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { cacheNotWritableHint, isDeniedCode } from '../store/atomic-file.js';
import type { SpoolStats } from './install-spool-types.js';

/** The pack holds fewer bytes of a body than recorded: the spool changed under the build. */
export function missing(what: string, expected: number, found: number): ImprintError {
  return new ImprintError('SIZE_MISMATCH', `spool pack holds ${found} of the ${expected} bytes of ${what}`, {
    hint: 'The spool directory was changed during the build; build again.',
    details: { expected, found },
  });
}

/** Spooled bodies up to this size are read whole, synchronously (larger ones stream). */
const WHOLE_READ_MAX = 16 * 1024 * 1024;

/** Opens a spooled body, refusing a file whose size is not the recorded one (SIZE_MISMATCH). */
export async function openSpooled(path: string, size: number, what: string): Promise<Readable> {
  if (size <= WHOLE_READ_MAX) {
    // Read whole, synchronously (the body was just written and sits in the page cache): no stream
    // and no round trips through the thread pool per body, which the layer writer would wait for.
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw ioError(`cannot open the spooled content of ${what} (${path})`, err);
    }
    try {
      const found = fstatSync(fd).size;
      if (found !== size) throw spooledSizeError(path, what, size, found);
      const buf = Buffer.allocUnsafe(size);
      const have = readFullySync(fd, buf, 0);
      if (have !== size) throw missing(what, size, have);
      return Readable.from([buf]);
    } catch (err) {
      throw isImprintError(err) ? err : ioError(`reading the spooled content of ${what} (${path})`, err);
    } finally {
      closeSync(fd);
    }
  }
  const fh = await open(path, 'r').catch((err: unknown) => {
    throw ioError(`cannot open the spooled content of ${what} (${path})`, err);
  });
  const st = await fh.stat();
  if (st.size !== size) {
    await fh.close();
    throw spooledSizeError(path, what, size, st.size);
  }
  return fh.createReadStream({ highWaterMark: 256 * 1024 });
}

/**
 * Bytes [start, end) of a spooled body file of `size` bytes, read in place (a reader of an ELF
 * header needs a few KiB of a 7 MB library, not all of it); undefined when the file is not as
 * recorded or cannot be read, so the caller falls back to the stream, which reports why.
 */
export function readSpooledRange(
  ref: { path: string; size: number },
  start: number,
  end: number,
): Buffer | undefined {
  if (start < 0 || end > ref.size || start > end) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(ref.path, 'r');
    if (fstatSync(fd).size !== ref.size) return undefined;
    const buf = Buffer.allocUnsafe(end - start);
    return readFullySync(fd, buf, start) === buf.length ? buf : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A spooled file of another size than recorded: the spool changed under the build. */
function spooledSizeError(path: string, what: string, expected: number, found: number): ImprintError {
  return new ImprintError(
    'SIZE_MISMATCH',
    `spooled content of ${what} is ${found} bytes, expected ${expected} (${path})`,
    {
      hint: 'The spool directory was changed during the build; build again.',
      details: { path, expected, found },
    },
  );
}

/**
 * Fills `buf` from `fd` at `position` with synchronous reads; returns the bytes read (fewer only at
 * end of file). For spooled bodies, which were just written and sit in the page cache: a round trip
 * through the thread pool per body costs the layer writer more than the copy.
 */
export function readFullySync(fd: number, buf: Buffer, position: number): number {
  let have = 0;
  while (have < buf.length) {
    const n = readSync(fd, buf, have, buf.length - have, position + have);
    if (n === 0) break;
    have += n;
  }
  return have;
}

/** A body that yielded another size than its header's. */
export function sizeError(what: string, expected: number, found: number): ImprintError {
  return new ImprintError(
    'TAR_INVALID',
    `${what}: body yielded ${found} bytes, its header says ${expected}`,
    {
      details: { entry: what, expected, found },
    },
  );
}

/** An I/O failure of the spool, with its cause. */
export function ioError(why: string, err: unknown): ImprintError {
  const where = 'The spool is in the cache directory (unpacked files wait there for the layer)';
  return new ImprintError('IO', `${why}: ${errorText(err)}`, {
    cause: err,
    hint: isDeniedCode((err as NodeJS.ErrnoException | undefined)?.code)
      ? cacheNotWritableHint(where)
      : `${where}: free space there, or pass --cache-dir DIR on a larger file system.`,
  });
}

/** Reads `body` into `buf` at `offset`: exactly `size` bytes, else TAR_INVALID naming `what`. */
export async function readExactly(
  body: AsyncIterable<Buffer>,
  buf: Buffer,
  offset: number,
  size: number,
  what: string,
): Promise<Buffer> {
  let have = 0;
  for await (const chunk of body) {
    if (have + chunk.length > size) throw sizeError(what, size, have + chunk.length);
    chunk.copy(buf, offset + have);
    have += chunk.length;
  }
  if (have !== size) throw sizeError(what, size, have);
  return buf;
}

/**
 * Writes `body` (exactly `size` bytes, else TAR_INVALID naming `what`) to a new file at `path` and
 * returns its sha256 (hex); I/O errors name the spool directory `dir`. The caller removes the file
 * when this fails.
 */
export async function writeBodyFile(
  body: AsyncIterable<Buffer>,
  path: string,
  size: number,
  what: string,
  dir: string,
): Promise<string> {
  const hash = createHash('sha256');
  let have = 0;
  const fh = await open(path, 'wx', 0o644).catch((err: unknown) => {
    throw ioError(`cannot create a spool file in ${dir}`, err);
  });
  try {
    for await (const chunk of body) {
      have += chunk.length;
      if (have > size) throw sizeError(what, size, have);
      hash.update(chunk);
      let off = 0;
      try {
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      } catch (err) {
        throw ioError(`writing the build spool in ${dir}`, err);
      }
    }
  } finally {
    await fh.close();
  }
  if (have !== size) throw sizeError(what, size, have);
  return hash.digest('hex');
}

/** How a spool opener names its file: the package, then the path when there is one. */
export function fileLabel(what: string, path: string | undefined): string {
  return path === undefined ? what : `${what}: /${path}`;
}

/** Adds `n` to one counter of the spool's stats and of the caller's tally. */
export function count(
  stats: SpoolStats,
  tally: SpoolStats | undefined,
  key: keyof SpoolStats,
  n: number,
): void {
  stats[key] += n;
  if (tally !== undefined) tally[key] += n;
}
