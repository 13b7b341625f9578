// Registry client units: challenges, credentials lookup (auth files, credential helpers), --creds, retries
// with Retry-After, AUTH on 401, bearer tokens (basic credentials, identity tokens).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
import { apiHost, isLocalhost, RegistryClient } from '../../src/transport/registry/client.js';
import { listReferrers, readRegistry } from '../../src/transport/registry/index.js';
import { writeCredentialHelper } from '../helpers/registry.js';
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

  it('prefers keys scoped to the repository (most specific first), as containers-auth.json(5) says', async () => {
    const f = join(dir, 'scoped.json');
    const entry = (u: string) => ({ auth: Buffer.from(`${u}:pw`).toString('base64') });
    await writeFile(
      f,
      JSON.stringify({
        auths: {
          'reg.example': entry('host'),
          'reg.example/team': entry('team'),
          'reg.example/team/app': entry('app'),
        },
      }),
    );
    const who = async (repository?: string) =>
      (await lookupCredentials('reg.example', [f], repository === undefined ? {} : { repository }))?.username;
    assert.equal(await who('team/app'), 'app');
    assert.equal(await who('team/other'), 'team');
    assert.equal(await who('elsewhere'), 'host');
    assert.equal(await who(), 'host');
  });

  it('searches /run/containers/<uid>/auth.json when XDG_RUNTIME_DIR is unset (where podman login writes then)', () => {
    assert.deepEqual(authFiles({}, '/home/u', 0), [
      '/run/containers/0/auth.json',
      '/home/u/.config/containers/auth.json',
      '/home/u/.docker/config.json',
    ]);
    assert.deepEqual(
      authFiles({ XDG_RUNTIME_DIR: '/run/user/1000' }, '/home/u', 1000)[0],
      '/run/user/1000/containers/auth.json',
    );
  });

  it('runs credential helpers: credHelpers of the registry, else the auths entry, else credsStore', async () => {
    const bin = join(dir, 'bin');
    const log = join(dir, 'helper.log');
    writeCredentialHelper(bin, 'fake', {
      log,
      answers: {
        'good.example': { Username: 'helper-user', Secret: 'helper-pw' },
        'https://index.docker.io/v1/': { Username: '<token>', Secret: 'refresh-me' },
      },
      failures: { 'broken.example': 'keychain is locked' },
    });
    writeCredentialHelper(bin, 'none', { log });
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const cfg = join(dir, 'helpers.json');
    await writeFile(
      cfg,
      JSON.stringify({
        auths: { 'good.example': { auth: b64('inline:pw') }, 'inline.example': { auth: b64('i:1') } },
        credHelpers: {
          'good.example': 'fake',
          'broken.example': 'fake',
          'missing.example': 'fake',
          'absent.example': 'absent',
          'odd.example': '../fake',
        },
        credsStore: 'fake',
      }),
    );
    const next = join(dir, 'next.json');
    await writeFile(next, JSON.stringify({ auths: { 'missing.example': { auth: b64('n:2') } } }));
    const asked = async (): Promise<string[]> => {
      const text = await readFile(log, 'utf8').catch(() => '');
      await writeFile(log, '');
      return text.split('\n').filter((l) => l !== '');
    };

    // credHelpers wins over the auths entry of the same file
    assert.deepEqual(await lookupCredentials('good.example', [cfg], { env }), {
      username: 'helper-user',
      password: 'helper-pw',
    });
    assert.deepEqual(await asked(), ['good.example']);
    // an auths entry wins over credsStore (no helper runs)
    assert.deepEqual(await lookupCredentials('inline.example', [cfg], { env }), {
      username: 'i',
      password: '1',
    });
    assert.deepEqual(await asked(), []);
    // credsStore for Docker Hub: asked under docker's key first; `<token>` is an identity token
    assert.deepEqual(await lookupCredentials('docker.io', [cfg], { env }), {
      username: '',
      password: '',
      identityToken: 'refresh-me',
    });
    assert.deepEqual(await asked(), ['https://index.docker.io/v1/']);
    // "not found" from the credHelpers helper: the next file, not this file's other sources
    assert.deepEqual(await lookupCredentials('missing.example', [cfg, next], { env }), {
      username: 'n',
      password: '2',
    });
    assert.deepEqual(await asked(), ['missing.example']);
    assert.equal(await lookupCredentials('nowhere.example', [cfg], { env }), undefined);
    assert.deepEqual(await asked(), ['nowhere.example']);
    const store = join(dir, 'store.json');
    await writeFile(store, JSON.stringify({ auths: { 'docker.io': {} }, credsStore: 'none' }));
    assert.equal(await lookupCredentials('docker.io', [store], { env }), undefined);
    assert.deepEqual(await asked(), ['https://index.docker.io/v1/', 'docker.io']);

    // a failing helper, a missing one and a bad name are AUTH errors naming the helper and the file
    for (const [registry, helper] of [
      ['broken.example', 'fake'],
      ['absent.example', 'absent'],
      ['odd.example', '../fake'],
    ] as const) {
      await assert.rejects(lookupCredentials(registry, [cfg], { env }), (err: unknown) => {
        const e = err as { code?: string; details?: Record<string, unknown>; message: string };
        assert.equal(e.code, 'AUTH', e.message);
        assert.equal(e.details?.helper, helper);
        assert.equal(e.details?.file, cfg);
        return true;
      });
    }
    // output that is not JSON: AUTH, without quoting it (it may hold a secret)
    await writeFile(join(bin, 'docker-credential-garbage'), '#!/bin/sh\necho "hunter2 is the password"\n', {
      mode: 0o755,
    });
    const garbage = join(dir, 'garbage.json');
    await writeFile(garbage, JSON.stringify({ credsStore: 'garbage' }));
    await assert.rejects(lookupCredentials('x.example', [garbage], { env }), (err: unknown) => {
      const e = err as { code?: string; message: string; cause?: unknown };
      assert.equal(e.code, 'AUTH');
      assert.ok(!`${e.message} ${String(e.cause)}`.includes('hunter2'), e.message);
      return true;
    });
    // the helper runs with the environment given: without the PATH entry it is missing
    await rejectsWith(lookupCredentials('good.example', [cfg], { env: { PATH: '/nonexistent' } }), 'AUTH');
  });

  it('reads identitytoken entries of auth files', async () => {
    const file = join(dir, 'identity.json');
    await writeFile(
      file,
      JSON.stringify({
        auths: {
          'a.example': { identitytoken: 'tok-a' },
          'b.example': { auth: Buffer.from('me:').toString('base64'), identitytoken: 'tok-b' },
        },
      }),
    );
    assert.deepEqual(await lookupCredentials('a.example', [file]), {
      username: '',
      password: '',
      identityToken: 'tok-a',
    });
    assert.deepEqual(await lookupCredentials('b.example', [file]), {
      username: 'me',
      password: '',
      identityToken: 'tok-b',
    });
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

  it('follows redirects to http(s) only: a file: or data: Location, or an unparsable one, is REGISTRY', async () => {
    for (const location of ['file:///etc/passwd', 'data:text/plain,x', 'http://[bad']) {
      handler = (_req, res) => res.writeHead(307, { location }).end();
      const client = new RegistryClient(host, 'r', { backoffMs: 1, random: () => 0 });
      await rejectsWith(client.request({ method: 'GET', path: 'manifests/1' }), 'REGISTRY');
    }
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

  it('referrers: Link pages, no API (404) means the fallback tag, 403 is AUTH, a foreign next page is REGISTRY', async () => {
    const subject = `sha256:${'1'.repeat(64)}` as const;
    const desc = (n: number) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${String(n).repeat(64)}`,
      size: 10,
      artifactType: n === 3 ? 'application/spdx+json' : 'application/vnd.in-toto+json',
    });
    const index = (manifests: unknown[]) =>
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
    const oci = { 'content-type': 'application/vnd.oci.image.index.v1+json' };
    let mode = 'pages';
    handler = (req, res) => {
      const url = req.url ?? '';
      if (mode === 'pages' && url.split('?')[0] === `/v2/r/referrers/${subject}`)
        res.writeHead(200, { ...oci, link: '</v2/r/referrers/next?p=2>; rel="next"' }).end(index([desc(2)]));
      else if (mode === 'pages' && url === '/v2/r/referrers/next?p=2')
        res
          .writeHead(200, { ...oci, link: '<other.example/x>; rel="prev", <next?p=3>; rel="next"' })
          .end(index([desc(3), desc(2)]));
      else if (mode === 'pages' && url === '/v2/r/referrers/next?p=3')
        res.writeHead(200, oci).end(index([desc(4)]));
      else if (mode === 'fallback' && url.startsWith('/v2/r/referrers/'))
        res.writeHead(404).end('404 page not found');
      else if (mode === 'fallback' && url === `/v2/r/manifests/sha256-${'1'.repeat(64)}`)
        res.writeHead(200, oci).end(index([desc(5)]));
      else if (mode === 'denied') res.writeHead(403).end();
      else if (mode === 'foreign')
        res
          .writeHead(200, { ...oci, link: '<http://127.0.0.2:9/v2/r/referrers/x>; rel="next"' })
          .end(index([]));
      else res.writeHead(404).end();
    };
    const client = new RegistryClient(host, 'r', { backoffMs: 1, retries: 0 });
    assert.deepEqual(
      (await listReferrers(client, subject)).map((d) => d.digest),
      [desc(2).digest, desc(3).digest, desc(4).digest],
    );
    assert.deepEqual(
      (await listReferrers(client, subject, { artifactType: 'application/spdx+json' })).map((d) => d.digest),
      [desc(3).digest],
    ); // this server ignores the filter: applied by the client
    mode = 'fallback';
    assert.deepEqual(
      (await listReferrers(client, subject)).map((d) => d.digest),
      [desc(5).digest],
    );
    mode = 'denied';
    await rejectsWith(listReferrers(client, subject), 'AUTH');
    mode = 'foreign';
    await rejectsWith(listReferrers(client, subject), 'REGISTRY');
  });
});

describe('bearer token auth', () => {
  let server: Server;
  let host: string;
  const tokenRequests: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token' && req.method === 'POST') {
        let body = '';
        req.on('data', (b: Buffer) => {
          body += b.toString('utf8');
        });
        req.on('end', () => {
          const form = new URLSearchParams(body);
          tokenRequests.push(
            `POST ${req.headers['content-type']} ${[...form.entries()].map(([k, v]) => `${k}=${v}`).join(' ')}`,
          );
          if (form.get('refresh_token') !== 'refresh-me') res.writeHead(401).end();
          else res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"t0k"}');
        });
        return;
      }
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

  it('exchanges an identity token from a credential helper with an OAuth2 refresh_token POST', async () => {
    tokenRequests.length = 0;
    const bin = join(dir, 'oauth-bin');
    writeCredentialHelper(bin, 'oauth', {
      log: join(dir, 'oauth.log'),
      answers: { [host]: { Username: '<token>', Secret: 'refresh-me' } },
    });
    const cfg = join(dir, 'oauth.json');
    await writeFile(cfg, JSON.stringify({ credHelpers: { [host]: 'oauth' } }));
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const set = await readRegistry(
      { registry: host, repository: 'team/app', tag: 'v1' },
      { backoffMs: 1, authFiles: [cfg], env },
    );
    assert.equal(set.index.manifests[0]?.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(tokenRequests, [
      'POST application/x-www-form-urlencoded grant_type=refresh_token refresh_token=refresh-me client_id=imprint service=test scope=repository:team/app:pull',
    ]);
    // a refused refresh token is AUTH
    writeCredentialHelper(bin, 'oauth', {
      log: join(dir, 'oauth.log'),
      answers: { [host]: { Username: '<token>', Secret: 'stale' } },
    });
    await rejectsWith(
      readRegistry(
        { registry: host, repository: 'team/app', tag: 'v1' },
        { backoffMs: 1, authFiles: [cfg], env },
      ),
      'AUTH',
    );
  });
});

it('Docker Hub is reached on its API host, registry-1.docker.io', async () => {
  assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
  assert.equal(apiHost('127.0.0.1:5000'), '127.0.0.1:5000');
  const urls: string[] = [];
  // Stopped before the request is sent: tests talk only to 127.0.0.1.
  const stop = new Error('not sent');
  const client = new RegistryClient('docker.io', 'library/debian', {
    retries: 0,
    onRequest: (r) => {
      urls.push(r.url);
      throw stop;
    },
  });
  await assert.rejects(client.request({ method: 'GET', path: 'tags/list' }), /not sent/);
  assert.equal(urls[0], 'https://registry-1.docker.io/v2/');
});
