import { performance } from 'node:perf_hooks';
import { errorText, ImprintError } from '../errors.js';
import { describeHolder, formatWait, type LockHolder } from '../store/file-lock.js';

/** Exit codes: 0 success, 1 a failure the user can fix, 2 a usage error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** How the CLI talks: colour and progress only on a TTY, never when NO_COLOR is set. */
export interface Terminal {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  color: boolean;
  tty: boolean;
}

/** The terminal of this process. */
export function processTerminal(env: NodeJS.ProcessEnv): Terminal {
  // A closed pipe (`imprint ... | head`) ends output quietly instead of crashing with EPIPE; any
  // other failure to write (a full disk behind > file, /dev/full) fails the run without a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') return;
      process.exitCode = EXIT_FAILURE;
      if (stream === process.stdout) process.stderr.write(`error: cannot write the output: ${err.message}\n`);
    });
  }
  const tty = Boolean(process.stderr.isTTY);
  return {
    out: process.stdout,
    err: process.stderr,
    tty,
    color: tty && env.NO_COLOR === undefined && env.TERM !== 'dumb',
  };
}

/** Bold red (or plain) text. */
export function red(t: Terminal, s: string): string {
  return t.color ? `\x1b[1;31m${s}\x1b[0m` : s;
}

/** Dim (or plain) text. */
export function dim(t: Terminal, s: string): string {
  return t.color ? `\x1b[2m${s}\x1b[0m` : s;
}

/** Prints an error as one paragraph: what happened, then the hint; returns the exit code for it. */
export function reportError(t: Terminal, err: unknown): number {
  if (err instanceof ImprintError) {
    t.err.write(`${red(t, 'error')}: ${err.message}\n`);
    let cause = err.cause;
    while (cause !== undefined && cause !== null) {
      if (cause instanceof ImprintError || !(cause instanceof Error)) break;
      // A cause the message already quotes (`writing X: ENOSPC: ...`) is not printed again.
      if (!err.message.includes(cause.message)) t.err.write(`  caused by: ${cause.message}\n`);
      cause = (cause as Error).cause;
    }
    if (err.hint) t.err.write(`  hint: ${err.hint}\n`);
    return err.code === 'USAGE' ? EXIT_USAGE : EXIT_FAILURE;
  }
  if ((err as NodeJS.ErrnoException | undefined)?.syscall === 'uv_cwd') {
    t.err.write(`${red(t, 'error')}: the current directory no longer exists (${errorText(err)})\n`);
    t.err.write('  hint: cd to an existing directory, or pass the spec and paths as absolute paths.\n');
    return EXIT_FAILURE;
  }
  t.err.write(`${red(t, 'internal error')}: ${errorText(err)}\n`);
  if (err instanceof Error && err.stack) t.err.write(`${dim(t, err.stack)}\n`);
  t.err.write('  hint: this is a bug in imprint; please report it with the command you ran.\n');
  return EXIT_FAILURE;
}

/** Counts and bytes of a transfer, as the fetcher reports them. */
export interface Progress {
  done: number;
  total: number;
  bytes: number;
  totalBytes: number;
}

/** A one-line progress bar on stderr: count, bytes, rate; redrawn at most ten times a second. */
export function progressBar(t: Terminal): { update: (p: Progress) => void; clear: () => void } {
  const start = performance.now();
  let last = 0;
  let drawn = false;
  const update = (p: Progress): void => {
    const now = performance.now();
    if (now - last < 100 && p.done < p.total) return;
    last = now;
    const width = 24;
    const filled = p.totalBytes === 0 ? width : Math.min(width, Math.floor((p.bytes / p.totalBytes) * width));
    const seconds = (now - start) / 1000;
    const rate = seconds > 0 ? p.bytes / seconds : 0;
    const line = `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${p.done}/${p.total} packages  ${formatBytes(p.bytes)}/${formatBytes(p.totalBytes)}  ${formatBytes(rate)}/s`;
    t.err.write(`\r\x1b[K${dim(t, line)}`);
    drawn = true;
  };
  return {
    update,
    clear: () => {
      if (drawn) t.err.write('\r\x1b[K');
    },
  };
}

/** Bytes in decimal units with one decimal (e.g. "18.6 MB"). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** The version of the `--json` documents of build, inspect, verify and copy (README, "Machine-readable output"). */
export const JSON_SCHEMA_VERSION = 1;

/** Writes a command's `--json` document on stdout: `schemaVersion` first, two-space indented. */
export function writeJson(t: Terminal, doc: object): void {
  t.out.write(`${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...doc }, null, 2)}\n`);
}

/**
 * The `error` member of the `--json` document of a command that failed: the ImprintError's code,
 * message, hint and details (details only when they are plain JSON); INTERNAL for any other error.
 */
export function jsonError(err: unknown): Record<string, unknown> {
  if (!(err instanceof ImprintError)) return { code: 'INTERNAL', message: errorText(err) };
  let details: unknown;
  try {
    details = JSON.parse(JSON.stringify(err.details ?? {}));
  } catch {
    details = undefined; // a BigInt or a cycle: the message says it all
  }
  return {
    code: err.code,
    message: err.message,
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    ...(details === undefined || Object.keys(details as object).length === 0 ? {} : { details }),
  };
}

/** Prints, on stderr, who holds the lock of an OCI layout an output waits for, and what to do. */
export function lockWaitNotice(t: Terminal): (holder: LockHolder, timeoutMs: number) => void {
  return (holder, timeoutMs) =>
    t.err.write(
      `note: waiting for ${holder.file}: another imprint (${describeHolder(holder)}) is writing this layout; imprint waits for it up to ${formatWait(timeoutMs)}. If none is running (or it runs in another container that stopped), remove the lock file.\n`,
    );
}
