// ca-certificates-java: Java's trust store /etc/ssl/certs/java/cacerts, which its postinst (through
// the update-ca-certificates hook and a trigger) builds by running a Java program over
// /etc/ssl/certs/*.pem. Written here natively, as the JKS file that program writes: every Java TLS
// client (keytool -cacerts, HttpClient, ...) reads it. Deterministic: entries sorted by alias, each
// dated at the build epoch.
import { createHash } from 'node:crypto';
import { ImprintError } from '../../errors.js';
import { sortBytes } from '../../vfs/path.js';
import { childNames, exists, readTreeFile, writeFile } from './tree-io.js';
import type { EffectRule } from './types.js';
import { pemCertificates } from './x509-name-hash.js';

const ETC_CERTS = 'etc/ssl/certs';
const CACERTS = '/etc/ssl/certs/java/cacerts';
/** The store password ca-certificates-java uses (Java's default for cacerts). */
export const JKS_PASSWORD = 'changeit';
const JKS_MAGIC = 0xfeedfeed;
const JKS_VERSION = 2;
const TRUSTED_CERT_ENTRY = 2;

/** A trusted certificate of the store: its alias and DER bytes. */
export interface TrustedCert {
  alias: string;
  der: Buffer;
}

/**
 * A JKS key store (version 2) of trusted-certificate entries, byte for byte as Java's JavaKeyStore
 * engine writes one, with the entries in the given order, each dated `dateMs`: magic FEEDFEED, version,
 * count; per entry tag 2, the alias (modified UTF-8, u16 length), the date (u64 ms), "X.509", the
 * certificate (u32 length, DER); then SHA-1 over the password as UTF-16BE, "Mighty Aphrodite" and all
 * bytes before. Pure.
 */
export function jksTrustStore(
  certs: readonly TrustedCert[],
  dateMs: number,
  password = JKS_PASSWORD,
): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  };
  const utf = (text: string) => {
    const bytes = modifiedUtf8(text);
    if (bytes.length > 0xffff)
      throw new ImprintError('INTERNAL', `JKS alias ${JSON.stringify(text)} is too long`);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(bytes.length);
    return Buffer.concat([len, bytes]);
  };
  parts.push(u32(JKS_MAGIC), u32(JKS_VERSION), u32(certs.length));
  const date = Buffer.alloc(8);
  date.writeBigUInt64BE(BigInt(dateMs));
  for (const c of certs)
    parts.push(u32(TRUSTED_CERT_ENTRY), utf(c.alias), date, utf('X.509'), u32(c.der.length), c.der);
  const body = Buffer.concat(parts);
  const digest = createHash('sha1')
    .update(Buffer.from(password, 'utf16le').swap16())
    .update(Buffer.from('Mighty Aphrodite', 'utf8'))
    .update(body)
    .digest();
  return Buffer.concat([body, digest]);
}

/**
 * Java's modified UTF-8 (DataOutputStream.writeUTF): each UTF-16 unit on its own, NUL as two bytes,
 * so supplementary characters become two 3-byte surrogates. Pure.
 */
export function modifiedUtf8(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x01 && c <= 0x7f) out.push(c);
    else if (c <= 0x7ff) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Buffer.from(out);
}

/**
 * The store's certificates: each /etc/ssl/certs/NAME.pem (update-ca-certificates' links, in byte
 * order) holding one certificate, aliased `debian:` + NAME lower-cased (Java lower-cases JKS aliases),
 * sorted by alias. Reads the tree.
 */
async function trustedCerts(ctx: Parameters<EffectRule['apply']>[0]): Promise<TrustedCert[]> {
  const prefix = `${ETC_CERTS}/`;
  const names = childNames(ctx.tree, ETC_CERTS).filter((n) => n.endsWith('.pem'));
  const byAlias = new Map<string, Buffer>();
  for (const name of names) {
    if (!exists(ctx.tree, `/${prefix}${name}`)) continue;
    const body = await readTreeFile(ctx.tree, `/${prefix}${name}`);
    const certs = body === undefined ? [] : pemCertificates(body.toString('latin1'));
    const alias = `debian:${name.toLowerCase()}`;
    if (certs.length === 1 && !byAlias.has(alias)) byAlias.set(alias, certs[0] as Buffer);
  }
  return sortBytes([...byAlias.keys()]).map((alias) => ({ alias, der: byAlias.get(alias) as Buffer }));
}

export const javaCacertsRule: EffectRule = {
  id: 'ca-certificates-java/cacerts',
  package: 'ca-certificates-java',
  describe:
    'postinst and trigger (update-ca-certificates hook, then a Java program): /etc/ssl/certs/java/cacerts, a JKS trust store ' +
    '(password changeit) of every /etc/ssl/certs/*.pem certificate, aliased debian:<name>.pem; entries sorted by alias and dated at the epoch',
  async apply(ctx, pkg) {
    const certs = await trustedCerts(ctx);
    if (certs.length === 0) return;
    writeFile(ctx.writer(pkg.name), CACERTS, jksTrustStore(certs, ctx.epoch * 1000), { mode: 0o644 });
  },
};
