import { readFile, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { errorText } from '../errors.js';
import { canonicalJson } from '../oci/canonical-json.js';
import { writeFileAtomic } from '../store/index.js';
import type { VerifyKnown, VerifyResult } from '../verify/verify.js';
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
      'oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME[:TAG]|:@N] or docker://HOST/REPO[:TAG|@DIGEST]',
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
    run(async (cmd, failure) => {
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
      const [{ renderText }, { formatReference, parseReference }, { verificationSummary }, { verifyImage }] =
        await Promise.all([
          import('../diff/render-text.js'),
          import('../transport/index.js'),
          import('../verify/summary.js'),
          import('../verify/verify.js'),
        ]);
      // A failure still gives one --json document (and, once the image is known, a FAILED summary).
      let known: VerifyKnown = {};
      failure.fields = { reference: refText, verified: false };
      const attest = opts.attest === undefined ? undefined : resolve(opts.attest);
      let result: VerifyResult;
      try {
        const ref = argument(() => parseReference(refText));
        failure.fields.reference = formatReference(ref);
        const { store } = openCache(program.opts().cacheDir);
        await sweepCache(store.root);
        result = await verifyImage({
          ref,
          onKnown: (k) => {
            known = k;
            failure.fields = { ...failure.fields, ...k };
          },
          context: resolve(opts.context ?? '.'),
          store,
          offline: opts.offline === true,
          provenanceFile: opts.provenance,
          policyFile: opts.policy === undefined ? undefined : resolve(opts.policy),
          allowVersionMismatch: opts.allowVersionMismatch === true,
          version: VERSION,
          registry: registryOptions(opts),
        });
      } catch (err) {
        if (attest !== undefined)
          await failedSummary(t, attest, String(failure.fields.reference), known, err);
        throw err;
      }
      const subject = result.image.index ?? Object.values(result.image.manifests)[0];
      if (attest !== undefined && subject !== undefined) {
        const vsa = verificationSummary({
          resourceUri: result.reference,
          subject,
          passed: result.verified,
          provenance: { uri: result.provenance.source, digest: result.provenance.digest },
          version: VERSION,
          ...(result.sourcePolicy === undefined ? {} : { sourcePolicy: result.sourcePolicy }),
        });
        await writeFileAtomic(attest, canonicalJson(vsa));
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

/**
 * `--attest FILE` of a verification that failed with an error: a FAILED summary once the image's
 * digest is known (naming the provenance and source policy when they were read); before that, a
 * summary an earlier run left at FILE is removed, so that no PASSED statement stays beside a failure.
 */
async function failedSummary(
  t: Terminal,
  file: string,
  reference: string,
  known: VerifyKnown,
  err: unknown,
): Promise<void> {
  const subject = known.image?.index ?? Object.values(known.image?.manifests ?? {})[0];
  const { SLSA_VERIFICATION_SUMMARY, verificationSummary } = await import('../verify/summary.js');
  try {
    if (subject !== undefined) {
      const vsa = verificationSummary({
        resourceUri: reference,
        subject,
        passed: false,
        provenance:
          known.provenance === undefined
            ? undefined
            : { uri: known.provenance.source, digest: known.provenance.digest },
        version: VERSION,
        ...(known.sourcePolicy === undefined ? {} : { sourcePolicy: known.sourcePolicy }),
      });
      await writeFileAtomic(file, canonicalJson(vsa));
      t.err.write(`wrote a FAILED verification summary to ${file}\n`);
      return;
    }
    const previous = JSON.parse(await readFile(file, 'utf8')) as { predicateType?: unknown };
    if (previous.predicateType !== SLSA_VERIFICATION_SUMMARY) return;
    await unlink(file);
    t.err.write(`removed ${file}, an earlier verification's summary: this one could not read the image\n`);
  } catch (e) {
    // The verification's own error is the one to report; a missing or foreign file stays as it is.
    if (subject !== undefined)
      t.err.write(`warning: cannot write ${file}: ${errorText(e)} (after: ${errorText(err)})\n`);
  }
}
