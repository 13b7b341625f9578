import { errorText, ImprintError } from '../errors.js';

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
  // A closed pipe (`imprint ... | head`) ends output quietly instead of crashing with EPIPE.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
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
      t.err.write(`  caused by: ${cause.message}\n`);
      cause = (cause as Error).cause;
    }
    if (err.hint) t.err.write(`  hint: ${err.hint}\n`);
    return err.code === 'USAGE' ? EXIT_USAGE : EXIT_FAILURE;
  }
  t.err.write(`${red(t, 'internal error')}: ${errorText(err)}\n`);
  if (err instanceof Error && err.stack) t.err.write(`${dim(t, err.stack)}\n`);
  t.err.write('  hint: this is a bug in imprint; please report it with the command you ran.\n');
  return EXIT_FAILURE;
}
