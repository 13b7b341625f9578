import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isImprintError } from '../../src/errors.js';
import { loadSpec, type SpecIssue } from '../../src/spec/index.js';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'imprint-spec-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh directory under the test root holding `files` (path -> content). */
async function project(name: string, files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

async function loadError(path: string) {
  try {
    await loadSpec(path);
  } catch (err) {
    if (isImprintError(err)) return err;
    throw err;
  }
  assert.fail(`expected loadSpec(${path}) to fail`);
}

describe('loadSpec', () => {
  it('loads dir/imprint.yaml with its exact bytes and their digest', async () => {
    const text = '# comment\r\nversion: 1\r\nfiles: [{source: app/, target: /app/}]\r\n';
    const dir = await project('ok', { 'imprint.yaml': text, 'app/run.sh': '#!/bin/sh\n' });
    const loaded = await loadSpec(dir);
    assert.equal(loaded.file, join(dir, 'imprint.yaml'));
    assert.equal(loaded.dir, dir);
    assert.deepEqual(Buffer.from(loaded.raw), Buffer.from(text));
    assert.equal(loaded.digest, `sha256:${createHash('sha256').update(text).digest('hex')}`);
    assert.equal(loaded.spec.files[0]?.source, 'app');
  });

  it('loads a spec file given by path, whatever its name', async () => {
    const dir = await project('named', { 'other.yaml': 'version: 1\nepoch: 5\n' });
    const loaded = await loadSpec(join(dir, 'other.yaml'));
    assert.equal(loaded.spec.epoch, 5);
    assert.equal(loaded.file, join(dir, 'other.yaml'));
  });

  it('reports a missing spec as SPEC_NOT_FOUND', async () => {
    const dir = await project('empty', { README: 'x' });
    const inDir = await loadError(dir);
    assert.equal(inDir.code, 'SPEC_NOT_FOUND');
    assert.equal(inDir.details.file, join(dir, 'imprint.yaml'));
    assert.ok(inDir.hint);
    assert.equal((await loadError(join(dir, 'nope.yaml'))).code, 'SPEC_NOT_FOUND');
    assert.equal((await loadError(join(dir, 'README', 'imprint.yaml'))).code, 'SPEC_NOT_FOUND');
  });

  it('names the YAML files of a directory without imprint.yaml (imprint.yml), which is the only name looked up', async () => {
    const dir = await project('yml', { 'imprint.yml': 'version: 1\n', 'app.YAML': 'x', 'notes.txt': 'x' });
    const err = await loadError(dir);
    assert.equal(err.code, 'SPEC_NOT_FOUND');
    assert.equal(err.details.file, join(dir, 'imprint.yaml'));
    assert.ok(
      err.hint?.includes(`it holds ${join(dir, 'app.YAML')}, ${join(dir, 'imprint.yml')}:`),
      err.hint,
    );
    assert.match(err.hint ?? '', /pass the spec's file path, or rename it to imprint\.yaml/);
    assert.doesNotMatch(err.hint ?? '', /notes\.txt/);
    assert.equal((await loadSpec(join(dir, 'imprint.yml'))).spec.version, 1);
  });

  it('reports every missing source with its field path, resolved path and line', async () => {
    const dir = await project('missing', {
      'imprint.yaml':
        'version: 1\nfiles:\n  - {source: here.txt, target: /a}\n  - source: gone/\n    target: /b/\n  - {source: also-gone, target: /c}\n',
      'here.txt': 'x',
    });
    const err = await loadError(dir);
    assert.equal(err.code, 'SPEC_SOURCE_MISSING');
    assert.equal(err.details.path, 'files[1].source');
    assert.equal(err.details.resolved, join(dir, 'gone'));
    assert.equal(err.details.line, 4);
    const issues = err.details.issues as SpecIssue[];
    assert.deepEqual(
      issues.map((i) => [i.path, i.line]),
      [
        ['files[1].source', 4],
        ['files[2].source', 6],
      ],
    );
    assert.match(err.message, /imprint\.yaml:4:13: files\[1\]\.source/);
  });

  it('refuses sources that leave the spec directory through a symbolic link', async () => {
    const outside = await project('outside', { 'secret.txt': 'x' });
    const dir = await project('escape', {
      'imprint.yaml': 'version: 1\nfiles:\n  - {source: link, target: /a}\n  - {source: inner, target: /b}\n',
      'real.txt': 'x',
    });
    await symlink(join(outside, 'secret.txt'), join(dir, 'link'));
    await symlink('real.txt', join(dir, 'inner'));
    const err = await loadError(dir);
    assert.equal(err.code, 'SPEC_INVALID');
    const issues = err.details.issues as SpecIssue[];
    assert.deepEqual(
      issues.map((i) => [i.path, i.line]),
      [['files[0].source', 3]],
    );
  });

  it('reports a dangling symbolic link as a missing source', async () => {
    const dir = await project('dangling', {
      'imprint.yaml': 'version: 1\nfiles: [{source: link, target: /a}]\n',
    });
    await symlink('nowhere', join(dir, 'link'));
    const err = await loadError(dir);
    assert.equal(err.code, 'SPEC_SOURCE_MISSING');
    assert.match(err.message, /link is a symbolic link whose target does not exist/);
  });

  it('says a source that is a loop of links is one, not that its target is missing', async () => {
    const dir = await project('loop', {
      'imprint.yaml': 'version: 1\nfiles: [{source: a, target: /a}]\n',
    });
    await symlink('b', join(dir, 'a'));
    await symlink('a', join(dir, 'b'));
    const err = await loadError(dir);
    assert.equal(err.code, 'SPEC_SOURCE_MISSING');
    assert.match(
      err.message,
      /files\[0\]\.source: .*\/a is a symbolic link that leads back to itself \(a loop of links\)/,
    );
  });

  it('rejects a spec that is not UTF-8', async () => {
    const dir = await project('latin1', {
      'imprint.yaml': new Uint8Array([0x76, 0x65, 0x72, 0x3a, 0x20, 0xe9, 0x0a]),
    });
    assert.equal((await loadError(dir)).code, 'SPEC_PARSE');
  });

  it('passes schema errors through with the file name', async () => {
    const dir = await project('invalid', { 'imprint.yaml': 'version: 1\nusr: app\n' });
    const err = await loadError(dir);
    assert.equal(err.code, 'SPEC_INVALID');
    assert.equal(err.details.file, join(dir, 'imprint.yaml'));
    assert.equal((err.details.issues as SpecIssue[])[0]?.line, 2);
    assert.equal((err.details.issues as SpecIssue[])[0]?.suggestion, 'user');
  });
});
