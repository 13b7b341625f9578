// --json prints exactly one document on stdout also when the command fails (README, "Machine-readable
// output"): its `error` (code, message, hint) beside the fields the command knew, with the usual exit code.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runImprint } from '../helpers/cli.js';

describe('--json on failure', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'imprint-json-failure-'));
  });
  after(() => rm(work, { recursive: true, force: true }));
  const imprint = (...args: string[]) =>
    runImprint(['--cache-dir', join(work, 'cache'), ...args], { cwd: work });
  const oneDocument = (stdout: string) => {
    const doc = JSON.parse(stdout); // throws unless stdout is exactly one JSON document
    assert.equal(doc.schemaVersion, 1);
    return doc;
  };

  it('build, inspect, copy and diff print an error document', async () => {
    const missing = join(work, 'nothing');
    for (const [args, code, exit] of [
      [['build', missing, '--json'], 'SPEC_NOT_FOUND', 1],
      [['inspect', `oci:${missing}`, '--json'], undefined, 1],
      [['copy', `oci:${missing}`, `oci:${join(work, 'copied')}`, '--json'], undefined, 1],
      [['diff', `oci:${missing}`, `oci:${missing}`, '--json'], undefined, 2],
      [['build', '--json', '--no-such-flag'], 'USAGE', 2],
    ] as const) {
      const r = await imprint(...args);
      assert.equal(r.code, exit, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotThrow(() => JSON.parse(r.stdout), args.join(' '));
      const doc = oneDocument(r.stdout);
      assert.equal(typeof doc.error.message, 'string', args.join(' '));
      if (code !== undefined) assert.equal(doc.error.code, code, args.join(' '));
      assert.ok(r.stderr.length > 0, 'the message goes to stderr as well');
    }
  });

  it('verify --json says verified: false; --attest removes an earlier summary when the image cannot be read', async () => {
    const vsa = join(work, 'vsa.json');
    await writeFile(
      vsa,
      JSON.stringify({
        predicateType: 'https://slsa.dev/verification_summary/v1',
        predicate: { verificationResult: 'PASSED' },
      }),
    );
    const r = await imprint('verify', `oci:${join(work, 'nothing')}`, '--json', '--attest', vsa);
    assert.equal(r.code, 1, r.stderr);
    const doc = oneDocument(r.stdout);
    assert.equal(doc.verified, false);
    assert.equal(doc.reference, `oci:${join(work, 'nothing')}`);
    assert.equal(typeof doc.error.code, 'string');
    await assert.rejects(readFile(vsa), { code: 'ENOENT' });
    assert.match(r.stderr, /removed .*vsa\.json/);
    // A reference that does not parse (exit 2) removes it too.
    await writeFile(vsa, JSON.stringify({ predicateType: 'https://slsa.dev/verification_summary/v1' }));
    const bad = await imprint('verify', 'nonsense:x', '--json', '--attest', vsa);
    assert.equal(bad.code, 2, bad.stderr);
    assert.equal(oneDocument(bad.stdout).verified, false);
    await assert.rejects(readFile(vsa), { code: 'ENOENT' });
    // A file that is no verification summary is left alone.
    await writeFile(vsa, 'mine\n');
    const again = await imprint('verify', `oci:${join(work, 'nothing')}`, '--attest', vsa);
    assert.equal(again.code, 1);
    assert.equal(await readFile(vsa, 'utf8'), 'mine\n');
  });
});
