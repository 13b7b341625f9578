import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { VerifyingStream } from '../digest/index.js';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { ResponseBody } from './http-body.js';
import { type ProxySettings, proxyFor, proxyFromEnv, tunnelAgent, viaHttpProxy } from './proxy.js';
import { formatDuration, netTimeoutsFromEnv } from './timeouts.js';
import { type TrustOptions, trustOptions } from './trust.js';

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
  /** Time allowed until response headers arrive (default 30 s, IMPRINT_CONNECT_TIMEOUT; 0: none). */
  connectTimeoutMs?: number;
  /** Time allowed between two body chunks while reading (default 30 s, IMPRINT_IDLE_TIMEOUT; 0: none). */
  idleTimeoutMs?: number;
  /** Speed floor of a body, in bytes per second (default 1024, IMPRINT_LOW_SPEED_LIMIT; 0: none). */
  lowSpeedBytesPerSecond?: number;
  /** Reading time over which the speed is averaged (default 60 s, IMPRINT_LOW_SPEED_TIME). */
  lowSpeedWindowMs?: number;
  /** Environment of the default limits and proxies (default process.env). */
  env?: Record<string, string | undefined>;
  /** Source of jitter in [0, 1) (default Math.random); tests pass a fixed one. */
  random?: () => number;
  /** How to wait (default: a timer that an abort interrupts). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  userAgent?: string;
  /** HTTP proxies (default: http_proxy, https_proxy and no_proxy of the environment); {noProxy: []} for none. */
  proxy?: ProxySettings | undefined;
  /** Certificate authorities trusted for https: (default: Node's bundled roots). */
  ca?: string | Buffer | undefined;
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

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** As many redirects as the WHATWG fetch standard follows. */
const MAX_REDIRECTS = 20;
/** Errors of a kept-alive connection the server closed meanwhile: the request is sent again at once. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

type Client = {
  request: (url: URL, opts: RequestOptions) => ClientRequest;
  agent: Agent;
  /** The TLS trust options of its https requests. */
  trust: TrustOptions;
};

/**
 * Creates the default Fetcher over `node:http`/`node:https` with keep-alive connections (one pool per
 * fetcher; idle connections do not keep the process alive), retries with backoff, timeouts, redirects
 * and resumption. `node:https` is loaded on the first https: URL.
 */
export function createFetcher(options: HttpFetcherOptions = {}): Fetcher {
  const retries = options.retries ?? 4;
  const backoffMs = options.backoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 20_000;
  const env = options.env ?? process.env;
  const limits = netTimeoutsFromEnv(env);
  const connectTimeoutMs = options.connectTimeoutMs ?? limits.connectTimeoutMs;
  const idleTimeoutMs = options.idleTimeoutMs ?? limits.idleTimeoutMs;
  const lowSpeedBytesPerSecond = options.lowSpeedBytesPerSecond ?? limits.lowSpeedBytesPerSecond;
  const lowSpeedWindowMs = options.lowSpeedWindowMs ?? limits.lowSpeedWindowMs;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  const clients = new Map<string, Promise<Client>>();
  const proxies = options.proxy === undefined ? proxyFromEnv(env) : options.proxy;

  /** The connection pool for a protocol, direct or through a proxy (a CONNECT tunnel for https). */
  const clientFor = (protocol: string, proxy: URL | undefined): Promise<Client> => {
    const key = `${protocol} ${proxy?.href ?? ''}`;
    let c = clients.get(key);
    if (c === undefined) {
      c =
        proxy !== undefined && protocol === 'https:'
          ? Promise.all([import('node:http'), import('node:https'), import('node:tls')]).then(
              ([http, https, tls]) => ({
                request: https.request,
                agent: tunnelAgent(proxy, http, https, tls.connect as (opts: object) => Socket),
                trust: trustOptions(tls, options.ca, env),
              }),
            )
          : protocol === 'https:'
            ? Promise.all([import('node:https'), import('node:tls')]).then(([https, tls]) => ({
                request: https.request,
                agent: new https.Agent({ keepAlive: true, scheduling: 'lifo' }),
                trust: trustOptions(tls, options.ca, env),
              }))
            : import('node:http').then((http) => ({
                request: http.request,
                agent: new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
                trust: {},
              }));
      clients.set(key, c);
    }
    return c;
  };

  const delay = (attempt: number, retryAfter?: string): number => {
    const seconds = retryAfter === undefined ? Number.NaN : Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, maxBackoffMs);
    return Math.min(backoffMs * 2 ** attempt * (0.5 + random()), maxBackoffMs);
  };

  /** One GET on one connection; resolves with the response head. A stale kept-alive connection is retried. */
  const send = async (
    url: URL,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<IncomingMessage> => {
    const proxy = proxyFor(url, proxies);
    const client = await clientFor(url.protocol, proxy);
    for (;;) {
      signal.throwIfAborted();
      const outcome = await new Promise<{ res?: IncomingMessage; err?: unknown; stale?: boolean }>(
        (resolve) => {
          const tls = url.protocol === 'https:' ? client.trust : {};
          const req =
            proxy !== undefined && url.protocol === 'http:'
              ? client.request(url, { ...viaHttpProxy(url, proxy, headers), agent: client.agent })
              : client.request(url, { method: 'GET', headers, agent: client.agent, ...tls });
          const onAbort = (): void => {
            req.destroy(signal.reason);
          };
          signal.addEventListener('abort', onAbort, { once: true });
          req.on('response', (res) => {
            signal.removeEventListener('abort', onAbort);
            resolve({ res });
          });
          // Stays attached: an error after the response (the body's socket) must not be unhandled.
          req.on('error', (err: NodeJS.ErrnoException) => {
            signal.removeEventListener('abort', onAbort);
            resolve({ err, stale: req.reusedSocket && !signal.aborted && STALE_SOCKET.has(err.code ?? '') });
          });
          req.end();
        },
      );
      if (outcome.res !== undefined) return outcome.res;
      if (outcome.stale !== true) throw outcome.err;
    }
  };

  /** One attempt: GET with redirects followed, until the response head of the final URL. */
  const attempt = async (
    url: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<IncomingMessage> => {
    let current = new URL(url);
    for (let hop = 0; ; hop++) {
      const res = await send(current, headers, signal);
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined) return res;
      res.resume(); // drained, the connection goes back to the pool
      if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
      current = new URL(location, current);
      if (current.protocol !== 'http:' && current.protocol !== 'https:') {
        throw new ImprintError(
          'UNSUPPORTED',
          `GET ${url}: redirected to ${current.href}, which is not http(s)`,
          {
            details: { url, location: current.href },
          },
        );
      }
    }
  };

  /** A request with retries; resolves with a 200 (or 206 for a range) response whose body is not read yet. */
  const open = async (
    url: string,
    signal: AbortSignal | undefined,
    range?: { start: number; validator: string },
  ): Promise<IncomingMessage> => {
    let lastError: unknown;
    for (let n = 0; n <= retries; n++) {
      if (n > 0) await sleep(delay(n - 1, retryAfterOf(lastError)), signal);
      signal?.throwIfAborted();
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer =
        connectTimeoutMs > 0
          ? setTimeout(
              () => controller.abort(new Error(`no response within ${formatDuration(connectTimeoutMs)}`)),
              connectTimeoutMs,
            )
          : undefined;
      const headers: Record<string, string> = {
        'user-agent': options.userAgent ?? 'imprint',
        'accept-encoding': 'identity',
      };
      if (range !== undefined) {
        headers.range = `bytes=${range.start}-`;
        headers['if-range'] = range.validator;
      }
      options.onRequest?.(
        range === undefined ? { url, attempt: n } : { url, attempt: n, rangeStart: range.start },
      );
      let res: IncomingMessage;
      try {
        res = await attempt(url, headers, controller.signal);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (isImprintError(err)) throw err;
        // Our own deadline, not the caller's abort: the server accepted and did not answer in time.
        const stalled = controller.signal.aborted;
        lastError = new ImprintError(
          'NETWORK',
          stalled ? `GET ${url}: the server stalled: ${errorText(err)}` : `GET ${url}: ${errorText(err)}`,
          {
            hint: stalled
              ? 'The server accepted the connection but did not answer; try again later, or another mirror. The limit is IMPRINT_CONNECT_TIMEOUT.'
              : "Check the network and the URL (behind a proxy, set http_proxy and https_proxy: apt.conf's Acquire::http::Proxy is not read); imprint retried with backoff.",
            cause: err,
            details: stalled ? { url, attempts: n + 1, stalled: 'connect' } : { url, attempts: n + 1 },
          },
        );
        continue;
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      const status = res.statusCode ?? 0;
      if (status === 200 || (range !== undefined && status === 206)) {
        const encoding = res.headers['content-encoding'];
        if (encoding !== undefined && encoding !== 'identity') {
          res.destroy();
          throw new ImprintError(
            'UNSUPPORTED',
            `GET ${url}: expected an unencoded body, found Content-Encoding ${encoding}`,
            {
              hint: 'imprint asks for identity encoding; use another server or mirror.',
              details: { url, encoding },
            },
          );
        }
        return res;
      }
      res.resume();
      const retryAfter = res.headers['retry-after'];
      const statusError = new ImprintError(
        'HTTP_STATUS',
        `GET ${url}: expected status 200, found ${status} ${res.statusMessage ?? ''}`.trimEnd(),
        {
          hint:
            status === 404
              ? 'The archive does not have this file: check the URL, suite, component and architecture.'
              : undefined,
          details: { url, status, retryAfter: retryAfter ?? null },
        },
      );
      if (!RETRYABLE.has(status)) throw statusError;
      lastError = statusError;
    }
    throw lastError;
  };

  const get = async (url: string, opts: GetOptions = {}): Promise<Readable> => {
    if (url.startsWith('file:')) return withExpect(await openFile(url), url, opts.expect);
    if (!/^https?:/.test(url)) {
      throw new ImprintError(
        'UNSUPPORTED',
        `cannot fetch ${url}: only http:, https: and file: URLs are supported`,
        { details: { url } },
      );
    }
    const { signal, expect } = opts;
    const res = await open(url, signal);
    const length = res.headers['content-length'];
    if (expect?.size !== undefined && length !== undefined && Number(length) !== expect.size) {
      res.destroy();
      throw new ImprintError(
        'SIZE_MISMATCH',
        `GET ${url}: expected ${expect.size} bytes, the server announced ${length}`,
        {
          hint: 'The mirror serves a different file than the metadata lists; try again later or another mirror.',
          details: { url, expected: expect.size, found: Number(length) },
        },
      );
    }
    const etag = res.headers.etag;
    const validator = etag ?? res.headers['last-modified'];
    const ranges = (res.headers['accept-ranges'] ?? '').includes('bytes') && validator !== undefined;
    const resume = async (received: number, resumes: number): Promise<IncomingMessage> => {
      await sleep(delay(resumes), signal);
      // Nothing received yet: the whole body again, from any server.
      if (received === 0) return open(url, signal);
      const next = await open(url, signal, { start: received, validator: validator as string });
      const cr = next.headers['content-range'] ?? '';
      if (next.statusCode !== 206 || !cr.startsWith(`bytes ${received}-`)) {
        next.destroy();
        throw new ImprintError(
          'NETWORK',
          `GET ${url}: could not resume at byte ${received} (status ${next.statusCode}, Content-Range ${JSON.stringify(cr)}); the file changed on the server`,
          { details: { url, received, status: next.statusCode } },
        );
      }
      return next;
    };
    const body = new ResponseBody(res, {
      url,
      idleTimeoutMs,
      lowSpeedBytesPerSecond,
      lowSpeedWindowMs,
      expectSize: expect?.size,
      signal,
      resume,
      canResume: (received) => received === 0 || ranges,
      maxResumes: retries,
    });
    // The size is checked by the body itself; a sha256 needs a hash over the bytes.
    return expect?.sha256 === undefined ? body : withExpect(body, url, { sha256: expect.sha256 });
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
    throw new ImprintError('IO', `GET ${url}: ${errorText(err)}`, { cause: err, details: { url } });
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
