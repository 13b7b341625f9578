/**
 * debrepo: a small, SIGNED Debian repository for tests, served over HTTP on 127.0.0.1.
 *
 *   const repo = await createDebRepo({ packages: [{ name: 'hello', version: '1.0-1', depends: 'libc6' }, ...] });
 *   try { ... openArchive({ url: repo.url, suite: repo.suite, keyring: await loadKeyring(repo.keyringPath), ... }) }
 *   finally { await repo.close(); }
 *
 * What it builds (in a fresh temp dir, removed by close()):
 * - real .deb files made by `dpkg-deb -Zgzip --root-owner-group --build` (deterministic: fixed
 *   SOURCE_DATE_EPOCH), with the control fields and files you give (Depends, Pre-Depends, Provides,
 *   Conflicts, Breaks, Replaces, Multi-Arch, Architecture incl. `all`, maintainer scripts, any field);
 *   laid out as `pool/<component>/<prefix>/<source>/<name>_<version>_<arch>.deb`;
 * - `dists/<suite>/<component>/binary-<arch>/Packages` (+ `.xz` via the xz CLI, `.gz`), where `all`
 *   packages appear in every architecture's index; a Release with the SHA256 of every index (the
 *   plain `Packages` always listed, as Debian does), Date, optional Valid-Until, optional
 *   Acquire-By-Hash (files copied to `by-hash/SHA256/<hex>`);
 * - InRelease (gpg --clearsign) and Release.gpg (gpg --detach-sign --armor), signed by a throwaway
 *   RSA key generated with gpg in a temp GNUPGHOME (one per test process, shared; see testKey());
 *   the public key exported binary (`keyringPath`) and armored (`armoredKeyringPath`).
 *
 * Serving: GET/HEAD with Content-Length, ETag, Accept-Ranges and Range/If-Range (so resumption can be
 * tested). Every request is logged in `requests` (count them to prove an offline run made none).
 * Tampering and faults, by URL path (e.g. `/dists/test/InRelease`, or `repo.indexPath('main','amd64','.xz')`):
 *   repo.override(path, { body })            serve other bytes (e.g. repo.tamperedInRelease())
 *   repo.override(path, { status: 404 })     a missing file; { status: 503, times: 1 } a flaky first answer
 *   repo.override(path, { truncateAfter: n, times: 1 })  send n bytes, then cut the connection
 *   repo.override(path, { stallAfter: n })   send n bytes, then nothing (the connection stays open)
 *   repo.override(path, { trickle: { bytes: 1, everyMs: 100 } })   send the body that slowly
 *   repo.override(`/${repo.deb('hello').filename}`, { body: 'not the .deb' })   a wrong .deb
 *   repo.clearOverrides()
 * repo.update({ packages: [...] }) republishes the suite (new Release, same key; old .debs stay in
 * the pool), e.g. to test lock updates. The directory also works as a `file://${repo.dir}` archive.
 * Needs gpg, dpkg-deb and xz on PATH. Requires no network.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';
import { trickleBody } from './trickle.js';

export interface DebFileSpec {
  /** Absolute path inside the package, e.g. `/usr/bin/hello`. */
  path: string;
  content?: string | Uint8Array;
  /** Default 0644 for files, 0755 for directories. */
  mode?: number;
  /** Makes a symlink to this target instead of a file. */
  symlink?: string;
}

export interface DebPackageSpec {
  name: string;
  version: string;
  /** Default 'amd64'; 'all' lands in every architecture's index. */
  architecture?: string;
  component?: string;
  source?: string;
  depends?: string;
  preDepends?: string;
  recommends?: string;
  provides?: string;
  conflicts?: string;
  breaks?: string;
  replaces?: string;
  multiArch?: 'same' | 'foreign' | 'allowed' | 'no';
  essential?: boolean;
  priority?: string;
  section?: string;
  maintainer?: string;
  /** Synopsis, optionally followed by "\n" and a long description. */
  description?: string;
  /** More control fields, written verbatim after the ones above. */
  fields?: Record<string, string>;
  /** Files: a map path → content, or a list with modes and symlinks. */
  files?: Record<string, string> | DebFileSpec[];
  /** Maintainer scripts and control files (postinst, conffiles, triggers, ...). */
  scripts?: Record<string, string>;
  /** What the Packages index gives as Filename (default: where the .deb is, under pool/). */
  indexFilename?: string;
}

export interface DebRepoOptions {
  packages: DebPackageSpec[];
  suite?: string;
  codename?: string;
  architectures?: string[];
  /** Default: the components the packages use, else ['main']. */
  components?: string[];
  /** How the Release spells Components, when it differs (a security archive says `updates/main`). */
  releaseComponents?: string[];
  /** Release Date (default 2024-01-01T00:00:00Z: fixtures never read the clock). */
  date?: Date;
  validUntil?: Date;
  acquireByHash?: boolean;
  /** Release says `No-Support-for-Architecture-all: Packages` (as Debian's do): `all` packages are in every arch index. */
  noSupportForArchitectureAll?: boolean;
  /** Which index files exist on disk (default xz and gz; the plain hash is listed regardless). */
  indexFiles?: Array<'xz' | 'gz' | 'plain'>;
  /** Publish InRelease (default true) and Release.gpg (default true). */
  inRelease?: boolean;
  releaseGpg?: boolean;
  /** The signing key (default: the process's shared testKey()). */
  key?: TestKey;
  digestAlgo?: 'SHA256' | 'SHA512';
}

export interface BuiltDeb {
  name: string;
  version: string;
  architecture: string;
  component: string;
  /** Relative to the repository URL. */
  filename: string;
  size: number;
  sha256: string;
  /** The .deb on disk. */
  path: string;
}

export interface Override {
  status?: number;
  body?: string | Uint8Array;
  /** Send this many bytes of the (real or overridden) body, then destroy the connection. */
  truncateAfter?: number;
  /** Send this many bytes of the body, then nothing more, keeping the connection open. */
  stallAfter?: number;
  /** Send the body `bytes` at a time, one step every `everyMs` ms. */
  trickle?: { bytes: number; everyMs: number };
  /** How many requests it applies to (default: all). */
  times?: number;
}

export interface TestKey {
  gnupgHome: string;
  fingerprint: string;
  /** Binary (`gpg --export`) and armored public keyrings. */
  keyringPath: string;
  armoredKeyringPath: string;
}

export interface DebRepo {
  url: string;
  dir: string;
  suite: string;
  codename: string;
  key: TestKey;
  keyringPath: string;
  armoredKeyringPath: string;
  debs: BuiltDeb[];
  /** The built .deb of `name` (the first one, or the one of `version`). */
  deb(name: string, version?: string): BuiltDeb;
  /** sha256 hex of the served InRelease. */
  inReleaseSha256(): string;
  /** URL path of an index file, e.g. indexPath('main', 'amd64', '.xz'). */
  indexPath(component: string, arch: string, suffix?: '' | '.xz' | '.gz'): string;
  /** The InRelease with one character of the signed text changed (signature kept). */
  tamperedInRelease(): string;
  requests: Array<{ method: string; path: string; range?: string }>;
  override(path: string, o: Override): void;
  clearOverrides(): void;
  /** Rebuilds the repository with changed options (e.g. newer packages); old .debs stay in the pool. */
  update(changes: Partial<DebRepoOptions>): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_DATE = new Date('2024-01-01T00:00:00Z');
const EPOCH = '1704067200';
const tempDirs: string[] = [];
const gpgHomes: string[] = [];
let sharedKey: TestKey | undefined;

process.once('exit', () => {
  for (const home of gpgHomes)
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home } });
  for (const d of [...gpgHomes, ...tempDirs]) rmSync(d, { recursive: true, force: true });
});

function gpg(key: { gnupgHome: string }, args: string[], input?: Uint8Array): Buffer {
  return execFileSync(
    'gpg',
    ['--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
    {
      env: { ...process.env, GNUPGHOME: key.gnupgHome, LC_ALL: 'C' },
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
}

/** Generates a throwaway signing key in its own GNUPGHOME (removed when the process exits). */
/**
 * An imprint.yaml (version 1) whose one source is `repo` (URL, suite, keyring), naming `packages`,
 * with `extra` lines after them.
 */
export function repoSpecYaml(repo: DebRepo, packages: string, extra: readonly string[] = []): string {
  return [
    'version: 1',
    'sources:',
    `  - {url: "${repo.url}", suites: [${repo.suite}], components: [main], keyring: "${repo.keyringPath}"}`,
    `packages: [${packages}]`,
    ...extra,
    '',
  ].join('\n');
}

export function generateTestKey(uid = 'imprint test <test@invalid>', algo = 'rsa2048'): TestKey {
  const home = mkdtempSync(join(tmpdir(), 'imprint-gpg-'));
  chmodSync(home, 0o700);
  gpgHomes.push(home);
  const k = { gnupgHome: home };
  gpg(k, ['--quick-gen-key', uid, algo, 'sign', 'never']);
  const colons = gpg(k, ['--list-keys', '--with-colons']).toString('utf8');
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1];
  if (fpr === undefined) throw new Error('gpg made no key');
  const keyringPath = join(home, 'public.gpg');
  const armoredKeyringPath = join(home, 'public.asc');
  writeFileSync(keyringPath, gpg(k, ['--export', fpr]));
  writeFileSync(armoredKeyringPath, gpg(k, ['--export', '--armor', fpr]));
  return { gnupgHome: home, fingerprint: fpr, keyringPath, armoredKeyringPath };
}

/** The process-wide test key (generated on first use). */
export function testKey(): TestKey {
  sharedKey ??= generateTestKey();
  return sharedKey;
}

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function poolPath(p: DebPackageSpec, component: string): string {
  const src = (p.source ?? p.name).split(/\s/)[0] as string;
  const prefix = src.startsWith('lib') ? src.slice(0, 4) : src.slice(0, 1);
  const version = p.version.replace(/^[0-9]+:/, '');
  return `pool/${component}/${prefix}/${src}/${p.name}_${version}_${p.architecture ?? 'amd64'}.deb`;
}

function foldDescription(d: string): string {
  const [first, ...rest] = d.split('\n');
  return [first, ...rest.map((l) => (l.trim() === '' ? ' .' : ` ${l}`))].join('\n');
}

function controlFields(p: DebPackageSpec, installedSize: number): Array<[string, string]> {
  const f: Array<[string, string]> = [['Package', p.name]];
  if (p.source !== undefined) f.push(['Source', p.source]);
  f.push(['Version', p.version], ['Architecture', p.architecture ?? 'amd64']);
  if (p.multiArch !== undefined) f.push(['Multi-Arch', p.multiArch]);
  f.push(
    ['Maintainer', p.maintainer ?? 'Imprint Tests <test@invalid>'],
    ['Installed-Size', String(installedSize)],
  );
  const rel: Array<[string, string | undefined]> = [
    ['Pre-Depends', p.preDepends],
    ['Depends', p.depends],
    ['Recommends', p.recommends],
    ['Conflicts', p.conflicts],
    ['Breaks', p.breaks],
    ['Replaces', p.replaces],
    ['Provides', p.provides],
  ];
  for (const [k, v] of rel) if (v !== undefined) f.push([k, v]);
  if (p.essential === true) f.push(['Essential', 'yes']);
  f.push(['Section', p.section ?? 'misc'], ['Priority', p.priority ?? 'optional']);
  for (const [k, v] of Object.entries(p.fields ?? {})) f.push([k, v]);
  f.push(['Description', foldDescription(p.description ?? `${p.name} test package`)]);
  return f;
}

const formatFields = (f: Array<[string, string]>): string =>
  f.map(([k, v]) => (v.startsWith('\n') ? `${k}:${v}\n` : `${k}: ${v}\n`)).join('');

function buildDeb(p: DebPackageSpec, outFile: string, work: string): Array<[string, string]> {
  const root = mkdtempSync(join(work, 'pkg-'));
  const files: DebFileSpec[] = Array.isArray(p.files)
    ? p.files
    : Object.entries(p.files ?? {}).map(([path, content]) => ({ path, content }));
  let bytes = 0;
  for (const file of files) {
    const target = join(root, normalize(file.path));
    if (!target.startsWith(`${root}/`)) throw new Error(`bad path ${file.path}`);
    mkdirSync(dirname(target), { recursive: true });
    if (file.symlink !== undefined) {
      symlinkSync(file.symlink, target);
    } else if (file.path.endsWith('/')) {
      mkdirSync(target, { recursive: true });
      chmodSync(target, file.mode ?? 0o755);
    } else {
      const content =
        typeof file.content === 'string' ? Buffer.from(file.content) : (file.content ?? new Uint8Array());
      writeFileSync(target, content);
      chmodSync(target, file.mode ?? 0o644);
      bytes += content.length;
    }
  }
  const fields = controlFields(p, Math.max(1, Math.ceil(bytes / 1024)));
  mkdirSync(join(root, 'DEBIAN'));
  writeFileSync(join(root, 'DEBIAN', 'control'), formatFields(fields));
  for (const [name, text] of Object.entries(p.scripts ?? {})) {
    writeFileSync(join(root, 'DEBIAN', name), text);
    chmodSync(
      join(root, 'DEBIAN', name),
      ['conffiles', 'triggers', 'shlibs', 'symbols', 'md5sums'].includes(name) ? 0o644 : 0o755,
    );
  }
  mkdirSync(dirname(outFile), { recursive: true });
  execFileSync('dpkg-deb', ['-Zgzip', '--root-owner-group', '--build', root, outFile], {
    env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  rmSync(root, { recursive: true, force: true });
  return fields;
}

interface Built {
  debs: BuiltDeb[];
  suite: string;
  codename: string;
}

function publish(dir: string, o: DebRepoOptions, previous: BuiltDeb[]): Built {
  const key = o.key ?? testKey();
  const suite = o.suite ?? 'test';
  const codename = o.codename ?? `${suite}-codename`;
  const archs = o.architectures ?? ['amd64'];
  const used = [...new Set(o.packages.map((p) => p.component ?? 'main'))].sort();
  const components = o.components ?? (used.length > 0 ? used : ['main']);
  const indexFiles = o.indexFiles ?? ['xz', 'gz'];
  const work = mkdtempSync(join(tmpdir(), 'imprint-debbuild-'));
  const debs: BuiltDeb[] = [];
  const paragraphs = new Map<string, string[]>(); // `${component}/${arch}` -> paragraphs
  try {
    for (const p of o.packages) {
      const component = p.component ?? 'main';
      const filename = poolPath(p, component);
      const file = join(dir, filename);
      const fields = buildDeb(p, file, work);
      const bytes = readFileSync(file);
      const deb: BuiltDeb = {
        name: p.name,
        version: p.version,
        architecture: p.architecture ?? 'amd64',
        component,
        filename,
        size: bytes.length,
        sha256: sha256Hex(bytes),
        path: file,
      };
      debs.push(deb);
      const para = formatFields([
        ...fields,
        ['Filename', p.indexFilename ?? filename],
        ['Size', String(deb.size)],
        ['MD5sum', createHash('md5').update(bytes).digest('hex')],
        ['SHA256', deb.sha256],
      ]);
      for (const arch of archs) {
        if (deb.architecture !== 'all' && deb.architecture !== arch) continue;
        const k = `${component}/${arch}`;
        paragraphs.set(k, [...(paragraphs.get(k) ?? []), para]);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const distDir = join(dir, 'dists', suite);
  rmSync(distDir, { recursive: true, force: true });
  const sums: Array<[string, number, string]> = [];
  for (const component of components) {
    for (const arch of archs) {
      const rel = `${component}/binary-${arch}`;
      const text = Buffer.from((paragraphs.get(`${component}/${arch}`) ?? []).join('\n'));
      const variants: Array<[string, Buffer]> = [['', text]];
      if (indexFiles.includes('xz'))
        variants.push(['.xz', execFileSync('xz', ['-c', '-6'], { input: text })]);
      if (indexFiles.includes('gz')) variants.push(['.gz', gzipSync(text)]);
      mkdirSync(join(distDir, rel), { recursive: true });
      for (const [suffix, bytes] of variants) {
        sums.push([`${rel}/Packages${suffix}`, bytes.length, sha256Hex(bytes)]);
        if (suffix === '' && !indexFiles.includes('plain')) continue;
        writeFileSync(join(distDir, rel, `Packages${suffix}`), bytes);
        if (o.acquireByHash === true) {
          mkdirSync(join(distDir, rel, 'by-hash', 'SHA256'), { recursive: true });
          writeFileSync(join(distDir, rel, 'by-hash', 'SHA256', sha256Hex(bytes)), bytes);
        }
      }
    }
  }
  sums.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const release: Array<[string, string]> = [
    ['Origin', 'Imprint Test'],
    ['Label', 'Imprint Test'],
    ['Suite', suite],
    ['Codename', codename],
    ['Date', rfc2822(o.date ?? DEFAULT_DATE)],
  ];
  if (o.validUntil !== undefined) release.push(['Valid-Until', rfc2822(o.validUntil)]);
  if (o.acquireByHash === true) release.push(['Acquire-By-Hash', 'yes']);
  if (o.noSupportForArchitectureAll === true) release.push(['No-Support-for-Architecture-all', 'Packages']);
  release.push(
    ['Architectures', archs.join(' ')],
    ['Components', (o.releaseComponents ?? components).join(' ')],
    ['Description', 'imprint test repository'],
  );
  release.push(['SHA256', `\n${sums.map(([p, s, h]) => ` ${h} ${String(s).padStart(8)} ${p}`).join('\n')}`]);
  const releaseText = Buffer.from(formatFields(release));
  writeFileSync(join(distDir, 'Release'), releaseText);
  const algo = ['--digest-algo', o.digestAlgo ?? 'SHA512', '--local-user', key.fingerprint];
  if (o.inRelease !== false)
    writeFileSync(join(distDir, 'InRelease'), gpg(key, [...algo, '--clearsign'], releaseText));
  if (o.releaseGpg !== false)
    writeFileSync(join(distDir, 'Release.gpg'), gpg(key, [...algo, '--detach-sign', '--armor'], releaseText));
  return {
    debs: [...previous.filter((d) => !debs.some((n) => n.filename === d.filename)), ...debs],
    suite,
    codename,
  };
}

function rfc2822(d: Date): string {
  return d.toUTCString().replace('GMT', 'UTC');
}

/** Builds and serves a signed repository (see the top of this file). Always `close()` it. */
export async function createDebRepo(options: DebRepoOptions): Promise<DebRepo> {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-debrepo-'));
  tempDirs.push(dir);
  let opts = options;
  let built = publish(dir, opts, []);
  const key = opts.key ?? testKey();
  const requests: DebRepo['requests'] = [];
  const overrides = new Map<string, Override & { used: number }>();
  const etags = new Map<string, string>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] as string);
    const range = req.headers.range;
    requests.push(
      range === undefined
        ? { method: req.method ?? 'GET', path }
        : { method: req.method ?? 'GET', path, range },
    );
    const o = overrides.get(path);
    const active = o !== undefined && (o.times === undefined || o.used < o.times) ? o : undefined;
    if (active !== undefined) active.used++;
    if (active?.status !== undefined) {
      res.writeHead(active.status, { 'content-type': 'text/plain' });
      res.end(`status ${active.status}\n`);
      return;
    }
    let body: Buffer;
    if (active?.body !== undefined) {
      body = Buffer.from(active.body);
    } else {
      const file = join(dir, normalize(path));
      if (!file.startsWith(`${dir}/`) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
        return;
      }
      body = readFileSync(file);
    }
    const etag = `"${sha256Hex(body).slice(0, 16)}"`;
    etags.set(path, etag);
    const headers: Record<string, string> = {
      'accept-ranges': 'bytes',
      etag,
      'content-type': 'application/octet-stream',
    };
    let status = 200;
    let start = 0;
    const m = range === undefined ? null : /^bytes=(\d+)-$/.exec(range);
    const ifRange = req.headers['if-range'];
    if (m !== null && (ifRange === undefined || ifRange === etag)) {
      start = Number(m[1]);
      status = 206;
      headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const part = body.subarray(start);
    headers['content-length'] = String(part.length);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
    } else if (active?.truncateAfter !== undefined) {
      res.write(part.subarray(0, active.truncateAfter), () => setTimeout(() => res.destroy(), 10));
    } else if (active?.stallAfter !== undefined) {
      res.write(part.subarray(0, active.stallAfter));
    } else if (active?.trickle !== undefined) {
      trickleBody(res, part, active.trickle.bytes, active.trickle.everyMs);
    } else {
      res.end(part);
    }
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const repo: DebRepo = {
    url,
    dir,
    get suite() {
      return built.suite;
    },
    get codename() {
      return built.codename;
    },
    key,
    keyringPath: key.keyringPath,
    armoredKeyringPath: key.armoredKeyringPath,
    get debs() {
      return built.debs;
    },
    deb(name, version) {
      const d = built.debs.find((x) => x.name === name && (version === undefined || x.version === version));
      if (d === undefined)
        throw new Error(`debrepo has no package ${name}${version === undefined ? '' : ` ${version}`}`);
      return d;
    },
    inReleaseSha256: () => sha256Hex(readFileSync(join(dir, 'dists', built.suite, 'InRelease'))),
    indexPath: (component, arch, suffix = '') =>
      `/dists/${built.suite}/${component}/binary-${arch}/Packages${suffix}`,
    tamperedInRelease() {
      const text = readFileSync(join(dir, 'dists', built.suite, 'InRelease'), 'utf8');
      return text.replace('Label: Imprint Test', 'Label: Imprint Tesu');
    },
    requests,
    override(path, o) {
      overrides.set(path, { ...o, used: 0 });
    },
    clearOverrides() {
      overrides.clear();
    },
    async update(changes) {
      opts = { ...opts, ...changes };
      built = publish(dir, opts, built.debs);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return repo;
}

/** Copies a file (helper for tests that need a keyring or index outside the repo dir). */
export function copyInto(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}
