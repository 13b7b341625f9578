// Temporary directories removed when the process is interrupted (SIGINT, SIGTERM, SIGHUP): `finally`
// blocks do not run when a signal ends a Node process, so a verify's 20 MB workspace would stay.
import { rmSync } from 'node:fs';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const paths = new Set<string>();
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  for (const path of paths) rmSync(path, { recursive: true, force: true });
  paths.clear();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  installed = false;
  // Die of the same signal, so the exit status says so (130, 143, ...).
  process.kill(process.pid, signal);
}

/**
 * Removes `path` (recursively) if the process is interrupted before the returned function is called.
 * Call that function once the path is removed or kept on purpose. Cost: one listener per signal.
 */
export function removeOnInterrupt(path: string): () => void {
  paths.add(path);
  if (!installed) {
    for (const s of SIGNALS) process.on(s, onSignal);
    installed = true;
  }
  return () => {
    paths.delete(path);
    if (paths.size === 0 && installed) {
      for (const s of SIGNALS) process.removeListener(s, onSignal);
      installed = false;
    }
  };
}
