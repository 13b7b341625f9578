import { posix } from 'node:path';

/** A path check's outcome: the normalised path, or why the input is not acceptable. */
export type PathResult = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Normalises a `files[].source`: relative to the spec's directory, POSIX separators, no `.` segments, no
 * trailing slash (`.` is the directory itself). Absolute paths and `..` escapes are refused. Pure.
 */
export function normalizeSourcePath(text: string): PathResult {
  if (text === '')
    return { ok: false, reason: 'expected a path relative to the spec file, found an empty string' };
  if (text.includes('\0')) return { ok: false, reason: 'expected a path, found a NUL character in it' };
  if (text.startsWith('/')) {
    return {
      ok: false,
      reason: `expected a path relative to the spec file, found the absolute path ${JSON.stringify(text)}`,
    };
  }
  const normal = posix.normalize(text).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../')) {
    return {
      ok: false,
      reason: `expected a path inside the spec's directory, found ${JSON.stringify(text)}, which leaves it`,
    };
  }
  return { ok: true, path: normal === '' ? '.' : normal };
}

/** The longest name (path component) Linux file systems take, in bytes. */
const NAME_MAX = 255;

/**
 * Normalises an absolute path inside the image (`files[].target`, `workdir`, home directories): `//` and
 * `.` segments collapse; `..` segments are refused rather than resolved, since they usually hide a mistake,
 * and so are names longer than NAME_MAX bytes, which podman fails to unpack (ENAMETOOLONG).
 * A trailing slash is kept only when `keepTrailingSlash` (a `files[].target` ending in `/` means "into this
 * directory"). Pure.
 */
export function normalizeImagePath(text: string, keepTrailingSlash = false): PathResult {
  if (!text.startsWith('/')) {
    return {
      ok: false,
      reason: `expected an absolute path in the image (starting with /), found ${JSON.stringify(text)}`,
    };
  }
  if (text.includes('\0')) return { ok: false, reason: 'expected a path, found a NUL character in it' };
  if (text.split('/').includes('..')) {
    return { ok: false, reason: `expected a path without '..' segments, found ${JSON.stringify(text)}` };
  }
  const long = text.split('/').find((part) => Buffer.byteLength(part) > NAME_MAX);
  if (long !== undefined) {
    return {
      ok: false,
      reason: `expected names of at most ${NAME_MAX} bytes (Linux's NAME_MAX: no runtime can unpack a longer one), found one of ${Buffer.byteLength(long)} bytes starting ${JSON.stringify(long.slice(0, 24))} in the path`,
    };
  }
  const normal = posix.normalize(text);
  if (normal === '/') return { ok: true, path: '/' };
  const trimmed = normal.replace(/\/+$/, '');
  return { ok: true, path: keepTrailingSlash && text.endsWith('/') ? `${trimmed}/` : trimmed };
}
