// What a re-lock changed, for the person who reviews the new lock: the base image a tag now names,
// packages added, removed or moved to another version, per platform.
import { compareVersions } from '../debian/version.js';
import { compareCodeUnits } from '../oci/canonical-json.js';
import { parseLock } from './serialize.js';
import type { LockFile, LockPackage } from './types.js';

/** Lines listed before the rest is summed up. */
const MAX_LINES = 40;

/**
 * One line per change between two locks: the base image first (`base docker://r/x:1: sha256:… ->
 * sha256:…`, its tag moved), then by platform and package: `linux/amd64: curl
 * 7.88.1-10+deb12u14 -> 7.88.1-10+deb12u15` (` (a downgrade)` after an older version: a suite such as
 * bookworm-security dropped from the spec), `+ name version` (added), `- name version` (removed);
 * a platform added or removed is one line. At most 40 lines, then `... and N more`. Pure.
 */
export function lockChanges(before: LockFile, after: LockFile): string[] {
  const lines: string[] = [];
  const [was, now] = [before.base, after.base];
  if (was?.digest !== now?.digest || was?.ref !== now?.ref) {
    if (was === undefined) lines.push(`base ${now!.ref}: added (${now!.digest})`);
    else if (now === undefined) lines.push(`base ${was.ref}: removed`);
    else if (was.ref === now.ref) lines.push(`base ${now.ref}: ${was.digest} -> ${now.digest}`);
    else lines.push(`base ${was.ref} (${was.digest}) -> ${now.ref} (${now.digest})`);
  }
  const platforms = [...new Set([...Object.keys(before.platforms), ...Object.keys(after.platforms)])].sort(
    compareCodeUnits,
  );
  for (const platform of platforms) {
    const a = before.platforms[platform];
    const b = after.platforms[platform];
    if (a === undefined || b === undefined) {
      lines.push(`${platform}: platform ${a === undefined ? 'added' : 'removed'}`);
      continue;
    }
    const key = (p: LockPackage) => `${p.name}:${p.architecture}`;
    const old = new Map(a.map((p) => [key(p), p]));
    const now = new Map(b.map((p) => [key(p), p]));
    for (const k of [...new Set([...old.keys(), ...now.keys()])].sort(compareCodeUnits)) {
      const x = old.get(k);
      const y = now.get(k);
      if (x !== undefined && y !== undefined) {
        if (x.version !== y.version)
          lines.push(
            `${platform}: ${y.name} ${x.version} -> ${y.version}${compareVersions(y.version, x.version) < 0 ? ' (a downgrade)' : ''}`,
          );
        else if (x.sha256 !== y.sha256)
          lines.push(`${platform}: ${y.name} ${y.version} (another .deb: ${y.sha256})`);
      } else if (y !== undefined) lines.push(`${platform}: + ${y.name} ${y.version}`);
      else if (x !== undefined) lines.push(`${platform}: - ${x.name} ${x.version}`);
    }
  }
  if (lines.length === 0) lines.push(...unchangedPackages(before, after));
  if (lines.length <= MAX_LINES) return lines;
  return [...lines.slice(0, MAX_LINES), `... and ${lines.length - MAX_LINES} more`];
}

/**
 * What else differs when no package and no base did: the sources (URL, suite, components, a new
 * Release), else the spec hash (a spec edit, or its source URLs now hashed in one spelling, that
 * picks the same packages), so an `updated` lock never comes without a reason. Pure.
 */
function unchangedPackages(before: LockFile, after: LockFile): string[] {
  const lines: string[] = [];
  const describe = (s: LockFile['sources'][number]) => `${s.url} ${s.suite} [${s.components.join(', ')}]`;
  for (let i = 0; i < Math.max(before.sources.length, after.sources.length); i++) {
    const [a, b] = [before.sources[i], after.sources[i]];
    if (a === undefined) lines.push(`sources[${i}]: + ${describe(b!)}`);
    else if (b === undefined) lines.push(`sources[${i}]: - ${describe(a)}`);
    else if (describe(a) !== describe(b)) lines.push(`sources[${i}]: ${describe(a)} -> ${describe(b)}`);
    else if (a.release.sha256 !== b.release.sha256)
      lines.push(
        `sources[${i}]: ${b.url} ${b.suite}: Release of ${a.release.date} -> ${b.release.date}, same packages`,
      );
  }
  if (lines.length === 0 && before.specHash !== after.specHash)
    lines.push(`spec hash ${before.specHash} -> ${after.specHash}: the spec changed, the packages did not`);
  return lines;
}

/** lockChanges from a lock's previous bytes (none when there were none, or they no longer parse). */
export function changesSince(previous: Uint8Array | undefined, lock: LockFile, path: string): string[] {
  if (previous === undefined) return [];
  try {
    return lockChanges(parseLock(previous, path), lock);
  } catch {
    return [];
  }
}
