// What to do when a Release is signed by keys the source's keyring lacks: which host keyring holds them.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PublicKey } from 'openpgp';
import { ImprintError, isImprintError } from '../errors.js';
import { type Keyring, readKeyringBytes } from './keyring.js';

/** Where apt keeps archive keyrings: searched for a keyring holding an unknown signer. */
export const HOST_KEYRING_DIRS: readonly string[] = ['/usr/share/keyrings', '/etc/apt/trusted.gpg.d'];

/** A keyring file holding some of the keys that signed a Release. */
export interface KeyringHolding {
  file: string;
  /** The signing key IDs (16 uppercase hex digits) it holds. */
  keyIds: string[];
  /** The user IDs of the keys holding them ("Debian Archive Automatic Signing Key (13/trixie) <…>"). */
  userIds: string[];
}

function keyIdsOf(key: PublicKey): string[] {
  return key.getKeys().map((k) => k.getKeyID().toHex().toUpperCase());
}

/**
 * The `*.gpg`/`*.asc` files in `dirs` that hold a (sub)key with one of `keyIds`: the most matches
 * first, then in path order. Unreadable files and directories are skipped. Cost: reads and parses
 * every keyring there (called only after a signature check failed).
 */
export async function keyringsHolding(
  keyIds: readonly string[],
  dirs: readonly string[],
): Promise<KeyringHolding[]> {
  const wanted = new Set(keyIds.map((id) => id.toUpperCase()));
  const found: KeyringHolding[] = [];
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      if (!name.endsWith('.gpg') && !name.endsWith('.asc')) continue;
      const file = join(dir, name);
      const keys = await readFile(file)
        .then((bytes) => readKeyringBytes(bytes, file))
        .catch(() => [] as PublicKey[]);
      const ids = new Set<string>();
      const userIds = new Set<string>();
      for (const key of keys) {
        const held = keyIdsOf(key).filter((id) => wanted.has(id));
        for (const id of held) ids.add(id);
        if (held.length > 0) for (const u of key.getUserIDs()) userIds.add(u);
      }
      if (ids.size > 0) found.push({ file, keyIds: [...ids].sort(), userIds: [...userIds].sort() });
    }
  }
  return found.sort((a, b) => b.keyIds.length - a.keyIds.length || (a.file < b.file ? -1 : 1));
}

/**
 * A SIGNATURE_INVALID error whose signers are all unknown to `keyring` gets a hint naming the host
 * keyring files in `dirs` that hold them (`keyring:` to set on the source), or saying none does and
 * where to get the key. Any other error is returned as it is.
 */
export async function withSignerKeyringHint(
  err: unknown,
  keyring: Keyring,
  dirs: readonly string[] = HOST_KEYRING_DIRS,
): Promise<unknown> {
  if (!isImprintError(err, 'SIGNATURE_INVALID')) return err;
  const ids = err.details.signatureKeyIds;
  if (!Array.isArray(ids) || ids.length === 0) return err;
  const known = new Set(keyring.keys.flatMap(keyIdsOf));
  if (ids.some((id) => known.has(String(id)))) return err; // a known key failed: not a missing key
  const signers = ids.map(String);
  const using = keyring.files.length > 0 ? keyring.files.join(', ') : 'the source’s keyring';
  const holding = (await keyringsHolding(signers, dirs)).filter((h) => !keyring.files.includes(h.file));
  const first = holding[0];
  const hint =
    first === undefined
      ? `It is signed by ${signers.join(', ')}, which neither ${using} nor any keyring in ${dirs.join(' or ')} holds. Get the archive's public key (for a newer Debian release: a newer debian-archive-keyring package, e.g. from the host's -updates or -backports suite), save it as a file and set \`keyring:\` on the source to its path.`
      : `It is signed by ${first.keyIds.join(', ')} (${first.userIds.join('; ')}), which ${using} lacks but ${first.file} holds: set \`keyring: ${first.file}\` on the source${
          holding.length > 1
            ? ` (also in ${holding
                .slice(1, 4)
                .map((h) => h.file)
                .join(', ')})`
            : ''
        }, if you trust those keys for this archive.`;
  return new ImprintError('SIGNATURE_INVALID', err.message, {
    hint,
    cause: err.cause,
    details: { ...err.details, keyringsHolding: holding.map((h) => h.file) },
  });
}
