import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { attestBuild } from '../../src/attest/attest-build.js';
import { findReferrers, readArtifactPayload } from '../../src/attest/referrers.js';
import { buildImage } from '../../src/build/build.js';
import { sha256 } from '../../src/digest/index.js';
import { MediaType } from '../../src/oci/media-types.js';
import { validateImage } from '../../src/oci/validate.js';
import { loadSpec } from '../../src/spec/index.js';
import { BlobStore } from '../../src/store/index.js';
import { parseReference, readImageSet, writeImageSet } from '../../src/transport/index.js';
import { parseProvenance } from '../../src/verify/recorded.js';
import { writeSmallSpec } from './fixtures.js';

async function buildAttested(work: string) {
  const dir = join(work, 'spec');
  await writeSmallSpec(dir);
  const store = new BlobStore(join(work, 'cache'));
  const loaded = await loadSpec(dir);
  const result = await buildImage({ loaded, env: {}, store, cacheDir: join(work, 'cache') });
  const attested = await attestBuild({ loaded, result, store, version: '9.9.9-test' });
  return { dir, store, loaded, result, attested };
}

describe('attestBuild', () => {
  it('adds provenance and SBOM referrers without changing the image index', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-attest-'));
    try {
      const { result, attested } = await buildAttested(work);
      assert.equal(attested.set.index.manifests[0]!.digest, result.index.digest);
      // The image, its provenance and SBOM, and the provenance again for the index.
      assert.equal(attested.set.index.manifests.length, 4);
      const report = await validateImage(attested.set);
      assert.equal(report.images.length, 1);

      // Written to an OCI layout and read back, the image index digest is the same with or without them.
      const withRef = parseReference(`oci:${join(work, 'with')}`);
      const withoutRef = parseReference(`oci:${join(work, 'without')}`);
      await writeImageSet(withRef, attested.set);
      await writeImageSet(withoutRef, result.set);
      const readWith = await readImageSet(withRef);
      const readWithout = await readImageSet(withoutRef);
      assert.equal(readWith.index.manifests[0]!.digest, readWithout.index.manifests[0]!.digest);
      await validateImage(readWith);

      const manifest = result.images[0]!.manifest;
      const prov = await findReferrers(readWith, {
        subjects: [manifest.digest],
        artifactType: MediaType.inToto,
      });
      assert.equal(prov.length, 1);
      const onIndex = await findReferrers(readWith, {
        subjects: [result.index.digest],
        artifactType: MediaType.inToto,
      });
      assert.equal(onIndex.length, 1, 'the index has the provenance too');
      assert.equal(onIndex[0]!.manifest.layers[0]!.digest, prov[0]!.manifest.layers[0]!.digest);
      assert.equal(prov[0]!.manifest.config.mediaType, MediaType.ociEmpty);
      assert.equal(prov[0]!.manifest.subject!.digest, manifest.digest);
      const statement = JSON.parse((await readArtifactPayload(readWith.blobs, prov[0]!)).toString('utf8'));
      assert.deepEqual(statement.subject, [
        { name: 'index', digest: { sha256: result.index.digest.slice(7) } },
        { name: 'linux/amd64', digest: { sha256: manifest.digest.slice(7) } },
      ]);
      assert.equal(statement.predicate.runDetails.builder.id, 'https://imprint.dev/builder@9.9.9-test');
      assert.equal(statement.predicate.buildDefinition.externalParameters.sourceDateEpoch, 1700000000);
      assert.doesNotMatch(JSON.stringify(statement), new RegExp(work.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      const recorded = parseProvenance(Buffer.from(JSON.stringify(statement)), 'test');
      assert.equal(
        recorded.spec.bytes.toString('utf8'),
        await readFile(join(work, 'spec', 'imprint.yaml'), 'utf8'),
      );
      const app = recorded.files.find((f) => f.field === 'files[0]')!;
      assert.deepEqual(app.entries, [
        { path: 'app', type: 'dir' },
        {
          path: 'app/hello.txt',
          type: 'file',
          mode: 0o644,
          sha256: sha256('hello, reproducible world\n').slice(7),
          size: 26,
        },
        {
          path: 'app/run.sh',
          type: 'file',
          mode: 0o755,
          sha256: sha256('#!/bin/sh\necho hi\n').slice(7),
          size: 18,
        },
      ]);

      const sboms = await findReferrers(readWith, {
        subjects: [manifest.digest],
        artifactType: MediaType.spdx,
      });
      assert.equal(sboms.length, 1);
      const doc = JSON.parse((await readArtifactPayload(readWith.blobs, sboms[0]!)).toString('utf8'));
      assert.equal(doc.spdxVersion, 'SPDX-2.3');
      assert.equal(doc.creationInfo.created, '2023-11-14T22:13:20Z');
      assert.equal(doc.documentNamespace, `https://imprint.dev/spdx/${manifest.digest.slice(7)}`);
      const zlib = doc.packages.find((p: { name: string }) => p.name === 'zlib1g');
      assert.equal(zlib.versionInfo, '1:1.2.13.dfsg-1');
      assert.equal(zlib.supplier, 'Person: Mark Brown (broonie@debian.org)');
      assert.equal(zlib.licenseDeclared, '(GPL-2.0-or-later OR Artistic-1.0-Perl) AND Zlib');
      assert.equal(
        zlib.externalRefs[0].referenceLocator,
        'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=bookworm&upstream=zlib',
      );
      const base = doc.packages.find((p: { name: string }) => p.name === 'base-files');
      assert.equal(base.licenseDeclared, 'NOASSERTION');
      assert.equal(
        base.externalRefs[0].referenceLocator,
        'pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=bookworm',
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('is deterministic: two attestations of one build are byte-identical', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-attest-'));
    try {
      const { loaded, result, store, attested } = await buildAttested(work);
      const again = await attestBuild({ loaded, result, store, version: '9.9.9-test' });
      assert.deepEqual(again.referrers, attested.referrers);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
