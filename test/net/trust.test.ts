// The certificates https connections trust: a caller's CA replaces the defaults; the file bin/imprint
// takes over from NODE_EXTRA_CA_CERTS (as IMPRINT_EXTRA_CA_CERTS, so Node 20 does not read it at every
// start) is added to them at the first connection; bin/imprint's sh part hands the variable over.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tls from 'node:tls';
import { DEFERRED_CA_ENV, type TrustOptions, trustAdding, trustOptions } from '../../src/net/trust.js';
import { ROOT } from '../helpers/cli.js';
import { selfSignedCert, tunnelTo } from '../helpers/registry.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const BIN = join(ROOT, 'bin', 'imprint');

describe('https trust', { skip: !hasOpenssl && 'no openssl' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-trust-'));
  const certFile = join(dir, 'cert.pem');
  let port = 0;
  let proxyPort = 0;
  const servers: Array<{ close(): void }> = [];
  const seen: string[] = [];

  before(async () => {
    selfSignedCert(join(dir, 'key.pem'), certFile, 'registry.invalid', 'DNS:registry.invalid');
    // A registry that has nothing: /v2/ answers, every manifest is unknown.
    const server = createHttpsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(certFile) },
      (req, res) => {
        seen.push(req.url ?? '');
        res.setHeader('content-type', 'application/json');
        if (req.url === '/v2/') res.end('{}');
        else {
          res.statusCode = 404;
          res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
        }
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    servers.push(server);
    // A proxy that tunnels every CONNECT to that server, so a name that is not loopback reaches it.
    const proxy = createHttpServer();
    proxy.on('connect', (_req: IncomingMessage, client: Socket) => tunnelTo(client, port));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as AddressInfo).port;
    servers.push(proxy);
  });
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** GETs /v2/ from the server as registry.invalid with these trust options: the status, or the error code. */
  const get = (trust: TrustOptions): Promise<string> =>
    new Promise((resolve) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port, path: '/v2/', servername: 'registry.invalid', agent: false, ...trust },
        (res) => {
          res.resume();
          resolve(String(res.statusCode));
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.end();
    });

  it('adds the certificates of IMPRINT_EXTRA_CA_CERTS to the defaults, and a caller CA replaces them', async () => {
    assert.deepEqual(trustOptions(tls, undefined, {}), {}, 'nothing deferred: Node decides');
    const trust = trustOptions(tls, undefined, { [DEFERRED_CA_ENV]: certFile });
    assert.ok('secureContext' in trust);
    assert.equal(await get(trust), '200');
    assert.equal(
      (trustOptions(tls, undefined, { [DEFERRED_CA_ENV]: certFile }) as { secureContext: unknown })
        .secureContext,
      trust.secureContext,
      'read once',
    );
    assert.equal(await get({}), 'DEPTH_ZERO_SELF_SIGNED_CERT', 'not trusted by default');
    const pem = readFileSync(certFile);
    assert.deepEqual(trustOptions(tls, pem, { [DEFERRED_CA_ENV]: '/nonexistent' }), { ca: pem });
  });

  it("trustAdding keeps the defaults and IMPRINT_EXTRA_CA_CERTS's file beside a registry's CA", async () => {
    // Another CA, which did not sign the server's certificate (a --ca-file for another registry).
    const otherFile = join(dir, 'other.pem');
    selfSignedCert(join(dir, 'other-key.pem'), otherFile, 'other.invalid', 'DNS:other.invalid');
    const other = readFileSync(otherFile);
    assert.equal(
      await get(trustOptions(tls, other, { [DEFERRED_CA_ENV]: certFile })),
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    );
    const adding = trustAdding(tls, other, { [DEFERRED_CA_ENV]: certFile });
    assert.equal(await get(adding), '200', "the deferred file's certificate is still trusted");
    assert.equal(await get(trustAdding(tls, readFileSync(certFile), {})), '200', 'and the added one');
    assert.equal(await get(trustAdding(tls, other, {})), 'DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it("skips an unreadable file with Node's warning for NODE_EXTRA_CA_CERTS", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const missing = join(dir, 'missing.pem');
      assert.deepEqual(trustOptions(tls, undefined, { [DEFERRED_CA_ENV]: missing }), {});
      await new Promise((r) => setImmediate(r));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] ?? '', /Ignoring extra certs from `.*missing\.pem`, load failed: ENOENT/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it("bin/imprint's sh part hands NODE_EXTRA_CA_CERTS over before Node starts, arguments intact", () => {
    // A `node` that prints what it was given.
    const fake = join(dir, 'fakebin');
    mkdirSync(fake);
    writeFileSync(
      join(fake, 'node'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: sh parameter expansions
      '#!/bin/sh\necho "NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS-unset}"\necho "IMPRINT_EXTRA_CA_CERTS=${IMPRINT_EXTRA_CA_CERTS-unset}"\nfor a in "$@"; do echo "arg=$a"; done\n',
    );
    chmodSync(join(fake, 'node'), 0o755);
    const run = (env: Record<string, string>): string[] => {
      const r = spawnSync(BIN, ['build', 'a dir', '--x=*'], {
        env: { PATH: `${fake}:/usr/bin:/bin`, ...env },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n');
    };
    assert.deepEqual(run({ NODE_EXTRA_CA_CERTS: '/etc/x y.pem' }), [
      'NODE_EXTRA_CA_CERTS=unset',
      'IMPRINT_EXTRA_CA_CERTS=/etc/x y.pem',
      `arg=${BIN}`,
      'arg=build',
      'arg=a dir',
      'arg=--x=*',
    ]);
    assert.deepEqual(run({}).slice(0, 2), ['NODE_EXTRA_CA_CERTS=unset', 'IMPRINT_EXTRA_CA_CERTS=unset']);
  });

  it('trusts NODE_EXTRA_CA_CERTS in a real command, started either way', async () => {
    // Started asynchronously: the server answering runs in this process.
    const inspect = (
      argv: string[],
      env: Record<string, string>,
    ): Promise<{ code: number | null; err: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(
          argv[0] as string,
          [...argv.slice(1), 'inspect', 'docker://registry.invalid/app:1'],
          {
            env: {
              PATH: process.env.PATH ?? '/usr/bin:/bin',
              https_proxy: `http://127.0.0.1:${proxyPort}`,
              ...env,
            },
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        let err = '';
        child.stderr.on('data', (d) => {
          err += d;
        });
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, err }));
      });
    for (const argv of [[BIN], [process.execPath, BIN]]) {
      const before = seen.length;
      const trusted = await inspect(argv, { NODE_EXTRA_CA_CERTS: certFile });
      assert.notEqual(trusted.code, 0);
      assert.match(trusted.err, /the registry has no such manifest/, `${argv.join(' ')}: ${trusted.err}`);
      assert.ok(seen.length > before, 'the registry was asked');
      const untrusted = await inspect(argv, {});
      assert.match(untrusted.err, /certificate/i, `${argv.join(' ')} without the CA: ${untrusted.err}`);
    }
  });
});
