// What a signal that ends the process (SIGINT, SIGTERM, SIGHUP) must not leave behind: `finally` blocks
// do not run then, so a verify's 20 MB workspace, a half-downloaded .deb in the cache's tmp/ or a
// spool pack of hundreds of MB would stay until a sweep.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { isOwnTemp } from './temp-owner.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const paths = new Set<string>();
const tempDirs = new Set<string>();
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  // Someone else handles the signal too (an application embedding imprint): it decides whether the
  // process ends, and the writes in flight must stay usable if it does not.
  if (process.listenerCount(signal) > 1) return;
  for (const path of paths) rmSync(path, { recursive: true, force: true });
  paths.clear();
  for (const dir of tempDirs) removeOwnTemps(dir);
  tempDirs.clear();
  sync();
  // Die of the same signal, so the exit status says so (130, 143, ...).
  process.kill(process.pid, signal);
}

/** Removes this process's temporary files in `dir` (its writers', its workers' too). */
function removeOwnTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (isOwnTemp(name)) rmSync(join(dir, name), { force: true });
}

/** Listens for the signals while there is something to remove. Signals reach the main thread only. */
function sync(): void {
  const want = isMainThread && (paths.size > 0 || tempDirs.size > 0);
  if (want === installed) return;
  for (const s of SIGNALS) {
    if (want) process.on(s, onSignal);
    else process.removeListener(s, onSignal);
  }
  installed = want;
}

/**
 * Removes `path` (recursively) if the process is interrupted before the returned function is called.
 * Call that function once the path is removed or kept on purpose. Cost: one listener per signal.
 */
export function removeOnInterrupt(path: string): () => void {
  paths.add(path);
  sync();
  return () => {
    paths.delete(path);
    sync();
  };
}

/**
 * Removes this process's temporary files (named by `tempPath`) in `dir` when a signal ends the
 * process; for the life of the process. Called by `tempPath`, so every temporary file is covered,
 * those made by worker threads too (their names carry the process's identity, and the main thread
 * registers the directories it shares with them). Cost: a set entry; at the signal, one readdir.
 */
export function removeTempsOnInterrupt(dir: string): void {
  if (tempDirs.has(dir)) return;
  tempDirs.add(dir);
  sync();
}
