// A real registry (Debian's docker-registry, distribution v2.8) on 127.0.0.1 for tests, a proxy that drops a
// connection, and a proxy that adds the OCI 1.1 referrers API in front of it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Answers a proxy's CONNECT on `client` with a tunnel to 127.0.0.1:`port` (whatever host was asked for). */
export function tunnelTo(client: Socket, port: number): void {
  const upstream = connect(port, '127.0.0.1', () => {
    client.write('HTTP/1.1 200 Connection established\r\n\r\n');
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
}

/**
 * Writes a self-signed certificate for `cn` (2 days, RSA 2048) and its key with openssl; `san` is the
 * subjectAltName value (`IP:127.0.0.1`, `DNS:host`). Throws with openssl's message when it fails.
 */
export function selfSignedCert(keyFile: string, certFile: string, cn: string, san: string): void {
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=${san}`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  dir: string;
  /** The CA (self-signed certificate) file when started with TLS. */
  caFile?: string;
  /** The access-log lines so far: `METHOD PATH STATUS`. */
  requests(): string[];
  stop(): Promise<void>;
}

/** True when the registry binary and python3 (for bcrypt htpasswd entries) are installed. */
export function canRunRegistry(): boolean {
  return (
    spawnSync('sh', ['-c', 'command -v docker-registry && command -v python3'], { stdio: 'ignore' })
      .status === 0
  );
}

/** A free TCP port on 127.0.0.1 (probe by listening on 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A bcrypt htpasswd line: apache2-utils' `htpasswd -nbB` when installed, else python3's crypt (`$2b$`, which Go's bcrypt accepts). */
function htpasswdLine(user: string, password: string): string {
  const h = spawnSync('htpasswd', ['-nbB', user, password], { encoding: 'utf8' });
  if (h.status === 0) return `${h.stdout.trim()}\n`;
  const r = spawnSync(
    'python3',
    [
      '-W',
      'ignore',
      '-c',
      'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))',
      password,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`python3 crypt failed: ${r.stderr}`);
  return `${user}:${r.stdout.trim()}\n`;
}

/** Starts docker-registry on a free port with a config in a temp dir; optional htpasswd auth and TLS. */
export async function startRegistry(
  opts: { auth?: { user: string; password: string }; tls?: boolean } = {},
): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-registry-'));
  let caFile: string | undefined;
  const tls: string[] = [];
  if (opts.tls) {
    caFile = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    selfSignedCert(key, caFile, '127.0.0.1', 'IP:127.0.0.1');
    tls.push(`  tls: {certificate: ${caFile}, key: ${key}}`);
  }
  const auth: string[] = [];
  if (opts.auth) {
    writeFileSync(join(dir, 'htpasswd'), htpasswdLine(opts.auth.user, opts.auth.password));
    auth.push(`auth: {htpasswd: {realm: test-realm, path: ${join(dir, 'htpasswd')}}}`);
  }
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const config = [
      'version: 0.1',
      'log: {level: info, accesslog: {disabled: false}}',
      `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...tls,
      ...auth,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'config.yml'), config);
    const logFile = join(dir, `registry-${tries}.log`);
    const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: string[] = [];
    child.stdout?.on('data', (b: Buffer) => log.push(b.toString()));
    child.stderr?.on('data', (b: Buffer) => log.push(b.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let up = false;
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      if (await portOpen(port)) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!up) {
      child.kill();
      await exited;
      writeFileSync(logFile, log.join(''));
      if (tries < 3) continue;
      throw new Error(`docker-registry did not start:\n${log.join('')}`);
    }
    const host = `127.0.0.1:${port}`;
    return {
      host,
      dir,
      ...(caFile === undefined ? {} : { caFile }),
      requests: () =>
        log
          .join('')
          .split('\n')
          .map((l) => /"([A-Z]+) (\S+) HTTP\/[0-9.]+" (\d+)/.exec(l))
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => `${m[1]} ${m[2]} ${m[3]}`),
      stop: async () => {
        child.kill();
        await exited;
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export interface DropProxy {
  host: string;
  /** How many connections were cut. */
  cuts(): number;
  stop(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 to `target` that cuts, once, the first connection whose client has sent
 * more than `afterBytes` bytes (a connection dropping in the middle of an upload).
 */
export async function dropProxy(target: string, afterBytes: number): Promise<DropProxy> {
  const [thost, tport] = target.split(':') as [string, string];
  let cut = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(tport), thost);
    sockets.add(client);
    sockets.add(upstream);
    let sent = 0;
    client.on('data', (b: Buffer) => {
      sent += b.length;
      if (cut === 0 && sent > afterBytes) {
        cut++;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(b);
    });
    upstream.on('data', (b: Buffer) => client.write(b));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    cuts: () => cut,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A descriptor as the referrers API lists it. */
export interface ListedDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ReferrersProxy {
  host: string;
  /** Requests seen: `METHOD URL STATUS`. */
  requests(): string[];
  stop(): Promise<void>;
}

const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST_PUT = /^\/v2\/(.+)\/manifests\/([^/?]+)$/;
const REFERRERS_GET = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/;

/**
 * An HTTP proxy on 127.0.0.1 in front of `target` (a registry without the referrers API) that makes it
 * a registry with one, as distribution-spec v1.1 describes: a manifest PUT whose body has a `subject`
 * is answered with `OCI-Subject: <subject digest>` (and remembered), and
 * `GET /v2/<repo>/referrers/<digest>[?artifactType=]` is served from what was pushed through it: an OCI
 * index of descriptors with artifactType and annotations, `pageSize` per page with `Link: rel="next"`,
 * `OCI-Filters-Applied: artifactType` when filtered (unless `filters` is false). Everything else is
 * forwarded unchanged (the Host header too, so upload locations point back at the proxy).
 */
export async function referrersProxy(
  target: string,
  opts: { pageSize?: number; filters?: boolean } = {},
): Promise<ReferrersProxy> {
  const [thost, tport] = target.split(':') as [string, string];
  const log: string[] = [];
  const referrers = new Map<string, ListedDescriptor[]>();
  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer | undefined, url: string) => {
    const up = httpRequest(
      { host: thost, port: Number(tport), method: req.method, path: url, headers: req.headers },
      (upRes) => {
        const headers = { ...upRes.headers };
        const m = MANIFEST_PUT.exec(url);
        if (body !== undefined && m !== null && upRes.statusCode === 201) {
          const doc = JSON.parse(body.toString('utf8')) as {
            subject?: { digest: string };
            artifactType?: string;
            config?: { mediaType?: string };
            annotations?: Record<string, string>;
          };
          if (doc.subject !== undefined) {
            const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
            const key = `${m[1]}@${doc.subject.digest}`;
            const list = referrers.get(key) ?? [];
            const type = doc.artifactType ?? doc.config?.mediaType;
            if (!list.some((d) => d.digest === digest)) {
              list.push({
                mediaType: String(req.headers['content-type']),
                digest,
                size: body.length,
                ...(type === undefined ? {} : { artifactType: type }),
                ...(doc.annotations === undefined ? {} : { annotations: doc.annotations }),
              });
            }
            referrers.set(key, list);
            headers['oci-subject'] = doc.subject.digest;
          }
        }
        log.push(`${req.method} ${url} ${upRes.statusCode}`);
        res.writeHead(upRes.statusCode ?? 502, headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    if (body !== undefined) up.end(body);
    else req.pipe(up);
  };
  const server = createHttpServer((req, res) => {
    const url = req.url ?? '/';
    const parsed = new URL(url, 'http://proxy');
    const get = REFERRERS_GET.exec(parsed.pathname);
    if (req.method === 'GET' && get !== null) {
      const type = parsed.searchParams.get('artifactType');
      const filter = opts.filters !== false && type !== null;
      let list = referrers.get(`${get[1]}@${get[2]}`) ?? [];
      if (filter) list = list.filter((d) => d.artifactType === type);
      const size = opts.pageSize ?? Number.POSITIVE_INFINITY;
      const page = Number(parsed.searchParams.get('page') ?? '0');
      const headers: Record<string, string> = { 'content-type': INDEX };
      if (filter) headers['oci-filters-applied'] = 'artifactType';
      if ((page + 1) * size < list.length) {
        const next = new URLSearchParams(parsed.searchParams);
        next.set('page', String(page + 1));
        headers.link = `<${parsed.pathname}?${next}>; rel="next"`;
      }
      const manifests = Number.isFinite(size) ? list.slice(page * size, (page + 1) * size) : list;
      log.push(`GET ${url} 200`);
      res.writeHead(200, headers).end(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests }));
      return;
    }
    if (req.method === 'PUT' && MANIFEST_PUT.test(url)) {
      const chunks: Buffer[] = [];
      req.on('data', (b: Buffer) => chunks.push(b));
      req.on('end', () => forward(req, res, Buffer.concat(chunks), url));
      return;
    }
    forward(req, res, undefined, url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    requests: () => [...log],
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The tags of `repository` as the registry at `host` lists them (plain http, no auth), sorted. */
export async function listTags(host: string, repository: string): Promise<string[]> {
  const res = await fetch(`http://${host}/v2/${repository}/tags/list`);
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`GET tags/list of ${repository}: ${res.status}`);
  const doc = (await res.json()) as { tags?: string[] | null };
  return [...(doc.tags ?? [])].sort();
}

/**
 * Writes a fake Docker credential helper `docker-credential-<name>` (sh) into `bin`. `get` reads the
 * server URL from stdin, appends it to `log`, and prints `answers[url]` as {ServerURL, Username,
 * Secret}; a URL in `failures` exits 1 with that text; any other URL exits 1 with "credentials not
 * found in native keychain" (what docker-credential-helpers print).
 */
export function writeCredentialHelper(
  bin: string,
  name: string,
  opts: {
    log: string;
    answers?: Record<string, { Username: string; Secret: string }>;
    failures?: Record<string, string>;
  },
): void {
  const quote = (text: string): string => {
    if (text.includes("'")) throw new Error(`no single quotes in fake helper text: ${text}`);
    return `'${text}'`;
  };
  const cases = [
    ...Object.entries(opts.answers ?? {}).map(
      ([url, a]) => `  ${quote(url)}) printf '%s\\n' ${quote(JSON.stringify({ ServerURL: url, ...a }))} ;;`,
    ),
    ...Object.entries(opts.failures ?? {}).map(
      ([url, text]) => `  ${quote(url)}) echo ${quote(text)}; exit 1 ;;`,
    ),
  ];
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, `docker-credential-${name}`),
    [
      '#!/bin/sh',
      '[ "$1" = get ] || { echo "unsupported action $1"; exit 2; }',
      'url=$(cat)',
      `printf '%s\\n' "$url" >> ${quote(opts.log)}`,
      'case "$url" in',
      ...cases,
      "  *) echo 'credentials not found in native keychain'; exit 1 ;;",
      'esac',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
}

/** Reads a file as text (small test files). */
export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
