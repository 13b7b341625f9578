#!/usr/bin/env node
// Bundles the CLI and its worker threads from src/ into one directory of ES modules (default
// dist/bundle), which bin/imprint runs: loading a few files instead of ~300 modules (zod, openpgp,
// yaml, commander and imprint's own) takes ~150 ms less per command (docs/benchmarks.md). The worker
// entry points sit beside the shared chunks, so `new URL('./deflate-worker.js', import.meta.url)`
// finds them. xz-decompress stays in node_modules (loaded with createRequire at run time), so the
// output directory must be inside the checkout. Usage: node scripts/bundle.mjs [OUTDIR]
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(process.argv[2] ?? join(root, 'dist', 'bundle'));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// Built beside the target and renamed into place: a failed build leaves the old bundle whole.
const tmp = `${outdir}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
let esbuild;
try {
  esbuild = await import('esbuild');
} catch (err) {
  // esbuild ships a native binary per platform; where it has none, imprint still runs (from dist/cli,
  // ~150 ms slower to start), so installing must not fail.
  console.warn(`imprint: no bundle made (esbuild unavailable: ${err.message}); bin/imprint runs dist/cli`);
  rmSync(outdir, { recursive: true, force: true }); // never a stale bundle over a newer dist/
  process.exit(0);
}
await esbuild.build({
  absWorkingDir: root,
  entryPoints: {
    main: 'src/cli/main.ts',
    'deflate-worker': 'src/compress/deflate-worker.ts',
    'install-worker': 'src/debian/install-worker.ts',
  },
  outdir: tmp,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Bundled CommonJS packages call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __imprintRequire } from 'node:module'; const require = __imprintRequire(import.meta.url);",
  },
  define: { IMPRINT_BUNDLED_VERSION: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
});
// The bundle's fingerprint, by the same function that checks it (src/build/code-fingerprint.ts, compiled
// to dist/ by the tsc step before this script), so caches keyed by the code need not hash the bundle at
// every start.
const { BUNDLE_FINGERPRINT_FILE, fingerprintTree } = await import(
  join(root, 'dist', 'build', 'code-fingerprint.js')
);
writeFileSync(join(tmp, BUNDLE_FINGERPRINT_FILE), `${fingerprintTree(tmp)}\n`);
rmSync(outdir, { recursive: true, force: true });
renameSync(tmp, outdir);
