import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isImprintError } from '../../src/errors.js';
import {
  familiarString,
  formatDockerReference,
  formatReference,
  type ImageRef,
  parseDockerReference,
  parseReference,
} from '../../src/transport/index.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseReference', () => {
  const ok: [string, ImageRef, string?][] = [
    ['oci:out', { transport: 'oci', path: 'out' }],
    ['oci:/tmp/out:latest', { transport: 'oci', path: '/tmp/out', tag: 'latest' }],
    ['oci:out:v1.2-rc.1', { transport: 'oci', path: 'out', tag: 'v1.2-rc.1' }],
    ['oci:out:team/app:1', { transport: 'oci', path: 'out', tag: 'team/app:1' }],
    ['oci-archive:img.tar', { transport: 'oci-archive', path: 'img.tar' }],
    ['oci-archive:./a/img.tar:v1', { transport: 'oci-archive', path: './a/img.tar', tag: 'v1' }],
    ['docker-archive:img.tar', { transport: 'docker-archive', path: 'img.tar' }],
    ['docker-archive:img.tar:app:1.0', { transport: 'docker-archive', path: 'img.tar', name: 'app:1.0' }],
    [
      'docker-archive:img.tar:app',
      { transport: 'docker-archive', path: 'img.tar', name: 'app:latest' },
      'docker-archive:img.tar:app:latest',
    ],
    [
      'docker-archive:img.tar:docker.io/library/app:2',
      { transport: 'docker-archive', path: 'img.tar', name: 'app:2' },
      'docker-archive:img.tar:app:2',
    ],
    [
      'docker-archive:img.tar:localhost:5000/team/app:3',
      { transport: 'docker-archive', path: 'img.tar', name: 'localhost:5000/team/app:3' },
    ],
    ['docker-archive:img.tar:@1', { transport: 'docker-archive', path: 'img.tar', sourceIndex: 1 }],
    [
      'docker://alpine',
      { transport: 'docker', registry: 'docker.io', repository: 'library/alpine', tag: 'latest' },
      'docker://docker.io/library/alpine:latest',
    ],
    [
      'docker://localhost:5000/team/app:1',
      { transport: 'docker', registry: 'localhost:5000', repository: 'team/app', tag: '1' },
    ],
    [
      `docker://registry.example/app@${DIGEST}`,
      {
        transport: 'docker',
        registry: 'registry.example',
        repository: 'app',
        digest: DIGEST as `sha256:${string}`,
      },
    ],
  ];
  for (const [text, want, formatted] of ok) {
    it(`parses ${text}`, () => {
      const ref = parseReference(text);
      assert.deepEqual(ref, want);
      assert.equal(formatReference(ref), formatted ?? text);
      assert.deepEqual(parseReference(formatReference(ref)), ref);
    });
  }

  const bad = [
    'out',
    '/tmp/out',
    'dir:out',
    'oci:',
    'oci::tag',
    'oci:out:',
    'oci:out:bad tag',
    'oci:out:-lead',
    'oci-archive:',
    'docker-archive:x.tar:Upper/Case:1',
    `docker-archive:x.tar:app@${DIGEST}`,
    'docker-archive:x.tar:@x',
    'docker-archive:x.tar:@-1',
    'docker:alpine',
    'docker://',
    'docker://alpine:bad tag',
    'docker://alpine@sha256:short',
  ];
  for (const text of bad) {
    it(`rejects ${JSON.stringify(text)} with BAD_REFERENCE and a hint`, () => {
      assert.throws(
        () => parseReference(text),
        (err: unknown) =>
          isImprintError(err, 'BAD_REFERENCE') && typeof err.hint === 'string' && err.hint.length > 0,
      );
    });
  }

  it('says which transport a reference without one most likely meant (a path, an image name)', () => {
    const hint = (text: string) => {
      try {
        parseReference(text);
      } catch (err) {
        if (isImprintError(err, 'BAD_REFERENCE')) return err.hint ?? '';
        throw err;
      }
      assert.fail(`${text} parsed`);
    };
    assert.match(hint('examples/python/out'), /name its transport: oci:examples\/python\/out, oci-archive:/);
    assert.match(hint('debian:bookworm'), /For an image in a registry: docker:\/\/debian:bookworm\.$/);
    assert.match(hint('localhost:5000/app:1'), /docker:\/\/localhost:5000\/app:1\.$/);
    // Neither a path nor an image name: the forms alone.
    assert.doesNotMatch(hint('dir:Bad Name'), /docker:\/\/dir/);
    assert.doesNotMatch(hint('dir:out'), /docker:\/\/dir/);
    assert.doesNotMatch(hint('containers-storage:app:1'), /docker:\/\/containers/);
    assert.doesNotMatch(hint('oci:'), /name its transport/);
  });
});

describe('parseDockerReference', () => {
  it('normalises like Docker', () => {
    assert.equal(formatDockerReference(parseDockerReference('busybox')), 'docker.io/library/busybox');
    assert.equal(formatDockerReference(parseDockerReference('team/app:1')), 'docker.io/team/app:1');
    assert.equal(
      formatDockerReference(parseDockerReference('index.docker.io/team/app')),
      'docker.io/team/app',
    );
    assert.equal(formatDockerReference(parseDockerReference('localhost/app')), 'localhost/app');
    assert.equal(formatDockerReference(parseDockerReference('Host/app')), 'Host/app');
    assert.equal(familiarString(parseDockerReference('docker.io/library/busybox:1')), 'busybox:1');
    assert.equal(familiarString(parseDockerReference('docker.io/library/a/b:1')), 'library/a/b:1');
    assert.equal(familiarString(parseDockerReference('quay.io/x/y:1')), 'quay.io/x/y:1');
  });

  it("says a tag cannot hold '/' rather than calling 'app:v1' a repository component", () => {
    assert.throws(
      () => parseDockerReference('localhost:5000/team/app:release/1.0'),
      (err: unknown) =>
        isImprintError(err, 'BAD_REFERENCE') &&
        /the tag "release\/1\.0" of repository team\/app holds a '\/', which tags cannot/.test(err.message),
    );
  });
});
