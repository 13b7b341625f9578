import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { type Command, Option } from '@commander-js/extra-typings';
import type { fetchPackages } from '../debian/fetch.js';
import { checkTemplates } from '../debian/fetch-template.js';
import { ImprintError, isImprintError } from '../errors.js';
import type { LockFile } from '../lock/types.js';
import { compareCodeUnits } from '../oci/canonical-json.js';
import type { LoadedSpec } from '../spec/index.js';
import type { BlobStore } from '../store/index.js';
import { repeatable } from './args.js';
import { openCache, sweepCache } from './cache.js';
import type { Runner } from './main.js';
import { EXIT_OK, formatBytes, progressBar, type Terminal } from './output.js';
import { addPolicyFlag, withPolicy } from './policy-flag.js';
import { addRegistryFlags, type RegistryFlags, registryOptions } from './registry-flags.js';

interface LockOptions {
  check?: boolean;
  format: 'json' | 'sha256sums';
  offline?: boolean;
  fetch?: boolean;
  fetchSource?: string[];
}
type LockFlags = LockOptions & RegistryFlags & { policy?: string };

/** `imprint lock`. */
export function lockCommand(program: Command<[], { cacheDir?: string }>, t: Terminal, run: Runner): void {
  const command = program
    .command('lock')
    .description(
      "Resolve the spec's packages against its archives and pin every one by sha256 in imprint.lock.",
    )
    .argument('[spec]', 'an imprint.yaml, or a directory holding one', '.')
    .option(
      '--check',
      "write nothing; exit 1 when imprint.lock is missing or stale (the spec changed since), or lists a package its archive's signed metadata does not",
    )
    .addOption(
      new Option(
        '--format <format>',
        'json writes imprint.lock; sha256sums also writes SHA256SUMS-<arch> beside it',
      )
        .choices(['json', 'sha256sums'])
        .default('json'),
    )
    .option('--offline', 'make no network request: cached metadata (and packages, with --fetch) only')
    .option('--fetch', 'also download the locked .deb files into the content store, verified')
    .option(
      '--fetch-source <template>',
      "URL template for --fetch, tried in order; repeatable; replaces the spec's fetch.sources",
      repeatable,
    );
  addPolicyFlag(addRegistryFlags(command))
    .addHelpText(
      'after',
      '\nTemplates may use {url} {filename} {sha256} {name} {version} {arch}, e.g. {url}/{filename} (the\n' +
        "archive's pool) or file:///srv/debs/{filename}. Re-locking against unchanged archive metadata\n" +
        'writes the same bytes.',
    )
    .action(
      run(async (cmd) => {
        const [specArg] = cmd.processedArgs as unknown as [string]; // with the default "." applied
        const opts = cmd.opts() as LockFlags;
        checkLockFlags(opts);
        const [{ createLock, loadFreshLock, lockPath }, { writeLock }, { writeSha256sums }, { loadSpec }] =
          await Promise.all([
            import('../lock/create.js'),
            import('../lock/io.js'),
            import('../lock/sha256sums.js'),
            import('../spec/index.js'),
          ]);
        const loaded = await withPolicy(await loadSpec(specArg), opts.policy);
        const path = lockPath(loaded);
        const { store } = openCache(program.opts().cacheDir);
        if (opts.check) {
          const lock = await loadFreshLock(loaded);
          const checked = await checkSigned(t, loaded, lock, path, store.root, opts.offline === true);
          t.out.write(
            `${path} is up to date${checked > 0 ? `; all ${checked} locked packages are in their archives' signed metadata` : ''}\n`,
          );
          return EXIT_OK;
        }
        await sweepCache(store.root);
        const previous = await readFile(path).catch(() => undefined);
        const { lock, warnings } = await createLock({
          loaded,
          cacheDir: store.root,
          offline: opts.offline === true,
          now: new Date(),
          registry: registryOptions(opts),
        });
        for (const w of warnings) t.err.write(`warning: ${w}\n`);
        const bytes = await writeLock(path, lock);
        const written = [path];
        const sums = opts.format === 'sha256sums';
        if (sums) written.push(...(await writeSha256sums(loaded.dir, lock)));
        printSummary(t, lock);
        const state = previous === undefined ? 'wrote' : previous.equals(bytes) ? 'unchanged' : 'updated';
        t.out.write(`${state} ${path}\n`);
        if (state === 'updated') {
          const { changesSince } = await import('../lock/changes.js');
          for (const line of changesSince(previous, lock, path)) t.out.write(`  ${line}\n`);
        }
        for (const extra of written.slice(1)) t.out.write(`wrote ${extra}\n`);
        if (state === 'updated') await pruneSums(t, loaded.dir, previous, lock, sums);
        if (opts.fetch) {
          const templates = opts.fetchSource ?? loaded.spec.fetch.sources;
          await fetchLocked(
            t,
            store,
            lock,
            templates,
            opts.offline === true,
            relative(process.cwd(), path) || path,
          );
        }
        return EXIT_OK;
      }),
    );
}

/**
 * After the lock changed: removes the SHA256SUMS-<arch> files imprint wrote for platforms the spec
 * dropped, and warns about those it leaves (edited since, or written by the previous lock and not
 * rewritten now). A previous lock that cannot be parsed names no files: nothing is touched.
 */
async function pruneSums(
  t: Terminal,
  dir: string,
  previous: Buffer | undefined,
  lock: LockFile,
  rewritten: boolean,
): Promise<void> {
  const { parseLock, pruneSha256sums } = await import('../lock/index.js');
  let before: LockFile;
  try {
    before = parseLock(previous ?? '', 'the previous lock');
  } catch {
    return;
  }
  const pruned = await pruneSha256sums(dir, before, lock, rewritten);
  for (const file of pruned.removed) t.out.write(`removed ${file} (its platform is no longer in the spec)\n`);
  for (const file of pruned.foreign)
    t.err.write(
      `warning: ${file} is for a platform no longer in the spec, but is not what imprint wrote for the previous lock (edited?), so it is left: delete it if it is stale\n`,
    );
  for (const file of pruned.outdated)
    t.err.write(
      `warning: ${file} lists the previous lock's packages: run \`imprint lock --format sha256sums\` to write it for this lock, or delete it\n`,
    );
}

/**
 * USAGE for flags the command would otherwise ignore: --fetch-source without --fetch, or --check (which
 * writes nothing) with --fetch or --format sha256sums; and for a --fetch-source template that cannot work.
 */
function checkLockFlags(opts: LockFlags): void {
  const fail = (message: string, hint: string) => new ImprintError('USAGE', message, { hint });
  if (opts.check === true && (opts.fetch === true || opts.format === 'sha256sums'))
    throw fail(
      `--check writes and fetches nothing, so ${opts.fetch === true ? '--fetch' : '--format sha256sums'} would do nothing`,
      'Run the check alone, then `imprint lock` with the other flags.',
    );
  if (opts.fetchSource === undefined) return;
  if (opts.fetch !== true)
    throw fail('--fetch-source names where --fetch downloads from, and --fetch is not given', 'Add --fetch.');
  try {
    checkTemplates(opts.fetchSource);
  } catch (err) {
    if (!isImprintError(err, 'SPEC_INVALID')) throw err;
    throw fail(`--fetch-source: ${err.message}`, err.hint ?? '');
  }
}

/** checkLockSigned for every platform of the lock; how many packages it checked. */
async function checkSigned(
  t: Terminal,
  loaded: LoadedSpec,
  lock: LockFile,
  lockFile: string,
  cacheDir: string,
  offline: boolean,
): Promise<number> {
  const [{ checkLockSigned }, { dpkgArch }] = await Promise.all([
    import('../lock/signed.js'),
    import('../debian/resolve.js'),
  ]);
  const now = new Date();
  let checked = 0;
  for (const platform of Object.keys(lock.platforms).sort(compareCodeUnits)) {
    const packages = lock.platforms[platform] ?? [];
    const warnings = await checkLockSigned({
      loaded,
      lock,
      lockFile,
      platform,
      arch: dpkgArch(platform),
      packages,
      cacheDir,
      offline,
      now,
      templates: loaded.spec.fetch.sources,
    });
    for (const w of warnings) t.err.write(`warning: ${w}\n`);
    checked += packages.length;
  }
  return checked;
}

function printSummary(t: Terminal, lock: LockFile): void {
  for (const platform of Object.keys(lock.platforms).sort(compareCodeUnits)) {
    const packages = lock.platforms[platform] ?? [];
    const size = packages.reduce((n, p) => n + p.size, 0);
    t.out.write(
      `${platform.padEnd(16)} ${String(packages.length).padStart(4)} packages  ${formatBytes(size)}\n`,
    );
  }
}

async function fetchLocked(
  t: Terminal,
  store: BlobStore,
  lock: LockFile,
  templates: readonly string[],
  offline: boolean,
  file: string,
): Promise<void> {
  const bar = t.tty ? progressBar(t) : undefined;
  const [{ fetchPackages }, { lockDownloads }] = await Promise.all([
    import('../debian/fetch.js'),
    import('../lock/create-downloads.js'),
  ]);
  let result: Awaited<ReturnType<typeof fetchPackages>>;
  try {
    result = await fetchPackages(lockDownloads(lock, undefined, file), {
      store,
      templates,
      offline,
      verifyCached: true,
      onProgress: bar?.update,
    });
  } finally {
    bar?.clear();
  }
  for (const w of result.warnings) t.err.write(`warning: ${w}\n`);
  t.out.write(
    `fetched ${result.fetched} package(s), ${formatBytes(result.bytes)}; ${result.cached} already in ${store.root}\n`,
  );
}
