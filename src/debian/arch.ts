// The dpkg architecture of an OCI platform. Apart from the resolver, so the spec's schema can check
// its platforms without loading it.
import { ImprintError } from '../errors.js';
import { parsePlatform } from '../oci/platform.js';
import type { Platform } from '../oci/types.js';

const DPKG_ARCH: Record<string, string> = {
  amd64: 'amd64',
  arm64: 'arm64',
  '386': 'i386',
  ppc64le: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64le: 'mips64el',
  loong64: 'loong64',
};

/**
 * The dpkg architecture of an OCI platform: amd64→amd64, arm64→arm64, arm/v7 (and plain arm)→armhf,
 * arm/v6 and arm/v5→armel, 386→i386, ppc64le→ppc64el, s390x→s390x, riscv64→riscv64, mips64le→mips64el,
 * loong64→loong64. Others are UNSUPPORTED.
 */
export function dpkgArch(platform: string | Platform): string {
  const p = typeof platform === 'string' ? parsePlatform(platform) : platform;
  const text = [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');
  let arch: string | undefined;
  if (p.os === 'linux') {
    if (p.architecture === 'arm')
      arch =
        p.variant === undefined || p.variant === 'v7'
          ? 'armhf'
          : p.variant === 'v6' || p.variant === 'v5'
            ? 'armel'
            : undefined;
    else if (p.variant === undefined || (p.architecture === 'arm64' && p.variant === 'v8'))
      arch = DPKG_ARCH[p.architecture];
  }
  if (arch === undefined) {
    throw new ImprintError('UNSUPPORTED', `platform ${text} has no Debian architecture`, {
      hint: 'Debian packages can be installed for linux/amd64, arm64, arm/v7, arm/v6, 386, ppc64le, s390x and riscv64.',
      details: { platform: text },
    });
  }
  return arch;
}
