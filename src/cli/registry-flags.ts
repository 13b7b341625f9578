import type { Command } from '@commander-js/extra-typings';
import { ImprintError } from '../errors.js';
import { parseCreds } from '../transport/registry/auth.js';
import type { RegistryOptions } from '../transport/registry/index.js';

/** The registry flags `build` and `lock` share (base images, docker:// outputs). */
export interface RegistryFlags {
  creds?: string;
  tlsVerify?: string;
  caFile?: string;
}

/** Adds --creds, --tls-verify and --ca-file to a command. */
// biome-ignore lint/suspicious/noExplicitAny: any commander command, whatever its typed arguments
export function addRegistryFlags<C extends Command<any, any, any>>(cmd: C): C {
  cmd
    .option(
      '--creds <user:password>',
      'registry credentials (default: auth.json / ~/.docker/config.json / $REGISTRY_AUTH_FILE)',
    )
    .option(
      '--tls-verify <bool>',
      'false: accept any TLS certificate and allow plain http (localhost always may)',
    )
    .option('--ca-file <file>', 'a PEM file of certificate authorities to trust for https registries');
  return cmd;
}

/** RegistryOptions from the shared flags. USAGE for a malformed --tls-verify or --creds. */
export function registryOptions(flags: RegistryFlags): RegistryOptions {
  return {
    creds: flags.creds === undefined ? undefined : parseCreds(flags.creds),
    tlsVerify: flags.tlsVerify === undefined ? undefined : parseBool(flags.tlsVerify, '--tls-verify'),
    caFile: flags.caFile,
  };
}

/** `true` or `false`, else USAGE naming the flag. */
export function parseBool(text: string, flag: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new ImprintError('USAGE', `${flag}: expected true or false, found ${JSON.stringify(text)}`);
}
