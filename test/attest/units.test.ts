import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dep5License, spdxLicenseId } from '../../src/attest/dep5.js';
import { type ProvenanceInput, provenanceStatement } from '../../src/attest/provenance.js';
import { debianSuiteRelease, purlFor } from '../../src/attest/purl.js';
import { artifactManifest, EMPTY_DESCRIPTOR, withReferrers } from '../../src/attest/referrers.js';
import { sha256 } from '../../src/digest/index.js';
import type { ImprintError } from '../../src/errors.js';
import type { LockFile } from '../../src/lock/types.js';
import { canonicalJson } from '../../src/oci/canonical-json.js';
import { MediaType } from '../../src/oci/media-types.js';
import { parseProvenance } from '../../src/verify/recorded.js';
import { verificationSummary } from '../../src/verify/summary.js';
import { DEP5_FORMAT } from './fixtures.js';

const hex = (c: string) => c.repeat(64);
const lock: LockFile = {
  version: 1,
  specHash: `sha256:${hex('0')}`,
  sources: [
    {
      url: 'http://127.0.0.1/debian',
      suite: 'bookworm-updates',
      components: ['main'],
      release: { sha256: hex('1'), date: 'x' },
    },
  ],
  platforms: {
    'linux/arm64': [
      {
        name: 'tzdata',
        version: '2024a-0+deb12u1',
        architecture: 'all',
        source: 'tzdata',
        filename: 'pool/main/t/tzdata/tzdata_2024a-0+deb12u1_all.deb',
        size: 10,
        sha256: hex('a'),
        repo: 0,
      },
    ],
    'linux/amd64': [
      {
        name: 'libc6',
        version: '2.36-9+deb12u4',
        architecture: 'amd64',
        source: 'glibc',
        filename: 'pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb',
        size: 5,
        sha256: hex('b'),
        repo: 0,
      },
      {
        name: 'tzdata',
        version: '2024a-0+deb12u1',
        architecture: 'all',
        source: 'tzdata',
        filename: 'pool/main/t/tzdata/tzdata_2024a-0+deb12u1_all.deb',
        size: 10,
        sha256: hex('a'),
        repo: 0,
      },
    ],
  },
};
const input: ProvenanceInput = {
  version: '1.2.3',
  spec: { path: 'imprint.yaml', bytes: Buffer.from('version: 1\n') },
  lock: { bytes: canonicalJson(lock), lock },
  files: [],
  epoch: 42,
  platforms: ['linux/amd64', 'linux/arm64'],
  compression: { compression: 'gzip', level: 6 },
  layering: { strategy: 'packages' },
  git: { commit: 'c'.repeat(40), dirty: false, remoteUrl: 'https://example.invalid/repo.git' },
  index: { mediaType: MediaType.ociIndex, digest: `sha256:${hex('d')}`, size: 1 },
  images: [
    {
      platform: 'linux/amd64',
      manifest: { mediaType: MediaType.ociManifest, digest: `sha256:${hex('e')}`, size: 2 },
    },
  ],
};

describe('provenanceStatement', () => {
  it("records packages once each with the SBOM's purl, sha256 and download URL, and no time", () => {
    const st = provenanceStatement(input);
    const deps = st.predicate.buildDefinition.resolvedDependencies;
    const debs = deps.filter((d) => d.uri?.startsWith('pkg:'));
    // The purl is the one the SBOM gives the installed package (distro debian-12, upstream source), so a
    // policy can join the two documents; downloadLocation is the archive URL the .deb was fetched from.
    assert.deepEqual(
      debs.map((d) => [
        d.uri,
        d.digest,
        d.downloadLocation,
        (d.annotations as { platforms: string[] }).platforms,
      ]),
      [
        [
          'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc',
          { sha256: hex('b') },
          'http://127.0.0.1/debian/pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb',
          ['linux/amd64'],
        ],
        [
          'pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12',
          { sha256: hex('a') },
          'http://127.0.0.1/debian/pool/main/t/tzdata/tzdata_2024a-0+deb12u1_all.deb',
          ['linux/amd64', 'linux/arm64'],
        ],
      ],
    );
    assert.doesNotMatch(JSON.stringify(st), /startedOn|finishedOn/);
    assert.deepEqual(canonicalJson(provenanceStatement(input)), canonicalJson(st));
  });

  it('reads back: spec and lock bytes, epoch, git, subjects', () => {
    const back = parseProvenance(canonicalJson(provenanceStatement(input)), 'p');
    assert.equal(back.spec.bytes.toString(), 'version: 1\n');
    assert.deepEqual(back.lock, canonicalJson(lock));
    assert.equal(back.epoch, 42);
    assert.deepEqual(back.git, {
      commit: 'c'.repeat(40),
      dirty: false,
      remoteUrl: 'https://example.invalid/repo.git',
    });
    assert.equal(back.index, `sha256:${hex('d')}`);
    assert.deepEqual(back.manifests, { 'linux/amd64': `sha256:${hex('e')}` });
  });

  it('rejects a statement whose embedded spec does not match its digest, or another predicate', () => {
    const st = provenanceStatement(input) as unknown as {
      predicate: { buildDefinition: { resolvedDependencies: Array<{ content?: string }> } };
    };
    st.predicate.buildDefinition.resolvedDependencies[0]!.content =
      Buffer.from('version: 2\n').toString('base64');
    assert.throws(
      () => parseProvenance(canonicalJson(st), 'p'),
      (e: ImprintError) => e.code === 'PROVENANCE_INVALID',
    );
    assert.throws(
      () => parseProvenance(canonicalJson({ ...provenanceStatement(input), predicateType: 'x' }), 'p'),
      (e: ImprintError) => e.code === 'PROVENANCE_INVALID',
    );
    assert.throws(
      () => parseProvenance(Buffer.from('{'), 'p'),
      (e: ImprintError) => e.code === 'PROVENANCE_INVALID',
    );
  });
});

describe('referrers', () => {
  it('builds an artifact manifest with the empty config and the subject', () => {
    const blob = { mediaType: MediaType.inToto, digest: sha256('x'), size: 1 };
    const subject = {
      mediaType: MediaType.ociManifest,
      digest: sha256('m'),
      size: 3,
      platform: { os: 'linux', architecture: 'amd64' },
    };
    const m = artifactManifest(subject, blob);
    assert.equal(
      m.bytes.toString(),
      `{"artifactType":"application/vnd.in-toto+json","config":{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","mediaType":"application/vnd.oci.empty.v1+json","size":2},"layers":[{"digest":"${blob.digest}","mediaType":"application/vnd.in-toto+json","size":1}],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2,"subject":{"digest":"${subject.digest}","mediaType":"application/vnd.oci.image.manifest.v1+json","size":3}}`,
    );
    assert.equal(m.descriptor.artifactType, MediaType.inToto);
    assert.equal(
      EMPTY_DESCRIPTOR.digest,
      'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
    const root = { schemaVersion: 2 as const, mediaType: MediaType.ociIndex, manifests: [subject] };
    const set = withReferrers({ index: root, blobs: null as never }, [m.descriptor, m.descriptor]);
    assert.deepEqual(
      set.index.manifests.map((d) => d.digest),
      [subject.digest, m.descriptor.digest],
    );
  });
});

describe('DEP-5 licences', () => {
  it('maps Debian short names to SPDX and combines paragraphs', () => {
    assert.equal(spdxLicenseId('GPL-2+'), 'GPL-2.0-or-later');
    assert.equal(spdxLicenseId('Expat'), 'MIT');
    assert.equal(spdxLicenseId('public-domain'), 'LicenseRef-public-domain');
    const text = `Format: ${DEP5_FORMAT}\n\nFiles: *\nLicense: LGPL-2.1+\n\nFiles: a/*\nLicense: BSD-3-clause, and GPL-3+\n Some text\n\nLicense: LGPL-2.1+\n full text\n`;
    assert.equal(dep5License(text), '(BSD-3-Clause AND GPL-3.0-or-later) AND LGPL-2.1-or-later');
    assert.equal(dep5License('This is free software.\nLicense: GPL\n'), undefined);
  });
});

describe('verificationSummary', () => {
  it('names the image digest and the result', () => {
    const vsa = verificationSummary({
      resourceUri: 'oci:x',
      subject: sha256('i'),
      passed: false,
      provenance: { uri: 'p', digest: sha256('p') },
      version: '1.2.3',
    });
    assert.equal(vsa.predicateType, 'https://slsa.dev/verification_summary/v1');
    assert.deepEqual(vsa.subject, [{ name: 'oci:x', digest: { sha256: sha256('i').slice(7) } }]);
    assert.equal(vsa.predicate.verificationResult, 'FAILED');
    assert.deepEqual(vsa.predicate.verifiedLevels, []);
  });
});

describe('SBOM package URLs', () => {
  it('are what Syft and Trivy write: distro ID-VERSION_ID, upstream source, qualifiers sorted', () => {
    const bookworm = { id: 'debian', versionId: '12', codename: 'bookworm' };
    assert.equal(
      purlFor(bookworm, 'libssl3', '3.0.17-1~deb12u2', 'amd64', 'openssl'),
      'pkg:deb/debian/libssl3@3.0.17-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl',
    );
    // A binNMU's source has another version: name@version (the @ escaped).
    assert.equal(
      purlFor(bookworm, 'libfoo1', '1.0-1+b1', 'arm64', 'foo (1.0-1)'),
      'pkg:deb/debian/libfoo1@1.0-1%2Bb1?arch=arm64&distro=debian-12&upstream=foo%401.0-1',
    );
    // No VERSION_ID (testing, sid): the codename; no Source field: no upstream.
    assert.equal(
      purlFor({ id: 'debian', codename: 'forky' }, 'bash', '5.2-1', 'amd64'),
      'pkg:deb/debian/bash@5.2-1?arch=amd64&distro=forky',
    );
    // A source named as the package (the lock always names it): no upstream, as dpkg writes no Source.
    assert.equal(
      purlFor(bookworm, 'tzdata', '2024a-0+deb12u1', 'all', 'tzdata'),
      'pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12',
    );
    assert.deepEqual(debianSuiteRelease('bookworm-security'), bookworm);
    assert.deepEqual(debianSuiteRelease('sid'), { id: 'debian', codename: 'sid' });
  });
});
