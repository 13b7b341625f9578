import {
  closeSync,
  constants,
  createReadStream,
  fstatSync,
  openSync,
  readFileSync,
  type Stats,
} from 'node:fs';
import { Readable } from 'node:stream';
import { ImprintError } from '../errors.js';
import type { ContentOpener } from '../vfs/node.js';

/**
 * What the walk saw of a source file. Every later read (the cache fingerprint, the layer) must find
 * the same file unchanged: a file edited in between would give a layer whose bytes its cache key does
 * not describe (a later build of the old content would reuse it). Host mtimes never reach the image;
 * here they only tell that the file changed.
 */
export interface SourceStamp {
  size: number;
  dev: number;
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** The stamp of a file's stat. */
export function stampOf(st: Stats): SourceStamp {
  return { size: st.size, dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

/**
 * A stamp as text: a file with the same key is the same unchanged file (one inode of one device, not
 * written since: a write moves its ctime).
 */
export function stampKey(stamp: SourceStamp): string {
  return `${stamp.dev}:${stamp.ino}:${stamp.size}:${stamp.mtimeMs}:${stamp.ctimeMs}`;
}

/** A source file the build read: its stampKey when listed and, when the image holds it, its sha256. */
export interface KnownSource {
  stamp: string;
  sha256?: string;
}

/** Files up to this size are read whole and synchronously (no stream, no 1 MiB buffer per file). */
const WHOLE_READ_MAX = 1 << 20;

/**
 * Opening flags of source files: a file swapped for a symlink after the walk (to /etc/shadow, say)
 * fails to open instead of being followed.
 */
const NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

/**
 * The content of the host file `host` as the walk saw it (`stamp`): read without following a symlink,
 * and checked against the stamp when opened and after the last byte. A change is IO naming `label`
 * (the files[] entry) and the file. Small files are read whole (`sync`); larger ones streamed.
 */
export function sourceContent(host: string, stamp: SourceStamp, label: string): ContentOpener {
  const small = stamp.size <= WHOLE_READ_MAX;
  return Object.assign(
    () =>
      small ? Readable.from([readWhole(host, stamp, label)]) : Readable.from(readStream(host, stamp, label)),
    // The stream opener reports a failed read (or a change) with the file's name.
    { sync: () => (small ? readQuietly(host, stamp, label) : undefined) },
  );
}

function readWhole(host: string, stamp: SourceStamp, label: string): Buffer {
  const fd = openSync(host, NO_FOLLOW);
  try {
    checkUnchanged(fd, host, stamp, label);
    const bytes = readFileSync(fd);
    if (bytes.length !== stamp.size) throw changed(host, stamp, label, `${bytes.length} bytes were read`);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function readQuietly(host: string, stamp: SourceStamp, label: string): Buffer | undefined {
  try {
    return readWhole(host, stamp, label);
  } catch {
    return undefined;
  }
}

async function* readStream(host: string, stamp: SourceStamp, label: string): AsyncGenerator<Buffer> {
  const fd = openSync(host, NO_FOLLOW);
  try {
    checkUnchanged(fd, host, stamp, label);
    let read = 0;
    for await (const chunk of createReadStream('', { fd, autoClose: false, highWaterMark: 1 << 20 })) {
      read += (chunk as Buffer).length;
      if (read > stamp.size) throw changed(host, stamp, label, 'it grew while it was read');
      yield chunk as Buffer;
    }
    if (read !== stamp.size) throw changed(host, stamp, label, `${read} bytes were read`);
    checkUnchanged(fd, host, stamp, label);
  } finally {
    closeSync(fd);
  }
}

function checkUnchanged(fd: number, host: string, stamp: SourceStamp, label: string): void {
  const st = fstatSync(fd);
  if (!st.isFile()) throw changed(host, stamp, label, 'it is no longer a regular file');
  const now = stampOf(st);
  const what = (Object.keys(stamp) as (keyof SourceStamp)[]).filter((k) => now[k] !== stamp[k]);
  if (what.length > 0) throw changed(host, stamp, label, `its ${what.join(', ')} changed`);
}

function changed(host: string, stamp: SourceStamp, label: string, why: string): ImprintError {
  return new ImprintError(
    'IO',
    `${label}: ${host} changed during the build (a ${stamp.size}-byte file when the build listed it; ${why})`,
    {
      hint: 'Build again once nothing writes to the source: the image must hold the bytes its cache key and provenance describe.',
      details: { path: host, size: stamp.size },
    },
  );
}
