// [live] Installs real packages from the host's apt source (IMPRINT_LIVE=1): `apt-get download` into a
// temporary directory, installPackages, then checks the tree and, as root, runs the result in a chroot.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  createReadStream,
  createWriteStream,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { readDebControl } from '../../src/debian/deb.js';
import { pemCertificates, subjectHash } from '../../src/debian/effects/index.js';
import { type InstallInput, installPackages } from '../../src/debian/install.js';
import { parseRelationList } from '../../src/debian/relations.js';
import { compareBytes } from '../../src/vfs/path.js';
import { FileTree } from '../../src/vfs/tree.js';

const LIVE = process.env.IMPRINT_LIVE === '1';
const PACKAGES = [
  'base-files',
  'base-passwd',
  'libc6',
  'libc-bin',
  'gcc-12-base',
  'libgcc-s1',
  'mawk',
  'dash',
  'debianutils',
  'tzdata',
  'netbase',
  'python3.11-minimal',
  'libpython3.11-minimal',
  'python3-minimal',
  'libexpat1',
  'zlib1g',
  'libssl3',
  'openssl',
  'ca-certificates',
];
const EPOCH = 1_700_000_000;

/** Writes the tree to `root` on disk (files, directories, links, owners, modes, mtimes). */
async function materialize(tree: FileTree, root: string): Promise<void> {
  const keys = [...tree.keys()].sort(compareBytes);
  for (const key of keys) {
    const n = tree.get(key);
    const p = join(root, key);
    if (n === undefined) continue;
    if (n.kind === 'dir') mkdirSync(p, { recursive: true });
    else mkdirSync(dirname(p), { recursive: true });
    if (n.kind === 'file') await pipeline(await n.content(), createWriteStream(p));
    if (n.kind === 'symlink') symlinkSync(n.target, p);
  }
  for (const key of keys) {
    const n = tree.get(key);
    if (n?.kind === 'hardlink') linkSync(join(root, n.target), join(root, key));
  }
  for (const key of keys.reverse()) {
    const n = tree.get(key);
    if (n === undefined || n.kind === 'symlink' || n.kind === 'hardlink') continue;
    const p = join(root, key);
    chownSync(p, n.uid, n.gid);
    chmodSync(p, n.mode);
    utimesSync(p, n.mtime, n.mtime);
  }
}

describe('[live] installing packages from the host apt source', {
  skip: LIVE ? false : 'set IMPRINT_LIVE=1',
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-live-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('installs python3-minimal and ca-certificates into a working merged-/usr tree', async () => {
    const debs = join(dir, 'debs');
    mkdirSync(debs);
    const dl = spawnSync('apt-get', ['download', ...PACKAGES], { cwd: debs, encoding: 'utf8' });
    assert.equal(dl.status, 0, dl.stderr);
    const inputs: InstallInput[] = [];
    for (const f of readdirSync(debs)
      .filter((n) => n.endsWith('.deb'))
      .sort()) {
      const path = join(debs, f);
      const c = await readDebControl(() => createReadStream(path), { what: f });
      const p = c.paragraph;
      inputs.push({
        record: {
          name: p.get('Package') as string,
          version: p.get('Version') as string,
          architecture: p.get('Architecture') as string,
          multiArch: (p.get('Multi-Arch') ?? 'no') as 'no',
          replaces: parseRelationList(p.get('Replaces') ?? '', f),
          provides: parseRelationList(p.get('Provides') ?? '', f),
          size: statSync(path).size,
          filename: `pool/main/${f}`,
        },
        open: () => createReadStream(path, { highWaterMark: 1 << 20 }),
      });
    }
    const arch = execFileSync('dpkg', ['--print-architecture']).toString().trim();
    const tree = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: EPOCH });
    const result = await installPackages(tree, inputs, {
      epoch: EPOCH,
      arch,
      spoolDir: join(dir, 'spool'),
      mergedUsr: true,
    });
    try {
      assert.equal(result.packages.length, PACKAGES.length);
      assert.equal(tree.get('bin')?.kind, 'symlink');
      assert.equal(tree.get('usr/bin/python3.11')?.kind, 'file');
      assert.equal(tree.get('var/lib/dpkg/status.d/python3-minimal')?.kind, 'file');
      const crts = [...tree.keys()].filter(
        (k) => k.startsWith('usr/share/ca-certificates/') && k.endsWith('.crt'),
      );
      const hashLinks = [...tree.keys()].filter((k) => /^etc\/ssl\/certs\/[0-9a-f]{8}\.\d+$/.test(k));
      assert.ok(crts.length > 100, `${crts.length} certificates`);
      assert.equal(hashLinks.length, crts.length);
      // every mtime is at most the epoch
      for (const k of tree.keys()) assert.ok((tree.get(k)?.mtime ?? 0) <= EPOCH, k);

      if (process.getuid?.() !== 0 || spawnSync('/usr/sbin/chroot', ['--version']).status !== 0) return;
      const root = join(dir, 'root');
      await materialize(tree, root);
      const run = (cmd: string[]) =>
        spawnSync('/usr/sbin/chroot', [root, ...cmd], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
      const py = run([
        '/usr/bin/python3',
        '-c',
        'import ssl,sys; p=ssl.get_default_verify_paths(); print(p.cafile)',
      ]);
      assert.equal(py.status, 0, `${py.error ?? ''} ${py.signal ?? ''} ${py.stderr}`);
      assert.equal(py.stdout.trim(), '/usr/lib/ssl/cert.pem');
      const awk = run(['/usr/bin/awk', 'BEGIN { print 6 * 7 }']);
      assert.equal(awk.stdout, '42\n', awk.stderr);
      const sh = run(['/bin/sh', '-c', 'echo "$0 ok"']);
      assert.equal(sh.stdout, '/bin/sh ok\n', sh.stderr);
      const cfg = run([
        '/usr/bin/python3',
        '-c',
        "import os,pwd; print(open('/etc/timezone').read().strip(), os.readlink('/etc/localtime'), pwd.getpwnam('www-data').pw_uid)",
      ]);
      assert.equal(cfg.stdout, 'Etc/UTC /usr/share/zoneinfo/Etc/UTC 33\n', cfg.stderr);
      const rehash = execFileSync('openssl', [
        'x509',
        '-noout',
        '-subject_hash',
        '-in',
        join(root, crts[0] as string),
      ])
        .toString()
        .trim();
      const der = pemCertificates(readFileSync(join(root, crts[0] as string), 'utf8'))[0] as Buffer;
      assert.equal(subjectHash(der), rehash);
    } finally {
      await result.spool.close();
    }
  });
});
