import { statPath } from '../debian/effects/tree-io.js';
import type { ContainerConfig } from '../oci/types.js';
import type { FileTree } from '../vfs/tree.js';

// A locale the config's env names (LANG=de_DE.UTF-8) that the image lacks is silently the C locale
// in every glibc program: bash and perl warn at each start, others mangle non-ASCII text. imprint
// runs no locale-gen, and C.UTF-8 comes only with libc-bin (glibc does not build it in), so a
// distroless image often lacks the locale its env asks for.

/** The variables glibc's setlocale(LC_*, "") reads, in its order of precedence. */
const LOCALE_VARS = [
  'LC_ALL',
  'LC_ADDRESS',
  'LC_COLLATE',
  'LC_CTYPE',
  'LC_IDENTIFICATION',
  'LC_MEASUREMENT',
  'LC_MESSAGES',
  'LC_MONETARY',
  'LC_NAME',
  'LC_NUMERIC',
  'LC_PAPER',
  'LC_TELEPHONE',
  'LC_TIME',
  'LANG',
] as const;

/** glibc's compiled-locale directory (`_nl_default_locale_path`) and locale-gen's archive in it. */
const LOCALE_DIR = 'usr/lib/locale';

/** The locale variables the config's env sets, as `NAME=value` (also what a cached result is valid for). */
export function localeEnv(config: ContainerConfig): string[] {
  const env = new Map<string, string>();
  for (const entry of config.Env ?? []) {
    const at = entry.indexOf('=');
    if (at > 0) env.set(entry.slice(0, at), entry.slice(at + 1));
  }
  const set: string[] = [];
  for (const name of [...LOCALE_VARS, 'LOCPATH']) {
    const value = env.get(name);
    if (value !== undefined) set.push(`${name}=${value}`);
  }
  return set;
}

/**
 * Warnings about locales the config's env names that the image's glibc would not find: one per
 * value, naming the variables. None when the image has no glibc (static programs read no locale),
 * when LOCPATH is set, or when a locale-archive exists (locale-gen's; not read). Conservative: a
 * locale counts as present when any directory glibc would try for it exists (with or without
 * territory, codeset or modifier). Cost: a few lookups.
 */
export function localeNotes(tree: FileTree, config: ContainerConfig, platform: string): string[] {
  const set = localeEnv(config);
  if (set.length === 0 || set.some((s) => s.startsWith('LOCPATH='))) return [];
  if (!hasGlibc(tree) || statPath(tree, `${LOCALE_DIR}/locale-archive`) !== undefined) return [];
  const byValue = new Map<string, string[]>();
  for (const entry of set) {
    const [name, value] = [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)];
    if (value === '' || value === 'C' || value === 'POSIX' || value.includes('/')) continue;
    byValue.set(value, [...(byValue.get(value) ?? []), name]);
  }
  const notes: string[] = [];
  for (const [value, names] of byValue) {
    const candidates = localeCandidates(value);
    if (candidates.some((c) => statPath(tree, `${LOCALE_DIR}/${c}`)?.node.kind === 'dir')) continue;
    const isC = /^C\.(utf-?8)$/i.test(value);
    notes.push(
      `the image's env ${names.map((n) => `${n}=${value}`).join(', ')} (${platform}) names a locale the image does not have (no /${LOCALE_DIR}/${candidates[0]}): its programs fall back to the C locale, and bash and perl warn at every start; ${
        isC
          ? 'add libc-bin to packages, which ships C.utf8'
          : `add locales-all to packages (imprint runs no locale-gen, so the locales package alone compiles none), or set ${names[0]}=C.UTF-8 with libc-bin`
      }`,
    );
  }
  return notes;
}

/** True when the image has glibc's libc.so.6 in a multiarch (or lib64) directory. */
function hasGlibc(tree: FileTree): boolean {
  const dirs = [...tree.childKeys('usr/lib'), 'usr/lib64', 'usr/lib32'];
  return dirs.some((dir) => statPath(tree, `${dir}/libc.so.6`)?.node.kind === 'file');
}

/**
 * The directory names glibc's `_nl_find_locale` tries for `name` (language[_territory][.codeset]
 * [@modifier]), most specific first: the codeset as written and normalised ("UTF-8" → "utf8"), then
 * without codeset, territory or modifier.
 */
export function localeCandidates(name: string): string[] {
  const match = /^([^_.@]+)(_[^.@]+)?(\.[^@]+)?(@.+)?$/.exec(name);
  if (match === null) return [name];
  const [, language, territory = '', codesetPart = '', modifier = ''] = match;
  const codeset = codesetPart.slice(1);
  const codesets = codeset === '' ? [''] : [...new Set([`.${normalizeCodeset(codeset)}`, codesetPart]), ''];
  const out: string[] = [];
  for (const t of territory === '' ? [''] : [territory, ''])
    for (const c of codesets)
      for (const m of modifier === '' ? [''] : [modifier, '']) out.push(`${language}${t}${c}${m}`);
  return [...new Set(out)];
}

/** glibc's `_nl_normalize_codeset`: alphanumerics only, lower case, "iso" before an all-digit name. */
function normalizeCodeset(codeset: string): string {
  const kept = codeset.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
  return /^[0-9]+$/.test(kept) ? `iso${kept}` : kept;
}
