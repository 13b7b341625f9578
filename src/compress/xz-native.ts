import { spawnSync } from 'node:child_process';
import { Transform, type TransformCallback } from 'node:stream';
import { isMainThread } from 'node:worker_threads';
import { errorText, ImprintError } from '../errors.js';
import { CODEC_CHUNK } from './inner-stream.js';
import type { DecompressionGuard } from './limits.js';
import { XzFeatureCheck } from './xz-features.js';
import { spawnXz, XZ_ENV, type XzExit, XzHelper, type XzProcess } from './xz-runner.js';

// xz decoding with the host's `xz` program (XZ Utils) in a child process, when there is one: about
// 1.7x faster than xz-embedded in WebAssembly, and the work leaves the calling thread. The bytes are
// the same (decoding is defined by the format). Memory: the child's dictionary (--memlimit-decompress
// refuses dictionaries over 64 MiB, as the WebAssembly decoder does) plus the pipes.

/** How to run the host's xz; found once per thread. */
export interface XzTool {
  command: string;
  version: string;
}

/** Compressed bytes written to xz per write: bounds the input it holds but may not have consumed yet. */
const WRITE_SLICE = 64 * 1024;
/**
 * xz writes 8 KiB at a time; its output is gathered into pieces of this size before they are pushed,
 * since every piece costs the consumer (tar parsing) a round through the stream machinery.
 */
const OUTPUT_PIECE = 256 * 1024;
/** 64 MiB dictionaries pass (xz needs ~65 MiB for them), 96 MiB ones (the next size) do not. */
const MEMLIMIT = '--memlimit-decompress=80MiB';
const XZ_ARGS = ['--decompress', '--stdout', '--format=xz', '--threads=1', MEMLIMIT];

let probed: XzTool | null | undefined;

/**
 * The host's `xz` if it is XZ Utils 5.2 or later (found on PATH), else undefined. Runs `xz --version`
 * once per thread (~5 ms) and caches the answer.
 */
export function findXzTool(): XzTool | undefined {
  if (probed === undefined) {
    probed = null;
    try {
      const r = spawnSync('xz', ['--version'], {
        env: XZ_ENV(),
        encoding: 'latin1',
        timeout: 10_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const m = /^xz \(XZ Utils\) ([0-9]+)\.([0-9]+)\S*/m.exec(r.stdout ?? '');
      const major = Number(m?.[1]);
      const minor = Number(m?.[2]);
      if (r.status === 0 && m !== null && (major > 5 || (major === 5 && minor >= 2)))
        probed = { command: 'xz', version: m[0] };
    } catch {
      // no usable xz: the WebAssembly decoder takes over
    }
  }
  return probed ?? undefined;
}

let helper: XzHelper | null | undefined;

/** The helper shell for `tool` (started on first use), or null where it cannot run. */
function xzHelper(tool: XzTool): XzHelper | null {
  // Not in worker threads: Node closes the raw descriptors a worker opened when it exits, by number,
  // and the helper's pipes are closed by their sockets, so those numbers may belong to others by then.
  if (!isMainThread) return null;
  if (helper === undefined) {
    try {
      helper = new XzHelper(tool.command, XZ_ARGS);
    } catch {
      helper = null;
    }
  }
  return helper?.alive ? helper : null;
}

/** Starts `tool` through this thread's helper shell, else directly. */
function startXz(tool: XzTool): Promise<XzProcess> {
  const h = xzHelper(tool);
  if (h === null) return spawnXz(tool.command, XZ_ARGS);
  return h.start().catch(() => spawnXz(tool.command, XZ_ARGS));
}

/**
 * Streaming xz decoder running `xz --decompress` (a Transform; see decompressStream). Same results
 * as XzDecoder: COMPRESSION_INVALID for corrupt, truncated, empty or non-xz input and trailing
 * garbage, COMPRESSION_UNSUPPORTED for what the WebAssembly decoder lacks (XzFeatureCheck),
 * DECOMPRESSION_BOMB from the guard, counting as input what was written to xz. Backpressure: xz's
 * output is paused while this stream's readable side is full, which stops xz reading its input.
 * Cost: one xz process per stream, started by a helper shell (xz-runner.ts): well under 1 ms of the
 * calling thread; ~60 MB/s of output here, in the child.
 */
export class NativeXzDecoder extends Transform {
  readonly #what: string;
  readonly #guard: DecompressionGuard;
  readonly #features: XzFeatureCheck;
  readonly #starting: Promise<XzProcess>;
  #proc: XzProcess | undefined;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #outputEnded = false;
  #exit: XzExit | undefined;
  #flushCallback: TransformCallback | undefined;

  constructor(tool: XzTool, what: string, guard: DecompressionGuard) {
    super({ readableHighWaterMark: CODEC_CHUNK, writableHighWaterMark: CODEC_CHUNK });
    this.#what = what;
    this.#guard = guard;
    this.#features = new XzFeatureCheck(what);
    this.#starting = startXz(tool);
    this.#starting.then(
      (proc) => this.#attach(proc),
      (err: unknown) =>
        this.destroy(
          new ImprintError('IO', `${this.#what}: cannot run xz: ${errorText(err)}`, {
            cause: err,
            details: { what: this.#what, codec: 'xz' },
          }),
        ),
    );
  }

  #attach(proc: XzProcess): void {
    this.#proc = proc;
    if (this.destroyed) {
      this.#stop(proc);
      return;
    }
    proc.stdout.on('data', (chunk: Buffer) => {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes >= OUTPUT_PIECE) this.#emit();
    });
    proc.stdout.on('end', () => {
      this.#outputEnded = true;
      this.#settle();
    });
    proc.stdout.on('error', () => {
      // reported through the exit status
    });
    proc.stdin.on('error', () => {
      // EPIPE when xz stops early on bad input: its exit status and message say why.
    });
    proc.exited.then(
      (exit) => {
        this.#exit = exit;
        this.#settle();
      },
      (err: unknown) =>
        this.destroy(
          new ImprintError('IO', `${this.#what}: cannot run xz: ${errorText(err)}`, {
            cause: err,
            details: { what: this.#what, codec: 'xz' },
          }),
        ),
    );
  }

  /** Pushes the gathered output as one piece, after the guard has seen it. */
  #emit(): void {
    if (this.destroyed || this.#pendingBytes === 0) return;
    const piece =
      this.#pending.length === 1
        ? (this.#pending[0] as Buffer)
        : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    try {
      this.#guard.output(piece.length);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    if (!this.push(piece)) this.#proc?.stdout.pause();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.#features.admit(chunk, callback)) return;
    if (this.#proc !== undefined) this.#write(this.#proc, chunk, 0, callback);
    else
      this.#starting.then(
        (proc) => this.#write(proc, chunk, 0, callback),
        () => {},
      );
  }

  /** Writes `chunk` from `from` in slices, each once xz has taken the one before. */
  #write(proc: XzProcess, chunk: Buffer, from: number, callback: TransformCallback): void {
    if (this.destroyed || this.#exit !== undefined) return; // the exit reports the failure
    const to = Math.min(chunk.length, from + WRITE_SLICE);
    this.#guard.input(to - from);
    proc.stdin.write(chunk.subarray(from, to), (err) => {
      if (err) return; // xz went away: its exit reports why
      if (to < chunk.length) this.#write(proc, chunk, to, callback);
      else callback();
    });
  }

  override _flush(callback: TransformCallback): void {
    this.#flushCallback = callback;
    this.#starting.then(
      (proc) => {
        proc.stdin.end();
        this.#settle();
      },
      () => {},
    );
  }

  override _read(size: number): void {
    if (this.#proc?.stdout.isPaused()) this.#proc.stdout.resume();
    super._read(size);
  }

  /** Once xz has exited and its output is drained: ends the stream or fails it. */
  #settle(): void {
    const exit = this.#exit;
    if (exit === undefined || this.destroyed) return;
    if (exit.code !== 0) {
      this.destroy(this.#failure(exit));
      return;
    }
    if (!this.#outputEnded) return;
    this.#emit();
    if (this.destroyed) return;
    const callback = this.#flushCallback;
    this.#flushCallback = undefined;
    if (callback !== undefined) callback();
    else this.destroy(new ImprintError('INTERNAL', `${this.#what}: xz exited before the end of its input`));
  }

  #failure(exit: XzExit): ImprintError {
    if (exit.code === null) {
      return new ImprintError('INTERNAL', `${this.#what}: xz was stopped (${exit.signal ?? 'a signal'})`, {
        details: { what: this.#what, codec: 'xz', signal: exit.signal },
      });
    }
    // "xz: (stdin): Compressed data is corrupt": the first line that names the input says what.
    const lines = exit.stderr.split('\n');
    const line = lines.find((l) => l.includes('(stdin): ')) ?? lines[0];
    const found = (line ?? '').replace(/^.*\(stdin\): /, '').trim() || `exit status ${exit.code}`;
    const unsupported = /unsupported|memory usage limit/i.test(found);
    return new ImprintError(
      unsupported ? 'COMPRESSION_UNSUPPORTED' : 'COMPRESSION_INVALID',
      `${this.#what}: expected a valid xz stream, found ${found.charAt(0).toLowerCase()}${found.slice(1)}`,
      { details: { what: this.#what, codec: 'xz', decoder: 'xz', exitCode: exit.code, stderr: found } },
    );
  }

  #stop(proc: XzProcess): void {
    if (this.#exit === undefined) proc.kill();
    proc.stdout.destroy();
    proc.stdin.destroy();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#flushCallback = undefined;
    if (this.#proc !== undefined) this.#stop(this.#proc);
    callback(err);
  }
}
