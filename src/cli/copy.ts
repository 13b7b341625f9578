import type { Command } from '@commander-js/extra-typings';
import { ImprintError } from '../errors.js';
import type { ImageSet } from '../oci/image-set.js';
import { parsePlatform } from '../oci/platform.js';
import { hostPlatform, platformManifests, selectPlatform } from '../oci/select.js';
import { parseCreds } from '../transport/registry/auth.js';
import type { RegistryOptions, RegistryProgress } from '../transport/registry/index.js';
import { argument } from './args.js';
import type { Runner } from './main.js';
import { dim, EXIT_OK, lockWaitNotice, type Terminal, writeJson } from './output.js';
import { parseBool } from './registry-flags.js';

interface CopyOpts {
  all?: boolean;
  platform?: string;
  creds?: string;
  srcCreds?: string;
  destCreds?: string;
  tlsVerify?: string;
  srcTlsVerify?: string;
  destTlsVerify?: string;
  caFile?: string;
  json?: boolean;
}

/** `imprint copy SRC DST`: copies images between any two transports, preserving digests. */
export function copyCommand(program: Command<[], { cacheDir?: string }>, t: Terminal, run: Runner): void {
  program
    .command('copy')
    .description(
      'Copy an image between transports (oci:, oci-archive:, docker-archive:, docker://), preserving digests.',
    )
    .argument('<source>', 'image to read, e.g. docker://localhost:5000/app:1 or oci:DIR:TAG')
    .argument('<destination>', 'where to write it')
    .option('--all', 'copy every platform and the referrers (attestations, signatures) too')
    .option(
      '--platform <os/arch>',
      "copy only this platform of a multi-platform image (default: this machine's)",
    )
    .option(
      '--creds <user:password>',
      'registry credentials for both sides (default: auth.json / ~/.docker/config.json / $REGISTRY_AUTH_FILE)',
    )
    .option('--src-creds <user:password>', 'registry credentials for the source')
    .option('--dest-creds <user:password>', 'registry credentials for the destination')
    .option(
      '--tls-verify <bool>',
      'false: accept any TLS certificate and allow plain http (localhost always may)',
    )
    .option('--src-tls-verify <bool>', 'the same, for the source only')
    .option('--dest-tls-verify <bool>', 'the same, for the destination only')
    .option('--ca-file <file>', 'a PEM file of certificate authorities to trust for https registries')
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText(
      'after',
      "\nWithout --all, a source with several platforms is narrowed to one (--platform, else this machine's);\n" +
        'a source with one platform is copied whole, so its digest is kept. With --all nothing is narrowed and,\n' +
        'from a registry, the referrers of every manifest are copied too (referrers API or sha256-<hex> tags).',
    )
    .action(
      run(async (cmd) => {
        const [srcText, dstText] = cmd.args as [string, string];
        const opts = cmd.opts() as CopyOpts;
        const [
          { formatReference, parseReference, readImageSet, wholeLayoutOf, writeImageSet },
          { referrerEntriesOf, requireOneImage, subjectDigestsOf },
        ] = await Promise.all([import('../transport/index.js'), import('../transport/referrer-subjects.js')]);
        const src = argument(() => parseReference(srcText));
        const dst = argument(() => parseReference(dstText));
        const progress = t.tty && !opts.json ? progressPrinter(t) : undefined;
        if (opts.all === true && opts.platform !== undefined)
          throw new ImprintError('USAGE', '--all copies every platform, and --platform only one', {
            hint: 'Leave out --platform to copy the whole image with its referrers, or --all to copy one platform.',
          });
        /** A side's registry options; a bad --src-/--dest-tls-verify is named as given. */
        const side = (which: 'src' | 'dest', creds: string | undefined): RegistryOptions => {
          const own = which === 'src' ? opts.srcTlsVerify : opts.destTlsVerify;
          const verify = own ?? opts.tlsVerify;
          return {
            creds: creds === undefined ? undefined : parseCreds(creds),
            tlsVerify:
              verify === undefined
                ? undefined
                : parseBool(verify, own === undefined ? '--tls-verify' : `--${which}-tls-verify`),
            caFile: opts.caFile,
            onProgress: progress,
          };
        };
        const srcOpts = side('src', opts.srcCreds ?? opts.creds);
        const dstOpts = side('dest', opts.destCreds ?? opts.creds);
        let set: ImageSet = await readImageSet(src, {
          registry: { ...srcOpts, referrers: opts.all === true },
        });
        const layout = wholeLayoutOf(src);
        if (!opts.all) {
          requireOneImage(src, set, 'copy');
          set = await narrow(set, opts.platform);
          // Attestations stay behind without --all: say so, since verify needs the provenance.
          let left = 'its referrers (provenance, SBOM, signatures) are';
          if (layout !== undefined) {
            const whole = await readImageSet(layout);
            const subjects = await subjectDigestsOf(set.blobs, set.index.manifests);
            const n = (await referrerEntriesOf(whole.blobs, whole.index.manifests, subjects)).length;
            left =
              n === 0
                ? ''
                : `its ${n} referrer${n === 1 ? '' : 's'} (provenance, SBOM, signatures) ${n === 1 ? 'is' : 'are'}`;
          } else if (src.transport !== 'docker') left = '';
          if (left !== '') t.err.write(`note: ${left} not copied; pass --all to copy them too\n`);
        } else if (layout !== undefined) {
          // A tag names the image; its referrers are untagged entries of the same layout: take them too.
          const whole = await readImageSet(layout);
          const subjects = await subjectDigestsOf(set.blobs, set.index.manifests);
          const found = await referrerEntriesOf(whole.blobs, whole.index.manifests, subjects);
          set = { ...set, index: { ...set.index, manifests: [...set.index.manifests, ...found] } };
        }
        const mountFrom =
          src.transport === 'docker' &&
          dst.transport === 'docker' &&
          src.registry === dst.registry &&
          src.repository !== dst.repository
            ? [src.repository]
            : [];
        await writeImageSet(dst, set, { registry: { ...dstOpts, mountFrom }, onLockWait: lockWaitNotice(t) });
        // A docker-archive keeps the image only: report what it holds, and say what stayed behind.
        const dropped = new Set<string>();
        if (dst.transport === 'docker-archive') {
          const subjects = await subjectDigestsOf(set.blobs, set.index.manifests);
          for (const d of await referrerEntriesOf(set.blobs, set.index.manifests, subjects))
            dropped.add(d.digest);
          const n = dropped.size;
          if (n > 0)
            t.err.write(
              `note: a docker-archive holds no referrers: ${n === 1 ? 'the image’s referrer' : `its ${n} referrers`} (provenance, SBOM, signatures) ${n === 1 ? 'was' : 'were'} not written; copy to oci-archive: to keep them, or verify the archive with --provenance FILE\n`,
            );
        }
        const digests = set.index.manifests.map((d) => d.digest).filter((d) => !dropped.has(d));
        if (opts.json) {
          writeJson(t, {
            source: formatReference(src),
            destination: formatReference(dst),
            manifests: digests,
          });
          return EXIT_OK;
        }
        t.out.write(`copied ${formatReference(src)} -> ${formatReference(dst)}\n`);
        for (const d of digests) t.out.write(`  ${d}\n`);
        return EXIT_OK;
      }),
    );
}

/** Narrows a multi-platform set to one platform; a set with at most one platform is kept whole. */
async function narrow(set: ImageSet, platform: string | undefined): Promise<ImageSet> {
  if (platform !== undefined)
    return selectPlatform(
      set,
      argument(() => parsePlatform(platform)),
    );
  const all = await platformManifests(set);
  return all.length > 1 ? selectPlatform(set, hostPlatform()) : set;
}

/** Progress lines on a TTY: one per blob, rewritten in place while it uploads. */
function progressPrinter(t: Terminal): (e: RegistryProgress) => void {
  return (e) => {
    const short = e.digest.slice(7, 19);
    if (e.type === 'skip') t.err.write(dim(t, `  ${short} ${e.why === 'mounted' ? 'mounted' : 'exists'}\n`));
    else if (e.type === 'manifest') t.err.write(dim(t, `  ${short} manifest -> ${e.reference}\n`));
    else {
      const width = 30;
      const filled = e.size === 0 ? width : Math.round((e.done / e.size) * width);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
      t.err.write(`\r  ${short} [${bar}] ${e.done}/${e.size}${e.done >= e.size ? '\n' : ''}`);
    }
  };
}
