import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { VerifyingStream } from '../digest/index.js';
import { ImprintError, isImprintError } from '../errors.js';

/** What the caller knows about the body in advance; the stream fails at its end when it differs. */
export interface Expect {
  size?: number | undefined;
  /** Lowercase hex sha256. */
  sha256?: string | undefined;
}

export interface GetOptions {
  signal?: AbortSignal | undefined;
  expect?: Expect | undefined;
}

/** How imprint reads URLs. Tests and the offline mode substitute their own. */
export interface Fetcher {
  /**
   * Opens `url` (http:, https: or file:) as a byte stream. Resolves once the server answered 200;
   * 404 and other non-retryable statuses reject with HTTP_STATUS, network failures (after retries)
   * with NETWORK. With `expect`, the stream errors DIGEST_MISMATCH / SIZE_MISMATCH at its end.
   */
  get(url: string, opts?: GetOptions): Promise<Readable>;
  /** Reads a whole (small) body into memory; more than `maxBytes` is SIZE_MISMATCH. */
  getBytes(url: string, maxBytes: number, opts?: { signal?: AbortSignal | undefined }): Promise<Uint8Array>;
}

export interface HttpFetcherOptions {
  /** Retries after the first attempt on network errors, 408, 429 and 5xx (default 4). */
  retries?: number;
  /** First backoff delay; doubles per retry, times a jitter factor in [0.5, 1.5) (default 500 ms). */
  backoffMs?: number;
  /** Upper bound of one backoff delay, and of a server's Retry-After (default 20 s). */
  maxBackoffMs?: number;
  /** Time allowed until response headers arrive (default 30 s). */
  connectTimeoutMs?: number;
  /** Time allowed between two body chunks (default 60 s). */
  idleTimeoutMs?: number;
  /** Source of jitter in [0, 1) (default Math.random); tests pass a fixed one. */
  random?: () => number;
  /** How to wait (default: a timer that an abort interrupts). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  userAgent?: string;
  /** Called before every request (attempts and resumptions included); for logging and tests. */
  onRequest?: (info: { url: string; attempt: number; rangeStart?: number }) => void;
}

/** True when `err` is an HTTP 404/410 (or a missing file: URL): the resource does not exist. */
export function isNotFound(err: unknown): boolean {
  return isImprintError(err, 'HTTP_STATUS') && (err.details.status === 404 || err.details.status === 410);
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Opened {
  res: Response;
  controller: AbortController;
  detach: () => void;
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/** Creates the default Fetcher over Node's built-in fetch, with retries, timeouts and resumption. */
export function createFetcher(options: HttpFetcherOptions = {}): Fetcher {
  const retries = options.retries ?? 4;
  const backoffMs = options.backoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 20_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;

  const delay = (attempt: number, retryAfter?: string | null): number => {
    const seconds = retryAfter === null || retryAfter === undefined ? Number.NaN : Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, maxBackoffMs);
    return Math.min(backoffMs * 2 ** attempt * (0.5 + random()), maxBackoffMs);
  };

  /** One request with retries; resolves with a 200 (or 206 for a range) response. */
  const open = async (
    url: string,
    signal: AbortSignal | undefined,
    range?: { start: number; validator: string },
  ): Promise<Opened> => {
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(delay(attempt - 1, retryAfterOf(lastError)), signal);
      signal?.throwIfAborted();
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const detach = (): void => signal?.removeEventListener('abort', onAbort);
      const timer = setTimeout(
        () => controller.abort(new Error(`no response within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
      const headers: Record<string, string> = {
        'user-agent': options.userAgent ?? 'imprint',
        'accept-encoding': 'identity',
      };
      if (range !== undefined) {
        headers.range = `bytes=${range.start}-`;
        headers['if-range'] = range.validator;
      }
      options.onRequest?.(range === undefined ? { url, attempt } : { url, attempt, rangeStart: range.start });
      let res: Response;
      try {
        res = await fetch(url, { signal: controller.signal, headers, redirect: 'follow' });
      } catch (err) {
        clearTimeout(timer);
        detach();
        if (signal?.aborted) throw signal.reason;
        lastError = new ImprintError('NETWORK', `GET ${url}: ${describe(err)}`, {
          hint: 'Check the network and the URL; imprint retried with backoff.',
          cause: err,
          details: { url, attempts: attempt + 1 },
        });
        continue;
      }
      clearTimeout(timer);
      if (res.status === 200 || (range !== undefined && res.status === 206))
        return { res, controller, detach };
      await res.body?.cancel().catch(() => undefined);
      detach();
      const statusError = new ImprintError(
        'HTTP_STATUS',
        `GET ${url}: expected status 200, found ${res.status} ${res.statusText}`,
        {
          hint:
            res.status === 404
              ? 'The archive does not have this file: check the URL, suite, component and architecture.'
              : undefined,
          details: { url, status: res.status, retryAfter: res.headers.get('retry-after') },
        },
      );
      if (!RETRYABLE.has(res.status)) throw statusError;
      lastError = statusError;
    }
    throw lastError;
  };

  async function* body(url: string, first: Opened, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
    let current = first;
    let received = 0;
    let resumes = 0;
    const etag = first.res.headers.get('etag');
    const validator = etag ?? first.res.headers.get('last-modified');
    const canResume = (first.res.headers.get('accept-ranges') ?? '').includes('bytes') && validator !== null;
    for (;;) {
      try {
        const stream = current.res.body;
        if (stream === null) return;
        const reader = stream.getReader();
        let done = false;
        try {
          for (;;) {
            const timer = setTimeout(
              () => current.controller.abort(new Error(`no data for ${idleTimeoutMs} ms`)),
              idleTimeoutMs,
            );
            let r: Awaited<ReturnType<typeof reader.read>>;
            try {
              r = await reader.read();
            } finally {
              clearTimeout(timer);
            }
            if (r.done) {
              done = true;
              return;
            }
            received += r.value.byteLength;
            yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
          }
        } finally {
          if (!done) {
            current.controller.abort();
            await reader.cancel().catch(() => undefined);
          }
          current.detach();
        }
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (!canResume || resumes >= retries || validator === null) {
          throw new ImprintError(
            'NETWORK',
            `GET ${url}: the body broke after ${received} bytes: ${describe(err)}`,
            {
              hint: canResume
                ? 'imprint resumed several times and gave up.'
                : 'The server does not support resuming; try again.',
              cause: err,
              details: { url, received },
            },
          );
        }
        await sleep(delay(resumes), signal);
        resumes++;
        current = await open(url, signal, { start: received, validator });
        const cr = current.res.headers.get('content-range') ?? '';
        if (current.res.status !== 206 || !cr.startsWith(`bytes ${received}-`)) {
          await current.res.body?.cancel().catch(() => undefined);
          current.detach();
          throw new ImprintError(
            'NETWORK',
            `GET ${url}: could not resume at byte ${received} (status ${current.res.status}, Content-Range ${JSON.stringify(cr)}); the file changed on the server`,
            {
              details: { url, received, status: current.res.status },
            },
          );
        }
      }
    }
  }

  const get = async (url: string, opts: GetOptions = {}): Promise<Readable> => {
    if (url.startsWith('file:')) return withExpect(await openFile(url), url, opts.expect);
    if (!/^https?:/.test(url)) {
      throw new ImprintError(
        'UNSUPPORTED',
        `cannot fetch ${url}: only http:, https: and file: URLs are supported`,
        { details: { url } },
      );
    }
    const first = await open(url, opts.signal);
    const length = first.res.headers.get('content-length');
    if (opts.expect?.size !== undefined && length !== null && Number(length) !== opts.expect.size) {
      await first.res.body?.cancel().catch(() => undefined);
      first.detach();
      throw new ImprintError(
        'SIZE_MISMATCH',
        `GET ${url}: expected ${opts.expect.size} bytes, the server announced ${length}`,
        {
          hint: 'The mirror serves a different file than the metadata lists; try again later or another mirror.',
          details: { url, expected: opts.expect.size, found: Number(length) },
        },
      );
    }
    return withExpect(Readable.from(body(url, first, opts.signal), { objectMode: false }), url, opts.expect);
  };

  const getBytes = async (
    url: string,
    maxBytes: number,
    opts: { signal?: AbortSignal | undefined } = {},
  ): Promise<Uint8Array> => {
    const stream = await get(url, { signal: opts.signal });
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) {
        stream.destroy();
        throw new ImprintError(
          'SIZE_MISMATCH',
          `GET ${url}: expected at most ${maxBytes} bytes, found more`,
          {
            details: { url, maxBytes },
          },
        );
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks, total);
  };

  return { get, getBytes };
}

function retryAfterOf(err: unknown): string | undefined {
  if (isImprintError(err, 'HTTP_STATUS')) {
    const v = err.details.retryAfter;
    return typeof v === 'string' ? v : undefined;
  }
  return undefined;
}

async function openFile(url: string): Promise<Readable> {
  const path = fileURLToPath(url);
  try {
    const st = await stat(path);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOENT' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ImprintError('HTTP_STATUS', `GET ${url}: expected a file, found none`, {
        details: { url, status: 404 },
      });
    }
    throw new ImprintError('IO', `GET ${url}: ${describe(err)}`, { cause: err, details: { url } });
  }
  return createReadStream(path);
}

/** Appends size/sha256 verification to `src` when `expect` says something. */
function withExpect(src: Readable, url: string, expect: Expect | undefined): Readable {
  if (expect === undefined || (expect.size === undefined && expect.sha256 === undefined)) return src;
  const v = new VerifyingStream(
    {
      size: expect.size,
      digest: expect.sha256 === undefined ? undefined : `sha256:${expect.sha256.toLowerCase()}`,
    },
    url,
  );
  return pipeline(src, v, () => undefined);
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== err.message
      ? `${err.message} (${cause.message})`
      : err.message;
  }
  return String(err);
}
