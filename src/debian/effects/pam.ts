// pam-auth-update, as libpam-runtime's postinst runs it on a fresh install: the PAM profiles under
// /usr/share/pam-configs/ that are on by default fill the templates /usr/share/pam/common-* into
// /etc/pam.d/common-{auth,account,password,session,session-noninteractive}. Without these files every
// PAM service (su, runuser, login, sshd, cron) aborts. Line for line what the Perl script writes.
import { compareBytes } from '../../vfs/path.js';
import { childNames, readTreeFile, statPath, writeFile } from './tree-io.js';
import type { EffectContext, EffectRule } from './types.js';

const CONFIGS = 'usr/share/pam-configs';
const TYPES = ['auth', 'account', 'password', 'session', 'session-noninteractive'] as const;

/** A profile's fields (module fields hold their lines joined by "\n"). */
export type PamProfile = Record<string, string>;

/** parse_pam_profile: `Field: value` lines, continuation lines (trimmed) appended with "\n". Pure. */
export function parsePamProfile(text: string): PamProfile {
  const profile: PamProfile = {};
  let field: string | undefined;
  for (const raw of text.split('\n')) {
    const m = /^(\S+):\s+(.*?)\s*$/.exec(`${raw}\n`);
    if (m !== null) {
      field = (m[1] as string).replace(/-Final$/, '');
      profile[field] = m[2] as string;
      continue;
    }
    const line = raw.trim();
    if (field === undefined || line === '') continue;
    profile[field] = `${profile[field] ?? ''}\n${line}`.replace(/^[\n\s]+/, '');
  }
  if (profile['Session-Interactive-Only'] === undefined) {
    for (const suffix of ['-Type', '', '-Initial']) {
      const value = profile[`Session${suffix}`];
      if (value !== undefined) profile[`Session-noninteractive${suffix}`] = value;
    }
  }
  return profile;
}

/** merge_one_line without local edits: `end` becomes the jump count; options joined by one space. */
function pamLine(line: string, count: number): string {
  const m = /^((\[[^\]]+\]|\w+)\s+\S+)\s*(.*)$/.exec(line);
  if (m === null) return `${line}\n`;
  const options = (m[3] as string).split(/\s+/).filter((o) => o !== '');
  return `${(m[1] as string).replaceAll('end', String(count))} ${options.join(' ')}\n`;
}

/**
 * create_from_template: the template with its Primary and Additional blocks filled from `enabled`
 * (profiles, highest priority first). Undefined when the template lacks the markers. Pure.
 */
export function pamConfig(
  template: string,
  type: (typeof TYPES)[number],
  enabled: ReadonlyArray<PamProfile>,
): string | undefined {
  const uctype = type.charAt(0).toUpperCase() + type.slice(1);
  const stackType = type.replace(/-noninteractive$/, '');
  const block = (kind: 'Primary' | 'Additional'): string => {
    const lines: string[] = [];
    let position = 0;
    for (const p of enabled) {
      if (p[`${uctype}-Type`] !== kind) continue;
      const initial = position === 0 ? p[`${uctype}-Initial`] : undefined;
      position++;
      const text = initial || p[uctype] || '';
      lines.push(...text.split(/\n+/).filter((l) => l !== ''));
    }
    let count = lines.length - (kind === 'Additional' ? 1 : 0);
    let out = kind === 'Primary' && count === 0 ? `${stackType}\t[default=1]\t\t\tpam_permit.so\n` : '';
    for (const line of lines) out += `${stackType}\t${pamLine(line, count--)}`;
    return out;
  };
  let state = 0;
  let out = '';
  for (const line of template.split(/(?<=\n)/)) {
    if (state === 1 || state === 3) {
      const end =
        state === 1 ? /^# here's the fallback if no module succeeds/ : /^# end of pam-auth-update config/;
      if (end.test(line)) {
        out += line;
        state++;
      }
      continue;
    }
    out += line;
    if (state === 0 && /^# here are the per-package modules \(the "Primary" block\)/.test(line)) {
      out += block('Primary');
      state++;
    } else if (
      state === 2 &&
      /^# and here are more per-package modules \(the "Additional" block\)/.test(line)
    ) {
      out += block('Additional');
      state++;
    }
  }
  return state < 4 ? undefined : out;
}

/** The default-on profiles of the tree, by priority (highest first), ties by name descending. */
async function enabledProfiles(ctx: EffectContext): Promise<PamProfile[]> {
  const prefix = `${CONFIGS}/`;
  const names = childNames(ctx.tree, CONFIGS);
  const profiles: Array<{ name: string; profile: PamProfile }> = [];
  for (const name of names) {
    if (statPath(ctx.tree, `/${prefix}${name}`)?.node.kind !== 'file') continue;
    const text = (await readTreeFile(ctx.tree, `/${prefix}${name}`))?.toString('utf8') ?? '';
    const profile = parsePamProfile(text);
    if (profile.Default === 'yes') profiles.push({ name, profile });
  }
  const priority = (p: PamProfile) => Number(p.Priority ?? 0) || 0;
  profiles.sort((a, b) => priority(b.profile) - priority(a.profile) || compareBytes(b.name, a.name));
  return profiles.map((p) => p.profile);
}

export const pamAuthUpdateRule: EffectRule = {
  id: 'libpam-runtime/pam-auth-update',
  package: 'libpam-runtime',
  describe:
    'postinst runs pam-auth-update: /etc/pam.d/common-{auth,account,password,session,session-noninteractive} from the templates ' +
    'in /usr/share/pam/ and the default-on profiles of /usr/share/pam-configs/ (priority order, success=end resolved to jump counts), when missing',
  async apply(ctx, pkg) {
    const enabled = await enabledProfiles(ctx);
    const w = ctx.writer(pkg.name);
    for (const type of TYPES) {
      const dest = `/etc/pam.d/common-${type}`;
      if (statPath(ctx.tree, dest) !== undefined) continue;
      const template = (await readTreeFile(ctx.tree, `/usr/share/pam/common-${type}`))?.toString('utf8');
      const text = template === undefined ? undefined : pamConfig(template, type, enabled);
      if (text !== undefined) writeFile(w, dest, text, { mode: 0o644 });
    }
  },
};
