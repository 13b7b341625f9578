import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type PublicKey, readKeys } from 'openpgp';
import { ImprintError } from '../errors.js';

/** The host's Debian archive keyring, relative to the root directory. */
export const DEBIAN_ARCHIVE_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** OpenPGP public keys, and the files they were read from (sorted, for messages and provenance). */
export interface Keyring {
  keys: PublicKey[];
  files: string[];
}

const ARMOR_BLOCK_RE = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;

/**
 * Reads public keys from keyring bytes: a binary keyring (concatenated transferable public keys,
 * as in /usr/share/keyrings/*.gpg) or one or more ASCII-armored key blocks. A GnuPG keybox
 * (`.kbx`, `pubring.kbx`) is not a keyring apt or imprint can read. `what` names it in errors.
 */
export async function readKeyringBytes(bytes: Uint8Array, what: string): Promise<PublicKey[]> {
  const notKeys = (why: string, cause?: unknown): ImprintError =>
    new ImprintError('KEYRING_NOT_FOUND', `${what} holds no usable OpenPGP public keys: ${why}`, {
      hint: 'Give a binary keyring (gpg --export KEYID > file.gpg) or an armored one (gpg --export --armor).',
      cause,
      details: { file: what },
    });
  if (
    bytes.length >= 8 &&
    String.fromCharCode(bytes[4] ?? 0, bytes[5] ?? 0, bytes[6] ?? 0, bytes[7] ?? 0) === 'KBXf'
  ) {
    throw notKeys('it is a GnuPG keybox, not a keyring');
  }
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 64)).trimStart();
  let keys: PublicKey[];
  try {
    if (head.startsWith('-----BEGIN PGP')) {
      const text = new TextDecoder('utf-8').decode(bytes);
      const blocks = text.match(ARMOR_BLOCK_RE) ?? [];
      if (blocks.length === 0) throw notKeys('no "PGP PUBLIC KEY BLOCK" in its armor');
      keys = [];
      for (const block of blocks) keys.push(...(await readKeys({ armoredKeys: block })));
    } else {
      keys = await readKeys({ binaryKeys: bytes });
    }
  } catch (err) {
    if (err instanceof ImprintError) throw err;
    throw notKeys(err instanceof Error ? err.message : String(err), err);
  }
  if (keys.length === 0) throw notKeys('it is empty');
  // Keyrings must only ever verify: never carry secret key material around.
  return keys.map((k) => (k.isPrivate() ? k.toPublic() : k)) as PublicKey[];
}

/**
 * Loads keyrings from files or directories (a directory contributes its `*.gpg` and `*.asc` files,
 * in byte order of their names). A missing path is KEYRING_NOT_FOUND. Cost: reads every file.
 */
export async function loadKeyring(paths: string | readonly string[]): Promise<Keyring> {
  const list = typeof paths === 'string' ? [paths] : paths;
  const files: string[] = [];
  for (const p of list) {
    let isDir: boolean;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch (err) {
      throw new ImprintError('KEYRING_NOT_FOUND', `keyring ${p} does not exist or cannot be read`, {
        hint: 'Set `keyring` on the source to a readable keyring file (binary or armored).',
        cause: err,
        details: { file: p },
      });
    }
    if (isDir) {
      const names = (await readdir(p)).filter((n) => n.endsWith('.gpg') || n.endsWith('.asc'));
      names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const n of names) files.push(join(p, n));
    } else {
      files.push(p);
    }
  }
  if (files.length === 0) {
    throw new ImprintError('KEYRING_NOT_FOUND', `no keyring files in ${list.join(', ')}`, {
      hint: 'A keyring directory must contain *.gpg or *.asc files.',
      details: { paths: [...list] },
    });
  }
  const keys: PublicKey[] = [];
  for (const f of files) keys.push(...(await readKeyringBytes(await readFile(f), f)));
  return { keys, files };
}

/** Where a source's keyring comes from, in order of preference. */
export interface KeyringChoice {
  /** The spec's `keyring` (already resolved to an absolute path). */
  keyring?: string | undefined;
  /** The Signed-By keyring files of the matching apt source (already under `root`). */
  aptKeyrings?: readonly string[] | undefined;
  /** An armored key block embedded in the apt source's Signed-By field. */
  aptArmoredKey?: string | undefined;
  /** The host root the default keyring is looked up under (default '/'). */
  root?: string;
}

/**
 * Resolves and loads a source's keyring: the spec's `keyring`, else the matching apt source's
 * Signed-By, else the host's Debian archive keyring; none found is KEYRING_NOT_FOUND.
 */
export async function resolveKeyring(choice: KeyringChoice): Promise<Keyring> {
  if (choice.keyring !== undefined) return loadKeyring(choice.keyring);
  if (choice.aptKeyrings !== undefined && choice.aptKeyrings.length > 0)
    return loadKeyring(choice.aptKeyrings);
  if (choice.aptArmoredKey !== undefined) {
    const keys = await readKeyringBytes(
      new TextEncoder().encode(choice.aptArmoredKey),
      'Signed-By key of the apt source',
    );
    return { keys, files: [] };
  }
  const fallback = join(choice.root ?? '/', DEBIAN_ARCHIVE_KEYRING);
  try {
    await stat(fallback);
  } catch (err) {
    throw new ImprintError(
      'KEYRING_NOT_FOUND',
      `no keyring for the source: no \`keyring\` given, no Signed-By in a matching apt source, and ${fallback} does not exist`,
      {
        hint: "Set `keyring` on the source to the archive's keyring file (binary or armored), or install debian-archive-keyring.",
        cause: err,
        details: { file: fallback },
      },
    );
  }
  return loadKeyring(fallback);
}

/** Uppercase hex fingerprints of a keyring's primary keys, sorted (for messages and records). */
export function keyringFingerprints(keyring: Keyring): string[] {
  return keyring.keys
    .map((k) => k.getFingerprint().toUpperCase())
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
