// Worker threads running one of imprint's own modules.
import { Worker } from 'node:worker_threads';

/**
 * Starts the worker module `name` (no extension) beside the module whose `import.meta.url` is `base`:
 * `name.js` in the build (the bundle puts each worker entry beside main.cjs). Run from TypeScript
 * sources (tests under tsx), it starts `name.ts`, registering tsx's loader first, which workers do
 * not inherit.
 */
export function startModuleWorker(base: string, name: string): Worker {
  const fromSource = base.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, base);
  if (!fromSource) return new Worker(entry);
  const loader = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(loader)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(code, { eval: true });
}
