import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The project root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./imprint-cli.ts', import.meta.url));
/** tsx's loader by absolute URL, so children started in any directory find it. */
const TSX = import.meta.resolve('tsx');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Another node binary (cross-version tests). */
  node?: string;
  /** The umask the child runs under (default: inherited). */
  umask?: number;
  /** A command that wraps node, e.g. ['faketime', '-f', '+400d']. */
  wrapper?: string[];
  /** A module that runs the CLI instead of the sources through tsx (e.g. a bundle's runner). */
  script?: string;
  /** A shell command the child's stdout is piped into (`imprint ... | CMD`, a pipe as in a shell); its own output is collected. */
  pipeTo?: string;
}

/** Runs `imprint ARGS` in a child process (from source via tsx, or `script`) and collects its output. */
export function runImprint(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return startImprint(args, opts).result;
}

/**
 * Starts `imprint ARGS` like runImprint, returning the child (node itself: the shell execs it) to
 * signal, and its output and end (`signal` set when a signal ended it).
 */
export function startImprint(
  args: string[],
  opts: RunOptions = {},
): { child: ChildProcess; result: Promise<RunResult & { signal: NodeJS.Signals | null }> } {
  const node = opts.node ?? process.execPath;
  const entry = opts.script === undefined ? ['--import', TSX, ENTRY] : [opts.script];
  const argv = [...(opts.wrapper ?? []), node, ...entry, ...args];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, NODE_OPTIONS: '', ...opts.env }))
    if (v !== undefined) env[k] = v;
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn(
    'sh',
    [
      '-c',
      `${opts.umask === undefined ? '' : `umask ${opts.umask.toString(8).padStart(3, '0')};`} ${opts.pipeTo === undefined ? `exec ${quoted}` : `${quoted} | ${opts.pipeTo}`}`,
    ],
    { cwd: opts.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const result = new Promise<RunResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
  });
  return { child, result };
}

/** Throws with the child's output unless it exited 0. */
export function assertOk(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
