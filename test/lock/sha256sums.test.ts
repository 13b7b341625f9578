import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256 } from '../../src/digest/index.js';
import { isImprintError } from '../../src/errors.js';
import {
  type LockFile,
  type LockPackage,
  sha256sums,
  sha256sumsFileName,
  writeSha256sums,
} from '../../src/lock/index.js';

const pkg = (name: string, arch: string, hex: string): LockPackage => ({
  name,
  version: '1.0-1',
  architecture: arch,
  source: name,
  filename: `pool/main/${name[0]}/${name}/${name}_1.0-1_${arch}.deb`,
  size: 10,
  sha256: hex.repeat(64),
});

const lock: LockFile = {
  version: 1,
  specHash: sha256('s'),
  sources: [],
  platforms: {
    'linux/amd64': [pkg('zlib1g', 'amd64', 'a'), pkg('base-files', 'amd64', 'b'), pkg('tzdata', 'all', 'c')],
    'linux/arm/v7': [pkg('hello', 'armhf', 'd')],
  },
};

test('sha256sums: sha256sum text format (hash, two spaces, pool path), sorted by path', () => {
  assert.equal(
    sha256sums(lock, 'linux/amd64'),
    `${'b'.repeat(64)}  pool/main/b/base-files/base-files_1.0-1_amd64.deb\n` +
      `${'c'.repeat(64)}  pool/main/t/tzdata/tzdata_1.0-1_all.deb\n` +
      `${'a'.repeat(64)}  pool/main/z/zlib1g/zlib1g_1.0-1_amd64.deb\n`,
  );
  assert.throws(
    () => sha256sums(lock, 'linux/s390x'),
    (e) => isImprintError(e, 'PLATFORM_NOT_FOUND'),
  );
});

test('sha256sumsFileName follows repro-get: arch, then -variant', () => {
  assert.equal(sha256sumsFileName('linux/amd64'), 'SHA256SUMS-amd64');
  assert.equal(sha256sumsFileName('linux/arm/v7'), 'SHA256SUMS-arm-v7');
  assert.equal(sha256sumsFileName('linux/ppc64le'), 'SHA256SUMS-ppc64le');
});

test('writeSha256sums writes one file per platform', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-sums-'));
  try {
    const paths = await writeSha256sums(dir, lock);
    assert.deepEqual(paths, [join(dir, 'SHA256SUMS-amd64'), join(dir, 'SHA256SUMS-arm-v7')]);
    assert.deepEqual((await readdir(dir)).sort(), ['SHA256SUMS-amd64', 'SHA256SUMS-arm-v7']);
    assert.equal(
      await readFile(join(dir, 'SHA256SUMS-arm-v7'), 'utf8'),
      `${'d'.repeat(64)}  pool/main/h/hello/hello_1.0-1_armhf.deb\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
