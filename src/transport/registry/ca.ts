// The certificate authorities a registry's https connection trusts beyond the system's: the
// registry's certs.d directory (as podman, skopeo and Docker keep them) and a --ca-file.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorText, ImprintError } from '../../errors.js';

/** Where containers (podman, skopeo, buildah) and Docker keep per-registry CA certificates. */
export const CERTS_DIRS: readonly string[] = ['/etc/containers/certs.d', '/etc/docker/certs.d'];

/** The extra CA certificates of one registry, and where they came from (for messages). */
export interface RegistryCa {
  pem: Buffer;
  /** The --ca-file and certs.d files read, in order. */
  files: string[];
}

/**
 * The CAs `registry` is trusted by in addition to the system's: the `*.crt` files of
 * `<dir>/<registry>/` in the first certs directory that has any (the user's
 * `~/.config/containers/certs.d` first, then CERTS_DIRS, or `dirs`), and `caFile`. Both add to the
 * system's trust, so one `--ca-file` for a private registry does not cut off a public one, nor a
 * registry whose CA is in certs.d. Undefined when there is none. A file that cannot be read, or a
 * --ca-file that holds no PEM certificate, is IO naming it. Cost: a directory listing per certs
 * directory.
 */
export function registryCa(
  registry: string,
  caFile: string | undefined,
  env: NodeJS.ProcessEnv,
  dirs: readonly string[] | undefined,
): RegistryCa | undefined {
  const files = certsDirFiles(registry, env, dirs);
  if (caFile !== undefined) files.push(caFile);
  if (files.length === 0) return undefined;
  const pems = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ImprintError('IO', `reading CA file ${file}: ${errorText(err)}`, {
        cause: err,
        details: { path: file },
      });
    }
    if (file === caFile && !text.includes('-----BEGIN CERTIFICATE-----'))
      throw new ImprintError('IO', `CA file ${file} holds no PEM certificate`, {
        hint: "Pass a file of certificates (-----BEGIN CERTIFICATE----- blocks), the CA that signed the registry's certificate; not its key or a DER file (openssl x509 -inform der -in FILE converts one).",
        details: { path: file },
      });
    return text;
  });
  return { pem: Buffer.from(pems.join('\n')), files };
}

/** The `*.crt` files of the first certs directory that has any for `registry`, sorted by name. */
function certsDirFiles(
  registry: string,
  env: NodeJS.ProcessEnv,
  dirs: readonly string[] | undefined,
): string[] {
  const home = env.HOME;
  const search = dirs ?? [
    ...(home ? [join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'certs.d')] : []),
    ...CERTS_DIRS,
  ];
  for (const dir of search) {
    let names: string[];
    try {
      names = readdirSync(join(dir, registry))
        .filter((n) => n.endsWith('.crt'))
        .sort();
    } catch {
      continue;
    }
    if (names.length > 0) return names.map((n) => join(dir, registry, n));
  }
  return [];
}
