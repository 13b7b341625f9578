import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, close, constants, open as openFd, openSync, readFile, rmSync, unlink } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { makeOwnedTempDir } from '../store/temp-dirs.js';

// Starting the host's xz. Node forks its whole process to spawn one, which costs the calling thread
// ~5-10 ms at a build's memory size (the page tables are copied and every page is write-faulted back
// afterwards). So xz processes are started by a small `sh` helper, started once, that runs each xz
// with named pipes (in a private temporary directory) as its stdin and stdout; the calling thread
// only opens two FIFOs. Without `sh` or `mkfifo`, or if the helper dies, xz is spawned directly.

/** Bytes of xz's stderr kept for the error message. */
const MAX_STDERR = 4096;

/** How an xz process ended, and the start of what it wrote to stderr. */
export interface XzExit {
  code: number | null;
  signal: string | null;
  stderr: string;
}

/** A running xz: write the compressed input to `stdin`, read `stdout`; `exited` settles once it has ended. */
export interface XzProcess {
  stdin: Writable;
  stdout: Readable;
  exited: Promise<XzExit>;
  /** Stops xz (its streams are destroyed by the caller). */
  kill(): void;
}

/** A fixed environment: no XZ_OPT/XZ_DEFAULTS from the caller, untranslated messages. */
export const XZ_ENV = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' });

/** Starts `command args` directly (a fork of this process). */
export function spawnXz(command: string, args: readonly string[]): Promise<XzProcess> {
  const child = spawn(command, args, { env: XZ_ENV(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('latin1');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < MAX_STDERR) stderr += text.slice(0, MAX_STDERR - stderr.length);
  });
  const exited = new Promise<XzExit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  exited.catch(() => {}); // the caller awaits it
  return Promise.resolve({
    stdin: child.stdin,
    stdout: child.stdout,
    exited,
    kill: () => child.kill('SIGKILL'),
  });
}

// The helper reads job ids on stdin. For each it makes <id>.in and <id>.out, starts xz reading one
// and writing the other (stderr to <id>.err), prints "<id> started <pid>", and once xz has ended and
// <id>.out is closed, "<id> exit <status>". At the end of its input it signals its process group, so
// no xz outlives an interrupted build. The subshell opens <id>.out read-write first, so the
// reader never sees end-of-file before xz has written; xz blocks opening <id>.in until we open it.
const HELPER_SCRIPT = `
command -v mkfifo >/dev/null 2>&1 || exit 3
d=$1; shift
exec 3>&1
while IFS= read -r id; do
  if mkfifo -m 600 "$d/$id.in" "$d/$id.out" 2>/dev/null; then
    (
      exec 1<>"$d/$id.out" 2>"$d/$id.err"
      "$@" <"$d/$id.in" &
      echo "$id started $!" >&3
      wait $!
      s=$?
      exec 1>&-
      echo "$id exit $s" >&3
    ) &
  else
    echo "$id failed" >&3
  fi
done
trap '' TERM
kill -TERM 0 2>/dev/null
rm -rf "$d"
`;

interface Job {
  started: (pid: number | undefined) => void;
  exited: (status: number) => void;
}

/** One helper shell; `start()` runs an xz through it, or rejects when the helper cannot. */
export class XzHelper {
  readonly #dir: string;
  readonly #child: ChildProcess;
  readonly #jobs = new Map<number, Job>();
  #next = 0;
  #dead = false;

  /** Throws when there is no `sh` on PATH or no temporary directory (callers then spawn directly). */
  constructor(command: string, args: readonly string[]) {
    const sh = onPath('sh');
    if (sh === undefined) throw new Error('no sh on PATH');
    this.#dir = makeOwnedTempDir(tmpdir(), 'imprint-xz-');
    // Its own process group: once its input ends (this process exited, or was killed), it stops
    // every xz it started with one signal to the group, even those still waiting on a named pipe.
    this.#child = spawn(sh, ['-c', HELPER_SCRIPT, 'sh', this.#dir, command, ...args], {
      env: XZ_ENV(),
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
    });
    const child = this.#child;
    child.on('error', () => this.#die());
    child.on('exit', () => this.#die());
    child.stdin?.on('error', () => this.#die());
    createInterface({ input: child.stdout as Readable }).on('line', (line) => {
      const [id, what, value] = line.split(' ');
      const job = this.#jobs.get(Number(id));
      if (job === undefined) return;
      if (what === 'started') job.started(Number(value));
      else if (what === 'exit') {
        this.#jobs.delete(Number(id));
        this.#idle();
        job.exited(Number(value));
      } else {
        this.#jobs.delete(Number(id));
        this.#idle();
        job.started(undefined);
      }
    });
    this.#idle();
  }

  /** The private directory of its named pipes (removed when the helper exits). */
  get dir(): string {
    return this.#dir;
  }

  /** False once the helper has exited: callers spawn directly instead. */
  get alive(): boolean {
    return !this.#dead;
  }

  /** Starts one xz; rejects if the helper is gone or could not make the pipes. */
  async start(): Promise<XzProcess> {
    if (this.#dead) throw new Error('the xz helper has exited');
    const id = ++this.#next;
    const base = join(this.#dir, String(id));
    let exitedResolve!: (s: number) => void;
    const status = new Promise<number>((resolve) => (exitedResolve = resolve));
    const pid = await new Promise<number | undefined>((started) => {
      this.#jobs.set(id, { started, exited: exitedResolve });
      this.#busy();
      this.#child.stdin?.write(`${id}\n`);
    });
    if (pid === undefined || !Number.isSafeInteger(pid)) throw new Error('the xz helper could not start xz');
    // xz's stdout: the subshell holds it open, so no early end-of-file. Its stdin: opening blocks
    // (in the thread pool) until xz opens it; if xz never does (it failed to start), the exit status
    // arrives instead and opening the FIFO for reading ourselves releases that open.
    const outFd = openSync(`${base}.out`, constants.O_RDONLY | constants.O_NONBLOCK);
    const inFd = await new Promise<number>((resolve, reject) => {
      let released = false;
      status.then(() => {
        if (released) return;
        try {
          const fd = openSync(`${base}.in`, constants.O_RDONLY | constants.O_NONBLOCK);
          setTimeout(() => closeQuietly(fd), 1000).unref();
        } catch {
          // the open completed meanwhile
        }
      });
      openFd(`${base}.in`, 'w', (err, fd) => {
        released = true;
        if (err) reject(err);
        else resolve(fd);
      });
    }).catch((err: unknown) => {
      closeQuietly(outFd);
      throw err;
    });
    unlink(`${base}.in`, () => {});
    unlink(`${base}.out`, () => {});
    const stdin = new Socket({ fd: inFd, readable: false, writable: true });
    const stdout = new Socket({ fd: outFd, readable: true, writable: false });
    const exited = status.then(
      (code) =>
        new Promise<XzExit>((resolve) => {
          if (code < 0) {
            resolve({ code: null, signal: 'the xz helper exited', stderr: '' });
            return;
          }
          readFile(`${base}.err`, 'latin1', (_err, text) => {
            unlink(`${base}.err`, () => {});
            resolve({ code, signal: null, stderr: (text ?? '').slice(0, MAX_STDERR) });
          });
        }),
    );
    return {
      stdin,
      stdout,
      exited,
      kill: () => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      },
    };
  }

  /** While jobs run, the helper's pipes keep the process alive; idle, they do not. */
  #busy(): void {
    this.#child.ref();
    (this.#child.stdout as Socket | null)?.ref();
  }

  #idle(): void {
    if (this.#jobs.size > 0) return;
    this.#child.unref();
    (this.#child.stdout as Socket | null)?.unref();
    (this.#child.stdin as Socket | null)?.unref();
  }

  #die(): void {
    if (this.#dead) return;
    this.#dead = true;
    for (const [, job] of this.#jobs) {
      job.started(undefined);
      job.exited(-1);
    }
    this.#jobs.clear();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** The first executable `name` in XZ_ENV's PATH. */
function onPath(name: string): string | undefined {
  for (const dir of (XZ_ENV().PATH ?? '').split(':')) {
    if (!isAbsolute(dir)) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

function closeQuietly(fd: number): void {
  close(fd, () => {});
}
