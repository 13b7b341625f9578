// Licences from Debian machine-readable copyright files (DEP-5) as SPDX license expressions.

/** Debian short names whose SPDX identifier differs (or needs the -only/-or-later form). */
const SPDX_NAMES: Record<string, string> = {
  'gpl-1': 'GPL-1.0-only',
  'gpl-1+': 'GPL-1.0-or-later',
  'gpl-2': 'GPL-2.0-only',
  'gpl-2+': 'GPL-2.0-or-later',
  'gpl-2.0': 'GPL-2.0-only',
  'gpl-2.0+': 'GPL-2.0-or-later',
  'gpl-3': 'GPL-3.0-only',
  'gpl-3+': 'GPL-3.0-or-later',
  'gpl-3.0': 'GPL-3.0-only',
  'gpl-3.0+': 'GPL-3.0-or-later',
  'lgpl-2': 'LGPL-2.0-only',
  'lgpl-2+': 'LGPL-2.0-or-later',
  'lgpl-2.1': 'LGPL-2.1-only',
  'lgpl-2.1+': 'LGPL-2.1-or-later',
  'lgpl-3': 'LGPL-3.0-only',
  'lgpl-3+': 'LGPL-3.0-or-later',
  'agpl-3': 'AGPL-3.0-only',
  'agpl-3+': 'AGPL-3.0-or-later',
  'gfdl-1.2': 'GFDL-1.2-only',
  'gfdl-1.2+': 'GFDL-1.2-or-later',
  'gfdl-1.3': 'GFDL-1.3-only',
  'gfdl-1.3+': 'GFDL-1.3-or-later',
  expat: 'MIT',
  mit: 'MIT',
  x11: 'X11',
  isc: 'ISC',
  zlib: 'Zlib',
  'psf-2': 'Python-2.0',
  python: 'Python-2.0',
  'apache-2.0': 'Apache-2.0',
  'mpl-1.1': 'MPL-1.1',
  'mpl-2.0': 'MPL-2.0',
  'bsd-2-clause': 'BSD-2-Clause',
  'bsd-3-clause': 'BSD-3-Clause',
  'bsd-4-clause': 'BSD-4-Clause',
  artistic: 'Artistic-1.0-Perl',
  'artistic-2.0': 'Artistic-2.0',
  'cc0-1.0': 'CC0-1.0',
  openssl: 'OpenSSL',
  curl: 'curl',
  'bzip2-1.0.6': 'bzip2-1.0.6',
  'mpl-2.0+': 'MPL-2.0',
};

/** The SPDX form of one Debian licence short name: a listed identifier, else `LicenseRef-<name>`. Pure. */
export function spdxLicenseId(name: string): string {
  const known = SPDX_NAMES[name.toLowerCase()];
  if (known !== undefined) return known;
  return `LicenseRef-${name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'unknown'}`;
}

/**
 * The licence expression a DEP-5 copyright file declares: the `License:` first lines of its
 * paragraphs, each `a or b` / `a and b` / `a, and b` translated, joined with AND (deduplicated, sorted).
 * Undefined when the file is not machine-readable (no `Format:` naming copyright-format) or names none.
 * Pure.
 */
export function dep5License(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  if (!/^Format:\s*\S*copyright-format/i.test(lines[0] ?? '')) return undefined;
  const found = new Set<string>();
  for (const line of lines) {
    const m = /^License:[ \t]*(.*?)\s*$/i.exec(line);
    if (!m || m[1] === '') continue;
    const expr = licenseExpression(m[1]!);
    if (expr !== undefined) found.add(expr);
  }
  if (found.size === 0) return undefined;
  const all = [...found].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return all.length === 1 ? all[0] : all.map((e) => (/ (OR|AND) /.test(e) ? `(${e})` : e)).join(' AND ');
}

/** One `License:` short-name line as an SPDX expression; undefined when it is not a simple list. */
function licenseExpression(text: string): string | undefined {
  const tokens = text.replace(/,\s*(and|or)\b/gi, ' $1').split(/\s+/);
  const out: string[] = [];
  let expectName = true;
  for (const t of tokens) {
    const op = t.toLowerCase();
    if (!expectName && (op === 'or' || op === 'and')) {
      out.push(op.toUpperCase());
      expectName = true;
    } else if (expectName && /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/.test(t)) {
      out.push(spdxLicenseId(t.replace(/_/g, '-')));
      expectName = false;
    } else {
      return undefined;
    }
  }
  return expectName ? undefined : out.join(' ');
}
