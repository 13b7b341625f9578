import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PublicKey } from 'openpgp';
import { ImprintError } from '../errors.js';

/** The host's Debian archive keyring, relative to the root directory. */
export const DEBIAN_ARCHIVE_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** OpenPGP public keys, and the files they were read from (sorted, for messages and provenance). */
export interface Keyring {
  /** The keys, parsed (empty when the keyring was read with `parse: false`). */
  keys: PublicKey[];
  files: string[];
  /**
   * sha256 (hex) of the keyring's bytes as read (each file, or the embedded key block, length-prefixed,
   * in order): which keys are trusted, known without parsing them.
   */
  digest: string;
}

/** How a keyring is read. */
export interface KeyringReadOptions {
  /** Parse the keys (OpenPGP; default true). False reads and hashes the bytes only, for `digest`. */
  parse?: boolean;
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
  if (bytes.length === 0) throw notKeys('it is empty');
  if (
    bytes.length >= 8 &&
    String.fromCharCode(bytes[4] ?? 0, bytes[5] ?? 0, bytes[6] ?? 0, bytes[7] ?? 0) === 'KBXf'
  ) {
    throw notKeys('it is a GnuPG keybox, not a keyring');
  }
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 64)).trimStart();
  // OpenPGP is loaded only to parse keys: a build whose lock was verified before never needs it.
  const { readKeys } = await import('openpgp');
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
export async function loadKeyring(
  paths: string | readonly string[],
  opts: KeyringReadOptions = {},
): Promise<Keyring> {
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
  const digest = createHash('sha256');
  for (const f of files) {
    const bytes = await readFile(f);
    digest.update(`${bytes.length}\n`).update(bytes);
    if (opts.parse !== false) keys.push(...(await readKeyringBytes(bytes, f)));
  }
  return { keys, files, digest: digest.digest('hex') };
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
export async function resolveKeyring(choice: KeyringChoice, opts: KeyringReadOptions = {}): Promise<Keyring> {
  if (choice.keyring !== undefined) return loadKeyring(choice.keyring, opts);
  if (choice.aptKeyrings !== undefined && choice.aptKeyrings.length > 0)
    return loadKeyring(choice.aptKeyrings, opts);
  if (choice.aptArmoredKey !== undefined) {
    const bytes = new TextEncoder().encode(choice.aptArmoredKey);
    const keys = opts.parse === false ? [] : await readKeyringBytes(bytes, 'Signed-By key of the apt source');
    const digest = createHash('sha256').update(`${bytes.length}\n`).update(bytes).digest('hex');
    return { keys, files: [], digest };
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
  return loadKeyring(fallback, opts);
}

/** Uppercase hex fingerprints of a keyring's primary keys, sorted (for messages and records). */
export function keyringFingerprints(keyring: Keyring): string[] {
  return keyring.keys
    .map((k) => k.getFingerprint().toUpperCase())
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
