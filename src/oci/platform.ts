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

/** Parses `os/arch[/variant]` (e.g. `linux/arm64`, `linux/arm/v7`). */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  const [os, architecture, variant] = parts;
  if (parts.length < 2 || parts.length > 3 || !os || !architecture || (parts.length === 3 && !variant)) {
    throw new ImprintError('BAD_PLATFORM', `platform ${JSON.stringify(text)} is not os/arch[/variant]`, {
      hint: 'Write platforms like linux/amd64, linux/arm64 or linux/arm/v7.',
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
        hint: `Known architectures: ${[...KNOWN_ARCH].sort().join(', ')}; variants look like v7 or v8.`,
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
