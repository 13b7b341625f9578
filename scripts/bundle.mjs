#!/usr/bin/env node
// Bundles the CLI and its worker threads from src/ into one directory (default dist/bundle), which
// bin/imprint runs: loading one file instead of ~300 modules (zod, openpgp, yaml, commander and
// imprint's own) takes ~150 ms less per command (docs/benchmarks.md). The CLI is one CommonJS file,
// main.cjs, which bin/load-bundle.mjs compiles with a V8 code cache (Node 20 has no module compile
// cache; a CommonJS script can be given one through node:vm); this script makes that cache for the
// Node running it. The worker entry points are ES modules beside their shared chunks, so
// `new URL('./deflate-worker.js', import.meta.url)` finds them (in main.cjs, import.meta.url is the
// file's own URL). xz-decompress and koffi stay in node_modules (loaded with createRequire at run
// time), so the output directory must be inside the checkout. Usage: node scripts/bundle.mjs [OUTDIR]
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  define: { IMPRINT_BUNDLED_VERSION: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
};
await esbuild.build({
  ...common,
  entryPoints: { main: 'src/cli/main.ts' },
  outfile: join(tmp, 'main.cjs'),
  format: 'cjs',
  // No comments or indentation: a third less text to read, hash and hand to V8 at every start, and
  // ASCII (esbuild escapes other characters outside comments), which the loader reads as Latin-1.
  minifyWhitespace: true,
  // import.meta is empty in CommonJS: the sources use its url (beside files, createRequire). Its
  // resolve() is only called when running from .ts sources, never in the bundle.
  banner: { js: "const __imprintMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { ...common.define, 'import.meta.url': '__imprintMetaUrl' },
  logOverride: { 'empty-import-meta': 'silent' },
  // import() of Node's built-ins becomes require(): a script compiled through node:vm has no loader
  // for dynamic imports.
  supported: { 'dynamic-import': false },
});
await esbuild.build({
  ...common,
  entryPoints: {
    'deflate-worker': 'src/compress/deflate-worker.ts',
    'install-worker': 'src/debian/install-worker.ts',
  },
  outdir: tmp,
  splitting: true,
  format: 'esm',
  // Bundled CommonJS packages call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __imprintRequire } from 'node:module'; const require = __imprintRequire(import.meta.url);",
  },
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
// The code cache for this Node, made by the loader itself in a process of its own (loading the bundle
// evaluates it). Without it the first command makes it.
const loader = pathToFileURL(join(root, 'bin', 'load-bundle.mjs')).href;
spawnSync(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `await (await import(${JSON.stringify(loader)})).loadBundle(${JSON.stringify(outdir)});`,
  ],
  {
    stdio: 'inherit',
  },
);
