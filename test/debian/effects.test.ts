import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  CA_CONF_HEADER,
  mergeAccounts,
  pemCertificates,
  pemLinkName,
  refreshCaCertificates,
  removalPatternRegExp,
  removeNondeterministic,
  subjectHash,
} from '../../src/debian/effects/index.js';
import { jksTrustStore, modifiedUtf8 } from '../../src/debian/effects/java-cacerts.js';
import { pamConfig, parsePamProfile } from '../../src/debian/effects/pam.js';
import { type InstallOptions, installPackages } from '../../src/debian/install.js';
import type { VNode } from '../../src/vfs/node.js';
import { compareBytes } from '../../src/vfs/path.js';
import { FileTree } from '../../src/vfs/tree.js';
import { basePasswdDeb, type DebSpec, debInput, type TarEntrySpec } from '../helpers/debfile.js';

const EPOCH = 1_700_000_000;
const PAM_FIXTURES = new URL('../fixtures/pam/', import.meta.url).pathname;
const fixtureTemplate = (): string => readFileSync(join(PAM_FIXTURES, 'template-common-auth'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'imprint-effects-'));
const spools: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const s of spools) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function install(specs: DebSpec[], extra: Partial<InstallOptions> = {}) {
  const tree = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: EPOCH });
  const result = await installPackages(
    tree,
    specs.map((s) => debInput(s)),
    { epoch: EPOCH, arch: 'amd64', spoolDir: join(dir, 'spool'), mergedUsr: true, ...extra },
  );
  spools.push(result.spool);
  return { tree, result };
}

/** A JKS file read back by the format Java's JavaKeyStore writes (magic, version 2, trusted entries, SHA-1). */
function parseJks(data: Buffer): { entries: Array<{ alias: string; date: number; der: Buffer }> } {
  assert.equal(data.readUInt32BE(0), 0xfeedfeed);
  assert.equal(data.readUInt32BE(4), 2);
  const count = data.readUInt32BE(8);
  let off = 12;
  const utf = () => {
    const n = data.readUInt16BE(off);
    const text = data.subarray(off + 2, off + 2 + n).toString('utf8');
    off += 2 + n;
    return text;
  };
  const entries = [];
  for (let i = 0; i < count; i++) {
    assert.equal(data.readUInt32BE(off), 2, 'a trusted-certificate entry');
    off += 4;
    const alias = utf();
    const date = Number(data.readBigUInt64BE(off));
    off += 8;
    assert.equal(utf(), 'X.509');
    const n = data.readUInt32BE(off);
    const der = data.subarray(off + 4, off + 4 + n);
    off += 4 + n;
    entries.push({ alias, date, der });
  }
  const digest = createHash('sha1')
    .update(Buffer.from('changeit', 'utf16le').swap16())
    .update('Mighty Aphrodite')
    .update(data.subarray(0, off))
    .digest();
  assert.ok(data.subarray(off).equals(digest), 'the keyed SHA-1 that ends a JKS file');
  return { entries };
}

async function bytes(tree: FileTree, path: string): Promise<Buffer> {
  const node = tree.get(path);
  assert.ok(node?.kind === 'file', `${path}: expected a file, found ${node?.kind}`);
  const parts: Buffer[] = [];
  for await (const c of await node.content()) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

async function text(tree: FileTree, path: string): Promise<string> {
  return (await bytes(tree, path)).toString('utf8');
}

function link(tree: FileTree, path: string): string | undefined {
  const n = tree.get(path);
  return n?.kind === 'symlink' ? n.target : undefined;
}

const meta = (n: VNode | undefined) =>
  n === undefined
    ? undefined
    : { kind: n.kind, mode: n.mode, uid: n.uid, gid: n.gid, mtime: n.mtime, origin: n.origin };

const PASSWD_MASTER =
  'root:*:0:0:root:/root:/bin/bash\ndaemon:*:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nwww-data:*:33:33:www-data:/var/www:/usr/sbin/nologin\n';
const GROUP_MASTER = 'root:*:0:\nadm:*:4:\nwww-data:*:33:\nshadow:*:42:\nstaff:*:50:\n';
const basePasswd: DebSpec = basePasswdDeb(PASSWD_MASTER, GROUP_MASTER);

describe('effects: accounts', () => {
  it('base-passwd copies the masters to /etc/passwd and /etc/group; no shadow without passwd', async () => {
    const { tree, result } = await install([basePasswd]);
    assert.equal(await text(tree, 'etc/passwd'), PASSWD_MASTER);
    assert.equal(await text(tree, 'etc/group'), GROUP_MASTER);
    assert.deepEqual(meta(tree.get('etc/passwd')), {
      kind: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: EPOCH,
      origin: 'base-passwd',
    });
    assert.equal(tree.get('etc/shadow'), undefined);
    assert.ok(result.packages[0]?.paths.includes('etc/passwd'));
  });

  it('passwd converts to shadow files (pwconv/grpconv) with lastchg from the epoch', async () => {
    const { tree } = await install([
      basePasswd,
      { name: 'passwd', entries: [{ path: './usr/sbin/pwconv', content: 'x' }] },
    ]);
    const days = Math.floor(EPOCH / 86400);
    assert.equal(await text(tree, 'etc/passwd'), PASSWD_MASTER.replace(/:\*:/g, ':x:'));
    assert.equal(
      await text(tree, 'etc/shadow'),
      `root:*:${days}:0:99999:7:::\ndaemon:*:${days}:0:99999:7:::\nwww-data:*:${days}:0:99999:7:::\n`,
    );
    assert.equal(await text(tree, 'etc/gshadow'), 'root:*::\nadm:*::\nwww-data:*::\nshadow:*::\nstaff:*::\n');
    assert.deepEqual(meta(tree.get('etc/shadow')), {
      kind: 'file',
      mode: 0o640,
      uid: 0,
      gid: 42,
      mtime: EPOCH,
      origin: 'passwd',
    });
  });

  it("merges the spec's accounts: same names replaced in place, new ones appended by id", async () => {
    const { tree } = await install([basePasswd]);
    await mergeAccounts(
      tree,
      {
        users: [
          { name: 'app', uid: 1000, gid: 1000, home: '/home/app', shell: '/bin/sh' },
          { name: 'www-data', uid: 33, gid: 33, home: '/srv/www', shell: '/bin/sh', gecos: 'web' },
          { name: 'early', uid: 999, gid: 1000, home: '/nonexistent', shell: '/usr/sbin/nologin' },
        ],
        groups: [{ name: 'app', gid: 1000, members: ['www-data', 'app'] }],
      },
      { epoch: EPOCH },
    );
    assert.equal(
      await text(tree, 'etc/passwd'),
      'root:*:0:0:root:/root:/bin/bash\ndaemon:*:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nwww-data:*:33:33:web:/srv/www:/bin/sh\n' +
        'early:*:999:1000::/nonexistent:/usr/sbin/nologin\napp:*:1000:1000::/home/app:/bin/sh\n',
    );
    assert.equal(await text(tree, 'etc/group'), `${GROUP_MASTER}app:*:1000:app,www-data\n`);
    await assert.rejects(
      mergeAccounts(
        tree,
        { users: [{ name: 'a:b', uid: 1, gid: 1, home: '/', shell: '/bin/sh' }], groups: [] },
        { epoch: EPOCH },
      ),
      {
        code: 'SPEC_INVALID',
      },
    );
  });

  it('adds shadow lines for merged accounts when /etc/shadow exists', async () => {
    const { tree } = await install([basePasswd, { name: 'passwd', entries: [] }]);
    await mergeAccounts(
      tree,
      { users: [{ name: 'app', uid: 1000, gid: 1000, home: '/home/app', shell: '/bin/sh' }], groups: [] },
      { epoch: 86400 * 3 + 5 },
    );
    assert.match(await text(tree, 'etc/passwd'), /\napp:x:1000:1000::\/home\/app:\/bin\/sh\n$/);
    assert.match(await text(tree, 'etc/shadow'), /\napp:\*:3:0:99999:7:::\n$/);
  });
});

// --- ca-certificates -----------------------------------------------------------------------------

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

function makeCert(name: string, subject: string, extra: string[] = []): string {
  const cfg = join(dir, 'req.cnf');
  writeFileSync(cfg, '[req]\ndistinguished_name = dn\nstring_mask = pkix\n[dn]\n');
  const out = join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-config',
      cfg,
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      out,
      '-days',
      '2',
      '-utf8',
      '-subj',
      subject,
      ...extra,
    ],
    { stdio: 'pipe' },
  );
  return readFileSync(out, 'utf8');
}

describe('effects: ca-certificates', { skip: hasOpenssl ? false : 'openssl not installed' }, () => {
  const certs: Record<string, string> = {};
  before(() => {
    certs['mozilla/Test Root (A), Inc.crt'] = makeCert(
      'a',
      '/C=DE/O=Beispiel  GmbH/CN=  UPPER Case   Root  ',
    );
    certs['mozilla/Zertifikat.crt'] = makeCert('b', '/CN=Zertifikat Ä+O=Ünïcödé/C=AT', [
      '-multivalue-rdn',
    ]).trimEnd(); // no final newline
    certs['mozilla/Cyrillic_Root.crt'] = makeCert('c', '/CN=Корень  ЦС/O=BMP Test');
    certs['extra/Another.crt'] = makeCert('d', '/CN=another');
  });
  const caPackage = (): DebSpec => ({
    name: 'ca-certificates',
    arch: 'all',
    entries: [
      ...Object.entries(certs).map(
        ([p, c]): TarEntrySpec => ({ path: `./usr/share/ca-certificates/${p}`, content: c }),
      ),
      { path: './etc/ssl/certs/' },
      { path: './usr/sbin/update-ca-certificates', content: '#!/bin/sh\n', mode: 0o755 },
    ],
  });
  const sorted = () => Object.keys(certs).sort(compareBytes);
  /** A certificate the spec's files would place under /usr/local/share/ca-certificates (NAME.crt). */
  const addLocalCert = (tree: FileTree, name: string, subject: string): string => {
    const pem = makeCert(name, subject);
    tree.add(`usr/local/share/ca-certificates/${name}.crt`, {
      kind: 'file',
      size: Buffer.byteLength(pem),
      content: () => Readable.from([Buffer.from(pem)]),
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: EPOCH,
    });
    return pem;
  };
  const openssl = (pem: string): string =>
    execFileSync('openssl', ['x509', '-noout', '-subject_hash'], { input: pem }).toString().trim();

  it('takes certificates placed later under /usr/local/share/ca-certificates into the bundle', async () => {
    const { tree, result } = await install([caPackage()]);
    const local = addLocalCert(tree, 'egress', '/CN=Company Egress CA');
    const ca = result.packages.find((p) => p.name === 'ca-certificates')!;
    await refreshCaCertificates(tree, EPOCH, 'amd64', ca);
    const bundle = await text(tree, 'etc/ssl/certs/ca-certificates.crt');
    assert.ok(bundle.endsWith(local.replace(/\n?$/, '\n')), 'the local certificate ends the bundle');
    assert.ok(bundle.startsWith(certs[sorted()[0] as string] as string), 'the packaged ones stay first');
    assert.equal(link(tree, 'etc/ssl/certs/egress.pem'), '/usr/local/share/ca-certificates/egress.crt');
    assert.equal(link(tree, `etc/ssl/certs/${openssl(local)}.0`), 'egress.pem');
  });

  it("writes Java's trust store (ca-certificates-java) as a JKS file of every .pem, also after a later local certificate", async () => {
    const java: DebSpec = {
      name: 'ca-certificates-java',
      arch: 'all',
      entries: [{ path: './etc/ssl/certs/java/' }],
    };
    const { tree, result } = await install([caPackage(), java]);
    const store = parseJks(await bytes(tree, 'etc/ssl/certs/java/cacerts'));
    assert.deepEqual(
      store.entries.map((e) => e.alias),
      sorted()
        .map((c) => `debian:${pemLinkName(c).toLowerCase()}`)
        .sort(compareBytes),
    );
    for (const e of store.entries) {
      assert.equal(e.date, EPOCH * 1000);
      const pem = Object.entries(certs).find(
        ([c]) => `debian:${pemLinkName(c).toLowerCase()}` === e.alias,
      )?.[1];
      assert.ok(pem && e.der.equals(pemCertificates(pem)[0] as Buffer), e.alias);
    }
    assert.equal(tree.get('etc/ssl/certs/java/cacerts')?.origin, 'ca-certificates-java');
    // A certificate the spec adds later joins it (refreshCaCertificates with the Java package).
    addLocalCert(tree, 'java-local', '/CN=Company Java CA');
    const pkg = (name: string) => result.packages.find((p) => p.name === name)!;
    await refreshCaCertificates(tree, EPOCH, 'amd64', pkg('ca-certificates'), pkg('ca-certificates-java'));
    const after = parseJks(await bytes(tree, 'etc/ssl/certs/java/cacerts'));
    assert.equal(after.entries.length, store.entries.length + 1);
    assert.ok(after.entries.some((e) => e.alias === 'debian:java-local.pem'));
    // Without ca-certificates-java there is no store.
    assert.equal((await install([caPackage()])).tree.get('etc/ssl/certs/java/cacerts'), undefined);
  });

  it("encodes JKS aliases in Java's modified UTF-8 (NetLock_Arany_=Class_Gold=_Főtanúsítvány.pem)", () => {
    assert.equal(modifiedUtf8('debian:fő.pem').toString('hex'), Buffer.from('debian:fő.pem').toString('hex'));
    assert.equal(modifiedUtf8('\0').toString('hex'), 'c080');
    assert.equal(modifiedUtf8('😀').toString('hex'), 'eda0bdedb880', 'each surrogate on its own');
    const store = parseJks(jksTrustStore([{ alias: 'debian:fő.pem', der: Buffer.from([0x30, 0]) }], 5000));
    assert.deepEqual(store.entries, [{ alias: 'debian:fő.pem', date: 5000, der: Buffer.from([0x30, 0]) }]);
  });

  it('computes the subject hash openssl computes', () => {
    for (const pem of Object.values(certs))
      assert.equal(subjectHash(pemCertificates(pem)[0] as Buffer), openssl(pem));
  });

  it('writes the conf, the bundle in conf order, the .pem links and the hash links', async () => {
    const { tree } = await install([caPackage()]);
    assert.equal(
      await text(tree, 'etc/ca-certificates.conf'),
      CA_CONF_HEADER +
        sorted()
          .map((c) => `${c}\n`)
          .join(''),
    );
    assert.equal(
      await text(tree, 'etc/ssl/certs/ca-certificates.crt'),
      sorted()
        .map((c) => (certs[c] as string).replace(/\n?$/, '\n'))
        .join(''),
    );
    assert.deepEqual(meta(tree.get('etc/ssl/certs/ca-certificates.crt')), {
      kind: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: EPOCH,
      origin: 'ca-certificates',
    });
    assert.equal(pemLinkName('mozilla/Test Root (A), Inc.crt'), 'Test_Root_=A=__Inc.pem');
    for (const c of sorted()) {
      const name = pemLinkName(c);
      assert.equal(link(tree, `etc/ssl/certs/${name}`), `/usr/share/ca-certificates/${c}`);
      assert.equal(link(tree, `etc/ssl/certs/${openssl(certs[c] as string)}.0`), name);
    }
    const hashLinks = [...tree.keys()].filter((k) => /^etc\/ssl\/certs\/[0-9a-f]{8}\.\d+$/.test(k));
    assert.equal(hashLinks.length, 4);
    assert.deepEqual(meta(tree.get('usr/local/share/ca-certificates')), {
      kind: 'dir',
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: EPOCH,
      origin: 'ca-certificates',
    });
  });

  it('matches the real update-ca-certificates and openssl rehash on the same input', async (t) => {
    if (!existsSync('/usr/sbin/update-ca-certificates'))
      return t.skip('update-ca-certificates not installed');
    const { tree } = await install([caPackage()]);
    const root = join(dir, 'uca');
    for (const [p, c] of Object.entries(certs)) {
      mkdirSync(join(root, 'share', p, '..'), { recursive: true });
      writeFileSync(join(root, 'share', p), c);
    }
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'local'), { recursive: true });
    writeFileSync(join(root, 'conf'), await text(tree, 'etc/ca-certificates.conf'));
    const args = [
      '--certsconf',
      join(root, 'conf'),
      '--certsdir',
      join(root, 'share'),
      '--localcertsdir',
      join(root, 'local'),
      '--etccertsdir',
      join(root, 'etc'),
      '--hooksdir',
      '',
    ];
    const r = spawnSync('/usr/sbin/update-ca-certificates', args, { env: { ...process.env, LC_ALL: 'C' } });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(
      await text(tree, 'etc/ssl/certs/ca-certificates.crt'),
      readFileSync(join(root, 'etc', 'ca-certificates.crt'), 'utf8'),
    );
    const theirs = readdirSync(join(root, 'etc'))
      .filter((n) => n !== 'ca-certificates.crt')
      .map(
        (n) =>
          `${n} -> ${readlinkSync(join(root, 'etc', n)).replace(join(root, 'share'), '/usr/share/ca-certificates')}`,
      )
      .sort();
    const ours = [...tree.keys()]
      .filter((k) => k.startsWith('etc/ssl/certs/') && k !== 'etc/ssl/certs/ca-certificates.crt')
      .map((k) => `${k.slice('etc/ssl/certs/'.length)} -> ${link(tree, k)}`)
      .sort();
    assert.deepEqual(ours, theirs);
  });

  it("matches the host's own /etc/ssl/certs for the host's certificates", async (t) => {
    const mozilla = '/usr/share/ca-certificates/mozilla';
    if (
      !existsSync(mozilla) ||
      !existsSync('/etc/ssl/certs/ca-certificates.crt') ||
      !existsSync('/etc/ca-certificates.conf')
    )
      return t.skip('no CA store on the host');
    const conf = readFileSync('/etc/ca-certificates.conf', 'utf8');
    const names = readdirSync(mozilla).filter((n) => n.endsWith('.crt'));
    const localDir = '/usr/local/share/ca-certificates';
    const local = existsSync(localDir) ? readdirSync(localDir).filter((n) => n.endsWith('.crt')) : [];
    if (/^!/m.test(conf) || conf.split('\n').filter((l) => /^[^#!]/.test(l)).length !== names.length)
      return t.skip('host CA set is customised');
    const { tree } = await install([
      {
        name: 'ca-certificates',
        arch: 'all',
        entries: [
          ...names.map((n) => ({
            path: `./usr/share/ca-certificates/mozilla/${n}`,
            content: readFileSync(join(mozilla, n)),
          })),
          // certificates the host's administrator added: update-ca-certificates appends them after the conf's
          ...local.map((n) => ({
            path: `./usr/local/share/ca-certificates/${n}`,
            content: readFileSync(join(localDir, n)),
          })),
        ],
      },
    ]);
    assert.equal(await text(tree, 'etc/ca-certificates.conf'), conf);
    assert.equal(
      await text(tree, 'etc/ssl/certs/ca-certificates.crt'),
      readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8'),
    );
    for (const k of [...tree.keys()].filter((k) => /^etc\/ssl\/certs\/[0-9a-f]{8}\.\d+$/.test(k))) {
      assert.equal(link(tree, k), readlinkSync(`/${k}`), k);
    }
  });
});

// --- tzdata, netbase, base-files, debianutils, python, alternatives --------------------------------

describe('effects: configuration files', () => {
  const tzdata: DebSpec = {
    name: 'tzdata',
    arch: 'all',
    entries: [
      { path: './usr/share/zoneinfo/Etc/UTC', content: 'TZif-utc' },
      { path: './usr/share/zoneinfo/Europe/Berlin', content: 'TZif-berlin' },
      { path: './usr/share/zoneinfo/localtime', type: 'symlink', linkname: '/etc/localtime' },
    ],
  };

  it('tzdata links /etc/localtime to Etc/UTC by default, or the configured zone', async () => {
    const { tree } = await install([tzdata]);
    assert.equal(link(tree, 'etc/localtime'), '/usr/share/zoneinfo/Etc/UTC');
    assert.equal(await text(tree, 'etc/timezone'), 'Etc/UTC\n');
    const berlin = await install([tzdata], { effects: { timezone: 'Europe/Berlin' } });
    assert.equal(link(berlin.tree, 'etc/localtime'), '/usr/share/zoneinfo/Europe/Berlin');
    assert.equal(await text(berlin.tree, 'etc/timezone'), 'Europe/Berlin\n');
    await assert.rejects(install([tzdata], { effects: { timezone: 'Mars/Olympus' } }), {
      code: 'SPEC_INVALID',
    });
    await assert.rejects(install([tzdata], { effects: { timezone: '../../etc/passwd' } }), {
      code: 'SPEC_INVALID',
    });
  });

  it("trixie's tzdata writes no /etc/timezone on a fresh install (its postinst updates only an existing one)", async () => {
    const postinst = [
      'if [ "$1" = configure ]; then',
      '\tif test -f "$DPKG_ROOT/etc/timezone"; then',
      '\t\techo "$TIMEZONE" > "$DPKG_ROOT/etc/timezone"',
      '\tfi',
      'fi',
    ].join('\n');
    const trixie = { ...tzdata, controlFiles: { postinst } };
    const { tree } = await install([trixie], { effects: { timezone: 'Europe/Berlin' } });
    assert.equal(link(tree, 'etc/localtime'), '/usr/share/zoneinfo/Europe/Berlin');
    assert.equal(tree.get('etc/timezone'), undefined);
    // One the packages ship (or an older system had) is kept up to date.
    const shipped = {
      name: 'old-timezone',
      arch: 'all',
      entries: [{ path: './etc/timezone', content: 'x\n' }],
    };
    const kept = await install([shipped, trixie], { effects: { timezone: 'Europe/Berlin' } });
    assert.equal(await text(kept.tree, 'etc/timezone'), 'Europe/Berlin\n');
    // bookworm's postinst writes it unconditionally.
    const bookworm = {
      ...tzdata,
      controlFiles: { postinst: 'echo "$TIMEZONE" > "$DPKG_ROOT/etc/timezone"\n' },
    };
    assert.equal(await text((await install([bookworm])).tree, 'etc/timezone'), 'Etc/UTC\n');
  });

  it('netbase writes /etc/hosts and /etc/networks with tabs and a blank last line', async () => {
    const { tree } = await install([
      { name: 'netbase', arch: 'all', entries: [{ path: './etc/services', content: 'x' }] },
    ]);
    assert.equal(
      await text(tree, 'etc/hosts'),
      '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n\n',
    );
    assert.equal(
      await text(tree, 'etc/networks'),
      'default\t\t0.0.0.0\nloopback\t127.0.0.0\nlink-local\t169.254.0.0\n\n',
    );
  });

  it('base-files turns /var/run and /var/lock into links, keeps what was inside, makes the usual directories', async () => {
    const { tree } = await install([
      {
        name: 'base-files',
        entries: [
          { path: './run/' },
          { path: './var/run/' },
          { path: './var/lock/' },
          { path: './usr/share/base-files/dot.profile', content: 'PATH\n', mtime: 1_500_000_000 },
          { path: './usr/share/base-files/motd', content: 'hello\n' },
          { path: './etc/dpkg/origins/debian', content: 'Vendor: Debian\n' },
          { path: './bin/', mode: 0o755 },
        ],
      },
      { name: 'other', entries: [{ path: './var/run/other.pid', content: '1' }] },
    ]);
    assert.equal(link(tree, 'var/run'), '/run');
    assert.equal(link(tree, 'var/lock'), '/run/lock');
    assert.equal(await text(tree, 'run/other.pid'), '1');
    assert.deepEqual(meta(tree.get('run/lock')), {
      kind: 'dir',
      mode: 0o1777,
      uid: 0,
      gid: 0,
      mtime: EPOCH,
      origin: 'base-files',
    });
    assert.deepEqual(meta(tree.get('var/mail')), {
      kind: 'dir',
      mode: 0o2775,
      uid: 0,
      gid: 8,
      mtime: EPOCH,
      origin: 'base-files',
    });
    assert.equal(link(tree, 'var/spool/mail'), '../mail');
    assert.equal(link(tree, 'usr/local/man'), 'share/man');
    assert.equal(link(tree, 'etc/dpkg/origins/default'), 'debian');
    for (const d of ['mnt', 'srv', 'opt', 'media', 'usr/local/bin', 'usr/local/share/man', 'usr/local/src'])
      assert.equal(tree.get(d)?.kind, 'dir', d);
    assert.deepEqual(meta(tree.get('root/.profile')), {
      kind: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 1_500_000_000,
      origin: 'base-files',
    });
    assert.equal(await text(tree, 'etc/motd'), 'hello\n');
    assert.deepEqual(meta(tree.get('var/log/wtmp')), {
      kind: 'file',
      mode: 0o664,
      uid: 0,
      gid: 43,
      mtime: EPOCH,
      origin: 'base-files',
    });
    assert.equal(link(tree, 'bin'), 'usr/bin');
    assert.equal(tree.get('usr/local/libexec'), undefined); // bookworm's postinst makes none
  });

  it("base-files makes the /usr/local directories its postinst's install_local_dir calls name (trixie's /usr/local/libexec)", async () => {
    const postinst = [
      'install_local_dir() {',
      '  if [ ! -d "$DPKG_ROOT$1" ]; then',
      '    mkdir -p "$DPKG_ROOT$1"',
      '  fi',
      '}',
      'if [ ! -d "$DPKG_ROOT/usr/local" ]; then',
      ...['', '/share', '/lib', '/libexec', '/etc'].map((d) => `  install_local_dir /usr/local${d}`),
      '  ln -sf share/man "$DPKG_ROOT/usr/local/man"',
      'fi',
    ].join('\n');
    const { tree } = await install([
      { name: 'base-files', entries: [{ path: './etc/' }], controlFiles: { postinst } },
    ]);
    for (const d of ['usr/local', 'usr/local/share', 'usr/local/lib', 'usr/local/libexec', 'usr/local/etc'])
      assert.equal(tree.get(d)?.kind, 'dir', d);
    assert.equal(tree.get('usr/local/bin'), undefined); // not named by this postinst
    assert.equal(link(tree, 'usr/local/man'), 'share/man');
  });

  it('debianutils writes /etc/shells with every shell and its merged-/usr twin, as update-shells does', async () => {
    const { tree } = await install([
      {
        name: 'debianutils',
        entries: [
          { path: './usr/share/debianutils/shells', content: '# /etc/shells: valid login shells\n/bin/sh\n' },
          { path: './usr/bin/which.debianutils', content: 'w' },
        ],
      },
      { name: 'dash', entries: [{ path: './usr/share/debianutils/shells.d/dash', content: '/bin/dash\n' }] },
      {
        name: 'bash',
        entries: [{ path: './usr/share/debianutils/shells.d/bash', content: '/bin/bash\n/bin/rbash\n' }],
      },
    ]);
    assert.equal(
      await text(tree, 'etc/shells'),
      '# /etc/shells: valid login shells\n/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/rbash\n/usr/bin/rbash\n/bin/dash\n/usr/bin/dash\n',
    );
    assert.equal(
      await text(tree, 'var/lib/shells.state'),
      '/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/rbash\n/usr/bin/rbash\n/bin/dash\n/usr/bin/dash\n',
    );
    assert.equal(link(tree, 'usr/bin/which'), '/etc/alternatives/which');
    assert.equal(link(tree, 'etc/alternatives/which'), '/usr/bin/which.debianutils');
  });

  it("trixie's update-shells lists each shell once, where bash's shells.d names /bin/bash and /usr/bin/bash (as a scripted trixie install)", async () => {
    const shellsD = (name: string, content: string) => ({
      name,
      entries: [{ path: `./usr/share/debianutils/shells.d/${name}`, content }],
    });
    const debianutils = (script: string) => ({
      name: 'debianutils',
      entries: [
        { path: './usr/share/debianutils/shells', content: '# /etc/shells: valid login shells\n/bin/sh\n' },
        { path: './usr/sbin/update-shells', content: script, mode: 0o755 },
      ],
    });
    const trixie = await install([
      debianutils('#!/bin/sh\n\t\tif ! hashset_contains "$PKG_SHELLS" "$line"; then\n'),
      shellsD('bash', '/bin/bash\n/bin/rbash\n/usr/bin/bash\n/usr/bin/rbash\n'),
      shellsD('dash', '/usr/bin/dash\n'),
    ]);
    const once =
      '/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/rbash\n/usr/bin/rbash\n/usr/bin/dash\n';
    assert.equal(await text(trixie.tree, 'etc/shells'), `# /etc/shells: valid login shells\n${once}`);
    assert.equal(await text(trixie.tree, 'var/lib/shells.state'), once);
    // bookworm's update-shells (no hashset check) appends every line and twin as it comes.
    const bookworm = await install([
      debianutils('#!/bin/sh\n\t\tPKG_SHELLS="$PKG_SHELLS$line#"\n'),
      shellsD('bash', '/bin/bash\n/usr/bin/bash\n'),
    ]);
    assert.equal(
      await text(bookworm.tree, 'var/lib/shells.state'),
      '/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/usr/bin/bash\n',
    );
  });

  it('python3 writes debian_config; python3.X-minimal makes dist-packages', async () => {
    const { tree } = await install([
      { name: 'python3', entries: [{ path: './usr/bin/python3', type: 'symlink', linkname: 'python3.11' }] },
      { name: 'python3.11-minimal', entries: [{ path: './usr/bin/python3.11', content: 'ELF' }] },
    ]);
    assert.equal(
      await text(tree, 'etc/python3/debian_config'),
      '[DEFAULT]\n# how to byte-compile (comma separated: standard, optimize)\nbyte-compile = standard\n',
    );
    assert.deepEqual(meta(tree.get('usr/local/lib/python3.11/dist-packages')), {
      kind: 'dir',
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: EPOCH,
      origin: 'python3.11-minimal',
    });
  });

  it("bash links /bin/sh to bash when no package ships /bin/sh; dash's own link wins", async () => {
    const bash: DebSpec = { name: 'bash', entries: [{ path: './bin/bash', content: 'ELF', mode: 0o755 }] };
    const alone = await install([bash]);
    const sh = alone.tree.get('usr/bin/sh');
    assert.deepEqual(
      sh && { kind: sh.kind, target: sh.kind === 'symlink' ? sh.target : '', origin: sh.origin },
      {
        kind: 'symlink',
        target: 'bash',
        origin: 'bash',
      },
    );
    const dash: DebSpec = {
      name: 'dash',
      entries: [
        { path: './bin/dash', content: 'ELF', mode: 0o755 },
        { path: './bin/sh', type: 'symlink', linkname: 'dash' },
      ],
    };
    const both = await install([dash, bash]);
    const binsh = both.tree.get('usr/bin/sh');
    assert.equal(binsh?.kind === 'symlink' && binsh.target, 'dash');
  });

  it("enables nginx modules as dh_nginx's postinst does (modules-enabled links from its confpair list)", async () => {
    const postinst = [
      '#!/bin/sh',
      'set -e',
      '# Automatically added by dh_nginx/UNDECLARED',
      'for confpair in mod-http-echo.conf:50-mod-http-echo.conf mod-missing.conf:50-mod-missing.conf  ; do',
      '\tfrom=$(echo $confpair | cut -d: -f1)',
      '\tto=$(echo $confpair | cut -d: -f2)',
      '\tif [ -z "$2" -o "$removed_link" = "true" ]; then',
      '\t\tln -sf /usr/share/nginx/modules-available/$from \\',
      '\t\t\t/etc/nginx/modules-enabled/$to',
      '\tfi',
      'done',
      '',
    ].join('\n');
    const mod: DebSpec = {
      name: 'libnginx-mod-http-echo',
      entries: [
        { path: './usr/share/nginx/modules-available/mod-http-echo.conf', content: 'load_module x;\n' },
      ],
      controlFiles: { postinst },
    };
    const { tree } = await install([mod]);
    assert.equal(
      link(tree, 'etc/nginx/modules-enabled/50-mod-http-echo.conf'),
      '/usr/share/nginx/modules-available/mod-http-echo.conf',
    );
    assert.equal(
      tree.get('etc/nginx/modules-enabled/50-mod-http-echo.conf')?.origin,
      'libnginx-mod-http-echo',
    );
    assert.equal(tree.get('etc/nginx/modules-enabled/50-mod-missing.conf'), undefined, 'FROM not installed');
    const other = await install([
      { ...mod, controlFiles: { postinst: 'for confpair in a.conf:b.conf; do :; done\n' } },
    ]);
    assert.equal(other.tree.get('etc/nginx/modules-enabled/b.conf'), undefined, 'not the dh_nginx snippet');
  });

  it('configures PHP as its maintainer scripts do: php.ini per SAPI, module inis enabled in conf.d by priority', async () => {
    const cli: DebSpec = {
      name: 'php8.2-cli',
      entries: [
        { path: './etc/php/8.2/cli/conf.d/' },
        { path: './usr/lib/php/8.2/sapi/cli', content: '' },
        { path: './usr/lib/php/8.2/php.ini-production.cli', content: '[PHP]\nmemory_limit = -1\n' },
      ],
    };
    const common: DebSpec = {
      name: 'php8.2-common',
      entries: [
        { path: './etc/php/8.2/mods-available/' },
        {
          path: './usr/share/php8.2-common/common/ctype.ini',
          content: '; priority=20\nextension=ctype.so\n',
        },
        { path: './usr/share/php8.2-common/common/pdo.ini', content: '; priority=10\nextension=pdo.so\n' },
        { path: './usr/share/php8.2-common/common/plain.ini', content: 'extension=plain.so\n' },
      ],
    };
    const { tree } = await install([common, cli]);
    assert.equal(await text(tree, 'etc/php/8.2/cli/php.ini'), '[PHP]\nmemory_limit = -1\n');
    assert.equal(await text(tree, 'etc/php/8.2/mods-available/pdo.ini'), '; priority=10\nextension=pdo.so\n');
    assert.equal(link(tree, 'etc/php/8.2/cli/conf.d/20-ctype.ini'), '/etc/php/8.2/mods-available/ctype.ini');
    assert.equal(link(tree, 'etc/php/8.2/cli/conf.d/10-pdo.ini'), '/etc/php/8.2/mods-available/pdo.ini');
    assert.equal(link(tree, 'etc/php/8.2/cli/conf.d/20-plain.ini'), '/etc/php/8.2/mods-available/plain.ini');
    assert.equal(tree.get('etc/php/8.2/cli/conf.d/20-ctype.ini')?.origin, 'php8.2-common');
    // php-helper's state, which phpquery -M and phpdismod read: empty files, as `touch` leaves them.
    for (const mod of ['ctype', 'pdo', 'plain']) {
      assert.equal(await text(tree, `var/lib/php/modules/8.2/registry/${mod}`), '');
      assert.equal(await text(tree, `var/lib/php/modules/8.2/cli/enabled_by_maint/${mod}`), '');
    }
    // Without a SAPI, modules are available but enabled nowhere.
    const alone = await install([common]);
    assert.equal(alone.tree.get('etc/php/8.2/mods-available/ctype.ini')?.kind, 'file');
    assert.equal(alone.tree.get('etc/php/8.2/cli'), undefined);
    assert.equal(await text(alone.tree, 'var/lib/php/modules/8.2/registry/ctype'), '');
    assert.equal(alone.tree.get('var/lib/php/modules/8.2/cli'), undefined);
  });

  it("writes /etc/pam.d/common-* as libpam-runtime's pam-auth-update does (Debian's own output as the reference)", async () => {
    const fixture = (name: string) => readFileSync(join(PAM_FIXTURES, name), 'utf8');
    const types = ['auth', 'account', 'password', 'session', 'session-noninteractive'];
    const pam: DebSpec = {
      name: 'libpam-runtime',
      arch: 'all',
      entries: [
        ...['unix', 'mkhomedir'].map((n) => ({ path: `./usr/share/pam-configs/${n}`, content: fixture(n) })),
        ...types.map((t) => ({
          path: `./usr/share/pam/common-${t}`,
          content: fixture(`template-common-${t}`),
        })),
      ],
    };
    const { tree } = await install([pam]);
    for (const t of types)
      assert.equal(await text(tree, `etc/pam.d/common-${t}`), fixture(`expected-common-${t}`), t);
    assert.equal(tree.get('etc/pam.d/common-auth')?.origin, 'libpam-runtime');
  });

  it('orders PAM profiles by priority and resolves success=end to the jumps over the rest of the block', () => {
    const template = fixtureTemplate();
    const unix = parsePamProfile(
      'Name: Unix\nDefault: yes\nPriority: 256\nAuth-Type: Primary\nAuth:\n\t[success=end default=ignore]\tpam_unix.so nullok try_first_pass\nAuth-Initial:\n\t[success=end default=ignore]\tpam_unix.so nullok\n',
    );
    const sss = parsePamProfile(
      'Name: SSS\nDefault: yes\nPriority: 128\nAuth-Type: Primary\nAuth:\n\t[success=end new_authtok_reqd=done default=ignore]\tpam_sss.so use_first_pass\nAuth-Initial:\n\t[success=end default=ignore]\tpam_sss.so\n',
    );
    const extra = parsePamProfile(
      'Name: Extra\nDefault: yes\nPriority: 0\nAuth-Type: Additional\nAuth:\n\toptional\tpam_cap.so\n',
    );
    const out = pamConfig(template, 'auth', [unix, sss, extra]) ?? '';
    assert.match(
      out,
      /auth\t\[success=2 default=ignore\]\tpam_unix\.so nullok\nauth\t\[success=1 new_authtok_reqd=done default=ignore\]\tpam_sss\.so use_first_pass\n# here's the fallback/,
    );
    assert.match(out, /Additional" block\)\nauth\toptional\tpam_cap\.so \n# end of pam-auth-update config/);
    assert.match(
      pamConfig(template, 'auth', []) ?? '',
      /Primary" block\)\nauth\t\[default=1\]\t\t\tpam_permit\.so\n/,
    );
    assert.equal(pamConfig('no markers\n', 'auth', [unix]), undefined);
  });

  it('libc-bin copies nsswitch.conf; an absent template is no error', async () => {
    const { tree } = await install([
      {
        name: 'libc-bin',
        entries: [{ path: './usr/share/libc-bin/nsswitch.conf', content: 'hosts: files dns\n' }],
      },
    ]);
    assert.equal(await text(tree, 'etc/nsswitch.conf'), 'hosts: files dns\n');
    const none = await install([{ name: 'libc-bin', entries: [] }]);
    assert.equal(none.tree.get('etc/nsswitch.conf'), undefined);
  });

  it("writes exim4-config's /etc/aliases when missing (mmdebstrap's file); a spec's own is kept", async () => {
    const { tree } = await install([
      { name: 'exim4-config', entries: [{ path: './etc/exim4/', type: 'dir' }] },
    ]);
    assert.equal(
      await text(tree, 'etc/aliases'),
      '# /etc/aliases\nmailer-daemon: postmaster\npostmaster: root\nnobody: root\nhostmaster: root\nusenet: root\nnews: root\nwebmaster: root\nwww: root\nftp: root\nabuse: root\nnoc: root\nsecurity: root\n',
    );
    assert.equal(tree.get('etc/aliases')?.mode, 0o644);
    const own = await install([
      { name: 'exim4-config', entries: [{ path: './etc/aliases', content: 'root: admin\n' }] },
    ]);
    assert.equal(await text(own.tree, 'etc/aliases'), 'root: admin\n');
  });

  /** sha256 of bookworm's /etc/mysql/debian.cnf in an mmdebstrap install of mariadb-server 1:10.11. */
  const MARIADB_DEBIAN_CNF_SHA256 = '18b2e9f179dabe8762a77b297f803c958a3ed9642aaa5ba184e8d56bc1cfda9a';
  it("writes mariadb-server's /etc/mysql/debian.cnf 0600 when missing, as its postinst's echo lines do (mmdebstrap's file)", async () => {
    const { tree } = await install([
      { name: 'mariadb-server', entries: [{ path: './etc/mysql/', type: 'dir' }] },
    ]);
    const cnf = await text(tree, 'etc/mysql/debian.cnf');
    assert.equal(createHash('sha256').update(cnf).digest('hex'), MARIADB_DEBIAN_CNF_SHA256);
    assert.equal(tree.get('etc/mysql/debian.cnf')?.mode, 0o600);
  });

  it("enables icinga2's default features as its postinst's `icinga2 feature enable` does (mmdebstrap's links)", async () => {
    const available = ['api', 'checker', 'mainlog', 'notification'];
    const { tree } = await install([
      {
        name: 'icinga2-bin',
        entries: [
          ...available.map((f) => ({
            path: `./etc/icinga2/features-available/${f}.conf`,
            content: `${f}\n`,
          })),
          { path: './etc/icinga2/features-enabled/', type: 'dir' as const },
        ],
      },
    ]);
    for (const f of ['checker', 'mainlog', 'notification']) {
      const node = tree.get(`etc/icinga2/features-enabled/${f}.conf`);
      assert.equal(node?.kind === 'symlink' ? node.target : undefined, `../features-available/${f}.conf`, f);
    }
    assert.equal(tree.get('etc/icinga2/features-enabled/api.conf'), undefined, 'api is not a default');
  });
});

describe('effects: update-alternatives', () => {
  const mawk: DebSpec = {
    name: 'mawk',
    entries: [
      { path: './usr/bin/mawk', content: 'mawk', mode: 0o755 },
      { path: './usr/share/man/man1/mawk.1.gz', content: 'man' },
    ],
  };

  it('links awk and its slaves through /etc/alternatives and writes the database file', async () => {
    const { tree } = await install([mawk]);
    assert.equal(link(tree, 'usr/bin/awk'), '/etc/alternatives/awk');
    assert.equal(link(tree, 'etc/alternatives/awk'), '/usr/bin/mawk');
    assert.equal(link(tree, 'usr/bin/nawk'), '/etc/alternatives/nawk');
    assert.equal(link(tree, 'usr/share/man/man1/awk.1.gz'), '/etc/alternatives/awk.1.gz');
    assert.equal(link(tree, 'etc/alternatives/awk.1.gz'), '/usr/share/man/man1/mawk.1.gz');
    // the same bytes update-alternatives writes (compare /var/lib/dpkg/alternatives/awk on a Debian host)
    assert.equal(
      await text(tree, 'var/lib/dpkg/alternatives/awk'),
      'auto\n/usr/bin/awk\nawk.1.gz\n/usr/share/man/man1/awk.1.gz\nnawk\n/usr/bin/nawk\nnawk.1.gz\n/usr/share/man/man1/nawk.1.gz\n\n' +
        '/usr/bin/mawk\n5\n/usr/share/man/man1/mawk.1.gz\n/usr/bin/mawk\n/usr/share/man/man1/mawk.1.gz\n\n',
    );
    assert.equal(tree.get('usr/bin/awk')?.origin, 'mawk');
  });

  it("registers xz-utils' lzma with its 19 slaves, sorted by name in the database as update-alternatives keeps them (mmdebstrap's file)", async () => {
    const xz: DebSpec = {
      name: 'xz-utils',
      entries: [
        { path: './usr/bin/xz', content: 'xz', mode: 0o755 },
        { path: './usr/bin/xzcat', content: 'xz', mode: 0o755 },
        { path: './usr/bin/unxz', content: 'xz', mode: 0o755 },
        { path: './usr/share/man/man1/xz.1.gz', content: 'man' },
      ],
      // Its slaves come from a shell function in a command substitution: not readable, so the table's.
      controlFiles: {
        postinst:
          'slave () {\n\tdir=$1 filename=$2 target=$3\n\techo "--slave $dir/$filename $filename $dir/$target"\n}\n' +
          'update-alternatives --install /usr/bin/lzma lzma /usr/bin/xz 20 $(\n\tslave /usr/bin unlzma unxz\n)\n',
      },
    };
    const { tree, result } = await install([xz]);
    assert.deepEqual(result.warnings, [], 'the table has it: no warning');
    assert.equal(link(tree, 'usr/bin/lzma'), '/etc/alternatives/lzma');
    assert.equal(link(tree, 'etc/alternatives/lzcat'), '/usr/bin/xzcat');
    assert.equal(link(tree, 'etc/alternatives/unlzma'), '/usr/bin/unxz');
    assert.equal(link(tree, 'etc/alternatives/lzma.1.gz'), '/usr/share/man/man1/xz.1.gz');
    assert.equal(tree.get('usr/bin/lzmore'), undefined, 'a slave whose target is missing is skipped');
    const names = [
      'lzcat',
      'lzcat.1.gz',
      'lzcmp',
      'lzcmp.1.gz',
      'lzdiff',
      'lzdiff.1.gz',
      'lzegrep',
      'lzegrep.1.gz',
      'lzfgrep',
      'lzfgrep.1.gz',
      'lzgrep',
      'lzgrep.1.gz',
      'lzless',
      'lzless.1.gz',
      'lzma.1.gz',
      'lzmore',
      'lzmore.1.gz',
      'unlzma',
      'unlzma.1.gz',
    ];
    const dir = (n: string) => (n.endsWith('.gz') ? '/usr/share/man/man1' : '/usr/bin');
    const target = (n: string) =>
      n === 'lzma.1.gz' ? 'xz.1.gz' : n.replace(/^(un)?lz(ma)?/, (_m, un) => (un ? 'unxz' : 'xz'));
    assert.equal(
      await text(tree, 'var/lib/dpkg/alternatives/lzma'),
      `auto\n/usr/bin/lzma\n${names.map((n) => `${n}\n${dir(n)}/${n}\n`).join('')}\n/usr/bin/xz\n20\n${names.map((n) => `${dir(n)}/${target(n)}\n`).join('')}\n`,
    );
  });

  it("reproduces the literal update-alternatives calls of a package's postinst (libblas3, less)", async () => {
    const blas: DebSpec = {
      name: 'libblas3',
      entries: [{ path: './usr/lib/x86_64-linux-gnu/blas/libblas.so.3', content: 'elf' }],
      controlFiles: {
        postinst: [
          '#!/bin/sh',
          'set -e',
          'if [ "$1" = "configure" ]; then',
          '  update-alternatives --install /usr/lib/x86_64-linux-gnu/libblas.so.3 \\',
          '                      libblas.so.3-x86_64-linux-gnu \\',
          '                      /usr/lib/x86_64-linux-gnu/blas/libblas.so.3 10',
          'fi',
          'for f in $LINKS; do update-alternatives --install /usr/bin/$f $f /x 1; done',
          '',
        ].join('\n'),
      },
    };
    const less: DebSpec = {
      name: 'less',
      entries: [
        { path: './bin/less', content: 'less', mode: 0o755 },
        { path: './usr/share/man/man1/less.1.gz', content: 'man' },
      ],
      controlFiles: {
        postinst:
          "update-alternatives --quiet --install /usr/bin/pager pager /bin/less 77 --slave /usr/share/man/man1/pager.1.gz pager.1.gz '/usr/share/man/man1/less.1.gz'\n",
      },
    };
    const { tree } = await install([blas, less]);
    assert.equal(
      link(tree, 'usr/lib/x86_64-linux-gnu/libblas.so.3'),
      '/etc/alternatives/libblas.so.3-x86_64-linux-gnu',
    );
    assert.equal(
      link(tree, 'etc/alternatives/libblas.so.3-x86_64-linux-gnu'),
      '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3',
    );
    assert.equal(tree.get('usr/bin/$f'), undefined, 'a call with shell expansion is not guessed at');
    assert.equal(link(tree, 'usr/bin/pager'), '/etc/alternatives/pager');
    assert.equal(link(tree, 'etc/alternatives/pager'), '/bin/less');
    assert.equal(link(tree, 'etc/alternatives/pager.1.gz'), '/usr/share/man/man1/less.1.gz');
    assert.equal(tree.get('usr/lib/x86_64-linux-gnu/libblas.so.3')?.origin, 'libblas3');
  });

  it('follows variables and for loops in a postinst (openjdk, php), and warns about calls it cannot evaluate', async () => {
    const jdk: DebSpec = {
      name: 'openjdk-17-jdk-headless',
      entries: ['jar', 'javac'].map((t) => ({ path: `./usr/lib/jvm/j17/bin/${t}`, content: t, mode: 0o755 })),
      controlFiles: {
        postinst: [
          'basedir=/usr/lib/jvm/j17',
          "tools='jar javac'",
          'for i in $tools; do',
          '  update-alternatives --install /usr/bin/$i $i $basedir/bin/$i 1711',
          'done',
          'update-alternatives --install /usr/bin/jhsdb jhsdb $(readlink -f $basedir)/bin/jhsdb 1711',
          '',
        ].join('\n'),
      },
    };
    const { tree, result } = await install([jdk]);
    assert.equal(link(tree, 'usr/bin/javac'), '/etc/alternatives/javac');
    assert.equal(link(tree, 'etc/alternatives/javac'), '/usr/lib/jvm/j17/bin/javac');
    assert.equal(link(tree, 'etc/alternatives/jar'), '/usr/lib/jvm/j17/bin/jar');
    assert.deepEqual(result.warnings, [
      'openjdk-17-jdk-headless: an update-alternatives call in its postinst uses values known only when the script runs; its link is not made (add them with files, or see src/debian/effects/README.md to extend the alternatives table)',
    ]);
    const none = await install([{ ...jdk, controlFiles: { postinst: 'exit 0\n' } }]);
    assert.deepEqual(none.result.warnings, []);
  });

  it('skips slaves whose target is missing, and picks the highest priority', async () => {
    const noMan: DebSpec = { name: 'mawk', entries: [{ path: './usr/bin/mawk', content: 'mawk' }] };
    const gawk: DebSpec = { name: 'gawk', entries: [{ path: './usr/bin/gawk', content: 'gawk' }] };
    const { tree } = await install([noMan, gawk]);
    assert.equal(link(tree, 'etc/alternatives/awk'), '/usr/bin/gawk');
    assert.equal(link(tree, 'etc/alternatives/nawk'), '/usr/bin/gawk');
    assert.equal(tree.get('usr/share/man/man1/awk.1.gz'), undefined);
    assert.equal(tree.get('etc/alternatives/awk.1.gz'), undefined);
    assert.match(
      await text(tree, 'var/lib/dpkg/alternatives/awk'),
      /\n\n\/usr\/bin\/gawk\n10\n\/usr\/share\/man\/man1\/gawk\.1\.gz\n\/usr\/bin\/gawk\n.*\n\/usr\/bin\/mawk\n5\n/s,
    );
    // a master target that is not installed registers nothing
    const none = await install([{ name: 'mawk', entries: [] }]);
    assert.equal(none.tree.get('usr/bin/awk'), undefined);
  });

  it('resolves targets through merged /usr (pager -> /bin/more)', async () => {
    const { tree } = await install([
      { name: 'util-linux', entries: [{ path: './bin/more', content: 'more' }] },
    ]);
    assert.equal(link(tree, 'etc/alternatives/pager'), '/bin/more');
    assert.equal(link(tree, 'usr/bin/pager'), '/etc/alternatives/pager');
  });

  it("registers PostgreSQL's man pages as postgresql-common's _link_manpages does, from the packages' files (mmdebstrap's database files)", async () => {
    const man = (v: string, pages: string[]) =>
      pages.map((p) => ({ path: `./usr/share/postgresql/${v}/man/man${p.split('.')[1]}/${p}`, content: p }));
    const postinst = (kind: string) =>
      `#!/bin/sh\nset -e\nVERSION=\${DPKG_MAINTSCRIPT_PACKAGE##*-}\n. /usr/share/postgresql-common/maintscripts-functions\nif [ "$1" = configure ]; then\n    ${kind} $VERSION "$2"\nfi\n`;
    const { tree, result } = await install([
      {
        name: 'postgresql-client-15',
        entries: man('15', ['psql.1.gz', 'clusterdb.1.gz', 'ABORT.7.gz']),
        controlFiles: { postinst: postinst('configure_client_version') },
      },
      {
        name: 'postgresql-15',
        entries: [
          ...man('15', ['postmaster.1.gz', 'postgres.1.gz', 'initdb.1.gz']),
          { path: './usr/share/postgresql/15/man/man3/', type: 'dir' as const },
        ],
        controlFiles: { postinst: postinst('configure_version') },
      },
    ]);
    assert.equal(link(tree, 'usr/share/man/man1/psql.1.gz'), '/etc/alternatives/psql.1.gz');
    assert.equal(link(tree, 'etc/alternatives/psql.1.gz'), '/usr/share/postgresql/15/man/man1/psql.1.gz');
    assert.equal(link(tree, 'usr/share/man/man7/ABORT.7.gz'), '/etc/alternatives/ABORT.7.gz');
    assert.equal(link(tree, 'etc/alternatives/initdb.1.gz'), '/usr/share/postgresql/15/man/man1/initdb.1.gz');
    assert.equal(tree.get('usr/share/man/man1/psql.1.gz')?.origin, 'postgresql-client-15');
    // The layout of bookworm's files (psql.1.gz: 303 slaves, postmaster.1.gz: 24), byte for byte.
    assert.equal(
      await text(tree, 'var/lib/dpkg/alternatives/psql.1.gz'),
      'auto\n/usr/share/man/man1/psql.1.gz\nABORT.7.gz\n/usr/share/man/man7/ABORT.7.gz\nclusterdb.1.gz\n/usr/share/man/man1/clusterdb.1.gz\n\n' +
        '/usr/share/postgresql/15/man/man1/psql.1.gz\n150\n/usr/share/postgresql/15/man/man7/ABORT.7.gz\n/usr/share/postgresql/15/man/man1/clusterdb.1.gz\n\n',
    );
    assert.equal(
      await text(tree, 'var/lib/dpkg/alternatives/postmaster.1.gz'),
      'auto\n/usr/share/man/man1/postmaster.1.gz\ninitdb.1.gz\n/usr/share/man/man1/initdb.1.gz\npostgres.1.gz\n/usr/share/man/man1/postgres.1.gz\n\n' +
        '/usr/share/postgresql/15/man/man1/postmaster.1.gz\n150\n/usr/share/postgresql/15/man/man1/initdb.1.gz\n/usr/share/postgresql/15/man/man1/postgres.1.gz\n\n',
    );
    assert.deepEqual(result.warnings, []);
  });
});

describe('removal list', () => {
  it('matches patterns by component', () => {
    const re = (p: string) => removalPatternRegExp(p);
    assert.ok(re('var/cache/apt/**').test('var/cache/apt/archives/x.deb'));
    assert.ok(!re('var/cache/apt/**').test('var/cache/apt'));
    assert.ok(re('**/__pycache__/*.pyc').test('__pycache__/a.pyc'));
    assert.ok(re('**/__pycache__/*.pyc').test('usr/lib/python3/__pycache__/a.cpython-311.pyc'));
    assert.ok(!re('**/__pycache__/*.pyc').test('usr/lib/python3/__pycache__/sub/a.pyc'));
    assert.ok(re('var/lib/dpkg/*-old').test('var/lib/dpkg/status-old'));
    assert.ok(!re('var/lib/dpkg/*-old').test('var/lib/dpkg/info/x-old'));
    assert.ok(!re('etc/passwd-').test('etc/passwd'));
  });

  it('deletes files, keeps directories and shipped byte code, empties machine-id', async () => {
    const tree = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: EPOCH });
    const file = (path: string, body: string, origin = 'build') =>
      tree.add(path, {
        kind: 'file',
        size: body.length,
        content: () => Readable.from([Buffer.from(body)]),
        mode: 0o444,
        uid: 0,
        gid: 0,
        mtime: 5,
        origin,
      });
    file('var/lib/apt/lists/deb_Packages', 'x');
    tree.mkdirp('var/lib/apt/lists/partial');
    file('var/log/apt/history.log', 'y');
    file('var/cache/ldconfig/aux-cache', 'z');
    file('etc/machine-id', '0123456789abcdef\n');
    file('usr/lib/python3/__pycache__/new.cpython-311.pyc', 'pyc');
    file('usr/lib/python3/__pycache__/shipped.cpython-311.pyc', 'pyc', 'pkg');
    file('etc/keep.conf', 'k');
    const removed = removeNondeterministic(tree, { mtime: EPOCH, isShipped: (_k, n) => n.origin === 'pkg' });
    assert.deepEqual(removed, [
      'etc/machine-id',
      'usr/lib/python3/__pycache__/new.cpython-311.pyc',
      'var/cache/ldconfig/aux-cache',
      'var/lib/apt/lists/deb_Packages',
      'var/log/apt/history.log',
    ]);
    assert.equal(tree.get('var/lib/apt/lists/partial')?.kind, 'dir');
    assert.equal(tree.get('var/log/apt')?.kind, 'dir');
    assert.deepEqual(meta(tree.get('etc/machine-id')), {
      kind: 'file',
      mode: 0o444,
      uid: 0,
      gid: 0,
      mtime: EPOCH,
      origin: 'build',
    });
    assert.equal(await text(tree, 'etc/machine-id'), '');
    assert.ok(tree.get('usr/lib/python3/__pycache__/shipped.cpython-311.pyc'));
    assert.ok(tree.get('etc/keep.conf'));
  });
});
