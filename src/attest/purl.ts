// Package URLs of Debian packages, one form for the SBOM and the provenance.

/** What a purl needs of the distribution: os-release's ID, VERSION_ID and VERSION_CODENAME. */
export interface OsRelease {
  id: string;
  versionId?: string;
  codename?: string;
}

/** Debian's release numbers by codename (os-release VERSION_ID of each stable release). */
const DEBIAN_VERSIONS: Record<string, string> = {
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
};

/**
 * The distribution a Debian archive suite belongs to, as os-release would name it: `bookworm-security`
 * is debian 12. A suite that is not a released codename (forky, sid, stable) keeps its name. Pure.
 */
export function debianSuiteRelease(suite: string): OsRelease {
  const codename = suite.split('-')[0]!;
  const versionId = DEBIAN_VERSIONS[codename];
  return { id: 'debian', codename, ...(versionId === undefined ? {} : { versionId }) };
}

/**
 * The package URL scanners match on, as Syft and Trivy write it: `pkg:deb/<ID>/<name>@<version>`
 * with the qualifiers `arch`, `distro` (`<ID>-<VERSION_ID>` from os-release, else the codename) and
 * `upstream` (the source package, `name@version` when its version differs; none when it is the
 * package itself, as dpkg then writes no Source field), sorted by key as the
 * purl spec's canonical form has them. Pure.
 */
export function purlFor(os: OsRelease, name: string, version: string, arch: string, source?: string): string {
  const qualifiers: Array<[string, string]> = [['arch', arch]];
  const distro = os.versionId !== undefined ? `${os.id}-${os.versionId}` : os.codename;
  if (distro !== undefined) qualifiers.push(['distro', distro]);
  const m = source === undefined ? null : /^\s*(\S+)(?:\s*\(([^)\s]+)\))?/.exec(source);
  if (m !== null && !(m[1] === name && (m[2] === undefined || m[2] === version))) {
    const upstream = m[2] === undefined || m[2] === version ? m[1]! : `${m[1]}@${m[2]}`;
    qualifiers.push(['upstream', upstream]);
  }
  const q = qualifiers.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  return `pkg:deb/${encodeURIComponent(os.id)}/${encodeURIComponent(name)}@${encodeURIComponent(version)}?${q}`;
}
