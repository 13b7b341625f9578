import { ImprintError } from '../errors.js';
import type { Platform } from './types.js';

const KNOWN_ARCH = new Set([
  'amd64',
  'arm64',
  'arm',
  '386',
  'ppc64le',
  's390x',
  'riscv64',
  'mips64le',
  'loong64',
]);

// What `uname -m`, dpkg and other tools call an architecture, as OCI's os/arch[/variant].
const ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  x64: 'amd64',
  aarch64: 'arm64',
  armv8: 'arm64',
  armhf: 'arm/v7',
  armv7: 'arm/v7',
  armv7l: 'arm/v7',
  armel: 'arm/v5',
  armv6: 'arm/v6',
  armv6l: 'arm/v6',
  i386: '386',
  i686: '386',
  x86: '386',
  ppc64el: 'ppc64le',
  mips64el: 'mips64le',
  loongarch64: 'loong64',
};

/**
 * The OCI platform a user most likely meant by `text` when it is not one: `linux/x86_64`, `x86_64`,
 * `amd64`, `armhf` and `linux/aarch64` are `linux/amd64`, `linux/arm/v7` and `linux/arm64`.
 */
export function suggestPlatform(text: string): string | undefined {
  const parts = text.trim().toLowerCase().split('/');
  const [first = '', second] = parts;
  const os = parts.length === 1 ? 'linux' : first;
  const arch = parts.length === 1 ? first : (second ?? '');
  if (parts.length > 3 || !/^[a-z0-9]+$/.test(os)) return undefined;
  const known = ALIASES[arch] ?? (KNOWN_ARCH.has(arch) ? arch : undefined);
  if (known === undefined) return undefined;
  const variant = parts.length === 3 && !known.includes('/') ? `/${parts[2]}` : '';
  const suggestion = `${os}/${known}${variant}`;
  return suggestion === text ? undefined : suggestion;
}

/** ` Did you mean X?` for `text`, or nothing. */
function didYouMean(text: string): string {
  const s = suggestPlatform(text);
  return s === undefined ? '' : ` Did you mean ${s}?`;
}

/** Parses `os/arch[/variant]` (e.g. `linux/arm64`, `linux/arm/v7`). */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  const [os, architecture, variant] = parts;
  if (parts.length < 2 || parts.length > 3 || !os || !architecture || (parts.length === 3 && !variant)) {
    throw new ImprintError('BAD_PLATFORM', `platform ${JSON.stringify(text)} is not os/arch[/variant]`, {
      hint: `Write platforms like linux/amd64, linux/arm64 or linux/arm/v7.${didYouMean(text)}`,
    });
  }
  if (
    !/^[a-z0-9]+$/.test(os) ||
    !KNOWN_ARCH.has(architecture) ||
    (variant !== undefined && !/^v[0-9]+$/.test(variant))
  ) {
    throw new ImprintError(
      'BAD_PLATFORM',
      `platform ${JSON.stringify(text)} is not a known os/arch[/variant]`,
      {
        hint: `Known architectures: ${[...KNOWN_ARCH].sort().join(', ')}; variants look like v7 or v8.${didYouMean(text)}`,
      },
    );
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** `os/arch[/variant]` of a platform. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');
}

/**
 * True when `p` satisfies the wanted platform (variant compared only when wanted names one; arm64's
 * only variant v8 is the same as none, as containerd normalises it).
 */
export function platformMatches(p: Platform | undefined, want: Platform): boolean {
  if (p === undefined) return false;
  const variant = (x: Platform) => (x.architecture === 'arm64' && x.variant === 'v8' ? undefined : x.variant);
  return (
    p.os === want.os &&
    p.architecture === want.architecture &&
    (variant(want) === undefined || variant(p) === variant(want))
  );
}
