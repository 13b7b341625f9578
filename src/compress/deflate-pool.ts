// Worker threads that compress gzip members, so gzip output uses every core. The bytes never depend
// on the pool: each block's member is a pure function of the block and the level.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { type ErrorCode, errorText, ImprintError } from '../errors.js';
import { startModuleWorker } from '../threads.js';
import { type BlockJob, gzipMember } from './gzip-member.js';
import { assertPinnedDeflate, knownAnswerProbe, nativeDeflateEngine } from './libdeflate.js';
import type { NativeLibdeflate } from './libdeflate-native.js';

/** Messages between a pool and deflate-worker.ts. */
export interface ToDeflateWorker {
  id: number;
  job: BlockJob;
}

export type FromDeflateWorker =
  | { id: number; output: Uint8Array; input?: Uint8Array }
  | { id: number; error: { code?: string; message: string } };

/** At most this many deflate workers by default, however many cores there are. */
export const MAX_DEFAULT_DEFLATE_WORKERS = 4;

/** The default worker count: min(available parallelism, 4), at least 1. */
export function defaultDeflateWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_DEFAULT_DEFLATE_WORKERS));
}

/** Something that compresses blocks, possibly out of order (a DeflatePool; tests inject others). */
export interface BlockRunner {
  /**
   * `ahead`: work done before anything waits for it (GzipBodyCache), which a runner may hold back
   * while blocks a writer waits for run.
   */
  run(job: BlockJob, transfer: ArrayBuffer[], ahead?: boolean): Promise<Uint8Array>;
}

/** A process-wide block runner (sharedDeflatePool): worker threads, or the native library's calls. */
export interface DeflateRunner extends BlockRunner {
  /** Blocks compressed at once. */
  readonly size: number;
  /** Gets the engine ready for `level` now, so the first layer does not wait for it. */
  prewarm(level: number): void;
  close(): Promise<void>;
}

interface Task {
  id: number;
  job: BlockJob;
  transfer: ArrayBuffer[];
  resolve: (output: Uint8Array) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  task: Task | undefined;
}

/**
 * Up to `size` worker threads, started on first use, each compressing one block at a time; further
 * blocks wait in a queue (callers bound how many they submit). Idle workers are unref'd, so an open
 * pool never keeps the process alive. A worker that fails fails its block with INTERNAL and is
 * replaced on demand.
 */
export class DeflatePool implements DeflateRunner {
  readonly size: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  #nextId = 0;
  #closed = false;

  constructor(size: number) {
    this.size = Math.max(1, Math.floor(size));
  }

  /**
   * Compresses `job` on a worker; the buffers in `transfer` (the job's own, never a view into a shared
   * buffer) move to the worker and are unusable here afterwards. Cost: one block's deflate, off thread.
   */
  run(job: BlockJob, transfer: ArrayBuffer[] = []): Promise<Uint8Array> {
    if (this.#closed)
      return Promise.reject(new ImprintError('INTERNAL', 'the deflate worker pool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, job, transfer, resolve, reject });
      this.#dispatch();
    });
  }

  /**
   * Starts every worker now and has each compress an empty block at `level` (loading and checking
   * the engine), so a layer written later does not wait for thread start-up. Failures surface later,
   * when a real block runs. Cost: `size` thread starts, off the calling thread.
   */
  prewarm(level: number): void {
    for (let i = this.#slots.length; i < this.size; i++)
      this.run({ level, data: new Uint8Array(0) }).catch(() => {});
  }

  /** Stops the workers; blocks still queued or running fail with INTERNAL. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = new ImprintError('INTERNAL', 'the deflate worker pool was closed');
    for (const task of this.#queue.splice(0)) task.reject(closed);
    const slots = this.#slots.splice(0);
    for (const slot of slots) slot.task?.reject(closed);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.task === undefined);
      if (slot === undefined) {
        if (this.#slots.length >= this.size) return;
        slot = this.#spawn();
      }
      const task = this.#queue.shift() as Task;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage({ id: task.id, job: task.job } satisfies ToDeflateWorker, task.transfer);
    }
  }

  #spawn(): Slot {
    const slot: Slot = { worker: startModuleWorker(import.meta.url, 'deflate-worker'), task: undefined };
    slot.worker.unref();
    slot.worker.on('message', (message: FromDeflateWorker) => {
      const task = slot.task;
      if (task === undefined || task.id !== message.id) return;
      slot.task = undefined;
      slot.worker.unref();
      if ('output' in message) {
        if (message.input !== undefined) recycleBlock(message.input);
        task.resolve(message.output);
      } else task.reject(rebuildError(message.error));
      this.#dispatch();
    });
    const fail = (err: Error): void => {
      const index = this.#slots.indexOf(slot);
      if (index < 0) return;
      this.#slots.splice(index, 1);
      slot.worker.unref();
      slot.task?.reject(err);
      slot.task = undefined;
      void slot.worker.terminate();
      if (!this.#closed) this.#dispatch();
    };
    slot.worker.on('error', (err: Error) => {
      fail(new ImprintError('INTERNAL', `deflate worker failed: ${errorText(err)}`, { cause: err }));
    });
    slot.worker.on('exit', (code) => {
      fail(new ImprintError('INTERNAL', `deflate worker exited with code ${code}`));
    });
    this.#slots.push(slot);
    return slot;
  }
}

/**
 * Blocks compressed by the host's native libdeflate (a known build: libdeflate-native.ts) on libuv's
 * thread pool, called from this thread: at most `size` at once, further blocks queued. No worker
 * thread, so no second V8 heap, no start-up and no message copies: the block's memory goes to the
 * library as it is. The library's gzip writer makes the member; before its first block at a level,
 * its member of the known-answer probe must equal gzipMember's (the checked raw deflate, framed here),
 * else this runner hands every block to a worker DeflatePool instead. Each call in flight occupies
 * a thread of libuv's pool (UV_THREADPOOL_SIZE: bin/imprint makes it two a core, at least 4).
 */
export class NativeDeflateRunner implements DeflateRunner {
  readonly size: number;
  readonly #native: NativeLibdeflate;
  /** Blocks a writer waits for, and blocks compressed ahead. */
  readonly #queue: Array<Omit<Task, 'id' | 'transfer'>> = [];
  readonly #aheadQueue: Array<Omit<Task, 'id' | 'transfer'>> = [];
  readonly #checked = new Map<number, boolean>();
  #running = 0;
  #fallback: DeflatePool | undefined;
  #closed = false;

  constructor(size: number, native: NativeLibdeflate) {
    this.size = Math.max(1, Math.floor(size));
    this.#native = native;
  }

  run(job: BlockJob, transfer: ArrayBuffer[] = [], ahead = false): Promise<Uint8Array> {
    if (this.#closed)
      return Promise.reject(new ImprintError('INTERNAL', 'the deflate worker pool is closed'));
    if (!this.#usable(job.level)) {
      this.#fallback ??= new DeflatePool(this.size);
      return this.#fallback.run(job, transfer);
    }
    return new Promise((resolve, reject) => {
      (ahead ? this.#aheadQueue : this.#queue).push({ job, resolve, reject });
      this.#dispatch();
    });
  }

  prewarm(level: number): void {
    if (!this.#usable(level)) {
      this.#fallback ??= new DeflatePool(this.size);
      this.#fallback.prewarm(level);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const closed = new ImprintError('INTERNAL', 'the deflate worker pool was closed');
    for (const task of [...this.#queue.splice(0), ...this.#aheadQueue.splice(0)]) task.reject(closed);
    await this.#fallback?.close();
  }

  /** Whether the library's gzip writer gives the pinned member at `level` (checked once per level). */
  #usable(level: number): boolean {
    let ok = this.#checked.get(level);
    if (ok === undefined) {
      try {
        assertPinnedDeflate(level); // the raw deflate gzipMember uses: the pinned engine, or throws
        const probe = knownAnswerProbe();
        ok = Buffer.from(this.#native.gzip(probe, level)).equals(gzipMember({ level, data: probe }));
      } catch {
        ok = false;
      }
      this.#checked.set(level, ok);
    }
    return ok;
  }

  /**
   * Starts queued blocks: those compressed ahead while fewer than `size` calls run, those a writer
   * waits for while fewer than twice as many do. A call that ends is seen only when this thread
   * returns to its event loop, which a layer writer busy with many small files does late: the extra
   * calls keep the thread pool's next block queued meanwhile (a package layer's last ~0.4 s took
   * ~10 % less).
   */
  #dispatch(): void {
    for (;;) {
      const queue =
        this.#queue.length > 0 && this.#running < 2 * this.size
          ? this.#queue
          : this.#aheadQueue.length > 0 && this.#running < this.size
            ? this.#aheadQueue
            : undefined;
      if (queue === undefined) return;
      const task = queue.shift() as Omit<Task, 'id' | 'transfer'>;
      this.#running++;
      this.#native.gzipAsync(task.job.data, task.job.level).then(
        (member) => {
          this.#running--;
          recycleBlock(task.job.data);
          task.resolve(member);
          this.#dispatch();
        },
        (err: unknown) => {
          this.#running--;
          task.reject(
            new ImprintError('INTERNAL', `deflate failed: ${errorText(err)}`, {
              cause: err,
            }),
          );
          this.#dispatch();
        },
      );
    }
  }
}

/** An ImprintError again, from its plain form. */
function rebuildError(e: { code?: string; message: string }): ImprintError {
  return new ImprintError((e.code ?? 'INTERNAL') as ErrorCode, e.message);
}

/**
 * Block buffers the workers handed back, for the next blocks of the same size: allocating a fresh
 * 1 MiB buffer per block (and detaching it on transfer) churns V8's external memory, which triggers
 * garbage collections on the main thread. At most 16 per size and MAX_SPARE_BLOCK_BYTES in all are
 * kept; the size used last is at the end of the map.
 */
const spareBlocks = new Map<number, ArrayBuffer[]>();
const MAX_SPARE_BLOCKS = 16;
/**
 * Bytes all spare buffers may hold together. A layer cuts a short block before every large body and
 * ends each body with one of its own length, so sizes are many; with 16 spares per size and no total,
 * a 1.5 GB TeX Live layer kept 2,486 of them (400 MB) until the process ended.
 */
export const MAX_SPARE_BLOCK_BYTES = 16 * 1024 * 1024;
let spareBytes = 0;

/** Bytes held in spare block buffers now (for tests). */
export function spareBlockBytes(): number {
  return spareBytes;
}

/** Keeps a block buffer that came back from a worker for reuse, dropping spares of sizes used least lately to fit. */
function recycleBlock(input: Uint8Array): void {
  const buffer = input.buffer as ArrayBuffer;
  const size = buffer.byteLength;
  if (size === 0 || input.byteOffset !== 0 || input.byteLength !== size || size > MAX_SPARE_BLOCK_BYTES)
    return;
  const list = spareBlocks.get(size) ?? [];
  if (list.length >= MAX_SPARE_BLOCKS) return;
  for (const [other, spares] of spareBlocks) {
    if (spareBytes + size <= MAX_SPARE_BLOCK_BYTES) break;
    if (other === size) continue;
    while (spares.length > 0 && spareBytes + size > MAX_SPARE_BLOCK_BYTES) {
      spares.pop();
      spareBytes -= other;
    }
    if (spares.length === 0) spareBlocks.delete(other);
  }
  if (spareBytes + size > MAX_SPARE_BLOCK_BYTES) return;
  list.push(buffer);
  spareBytes += size;
  spareBlocks.delete(size);
  spareBlocks.set(size, list);
}

/**
 * A buffer of `size` bytes for a block: a recycled one when there is one (its old bytes are still
 * there: the caller overwrites what it uses), else a new zeroed one.
 */
export function blockBuffer(size: number): Uint8Array {
  const list = spareBlocks.get(size);
  const spare = list?.pop();
  if (spare === undefined) return new Uint8Array(size);
  spareBytes -= size;
  spareBlocks.delete(size);
  if ((list as ArrayBuffer[]).length > 0) spareBlocks.set(size, list as ArrayBuffer[]);
  return new Uint8Array(spare);
}

const shared = new Map<number, DeflateRunner>();

/**
 * The process-wide runner of `size` blocks at once, created on first use and never closed: the
 * native library's calls when this thread has it (NativeDeflateRunner), else a pool of worker threads
 * running the WebAssembly engine, whose idle workers are unref'd; sharing it spares every layer the
 * start-up of its own threads (~50 ms each).
 */
export function sharedDeflatePool(size: number): DeflateRunner {
  let pool = shared.get(size);
  if (pool === undefined) {
    const native = nativeDeflateEngine();
    pool = native === null ? new DeflatePool(size) : new NativeDeflateRunner(size, native);
    shared.set(size, pool);
  }
  return pool;
}
