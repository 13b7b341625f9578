import { statSync } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { mkdirp } from '../store/mkdirp.js';
import type { ImageRef } from '../transport/reference.js';
import { sameNode } from '../transport/same-node.js';
import { argument, repeatable } from './args.js';
import { openCache, sweepCache } from './cache.js';
import type { Runner } from './main.js';
import { dim, EXIT_OK, lockWaitNotice, progressBar, type Terminal, writeJson } from './output.js';
import { addPolicyFlag, withPolicy } from './policy-flag.js';
import { addRegistryFlags, type RegistryFlags, registryOptions } from './registry-flags.js';
import { VERSION } from './version.js';

/** `imprint build`. */
export function buildCommand(program: Command<[], { cacheDir?: string }>, t: Terminal, run: Runner): void {
  const command = program
    .command('build')
    .description('Build the image a spec describes and write it to one or more outputs.')
    .argument('[spec]', 'an imprint.yaml, or a directory holding one', '.')
    .option(
      '-o, --output <ref>',
      'where to write: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG] (default NAME: localhost/<spec dir name>) or docker://REGISTRY/REPO[:TAG]; repeatable (default: oci:<spec dir>/out:<tag>)',
      repeatable,
    )
    .option(
      '-t, --tag <name>',
      'tag for outputs that do not name one; repeatable: oci: and docker:// outputs get every tag (default: latest)',
      repeatable,
    )
    .option(
      '--platform <os/arch>',
      "the image docker-archive outputs hold when the spec has several platforms (default: this machine's)",
    )
    .option(
      '--update',
      're-resolve the packages and rewrite imprint.lock before building (a missing lock is always written)',
    )
    .option('--no-attest', 'do not attach the SLSA provenance and SPDX SBOM referrers')
    .option(
      '--provenance-out <file>',
      'also write the provenance statement (in-toto JSON, the bytes attached) to FILE: for `imprint verify --provenance FILE` of a docker-archive, which holds no referrers, or for signing',
    )
    .option('--offline', 'use only cached packages and metadata; never touch the network')
    .option('--json', 'print the result as JSON on stdout');
  addPolicyFlag(addRegistryFlags(command))
    .addHelpText(
      'after',
      '\nSOURCE_DATE_EPOCH comes from the environment, else the spec `epoch`, else the commit time of the\n' +
        "spec's git checkout, else 0. The same spec, files and epoch give the same digests on any machine.",
    )
    .action(
      run(async (cmd, failure) => {
        const [specArg] = cmd.processedArgs as unknown as [string]; // with the default "." applied
        const opts = cmd.opts() as {
          output?: string[];
          tag?: string[];
          json?: boolean;
          platform?: string;
          offline?: boolean;
          update?: boolean;
          attest?: boolean;
          provenanceOut?: string;
        } & RegistryFlags & { policy?: string };
        // The build machinery loads when a build runs, not with the CLI (`imprint --version`, other commands).
        const [
          { attestBuild },
          { buildImage },
          { lockPathFor, writeLock },
          { formatPlatform, parsePlatform, platformMatches },
          { hostPlatform, selectPlatform },
          { loadSpec },
          { checkOciTag, formatReference, parseReference, writeImageSet },
        ] = await Promise.all([
          import('../attest/attest-build.js'),
          import('../build/build.js'),
          import('../lock/io.js'),
          import('../oci/platform.js'),
          import('../oci/select.js'),
          import('../spec/index.js'),
          import('../transport/index.js'),
        ]);
        const registry = registryOptions(opts);
        const { cacheDir, store } = openCache(program.opts().cacheDir);
        await sweepCache(cacheDir);
        const loaded = await withPolicy(await loadSpec(specArg), opts.policy);
        const tags = opts.tag !== undefined ? [...new Set(opts.tag)] : ['latest'];
        // Each output with the tag it is written under (an output that names none: once per -t).
        const outputs = (opts.output ?? [`oci:${join(loaded.dir, 'out')}`]).flatMap((text) => {
          const ref = argument(() => parseReference(text));
          const last = text.slice(text.lastIndexOf('/') + 1);
          const named =
            ref.transport === 'docker'
              ? ref.digest !== undefined || last.includes(':') // parsing alone would say latest
              : ref.transport === 'docker-archive'
                ? ref.name !== undefined
                : ref.tag !== undefined;
          if (named) return [{ ref, tag: tags[0] as string }];
          if (ref.transport === 'oci-archive' || ref.transport === 'docker-archive') {
            if (tags.length > 1)
              throw new ImprintError(
                'USAGE',
                `-o ${text}: an archive holds one tag, and ${tags.length} are given with -t`,
                {
                  hint: `Name the tag in the reference (${ref.transport === 'docker-archive' ? 'docker-archive:FILE:NAME:TAG' : 'oci-archive:FILE:TAG'}), or give one -t.`,
                },
              );
            return [{ ref, tag: tags[0] as string }];
          }
          return tags.map((tag) => ({ ref: ref.transport === 'docker' ? { ...ref, tag } : ref, tag }));
        });
        // The other arguments are checked before anything is built.
        argument(() => {
          if (opts.provenanceOut !== undefined && opts.attest === false)
            throw new ImprintError(
              'USAGE',
              '--provenance-out writes the provenance, which --no-attest leaves out',
              {
                hint: 'Drop one of the two.',
              },
            );
          for (const tag of tags) checkOciTag(tag, '-t');
          if (opts.platform === undefined) return;
          const want = parsePlatform(opts.platform);
          // --platform picks the image of a docker-archive output: one the spec builds.
          if (!loaded.spec.platforms.some((p) => platformMatches(p, want)))
            throw new ImprintError(
              'USAGE',
              `--platform ${opts.platform}: the spec builds ${loaded.spec.platforms.map(formatPlatform).join(', ')}`,
              { hint: "Name one of the spec's platforms." },
            );
          if (!outputs.some((o) => o.ref.transport === 'docker-archive'))
            t.err.write(
              'note: --platform only chooses the image of docker-archive outputs; the others hold every platform\n',
            );
        });
        await checkArchiveTargets(outputs.map((o) => o.ref));
        if (loaded.spec.packages.length > 0 || loaded.spec.base !== undefined) {
          const path = lockPathFor(loaded.file);
          const exists = await access(path).then(
            () => true,
            () => false,
          );
          if (!exists || opts.update) {
            // No lock yet (or --update): resolve now and write it, as `imprint lock` would.
            const { createLock } = await import('../lock/create.js');
            const { lock, warnings } = await createLock({
              loaded,
              cacheDir,
              offline: opts.offline === true,
              now: new Date(),
              registry,
            }).catch((err: unknown) => {
              // Offline without a lock, the spec is resolved from cached metadata: say that the lock is what is missing.
              if (!exists && isImprintError(err, 'OFFLINE'))
                throw new ImprintError(
                  'OFFLINE',
                  `${path} does not exist, so --offline must resolve the spec: ${err.message}`,
                  {
                    hint: `Run \`imprint lock\` (or build once) with the network to write ${basename(path)}, or bring the lock the image was built with.`,
                    cause: err,
                    details: { ...err.details, file: path },
                  },
                );
              throw err;
            });
            const before = exists ? await readFile(path).catch(() => undefined) : undefined;
            const bytes = await writeLock(path, lock);
            for (const w of warnings) t.err.write(`warning: ${w}\n`);
            t.err.write(
              before?.equals(bytes)
                ? `${path} is unchanged\n`
                : `${exists ? 'updated' : 'wrote'} ${path}; commit it to pin every package by sha256\n`,
            );
            if (before !== undefined && !before.equals(bytes)) {
              const { changesSince } = await import('../lock/changes.js');
              for (const line of changesSince(before, lock, path)) t.err.write(`  ${line}\n`);
            }
          }
        }
        // An archive streamed to standard output (-o docker-archive:/dev/stdout | podman load): the report goes to stderr.
        const toStdout = outputs.some(
          ({ ref: r }) =>
            (r.transport === 'docker-archive' || r.transport === 'oci-archive') && isStdout(r.path),
        );
        if (toStdout && opts.json) {
          failure.stdoutTaken = true; // a document there would go into the archive's pipe
          throw new ImprintError(
            'USAGE',
            '--json and an archive written to standard output cannot share it',
            {
              hint: 'Write the archive to a file, or leave out --json.',
            },
          );
        }
        const report = toStdout ? t.err : t.out;
        let bar: ReturnType<typeof progressBar> | undefined;
        const result = await buildImage({
          loaded,
          env: process.env,
          store,
          cacheDir,
          offline: opts.offline === true,
          outputs: [
            ...outputs.flatMap(({ ref }) =>
              ref.transport === 'docker'
                ? []
                : [{ path: ref.path, what: `the output ${formatReference(ref)}` }],
            ),
            // Copied into the image, the file would hold the previous build's provenance.
            ...(opts.provenanceOut === undefined
              ? []
              : [{ path: resolvePath(opts.provenanceOut), what: `--provenance-out ${opts.provenanceOut}` }]),
          ],
          registry,
          onEvent: (e) => {
            // Warnings go to stderr with --json too (they are also in its warnings[]); progress does not.
            if (e.type === 'warning') t.err.write(`warning: ${e.message}\n`);
            if (opts.json) return;
            if (e.type === 'fetch') {
              if (!t.tty) return; // progress only on a terminal
              bar ??= progressBar(t);
              bar.update(e);
              if (e.done === e.total) bar.clear();
              return;
            }
            if (e.type === 'layer' && t.tty)
              t.err.write(dim(t, `  layer ${e.platform} ${e.digest} (${e.size} bytes)\n`));
          },
        });
        // Provenance (SLSA v1) and SBOM (SPDX 2.3) as OCI 1.1 referrers beside the image: the index digest stays the same.
        const attested =
          opts.attest === false
            ? undefined
            : await attestBuild({ loaded, result, store, version: VERSION, cacheDir });
        const finalSet = attested?.set ?? result.set;
        const written: string[] = [];
        if (opts.provenanceOut !== undefined && attested !== undefined) {
          const file = resolvePath(opts.provenanceOut);
          await mkdirp(dirname(file))
            .then(() => writeFileAtomic(file, attested.provenanceBytes))
            .catch((err: unknown) => {
              throw new ImprintError(
                'IO',
                `--provenance-out ${opts.provenanceOut}: cannot write it: ${errorText(err)}`,
                {
                  cause: err,
                },
              );
            });
          written.push(`provenance ${file}`);
        }
        /** The platform each docker-archive output of a multi-platform build holds, for the report. */
        const picked = new Map<number, string>();
        for (const [n, { ref, tag }] of outputs.entries()) {
          // docker-archive holds one image: pick the platform when the build made several.
          const single =
            ref.transport === 'docker-archive' && (result.images.length > 1 || opts.platform !== undefined);
          const set = single
            ? await selectPlatform(
                finalSet,
                opts.platform ? argument(() => parsePlatform(opts.platform as string)) : hostPlatform(),
              )
            : finalSet;
          const platform = set.index.manifests[0]?.platform;
          if (single && platform !== undefined) picked.set(n, formatPlatform(platform));
          try {
            await writeImageSet(ref, set, {
              tag,
              name: `${loadedName(loaded.dir)}:${tag}`,
              registry,
              onLockWait: lockWaitNotice(t),
            });
          } catch (err) {
            throw withWritten(err, formatReference(ref), written, result.index.digest);
          }
          written.push(formatReference(writtenAs(ref, tag)));
        }
        if (opts.json) {
          writeJson(t, {
            index: result.index.digest,
            epoch: result.epoch,
            images: result.images.map((i) => ({
              platform: i.platform,
              manifest: i.manifest.digest,
              config: i.config.digest,
              layers: i.layers,
            })),
            outputs: outputs.map((o) => formatReference(writtenAs(o.ref, o.tag))),
            ...(opts.provenanceOut === undefined ? {} : { provenance: resolvePath(opts.provenanceOut) }),
            warnings: result.warnings,
            attestations:
              attested?.referrers.map((r) => ({ digest: r.digest, artifactType: r.artifactType })) ?? [],
          });
          return EXIT_OK;
        }
        const when = new Date(result.epoch.epoch * 1000).toISOString().replace('.000Z', 'Z');
        report.write(`SOURCE_DATE_EPOCH ${result.epoch.epoch} (${when}, from ${result.epoch.source})\n`);
        for (const i of result.images) {
          const size = i.layers.reduce((n, l) => n + l.size, 0);
          report.write(
            `${i.platform.padEnd(16)} manifest ${i.manifest.digest}  ${i.layers.length} layer(s), ${size} bytes\n`,
          );
        }
        report.write(`${'index'.padEnd(16)} ${result.index.digest}\n`);
        for (const [n, { ref, tag }] of outputs.entries()) {
          const only = picked.get(n);
          const what = only === undefined ? '' : ` (${only} only: a docker-archive holds one platform)`;
          report.write(`wrote ${formatReference(writtenAs(ref, tag))}${what}\n`);
        }
        if (opts.provenanceOut !== undefined)
          report.write(`wrote the provenance to ${resolvePath(opts.provenanceOut)}\n`);
        return EXIT_OK;
      }),
    );
}

/**
 * An output's failure, saying which output it was and which were written before it (with the
 * image's digest), so a run with several outputs leaves no doubt about what exists. Other errors as they are.
 */
function withWritten(err: unknown, output: string, written: readonly string[], index: string): unknown {
  if (!(err instanceof ImprintError)) return err;
  const before = written.length === 0 ? '' : `; written before it: ${written.join(', ')} (index ${index})`;
  return new ImprintError(err.code, `writing ${output}: ${err.message}${before}`, {
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    cause: err,
    details: { ...err.details, output, written: [...written] },
  });
}

/**
 * An output as written: an OCI layout or archive that names no tag gets the tag it was written under
 * (`oci:out:latest`, once per -t), which is what `podman run` and `imprint inspect` are then given.
 */
function writtenAs(ref: ImageRef, tag: string): ImageRef {
  return (ref.transport === 'oci' || ref.transport === 'oci-archive') && ref.tag === undefined
    ? { ...ref, tag }
    : ref;
}

/**
 * The default repository name of docker-archive outputs: the spec directory's name, made a valid name,
 * under localhost/ as podman names what it builds: a bare `python` would be docker.io/library/python,
 * and `docker load` would move the official image's tag to this one.
 */
function loadedName(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `localhost/${name === '' ? 'imprint' : name}`;
}

/** True when `path` is this process's standard output (/dev/stdout, /proc/self/fd/1, the pipe's name). */
function isStdout(path: string): boolean {
  try {
    return sameNode(statSync(path), 1);
  } catch {
    return false;
  }
}

/** OUTPUT_EXISTS before the build when an archive output names a directory (a later output would fail after earlier ones were written). */
async function checkArchiveTargets(
  outputs: ReadonlyArray<{ transport: string; path?: string }>,
): Promise<void> {
  for (const ref of outputs) {
    if ((ref.transport !== 'docker-archive' && ref.transport !== 'oci-archive') || ref.path === undefined)
      continue;
    const st = await stat(ref.path).catch(() => undefined);
    if (st?.isDirectory())
      throw new ImprintError(
        'OUTPUT_EXISTS',
        `${ref.transport}: ${ref.path} is a directory, not an archive file`,
        {
          hint: 'Name a file path for archive outputs, or use oci:DIR for a layout directory.',
          details: { path: ref.path },
        },
      );
  }
}
