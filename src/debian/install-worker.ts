// Worker thread of WorkerExtractor: receives a .deb's bytes, extracts it (install-extract.ts) into its
// own spool pack, and posts the manifest back. One job at a time.
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { errorText, ImprintError } from '../errors.js';
import { extractDeb } from './install-extract.js';
import { ContentSpool } from './install-spool.js';
import type { FromWorker, ToWorker } from './install-workers.js';

/** The .deb bytes as they arrive from the main thread; each chunk is acknowledged once read. */
class ChunkSource extends Readable {
  readonly #queue: Buffer[] = [];
  readonly #ack: (bytes: number) => void;
  #wanting = false;
  #ended = false;
  #done = false;

  constructor(ack: (bytes: number) => void) {
    super({ highWaterMark: 0 });
    this.#ack = ack;
  }

  override _read(): void {
    this.#wanting = true;
    this.#drain();
  }

  add(chunk: Uint8Array): void {
    this.#queue.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.#drain();
  }

  finish(): void {
    this.#ended = true;
    this.#drain();
  }

  #drain(): void {
    while (this.#wanting && this.#queue.length > 0) {
      const chunk = this.#queue.shift() as Buffer;
      this.#ack(chunk.length);
      this.#wanting = this.push(chunk);
    }
    if (this.#ended && this.#queue.length === 0 && !this.#done) {
      this.#done = true;
      this.push(null);
    }
  }
}

const port = parentPort;
if (port === null) throw new Error('install-worker.ts runs only as a worker thread');
const post = (m: FromWorker): void => port.postMessage(m);
let current: { id: number; source: ChunkSource } | undefined;
/** One spool (one pack file) for the worker's lifetime, so the main thread holds one read handle per worker. */
let spool: ContentSpool | undefined;

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'start': {
      const source = new ChunkSource((bytes) => post({ type: 'ack', id: m.id, bytes }));
      current = { id: m.id, source };
      if (spool === undefined || spool.dir !== m.spoolDir)
        spool = new ContentSpool(m.spoolDir, { ...m.spoolOptions, memoryBudget: 0 }); // the main thread reads its refs
      const jobSpool = spool;
      const opts = {
        what: m.what,
        ...(m.size === undefined ? {} : { size: m.size }),
        ...(m.limits === undefined ? {} : { limits: m.limits }),
      };
      extractDeb(() => source, opts, jobSpool).then(
        async (result) => {
          post({
            type: 'done',
            id: m.id,
            result,
            pack: await jobSpool.packPath(),
            files: jobSpool.takeFiles(),
          });
        },
        async (err: unknown) => {
          await jobSpool.flush().catch(() => {}); // the pack stays: it holds earlier jobs' bodies
          const e = err instanceof ImprintError ? err : undefined;
          post({
            type: 'error',
            id: m.id,
            files: jobSpool.takeFiles(),
            error:
              e === undefined
                ? { message: errorText(err) }
                : {
                    code: e.code,
                    message: e.message,
                    ...(e.hint === undefined ? {} : { hint: e.hint }),
                    details: plain(e.details),
                  },
          });
        },
      );
      return;
    }
    case 'data':
      if (current?.id === m.id) current.source.add(m.chunk);
      return;
    case 'end':
      if (current?.id === m.id) current.source.finish();
      return;
    case 'abort':
      if (current?.id === m.id)
        current.source.destroy(new ImprintError('IO', 'reading the package was aborted'));
      return;
  }
});

/** Details that survive structured cloning (drops functions and class instances other than plain data). */
function plain(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
  } catch {
    return {};
  }
}
