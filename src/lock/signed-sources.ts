// Which archive sources a lock's packages are checked against: the lock's URLs with the keyrings the
// spec (or this host's apt) names, and the archive roots among the spec's fetch templates.

import type { ArchiveSource } from '../debian/archive.js';
import { normalizeSourceUrl } from '../debian/source-url.js';
import { resolveSourceSpec } from '../debian/sources.js';
import { ImprintError, isImprintError } from '../errors.js';
import type { LoadedSpec } from '../spec/index.js';
import type { LockFile } from './types.js';

/** What lockSources reads: the spec, the lock and where apt's configuration is. */
export interface LockSourcesRequest {
  loaded: LoadedSpec;
  lock: LockFile;
  lockFile: string;
  aptRoot?: string;
}

/**
 * The lock's sources as archive sources: the lock's URL and suite, the spec's components, and the
 * keyring the spec (or the host's apt source for the suite) names. LOCK_STALE if they do not line
 * up with the spec's sources; LOCK_INVALID if a URL differs from the one the spec gives, the
 * components from the spec's, or the lock lists a source beyond the spec's.
 */
export async function lockSources(req: LockSourcesRequest, parseKeys: boolean): Promise<ArchiveSource[]> {
  const { spec, dir } = req.loaded;
  const out: ArchiveSource[] = [];
  for (const [i, s] of spec.sources.entries()) {
    const opts = { sourceIndex: i, baseDir: dir, root: req.aptRoot ?? '/', parseKeys };
    let resolved: ArchiveSource[];
    try {
      resolved = await resolveSourceSpec(s, opts);
    } catch (err) {
      // No apt source for a suite here (the lock was made on another host): the lock's URL, with the
      // spec's keyring or else the host's Debian archive keyring.
      if (s.url !== undefined || !isImprintError(err, 'APT_SOURCE_NOT_FOUND')) throw err;
      resolved = [];
      for (const [k, suite] of s.suites.entries()) {
        const url = req.lock.sources[out.length + k]?.url;
        if (url === undefined) throw err;
        resolved.push(...(await resolveSourceSpec({ ...s, url, suites: [suite] }, opts)));
      }
    }
    for (const r of resolved) {
      const at = out.length;
      const locked = req.lock.sources[at];
      if (locked === undefined || locked.suite !== r.suite) {
        throw new ImprintError(
          'LOCK_STALE',
          `${req.lockFile}: sources[${at}] should be suite ${r.suite} of the spec's sources[${i}], but is ${locked === undefined ? 'missing' : locked.suite}`,
          {
            hint: 'Run `imprint lock` (or `imprint build --update`) to resolve the spec again.',
            details: { file: req.lockFile, field: `sources[${at}]` },
          },
        );
      }
      if (locked.components.join(' ') !== r.components.join(' ')) {
        throw new ImprintError(
          'LOCK_INVALID',
          `${req.lockFile}: sources[${at}].components are ${locked.components.join(', ')}, but the spec's sources[${i}] says ${r.components.join(', ')}: the lock was edited or is damaged`,
          {
            hint: 'Review the change to the lock, then run `imprint lock` to resolve the spec again.',
            details: { file: req.lockFile, field: `sources[${at}].components` },
          },
        );
      }
      const url = normalizeSourceUrl(locked.url);
      if (s.url !== undefined && url !== normalizeSourceUrl(s.url)) {
        throw new ImprintError(
          'LOCK_INVALID',
          `${req.lockFile}: sources[${at}].url is ${locked.url}, but the spec's sources[${i}] says ${s.url}: the lock was edited or is damaged`,
          {
            hint: 'Review the change to the lock, then run `imprint lock` to resolve the spec again.',
            details: { file: req.lockFile, field: `sources[${at}].url` },
          },
        );
      }
      if (s.url === undefined && url !== r.url) {
        // The lock was made where apt names another mirror for the suite: that mirror's keyring here
        // (perhaps a re-signing one) says nothing about the lock's URL; the spec's keyring, else the
        // host's Debian archive keyring, does.
        const [own] = await resolveSourceSpec({ ...s, url, suites: [r.suite] }, opts);
        out.push({ ...(own as ArchiveSource), url });
        continue;
      }
      out.push({ ...r, url });
    }
  }
  const extra = req.lock.sources[out.length];
  if (extra !== undefined) {
    throw new ImprintError(
      'LOCK_INVALID',
      `${req.lockFile}: sources[${out.length}] (${extra.url} ${extra.suite}) is none of the spec's sources, which give ${out.length} suite(s): the lock was edited or is damaged`,
      {
        hint: 'Review the change to the lock, then run `imprint lock` to resolve the spec again.',
        details: { file: req.lockFile, field: `sources[${out.length}]` },
      },
    );
  }
  return out;
}

/**
 * Archive roots among fetch templates: those that end in `{filename}` after a prefix with no
 * placeholder but `{url}` (a mirror or snapshot of the archive's tree), with `{url}` filled in.
 */
export function archiveRoots(templates: readonly string[], url: string): string[] {
  const roots: string[] = [];
  for (const t of templates) {
    if (!t.endsWith('{filename}')) continue;
    const prefix = t.slice(0, -'{filename}'.length).replaceAll('{url}', url.replace(/\/+$/, ''));
    if (/[{}]/.test(prefix)) continue;
    const root = prefix.replace(/\/+$/, '');
    if (root !== '' && !roots.includes(root)) roots.push(root);
  }
  return roots;
}
