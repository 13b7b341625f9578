import { readFile, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { semanticIgnores } from '../diff/classify.js';
import type { DiffOptions } from '../diff/index.js';
import { writeFileAtomic } from '../store/index.js';
import { argument } from './args.js';
import type { Runner } from './main.js';
import {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  jsonError,
  reportError,
  type Terminal,
  writeJson,
} from './output.js';
import { addRegistryFlags, type RegistryFlags, registryOptions } from './registry-flags.js';

interface DiffFlags extends RegistryFlags {
  ignoreTimestamps?: boolean;
  ignoreHistory?: boolean;
  ignoreFileOrder?: boolean;
  ignoreFileModeRedundantBits?: boolean;
  ignoreTarFormat?: boolean;
  ignoreWrapper?: boolean;
  semantic?: boolean;
  platform?: string;
  json?: boolean;
  html?: string;
}

/** The DiffOptions the flags stand for. */
export function diffOptions(f: DiffFlags): DiffOptions {
  const ignore = f.semantic
    ? semanticIgnores()
    : {
        timestamp: f.ignoreTimestamps === true,
        history: f.ignoreHistory === true,
        'file-order': f.ignoreFileOrder === true,
        'mode-redundant-bits': f.ignoreFileModeRedundantBits === true,
        'tar-format': f.ignoreTarFormat === true,
        wrapper: f.ignoreWrapper === true,
      };
  return f.platform === undefined ? { ignore } : { ignore, platform: f.platform };
}

/** `imprint diff A B`: exit 0 when the same, 1 when different, 2 on any error. */
export function diffCommand(program: Command<[], { cacheDir?: string }>, t: Terminal, run: Runner): void {
  const command = program
    .command('diff')
    .description(
      'Compare two images: index, manifests, config, layers and every tar entry. Exit 0 same, 1 different, 2 error.',
    )
    .argument(
      '<a>',
      'oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME[:TAG]|:@N] or docker://REGISTRY/REPO[:TAG|@DIGEST]',
    )
    .argument('<b>', 'the image to compare with')
    .option('--ignore-timestamps', 'ignore mtimes, created fields and the created annotation')
    .option('--ignore-history', 'ignore history entries (other than their created times)')
    .option('--ignore-file-order', 'ignore the order of tar entries')
    .option('--ignore-file-mode-redundant-bits', 'ignore permission bits that have no effect (symlinks)')
    .option('--ignore-tar-format', 'ignore compression, tar header encodings and PAX records')
    .option(
      '--ignore-wrapper',
      'ignore an image index wrapping the images on one side only (a bare manifest on the other)',
    )
    .option('--semantic', 'all of the --ignore-* options')
    .option('--platform <os/arch>', 'compare only this platform')
    .option('--json', 'print the differences as JSON (schema: src/diff/README.md)')
    .option('--html <file>', 'also write a self-contained HTML report to FILE');
  // docker:// operands reach registries as inspect and verify do (--tls-verify false for plain http).
  addRegistryFlags(command).action(
    run(async (cmd) => {
      const [refA, refB] = cmd.args as [string, string];
      const flags = cmd.opts() as DiffFlags;
      try {
        const [{ diffImageSets, renderHtml, renderJson, renderText }, { parseReference, readImageSet }] =
          await Promise.all([import('../diff/index.js'), import('../transport/index.js')]);
        const [refs, refs2] = [argument(() => parseReference(refA)), argument(() => parseReference(refB))];
        const registry = registryOptions(flags);
        const [a, b] = [await readImageSet(refs, { registry }), await readImageSet(refs2, { registry })];
        const result = await diffImageSets(a, b, diffOptions(flags), { a: refA, b: refB });
        if (flags.html !== undefined)
          await writeFileAtomic(resolve(flags.html), Buffer.from(renderHtml(result)));
        t.out.write(flags.json ? renderJson(result) : renderText(result));
        return result.identical ? EXIT_OK : EXIT_FAILURE;
      } catch (err) {
        reportError(t, err);
        if (flags.html !== undefined) await removeOldReport(t, resolve(flags.html));
        if (flags.json) writeJson(t, { a: refA, b: refB, error: jsonError(err) });
        return EXIT_USAGE; // 2: an error, never "different"
      }
    }),
  );
}

/**
 * After a diff that failed: removes the HTML report an earlier diff wrote at `file` (recognised by
 * its head), so that no stale comparison stays where this run's was asked for; another file stays.
 */
async function removeOldReport(t: Terminal, file: string): Promise<void> {
  const { HTML_REPORT_HEAD } = await import('../diff/render-html.js');
  const head = await readFile(file, 'utf8')
    .then((text) => text.slice(0, 200))
    .catch(() => '');
  if (!head.startsWith(HTML_REPORT_HEAD)) return;
  await unlink(file).then(
    () => t.err.write(`removed ${file}, an earlier diff's report: this one failed\n`),
    () => undefined,
  );
}
