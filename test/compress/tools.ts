// Runs the reference command-line codecs (gzip, xz, zstd) from tests, when installed.
import { spawn, spawnSync } from 'node:child_process';
import type { Readable } from 'node:stream';

const present = new Map<string, boolean>();

/** True when `tool` runs (`tool --version` exits 0). */
export function hasTool(tool: string): boolean {
  let ok = present.get(tool);
  if (ok === undefined) {
    ok = spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
    present.set(tool, ok);
  }
  return ok;
}

/** Runs `tool args`, feeding `input` on stdin, and resolves with its stdout; rejects on exit != 0. */
export function runTool(tool: string, args: string[], input: Buffer | Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.stdin.on('error', () => {
      // EPIPE when the tool exits early; its exit status reports the failure.
    });
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${tool} ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString()}`));
    });
    if (Buffer.isBuffer(input)) child.stdin.end(input);
    else input.pipe(child.stdin);
  });
}
