import { resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { canonicalJson } from '../oci/canonical-json.js';
import { writeFileAtomic } from '../store/index.js';
import type { VerifyResult } from '../verify/verify.js';
import { argument } from './args.js';
import { openCache, sweepCache } from './cache.js';
import type { Runner } from './main.js';
import { EXIT_FAILURE, EXIT_OK, type Terminal, writeJson } from './output.js';
import { addPolicyFlag } from './policy-flag.js';
import { addRegistryFlags, type RegistryFlags, registryOptions } from './registry-flags.js';
import { VERSION } from './version.js';

/** `imprint verify`. */
export function verifyCommand(program: Command<[], { cacheDir?: string }>, t: Terminal, run: Runner): void {
  const command = program
    .command('verify')
    .description('Rebuild an image from its provenance in a clean workspace and check the digests are equal.')
    .argument(
      '<ref>',
      'oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE or docker://HOST/REPO[:TAG|@DIGEST]',
    )
    .option(
      '--context <dir>',
      "the spec's directory as it was built (the one holding its imprint.yaml): its local files are read from there and checked by hash (default: the current directory)",
    )
    .option('--provenance <file>', 'use this provenance statement instead of the one attached to the image')
    .option('--json', 'print a verification summary as JSON on stdout')
    .option('--attest <file>', 'write an in-toto verification summary statement (SLSA VSA v1) to FILE')
    .option('--allow-version-mismatch', 'rebuild even when the image was built by another imprint version')
    .option('--offline', 'use only cached packages; never touch the network')
    .addHelpText(
      'after',
      '\nExit status: 0 the rebuild has the same digest, 1 it differs (the differences are printed) or verification failed, 2 usage.',
    );
  addPolicyFlag(addRegistryFlags(command)).action(
    run(async (cmd) => {
      const [refText] = cmd.args as [string];
      const opts = cmd.opts() as {
        context?: string;
        provenance?: string;
        json?: boolean;
        attest?: string;
        allowVersionMismatch?: boolean;
        offline?: boolean;
        policy?: string;
      } & RegistryFlags;
      const [{ renderText }, { parseReference }, { verificationSummary }, { verifyImage }] =
        await Promise.all([
          import('../diff/render-text.js'),
          import('../transport/index.js'),
          import('../verify/summary.js'),
          import('../verify/verify.js'),
        ]);
      const { store } = openCache(program.opts().cacheDir);
      await sweepCache(store.root);
      const result = await verifyImage({
        ref: argument(() => parseReference(refText)),
        context: resolve(opts.context ?? '.'),
        store,
        offline: opts.offline === true,
        provenanceFile: opts.provenance,
        policyFile: opts.policy === undefined ? undefined : resolve(opts.policy),
        allowVersionMismatch: opts.allowVersionMismatch === true,
        version: VERSION,
        registry: registryOptions(opts),
      });
      const subject = result.image.index ?? Object.values(result.image.manifests)[0];
      if (opts.attest !== undefined && subject !== undefined) {
        const vsa = verificationSummary({
          resourceUri: result.reference,
          subject,
          passed: result.verified,
          provenance: { uri: result.provenance.source, digest: result.provenance.digest },
          version: VERSION,
          ...(result.sourcePolicy === undefined ? {} : { sourcePolicy: result.sourcePolicy }),
        });
        await writeFileAtomic(resolve(opts.attest), canonicalJson(vsa));
      }
      // Warnings go to stderr with --json too (they are also in its warnings[]).
      for (const w of result.warnings) t.err.write(`warning: ${w}\n`);
      if (opts.json) {
        writeJson(t, result);
      } else {
        if (result.verified) {
          t.out.write(`verified ${result.reference}: the rebuild has the same digest ${subject}\n`);
        } else {
          t.out.write(
            `MISMATCH ${result.reference}: the image is ${subject}, the rebuild is ${rebuiltSubject(result)}\n`,
          );
          t.out.write(
            renderText({
              schemaVersion: 1,
              a: 'rebuild',
              b: result.reference,
              identical: false,
              differences: result.differences,
              ignored: {},
              platforms: Object.keys(result.rebuilt.manifests),
            }),
          );
        }
      }
      return result.verified ? EXIT_OK : EXIT_FAILURE;
    }),
  );
}

/**
 * The rebuild's digest to set beside the image's: its index, or for an image without one (a
 * docker-archive) the rebuild's manifest of the image's platform.
 */
function rebuiltSubject(result: VerifyResult): string {
  if (result.image.index !== undefined) return result.rebuilt.index;
  const [platform] = Object.keys(result.image.manifests);
  const manifest = platform === undefined ? undefined : result.rebuilt.manifests[platform];
  return manifest === undefined ? result.rebuilt.index : `${manifest} (${platform})`;
}
