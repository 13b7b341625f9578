// The layer cache's key holds a hash of the running code, so another version of imprint never reuses
// layers an older one made (an install effect changed without a version bump would otherwise be
// served stale from the cache).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  BUNDLE_FINGERPRINT_FILE,
  codeFingerprint,
  fingerprintTree,
} from '../../src/build/code-fingerprint.js';
import { LayerCache } from '../../src/build/layer-cache.js';
import { ROOT } from '../helpers/cli.js';

describe('code fingerprint', () => {
  test('a tree hash that changes with any .js/.ts file and ignores the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imprint-fingerprint-'));
    try {
      await mkdir(join(dir, 'debian', 'effects'), { recursive: true });
      await writeFile(join(dir, 'debian', 'effects', 'rule.ts'), 'export const mode = 0o755;\n');
      await writeFile(join(dir, 'main.js'), 'console.log(1);\n');
      const first = fingerprintTree(dir);
      await writeFile(join(dir, 'README.md'), 'docs do not count\n');
      await writeFile(join(dir, 'types.d.ts'), 'export type X = 1;\n');
      assert.equal(fingerprintTree(dir), first);
      await writeFile(join(dir, 'debian', 'effects', 'rule.ts'), 'export const mode = 0o750;\n');
      const second = fingerprintTree(dir);
      assert.notEqual(second, first);
      await writeFile(join(dir, 'extra.ts'), '\n');
      assert.notEqual(fingerprintTree(dir), second);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the bundle records the fingerprint it would compute', {
    skip: !existsSync(join(ROOT, 'dist', 'bundle')) && 'no bundle (npm ci makes it)',
  }, () => {
    const bundle = join(ROOT, 'dist', 'bundle');
    assert.equal(readFileSync(join(bundle, BUNDLE_FINGERPRINT_FILE), 'utf8').trim(), fingerprintTree(bundle));
  });

  test("the layer cache key holds the running code's fingerprint", () => {
    assert.match(codeFingerprint(), /^[0-9a-f]{64}$/);
    assert.equal(codeFingerprint(), fingerprintTree(join(ROOT, 'src')), 'tests run the TypeScript sources');
    assert.equal(LayerCache.key({ a: 1 }), LayerCache.key({ a: 1 }));
    assert.notEqual(LayerCache.key({ a: 1 }), LayerCache.key({ a: 2 }));
  });
});
