// tzdata: /etc/localtime and /etc/timezone for the configured zone (Debian's default: Etc/UTC).
import { ImprintError } from '../../errors.js';
import type { FileTree } from '../../vfs/tree.js';
import { type EffectWriter, isFile, writeFile, writeSymlink } from './tree-io.js';
import type { EffectRule } from './types.js';

/** The zone tzdata configures without preseeding (its templates have no default; the script falls back to Etc/UTC). */
export const DEFAULT_TIMEZONE = 'Etc/UTC';

/** An `Area/Zone` name as /usr/share/zoneinfo spells them (no `..`, no leading `/`). */
export const TIMEZONE_NAME = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;

/**
 * Whether a tzdata postinst writes /etc/timezone only when the file exists: trixie's (2024a-4 and
 * later) keeps it only for systems that have one, bookworm's writes it on every configure.
 */
export function timezoneFileOnlyIfPresent(postinst: string | undefined): boolean {
  return /\b(?:test|\[)\s+-f\s+"?\$DPKG_ROOT\/etc\/timezone"?/.test(postinst ?? '');
}

/**
 * What tzdata's postinst does for `zone`: /etc/localtime -> /usr/share/zoneinfo/<zone> and
 * /etc/timezone (with `onlyIfPresent`, only over an existing one). Also used for a base image's
 * tzdata. SPEC_INVALID (details.timezone) when the tree has no such zone.
 */
export function setTimezone(w: EffectWriter, zone: string, onlyIfPresent = false): void {
  if (!TIMEZONE_NAME.test(zone) || !isFile(w.tree, `/usr/share/zoneinfo/${zone}`)) {
    throw new ImprintError(
      'SPEC_INVALID',
      `time zone ${JSON.stringify(zone)} is not a zone tzdata installs under /usr/share/zoneinfo`,
      {
        hint: 'Use an Area/Zone name such as Etc/UTC or Europe/Berlin.',
        details: { timezone: zone },
      },
    );
  }
  writeSymlink(w, '/etc/localtime', `/usr/share/zoneinfo/${zone}`);
  if (onlyIfPresent && !isFile(w.tree, '/etc/timezone')) return;
  writeFile(w, '/etc/timezone', `${zone}\n`, { mode: 0o644 });
}

/**
 * The zone the system is already set to, as tzdata's config script reads it when no zone is preseeded:
 * /etc/localtime linking to a zone tzdata ships (a base image's, set by `ln -sf` before tzdata came).
 * Cost: two lookups.
 */
export function configuredZone(tree: FileTree): string | undefined {
  const link = tree.get('etc/localtime');
  if (link?.kind !== 'symlink') return undefined;
  const zone = /^(?:\/|(?:\.\.\/)+)usr\/share\/zoneinfo\/(.+)$/.exec(link.target)?.[1];
  if (zone === undefined || !TIMEZONE_NAME.test(zone) || !isFile(tree, `/usr/share/zoneinfo/${zone}`))
    return undefined;
  return zone;
}

export const tzdataRule: EffectRule = {
  id: 'tzdata/localtime',
  package: 'tzdata',
  describe:
    'postinst: /etc/localtime -> /usr/share/zoneinfo/<zone> and /etc/timezone "<zone>\\n" (trixie: only over an existing one; zone: option, else the zone an existing /etc/localtime links to, else Etc/UTC)',
  apply(ctx, pkg) {
    setTimezone(
      ctx.writer('tzdata'),
      ctx.options.timezone ?? configuredZone(ctx.tree) ?? DEFAULT_TIMEZONE,
      timezoneFileOnlyIfPresent(pkg.postinst),
    );
  },
};
