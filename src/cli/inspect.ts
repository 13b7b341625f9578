import type { Command } from '@commander-js/extra-typings';
import { type ListedReferrer, listReferrers } from '../attest/referrers.js';
import type { BlobReader } from '../oci/image-set.js';
import { INDEX_TYPES, MANIFEST_TYPES } from '../oci/media-types.js';
import { formatPlatform } from '../oci/platform.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../oci/types.js';
import { argument } from './args.js';
import type { Runner } from './main.js';
import { EXIT_OK, type Terminal, writeJson } from './output.js';
import { addRegistryFlags, type RegistryFlags, registryOptions } from './registry-flags.js';

/** One image of an inspected reference, as `--json` prints it. */
export interface InspectedImage {
  platform: string;
  manifest: Descriptor;
  config: ImageConfig;
  layers: Descriptor[];
  annotations: Record<string, string>;
}

export interface Inspection {
  reference: string;
  /** The top-level descriptors of the layout (image indexes or manifests). */
  roots: Descriptor[];
  images: InspectedImage[];
  /** Attestations (provenance, SBOM) stored as OCI 1.1 referrers of the images. */
  referrers: ListedReferrer[];
}

/** Walks every index reachable from `roots` and collects its images. Reads manifests and configs only. */
export async function inspectImages(blobs: BlobReader, roots: Descriptor[]): Promise<InspectedImage[]> {
  const out: InspectedImage[] = [];
  const seen = new Set<string>(); // each index once (nested indexes may list one another repeatedly)
  const walk = async (d: Descriptor): Promise<void> => {
    if (INDEX_TYPES.includes(d.mediaType)) {
      if (seen.has(d.digest)) return;
      seen.add(d.digest);
      const index = JSON.parse((await blobs.readBytes(d)).toString('utf8')) as ImageIndex;
      for (const m of index.manifests) await walk(m);
    } else if (MANIFEST_TYPES.includes(d.mediaType)) {
      const manifest = JSON.parse((await blobs.readBytes(d)).toString('utf8')) as ImageManifest;
      if (manifest.subject !== undefined) return; // an attestation, not an image
      const config = JSON.parse((await blobs.readBytes(manifest.config)).toString('utf8')) as ImageConfig;
      out.push({
        platform: formatPlatform({
          os: config.os,
          architecture: config.architecture,
          ...(config.variant ? { variant: config.variant } : {}),
        }),
        manifest: d,
        config,
        layers: manifest.layers,
        annotations: manifest.annotations ?? {},
      });
    }
  };
  for (const r of roots) await walk(r);
  return out;
}

/** `imprint inspect`. */
export function inspectCommand(program: Command<[], { cacheDir?: string }>, t: Terminal, run: Runner): void {
  const command = program
    .command('inspect')
    .description('Show the platforms, digests, layers, config and referrers of an image.')
    .argument(
      '<ref>',
      'oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME[:TAG]|:@N] or docker://REGISTRY/REPO[:TAG|@DIGEST]',
    )
    .option('--json', 'print JSON on stdout');
  addRegistryFlags(command).action(
    run(async (cmd) => {
      const [refText] = cmd.args as [string];
      const opts = cmd.opts() as { json?: boolean } & RegistryFlags;
      const [{ parseReference, readImageSet, wholeLayoutOf }, { subjectDigestsOf }] = await Promise.all([
        import('../transport/index.js'),
        import('../transport/referrer-subjects.js'),
      ]);
      // from a registry, referrers come from the referrers API or the sha256-<hex> fallback tags
      const ref = argument(() => parseReference(refText));
      const set = await readImageSet(ref, {
        registry: { ...registryOptions(opts), referrers: true },
      });
      const images = await inspectImages(set.blobs, set.index.manifests);
      let referrers = await listReferrers(set);
      // A tag names the image, not its referrers (imprint's outputs leave them untagged): a tagged
      // layout or archive is searched whole for referrers of the tagged image and its manifests.
      const layout = wholeLayoutOf(ref);
      if (layout !== undefined) {
        const subjects = await subjectDigestsOf(set.blobs, set.index.manifests);
        const whole = await readImageSet(layout);
        referrers = (await listReferrers(whole)).filter((r) => subjects.has(r.subject));
      }
      const result: Inspection = { reference: refText, roots: set.index.manifests, images, referrers };
      if (opts.json) {
        writeJson(t, result);
        return EXIT_OK;
      }
      for (const r of set.index.manifests) {
        const tag = r.annotations?.['org.opencontainers.image.ref.name'];
        t.out.write(
          `${r.mediaType.includes('index') ? 'index' : 'manifest'} ${r.digest}${tag ? `  (${tag})` : ''}\n`,
        );
      }
      for (const i of images) {
        const c = i.config.config ?? {};
        t.out.write(
          `\n${i.platform}\n  manifest    ${i.manifest.digest}\n  created     ${i.config.created ?? '-'}\n`,
        );
        if (c.User) t.out.write(`  user        ${c.User}\n`);
        if (c.WorkingDir) t.out.write(`  workdir     ${c.WorkingDir}\n`);
        const base = i.annotations['org.opencontainers.image.base.name'];
        if (base)
          t.out.write(
            `  base        ${base} ${i.annotations['org.opencontainers.image.base.digest'] ?? ''}\n`,
          );
        if (c.Entrypoint) t.out.write(`  entrypoint  ${JSON.stringify(c.Entrypoint)}\n`);
        if (c.Cmd) t.out.write(`  cmd         ${JSON.stringify(c.Cmd)}\n`);
        for (const e of c.Env ?? []) t.out.write(`  env         ${e}\n`);
        const ports = Object.keys(c.ExposedPorts ?? {});
        if (ports.length > 0) t.out.write(`  ports       ${ports.join(' ')}\n`);
        for (const v of Object.keys(c.Volumes ?? {})) t.out.write(`  volume      ${v}\n`);
        if (c.StopSignal) t.out.write(`  stop signal ${c.StopSignal}\n`);
        for (const [k, v] of Object.entries(c.Labels ?? {})) t.out.write(`  label       ${k}=${v}\n`);
        for (const [idx, l] of i.layers.entries()) {
          t.out.write(`  layer ${idx}     ${l.digest}  ${l.size} bytes  ${l.mediaType}\n`);
        }
      }
      if (referrers.length > 0) t.out.write('\nreferrers\n');
      for (const r of referrers)
        t.out.write(`  ${r.artifactType.padEnd(28)} ${r.digest}  subject ${r.subject}\n`);
      return EXIT_OK;
    }),
  );
}
