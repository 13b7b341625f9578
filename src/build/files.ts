import { existsSync, lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { whiteoutOf } from '../oci/whiteout.js';
import { symlinkEscapes } from '../tar/index.js';
import type { VNode } from '../vfs/node.js';
import { normalizeImagePath, parentPath, sortBytes } from '../vfs/path.js';
import type { FileTree } from '../vfs/tree.js';
import { refuseHidingDirectory } from './file-targets.js';
import { type KnownSource, type SourceStamp, sourceContent, stampKey, stampOf } from './source-file.js';

/** One `files[]` entry of the spec, already validated. */
export interface FileCopy {
  /** Absolute host path of the source. */
  source: string;
  /** Absolute image path; a trailing '/' means "into this directory". */
  target: string;
  /** Mode for regular files; undefined = 0755 if the owner may execute the source, else 0644. */
  mode?: number | undefined;
  /** Mode for the directories a directory source creates; undefined = 0755. */
  dirMode?: number | undefined;
  uid: number;
  gid: number;
  /** Field path, e.g. `files[2]`: the origin of what the entry adds. */
  field: string;
  /** Names a key of the entry in errors: `imprint.yaml:7:13: files[2].source`. */
  label: (key: 'source' | 'target' | 'dirMode') => string;
}

/**
 * Copies spec files into the tree. Directories are walked in byte order of names; every copied node gets
 * `mtime` (host mtimes, owners, umask and inode sharing are not inputs; only the owner-executable bit
 * is). Symlinks inside a copied directory are kept as links; sockets and devices are refused. A target
 * goes through the links earlier entries made, as through a package's or base image's (files[0] makes
 * /lib -> usr/lib: files[1]'s /lib/x is /usr/lib/x, and a directory copied into /lib/ goes to /usr/lib/).
 * Cost: stats every file; contents are read later, when the layer is written.
 */
export async function copyFiles(
  tree: FileTree,
  copies: FileCopy[],
  specDir: string,
  mtime: number,
  buildPaths: readonly BuildPath[] = [],
  reads?: SourceReads,
): Promise<void> {
  const root = await realpath(specDir);
  const own = new Map<string, string>();
  for (const p of buildPaths) own.set(await realOrPlanned(resolve(p.path)), p.what);
  for (const copy of copies) await labelConflicts(copy, () => copyOne(tree, copy, root, mtime, own, reads));
}

/**
 * The source files a copy took, by host path (real, as the walk reaches them): what the walk saw of
 * each and its node, on which the build's fingerprint records the body's sha256.
 */
export type SourceReads = Map<string, { stamp: SourceStamp; node: FileNode }>;

type FileNode = Extract<VNode, { kind: 'file' }>;

/** The stamp of every source file of `reads`, by host path, with its sha256 where the body was hashed. */
export function sourceHashes(reads: SourceReads): Map<string, KnownSource> {
  const out = new Map<string, KnownSource>();
  for (const [host, { stamp, node }] of reads) {
    const sha = node.sha256;
    out.set(host, sha === undefined ? { stamp: stampKey(stamp) } : { stamp: stampKey(stamp), sha256: sha });
  }
  return out;
}

/**
 * Runs `fn`, the copy of one entry; a VFS_CONFLICT the tree raises (a file of an earlier entry where
 * this one needs a directory: `/a` then `/a/`) or VFS_SYMLINK_LOOP (a target below links an earlier
 * entry made into a loop) gets the entry's target and line, which it lacks.
 */
async function labelConflicts(copy: FileCopy, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const label = copy.label('target');
    const tree = isImprintError(err, 'VFS_CONFLICT') || isImprintError(err, 'VFS_SYMLINK_LOOP');
    if (!tree || !isImprintError(err) || err.message.startsWith(label)) throw err;
    throw new ImprintError(err.code, `${label}: ${err.message}`, {
      ...(err.hint === undefined ? {} : { hint: err.hint }),
      cause: err,
      details: { ...err.details, field: `${copy.field}.target` },
    });
  }
}

async function copyOne(
  tree: FileTree,
  copy: FileCopy,
  root: string,
  mtime: number,
  own: ReadonlyMap<string, string>,
  reads: SourceReads | undefined,
): Promise<void> {
  const real = await realpath(copy.source).catch((err: NodeJS.ErrnoException) => {
    throw new ImprintError('SPEC_SOURCE_MISSING', `${copy.label('source')}: ${copy.source} does not exist`, {
      hint: 'Paths in files[].source are relative to the spec file.',
      cause: err,
      details: { field: `${copy.field}.source`, path: copy.source },
    });
  });
  const rel = relative(root, real);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new ImprintError(
      'SPEC_INVALID',
      `${copy.label('source')}: ${copy.source} resolves to ${real}, outside the spec's directory ${root}`,
      {
        hint: 'Only files inside the directory of imprint.yaml can be copied; a build must not depend on the rest of the host.',
        details: { field: `${copy.field}.source`, path: real },
      },
    );
  }
  const st = await stat(real);
  refuseWhiteoutTarget(copy);
  const ctx = { copy, mtime, tree, output: join(root, 'out'), reads };
  if (st.isDirectory()) {
    refuseBuildPaths(copy, real, own);
    const dir = tree.resolvePath(copy.target);
    // Parents the copy creates belong to root; the target directory itself, if new, to the owner. Like
    // those parents, over a directory the packages or the base have there it keeps theirs (`keep`), as
    // COPY keeps its destination's: a package's /tmp stays 1777.
    if (tree.get(dir) === undefined) {
      tree.mkdirp(parentPath(dir));
      tree.add(dir, { kind: 'dir', ...dirMeta(copy, mtime), origin: copy.field, keep: true });
    }
    await copyDir(ctx, real, `/${dir}`);
  } else if (st.isFile()) {
    refuseOverwrittenSource(copy, real, own);
    if (copy.dirMode !== undefined) {
      throw new ImprintError(
        'SPEC_INVALID',
        `${copy.label('dirMode')}: ${copy.source} is a file, and dirMode is the mode of the directories a directory source creates`,
        {
          hint: 'Drop dirMode (the directories above a copied file are root-owned 0755), or copy a directory whose files go there (e.g. source: tmp/, target: /tmp/, dirMode: "1777").',
          details: { field: `${copy.field}.dirMode`, path: copy.source },
        },
      );
    }
    const name = basename(copy.source); // the name written, not a link's target's (current.conf -> v2.conf)
    const into = copy.target.endsWith('/');
    const dir = into ? tree.resolvePath(copy.target) : '';
    const target = into ? `/${dir === '' ? '' : `${dir}/`}${name}` : `/${tree.resolveParents(copy.target)}`;
    if (into) refuseWhiteoutName(copy, copy.source, name, target);
    addFile(ctx, real, target, st);
  } else {
    throw unsupported(copy, real);
  }
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest (a path to be made). */
async function realOrPlanned(path: string): Promise<string> {
  const real = await realpath(path).catch(() => undefined);
  if (real !== undefined) return real;
  const parent = dirname(path);
  return parent === path ? path : join(await realOrPlanned(parent), basename(path));
}

/**
 * SPEC_INVALID when a path the build writes (`own`: its cache, an output, by real path) lies inside the
 * directory source `real`, whether or not it exists yet: the image would hold what earlier builds left.
 */
function refuseBuildPaths(copy: FileCopy, real: string, own: ReadonlyMap<string, string>): void {
  for (const [path, what] of own) {
    if (path !== real && !path.startsWith(real.endsWith(sep) ? real : real + sep)) continue;
    throw new ImprintError(
      'SPEC_INVALID',
      `${copy.label('source')}: includes ${path}, ${what}: the image would depend on what earlier builds left there`,
      {
        hint: 'Keep it out of the copied directory (--cache-dir, -o elsewhere), or copy only what the image needs (e.g. source: app/).',
        details: { field: `${copy.field}.source`, path },
      },
    );
  }
}

/**
 * SPEC_INVALID when the build writes the file source `real` itself (an archive output, the
 * --provenance-out file): the build would replace its own input, and the next one copy the archive.
 */
function refuseOverwrittenSource(copy: FileCopy, real: string, own: ReadonlyMap<string, string>): void {
  const what = own.get(real);
  if (what === undefined) return;
  throw new ImprintError(
    'SPEC_INVALID',
    `${copy.label('source')}: ${real} is ${what}: the build would overwrite the file it copies into the image`,
    {
      hint: 'Write the output to another path (-o, --provenance-out).',
      details: { field: `${copy.field}.source`, path: real },
    },
  );
}

interface CopyContext {
  copy: FileCopy;
  mtime: number;
  tree: FileTree;
  /** The build's default output directory (<spec dir>/out), never copied into the image. */
  output: string;
  reads: SourceReads | undefined;
}

/** A host path the build writes while it runs (its cache, an output), which a source must not include. */
export interface BuildPath {
  path: string;
  /** What it is, for the error: "imprint's cache directory", "the output oci-archive:x.tar". */
  what: string;
}

async function copyDir(ctx: CopyContext, hostDir: string, imageDir: string): Promise<void> {
  // Synchronous metadata calls: a tree of 10,000 files would otherwise be 10,000 thread-pool trips.
  const names = sortBytes(
    onHost(ctx.copy, hostDir, () => readdirSync(hostDir, { encoding: 'buffer' })).map((raw) =>
      utf8Text(ctx.copy, hostDir, raw),
    ),
  );
  for (const name of names) {
    const host = join(hostDir, name);
    const image = `${imageDir.replace(/\/+$/, '')}/${name}`;
    refuseWhiteoutName(ctx.copy, host, name, image);
    const st = onHost(ctx.copy, host, () => lstatSync(host));
    if (st.isDirectory() && host === ctx.output && existsSync(join(host, 'oci-layout'))) {
      throw new ImprintError(
        'SPEC_INVALID',
        `${ctx.copy.label('source')}: includes ${host}, the OCI layout imprint writes by default: every build would copy the previous image into the next one`,
        {
          hint: `Copy only what the image needs (e.g. source: app/), or remove ${host} and write the image elsewhere with -o.`,
          details: { field: `${ctx.copy.field}.source`, path: host },
        },
      );
    }
    if (st.isDirectory()) {
      // A directory goes where a link an earlier entry made leads (merged /usr), as over a package's.
      const dir = ctx.tree.get(image)?.kind === 'symlink' ? `/${ctx.tree.resolvePath(image)}` : image;
      ctx.tree.add(dir, { kind: 'dir', ...dirMeta(ctx.copy, ctx.mtime), origin: ctx.copy.field }, {});
      await copyDir(ctx, host, dir);
    } else if (st.isFile()) {
      addFile(ctx, host, image, st);
    } else if (st.isSymbolicLink()) {
      const target = utf8Text(ctx.copy, host, readlinkSync(host, { encoding: 'buffer' }), 'link');
      if (!target.startsWith('/') && symlinkEscapes(normalizeImagePath(image).split('/'), target)) {
        throw new ImprintError(
          'SPEC_INVALID',
          `${ctx.copy.label('source')}: the symlink ${host} -> ${target} would point above the image's root from ${image}`,
          {
            hint: 'A relative link must stay inside the image; use an absolute target (e.g. /etc/passwd) or fewer "..".',
            details: { field: `${ctx.copy.field}.source`, path: host, target, image },
          },
        );
      }
      place(ctx, image, {
        kind: 'symlink',
        target,
        mode: 0o777,
        uid: ctx.copy.uid,
        gid: ctx.copy.gid,
        mtime: ctx.mtime,
        origin: ctx.copy.field,
      });
    } else {
      throw unsupported(ctx.copy, host);
    }
  }
}

/** Runs a metadata call on a host path of the copy; a failure (EACCES, ...) names the entry and the path. */
function onHost<T>(copy: FileCopy, path: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw new ImprintError('IO', `${copy.label('source')}: cannot read ${path}: ${errorText(err)}`, {
      hint: 'Make it readable by the user running imprint, or keep it out of the source.',
      cause: err,
      details: { field: `${copy.field}.source`, path },
    });
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Host bytes as text: a directory entry's name (`link` undefined) or the target of the symlink `link`.
 * Image paths and link targets are UTF-8 (tar readers reject other bytes), and bytes read as a string
 * would be mangled (into U+FFFD) into a name that no longer opens, or a link to another name: say which.
 */
function utf8Text(copy: FileCopy, path: string, raw: Buffer, link?: 'link'): string {
  try {
    return UTF8.decode(raw);
  } catch {
    const shown = [...raw]
      .map((b) =>
        b >= 0x20 && b < 0x7f && b !== 0x5c
          ? String.fromCharCode(b)
          : `\\x${b.toString(16).padStart(2, '0')}`,
      )
      .join('');
    const what =
      link === undefined
        ? `${path}/ holds a file whose name is not UTF-8 text: "${shown}"`
        : `the symlink ${path} points to "${shown}", which is not UTF-8 text`;
    throw new ImprintError('SPEC_INVALID', `${copy.label('source')}: ${what}`, {
      hint:
        link === undefined
          ? 'Image paths are UTF-8: rename the file (e.g. convmv -f latin1 -t utf-8), or move it out of the copied directory.'
          : 'Image paths are UTF-8: point the link at a UTF-8 name (ln -sfn), or move it out of the copied directory.',
      details: {
        field: `${copy.field}.source`,
        path,
        [link === undefined ? 'name' : 'target']: raw.toString('hex'),
      },
    });
  }
}

/** Names OCI layers reserve: `.wh.x` deletes `x` of the layers below, `.wh..wh..opq` empties its directory. */
const WHITEOUT_PREFIX = '.wh.';

/**
 * SPEC_INVALID when the host file `host` would get the name `name` (at `image`) that starts with
 * `.wh.`: a layer entry of that name is a whiteout, so runtimes would delete `x` (a base image's file,
 * or nothing) instead of copying the file, and no tar entry can carry it otherwise (buildah fails on
 * it). Cost: a string test.
 */
function refuseWhiteoutName(copy: FileCopy, host: string, name: string, image: string): void {
  if (!name.startsWith(WHITEOUT_PREFIX)) return;
  throw new ImprintError(
    'SPEC_INVALID',
    `${copy.label('source')}: ${host} would be ${image} in the image, and a name starting with ${WHITEOUT_PREFIX} is a whiteout in an OCI layer: runtimes would delete ${whiteoutVictim(image)} instead of copying the file`,
    {
      hint: `Rename it, or keep it out of the copied directory: no layer can hold a file whose name starts with ${WHITEOUT_PREFIX}.`,
      details: { field: `${copy.field}.source`, path: host, image },
    },
  );
}

/** refuseWhiteoutName for the directories the entry's target names (`target: /app/.wh.cfg/`). */
function refuseWhiteoutTarget(copy: FileCopy): void {
  const key = normalizeImagePath(copy.target);
  const name = key.split('/').find((part) => part.startsWith(WHITEOUT_PREFIX));
  if (name === undefined) return;
  throw new ImprintError(
    'SPEC_INVALID',
    `${copy.label('target')}: ${copy.target} has the component ${name}, and a name starting with ${WHITEOUT_PREFIX} is a whiteout in an OCI layer: runtimes would delete what it names instead of copying the file`,
    {
      hint: `Choose a target whose names do not start with ${WHITEOUT_PREFIX}: no layer can hold such a file.`,
      details: { field: `${copy.field}.target`, path: copy.target },
    },
  );
}

/** What the whiteout at `image` (`/app/.wh.x`) would hide: `/app/x`, or all of `/app/` for `.wh..wh..opq`. */
function whiteoutVictim(image: string): string {
  const wh = whiteoutOf(normalizeImagePath(image));
  if (wh === null || wh === 'malformed') return 'it';
  return 'removes' in wh ? `/${wh.removes}` : `everything else in /${wh.opaqueDir}`;
}

function addFile(ctx: CopyContext, host: string, image: string, st: Stats): void {
  const mode = ctx.copy.mode ?? (st.mode & 0o100 ? 0o755 : 0o644);
  const stamp = stampOf(st);
  const node: FileNode = {
    kind: 'file',
    size: st.size,
    content: sourceContent(host, stamp, ctx.copy.label('source')),
    mode,
    uid: ctx.copy.uid,
    gid: ctx.copy.gid,
    mtime: ctx.mtime,
    origin: ctx.copy.field,
  };
  place(ctx, image, node);
  ctx.reads?.set(host, { stamp, node });
}

/** Adds a file or link of the copy: it replaces what an earlier entry put there, except a directory with content. */
function place(ctx: CopyContext, image: string, node: VNode): void {
  refuseHidingDirectory(ctx.tree, normalizeImagePath(image), node, {
    label: ctx.copy.label('target'),
    target: ctx.copy.target,
  });
  ctx.tree.add(image, node, { onExisting: 'replace' });
}

function dirMeta(copy: FileCopy, mtime: number) {
  return { mode: copy.dirMode ?? 0o755, uid: copy.uid, gid: copy.gid, mtime };
}

function unsupported(copy: FileCopy, path: string): ImprintError {
  return new ImprintError(
    'SPEC_INVALID',
    `${copy.label('source')}: ${path} is not a regular file, directory or symlink`,
    {
      hint: 'Sockets, FIFOs and device files cannot be copied from the host, and the spec cannot make them: move it out of the source, or copy the rest of its directory with entries of their own.',
      details: { field: `${copy.field}.source`, path },
    },
  );
}
