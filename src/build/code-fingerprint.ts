import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// A hash of the code that is running, so that caches of what the code makes (layers) are never
// reused by another version of it: a change to an install effect, a tar rule or the normalisation
// then needs no hand-kept version number to take effect. The bundle (scripts/bundle.mjs) records its
// fingerprint when it is made; compiled dist/ and TypeScript sources (tests under tsx) are hashed on
// first use (~2 MB, a few milliseconds).

/** The file scripts/bundle.mjs writes beside the bundle with the bundle's fingerprint. */
export const BUNDLE_FINGERPRINT_FILE = 'fingerprint.txt';

let cached: string | undefined;

/** sha256 (hex) of the running code: the bundle, the compiled dist/ tree, or src/. */
export function codeFingerprint(): string {
  cached ??= computeFingerprint(fileURLToPath(import.meta.url));
  return cached;
}

function computeFingerprint(self: string): string {
  const dir = dirname(self);
  if (basename(dir) === 'bundle') {
    try {
      const recorded = readFileSync(join(dir, BUNDLE_FINGERPRINT_FILE), 'utf8').trim();
      if (/^[0-9a-f]{64}$/.test(recorded)) return recorded;
    } catch {
      // not recorded: hash the bundle
    }
    return fingerprintTree(dir);
  }
  // dist/build/code-fingerprint.js or src/build/code-fingerprint.ts: the tree above build/.
  return fingerprintTree(dirname(dir));
}

/** sha256 over the relative path and bytes of every .js/.cjs/.ts file under `root`, in path order. */
export function fingerprintTree(root: string): string {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && /\.(c?js|ts)$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
        files.push(path);
    }
  };
  walk(root);
  const hash = createHash('sha256');
  for (const path of files.map((f) => relative(root, f).split('\\').join('/')).sort()) {
    const bytes = readFileSync(join(root, path));
    hash.update(`${path}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex');
}
