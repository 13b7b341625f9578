import { randomBytes } from 'node:crypto';
import { type FileHandle, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorText, ImprintError } from '../errors.js';
import { removeTempsOnInterrupt } from './interrupt-cleanup.js';
import { ownerTag, TEMP_PREFIX, tempLabel } from './temp-owner.js';

export { TEMP_PREFIX };

/**
 * A fresh, unpredictable temporary name in `dir` (same filesystem as the target, so rename is
 * atomic): `.tmp-[<hint>-]<owner>-<random>`, the owner being this process (see temp-owner.ts). The
 * file, once created, is removed if a signal ends the process before it is renamed or removed.
 */
export function tempPath(dir: string, hint = ''): string {
  removeTempsOnInterrupt(dir);
  const name = `${hint === '' ? TEMP_PREFIX : tempLabel(hint)}${ownerTag()}-${randomBytes(8).toString('hex')}`;
  return join(dir, name);
}

/** Bytes a file sink holds back while a write is in flight, before it waits for that write. */
const MAX_PENDING_BYTES = 1 << 20;

/** Bytes a syncing file sink writes between the data syncs it starts behind its writes. */
export const SYNC_EVERY_BYTES = 4 << 20;

export interface FileSinkOptions {
  /**
   * The caller fsyncs the file once it is written: start a data sync behind the writes every
   * SYNC_EVERY_BYTES, so the disk takes the bytes while later ones are still being made and the
   * final fsync waits only for the tail (a 20 MB layer's took ~15 ms after its last write).
   */
  syncing?: boolean;
}

/**
 * A pipeline sink that writes every chunk to an open file handle and leaves the handle open (for
 * fsync). Writes go behind the source: chunks that arrive while one write is in flight are written
 * together with the next `writev` (at most 1 MiB is held back), so a fast source costs a few system
 * calls instead of one per chunk. `onChunk` sees each chunk before it is written (to hash or count it
 * in the same pass); a throw there fails the pipeline. With `syncing`, data syncs run behind the
 * writes (see FileSinkOptions); the sink settles only once they have. (A
 * `FileHandle.createWriteStream` with `autoClose: false` would keep the handle referenced, so a later
 * `close()` would never settle.)
 */
export function fileSink(
  fh: FileHandle,
  onChunk?: (chunk: Uint8Array) => void,
  options: FileSinkOptions = {},
): (source: AsyncIterable<Uint8Array>) => Promise<void> {
  return async (source) => {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let inflight: Promise<void> | undefined;
    let busy = false;
    let unsynced = 0;
    let syncs: Promise<void> = Promise.resolve();
    const start = (): void => {
      const batch = pending;
      const bytes = pendingBytes;
      pending = [];
      pendingBytes = 0;
      busy = true;
      inflight = writeAll(fh, batch).finally(() => {
        busy = false;
      });
      unsynced += bytes;
      if (options.syncing === true && unsynced >= SYNC_EVERY_BYTES) {
        unsynced = 0;
        // One at a time, each after the writes before it; failures surface when awaited below.
        const written = inflight;
        syncs = syncs.then(() => written).then(() => fh.datasync());
        syncs.catch(() => undefined);
      }
      // Awaited below; this handler only keeps a failure from counting as unhandled meanwhile.
      inflight.catch(() => undefined);
    };
    try {
      for await (const chunk of source) {
        onChunk?.(chunk);
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (busy && pendingBytes < MAX_PENDING_BYTES) continue;
        if (busy) await inflight;
        start();
      }
      if (busy) await inflight;
      if (pending.length > 0) await writeAll(fh, pending);
      await syncs;
    } catch (err) {
      // Never leave a write or a sync running on a handle the caller is about to close.
      await inflight?.catch(() => undefined);
      await syncs.catch(() => undefined);
      throw err;
    }
  };
}

/** Writes `chunks` in order at the handle's position: one writev, then plain writes for any short write. */
async function writeAll(fh: FileHandle, chunks: Uint8Array[]): Promise<void> {
  let { bytesWritten } = await fh.writev(chunks);
  for (const chunk of chunks) {
    if (bytesWritten >= chunk.length) {
      bytesWritten -= chunk.length;
      continue;
    }
    let offset = bytesWritten;
    bytesWritten = 0;
    while (offset < chunk.length) {
      const r = await fh.write(chunk, offset, chunk.length - offset);
      offset += r.bytesWritten;
    }
  }
}

/**
 * Writes `data` (bytes, or a stream opened by a function) to `target` atomically: an exclusively
 * created temporary file beside it, fsync, chown `owner` (when given), chmod `mode`, rename. `mode`
 * null leaves the mode the file was created with: 0666 less the umask, as for any new file. On any
 * failure the temporary file is removed and `target` is left as it was. Cost: streams the content once.
 */
export async function writeFileAtomic(
  target: string,
  data: Uint8Array | (() => Readable | Promise<Readable>),
  mode: number | null = 0o644,
  owner?: { uid: number; gid: number },
): Promise<void> {
  const tmp = tempPath(dirname(target), basename(target));
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx', mode === null ? 0o666 : 0o600).catch((err: NodeJS.ErrnoException) => {
      throw createError(target, err);
    });
    if (typeof data === 'function') {
      await pipeline(await data(), fileSink(fh, undefined, { syncing: true }));
    } else {
      await fh.writeFile(data);
    }
    await fh.sync();
    // Only a privileged user may give a file away (or to a group it is not in): others keep their own.
    if (owner !== undefined)
      await fh.chown(owner.uid, owner.gid).catch((err: NodeJS.ErrnoException) => {
        if (!isDeniedCode(err.code)) throw err;
      });
    if (mode !== null) await fh.chmod(mode);
    await fh.close();
    fh = undefined;
    await rename(tmp, target);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    if (err instanceof ImprintError) throw err;
    const hint = fullHint(err, dirname(target));
    throw new ImprintError('IO', `writing ${target}: ${errorText(err)}`, {
      cause: err,
      ...(hint === undefined ? {} : { hint }),
      details: { file: target },
    });
  }
}

/**
 * writeFileAtomic for a file the user keeps beside their sources (a lock, its SHA256SUMS): a file
 * already at `target` keeps its permission bits and, where this user may set them, its owner and
 * group (a `sudo imprint lock` leaves the user's lock theirs), and a symbolic link there is written
 * through to its target; a new file gets 0666 less the umask, as an editor or a git checkout makes them.
 */
export async function replaceUserFile(target: string, data: Uint8Array): Promise<void> {
  // A symbolic link (a lock shared between specs) is written through, as editors do, not replaced.
  const file = await realpath(target).catch(() => target);
  const before = await stat(file).catch(() => undefined);
  if (before === undefined || !before.isFile()) return writeFileAtomic(file, data, null);
  return writeFileAtomic(file, data, before.mode & 0o777, { uid: before.uid, gid: before.gid });
}

/**
 * What to do about a write that failed because `dir`'s file system is full (ENOSPC) or the user's
 * quota is used up (EDQUOT); undefined for other failures.
 */
export function fullHint(err: unknown, dir: string): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return undefined;
  return `The file system holding ${dir} is ${code === 'ENOSPC' ? 'full' : 'over your quota'}: free space there, or name a directory on another file system.`;
}

/** True for an error code of a write this user may not make: permissions, a read-only mount. */
export function isDeniedCode(code: unknown): boolean {
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}

/**
 * What to do when a file under the cache directory cannot be written by this user (another user's
 * cache, a read-only one); `where` says where that file is ("That file is in the cache directory X").
 */
export function cacheNotWritableHint(where: string): string {
  return `${where}, and this user cannot write there (another user's cache, or a read-only one): pass --cache-dir DIR (or set IMPRINT_CACHE_DIR) to a directory you can write to.`;
}

/**
 * The IO error of a temporary file that could not be created beside `target`, saying why in words
 * (the directory is missing, not writable, read-only; the system error's code in `details.code`)
 * rather than naming the temporary file.
 */
function createError(target: string, err: NodeJS.ErrnoException): ImprintError {
  const dir = dirname(target);
  const why: Record<string, [string, string]> = {
    ENOENT: [
      `the directory ${dir} does not exist`,
      'Create the directory, or name a path in one that exists.',
    ],
    ENOTDIR: [`${dir} is not a directory`, 'Name a path whose parents are directories.'],
    EACCES: [`no permission to create a file in ${dir}`, 'Name a path in a directory you can write to.'],
    EPERM: [`no permission to create a file in ${dir}`, 'Name a path in a directory you can write to.'],
    EROFS: [`${dir} is on a read-only file system`, 'Name a path on a writable file system.'],
  };
  const known = err.code === undefined ? undefined : why[err.code];
  // A reason in words replaces the system error, whose message names the temporary file.
  if (known === undefined)
    return new ImprintError('IO', `writing ${target}: ${errorText(err)}`, {
      cause: err,
      details: { file: target },
    });
  return new ImprintError('IO', `writing ${target}: ${known[0]}`, {
    hint: known[1],
    details: { file: target, code: err.code },
  });
}
