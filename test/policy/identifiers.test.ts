import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isImprintError } from '../../src/errors.js';
import {
  identifierKind,
  imageIdentifier,
  parseImageIdentifier,
  sourceUrlIdentifier,
} from '../../src/policy/index.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('imageIdentifier: registry references as BuildKit names them', () => {
  const cases: [string, string][] = [
    ['alpine', 'docker-image://docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker-image://docker.io/library/alpine:3.20'],
    ['docker.io/library/alpine', 'docker-image://docker.io/library/alpine:latest'],
    ['index.docker.io/library/alpine:3', 'docker-image://docker.io/library/alpine:3'],
    ['team/app', 'docker-image://docker.io/team/app:latest'],
    ['ghcr.io/o/app:1', 'docker-image://ghcr.io/o/app:1'],
    ['localhost:5000/app', 'docker-image://localhost:5000/app:latest'],
    [`alpine@${DIGEST}`, `docker-image://docker.io/library/alpine@${DIGEST}`],
    [`alpine:3@${DIGEST}`, `docker-image://docker.io/library/alpine:3@${DIGEST}`],
    ['docker://alpine', 'docker-image://docker.io/library/alpine:latest'],
    ['docker://registry.test:5000/a/b:c', 'docker-image://registry.test:5000/a/b:c'],
  ];
  for (const [input, want] of cases) {
    it(`${input} -> ${want}`, () => {
      assert.equal(imageIdentifier(input), want);
      assert.equal(identifierKind(want), 'image');
    });
  }

  it('refuses an invalid reference with BAD_REFERENCE', () => {
    assert.throws(
      () => imageIdentifier('Alpine'),
      (e) => isImprintError(e, 'BAD_REFERENCE'),
    );
    assert.throws(
      () => imageIdentifier('alpine@sha256:12'),
      (e) => isImprintError(e, 'BAD_REFERENCE'),
    );
  });
});

describe('imageIdentifier: local layouts and archives', () => {
  it('uses the transport name as the scheme, the path resolved against baseDir', () => {
    const base = { baseDir: '/specs/app' };
    assert.equal(imageIdentifier('oci:layouts/base:v1', base), 'oci:///specs/app/layouts/base:v1');
    assert.equal(imageIdentifier('oci:./layouts//base/', base), 'oci:///specs/app/layouts/base');
    assert.equal(imageIdentifier('oci:/abs/layout', base), 'oci:///abs/layout');
    assert.equal(imageIdentifier('oci-archive:../img.tar:v2', base), 'oci-archive:///specs/img.tar:v2');
    assert.equal(
      imageIdentifier('docker-archive:img.tar:alpine', base),
      'docker-archive:///specs/app/img.tar:alpine:latest',
    );
    assert.equal(
      imageIdentifier('docker-archive:img.tar:@1', base),
      'docker-archive:///specs/app/img.tar:@1',
    );
    assert.equal(imageIdentifier('docker-archive:img.tar', base), 'docker-archive:///specs/app/img.tar');
  });

  it('keeps a relative path (normalised) without baseDir', () => {
    assert.equal(imageIdentifier('oci:./layouts//base/:v1'), 'oci://layouts/base:v1');
  });

  it('refuses a path with a colon, which an identifier could not name', () => {
    assert.throws(
      () => imageIdentifier({ transport: 'oci', path: '/a:b' }),
      (e) => isImprintError(e, 'BAD_REFERENCE'),
    );
  });
});

describe('parseImageIdentifier', () => {
  it('is the inverse of imageIdentifier', () => {
    for (const input of [
      'alpine:3',
      `ghcr.io/o/app@${DIGEST}`,
      'oci:/l:v1',
      'oci-archive:/a.tar',
      'docker-archive:/d.tar:team/app:2',
    ]) {
      const id = imageIdentifier(input);
      assert.equal(imageIdentifier(parseImageIdentifier(id)), id, input);
    }
    assert.deepEqual(parseImageIdentifier('docker-image://docker.io/library/alpine:3'), {
      transport: 'docker',
      registry: 'docker.io',
      repository: 'library/alpine',
      tag: '3',
    });
    assert.deepEqual(parseImageIdentifier('oci://layouts/x:v1', { baseDir: '/s' }), {
      transport: 'oci',
      path: '/s/layouts/x',
      tag: 'v1',
    });
  });

  it('refuses identifiers of other kinds', () => {
    for (const id of ['https://h.test/x', 'docker://alpine', 'git://h.test/r', 'alpine']) {
      assert.throws(
        () => parseImageIdentifier(id),
        (e) => isImprintError(e, 'BAD_REFERENCE'),
        id,
      );
    }
  });
});

describe('sourceUrlIdentifier', () => {
  it('normalises scheme, host, default port and trailing slashes', () => {
    assert.equal(sourceUrlIdentifier('HTTP://Archive.TEST:80/debian/'), 'http://archive.test/debian');
    assert.equal(sourceUrlIdentifier('https://archive.test:8443/debian'), 'https://archive.test:8443/debian');
    assert.equal(sourceUrlIdentifier('http://archive.test/'), 'http://archive.test');
    assert.equal(sourceUrlIdentifier('file:///srv/repo//'), 'file:///srv/repo');
    assert.equal(identifierKind('http://archive.test'), 'url');
  });

  it('refuses other schemes and non-URLs with BAD_REFERENCE', () => {
    for (const url of [
      'ftp://archive.test/debian',
      'archive.test/debian',
      'docker-image://docker.io/library/alpine:latest',
    ]) {
      assert.throws(
        () => sourceUrlIdentifier(url),
        (e) => isImprintError(e, 'BAD_REFERENCE'),
        url,
      );
    }
  });
});
