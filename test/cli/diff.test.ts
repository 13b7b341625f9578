import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DiffResult } from '../../src/diff/index.js';
import { parseReference, writeImageSet } from '../../src/transport/index.js';
import { baseSpec, buildImage, file, tempStore } from '../diff/fixtures.js';
import { runImprint } from '../helpers/cli.js';
import { canRunRegistry, startRegistry } from '../helpers/registry.js';

let tmp: string;
let refA: string;
let refB: string;
let refSame: string;

before(async () => {
  const t = await tempStore();
  tmp = t.dir;
  const a = await buildImage(t.store, baseSpec());
  const spec = baseSpec();
  spec.layers[0]!.entries = spec.layers[0]!.entries.map((e) =>
    e.path === 'etc/motd' ? file('etc/motd', 'line one\nline 2\nline three\n', { mtime: 7 }) : e,
  );
  const b = await buildImage(t.store, spec);
  refA = `oci:${join(tmp, 'a')}`;
  refB = `oci-archive:${join(tmp, 'b.tar')}`;
  refSame = `docker-archive:${join(tmp, 'same.tar')}`;
  await writeImageSet(parseReference(refA), a);
  await writeImageSet(parseReference(refB), b);
  await writeImageSet(parseReference(refSame), a);
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('imprint diff', () => {
  test('the same image across transports: exit 0', async () => {
    const r = await runImprint(['diff', refA, refSame]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${refA} and ${refSame} are the same\n`);
  });

  test('different images: exit 1 and a table, content first', async () => {
    const r = await runImprint(['diff', refA, refB]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], `${refA} and ${refB} differ: 2 differences`);
    assert.match(lines[3]!, /^high +content +linux\/amd64 +layer 0 \/etc\/motd /);
    assert.match(lines[4]!, /^low +mtime +linux\/amd64 +layer 0 \/etc\/motd \(mtime\) +1000 +7$/);
  });

  test('--json and --ignore-timestamps', async () => {
    const r = await runImprint(['diff', '--json', '--ignore-timestamps', refA, refB]);
    assert.equal(r.code, 1, r.stderr);
    const parsed = JSON.parse(r.stdout) as DiffResult;
    assert.equal(parsed.schemaVersion, 1);
    assert.deepEqual(
      parsed.differences.map((d) => d.kind),
      ['content'],
    );
    assert.deepEqual(parsed.ignored, { timestamp: 1 });
    assert.deepEqual(parsed.differences[0]!.detail, {
      text: { a: 'line one\nline two\nline three\n', b: 'line one\nline 2\nline three\n' },
    });
  });

  test('--html writes one page with the unified diff', async () => {
    const out = join(tmp, 'report.html');
    const r = await runImprint(['diff', '--html', out, '--platform', 'linux/amd64', refA, refB]);
    assert.equal(r.code, 1, r.stderr);
    const html = await readFile(out, 'utf8');
    assert.match(html, /<span class="del">-line two<\/span>\n<span class="add">\+line 2<\/span>/);
  });

  test('a diff that fails removes the report an earlier one wrote at --html FILE, and no other file', async () => {
    const out = join(tmp, 'stale.html');
    assert.equal((await runImprint(['diff', '--html', out, refA, refB])).code, 1);
    const nope = `oci:${join(tmp, 'nope')}`;
    const failed = await runImprint(['diff', '--html', out, '--json', refA, nope]);
    assert.equal(failed.code, 2, failed.stderr);
    assert.equal(typeof JSON.parse(failed.stdout).error.code, 'string');
    await assert.rejects(readFile(out), { code: 'ENOENT' });
    await writeFile(out, '<p>mine</p>\n');
    assert.equal((await runImprint(['diff', '--html', out, refA, nope])).code, 2);
    assert.equal(await readFile(out, 'utf8'), '<p>mine</p>\n');
  });

  test('errors exit 2: missing image, unknown platform, bad reference', async () => {
    const missing = await runImprint(['diff', refA, `oci:${join(tmp, 'nope')}`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /error/);
    assert.equal((await runImprint(['diff', '--platform', 'linux/arm64', refA, refB])).code, 2);
    assert.equal((await runImprint(['diff', 'nonsense', refB])).code, 2);
  });
});

describe('imprint diff of registry images', { skip: !canRunRegistry() && 'needs docker-registry' }, () => {
  test('--creds reaches a registry that asks for them, as inspect and verify do', async () => {
    const reg = await startRegistry({ auth: { user: 'alice', password: 'secret' } });
    try {
      const pushed = `docker://${reg.host}/diffed:1`;
      const creds = ['--creds', 'alice:secret', '--tls-verify', 'false'];
      const copy = await runImprint(['copy', refA, pushed, ...creds]);
      assert.equal(copy.code, 0, copy.stderr);
      const r = await runImprint(['diff', refA, pushed, ...creds]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${refA} and ${pushed} are the same\n`);
      const denied = await runImprint(['diff', refA, pushed, '--creds', 'alice:wrong']);
      assert.equal(denied.code, 2, denied.stderr);
    } finally {
      await reg.stop();
    }
  });
});
