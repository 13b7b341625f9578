// Registry client units: challenges, credentials lookup, --creds, retries with Retry-After, AUTH on 401.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  authFiles,
  lookupCredentials,
  parseChallenge,
  parseCreds,
} from '../../src/transport/registry/auth.js';
import { isLocalhost, RegistryClient } from '../../src/transport/registry/client.js';
import { readRegistry } from '../../src/transport/registry/index.js';
import { rejectsWith } from './fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imprint-registry-client-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('auth', () => {
  it('parses bearer and basic challenges', () => {
    assert.deepEqual(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"',
      ),
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:a/b:pull',
        },
      },
    );
    assert.deepEqual(parseChallenge('Basic realm="x y"'), { scheme: 'basic', params: { realm: 'x y' } });
  });

  it('parses --creds; the password may hold colons; an empty user is USAGE', () => {
    assert.deepEqual(parseCreds('u:p:q'), { username: 'u', password: 'p:q' });
    assert.deepEqual(parseCreds('u'), { username: 'u', password: '' });
    assert.throws(
      () => parseCreds(':p'),
      (e: unknown) => (e as { code?: string }).code === 'USAGE',
    );
  });

  it('looks credentials up in order, skipping missing files; malformed JSON is AUTH', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    await writeFile(
      a,
      JSON.stringify({ auths: { 'other.example': { auth: Buffer.from('x:y').toString('base64') } } }),
    );
    await writeFile(
      b,
      JSON.stringify({
        auths: { 'https://reg.example:5000': { auth: Buffer.from('me:pw').toString('base64') } },
      }),
    );
    assert.deepEqual(await lookupCredentials('reg.example:5000', [join(dir, 'absent'), a, b]), {
      username: 'me',
      password: 'pw',
    });
    assert.equal(await lookupCredentials('nothing.example', [a, b]), undefined);
    const hub = join(dir, 'hub.json');
    await writeFile(
      hub,
      JSON.stringify({
        auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('h:1').toString('base64') } },
      }),
    );
    assert.deepEqual(await lookupCredentials('docker.io', [hub]), { username: 'h', password: '1' });
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{');
    await rejectsWith(lookupCredentials('reg.example', [bad]), 'AUTH');
  });

  it('searches $REGISTRY_AUTH_FILE, containers auth.json, then docker config.json', () => {
    assert.deepEqual(authFiles({ REGISTRY_AUTH_FILE: '/r.json', XDG_RUNTIME_DIR: '/run/u' }, '/home/u'), [
      '/r.json',
      '/run/u/containers/auth.json',
      '/home/u/.config/containers/auth.json',
      '/home/u/.docker/config.json',
    ]);
  });

  it('treats localhost and 127.0.0.1 as insecure registries', () => {
    assert.equal(isLocalhost('localhost:5000'), true);
    assert.equal(isLocalhost('127.0.0.1'), true);
    assert.equal(isLocalhost('registry.example:5000'), false);
  });
});

describe('client against a scripted server', () => {
  let server: Server;
  let host: string;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  const seen: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/v2/') {
        res.writeHead(200).end('{}');
        return;
      }
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('retries 503 with Retry-After, then succeeds', async () => {
    let n = 0;
    handler = (_req, res) => {
      n++;
      if (n < 3) res.writeHead(503, { 'retry-after': '0' }).end();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    };
    const client = new RegistryClient(host, 'r', { backoffMs: 1, random: () => 0 });
    const res = await client.request({ method: 'GET', path: 'tags/list' });
    assert.equal(res.status, 200);
    res.body.resume();
    assert.equal(n, 3);
  });

  it('gives up after the retries with REGISTRY; 401 is AUTH', async () => {
    handler = (_req, res) => res.writeHead(500).end('{"errors":[{"code":"UNKNOWN","message":"boom"}]}');
    await rejectsWith(
      readRegistry({ registry: host, repository: 'r', tag: 't' }, { retries: 2, backoffMs: 1 }),
      'REGISTRY',
    );
    handler = (_req, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
    await rejectsWith(
      readRegistry({ registry: host, repository: 'r', tag: 't' }, { backoffMs: 1, authFiles: [] }),
      'AUTH',
    );
  });

  it('a manifest whose bytes do not match the digest asked for is DIGEST_MISMATCH', async () => {
    handler = (_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })
        .end('{"schemaVersion":2}');
    await rejectsWith(
      readRegistry({ registry: host, repository: 'r', digest: `sha256:${'0'.repeat(64)}` }, { backoffMs: 1 }),
      'DIGEST_MISMATCH',
    );
  });
});

describe('bearer token auth', () => {
  let server: Server;
  let host: string;
  const tokenRequests: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token') {
        tokenRequests.push(
          `${url.searchParams.getAll('scope').join(' ')} ${req.headers.authorization ?? '-'}`,
        );
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t0k"}');
        return;
      }
      if (req.headers.authorization !== 'Bearer t0k') {
        res
          .writeHead(401, {
            'www-authenticate': `Bearer realm="http://${host}/token",service="test",scope="repository:team/app:pull"`,
          })
          .end();
        return;
      }
      if (url.pathname === '/v2/team/app/manifests/v1') {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
        res.end('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}');
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fetches a token for the repository scope with basic credentials and uses it', async () => {
    const set = await readRegistry(
      { registry: host, repository: 'team/app', tag: 'v1' },
      { backoffMs: 1, creds: { username: 'u', password: 'p' } },
    );
    assert.equal(set.index.manifests[0]?.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(tokenRequests, [
      `repository:team/app:pull Basic ${Buffer.from('u:p').toString('base64')}`,
    ]);
  });
});
