import type { Command } from '@commander-js/extra-typings';
import type { LoadedSpec } from '../spec/index.js';

/** The spec with `--policy FILE` applied (sources checked, conversions made); as loaded without one. */
export async function withPolicy(loaded: LoadedSpec, file: string | undefined): Promise<LoadedSpec> {
  if (file === undefined) return loaded;
  const { applyPolicyFile } = await import('../build/policy.js');
  return (await applyPolicyFile(loaded, file)).loaded;
}

/** Adds --policy FILE (build and lock). */
// biome-ignore lint/suspicious/noExplicitAny: any commander command, whatever its typed arguments
export function addPolicyFlag<C extends Command<any, any, any>>(cmd: C): C {
  cmd.option(
    '--policy <file>',
    'source policy (BuildKit format: ALLOW/DENY/CONVERT rules over base images, archive URLs and fetch templates), checked before anything is fetched',
  );
  return cmd;
}
