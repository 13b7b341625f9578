import {
  createMessage,
  type PublicKey,
  readCleartextMessage,
  readSignature,
  type Signature,
  verify,
} from 'openpgp';
import { ImprintError } from '../errors.js';
import { type Deb822Paragraph, parseDeb822, splitWords } from './deb822.js';

/** What signature verification established: the signed text and who signed it. */
export interface VerifiedRelease {
  /** The signed Release text (for InRelease: the cleartext, exactly what the signature covers). */
  text: string;
  /** Uppercase fingerprints of the keyring keys whose signatures verified, sorted. */
  signers: string[];
}

export interface VerifyOptions {
  /** Names the file in errors (e.g. its URL). */
  what: string;
  /** The time at which keys must be valid (not expired, not revoked). */
  now: Date;
  /**
   * Judge the signing key at the signature's own creation time instead of `now` (OpenPGP's rule
   * without apt's "and valid now"): for a Release a lock pins by sha256, whose bytes are the lock's
   * and whose signature only shows the archive made them, so a locked build does not fail once the
   * archive key has expired, nor on a clock set before the Release.
   */
  atSigningTime?: boolean;
}

/**
 * Clock skew tolerated between the signer and us: keys and signatures are judged at `now` plus
 * this, so a Release signed "a minute from now" by a mirror with a fast clock still verifies.
 */
export const CLOCK_SKEW_MS = 10 * 60 * 1000;

function verificationDate(now: Date): Date {
  return new Date(now.getTime() + CLOCK_SKEW_MS);
}

/** The `date` for OpenPGP's verify: null judges the key at the signature's creation time only. */
function verifyDate(opts: VerifyOptions): Date | null {
  return opts.atSigningTime === true ? null : verificationDate(opts.now);
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const END_SIGNATURE = '-----END PGP SIGNATURE-----';

/**
 * Verifies a clearsigned InRelease against `keys` and returns the signed text. The file must be
 * exactly one clearsigned message (nothing before it, only whitespace after), and at least one of
 * its signatures must verify with a key of the keyring that is valid at `now`. Anything else is
 * SIGNATURE_INVALID. Nothing of the file is parsed before this succeeds. Cost: one RSA/EdDSA
 * verification per signature.
 */
export async function verifyInRelease(
  bytes: Uint8Array,
  keys: readonly PublicKey[],
  opts: VerifyOptions,
): Promise<VerifiedRelease> {
  const text = decodeUtf8(bytes, opts.what);
  const start = text.startsWith('\uFEFF') ? 1 : 0;
  if (!text.startsWith(BEGIN_SIGNED, start) || !isLineEnd(text, start + BEGIN_SIGNED.length)) {
    throw sigInvalid(opts.what, `expected a clearsigned message starting with "${BEGIN_SIGNED}"`);
  }
  const endAt = text.indexOf(END_SIGNATURE);
  if (endAt < 0 || text.slice(endAt + END_SIGNATURE.length).trim() !== '') {
    throw sigInvalid(opts.what, `expected nothing but whitespace after "${END_SIGNATURE}"`);
  }
  if (text.indexOf(BEGIN_SIGNED, start + 1) >= 0) {
    throw sigInvalid(opts.what, 'found more than one signed message');
  }
  let message: Awaited<ReturnType<typeof readCleartextMessage>>;
  try {
    message = await readCleartextMessage({ cleartextMessage: text.slice(start) });
  } catch (err) {
    throw sigInvalid(opts.what, `cannot read the clearsigned message: ${errText(err)}`, err);
  }
  const result = await runVerify(
    () => verify({ message, verificationKeys: keys as PublicKey[], date: verifyDate(opts) }),
    opts.what,
  );
  const signers = await validSigners(result.signatures, keys, opts);
  return { text: result.data, signers };
}

/**
 * Verifies a Release file against its detached signature (Release.gpg, armored or binary) and
 * returns the Release text; the same rules as verifyInRelease apply.
 */
export async function verifyDetached(
  release: Uint8Array,
  sig: Uint8Array,
  keys: readonly PublicKey[],
  opts: VerifyOptions,
): Promise<VerifiedRelease> {
  const text = decodeUtf8(release, opts.what);
  let signature: Signature;
  try {
    const head = new TextDecoder('latin1').decode(sig.subarray(0, 64)).trimStart();
    signature = head.startsWith('-----BEGIN PGP SIGNATURE-----')
      ? await readSignature({ armoredSignature: decodeUtf8(sig, `${opts.what}.gpg`) })
      : await readSignature({ binarySignature: sig });
  } catch (err) {
    throw sigInvalid(`${opts.what}.gpg`, `cannot read the detached signature: ${errText(err)}`, err);
  }
  const message = await createMessage({ binary: release });
  const result = await runVerify(
    () =>
      verify({
        message,
        signature,
        verificationKeys: keys as PublicKey[],
        date: verifyDate(opts),
        format: 'binary',
      }),
    opts.what,
  );
  const signers = await validSigners(result.signatures, keys, opts);
  return { text, signers };
}

async function runVerify<T>(fn: () => Promise<T>, what: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw sigInvalid(what, `verification failed: ${errText(err)}`, err);
  }
}

async function validSigners(
  signatures: ReadonlyArray<{ keyID: { toHex(): string }; verified: Promise<true> }>,
  keys: readonly PublicKey[],
  opts: VerifyOptions,
): Promise<string[]> {
  const { what } = opts;
  const date = verifyDate(opts);
  const signers = new Set<string>();
  const failures: string[] = [];
  for (const s of signatures) {
    const id = s.keyID.toHex().toUpperCase();
    try {
      await s.verified;
      // openpgp only reports `verified` for keys we passed; name the primary key that holds this (sub)key ID.
      const owner = keys.find((k) => k.getKeys(s.keyID as never).length > 0);
      if (owner === undefined) throw new Error('signed by a key outside the keyring');
      // openpgp judges the key at the signature's creation time; like apt (EXPKEYSIG, REVKEYSIG),
      // also require the signing (sub)key to be valid now: not expired, not revoked.
      if (date !== null) await owner.getSigningKey(s.keyID as never, date);
      signers.add(owner.getFingerprint().toUpperCase());
    } catch (err) {
      failures.push(`${id}: ${errText(err)}`);
    }
  }
  if (signers.size === 0) {
    const found = signatures.length === 0 ? 'no signatures' : failures.join('; ');
    throw sigInvalid(what, `expected a valid signature by a key of the keyring, found ${found}`, undefined, {
      signatureKeyIds: Array.from(signatures, (s) => s.keyID.toHex().toUpperCase()),
    });
  }
  return [...signers].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function sigInvalid(
  what: string,
  msg: string,
  cause?: unknown,
  details: Record<string, unknown> = {},
): ImprintError {
  const text = `${msg} ${cause instanceof Error ? cause.message : ''}`;
  // OpenPGP.js says "expired" or "in the future" when the check's time is outside a key's validity.
  const clock = /expired|future|not yet valid/i.test(text);
  return new ImprintError('SIGNATURE_INVALID', `${what}: ${msg}`, {
    hint: clock
      ? `The signature or key is not valid at this machine's time (${new Date().toISOString()}): check the system clock, then the source URL and its \`keyring\`.`
      : 'The archive metadata is not signed by a trusted key: check the source URL and its `keyring`.',
    cause,
    details: { file: what, ...details },
  });
}

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ImprintError('RELEASE_INVALID', `${what} is not UTF-8 text`, {
      cause: err,
      details: { file: what },
    });
  }
}

function isLineEnd(text: string, i: number): boolean {
  return text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n');
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One file listed in a Release's SHA256 section. */
export interface ReleaseEntry {
  size: number;
  /** Lowercase hex. */
  sha256: string;
}

/** The parts of a Release file imprint uses. */
export interface ReleaseInfo {
  origin: string | undefined;
  label: string | undefined;
  suite: string | undefined;
  codename: string | undefined;
  version: string | undefined;
  date: Date | undefined;
  validUntil: Date | undefined;
  architectures: string[];
  components: string[];
  acquireByHash: boolean;
  /** `No-Support-for-Architecture-all: Packages`: `all` packages are listed in every arch index. */
  noSupportForArchitectureAll: boolean;
  /**
   * apt's default pin priority of the suite's packages: 1 with `NotAutomatic: yes` (backports,
   * experimental), 100 with `ButAutomaticUpgrades: yes` too, else 500.
   */
  priority: number;
  /** Path relative to `dists/<suite>/` → size and sha256. */
  sha256: Map<string, ReleaseEntry>;
  paragraph: Deb822Paragraph;
}

/** apt's default priorities: see ReleaseInfo.priority. */
function releasePriority(p: Deb822Paragraph): number {
  const yes = (field: string) => (p.get(field) ?? '').trim().toLowerCase() === 'yes';
  if (!yes('NotAutomatic')) return 500;
  return yes('ButAutomaticUpgrades') ? 100 : 1;
}

const SHA256_LINE_RE = /^([0-9a-fA-F]{64})\s+([0-9]+)\s+(\S+)$/;

/**
 * Parses a (verified) Release text. Exactly one paragraph; SHA256 is required (weaker hashes are
 * ignored); dates are RFC 2822. Malformed content is RELEASE_INVALID. `what` names it in errors.
 */
export function parseRelease(text: string, what = 'Release'): ReleaseInfo {
  let paragraphs: Deb822Paragraph[];
  try {
    paragraphs = parseDeb822(text, what);
  } catch (err) {
    throw new ImprintError('RELEASE_INVALID', `${what}: ${errText(err)}`, {
      cause: err,
      details: { file: what },
    });
  }
  const p = paragraphs[0];
  if (paragraphs.length !== 1 || p === undefined) {
    throw releaseInvalid(what, `expected one paragraph, found ${paragraphs.length}`);
  }
  const shaText = p.get('SHA256');
  if (shaText === undefined)
    throw releaseInvalid(what, 'no SHA256 field', 'Archives must list SHA256 sums of their indexes.');
  const sha256 = new Map<string, ReleaseEntry>();
  for (const raw of shaText.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = SHA256_LINE_RE.exec(line);
    if (m === null) throw releaseInvalid(what, `malformed SHA256 line ${JSON.stringify(line)}`);
    const size = Number(m[2]);
    if (!Number.isSafeInteger(size))
      throw releaseInvalid(what, `size out of range in ${JSON.stringify(line)}`);
    sha256.set(m[3] as string, { size, sha256: (m[1] as string).toLowerCase() });
  }
  const date = p.get('Date');
  const validUntil = p.get('Valid-Until');
  return {
    origin: p.get('Origin'),
    label: p.get('Label'),
    suite: p.get('Suite'),
    codename: p.get('Codename'),
    version: p.get('Version'),
    date: date === undefined ? undefined : parseRfc2822(date, `${what}: Date`),
    validUntil: validUntil === undefined ? undefined : parseRfc2822(validUntil, `${what}: Valid-Until`),
    architectures: splitWords(p.get('Architectures')),
    components: splitWords(p.get('Components')),
    acquireByHash: (p.get('Acquire-By-Hash') ?? '').toLowerCase() === 'yes',
    noSupportForArchitectureAll: (p.get('No-Support-for-Architecture-all') ?? '') === 'Packages',
    priority: releasePriority(p),
    sha256,
    paragraph: p,
  };
}

function releaseInvalid(what: string, msg: string, hint?: string): ImprintError {
  return new ImprintError('RELEASE_INVALID', `${what}: ${msg}`, { hint, details: { file: what } });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC2822_RE =
  /^(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(UTC|GMT|Z|[+-]\d{4})$/;

/** Parses an RFC 2822 date as Release files write it ("Sat, 10 Jun 2023 08:52:47 UTC"). */
export function parseRfc2822(value: string, what: string): Date {
  const m = RFC2822_RE.exec(value.trim());
  const month =
    m === null
      ? -1
      : MONTHS.indexOf(
          ((m[2] as string)[0] as string).toUpperCase() + (m[2] as string).slice(1).toLowerCase(),
        );
  if (m === null || month < 0) {
    throw releaseInvalid(
      what,
      `expected an RFC 2822 date like "Sat, 10 Jun 2023 08:52:47 UTC", found ${JSON.stringify(value)}`,
    );
  }
  let ms = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  const zone = m[7] as string;
  if (zone[0] === '+' || zone[0] === '-') {
    const offset = (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5))) * 60_000;
    ms -= zone[0] === '+' ? offset : -offset;
  }
  return new Date(ms);
}

/** Formats a date the way Release files write it (UTC). */
export function formatRfc2822(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} UTC`;
}

/**
 * Refuses a Release whose Valid-Until lies before `now` (RELEASE_EXPIRED), unless `checkValidUntil`
 * is false (snapshot archives). `now` is the caller's clock: this module never reads one.
 */
export function checkValidUntil(
  release: ReleaseInfo,
  opts: { now: Date; checkValidUntil?: boolean; what: string },
): void {
  if (opts.checkValidUntil === false || release.validUntil === undefined) return;
  if (opts.now.getTime() > release.validUntil.getTime()) {
    throw new ImprintError(
      'RELEASE_EXPIRED',
      `${opts.what} expired: Valid-Until ${release.validUntil.toISOString()}, now ${opts.now.toISOString()}`,
      {
        hint: "A current mirror serves a fresh Release (check this machine's clock too); for a snapshot archive, whose Releases have expired on purpose, set `check-valid-until: false` on the source (apt's Check-Valid-Until=no).",
        details: {
          file: opts.what,
          validUntil: release.validUntil.toISOString(),
          now: opts.now.toISOString(),
        },
      },
    );
  }
}

/**
 * Refuses a Release whose Date lies more than CLOCK_SKEW_MS after `now` (RELEASE_NOT_YET_VALID), as
 * apt does ("is not valid yet"), unless `checkDate` is false (apt's Check-Date=no): this machine's
 * clock is behind, or the archive's is ahead. `now` is the caller's clock: this module never reads one.
 */
export function checkReleaseDate(
  release: ReleaseInfo,
  opts: { now: Date; checkDate?: boolean; what: string },
): void {
  if (opts.checkDate === false || release.date === undefined) return;
  const ahead = release.date.getTime() - opts.now.getTime();
  if (ahead <= CLOCK_SKEW_MS) return;
  throw new ImprintError(
    'RELEASE_NOT_YET_VALID',
    `${opts.what} is not valid yet: its Date is ${release.date.toISOString()}, ${formatDuration(ahead)} after this machine's time ${opts.now.toISOString()}`,
    {
      hint: "Check this machine's clock (and time zone setting). If the archive's clock is wrong instead, set `check-date: false` on the source (apt's Check-Date=no).",
      details: { file: opts.what, date: release.date.toISOString(), now: opts.now.toISOString() },
    },
  );
}

/** `1d 2h 3min 4s`, as apt words a Release's time ahead. Pure. */
function formatDuration(ms: number): string {
  let s = Math.floor(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
  ] as const) {
    if (s >= size) parts.push(`${Math.floor(s / size)}${unit}`);
    s %= size;
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join(' ');
}
