// The in-toto Statement with an SLSA v1 provenance predicate that every build records.
import type { Digest } from '../digest/index.js';
import { digestHex, sha256 } from '../digest/index.js';
import { lockDownloads } from '../lock/create-downloads.js';
import type { LockFile } from '../lock/types.js';
import type { Descriptor } from '../oci/types.js';
import type { FileSet } from './file-sets.js';
import { debianSuiteRelease, purlFor } from './purl.js';

export const IN_TOTO_STATEMENT = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE = 'https://slsa.dev/provenance/v1';
/** imprint's build type: what externalParameters mean and how to rerun the build (src/attest/README.md). */
export const BUILD_TYPE = 'https://imprint.dev/build/v1';
/** The builder id of an imprint version. */
export function builderId(version: string): string {
  return `https://imprint.dev/builder@${version}`;
}

/** Everything a build consumed that decides its bytes; all of it is recorded, nothing else is. */
export interface ProvenanceInput {
  /** imprint's version (cli/version.ts). */
  version: string;
  /** The spec: its file name relative to its directory, its exact bytes. */
  spec: { path: string; bytes: Uint8Array };
  /** The lock as read (exact bytes) and parsed; absent for specs without packages. */
  lock?: { bytes: Uint8Array; lock: LockFile } | undefined;
  files: FileSet[];
  epoch: number;
  platforms: string[];
  /** The codec description (compress/codecDescription) of the layers. */
  compression: Record<string, string | number>;
  layering: unknown;
  /** The git checkout the spec came from (its revision is in the image's annotations). */
  git?: { commit: string; dirty: boolean; remoteUrl?: string | undefined } | undefined;
  /** Base images by digest (none while specs have no `base`). */
  bases?: Array<{ name: string; uri?: string; digest: Digest }>;
  /** The image index, and each platform's manifest. */
  index: Descriptor;
  images: Array<{ platform: string; manifest: Descriptor }>;
}

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  /** Where the resource was fetched from (SLSA v1 ResourceDescriptor). */
  downloadLocation?: string;
  digest?: Record<string, string>;
  content?: string;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

export interface InTotoStatement<P = unknown> {
  _type: typeof IN_TOTO_STATEMENT;
  subject: Array<{ name: string; digest: Record<string, string> }>;
  predicateType: string;
  predicate: P;
}

export interface SlsaProvenance {
  buildDefinition: {
    buildType: string;
    externalParameters: Record<string, unknown>;
    internalParameters: Record<string, unknown>;
    resolvedDependencies: ResourceDescriptor[];
  };
  runDetails: { builder: { id: string; version: Record<string, string> }; metadata: Record<string, unknown> };
}

/** Resource names of the two inputs embedded whole, so verify needs no checkout. */
export const SPEC_RESOURCE = 'spec';
export const LOCK_RESOURCE = 'lock';
/** Annotation of a file-set resource that lists its entries. */
export const ENTRIES_ANNOTATION = 'imprint.dev/entries';

/**
 * The provenance statement of a build. Pure and deterministic: no clock, no host, no paths outside the
 * spec's directory; the spec and lock bytes are embedded (base64) so `imprint verify` can recreate them.
 * Subjects: the image index (name `index`) and each platform manifest (name = platform).
 */
export function provenanceStatement(input: ProvenanceInput): InTotoStatement<SlsaProvenance> {
  const deps: ResourceDescriptor[] = [
    {
      name: SPEC_RESOURCE,
      uri: `file:${input.spec.path}`,
      digest: { sha256: digestHex(sha256(input.spec.bytes)) },
      mediaType: 'application/yaml',
      content: Buffer.from(input.spec.bytes).toString('base64'),
    },
  ];
  if (input.lock) {
    deps.push({
      name: LOCK_RESOURCE,
      uri: 'file:imprint.lock',
      digest: { sha256: digestHex(sha256(input.lock.bytes)) },
      mediaType: 'application/json',
      content: Buffer.from(input.lock.bytes).toString('base64'),
    });
  }
  for (const set of input.files) {
    deps.push({
      name: set.field,
      uri: `file:${set.source}`,
      digest: { sha256: digestHex(set.digest) },
      annotations: { [ENTRIES_ANNOTATION]: set.entries },
    });
  }
  if (input.git) {
    deps.push({
      name: 'git',
      ...(input.git.remoteUrl ? { uri: `git+${input.git.remoteUrl}@${input.git.commit}` } : {}),
      digest: { gitCommit: input.git.commit },
    });
  }
  for (const base of input.bases ?? [])
    deps.push({
      name: `base:${base.name}`,
      uri: base.uri ?? base.name,
      digest: { sha256: digestHex(base.digest) },
    });
  if (input.lock) deps.push(...packageResources(input.lock.lock));

  const external: Record<string, unknown> = {
    spec: { path: input.spec.path, digest: { sha256: digestHex(sha256(input.spec.bytes)) } },
    platforms: input.platforms,
    sourceDateEpoch: input.epoch,
    compression: input.compression,
    layering: input.layering,
  };
  if (input.git)
    external.source = {
      revision: input.git.commit,
      dirty: input.git.dirty,
      ...(input.git.remoteUrl ? { uri: input.git.remoteUrl } : {}),
    };
  if (input.lock) external.lock = { digest: { sha256: digestHex(sha256(input.lock.bytes)) } };

  return {
    _type: IN_TOTO_STATEMENT,
    subject: [
      { name: 'index', digest: { sha256: digestHex(input.index.digest) } },
      ...input.images.map((i) => ({ name: i.platform, digest: { sha256: digestHex(i.manifest.digest) } })),
    ],
    predicateType: SLSA_PROVENANCE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: external,
        internalParameters: {},
        resolvedDependencies: deps,
      },
      runDetails: {
        builder: { id: builderId(input.version), version: { imprint: input.version } },
        metadata: {},
      },
    },
  };
}

/**
 * One resource per distinct `.deb` of the lock (by sha256), platforms in the lock's order: `uri` its
 * package URL (the SBOM's form, distro from the suite), `downloadLocation` the archive URL it was
 * fetched from. Pure.
 */
function packageResources(lock: LockFile): ResourceDescriptor[] {
  const urls = new Map(lockDownloads(lock).map((d) => [d.sha256, d.url.replace(/\/+$/, '')]));
  const bySha = new Map<string, ResourceDescriptor & { annotations: { platforms: string[] } }>();
  for (const platform of Object.keys(lock.platforms).sort()) {
    for (const p of lock.platforms[platform] ?? []) {
      const seen = bySha.get(p.sha256);
      if (seen) {
        if (!seen.annotations.platforms.includes(platform)) seen.annotations.platforms.push(platform);
        continue;
      }
      const suite = lock.sources[p.repo ?? 0]?.suite;
      const os = suite === undefined ? { id: 'debian' } : debianSuiteRelease(suite);
      bySha.set(p.sha256, {
        name: p.filename.slice(p.filename.lastIndexOf('/') + 1),
        uri: purlFor(os, p.name, p.version, p.architecture, p.source),
        digest: { sha256: p.sha256 },
        downloadLocation: `${urls.get(p.sha256)}/${p.filename}`,
        annotations: { platforms: [platform], filename: p.filename, size: p.size, source: p.source },
      });
    }
  }
  return [...bySha.values()];
}
