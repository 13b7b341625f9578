// SPDX 2.3 JSON describing what one platform image contains, read from the image's own layers.
import { entryLayerFiles, type ImageFiles, type LayerFiles, readImageFiles } from '../base/image-files.js';
import { installedParagraphs, isStatusFile } from '../debian/installed-status.js';
import { digestHex } from '../digest/index.js';
import type { BlobReader } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
import type { TarWriteEntry } from '../tar/index.js';
import { dep5License } from './dep5.js';
import { type OsRelease, purlFor } from './purl.js';

const DOC_PREFIX = 'usr/share/doc/';
const OS_RELEASE = ['etc/os-release', 'usr/lib/os-release'];
/** Largest metadata file kept from a layer (status entries, copyright files, os-release). */
const MAX_KEPT_BYTES = 4 * 1024 * 1024;

export interface SbomInput {
  blobs: BlobReader;
  /** The platform manifest the SBOM describes, its platform, and its layers in order. */
  manifest: Descriptor;
  platform: string;
  layers: readonly Descriptor[];
  /** SOURCE_DATE_EPOCH: the document's `created`. */
  epoch: number;
  /** imprint's version (the document's creator). */
  version: string;
  /** What layers this process wrote hold for the SBOM (by digest; sbomLayerFiles): not read back. */
  known?: ReadonlyMap<string, LayerFiles>;
}

/** What the SBOM reads out of an image: status entries, copyright texts, doc-directory links, os-release. */
type ImageFacts = ImageFiles;

/**
 * The SPDX 2.3 document of one platform image: one package per `/var/lib/dpkg/status.d` entry (and per
 * installed package of `/var/lib/dpkg/status`, as Debian base images have it) with
 * version, purl, supplier and (from a DEP-5 copyright file) licenseDeclared. Deterministic: `created`
 * is the epoch, the namespace derives from the manifest digest, packages sorted by name and arch.
 * Cost: decompresses and reads every layer not in `known` once, streaming; keeps only the few metadata files.
 */
export async function imageSbom(input: SbomInput): Promise<Record<string, unknown>> {
  const facts = await readImageFacts(input.blobs, input.layers, input.known);
  const release = osRelease(facts);
  const os = release ?? { id: 'debian' };
  const packages: Array<Record<string, unknown>> = [];
  const extracted = new Map<string, string>();
  const seen = new Set<string>();
  for (const { name, version, architecture: arch, paragraph: p } of installedParagraphs(facts.files)) {
    const id = `SPDXRef-Package-deb-${spdxIdPart(name)}-${spdxIdPart(arch)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const licence = packageLicense(facts, name);
    for (const ref of licence?.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []) {
      extracted.set(
        ref,
        `A licence named ${ref.slice('LicenseRef-'.length)} in /usr/share/doc/${name}/copyright`,
      );
    }
    packages.push({
      SPDXID: id,
      name,
      versionInfo: version,
      supplier: supplier(p.get('Maintainer')),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: licence ?? 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      ...(p.get('Source') ? { sourceInfo: `built from Debian source package ${p.get('Source')}` } : {}),
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: purlFor(os, name, version, arch, p.get('Source')),
        },
      ],
    });
  }
  packages.sort((a, b) =>
    String(a.SPDXID) < String(b.SPDXID) ? -1 : String(a.SPDXID) > String(b.SPDXID) ? 1 : 0,
  );
  const hex = digestHex(input.manifest.digest);
  const image = {
    SPDXID: 'SPDXRef-Image',
    name: `image ${input.platform}`,
    versionInfo: input.manifest.digest,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    primaryPackagePurpose: 'CONTAINER',
    checksums: [{ algorithm: 'SHA256', checksumValue: hex }],
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
  };
  // The distribution as an OPERATING-SYSTEM package, as Trivy writes it and reads it back to choose
  // the vulnerability data of `trivy sbom` (name = os-release ID, version = VERSION_ID).
  const system =
    release === undefined
      ? []
      : [
          {
            SPDXID: 'SPDXRef-OperatingSystem',
            name: release.id,
            ...(release.versionId === undefined ? {} : { versionInfo: release.versionId }),
            downloadLocation: 'NOASSERTION',
            filesAnalyzed: false,
            primaryPackagePurpose: 'OPERATING-SYSTEM',
            licenseConcluded: 'NOASSERTION',
            licenseDeclared: 'NOASSERTION',
            copyrightText: 'NOASSERTION',
          },
        ];
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `imprint image ${input.platform} ${input.manifest.digest}`,
    documentNamespace: `https://imprint.dev/spdx/${hex}`,
    creationInfo: {
      created: new Date(input.epoch * 1000).toISOString().replace('.000Z', 'Z'),
      creators: [`Tool: imprint-${input.version}`],
    },
    packages: [image, ...system, ...packages],
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: 'SPDXRef-Image',
      },
      ...[...system, ...packages].map((p) => ({
        spdxElementId: 'SPDXRef-Image',
        relationshipType: 'CONTAINS',
        relatedSpdxElement: p.SPDXID,
      })),
    ],
    ...(extracted.size > 0
      ? {
          hasExtractedLicensingInfos: [...extracted.entries()]
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([licenseId, extractedText]) => ({ licenseId, extractedText })),
        }
      : {}),
  };
}

/** Reads the metadata files the SBOM needs from the layers in order (whiteouts applied). Streaming. */
function readImageFacts(
  blobs: BlobReader,
  layers: readonly Descriptor[],
  known: ReadonlyMap<string, LayerFiles> | undefined,
): Promise<ImageFacts> {
  // Deflate cannot exceed ~1032:1: a gzip layer of zeros (a 16 MiB empty file in the spec's files) is
  // no bomb. The image's layers are verified by digest; only the kept files are held in memory.
  return readImageFiles(blobs, layers, wanted, MAX_KEPT_BYTES, { maxRatio: GZIP_MAX_RATIO }, known);
}

/**
 * What the SBOM needs of a layer, from the entries a build writes it from, so the SBOM of a new image
 * need not decompress and parse that layer again (the same facts: test/attest/sbom-known.test.ts).
 * Call it while the entries' bodies can still be opened (before the build's spool closes).
 */
export function sbomLayerFiles(entries: readonly TarWriteEntry[]): Promise<LayerFiles> {
  return entryLayerFiles(entries, wanted, MAX_KEPT_BYTES);
}

/** Above deflate's largest possible ratio (about 1032:1). */
const GZIP_MAX_RATIO = 1100;

function wanted(path: string): boolean {
  if (isStatusFile(path)) return true;
  if (OS_RELEASE.includes(path)) return true;
  if (!path.startsWith(DOC_PREFIX)) return false;
  const rest = path.slice(DOC_PREFIX.length).split('/');
  return rest.length === 1 || (rest.length === 2 && rest[1] === 'copyright');
}

/** The licence of a package from its DEP-5 copyright file (following a doc-directory link once). */
function packageLicense(facts: ImageFacts, name: string): string | undefined {
  let dir = `${DOC_PREFIX}${name}`;
  const link = facts.links.get(dir);
  if (link !== undefined) dir = link.startsWith('/') ? link.slice(1) : `${DOC_PREFIX}${link}`;
  const text = facts.files.get(`${dir}/copyright`);
  return text === undefined ? undefined : dep5License(text.toString('utf8'));
}

/** The image's os-release (etc/, else usr/lib/); undefined when it has none. */
function osRelease(facts: ImageFacts): OsRelease | undefined {
  const text = OS_RELEASE.map((p) => facts.files.get(p))
    .find((b) => b !== undefined)
    ?.toString('utf8');
  if (text === undefined) return undefined;
  const field = (k: string) => new RegExp(`^${k}=["']?([^"'\\n]*)`, 'm').exec(text)?.[1];
  const codename = field('VERSION_CODENAME');
  const versionId = field('VERSION_ID');
  return {
    id: field('ID') || 'debian',
    ...(versionId ? { versionId } : {}),
    ...(codename ? { codename } : {}),
  };
}

/** SPDX supplier from a Debian Maintainer field: `Organization:` for teams and lists, else `Person:`. */
function supplier(maintainer: string | undefined): string {
  if (maintainer === undefined || maintainer.trim() === '') return 'NOASSERTION';
  const m = /^\s*(.*?)\s*<([^>]*)>\s*$/.exec(maintainer);
  const name = m ? m[1]! : maintainer.trim();
  const text = m ? `${name} (${m[2]})` : name;
  return /team|maintainers|project|group|list/i.test(name) ? `Organization: ${text}` : `Person: ${text}`;
}

function spdxIdPart(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]+/g, '-');
}
