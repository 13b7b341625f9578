import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { changeset } from '../base/changeset.js';
import { installedInTree, updateStatusDb } from '../base/installed.js';
import type { LowerTree } from '../base/lower.js';
import { LOCAL_CERTS_DIR, refreshCaCertificates } from '../debian/effects/index.js';
import { isDir, readTreeFile } from '../debian/effects/tree-io.js';
import { setTimezone, timezoneFileOnlyIfPresent } from '../debian/effects/tzdata.js';
import { type InstallOptions, type InstallResult, installPackages } from '../debian/install.js';
import type { ContentSpool } from '../debian/install-spool.js';
import { dpkgArch } from '../debian/resolve.js';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { checkLockClosure } from '../lock/closure.js';
import { lockPathFor } from '../lock/io.js';
import type { LockPackage } from '../lock/types.js';
import { formatPlatform } from '../oci/platform.js';
import type { ContainerConfig, Platform } from '../oci/types.js';
import { isNumericId, splitUser } from '../spec/accounts.js';
import { type LoadedSpec, type SpecLocation, specField } from '../spec/index.js';
import { nearest } from '../spec/suggest.js';
import type { BlobStore } from '../store/index.js';
import { bodyNow, type TarWriteEntry } from '../tar/index.js';
import { layerEntries } from '../vfs/entries.js';
import { implicitDirMeta } from '../vfs/node.js';
import { FileTree } from '../vfs/tree.js';
import { addGeneratedFile, applyAccounts } from './accounts.js';
import { caBundleNotes } from './ca-bundle-check.js';
import { refuseHidingDirectories, refuseReplacingFiles } from './file-targets.js';
import { type BuildPath, copyFiles, type SourceReads } from './files.js';
import { generatedDataNotes } from './generated-data-check.js';
import { javaTrustNotes } from './java-trust-check.js';
import { LD_CACHE_ORIGIN, ldSoCacheBytes } from './ld-so-cache.js';
import { libraryPathNotes } from './library-path-check.js';
import { pamIncludeNotes } from './pam-check.js';
import { applyRemovals } from './remove.js';
import { configNotes } from './run-check.js';
import { serviceUserNotes } from './service-user-check.js';
import { makeWorkdir } from './workdir-check.js';

/** What a build writes on the host while it runs, which no files source may include. */
export interface BuildWrites {
  /** The blob store's root and the cache directory. */
  store: string;
  cacheDir: string;
  /** The outputs' host paths (layouts, archives). */
  outputs: readonly BuildPath[];
}

/**
 * The files of a base image that packages' effects merge with or update: the account files, and
 * /etc/timezone, which trixie's tzdata rewrites only when it exists (without it, the base's stayed
 * beside the new /etc/localtime, naming another zone), and /etc/localtime, whose zone tzdata keeps
 * when the spec sets none, as its config script does; /etc/shells and shells.state, to which the base's
 * update-shells (its trigger on shells.d) adds a new package's shells, as zsh's.
 */
const BASE_MERGED_FILES = [
  'etc/passwd',
  'etc/group',
  'etc/shadow',
  'etc/gshadow',
  'etc/timezone',
  'etc/localtime',
  'etc/shells',
  'var/lib/shells.state',
  'usr/sbin/update-shells',
];

/**
 * The tree of the spec's `files` alone (no contents read): laid over packages, and fingerprinted for the
 * cache. What the build writes (`writes`: the cache, the outputs) may not lie inside a source.
 */
export async function specFilesTree(
  loaded: LoadedSpec,
  epoch: number,
  writes?: BuildWrites,
  reads?: SourceReads,
): Promise<FileTree> {
  const buildPaths: BuildPath[] =
    writes === undefined
      ? []
      : [
          { path: writes.store, what: "imprint's blob store" },
          { path: writes.cacheDir, what: "imprint's cache directory" },
          ...writes.outputs,
        ];
  const tree = new FileTree(implicitDirMeta(epoch));
  await copyFiles(
    tree,
    loaded.spec.files.map((f, i) => ({
      source: resolve(loaded.dir, f.source),
      target: f.target,
      mode: f.mode,
      dirMode: f.dirMode,
      uid: f.owner.uid,
      gid: f.owner.gid,
      field: `files[${i}]`,
      label: (key: 'source' | 'target' | 'dirMode') => specField(loaded, ['files', i, key]),
    })),
    loaded.dir,
    epoch,
    buildPaths,
    reads,
  );
  return tree;
}

/**
 * A description of a tree that changes whenever its layer bytes would: every entry's header fields and
 * the sha256 of every file body. For cache keys; `spec` names the files[] entry of an unreadable file.
 * Each body's sha256 is recorded on its node, so later fingerprints of trees holding it (a layer's
 * content key) need not read it again. Cost: reads every file body once.
 */
export async function treeFingerprint(tree: FileTree, spec?: SpecLocation): Promise<string> {
  return entriesFingerprint(layerEntries(tree), async (e) => {
    const digest = await bodySha256(e, tree, spec);
    const node = tree.get(e.path);
    if (node?.kind === 'file') node.sha256 = digest;
    return digest;
  });
}

/**
 * The fingerprint of layer entries (see treeFingerprint): a body's sha256 is the entry's own when it
 * has one (a package's file, a file fingerprinted before), else `hashBody`'s. Cost: hashes the
 * entries' fields, and reads the bodies without a sha256.
 */
export async function entriesFingerprint(
  entries: readonly TarWriteEntry[],
  hashBody: (e: TarWriteEntry) => Promise<string>,
): Promise<string> {
  const h = createHash('sha256');
  for (const e of entries) {
    h.update(
      JSON.stringify([
        e.path,
        e.type,
        e.mode,
        e.uid,
        e.gid,
        e.mtime,
        e.size,
        e.linkname ?? '',
        e.devmajor ?? 0,
        e.devminor ?? 0,
      ]),
    );
    for (const [k, v] of Object.entries(e.xattrs ?? {}).sort()) h.update(`${k}=${v.toString('hex')}`);
    if (e.body) h.update(e.sha256 ?? (await hashBody(e)));
  }
  return h.digest('hex');
}

/** The sha256 (hex) of an entry's body, read; IO naming the files[] entry of an unreadable spec file. */
export async function bodySha256(e: TarWriteEntry, tree?: FileTree, spec?: SpecLocation): Promise<string> {
  const body = createHash('sha256');
  try {
    const whole = bodyNow(e);
    if (whole !== undefined) body.update(whole);
    else
      for await (const chunk of await (e.body as NonNullable<TarWriteEntry['body']>)())
        body.update(chunk as Buffer);
  } catch (err) {
    if (err instanceof ImprintError) throw err; // names the entry and the file already
    const origin = tree?.get(e.path)?.origin ?? 'files';
    const index = /^files\[(\d+)\]$/.exec(origin)?.[1];
    const label =
      spec === undefined || index === undefined
        ? `${origin}.source`
        : specField(spec, ['files', Number(index), 'source']);
    throw new ImprintError('IO', `${label}: cannot read the file for /${e.path}: ${errorText(err)}`, {
      hint: 'Make it readable by the user running imprint, or keep it out of the source.',
      cause: err,
      details: { field: `${origin}.source`, path: `/${e.path}` },
    });
  }
  return body.digest('hex');
}

export interface PlatformTreeInput {
  loaded: LoadedSpec;
  platform: Platform;
  epoch: number;
  store: BlobStore;
  /** Locked packages of this platform, installed in this order. */
  packages: readonly LockPackage[];
  /** Waits until a package's file (by sha256) is in the store, when downloads are still running. */
  whenStored?: ((sha256: string) => Promise<void>) | undefined;
  files: FileTree;
  spool: ContentSpool;
  spoolDir: string;
  /** The base image's filesystem (consumed: the build's content is laid over it). */
  base?: LowerTree | undefined;
  /** Told of large package file bodies as they unpack (gzip members made ahead of the layer). */
  bodies?: InstallOptions['bodies'];
  /** The image's runtime config, whose program is checked against the finished tree (run-check.ts). */
  container?: ContainerConfig | undefined;
}

/**
 * One platform's layer content: packages (with their effects), then the spec's files; laid over the
 * base image's filesystem when there is one; then accounts (merged with the base's) and the spec's
 * `remove` list. Without a base that is the whole root filesystem; with one, what changed relative to
 * it (see changeset: new and changed nodes, whiteouts for removed base paths).
 */
export async function platformTree(input: PlatformTreeInput): Promise<{
  tree: FileTree;
  install: InstallResult | undefined;
  /** The names the image's /etc/passwd and /etc/group hold, which `user` is checked against. */
  accounts: AccountNames;
  runNotes: string[];
  /** Warnings about the finished filesystem (not the config), e.g. a JRE without a trust store. */
  treeNotes: string[];
}> {
  const { loaded, epoch } = input;
  const upper = new FileTree(implicitDirMeta(epoch));
  let install: InstallResult | undefined;
  const { timezone } = loaded.spec;
  // A base image's tzdata serves too (e.g. examples/static): its zone is set once it is laid below.
  const baseZones =
    timezone !== undefined &&
    !input.packages.some((p) => p.name === 'tzdata') &&
    input.base !== undefined &&
    isDir(input.base.tree, '/usr/share/zoneinfo');
  if (timezone !== undefined && !input.packages.some((p) => p.name === 'tzdata') && !baseZones) {
    throw new ImprintError(
      'SPEC_INVALID',
      `${specField(loaded, ['timezone'])}: ${timezone} is set, but tzdata is not among the packages for ${formatPlatform(input.platform)}${input.base === undefined ? '' : ' and the base image has no /usr/share/zoneinfo'}`,
      {
        hint: 'Add tzdata to packages (e.g. {name: tzdata, dependencies: false}), or drop timezone.',
        details: { file: loaded.file, field: 'timezone', timezone },
      },
    );
  }
  if (input.packages.length > 0) {
    // The base's account files, as they are (its own nodes): postinsts' adduser calls (the ssl-cert
    // group, postgres) append to them as on the base's system; left unchanged, they stay out of the
    // layer. Without them those effects found no /etc/passwd and made no account.
    for (const path of BASE_MERGED_FILES) {
      const node = input.base?.tree.get(path);
      if (node?.kind === 'file' || (node?.kind === 'symlink' && path === 'etc/localtime'))
        upper.add(path, node);
    }
    install = await installPackages(
      upper,
      input.packages.map((p) => ({
        record: {
          name: p.name,
          version: p.version,
          architecture: p.architecture,
          multiArch: 'no',
          replaces: [],
          provides: [],
          size: p.size,
          filename: p.filename,
        },
        open: async () => {
          await input.whenStored?.(p.sha256);
          return input.store.open({ digest: `sha256:${p.sha256}`, size: p.size });
        },
      })),
      {
        epoch,
        arch: dpkgArch(input.platform),
        spoolDir: input.spoolDir,
        mergedUsr: true,
        spool: input.spool,
        effects: timezone === undefined ? {} : { timezone },
        ...(input.bodies === undefined ? {} : { bodies: input.bodies }),
      },
    ).catch(async (err: unknown) => {
      await removeCorruptPackages(err, input.store, input.packages);
      throw timezoneError(err, loaded);
    });
  }
  // The locked set must be what resolving the spec over it chooses (a hand-edited lock fails here).
  if (install !== undefined || (input.base !== undefined && loaded.spec.packages.length > 0))
    await checkLockClosure(
      upper,
      input.packages,
      loaded.spec,
      dpkgArch(input.platform),
      formatPlatform(input.platform),
      lockPathFor(loaded.file),
      input.base === undefined ? undefined : await installedInTree(input.base.tree),
    );
  const entries = loaded.spec.files.map((f, i) => ({
    label: specField(loaded, ['files', i, 'target']),
    target: f.target,
  }));
  refuseHidingDirectories(upper, input.files, entries);
  upper.overlay(input.files);
  // Certificates the spec adds for update-ca-certificates join the bundle, as they would after a COPY.
  const ca = install?.packages.find((p) => p.name === 'ca-certificates');
  if (ca !== undefined && [...input.files.keys()].some((k) => k.startsWith(`${LOCAL_CERTS_DIR}/`)))
    await refreshCaCertificates(
      upper,
      epoch,
      dpkgArch(input.platform),
      ca,
      install?.packages.find((p) => p.name === 'ca-certificates-java'),
    );
  let full = upper;
  if (input.base !== undefined) {
    full = input.base.tree;
    refuseReplacingFiles(full, input.files, entries);
    full.useDirMeta(implicitDirMeta(epoch));
    full.overlay(upper);
    if (install !== undefined) await updateStatusDb(full, install.packages, epoch);
  }
  if (baseZones && timezone !== undefined) {
    try {
      // As the base's own tzdata postinst would: trixie's updates /etc/timezone only where it exists.
      const postinst = await readTreeFile(full, '/var/lib/dpkg/info/tzdata.postinst');
      const onlyIfPresent = timezoneFileOnlyIfPresent(postinst?.toString('utf8'));
      setTimezone({ tree: full, mtime: epoch, origin: 'tzdata', record: () => {} }, timezone, onlyIfPresent);
    } catch (err) {
      throw timezoneError(err, loaded);
    }
  }
  const { users, groups } = loaded.spec.accounts;
  if (users.length > 0 || groups.length > 0) await applyAccounts(full, users, groups, epoch, loaded);
  // ldconfig's cache, for libraries only it makes the loader find (/usr/local/lib and the like).
  const ldCache = await ldSoCacheBytes(full, dpkgArch(input.platform));
  if (ldCache !== undefined)
    addGeneratedFile(full, '/etc/ld.so.cache', ldCache, epoch, 0o644, LD_CACHE_ORIGIN);
  const removalNotes: string[] = [];
  const removed = applyRemovals(full, loaded.spec.remove, loaded, removalNotes);
  // Last, as it is what the container starts in: made when missing, as Dockerfile's WORKDIR does.
  makeWorkdir(full, loaded.spec.workdir, epoch, loaded);
  const accounts = await accountNames(full);
  checkUserExists(accounts, loaded.spec.user, loaded);
  const runs =
    input.container === undefined
      ? []
      : await configNotes(full, input.container, formatPlatform(input.platform), input.base?.nodes);
  const treeNotes = [
    ...removalNotes,
    ...(await javaTrustNotes(full, input.base?.nodes)),
    ...(await caBundleNotes(full, upper, install?.packages ?? [])),
    ...(await libraryPathNotes(full)),
    ...(await pamIncludeNotes(full, input.base?.nodes)),
    ...(await serviceUserNotes(full, accounts, input.base?.nodes)),
    ...generatedDataNotes(full),
  ];
  const tree = input.base === undefined ? full : changeset(full, input.base.nodes, epoch, removed);
  return { tree, install, accounts, runNotes: runs, treeNotes };
}

/** A zone tzdata does not ship (SPEC_INVALID with details.timezone), named by the spec's field; other errors as they are. */
function timezoneError(err: unknown, loaded: LoadedSpec): unknown {
  if (!isImprintError(err, 'SPEC_INVALID') || err.details.timezone === undefined) return err;
  return new ImprintError('SPEC_INVALID', `${specField(loaded, ['timezone'])}: ${err.message}`, {
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    details: { ...err.details, file: loaded.file, field: 'timezone' },
  });
}

/** The account names of the image's /etc/passwd and /etc/group, in file order. */
async function accountNames(tree: FileTree): Promise<AccountNames> {
  const names = async (path: string): Promise<string[] | null> => {
    const text = (await readTreeFile(tree, path))?.toString('utf8');
    if (text === undefined) return null;
    return text
      .split('\n')
      .filter((line) => line.includes(':'))
      .map((line) => line.slice(0, line.indexOf(':')));
  };
  return { users: await names('/etc/passwd'), groups: await names('/etc/group') };
}

/**
 * After a failed install: hashes the platform's cached .deb files and throws DIGEST_MISMATCH naming
 * those that no longer match their sha256 (`details.removed`), which are removed so that they are
 * fetched again (the build does so once, see refetchingCorrupt)
 * (corruption can surface as a broken xz or tar stream before the read's own hash check). Returns
 * when all are intact. Cost: one hash of each .deb, on this error path only.
 */
async function removeCorruptPackages(
  err: unknown,
  store: BlobStore,
  packages: readonly LockPackage[],
): Promise<void> {
  const corrupt: LockPackage[] = [];
  for (const p of packages)
    if (
      (await store.has(`sha256:${p.sha256}`)) &&
      !(await store.hasIntact({ digest: `sha256:${p.sha256}`, size: p.size }))
    )
      corrupt.push(p);
  if (corrupt.length === 0) return;
  throw new ImprintError(
    'DIGEST_MISMATCH',
    `the cached ${corrupt.map((p) => `${p.name}_${p.version}_${p.architecture}.deb`).join(', ')} no longer matched the lock's sha256 and ${corrupt.length === 1 ? 'was' : 'were'} removed from ${store.root}`,
    {
      hint: 'Removed packages are fetched afresh (and verified) by the next build.',
      cause: err,
      details: { removed: true, packages: corrupt.map((p) => ({ name: p.name, sha256: p.sha256 })) },
    },
  );
}

/** The account names of an image: its /etc/passwd users and /etc/group groups, in file order (null: no such file). */
export interface AccountNames {
  users: string[] | null;
  groups: string[] | null;
}

/**
 * SPEC_INVALID naming `user` when its user or group part is a name (not a numeric id) that the image's
 * /etc/passwd or /etc/group lacks: the container would fail at start ("unable to find user"). Runs on
 * every build, also when the layers come from the cache (they record the names). Pure.
 */
export function checkUserExists(names: AccountNames, user: string | undefined, spec: SpecLocation): void {
  const split = user === undefined ? undefined : splitUser(user);
  if (split === undefined) return; // none, or refused by the spec's schema
  const missing = (name: string | undefined, have: string[] | null, file: string, what: string): void => {
    if (name === undefined || isNumericId(name) || have?.includes(name)) return;
    const suggestion = nearest(name, new Set(have ?? []));
    throw new ImprintError(
      'SPEC_INVALID',
      `${specField(spec, ['user'])}: ${what === 'user' ? '' : 'group '}${JSON.stringify(name)} is not in the image's ${file}${have === null ? ' (the image has none)' : ''}${suggestion === undefined ? '' : `; did you mean ${JSON.stringify(suggestion)}?`}`,
      {
        hint: `Declare it under accounts.${what === 'user' ? 'users' : 'groups'}, add the package that creates it (base-passwd has root, nobody, www-data and the other Debian system accounts), or use a numeric id.`,
        details: { file: spec.file, field: 'user', user: user as string },
      },
    );
  };
  missing(split.user, names.users, '/etc/passwd', 'user');
  missing(split.group, names.groups, '/etc/group', 'group');
}
