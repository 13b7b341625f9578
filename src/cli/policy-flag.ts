import type { LoadedSpec } from '../spec/index.js';

/** The spec with `--policy FILE` applied (sources checked, conversions made); as loaded without one. */
export async function withPolicy(loaded: LoadedSpec, file: string | undefined): Promise<LoadedSpec> {
  if (file === undefined) return loaded;
  const { loadPolicy } = await import('../policy/index.js');
  const { applySourcePolicy } = await import('../build/policy.js');
  return applySourcePolicy(loaded, await loadPolicy(file));
}
