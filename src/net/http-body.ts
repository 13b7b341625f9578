import { Readable } from 'node:stream';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { formatDuration } from './timeouts.js';

/**
 * What a body is read from: a response (whose `complete` says whether it ended cleanly), or another
 * stream that fails when it breaks (e.g. a ResponseBody itself: the registry resumes blobs over one).
 */
export type BodySource = Readable & { complete?: boolean };

/** How a response body is read: its URL, limits, and how to continue it after a break. */
export interface ResponseBodyOptions {
  url: string;
  /** The request method, for messages (default GET). */
  method?: string | undefined;
  /** Time allowed between two chunks while the consumer is reading (0: no limit). */
  idleTimeoutMs: number;
  /** Fewer bytes per second than this, over `lowSpeedWindowMs` of reading, is a stall (0 or absent: no limit). */
  lowSpeedBytesPerSecond?: number | undefined;
  lowSpeedWindowMs?: number | undefined;
  /** The exact size the body must have (SIZE_MISMATCH as soon as it is exceeded, or at its end). */
  expectSize?: number | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Opens the rest of the body from byte `received` (a ranged request, or the whole body again
   * when nothing was received); absent when the server cannot resume. `resumes` counts the earlier
   * resumptions (for the backoff).
   */
  resume?: ((received: number, resumes: number) => Promise<BodySource>) | undefined;
  /** Whether a body broken after `received` bytes can be resumed (default: whenever `resume` is given). */
  canResume?: ((received: number) => boolean) | undefined;
  /** How often a broken body is resumed before it fails. */
  maxResumes: number;
}

/** Why a body counts as stalled: no byte for the idle timeout, or too few over the speed window. */
type Stall = { kind: 'idle' | 'slow'; why: string };

/** The error a watchdog ends a source with; `#broken` turns it into the NETWORK error. */
class StallError extends Error {
  readonly stall: Stall;
  constructor(stall: Stall) {
    super(stall.why);
    this.stall = stall;
  }
}

/** The stall behind `err`: this body's own watchdog, or an inner ResponseBody's NETWORK error. */
function stallOf(err: unknown): Stall | undefined {
  if (err instanceof StallError) return err.stall;
  if (isImprintError(err, 'NETWORK')) {
    const { stalled, why } = err.details;
    if ((stalled === 'idle' || stalled === 'slow') && typeof why === 'string') return { kind: stalled, why };
  }
  return undefined;
}

/**
 * The body of an HTTP response as one byte stream, across resumptions: bytes flow from the current
 * response with backpressure (the response is paused while the consumer is not reading, and that
 * time counts neither against the idle timeout nor against the speed floor); a broken or stalled
 * response is replaced by a ranged one when the server supports it, else the stream fails NETWORK
 * with `details.received` (and `details.stalled`: 'idle' or 'slow', for a stall). One stream hop, no
 * copy: chunks are the socket's own buffers.
 */
export class ResponseBody extends Readable {
  readonly #o: ResponseBodyOptions;
  #res: BodySource;
  #received = 0;
  #resumes = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The consumer asked for data and has not pushed back since. */
  #wanted = false;
  /** A replacement response is being opened. */
  #resuming = false;
  /** The speed floor's window: reading time accumulated, since when it runs, bytes in it. */
  #windowMs = 0;
  #readingSince: number | undefined;
  #windowBytes = 0;
  readonly #onAbort = (): void => {
    this.destroy(this.#o.signal?.reason);
  };

  constructor(res: BodySource, options: ResponseBodyOptions) {
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
    this.#reading(true);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#reading(false);
    this.#res.destroy();
    this.#o.signal?.removeEventListener('abort', this.#onAbort);
    cb(err);
  }

  #attach(res: BodySource): void {
    // Paused first, so that adding the 'data' listener does not start the flow before _read.
    res.pause();
    let ended = false;
    res.on('data', (chunk: Buffer) => {
      if (res !== this.#res || this.destroyed) return;
      this.#received += chunk.length;
      this.#windowBytes += chunk.length;
      const expect = this.#o.expectSize;
      if (expect !== undefined && this.#received > expect) {
        this.destroy(this.#sizeError(`more than ${expect}`));
        return;
      }
      const more = this.push(chunk);
      if (this.#tooSlow(res)) return;
      if (more) {
        this.#timer?.refresh();
      } else {
        this.#wanted = false;
        res.pause();
        this.#reading(false);
      }
    });
    res.on('end', () => {
      ended = true;
      if (res !== this.#res || this.destroyed) return;
      this.#reading(false);
      if (res.complete === false) {
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

  #broken(res: BodySource, err: Error): void {
    if (res !== this.#res || this.destroyed || this.#resuming) return;
    this.#reading(false);
    res.destroy();
    const { signal, resume, maxResumes } = this.#o;
    if (signal?.aborted) {
      this.destroy(signal.reason);
      return;
    }
    const resumable = resume !== undefined && (this.#o.canResume?.(this.#received) ?? true);
    if (!resumable || this.#resumes >= maxResumes) {
      this.destroy(this.#failure(err, resumable));
      return;
    }
    this.#resuming = true;
    // A fresh connection gets a fresh window: a slow server costs at most one window per resumption.
    this.#windowMs = 0;
    this.#windowBytes = 0;
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
          this.#reading(true);
        }
      },
      (e: unknown) => {
        this.#resuming = false;
        this.destroy(e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  /** The NETWORK error of a body that broke (or stalled) for good. */
  #failure(err: Error, resumable: boolean): ImprintError {
    const { url, method = 'GET' } = this.#o;
    const stall = stallOf(err);
    const tried = this.#resumes > 0 ? `; resumed ${this.#resumes} times` : '';
    const hint =
      stall !== undefined
        ? 'The server stopped sending or sends too slowly; try again later, or another mirror. The limits are IMPRINT_IDLE_TIMEOUT, IMPRINT_LOW_SPEED_LIMIT and IMPRINT_LOW_SPEED_TIME.'
        : !resumable
          ? 'The server does not support resuming; try again.'
          : 'imprint resumed several times and gave up.';
    const cause = err instanceof StallError ? undefined : err;
    return new ImprintError(
      'NETWORK',
      stall !== undefined
        ? `${method} ${url}: the download stalled after ${this.#received} bytes: ${stall.why}${tried}`
        : `${method} ${url}: the body broke after ${this.#received} bytes: ${errorText(err)}${tried}`,
      {
        hint,
        cause,
        details:
          stall === undefined
            ? { url, received: this.#received, resumes: this.#resumes }
            : { url, received: this.#received, resumes: this.#resumes, stalled: stall.kind, why: stall.why },
      },
    );
  }

  /** Starts or stops the reading clock: the idle timer and the speed window run only while reading. */
  #reading(on: boolean): void {
    if (!on) {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      if (this.#readingSince !== undefined) {
        this.#windowMs += performance.now() - this.#readingSince;
        this.#readingSince = undefined;
      }
      return;
    }
    this.#readingSince ??= performance.now();
    if (this.#timer !== undefined) {
      this.#timer.refresh();
      return;
    }
    const ms = this.#o.idleTimeoutMs;
    if (ms <= 0) return;
    const res = this.#res;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      res.destroy(new StallError({ kind: 'idle', why: `no data for ${formatDuration(ms)}` }));
    }, ms);
  }

  /**
   * Judges the speed once a full window of reading time has passed: fewer bytes than the floor ends
   * `res` as stalled (true), else a new window starts. Checked on every chunk, so a trickle is caught
   * within a window plus one chunk's pause; silence is the idle timer's.
   */
  #tooSlow(res: BodySource): boolean {
    const floor = this.#o.lowSpeedBytesPerSecond ?? 0;
    const window = this.#o.lowSpeedWindowMs ?? 0;
    if (floor <= 0 || window <= 0 || this.#readingSince === undefined) return false;
    const now = performance.now();
    const elapsed = this.#windowMs + (now - this.#readingSince);
    if (elapsed < window) return false;
    if (this.#windowBytes < (floor * elapsed) / 1000) {
      const why = `${this.#windowBytes} bytes in ${formatDuration(Math.round(elapsed))}, below the floor of ${floor} bytes/s`;
      res.destroy(new StallError({ kind: 'slow', why }));
      return true;
    }
    this.#windowMs = 0;
    this.#windowBytes = 0;
    this.#readingSince = now;
    return false;
  }

  #sizeError(found: string): ImprintError {
    const { url, expectSize } = this.#o;
    return new ImprintError('SIZE_MISMATCH', `GET ${url}: expected ${expectSize} bytes, found ${found}`, {
      hint: 'The server sent a different file than expected; try again later or another source.',
      details: { url, expected: expectSize, found },
    });
  }
}
