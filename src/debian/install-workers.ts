// Extraction of .deb files in worker threads, so decompression (xz in WebAssembly dominates) runs on
// every core while the main thread places entries in lock order.
import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { type ErrorCode, errorText, ImprintError } from '../errors.js';
import { startModuleWorker } from '../threads.js';
import type { DebLimits } from './deb.js';
import type { BodyTaker } from './install-extract.js';
import { type ExtractedDeb, extractDeb } from './install-extract.js';
import type { ContentSpool, SpoolOptions } from './install-spool.js';

/** One .deb to extract. */
export interface ExtractJob {
  open: () => Promise<Readable> | Readable;
  what: string;
  size?: number;
  limits?: DebLimits;
  /** Inline extraction only: large bodies are fed to it as they are captured. */
  bodies?: BodyTaker | undefined;
}

/** Turns .deb files into manifests, with bodies spooled under the spool's directory. */
export interface Extractor {
  extract(job: ExtractJob): Promise<ExtractedDeb>;
  /** Stops the workers (pending extractions fail). */
  close(): Promise<void>;
}

/** Extracts in the calling thread, into `spool`. */
export function inlineExtractor(spool: ContentSpool): Extractor {
  return {
    extract: (job) => extractDeb(job.open, job, spool),
    close: async () => {},
  };
}

/** Messages between the pool and a worker (install-worker.ts). */
export type ToWorker =
  | {
      type: 'start';
      id: number;
      what: string;
      size?: number;
      limits?: DebLimits;
      spoolDir: string;
      spoolOptions: SpoolOptions;
    }
  | { type: 'data'; id: number; chunk: Uint8Array }
  | { type: 'end'; id: number }
  | { type: 'abort'; id: number };

export type FromWorker =
  | { type: 'ack'; id: number; bytes: number }
  | { type: 'done'; id: number; result: ExtractedDeb; pack: string | undefined; files: string[] }
  | {
      type: 'error';
      id: number;
      /** Body files the job wrote before it failed: the main thread's spool deletes them. */
      files: string[];
      error: { code?: string; message: string; hint?: string; details?: Record<string, unknown> };
    };

/** Compressed bytes a worker may have received but not yet consumed. */
const WINDOW = 4 * 1024 * 1024;

interface Slot {
  worker: Worker;
  busy: boolean;
  /** The handler of the job running on this worker. */
  onMessage: ((m: FromWorker) => void) | undefined;
  onFailure: ((err: Error) => void) | undefined;
}

/**
 * A pool of `count` worker threads extracting one .deb each at a time. The main thread reads each
 * .deb (`job.open`, e.g. a verifying store stream) and hands the bytes over with flow control (at most
 * 4 MiB in flight); the worker decompresses, parses and spools the bodies into its own pack file, which
 * `spool` adopts (and deletes on close). Errors come back as ImprintErrors with their code.
 */
export class WorkerExtractor implements Extractor {
  readonly #spool: ContentSpool;
  readonly #spoolOptions: SpoolOptions;
  readonly #count: number;
  readonly #slots: Slot[] = [];
  readonly #waiting: Array<(slot: Slot) => void> = [];
  #nextId = 0;
  #closed = false;

  constructor(count: number, spool: ContentSpool, spoolOptions: SpoolOptions = {}) {
    this.#count = Math.max(1, count);
    this.#spool = spool;
    this.#spoolOptions = spoolOptions;
  }

  async extract(job: ExtractJob): Promise<ExtractedDeb> {
    const slot = await this.#acquire();
    try {
      return await this.#run(slot, job);
    } finally {
      this.#releaseSlot(slot);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #acquire(): Promise<Slot> {
    if (this.#closed) return Promise.reject(new ImprintError('INTERNAL', 'extraction pool is closed'));
    const free = this.#slots.find((s) => !s.busy);
    if (free !== undefined) {
      free.busy = true;
      return Promise.resolve(free);
    }
    if (this.#slots.length < this.#count) {
      const slot = this.#spawn();
      slot.busy = true;
      return Promise.resolve(slot);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #releaseSlot(slot: Slot): void {
    slot.onMessage = undefined;
    slot.onFailure = undefined;
    const next = this.#waiting.shift();
    if (next !== undefined) next(slot);
    else slot.busy = false;
  }

  #spawn(): Slot {
    const slot: Slot = {
      worker: startModuleWorker(import.meta.url, 'install-worker'),
      busy: false,
      onMessage: undefined,
      onFailure: undefined,
    };
    slot.worker.on('message', (m: FromWorker) => slot.onMessage?.(m));
    slot.worker.on('error', (err: Error) => {
      this.#drop(slot);
      slot.onFailure?.(err);
    });
    slot.worker.on('exit', (code: number) => {
      this.#drop(slot);
      slot.onFailure?.(new Error(`extraction worker exited with code ${code}`));
    });
    this.#slots.push(slot);
    return slot;
  }

  #drop(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
  }

  async #run(slot: Slot, job: ExtractJob): Promise<ExtractedDeb> {
    const id = ++this.#nextId;
    let unacked = 0;
    let wake: (() => void) | undefined;
    let settled = false;
    const result = new Promise<ExtractedDeb>((resolve, reject) => {
      slot.onMessage = (m) => {
        if (m.id !== id) return;
        if (m.type === 'ack') {
          unacked -= m.bytes;
          wake?.();
        } else if (m.type === 'done') {
          if (m.pack !== undefined) this.#spool.adopt(m.pack);
          this.#spool.adoptFiles(m.files);
          resolve(m.result);
        } else {
          this.#spool.adoptFiles(m.files);
          reject(rebuildError(m.error, job.what));
        }
      };
      slot.onFailure = (err) =>
        reject(
          new ImprintError('INTERNAL', `${job.what}: extraction worker failed: ${errorText(err)}`, {
            cause: err,
          }),
        );
    }).finally(() => {
      settled = true;
      wake?.();
    });
    const start: ToWorker = {
      type: 'start',
      id,
      what: job.what,
      ...(job.size === undefined ? {} : { size: job.size }),
      ...(job.limits === undefined ? {} : { limits: job.limits }),
      spoolDir: this.#spool.dir,
      spoolOptions: this.#spoolOptions,
    };
    slot.worker.postMessage(start);
    const pumped = (async () => {
      const source = await job.open();
      try {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          while (unacked >= WINDOW && !settled) await new Promise<void>((r) => (wake = r));
          if (settled) return;
          const copy = new Uint8Array(chunk); // own buffer, so it can be transferred
          unacked += copy.length;
          slot.worker.postMessage({ type: 'data', id, chunk: copy } satisfies ToWorker, [copy.buffer]);
        }
        if (!settled) slot.worker.postMessage({ type: 'end', id } satisfies ToWorker);
      } finally {
        source.destroy();
      }
    })();
    try {
      await pumped;
    } catch (err) {
      if (!settled) slot.worker.postMessage({ type: 'abort', id } satisfies ToWorker);
      await result.catch(() => {});
      throw err instanceof ImprintError
        ? err
        : new ImprintError('IO', `${job.what}: reading the package failed: ${errorText(err)}`, {
            cause: err,
          });
    }
    return result;
  }
}

/** An ImprintError again, from its plain form. */
function rebuildError(
  e: { code?: string; message: string; hint?: string; details?: Record<string, unknown> },
  what: string,
): ImprintError {
  const code = (e.code ?? 'INTERNAL') as ErrorCode;
  return new ImprintError(code, e.code === undefined ? `${what}: ${e.message}` : e.message, {
    ...(e.hint === undefined ? {} : { hint: e.hint }),
    ...(e.details === undefined ? {} : { details: e.details }),
  });
}
