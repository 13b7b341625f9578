import { statPath } from '../debian/effects/tree-io.js';
import type { ContainerConfig } from '../oci/types.js';
import type { FileTree } from '../vfs/tree.js';

// TZ=Area/Zone in the config's env names a file under /usr/share/zoneinfo; glibc (and Python, Java's
// ZoneId lookups through it, ...) silently use UTC when that file is missing, e.g. when tzdata is not
// in the image. POSIX rule strings ("EST5EDT", "UTC0") need no file and are left alone.

const ZONEINFO = '/usr/share/zoneinfo';

/** The config's TZ, or undefined (also what a cached result is valid for). */
export function tzEnv(config: ContainerConfig): string | undefined {
  return config.Env?.find((e) => e.startsWith('TZ='))?.slice('TZ='.length);
}

/**
 * A warning when the env's TZ names a zone file (an Area/Zone name or an absolute path, with or
 * without glibc's leading `:`) the image does not have. Cost: one lookup.
 */
export function tzNotes(tree: FileTree, config: ContainerConfig, platform: string): string[] {
  const value = tzEnv(config);
  if (value === undefined) return [];
  const name = value.startsWith(':') ? value.slice(1) : value;
  if (!name.includes('/') || name.includes('..')) return [];
  const path = name.startsWith('/') ? name : `${ZONEINFO}/${name}`;
  if (statPath(tree, path)?.node.kind === 'file') return [];
  return [
    `the image's env TZ=${value} (${platform}) names ${path}, which is not in the image: programs will use UTC; ${
      statPath(tree, ZONEINFO) === undefined
        ? "add tzdata to packages (and set the zone with the spec's timezone, which writes /etc/localtime)"
        : 'use a zone name tzdata ships'
    }`,
  ];
}
