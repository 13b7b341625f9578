// OCI layer whiteouts: how an entry of a layer hides what the layers below it hold.
import { ImprintError } from '../errors.js';

/** What a whiteout hides: everything below a directory (`opaqueDir`: 'a/', '' at the root), or one path. */
export type Whiteout = { opaqueDir: string } | { removes: string };

/**
 * The whiteout an archive path makes (`a/.wh.b` removes `a/b`, `a/.wh..wh..opq` makes `a/` opaque),
 * 'malformed' for a `.wh.` name that names no sibling (`.wh.`, `.wh..`, `.wh...`: it would hide its
 * own directory or climb out of it, which no layer writer makes), or null for any other entry. Pure.
 */
export function whiteoutOf(path: string): Whiteout | 'malformed' | null {
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  const slash = trimmed.lastIndexOf('/');
  const dir = trimmed.slice(0, slash + 1);
  const base = trimmed.slice(slash + 1);
  if (!base.startsWith('.wh.')) return null;
  if (base === '.wh..wh..opq') return { opaqueDir: dir };
  const name = base.slice('.wh.'.length);
  if (name === '' || name === '.' || name === '..') return 'malformed';
  return { removes: `${dir}${name}` };
}

/**
 * whiteoutOf for a layer that is applied: a malformed whiteout is INVALID_IMAGE naming `what` (the
 * layer) and the entry, never a removal of its directory or of what lies above it. Pure.
 */
export function layerWhiteout(path: string, what: string): Whiteout | null {
  const wh = whiteoutOf(path);
  if (wh !== 'malformed') return wh;
  throw new ImprintError(
    'INVALID_IMAGE',
    `${what}: entry ${JSON.stringify(path)} is a whiteout that names no file beside it (it would remove its own directory or the one above)`,
    {
      hint: 'A whiteout is `.wh.<name>` beside the file it removes, or `.wh..wh..opq`; this layer is broken or hostile: rebuild it, or use another image.',
      details: { layer: what, entry: path },
    },
  );
}
