// The certificates an https connection trusts. Node 20 reads the file NODE_EXTRA_CA_CERTS names, and
// builds its certificate store from it, at every start, before any code runs (~45 ms for the system
// bundle, which this project's machine names there): a cost every command paid, most of them without
// opening a TLS connection. bin/imprint hands the variable over as IMPRINT_EXTRA_CA_CERTS before it
// starts Node, and the first https connection reads the file here, adding its certificates to Node's
// default ones, as Node would have.
import { readFileSync } from 'node:fs';
import type { SecureContext } from 'node:tls';

/** node:tls, which the caller has loaded (commands that open no TLS connection never load it). */
export type TlsModule = Pick<typeof import('node:tls'), 'createSecureContext' | 'rootCertificates'>;

/** The TLS trust options of one https request (spread into the request's options). */
export type TrustOptions = { ca: string | Buffer } | { secureContext: SecureContext } | Record<string, never>;

/** Names the file of extra certificates when bin/imprint took it from NODE_EXTRA_CA_CERTS. */
export const DEFERRED_CA_ENV = 'IMPRINT_EXTRA_CA_CERTS';

/** Each deferred file's certificates and the default trust with them added, by file (undefined: the file was unusable). */
const deferred = new Map<string, { pem: Buffer; context: SecureContext } | undefined>();

/**
 * Options for an https request: the caller's `ca` when it names one (it replaces the defaults, as
 * Node's `ca` option does), else Node's default certificates plus those of the file in
 * IMPRINT_EXTRA_CA_CERTS, else nothing (Node's defaults, with NODE_EXTRA_CA_CERTS when Node read it
 * itself). A file that cannot be read or parsed is skipped with the warning Node gives for
 * NODE_EXTRA_CA_CERTS. Cost: the first call per file reads and parses it (~20 ms for 140 certificates).
 */
export function trustOptions(
  tls: TlsModule,
  ca: string | Buffer | undefined,
  env: NodeJS.ProcessEnv = process.env,
): TrustOptions {
  if (ca !== undefined) return { ca };
  const file = env[DEFERRED_CA_ENV];
  if (file === undefined || file === '') return {};
  const extra = deferredFile(tls, file);
  return extra === undefined ? {} : { secureContext: extra.context };
}

/**
 * The certificates in `file` and Node's default trust plus them, or undefined (warned, once) when
 * the file cannot be read or parsed. Cost: the first call per file reads and parses it.
 */
function deferredFile(tls: TlsModule, file: string): { pem: Buffer; context: SecureContext } | undefined {
  if (deferred.has(file)) return deferred.get(file);
  let extra: { pem: Buffer; context: SecureContext } | undefined;
  try {
    const pem = readFileSync(file);
    extra = { pem, context: defaultsPlus(tls, [pem]) };
  } catch (err) {
    warn(file, err);
  }
  deferred.set(file, extra);
  return extra;
}

/** Node's default trust plus each PEM's certificates; throws when one does not parse. */
function defaultsPlus(tls: TlsModule, pems: Buffer[]): SecureContext {
  // A context made without `ca` holds Node's default store (bundled or the system's, as Node was
  // built or started); adding to it copies that store first, so the defaults stay trusted: what Node
  // does with NODE_EXTRA_CA_CERTS. Where that internal method is missing, the bundled roots stand in.
  const context = tls.createSecureContext();
  const native = (context as unknown as { context?: { addCACert?: (pem: Buffer) => void } }).context;
  if (typeof native?.addCACert === 'function') {
    for (const pem of pems) native.addCACert(pem);
    return context;
  }
  return tls.createSecureContext({ ca: [...tls.rootCertificates, ...pems.map((p) => p.toString('utf8'))] });
}

/** The default trust (with IMPRINT_EXTRA_CA_CERTS's file) plus certificates, by file and certificates. */
const added = new Map<string, SecureContext>();

/**
 * Options for an https request that trusts `ca`'s certificates as well as the defaults: Node's
 * certificates and those of the file in IMPRINT_EXTRA_CA_CERTS (as `trustOptions` without a `ca`).
 * A registry's CA (`--ca-file`, certs.d) adds to what the system trusts, as containers' certs.d and
 * Docker's do, so one command can reach a public registry and a private one. Cost: the first call
 * per file and certificates parses them.
 */
export function trustAdding(tls: TlsModule, ca: Buffer, env: NodeJS.ProcessEnv = process.env): TrustOptions {
  const file = env[DEFERRED_CA_ENV] ?? '';
  const key = `${file}\0${ca.toString('latin1')}`;
  let context = added.get(key);
  if (context === undefined) {
    const extra = file === '' ? undefined : deferredFile(tls, file);
    context = defaultsPlus(tls, extra === undefined ? [ca] : [extra.pem, ca]);
    added.set(key, context);
  }
  return { secureContext: context };
}

function warn(file: string, err: unknown): void {
  process.emitWarning(
    `Ignoring extra certs from \`${file}\`, load failed: ${err instanceof Error ? err.message : String(err)}`,
  );
}
