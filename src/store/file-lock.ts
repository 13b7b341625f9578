// An advisory lock between imprint processes: a file created exclusively, holding its owner's pid and
// host. Used where a read-modify-write of a shared file (an OCI layout's index.json) would otherwise
// lose a concurrent writer's update.
import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorText, ImprintError } from '../errors.js';
import { fullHint } from './atomic-file.js';

export interface FileLockOptions {
  /** Give up (IO, naming the lock file) after waiting this long; default 10 minutes. */
  timeoutMs?: number;
  /** What the lock guards, for the error message. */
  what?: string;
  /**
   * A lock not refreshed for this long is taken over (its holder was killed on another host or in
   * another container, or its pid now belongs to another process); default 60 s. The holder
   * refreshes its lock's mtime every staleMs / 6.
   */
  staleMs?: number;
  /** Told once, when the lock has been waited for `noticeAfterMs` (default 2 s), who holds it and how long it is waited for in all. */
  onWait?: (holder: LockHolder, timeoutMs: number) => void;
  noticeAfterMs?: number;
}

/** Who holds a lock file, as far as it says: the pid and host it names, and when it was created. */
export interface LockHolder {
  file: string;
  pid?: number;
  host?: string;
  since?: Date;
}

/** A holder in words: `pid 123 on host h, since 2024-01-01T10:00:00Z` (what the file says). */
export function describeHolder(holder: LockHolder): string {
  const who =
    holder.pid === undefined
      ? 'a writer that did not say who it is'
      : `pid ${holder.pid}${holder.host === undefined ? '' : ` on host ${holder.host}`}`;
  const since =
    holder.since === undefined ? '' : `, since ${holder.since.toISOString().replace(/\.\d+Z$/, 'Z')}`;
  return `${who}${since}`;
}

/**
 * Runs `fn` while holding the lock file `path` (created with O_EXCL, removed afterwards, also when
 * `fn` throws; its mtime refreshed while held). A lock left by a process of this host that no longer
 * runs, or not refreshed for `staleMs` (any host, an empty one too), is taken over; any other is
 * waited for, polling with a growing pause (25 ms to 500 ms).
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: FileLockOptions = {},
): Promise<T> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const staleMs = opts.staleMs ?? 60_000;
  let told = false;
  const me = `${process.pid} ${hostname()}\n`;
  for (let pause = 25; ; pause = Math.min(500, pause * 2)) {
    try {
      const fh = await open(path, 'wx', 0o644);
      try {
        await fh.writeFile(me);
      } catch (err) {
        // A lock without its owner (a full disk takes the pid's bytes) would hold every later
        // writer up until it is stale.
        await fh.close().catch(() => undefined);
        await unlink(path).catch(() => undefined);
        throw err;
      }
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        const hint = fullHint(err, dirname(path));
        throw new ImprintError('IO', `creating the lock file ${path}: ${errorText(err)}`, {
          cause: err,
          ...(hint === undefined ? {} : { hint }),
        });
      }
    }
    if (await isStale(path, staleMs)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    const waited = Date.now() - started;
    if (waited > timeoutMs) {
      const holder = await lockHolder(path);
      throw new ImprintError(
        'IO',
        `waited ${formatWait(timeoutMs)} for the lock file ${path}${opts.what ? ` (${opts.what})` : ''}, held by ${describeHolder(holder)}`,
        {
          hint: `Another imprint${holder.pid === undefined ? '' : ` (pid ${holder.pid})`} is writing there: let it finish, or stop it; if none is, remove ${path}.`,
          details: {
            ...holder,
            ...(holder.since === undefined ? {} : { since: holder.since.toISOString() }),
          },
        },
      );
    }
    if (!told && opts.onWait !== undefined && waited >= (opts.noticeAfterMs ?? 2_000)) {
      told = true;
      opts.onWait(await lockHolder(path), timeoutMs);
    }
    await sleep(pause);
  }
  const refresh = setInterval(
    () => {
      const now = new Date();
      utimes(path, now, now).catch(() => undefined);
    },
    Math.max(10, Math.floor(staleMs / 6)),
  );
  refresh.unref();
  try {
    return await fn();
  } finally {
    clearInterval(refresh);
    await unlink(path).catch(() => undefined);
  }
}

/** What the lock file says of its holder; only `file` when it is gone or unreadable. */
async function lockHolder(path: string): Promise<LockHolder> {
  const [text, st] = await Promise.all([
    readFile(path, 'utf8').catch(() => ''),
    stat(path).catch(() => undefined),
  ]);
  const m = /^([0-9]+) (.+)\n$/.exec(text);
  // birthtime is 0 where the file system does not record it.
  const since = st !== undefined && st.birthtimeMs > 0 ? st.birthtime : undefined;
  return {
    file: path,
    ...(m === null ? {} : { pid: Number(m[1]), host: m[2] as string }),
    ...(since === undefined ? {} : { since }),
  };
}

/** `10 minutes`, `1.5 seconds`. */
export function formatWait(ms: number): string {
  return ms >= 60_000 ? `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}` : `${ms / 1000} seconds`;
}

/** True when the lock has not been refreshed for `staleMs`, or names a process of this host that no longer exists. */
async function isStale(path: string, staleMs: number): Promise<boolean> {
  let text: string;
  try {
    const st = await stat(path);
    if (Date.now() - st.mtimeMs > staleMs) return true;
    text = await readFile(path, 'utf8');
  } catch {
    return false; // gone already: try again
  }
  const m = /^([0-9]+) (.+)\n$/.exec(text);
  if (m === null) return false; // being written, or not ours: wait until it is stale
  if (m[2] !== hostname()) return false;
  try {
    process.kill(Number(m[1]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
