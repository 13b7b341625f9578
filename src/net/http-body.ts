import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { errorText, ImprintError } from '../errors.js';

/** How a response body is read: its URL, limits, and how to continue it after a break. */
export interface ResponseBodyOptions {
  url: string;
  /** Time allowed between two chunks while the consumer is reading. */
  idleTimeoutMs: number;
  /** The exact size the body must have (SIZE_MISMATCH as soon as it is exceeded, or at its end). */
  expectSize?: number | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Opens the rest of the body from byte `received` (a ranged request); absent when the server
   * cannot resume. `resumes` counts the earlier resumptions (for the backoff).
   */
  resume?: ((received: number, resumes: number) => Promise<IncomingMessage>) | undefined;
  /** How often a broken body is resumed before it fails. */
  maxResumes: number;
}

/**
 * The body of an HTTP response as one byte stream, across resumptions: bytes flow from the current
 * response with backpressure (the response is paused while the consumer is not reading, and that
 * time does not count against the idle timeout); a broken response is replaced by a ranged one when
 * the server supports it, else the stream fails NETWORK with `details.received`. One stream hop, no
 * copy: chunks are the socket's own buffers.
 */
export class ResponseBody extends Readable {
  readonly #o: ResponseBodyOptions;
  #res: IncomingMessage;
  #received = 0;
  #resumes = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The consumer asked for data and has not pushed back since. */
  #wanted = false;
  /** A replacement response is being opened. */
  #resuming = false;
  readonly #onAbort = (): void => {
    this.destroy(this.#o.signal?.reason);
  };

  constructor(res: IncomingMessage, options: ResponseBodyOptions) {
    super();
    this.#o = options;
    this.#res = res;
    this.#attach(res);
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Bytes received so far, across resumptions. */
  get received(): number {
    return this.#received;
  }

  override _read(): void {
    this.#wanted = true;
    if (this.#resuming) return;
    this.#res.resume();
    this.#armIdle();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#clearIdle();
    this.#res.destroy();
    this.#o.signal?.removeEventListener('abort', this.#onAbort);
    cb(err);
  }

  #attach(res: IncomingMessage): void {
    // Paused first, so that adding the 'data' listener does not start the flow before _read.
    res.pause();
    let ended = false;
    res.on('data', (chunk: Buffer) => {
      if (res !== this.#res || this.destroyed) return;
      this.#received += chunk.length;
      const expect = this.#o.expectSize;
      if (expect !== undefined && this.#received > expect) {
        this.destroy(this.#sizeError(`more than ${expect}`));
        return;
      }
      if (this.push(chunk)) {
        this.#timer?.refresh();
      } else {
        this.#wanted = false;
        res.pause();
        this.#clearIdle();
      }
    });
    res.on('end', () => {
      ended = true;
      if (res !== this.#res || this.destroyed) return;
      this.#clearIdle();
      if (!res.complete) {
        this.#broken(res, new Error('the connection closed before the body was complete'));
        return;
      }
      const expect = this.#o.expectSize;
      if (expect !== undefined && this.#received !== expect) {
        this.destroy(this.#sizeError(String(this.#received)));
        return;
      }
      this.#o.signal?.removeEventListener('abort', this.#onAbort);
      this.push(null);
    });
    res.on('error', (err) => this.#broken(res, err));
    res.on('close', () => {
      if (!ended) this.#broken(res, new Error('the connection closed before the body was complete'));
    });
  }

  #broken(res: IncomingMessage, err: Error): void {
    if (res !== this.#res || this.destroyed || this.#resuming) return;
    this.#clearIdle();
    res.destroy();
    const { signal, resume, maxResumes, url } = this.#o;
    if (signal?.aborted) {
      this.destroy(signal.reason);
      return;
    }
    if (resume === undefined || this.#resumes >= maxResumes) {
      this.destroy(
        new ImprintError(
          'NETWORK',
          `GET ${url}: the body broke after ${this.#received} bytes: ${errorText(err)}`,
          {
            hint:
              resume === undefined
                ? 'The server does not support resuming; try again.'
                : 'imprint resumed several times and gave up.',
            cause: err,
            details: { url, received: this.#received },
          },
        ),
      );
      return;
    }
    this.#resuming = true;
    resume(this.#received, this.#resumes++).then(
      (next) => {
        this.#resuming = false;
        if (this.destroyed) {
          next.destroy();
          return;
        }
        this.#res = next;
        this.#attach(next);
        if (this.#wanted) {
          next.resume();
          this.#armIdle();
        }
      },
      (e: unknown) => {
        this.#resuming = false;
        this.destroy(e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  #armIdle(): void {
    if (this.#timer !== undefined) {
      this.#timer.refresh();
      return;
    }
    const ms = this.#o.idleTimeoutMs;
    const res = this.#res;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      res.destroy(new Error(`no data for ${ms} ms`));
    }, ms);
  }

  #clearIdle(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #sizeError(found: string): ImprintError {
    const { url, expectSize } = this.#o;
    return new ImprintError('SIZE_MISMATCH', `GET ${url}: expected ${expectSize} bytes, found ${found}`, {
      hint: 'The server sent a different file than expected; try again later or another source.',
      details: { url, expected: expectSize, found },
    });
  }
}
