// Provenance and SBOM of an image built from packages of a generated signed Debian repository, and
// verify rebuilding it from the provenance alone (spec and lock embedded).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attestBuild } from '../../src/attest/attest-build.js';
import { findReferrers, readArtifactPayload } from '../../src/attest/referrers.js';
import { imageSbom } from '../../src/attest/sbom.js';
import { buildImage } from '../../src/build/build.js';
import { VERSION } from '../../src/cli/version.js';
import { parseDeb822 } from '../../src/debian/deb822.js';
import { createLock } from '../../src/lock/create.js';
import { lockPathFor, writeLock } from '../../src/lock/io.js';
import type { LockFile } from '../../src/lock/types.js';
import { MediaType } from '../../src/oci/media-types.js';
import { validateImage } from '../../src/oci/validate.js';
import { loadSpec } from '../../src/spec/index.js';
import { BlobStore } from '../../src/store/index.js';
import { parseReference, writeImageSet } from '../../src/transport/index.js';
import { verifyImage } from '../../src/verify/verify.js';
import { createDebRepo, type DebRepo } from '../helpers/debrepo.js';
import { readLayerFiles } from '../helpers/layers.js';
import { DEP5_FORMAT } from './fixtures.js';

const COPYRIGHT = `Format: ${DEP5_FORMAT}\n\nFiles: *\nCopyright: 2024 Someone\nLicense: MIT\n`;

describe('attestations of a package image', () => {
  let work = '';
  let repo: DebRepo | undefined;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'imprint-attest-pkgs-'));
    repo = await createDebRepo({
      packages: [
        {
          name: 'greeter',
          version: '1.0-1+b1',
          depends: 'greeting-data',
          maintainer: 'Debian Greeting Team <team@invalid>',
          files: {
            '/usr/bin/greeter': '#!/bin/sh\necho hi\n',
            '/usr/share/doc/greeter/copyright': COPYRIGHT,
          },
        },
        {
          name: 'greeting-data',
          version: '2:2.1-1',
          architecture: 'all',
          files: { '/usr/share/greeting/text': 'hello' },
        },
      ],
    });
    const spec = join(work, 'spec');
    await mkdir(spec);
    await writeFile(
      join(spec, 'imprint.yaml'),
      [
        'version: 1',
        'platforms: [linux/amd64]',
        'epoch: 1700000000',
        'sources:',
        `  - {url: "${repo.url}", suites: [${repo.suite}], components: [main], keyring: "${repo.keyringPath}"}`,
        'packages: [greeter]',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('lists every installed package with the lock sha256, describes them in SPDX, and verifies', async () => {
    const cacheDir = join(work, 'cache');
    const store = new BlobStore(cacheDir);
    let loaded = await loadSpec(join(work, 'spec'));
    const { lock } = await createLock({ loaded, cacheDir, now: new Date() });
    await writeLock(lockPathFor(loaded.file), lock);
    loaded = await loadSpec(join(work, 'spec'));
    const result = await buildImage({ loaded, env: {}, store, cacheDir });
    const attested = await attestBuild({ loaded, result, store, version: VERSION });
    await validateImage(attested.set);

    // Every package in the image's status.d is in the provenance with the lock's sha256.
    const files = await readLayerFiles(result.set);
    const installed = [...files.keys()].filter(
      (k) => k.startsWith('var/lib/dpkg/status.d/') && !k.endsWith('.md5sums') && files.get(k)!.length > 0,
    );
    const names = installed
      .map((k) => parseDeb822(files.get(k)!.toString('utf8'), k)[0]!.get('Package')!)
      .sort();
    assert.deepEqual(names, ['greeter', 'greeting-data']);
    const locked = (JSON.parse(await readFile(lockPathFor(loaded.file), 'utf8')) as LockFile).platforms[
      'linux/amd64'
    ]!;
    const deps = attested.provenance.predicate.buildDefinition.resolvedDependencies;
    for (const name of names) {
      const p = locked.find((l) => l.name === name)!;
      const dep = deps.find((d) => d.uri?.startsWith(`pkg:deb/debian/${name}@`));
      assert.ok(dep, `${name} is in the provenance`);
      assert.equal(dep.digest?.sha256, p.sha256);
    }
    assert.ok(
      deps.some(
        (d) => d.uri === `pkg:deb/debian/greeter@1.0-1%2Bb1?arch=amd64&distro=${repo!.suite.split('-')[0]}`,
      ),
    );
    assert.ok(deps.some((d) => d.name === 'lock' && typeof d.content === 'string'));

    const sbom = await findReferrers(attested.set, {
      subjects: [result.images[0]!.manifest.digest],
      artifactType: MediaType.spdx,
    });
    const doc = JSON.parse((await readArtifactPayload(store, sbom[0]!)).toString('utf8'));
    // The build handed the SBOM what its layer holds; reading the layer back gives the same document.
    assert.ok(result.images[0]!.layerFiles?.size, 'the build recorded its layer for the SBOM');
    const image = result.images[0]!;
    const readBack = await imageSbom({
      blobs: store,
      manifest: image.manifest,
      platform: image.platform,
      layers: image.layers,
      epoch: result.epoch.epoch,
      version: VERSION,
    });
    assert.deepEqual(readBack, doc);
    const greeter = doc.packages.find((p: { name: string }) => p.name === 'greeter');
    assert.equal(greeter.versionInfo, '1.0-1+b1');
    assert.equal(greeter.licenseDeclared, 'MIT');
    assert.equal(greeter.supplier, 'Organization: Debian Greeting Team (team@invalid)');
    assert.equal(
      doc.packages.find((p: { name: string }) => p.name === 'greeting-data').versionInfo,
      '2:2.1-1',
    );

    // verify recreates spec and lock from the provenance alone (no context needed: no local files).
    const ref = parseReference(`oci:${join(work, 'image')}`);
    await writeImageSet(ref, attested.set);
    const verified = await verifyImage({ ref, store, version: VERSION });
    assert.equal(verified.verified, true);
    assert.equal(verified.rebuilt.index, result.index.digest);
  });
});
