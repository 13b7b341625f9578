// tzdata: /etc/localtime and /etc/timezone for the configured zone (Debian's default: Etc/UTC).
import { ImprintError } from '../../errors.js';
import { isFile, writeFile, writeSymlink } from './tree-io.js';
import type { EffectRule } from './types.js';

/** The zone tzdata configures without preseeding (its templates have no default; the script falls back to Etc/UTC). */
export const DEFAULT_TIMEZONE = 'Etc/UTC';

/** An `Area/Zone` name as /usr/share/zoneinfo spells them (no `..`, no leading `/`). */
export const TIMEZONE_NAME = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;

export const tzdataRule: EffectRule = {
  id: 'tzdata/localtime',
  package: 'tzdata',
  describe:
    'postinst: /etc/localtime -> /usr/share/zoneinfo/<zone> and /etc/timezone "<zone>\\n" (zone: option, default Etc/UTC)',
  apply(ctx) {
    const zone = ctx.options.timezone ?? DEFAULT_TIMEZONE;
    if (!TIMEZONE_NAME.test(zone) || !isFile(ctx.tree, `/usr/share/zoneinfo/${zone}`)) {
      throw new ImprintError(
        'SPEC_INVALID',
        `time zone ${JSON.stringify(zone)} is not a zone tzdata installs under /usr/share/zoneinfo`,
        {
          hint: 'Use an Area/Zone name such as Etc/UTC or Europe/Berlin.',
          details: { timezone: zone },
        },
      );
    }
    const w = ctx.writer('tzdata');
    writeSymlink(w, '/etc/localtime', `/usr/share/zoneinfo/${zone}`);
    writeFile(w, '/etc/timezone', `${zone}\n`, { mode: 0o644 });
  },
};
