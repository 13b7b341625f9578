// Loads the bundled CLI (dist/bundle/main.cjs, made by scripts/bundle.mjs) with a V8 code cache, so a
// command does not parse and compile the ~2.5 MB bundle at every start: on Node 20, which has no
// module compile cache, `imprint --version` took ~112 ms of CPU instead of ~159 ms, a no-change
// rebuild of examples/python ~237 ms instead of ~281 ms (docs/benchmarks.md).
//
// The cache is V8's serialized code for the bundle's top level, the functions its evaluation compiled
// and the modules a build loads on demand (the bundle's primeCodeCache), taken before any command
// runs: a cache taken after a whole build holds ~1 MB of code that V8 deserializes eagerly, which
// cost as much as it saved. It sits beside the bundle, named by a
// hash of the bundle's bytes, the Node version and the architecture, so it never serves other code;
// V8 also checks its own version and flags, and a rejected cache is only slower. scripts/bundle.mjs
// makes it for the Node that installs; another Node writes its own on first use if the directory is
// writable (to a temporary name, then renamed), else runs without. The cache is as trusted as the
// bundle beside it. NODE_DISABLE_COMPILE_CACHE=1 turns it off, as it does Node's own cache.
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** The file of the bundle in `dir`. */
export const BUNDLE_MAIN = 'main.cjs';

/**
 * The CLI module of the bundle in `dir` (its exports: `main(argv)`), or undefined when `dir` has no
 * bundle; a promise of it when it makes the cache. Errors other than a missing bundle (a broken
 * bundle) are thrown.
 */
export function loadBundle(dir) {
  const file = join(dir, BUNDLE_MAIN);
  let bytes;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if (err && err.code === 'ENOENT') return undefined;
    throw err;
  }
  const useCache = process.env.NODE_DISABLE_COMPILE_CACHE !== '1';
  const key = createHash('sha256')
    .update(`${process.version}\0${process.arch}\0`)
    .update(bytes)
    .digest('hex')
    .slice(0, 24);
  const cacheFile = `${file}.${key}.v8cache`;
  let cachedData;
  if (useCache) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // none yet
    }
  }
  // The bundle is ASCII (scripts/bundle.mjs checks): read as Latin-1, the same text without UTF-8 decoding.
  const source = isAscii(bytes) ? bytes.latin1Slice(0, bytes.length) : bytes.toString('utf8');
  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  const module = { exports: {} };
  script
    .runInThisContext()
    .call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  if (useCache && (cachedData === undefined || script.cachedDataRejected) && writable(dir)) {
    // Once the modules a build loads on demand are evaluated too, so their code is in the cache.
    const primed = module.exports.primeCodeCache?.() ?? Promise.resolve();
    return primed.then(
      () => {
        writeCache(cacheFile, script);
        return module.exports;
      },
      () => module.exports, // the command reports what fails to load
    );
  }
  return module.exports;
}

/** Whether this process may write in `dir` (else making a cache would be wasted: a read-only install). */
function writable(dir) {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function writeCache(cacheFile, script) {
  const tmp = `${cacheFile}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, script.createCachedData(), { flag: 'wx', mode: 0o644 });
    renameSync(tmp, cacheFile);
  } catch {
    // a read-only installation: start without a cache
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing was written
    }
  }
}
