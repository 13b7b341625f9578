// HTTP proxies from the environment: http: URLs sent to the proxy in absolute form, https: URLs
// through a CONNECT tunnel, no_proxy and loopback addresses reached directly, credentials in
// Proxy-Authorization.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createFetcher } from '../../src/net/http.js';
import { proxyFor, proxyFromEnv } from '../../src/net/proxy.js';
import { send } from '../../src/transport/registry/http.js';
import { selfSignedCert, tunnelTo } from '../helpers/registry.js';

const read = async (s: AsyncIterable<Buffer | string>): Promise<string> => {
  let text = '';
  for await (const c of s) text += c.toString();
  return text;
};

describe('proxy settings', () => {
  it('reads http_proxy, https_proxy and no_proxy (lower case first), and bypasses loopback', () => {
    const s = proxyFromEnv({
      http_proxy: 'proxy.example:3128',
      HTTP_PROXY: 'http://ignored:1',
      HTTPS_PROXY: 'http://user:p%40ss@secure.example:8080',
      no_proxy: 'internal.example, .corp, mirror.example:8080',
    });
    assert.equal(s.http?.href, 'http://proxy.example:3128/');
    assert.equal(proxyFor(new URL('http://mirror.example/debian/x'), s)?.host, 'proxy.example:3128');
    assert.equal(proxyFor(new URL('https://mirror.example/x'), s)?.host, 'secure.example:8080');
    for (const direct of [
      'http://internal.example/x',
      'http://a.internal.example/x',
      'http://mirror.corp/x',
      'http://mirror.example:8080/x',
      'http://127.0.0.1:8080/x',
      'http://localhost/x',
      'http://[::1]/x',
    ])
      assert.equal(proxyFor(new URL(direct), s), undefined, direct);
    assert.ok(proxyFor(new URL('http://mirror.example/x'), s), 'no_proxy with a port matches that port only');
    assert.equal(
      proxyFor(new URL('http://x.example/'), proxyFromEnv({ http_proxy: 'http://p:1', no_proxy: '*' })),
      undefined,
    );
    assert.equal(proxyFor(new URL('http://x.example/'), proxyFromEnv({})), undefined);
    assert.throws(() => proxyFromEnv({ https_proxy: 'socks5://p:1080' }), { code: 'USAGE' });
  });
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('fetching through a proxy', async () => {
  const seen: Array<{ method: string; url: string; auth: string | undefined }> = [];
  let proxyPort = 0;
  let tlsPort = 0;
  let ca = '';
  const dir = mkdtempSync(join(tmpdir(), 'imprint-proxy-'));
  const proxy = createServer((req: IncomingMessage, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers['proxy-authorization'] });
    res.end(`via proxy: ${req.url}`); // the proxy answers for hosts that do not exist
  });
  proxy.on('connect', (req: IncomingMessage, client: Socket) => {
    seen.push({ method: 'CONNECT', url: req.url ?? '', auth: req.headers['proxy-authorization'] });
    tunnelTo(client, tlsPort);
  });
  const servers: Array<{ close(): void }> = [proxy];
  before(async () => {
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as AddressInfo).port;
    if (!hasOpenssl) return;
    selfSignedCert(join(dir, 'key.pem'), join(dir, 'cert.pem'), 'archive.invalid', 'DNS:archive.invalid');
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const tlsServer = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, (req, res) => {
      res.end(`over tls: ${req.headers.host}${req.url}`);
    });
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    tlsPort = (tlsServer.address() as AddressInfo).port;
    servers.push(tlsServer);
  });
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends http: URLs to the proxy in absolute form, with its credentials', async () => {
    const fetcher = createFetcher({
      retries: 0,
      proxy: proxyFromEnv({ http_proxy: `http://me:secret@127.0.0.1:${proxyPort}` }),
    });
    assert.equal(
      await read(await fetcher.get('http://archive.invalid/debian/dists/x')),
      'via proxy: http://archive.invalid/debian/dists/x',
    );
    const last = seen[seen.length - 1];
    assert.equal(last?.method, 'GET');
    assert.equal(last?.auth, `Basic ${Buffer.from('me:secret').toString('base64')}`);
  });

  it('sends registry requests (any method) through the proxy too', async () => {
    const res = await send(
      { method: 'HEAD', url: 'http://registry.invalid:5000/v2/' },
      { verify: true, proxy: proxyFromEnv({ http_proxy: `http://127.0.0.1:${proxyPort}` }) },
    );
    res.body.resume();
    assert.equal(res.status, 200);
    assert.deepEqual(seen[seen.length - 1], {
      method: 'HEAD',
      url: 'http://registry.invalid:5000/v2/',
      auth: undefined,
    });
  });

  it('tunnels https: URLs through CONNECT and checks the server certificate end to end', {
    skip: !hasOpenssl && 'no openssl',
  }, async () => {
    const fetcher = createFetcher({
      retries: 0,
      ca,
      proxy: proxyFromEnv({ https_proxy: `http://127.0.0.1:${proxyPort}` }),
    });
    assert.equal(
      await read(await fetcher.get('https://archive.invalid/debian/x')),
      'over tls: archive.invalid/debian/x',
    );
    assert.deepEqual(seen[seen.length - 1], {
      method: 'CONNECT',
      url: 'archive.invalid:443',
      auth: undefined,
    });
    // Without the CA the tunnel still ends at a certificate Node does not trust.
    const untrusting = createFetcher({
      retries: 0,
      proxy: proxyFromEnv({ https_proxy: `http://127.0.0.1:${proxyPort}` }),
    });
    await assert.rejects(untrusting.get('https://archive.invalid/debian/x'), { code: 'NETWORK' });
  });
});
