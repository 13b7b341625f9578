// Recreating a build's inputs from its provenance in a fresh directory.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { chmod, lstat, mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorText, ImprintError } from '../errors.js';
import { lockPathFor } from '../lock/io.js';
import type { RecordedBuild } from './recorded.js';

/**
 * Writes the recorded spec and lock into `dir` and copies every recorded local file from `context`
 * (same relative paths), checking each against its recorded sha256 while copying. DIGEST_MISMATCH
 * names the file that differs; IO names one that is missing; USAGE when files are recorded but no
 * context is given. Returns the spec's path. Cost: streams each local file once.
 */
export async function recreateInputs(
  build: RecordedBuild,
  dir: string,
  context: string | undefined,
): Promise<string> {
  const specFile = join(dir, build.spec.path);
  await writeFile(specFile, build.spec.bytes);
  if (build.lock !== undefined) await writeFile(lockPathFor(specFile), build.lock);
  const needsContext = build.files.some((f) => f.entries.some((e) => e.type === 'file'));
  if (needsContext && context === undefined) {
    throw new ImprintError(
      'USAGE',
      `the provenance records local files (${build.files.map((f) => f.source).join(', ')}); verify needs a directory holding them`,
      {
        hint: 'Pass --context DIR: the directory of the imprint.yaml the image was built from.',
      },
    );
  }
  const root = await realpath(dir);
  for (const set of build.files) {
    for (const e of set.entries) {
      const to = join(dir, e.path);
      await checkInside(root, to, `${set.field}: ${e.path}`);
      if (e.type === 'dir') {
        await mkdir(to, { recursive: true });
      } else if (e.type === 'symlink') {
        await mkdir(dirname(to), { recursive: true });
        await symlink(e.target, to);
      } else {
        await mkdir(dirname(to), { recursive: true });
        await copyVerified(join(context!, e.path), to, e.sha256, `${set.field}: ${e.path}`);
        await chmod(to, e.mode);
      }
    }
  }
  return specFile;
}

/**
 * Refuses (PROVENANCE_INVALID) to write `to` when the nearest part of it that exists is, or goes
 * through, a symbolic link an earlier entry made that leads outside `root` (or nowhere): mkdir and the
 * copy would follow it, and the provenance, which the image carries, would choose where on this
 * machine files are written. Links inside `root` are fine: the build follows them too.
 */
async function checkInside(root: string, to: string, what: string): Promise<void> {
  for (let p = to; ; p = dirname(p)) {
    let link: boolean;
    try {
      link = (await lstat(p)).isSymbolicLink();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && p !== dirname(p)) continue;
      throw err;
    }
    const real = link ? await realpath(p).catch(() => undefined) : await realpath(p);
    if (real !== undefined && (real === root || real.startsWith(`${root}${sep}`))) return;
    throw new ImprintError(
      'PROVENANCE_INVALID',
      `the recorded input ${what} would be written through the recorded symbolic link ${p.slice(root.length + 1) || p} to ${real ?? 'a path that does not exist'}, outside the directory verify rebuilds in`,
      {
        hint: 'imprint build never records a file below a link that leaves the spec directory: this provenance was not written by imprint, so do not trust the image it came with.',
        details: { file: what, link: p, resolved: real },
      },
    );
  }
}

async function copyVerified(from: string, to: string, sha256: string, what: string): Promise<void> {
  const h = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      h.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(from), tap, createWriteStream(to));
  } catch (err) {
    throw new ImprintError('IO', `cannot copy the recorded input ${what} from ${from}: ${errorText(err)}`, {
      hint: "Pass --context DIR, DIR being the spec's directory (the one holding its imprint.yaml) at the revision the image was built from: the spec's relative paths are read from it (the default is the current directory).",
      cause: err,
      details: { file: from },
    });
  }
  const found = h.digest('hex');
  if (found !== sha256) {
    throw new ImprintError(
      'DIGEST_MISMATCH',
      `${from} (${what}) has sha256 ${found}; the provenance records ${sha256}`,
      {
        hint: 'The context is not the one the image was built from; check out the recorded revision.',
        details: { file: from, expected: sha256, found },
      },
    );
  }
}

/**
 * A spec input given by a path relative to the spec's directory (a local base `oci:../static/out`,
 * a source's keyring) is found from the context, as from the spec's own directory: the same relative
 * path in the workspace links to it (the spec's bytes, and so the image's annotations, stay as
 * recorded). Only inside the workspace (the directory holding the spec's): never a link elsewhere
 * on the host. Gives where it was looked for when it is not there, else undefined.
 */
async function linkFromContext(
  path: string,
  specDir: string,
  context: string | undefined,
): Promise<string | undefined> {
  const inContext = resolve(context ?? '.', path);
  const inWorkspace = resolve(specDir, path);
  if (!inWorkspace.startsWith(`${dirname(specDir)}/`) || existsSync(inWorkspace)) return undefined;
  if (context === undefined || !existsSync(inContext)) return inContext;
  await mkdir(dirname(inWorkspace), { recursive: true });
  await symlink(inContext, inWorkspace);
  return undefined;
}

/** linkFromContext for a local base; what to say if the rebuild then cannot find it. */
export async function linkLocalBase(
  base: string | undefined,
  specDir: string,
  context: string | undefined,
): Promise<string | undefined> {
  const path = base === undefined ? undefined : /^(oci|oci-archive):([^:@]+)/.exec(base)?.[2];
  if (path === undefined || isAbsolute(path)) return undefined;
  const missing = await linkFromContext(path, specDir, context);
  return missing === undefined
    ? undefined
    : `the spec's base ${base} is a path relative to the spec's directory, looked for from the context: ${missing} does not exist`;
}

/**
 * linkFromContext for each source keyring given by a relative path: it decides which archive
 * signatures the rebuild trusts (no byte of the image), so it is the verifier's own, from its
 * checkout. Missing: KEYRING_NOT_FOUND saying where it was looked for.
 */
export async function linkKeyrings(
  sources: ReadonlyArray<{ keyring?: string | undefined }>,
  specDir: string,
  context: string | undefined,
): Promise<void> {
  for (const [i, s] of sources.entries()) {
    if (s.keyring === undefined || isAbsolute(s.keyring)) continue;
    const missing = await linkFromContext(s.keyring, specDir, context);
    if (missing === undefined) continue;
    throw new ImprintError(
      'KEYRING_NOT_FOUND',
      `the spec's sources[${i}].keyring ${s.keyring} is a path relative to the spec's directory, looked for from the context: ${missing} does not exist`,
      {
        hint: "Pass --context DIR, DIR being the spec's directory (the keyring decides which archive signatures the rebuild trusts).",
        details: { field: `sources[${i}].keyring`, path: missing },
      },
    );
  }
}
