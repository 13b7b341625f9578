// Is a lock's package set what `imprint lock` would choose? Checked at build time from the installed
// packages' own control data (their status.d entries): resolving the spec's packages again over just
// the locked packages must succeed and choose exactly them. A lock edited by hand (a dependency
// dropped, a package added) fails here instead of building an image that breaks at run time.

import { readTreeFile } from '../debian/effects/tree-io.js';
import { STATUS_DIR, statusEntryName } from '../debian/install-status.js';
import { parsePackages } from '../debian/packages-index.js';
import { type InstalledPackage, PackageUniverse, resolvePackages } from '../debian/resolve.js';
import { errorText, ImprintError } from '../errors.js';
import type { Spec } from '../spec/index.js';
import type { FileTree } from '../vfs/tree.js';
import type { LockPackage } from './types.js';

/**
 * LOCK_INVALID, naming the package and the lock file, unless resolving the spec's packages over the
 * locked packages (as their status.d entries in `tree` describe them) gives exactly the locked set.
 * With a base image, its `installed` packages satisfy dependencies, as when the lock was made. Cost: parses one
 * control paragraph per package and runs the resolver over them (milliseconds).
 */
export async function checkLockClosure(
  tree: FileTree,
  locked: readonly LockPackage[],
  spec: Spec,
  arch: string,
  platform: string,
  lockFile: string,
  installed?: readonly InstalledPackage[],
): Promise<void> {
  if (spec.packages.length === 0) return;
  const paragraphs: string[] = [];
  for (const p of locked) {
    const entry = statusEntryName(p.name, p.architecture, arch);
    const text = (await readTreeFile(tree, `/${STATUS_DIR}/${entry}`))?.toString('utf8');
    if (text === undefined) return; // removed by the spec (remove:): nothing to check against
    paragraphs.push(`${text.trimEnd()}\nFilename: ${p.filename}\nSize: ${p.size}\nSHA256: ${p.sha256}\n`);
  }
  const invalid = (why: string) =>
    new ImprintError('LOCK_INVALID', `${lockFile} (${platform}): ${why}: the lock was edited or is damaged`, {
      hint: 'Run `imprint lock` (or `imprint build --update`) to resolve the spec again.',
      details: { file: lockFile, platform },
    });
  const repo = { sourceIndex: 0, url: '', suite: 'lock', component: 'main', arch };
  let chosen: string[];
  try {
    const records = parsePackages(paragraphs.join('\n'), repo, `${lockFile} (${platform})`);
    const resolution = resolvePackages(new PackageUniverse(records), {
      names: spec.packages.map((p) => ({
        name: p.name,
        version: p.version,
        ...(p.dependencies === false ? { dependencies: false as const } : {}),
      })),
      arch,
      includeEssential: false,
      installed,
    });
    chosen = resolution.packages.map((r) => `${r.name}:${r.architecture}=${r.version}`);
  } catch (err) {
    throw invalid(`its packages do not satisfy the spec's dependencies (${errorText(err)})`);
  }
  const want = new Set(chosen);
  const extra = locked.filter((p) => !want.has(`${p.name}:${p.architecture}=${p.version}`));
  if (extra.length > 0)
    throw invalid(
      `it lists ${extra.map((p) => `${p.name} ${p.version}`).join(', ')}, which the spec does not need`,
    );
}
