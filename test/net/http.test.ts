import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as wait } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { isImprintError } from '../../src/errors.js';
import { createFetcher, type HttpFetcherOptions, isNotFound } from '../../src/net/http.js';
import { trickleBody } from '../helpers/trickle.js';

const BODY = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
const HEX = createHash('sha256').update(BODY).digest('hex');

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/**
 * A loopback server whose behaviour per path is set by each test; it counts requests per path, and
 * numbers its connections (`conn`: which connection, `nth`: the how-manieth request on it).
 */
let server: Server;
let base: string;
const handlers = new Map<string, Handler>();
const seen: Array<{ path: string; range?: string; ifRange?: string; conn: number; nth: number }> = [];
const connections = new WeakMap<Socket, { id: number; requests: number }>();
let connectionCount = 0;

before(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    const conn = connections.get(req.socket) ?? { id: connectionCount++, requests: 0 };
    connections.set(req.socket, conn);
    conn.requests++;
    const entry: (typeof seen)[number] = { path, conn: conn.id, nth: conn.requests };
    if (req.headers.range !== undefined) entry.range = req.headers.range;
    if (typeof req.headers['if-range'] === 'string') entry.ifRange = req.headers['if-range'];
    seen.push(entry);
    const h = handlers.get(path);
    if (h === undefined) {
      res.writeHead(404).end();
      return;
    }
    h(req, res, seen.filter((s) => s.path === path).length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Serves BODY (or `body`), honouring Range when `ranges` is set. */
function serve(body: Buffer = BODY, opts: { ranges?: boolean; etag?: string } = {}): Handler {
  return (req, res) => {
    const headers: Record<string, string> = {};
    if (opts.ranges === true) {
      headers['accept-ranges'] = 'bytes';
      headers.etag = opts.etag ?? '"v1"';
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (opts.ranges === true && m !== null && req.headers['if-range'] === headers.etag) {
      const start = Number(m[1]);
      res.writeHead(206, {
        ...headers,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        'content-length': String(body.length - start),
      });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(body.length) });
    res.end(body);
  };
}

/** Sends the headers and `n` bytes of BODY, then cuts the connection. */
function breakAfter(n: number, opts: { ranges?: boolean } = {}): Handler {
  return (_req, res) => {
    const headers: Record<string, string> = { 'content-length': String(BODY.length) };
    if (opts.ranges === true) Object.assign(headers, { 'accept-ranges': 'bytes', etag: '"v1"' });
    res.writeHead(200, headers);
    res.write(BODY.subarray(0, n), () => setTimeout(() => res.destroy(), 20));
  };
}

/**
 * Sends the headers, then BODY (from a Range start when asked) `step` bytes every `everyMs` ms: a
 * server that never goes quiet for long, yet would take minutes for a few KB. Stops with the socket.
 */
function trickle(step: number, everyMs: number, opts: { ranges?: boolean } = {}): Handler {
  return (req, res) => {
    const headers: Record<string, string> = {};
    if (opts.ranges === true) Object.assign(headers, { 'accept-ranges': 'bytes', etag: '"v1"' });
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = opts.ranges === true && m !== null ? Number(m[1]) : 0;
    if (start > 0) headers['content-range'] = `bytes ${start}-${BODY.length - 1}/${BODY.length}`;
    res.writeHead(start > 0 ? 206 : 200, { ...headers, 'content-length': String(BODY.length - start) });
    trickleBody(res, BODY.subarray(start), step, everyMs);
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function fetcher(extra: HttpFetcherOptions = {}) {
  const delays: number[] = [];
  const f = createFetcher({
    retries: 3,
    backoffMs: 100,
    random: () => 0.25,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...extra,
  });
  return { f, delays };
}

let pathNo = 0;
function path(h: Handler): string {
  const p = `/r${pathNo++}`;
  handlers.set(p, h);
  return p;
}
const count = (p: string): number => seen.filter((s) => s.path === p).length;

describe('createFetcher', () => {
  it('streams a body and verifies it against an expected size and sha256', async () => {
    const p = path(serve());
    const { f } = fetcher();
    assert.deepEqual(
      await readAll(await f.get(base + p, { expect: { size: BODY.length, sha256: HEX } })),
      BODY,
    );
    await assert.rejects(readAll(await f.get(base + p, { expect: { sha256: 'e'.repeat(64) } })), (e) =>
      isImprintError(e, 'DIGEST_MISMATCH'),
    );
    await assert.rejects(f.get(base + p, { expect: { size: 1 } }), (e) => isImprintError(e, 'SIZE_MISMATCH'));
    assert.deepEqual(await f.getBytes(base + p, BODY.length), BODY);
    await assert.rejects(f.getBytes(base + p, BODY.length - 1), (e) => isImprintError(e, 'SIZE_MISMATCH'));
  });

  it('fails 404 at once with HTTP_STATUS naming the URL and status', async () => {
    const { f, delays } = fetcher();
    const url = `${base}/missing-${pathNo++}`;
    await assert.rejects(f.get(url), (e) => {
      assert.ok(isImprintError(e, 'HTTP_STATUS'));
      assert.equal(e.details.status, 404);
      assert.equal(e.details.url, url);
      assert.ok(e.message.includes(url));
      assert.ok(isNotFound(e));
      return true;
    });
    assert.equal(seen.filter((s) => base + s.path === url).length, 1);
    assert.deepEqual(delays, []);
    const forbidden = path((_q, res) => res.writeHead(403).end());
    await assert.rejects(f.get(base + forbidden), (e) => isImprintError(e, 'HTTP_STATUS') && !isNotFound(e));
    assert.equal(count(forbidden), 1);
  });

  it('retries 5xx and 429 with exponential backoff and jitter, honouring Retry-After', async () => {
    const p = path((req, res, n) => {
      if (n === 1) res.writeHead(503).end();
      else if (n === 2) res.writeHead(502).end();
      else if (n === 3) res.writeHead(429, { 'retry-after': '7' }).end();
      else serve()(req, res, n);
    });
    const { f, delays } = fetcher({ maxBackoffMs: 5000 });
    assert.deepEqual(await readAll(await f.get(base + p)), BODY);
    assert.equal(count(p), 4);
    // 100 * 2^k * (0.5 + 0.25), then Retry-After capped at maxBackoffMs
    assert.deepEqual(delays, [75, 150, 5000]);
  });

  it('gives up after the retries with the last status', async () => {
    const p = path((_q, res) => res.writeHead(500).end());
    const { f, delays } = fetcher({ retries: 2 });
    await assert.rejects(
      f.get(base + p),
      (e) => isImprintError(e, 'HTTP_STATUS') && e.details.status === 500,
    );
    assert.equal(count(p), 3);
    assert.equal(delays.length, 2);
  });

  it('reports unreachable hosts as NETWORK errors naming the URL, after retrying', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const attempts: number[] = [];
    const { f } = fetcher({ retries: 2, onRequest: (i) => attempts.push(i.attempt) });
    const url = `http://127.0.0.1:${port}/x`;
    await assert.rejects(f.get(url), (e) => isImprintError(e, 'NETWORK') && e.message.includes(url));
    assert.deepEqual(attempts, [0, 1, 2]);
  });

  it('resumes a broken body with a Range request when the server allows it', async () => {
    const p = path((req, res, n) =>
      n === 1 ? breakAfter(1234, { ranges: true })(req, res, n) : serve(BODY, { ranges: true })(req, res, n),
    );
    const { f } = fetcher();
    const got = await readAll(await f.get(base + p, { expect: { size: BODY.length, sha256: HEX } }));
    assert.deepEqual(got, BODY);
    const reqs = seen.filter((s) => s.path === p);
    assert.equal(reqs.length, 2);
    assert.equal(reqs[1]?.range, 'bytes=1234-');
    assert.equal(reqs[1]?.ifRange, '"v1"');
  });

  it('fails with NETWORK when a broken body cannot be resumed, or changed meanwhile', async () => {
    const noRanges = path((req, res, n) => (n === 1 ? breakAfter(100)(req, res, n) : serve()(req, res, n)));
    const { f } = fetcher();
    await assert.rejects(
      readAll(await f.get(base + noRanges)),
      (e) => isImprintError(e, 'NETWORK') && e.details.received === 100,
    );
    assert.equal(count(noRanges), 1);
    const changed = path((req, res, n) =>
      n === 1
        ? breakAfter(100, { ranges: true })(req, res, n)
        : serve(BODY, { ranges: true, etag: '"v2"' })(req, res, n),
    );
    await assert.rejects(
      readAll(await f.get(base + changed)),
      (e) => isImprintError(e, 'NETWORK') && /changed/.test(e.message),
    );
  });

  it('times out a server that sends no headers, and one that stalls mid-body', async () => {
    const silent = path(() => undefined);
    const { f } = fetcher({ retries: 0, connectTimeoutMs: 100, idleTimeoutMs: 100 });
    await assert.rejects(f.get(base + silent), (e) => isImprintError(e, 'NETWORK'));
    const stalls = path((_q, res) => {
      res.writeHead(200, { 'content-length': String(BODY.length) });
      res.write(BODY.subarray(0, 10));
    });
    await assert.rejects(
      readAll(await f.get(base + stalls)),
      (e) => isImprintError(e, 'NETWORK') && e.details.received === 10,
    );
  });

  it('says a body stalled (details.stalled idle) and names the URL; a stall before any byte starts over', async () => {
    const stalls = path((_q, res) => {
      res.writeHead(200, { 'content-length': String(BODY.length) });
      res.write(BODY.subarray(0, 10));
    });
    const { f } = fetcher({ retries: 0, idleTimeoutMs: 100 });
    await assert.rejects(readAll(await f.get(base + stalls)), (e) => {
      assert.ok(isImprintError(e, 'NETWORK'));
      assert.equal(e.details.stalled, 'idle');
      assert.ok(e.message.includes(base + stalls), e.message);
      assert.match(e.message, /stalled/);
      return true;
    });
    // Headers, then silence, from a server without ranges: nothing was passed on, so the whole body
    // is asked for again (before, only a ranged resumption could follow a broken body).
    const silentFirst = path((req, res, n) => {
      if (n > 1) serve()(req, res, n);
      else res.writeHead(200, { 'content-length': String(BODY.length) }).flushHeaders();
    });
    const { f: again } = fetcher({ retries: 1, idleTimeoutMs: 100 });
    assert.deepEqual(await readAll(await again.get(base + silentFirst)), BODY);
    assert.equal(count(silentFirst), 2);
    assert.equal(seen.filter((s) => s.path === silentFirst)[1]?.range, undefined);
  });

  it('fails a trickling body below the speed floor (details.stalled slow), which no idle timeout catches', async () => {
    // 1 byte every 10 ms: 100 B/s, far below 2 KB/s; never 200 ms without a byte. Without the floor
    // the 5000 bytes would arrive after ~50 s, and the read would succeed.
    const p = path(trickle(1, 10));
    const { f } = fetcher({
      retries: 0,
      idleTimeoutMs: 200,
      lowSpeedBytesPerSecond: 2048,
      lowSpeedWindowMs: 300,
    });
    await assert.rejects(readAll(await f.get(base + p)), (e) => {
      assert.ok(isImprintError(e, 'NETWORK'));
      assert.equal(e.details.stalled, 'slow');
      assert.ok(e.message.includes(base + p), e.message);
      assert.match(
        e.message,
        /stalled after [0-9]+ bytes: [0-9]+ bytes in .* below the floor of 2048 bytes\/s/,
      );
      return true;
    });
  });

  it('resumes a trickling body with a Range request, and gives up after the retries', async () => {
    const slowFirst = path((req, res, n) =>
      n === 1 ? trickle(1, 10, { ranges: true })(req, res, n) : serve(BODY, { ranges: true })(req, res, n),
    );
    const opts = { idleTimeoutMs: 200, lowSpeedBytesPerSecond: 2048, lowSpeedWindowMs: 300 };
    const { f, delays } = fetcher({ retries: 2, ...opts });
    const got = await readAll(await f.get(base + slowFirst, { expect: { size: BODY.length, sha256: HEX } }));
    assert.deepEqual(got, BODY);
    const reqs = seen.filter((s) => s.path === slowFirst);
    assert.equal(reqs.length, 2);
    assert.match(reqs[1]?.range ?? '', /^bytes=[1-9][0-9]*-$/);
    assert.equal(delays.length, 1);
    const alwaysSlow = path(trickle(1, 10, { ranges: true }));
    await assert.rejects(readAll(await f.get(base + alwaysSlow)), (e) => {
      assert.ok(isImprintError(e, 'NETWORK'));
      assert.equal(e.details.stalled, 'slow');
      assert.equal(e.details.resumes, 2);
      return true;
    });
    assert.equal(count(alwaysSlow), 3);
  });

  it('says a server stalled when it sends no headers in time, after retrying', async () => {
    const silent = path(() => undefined);
    const { f } = fetcher({ retries: 1, connectTimeoutMs: 100 });
    await assert.rejects(f.get(base + silent), (e) => {
      assert.ok(isImprintError(e, 'NETWORK'));
      assert.equal(e.details.stalled, 'connect');
      assert.ok(e.message.includes(base + silent));
      return true;
    });
    assert.equal(count(silent), 2);
  });

  it('stops at once when the caller aborts', async () => {
    const p = path((_q, res) => res.writeHead(503).end());
    const controller = new AbortController();
    const { f } = fetcher({
      sleep: async () => {
        controller.abort(new Error('stop'));
      },
    });
    await assert.rejects(f.get(base + p, { signal: controller.signal }), /stop/);
    assert.equal(count(p), 1);
  });

  it('keeps connections alive: sequential requests share one connection, parallel ones use a few', async () => {
    const p = path(serve());
    const { f } = fetcher();
    for (let i = 0; i < 4; i++) assert.deepEqual(await readAll(await f.get(base + p)), BODY);
    const sequential = seen.filter((s) => s.path === p);
    assert.equal(new Set(sequential.map((s) => s.conn)).size, 1);
    assert.deepEqual(
      sequential.map((s) => s.nth),
      [1, 2, 3, 4],
    );
    const q = path(serve());
    await Promise.all([0, 1, 2].map(async () => readAll(await f.get(base + q))));
    await Promise.all([0, 1, 2].map(async () => readAll(await f.get(base + q))));
    const parallel = seen.filter((s) => s.path === q);
    assert.equal(parallel.length, 6);
    // 3 in flight at most, and the first connection (still open from above) is among those reused
    assert.ok(new Set(parallel.map((s) => s.conn)).size <= 3);
    assert.ok(parallel.some((s) => s.nth > 1));
  });

  it('sends a request again at once when a kept-alive connection turns out closed', async () => {
    // The second request on a connection finds it dropped without an answer, as when the server
    // closed an idle connection just as the request went out: no backoff, no attempt counted.
    const p = path((req, res, n) => (n === 2 ? req.socket.destroy() : serve()(req, res, n)));
    const attempts: number[] = [];
    const { f, delays } = fetcher({ onRequest: (i) => attempts.push(i.attempt) });
    assert.deepEqual(await readAll(await f.get(base + p)), BODY);
    assert.deepEqual(await readAll(await f.get(base + p)), BODY);
    const reqs = seen.filter((s) => s.path === p);
    assert.equal(reqs.length, 3);
    assert.equal(reqs[1]?.nth, 2);
    assert.equal(reqs[2]?.nth, 1);
    assert.deepEqual(delays, []);
    assert.deepEqual(attempts, [0, 0]);
  });

  it('follows redirects (relative and absolute), and gives up on a loop', async () => {
    const target = path(serve());
    const hop = path((_q, res) => res.writeHead(302, { location: target }).end());
    const first = path((_q, res) => res.writeHead(301, { location: base + hop }).end());
    const { f } = fetcher();
    assert.deepEqual(
      await readAll(await f.get(base + first, { expect: { size: BODY.length, sha256: HEX } })),
      BODY,
    );
    assert.deepEqual([count(first), count(hop), count(target)], [1, 1, 1]);
    const loop = `/loop-${pathNo++}`;
    handlers.set(loop, (_q, res) => res.writeHead(307, { location: loop }).end());
    const { f: once } = fetcher({ retries: 0 });
    await assert.rejects(
      once.get(base + loop),
      (e) => isImprintError(e, 'NETWORK') && /redirects/.test(e.message),
    );
    assert.equal(count(loop), 21);
    const away = path((_q, res) => res.writeHead(302, { location: 'ftp://example.invalid/x' }).end());
    await assert.rejects(f.get(base + away), (e) => isImprintError(e, 'UNSUPPORTED'));
  });

  it('refuses an encoded body, which could not be verified', async () => {
    const p = path((_q, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end('x'));
    const { f } = fetcher();
    await assert.rejects(f.get(base + p), (e) => isImprintError(e, 'UNSUPPORTED'));
  });

  it('fails SIZE_MISMATCH as soon as a body exceeds the expected size, and when it ends short', async () => {
    const long = path((_q, res) => {
      res.writeHead(200);
      res.end(BODY);
    });
    const { f } = fetcher();
    await assert.rejects(readAll(await f.get(base + long, { expect: { size: 100 } })), (e) =>
      isImprintError(e, 'SIZE_MISMATCH'),
    );
    await assert.rejects(readAll(await f.get(base + long, { expect: { size: BODY.length + 1 } })), (e) =>
      isImprintError(e, 'SIZE_MISMATCH'),
    );
  });

  it('does not count the time the consumer spends not reading against the idle timeout', async () => {
    const big = Buffer.alloc(8 << 20, 7);
    const p = path(serve(big));
    const { f } = fetcher({ retries: 0, idleTimeoutMs: 100 });
    const stream = await f.get(base + p, { expect: { size: big.length } });
    await wait(300); // nothing read yet
    let total = 0;
    for await (const chunk of stream) {
      if (total === 0) await wait(300); // backpressure mid-body: the server is paused meanwhile
      total += (chunk as Buffer).length;
    }
    assert.equal(total, big.length);
  });

  it('does not count the time the consumer spends not reading against the speed floor', async () => {
    const big = Buffer.alloc(8 << 20, 7);
    const p = path(serve(big));
    // 4 MB/s over 100 ms of reading is nothing for loopback; counted with the pauses it would fail.
    const { f } = fetcher({ retries: 0, lowSpeedBytesPerSecond: 4 << 20, lowSpeedWindowMs: 100 });
    const stream = await f.get(base + p, { expect: { size: big.length } });
    let total = 0;
    let paused = 0;
    for await (const chunk of stream) {
      if (total >= paused * (4 << 20) && paused < 2) {
        paused++;
        await wait(300); // at the start and mid-body: the server is paused meanwhile
      }
      total += (chunk as Buffer).length;
    }
    assert.equal(total, big.length);
  });

  it('reads file: URLs, with 404 semantics for missing files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imprint-net-'));
    try {
      const file = join(dir, 'data');
      writeFileSync(file, BODY);
      const { f } = fetcher();
      assert.deepEqual(
        await readAll(await f.get(pathToFileURL(file).href, { expect: { sha256: HEX } })),
        BODY,
      );
      await assert.rejects(
        readAll(await f.get(pathToFileURL(file).href, { expect: { sha256: '0'.repeat(64) } })),
        (e) => isImprintError(e, 'DIGEST_MISMATCH'),
      );
      await assert.rejects(f.get(pathToFileURL(join(dir, 'nope')).href), (e) => isNotFound(e));
      await assert.rejects(f.get(pathToFileURL(dir).href), (e) => isNotFound(e));
      await assert.rejects(f.get('ftp://example.invalid/x'), (e) => isImprintError(e, 'UNSUPPORTED'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
