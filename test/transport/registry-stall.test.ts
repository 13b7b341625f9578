// A registry that stalls: silent after the request, silent mid-body, or trickling. Each read fails
// NETWORK saying it stalled (within the short limits set here) instead of hanging, and blob bodies
// resume with a Range request; manifests are asked for again. Also how a localhost registry is reached.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Digest } from '../../src/digest/index.js';
import { isImprintError } from '../../src/errors.js';
import { RegistryClient } from '../../src/transport/registry/client.js';
import { RegistryBlobReader } from '../../src/transport/registry/pull.js';
import { selfSignedCert } from '../helpers/registry.js';

const BLOB = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}` as Digest;
const MANIFEST = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json' }),
);
/** Limits a test can wait for: 200 ms without a byte, or under 2 KB/s over 300 ms of reading. */
const LIMITS = {
  connectTimeoutMs: 200,
  idleTimeoutMs: 200,
  lowSpeedBytesPerSecond: 2048,
  lowSpeedWindowMs: 300,
};

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

let server: Server;
let host: string;
let handler: Handler;
let calls = 0;
const ranges: Array<string | undefined> = [];

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/v2/') {
      res.writeHead(200).end('{}');
      return;
    }
    ranges.push(req.headers.range);
    handler(req, res, ++calls);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Sets the handler for the next test and forgets earlier requests. */
function serve(h: Handler): void {
  handler = h;
  calls = 0;
  ranges.length = 0;
}

/** Answers with `body` (from a Range start when asked, as 206), all at once. */
function whole(body: Buffer): Handler {
  return (req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m === null ? 0 : Number(m[1]);
    const headers: Record<string, string> = { 'content-length': String(body.length - start) };
    if (start > 0) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers).end(body.subarray(start));
  };
}

/** Answers 200 with `body`'s length, then sends one byte every 10 ms: never idle, far too slow. */
function trickle(body: Buffer): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': String(body.length) });
    let at = 0;
    const t = setInterval(() => {
      if (res.destroyed || at >= body.length) {
        clearInterval(t);
        res.end();
        return;
      }
      res.write(body.subarray(at, ++at));
    }, 10);
    res.on('close', () => clearInterval(t));
  };
}

const client = (retries: number) =>
  new RegistryClient(host, 'r', { retries, backoffMs: 1, random: () => 0, timeouts: LIMITS });

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('registry client against a stalling registry', () => {
  it('a registry that never answers is NETWORK, stalled, after the retries', async () => {
    serve(() => undefined);
    await assert.rejects(client(1).request({ method: 'GET', path: 'manifests/t' }), (e) => {
      assert.ok(isImprintError(e, 'NETWORK'));
      assert.equal(e.details.stalled, 'connect');
      assert.match(e.message, /stalled/);
      return true;
    });
    assert.equal(calls, 2);
  });

  it('a registry whose /v2/ never answers: the hint names the timeout variables, not TLS', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const at = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const c = new RegistryClient(at, 'r', { retries: 0, backoffMs: 1, random: () => 0, timeouts: LIMITS });
      await assert.rejects(c.request({ method: 'GET', path: 'manifests/t' }), (e) => {
        assert.ok(isImprintError(e, 'NETWORK'));
        assert.match(e.message, /cannot reach registry .*stalled/);
        assert.match(e.hint ?? '', /IMPRINT_CONNECT_TIMEOUT/);
        assert.doesNotMatch(e.hint ?? '', /tls-verify/);
        return true;
      });
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('a plain-http localhost registry is reached with a caFile given (one --ca-file serves both sides of a copy)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imprint-ca-'));
    try {
      selfSignedCert(join(dir, 'key.pem'), join(dir, 'cert.pem'), 'other', 'DNS:other.example');
      serve(whole(MANIFEST));
      const c = new RegistryClient(host, 'r', {
        retries: 0,
        caFile: join(dir, 'cert.pem'),
        timeouts: LIMITS,
      });
      const { bytes } = await new RegistryBlobReader(c).manifest('t');
      assert.deepEqual(bytes, MANIFEST);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a localhost registry that is not running: the hint does not suggest --tls-verify=false', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const at = `127.0.0.1:${(closed.address() as { port: number }).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const c = new RegistryClient(at, 'r', { retries: 0, backoffMs: 1, random: () => 0, timeouts: LIMITS });
    await assert.rejects(c.request({ method: 'GET', path: 'manifests/t' }), (e) => {
      assert.ok(isImprintError(e, 'NETWORK'));
      assert.match(e.message, /cannot reach registry/);
      assert.doesNotMatch(e.hint ?? '', /tls-verify/);
      return true;
    });
  });

  it('a blob that trickles is resumed with a Range request and verified', async () => {
    serve((req, res, n) => (n === 1 ? trickle(BLOB)(req, res, n) : whole(BLOB)(req, res, n)));
    const reader = new RegistryBlobReader(client(2));
    const got = await readAll(await reader.open({ digest: DIGEST, size: BLOB.length }));
    assert.deepEqual(got, BLOB);
    assert.equal(calls, 2);
    assert.equal(ranges[0], undefined);
    assert.match(ranges[1] ?? '', /^bytes=[1-9][0-9]*-$/);
  });

  it('a registry that answers the range with the whole blob is read past what arrived', async () => {
    serve((_req, res, n) => {
      if (n > 1) {
        res.writeHead(200, { 'content-length': String(BLOB.length) }).end(BLOB); // Range ignored
        return;
      }
      res.writeHead(200, { 'content-length': String(BLOB.length) });
      res.write(BLOB.subarray(0, 1000), () => setTimeout(() => res.destroy(), 20));
    });
    const reader = new RegistryBlobReader(client(1));
    assert.deepEqual(await readAll(await reader.open({ digest: DIGEST, size: BLOB.length })), BLOB);
    assert.deepEqual(ranges, [undefined, 'bytes=1000-']);
  });

  it('a blob that goes silent for good is NETWORK naming the blob and saying it stalled', async () => {
    serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(BLOB.length) });
      res.write(BLOB.subarray(0, 100));
    });
    const reader = new RegistryBlobReader(client(1));
    await assert.rejects(readAll(await reader.open({ digest: DIGEST, size: BLOB.length })), (e) => {
      assert.ok(isImprintError(e, 'NETWORK'));
      assert.equal(e.details.stalled, 'idle');
      assert.ok(e.message.includes(DIGEST), e.message);
      assert.match(e.message, /stalled after 100 bytes/);
      return true;
    });
    assert.deepEqual(ranges, [undefined, 'bytes=100-']);
  });

  it('a manifest whose body stalls is asked for again', async () => {
    serve((req, res, n) => {
      if (n > 1) {
        whole(MANIFEST)(req, res, n);
        return;
      }
      res.writeHead(200, { 'content-length': String(MANIFEST.length) });
      res.write(MANIFEST.subarray(0, 5));
    });
    const { bytes } = await new RegistryBlobReader(client(1)).manifest('t');
    assert.deepEqual(bytes, MANIFEST);
    assert.equal(calls, 2);
  });
});
