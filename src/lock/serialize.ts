import { archivePathProblem } from '../debian/archive-path.js';
import { isDigest } from '../digest/index.js';
import { ImprintError } from '../errors.js';
import { compareCodeUnits } from '../oci/canonical-json.js';
import { parsePlatform } from '../oci/platform.js';
import {
  LOCK_VERSION,
  type LockBase,
  type LockBaseImage,
  type LockFile,
  type LockPackage,
  type LockSource,
} from './types.js';

/** Sort order of a platform's packages: name, architecture, then version and filename (byte order). */
export function compareLockPackages(a: LockPackage, b: LockPackage): number {
  return (
    compareCodeUnits(a.name, b.name) ||
    compareCodeUnits(a.architecture, b.architecture) ||
    compareCodeUnits(a.version, b.version) ||
    compareCodeUnits(a.filename, b.filename)
  );
}

/**
 * The lock's bytes: JSON with keys sorted by code units, two-space indentation (friendly to `git diff`),
 * UTF-8, a final newline. Packages are sorted per platform; sources keep their order (it is the spec's).
 * Equal locks give identical bytes. Pure; cost linear in the lock's size.
 */
export function serializeLock(lock: LockFile): Buffer {
  const platforms: Record<string, LockPackage[]> = {};
  for (const key of Object.keys(lock.platforms)) {
    platforms[key] = [...(lock.platforms[key] ?? [])].sort(compareLockPackages);
  }
  const value = {
    version: lock.version,
    specHash: lock.specHash,
    sources: lock.sources,
    platforms,
    base: lock.base,
  };
  return Buffer.from(`${prettyJson(value, '')}\n`, 'utf8');
}

function prettyJson(value: unknown, indent: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value))
        throw new ImprintError('INTERNAL', `lock values must be safe integers, found ${value}`);
      return String(value);
    case 'object':
      break;
    default:
      throw new ImprintError('INTERNAL', `cannot write a ${typeof value} into the lock`);
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + prettyJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort(compareCodeUnits);
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${prettyJson(record[k], inner)}`).join(',\n')}\n${indent}}`;
}

const HEX64 = /^[a-f0-9]{64}$/;

/**
 * Parses and validates lock bytes; `file` names the lock in errors. Any deviation from the format is
 * LOCK_INVALID with `details.path` (e.g. `$.platforms["linux/amd64"][3].sha256`). Cost linear in size.
 */
export function parseLock(bytes: Uint8Array | string, file: string): LockFile {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ImprintError(
      'LOCK_INVALID',
      `${file}: expected JSON, found a syntax error (${(err as Error).message})`,
      {
        cause: err,
        hint: 'Regenerate the lock with `imprint lock`.',
        details: { file, path: '$' },
      },
    );
  }
  const v = new Validator(file);
  const root = v.object(raw, '$', ['version', 'specHash', 'sources', 'platforms'], ['base']);
  if (root.version !== LOCK_VERSION) {
    const newer = typeof root.version === 'number' && root.version > LOCK_VERSION;
    v.fail(
      '$.version',
      `version ${LOCK_VERSION}`,
      JSON.stringify(root.version),
      newer ? 'The lock was written by a newer imprint; upgrade imprint.' : undefined,
    );
  }
  if (!isDigest(root.specHash))
    v.fail('$.specHash', 'a sha256:<64 hex> digest', JSON.stringify(root.specHash));
  const sources = v.array(root.sources, '$.sources').map((s, i) => parseSource(v, s, `$.sources[${i}]`));
  const platformsRaw = v.object(root.platforms, '$.platforms', undefined);
  const platforms: Record<string, LockPackage[]> = {};
  for (const key of Object.keys(platformsRaw).sort(compareCodeUnits)) {
    const path = `$.platforms[${JSON.stringify(key)}]`;
    try {
      parsePlatform(key);
    } catch {
      v.fail(path, 'an os/arch[/variant] platform key', JSON.stringify(key));
    }
    const packages = v
      .array(platformsRaw[key], path)
      .map((p, i) => parsePackage(v, p, `${path}[${i}]`, sources.length));
    const seen = new Set<string>();
    packages.forEach((p, i) => {
      const id = `${p.name}:${p.architecture}`;
      if (seen.has(id))
        v.fail(`${path}[${i}]`, 'one entry per package and architecture', `a second entry for ${id}`);
      seen.add(id);
    });
    platforms[key] = packages;
  }
  const base = root.base === undefined ? undefined : parseBase(v, root.base, '$.base');
  return {
    version: LOCK_VERSION,
    specHash: root.specHash as LockFile['specHash'],
    sources,
    platforms,
    ...(base === undefined ? {} : { base }),
  };
}

function parseBase(v: Validator, raw: unknown, path: string): LockBase {
  const o = v.object(raw, path, ['ref', 'digest', 'platforms']);
  const platformsRaw = v.object(o.platforms, `${path}.platforms`, undefined);
  const platforms: Record<string, LockBaseImage> = {};
  for (const key of Object.keys(platformsRaw).sort(compareCodeUnits)) {
    const at = `${path}.platforms[${JSON.stringify(key)}]`;
    const image = v.object(platformsRaw[key], at, ['digest', 'size', 'mediaType']);
    const size = image.size;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      v.fail(`${at}.size`, 'a non-negative integer', JSON.stringify(size));
    platforms[key] = {
      digest: v.digest(image.digest, `${at}.digest`),
      size: size as number,
      mediaType: v.string(image.mediaType, `${at}.mediaType`),
    };
  }
  return { ref: v.string(o.ref, `${path}.ref`), digest: v.digest(o.digest, `${path}.digest`), platforms };
}

function parseSource(v: Validator, raw: unknown, path: string): LockSource {
  const o = v.object(raw, path, ['url', 'suite', 'components', 'release']);
  const release = v.object(o.release, `${path}.release`, ['sha256', 'date']);
  return {
    url: v.string(o.url, `${path}.url`),
    suite: v.string(o.suite, `${path}.suite`),
    components: v
      .array(o.components, `${path}.components`)
      .map((c, i) => v.string(c, `${path}.components[${i}]`)),
    release: {
      sha256: v.hex64(release.sha256, `${path}.release.sha256`),
      date: v.string(release.date, `${path}.release.date`),
    },
  };
}

function parsePackage(v: Validator, raw: unknown, path: string, sourceCount: number): LockPackage {
  const o = v.object(
    raw,
    path,
    ['name', 'version', 'architecture', 'source', 'filename', 'size', 'sha256'],
    ['repo'],
  );
  const size = o.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    v.fail(`${path}.size`, 'a non-negative integer', JSON.stringify(size));
  }
  const repo = o.repo;
  if (
    repo !== undefined &&
    (typeof repo !== 'number' || !Number.isSafeInteger(repo) || repo < 0 || repo >= sourceCount)
  ) {
    v.fail(`${path}.repo`, `an index into $.sources (0 to ${sourceCount - 1})`, JSON.stringify(repo));
  }
  // The .deb is fetched from `<archive URL>/<filename>`: a path that leaves the archive is refused.
  const filename = v.string(o.filename, `${path}.filename`);
  const problem = archivePathProblem(filename);
  if (problem !== undefined)
    v.fail(`${path}.filename`, 'a path inside the archive', `${JSON.stringify(filename)} (${problem})`);
  return {
    ...(repo === undefined ? {} : { repo: repo as number }),
    name: v.string(o.name, `${path}.name`),
    version: v.string(o.version, `${path}.version`),
    architecture: v.string(o.architecture, `${path}.architecture`),
    source: v.string(o.source, `${path}.source`),
    filename,
    size: size as number,
    sha256: v.hex64(o.sha256, `${path}.sha256`),
  };
}

/** Structural checks that throw LOCK_INVALID naming the file and the JSON path. */
class Validator {
  constructor(readonly file: string) {}

  fail(path: string, expected: string, found: string, hint?: string): never {
    throw new ImprintError('LOCK_INVALID', `${this.file}: ${path}: expected ${expected}, found ${found}`, {
      hint: hint ?? 'Regenerate the lock with `imprint lock` rather than editing it by hand.',
      details: { file: this.file, path, expected, found },
    });
  }

  /** An object; with `keys`, exactly those keys plus any of `optional` (unknown keys are errors, missing keys too). */
  object(
    raw: unknown,
    path: string,
    keys: string[] | undefined,
    optional: string[] = [],
  ): Record<string, unknown> {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      this.fail(path, 'an object', describe(raw));
    const o = raw as Record<string, unknown>;
    if (keys !== undefined) {
      for (const k of Object.keys(o).sort(compareCodeUnits)) {
        if (!keys.includes(k) && !optional.includes(k))
          this.fail(`${path}.${k}`, `only the keys ${[...keys, ...optional].join(', ')}`, 'an unknown key');
      }
      for (const k of keys) if (!(k in o)) this.fail(`${path}.${k}`, 'a value', 'nothing (missing key)');
    }
    return o;
  }

  array(raw: unknown, path: string): unknown[] {
    if (!Array.isArray(raw)) this.fail(path, 'an array', describe(raw));
    return raw;
  }

  string(raw: unknown, path: string): string {
    if (typeof raw !== 'string' || raw === '') this.fail(path, 'a non-empty string', describe(raw));
    return raw;
  }

  digest(raw: unknown, path: string): LockBase['digest'] {
    if (!isDigest(raw)) this.fail(path, 'a sha256:<64 hex> digest', describe(raw));
    return raw;
  }

  hex64(raw: unknown, path: string): string {
    if (typeof raw !== 'string' || !HEX64.test(raw))
      this.fail(path, 'a sha256 as 64 lowercase hex digits', describe(raw));
    return raw;
  }
}

function describe(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'an array';
  if (typeof raw === 'object') return 'an object';
  return `${typeof raw} ${JSON.stringify(raw)}`;
}
