import { ImprintError } from '../errors.js';
import { type SpecLocation, specField } from '../spec/index.js';
import { parentPath, sortBytes, withinAny } from '../vfs/path.js';
import type { FileTree } from '../vfs/tree.js';

const GLOB = /[*?]/;

/**
 * Applies the spec's `remove` list to the tree: each entry is an absolute image path, or a pattern
 * where `*` and `?` match within one path component and `**` any number of components. Directory
 * symlinks before the first pattern character are followed (so /lib/x finds /usr/lib/x on merged
 * /usr). Everything below a removed directory goes with it. An entry that matches nothing is
 * SPEC_INVALID naming `remove[i]`. Returns the keys removed (topmost ones); an entry that deletes
 * files or links the spec's `files` add (it runs after them) adds a note to `notes`. Cost: one pass
 * over the keys per pattern.
 */
export function applyRemovals(
  tree: FileTree,
  patterns: readonly string[],
  spec: SpecLocation,
  notes: string[] = [],
): Set<string> {
  const removed = new Set<string>();
  const added = patterns.length === 0 ? new Map<string, string>() : filesAdded(tree);
  patterns.forEach((pattern, i) => {
    if (/^\/*$/.test(pattern)) {
      throw new ImprintError(
        'SPEC_INVALID',
        `${specField(spec, ['remove', i])}: ${pattern} is the image's root, which cannot be removed`,
        {
          hint: 'Name the paths below / to remove, e.g. /usr/share/doc/**.',
          details: { file: spec.file, field: `remove[${i}]`, pattern },
        },
      );
    }
    const matches = matchKeys(tree, pattern);
    if (matches.length === 0) {
      throw new ImprintError(
        'SPEC_INVALID',
        `${specField(spec, ['remove', i])}: ${pattern} matches nothing in the image`,
        {
          hint: 'Check the spelling, and that the path exists at that point of the build (after packages, files and accounts); or drop the entry.',
          details: { file: spec.file, field: `remove[${i}]`, pattern },
        },
      );
    }
    const hit = new Set<string>();
    for (const key of sortBytes(matches)) {
      if (withinAny(parentPath(key), removed)) continue; // already gone with a removed directory
      tree.remove(key);
      removed.add(key);
      hit.add(key);
    }
    const lost = [...added].filter(([key]) => withinAny(key, hit));
    for (const [key] of lost) added.delete(key);
    if (lost.length > 0) {
      const fields = [...new Set(lost.map(([, field]) => field))].join(', ');
      const [first] = lost[0] as [string, string];
      notes.push(
        `${specField(spec, ['remove', i])}: ${pattern} deletes ${lost.length === 1 ? 'a path' : `${lost.length} paths`} that ${fields} ${lost.length === 1 ? 'adds' : 'add'} (/${first}${lost.length > 1 ? ', ...' : ''}): remove runs after files, so the image does not have ${lost.length === 1 ? 'it' : 'them'}; narrow the pattern or drop what it should not delete`,
      );
    }
  });
  return removed;
}

/** The files and links the spec's `files` entries put in the tree (origin `files[N]`), key to field. */
function filesAdded(tree: FileTree): Map<string, string> {
  const found: string[] = [];
  for (const key of tree.keys()) {
    const node = tree.get(key);
    if (node !== undefined && node.kind !== 'dir' && node.origin?.startsWith('files[') === true)
      found.push(key);
  }
  return new Map(sortBytes(found).map((key) => [key, tree.get(key)?.origin as string]));
}

function matchKeys(tree: FileTree, pattern: string): string[] {
  const parts = pattern.replace(/^\/+/, '').split('/');
  const first = parts.findIndex((p) => GLOB.test(p));
  if (first < 0) {
    const key = tree.resolveParents(pattern);
    return key !== '' && tree.get(key) !== undefined ? [key] : [];
  }
  // Resolve the literal directory before the first pattern component through the tree's symlinks.
  const literal = parts.slice(0, first).join('/');
  const dir = literal === '' ? '' : parentPath(tree.resolveParents(`${literal}/x`));
  const rest = parts.slice(first).map(componentRegex).join('/');
  const re = new RegExp(`^${dir === '' ? '' : `${escapeRegex(dir)}/`}${rest}$`);
  return [...tree.keys()].filter((k) => re.test(k));
}

function componentRegex(part: string): string {
  if (part === '**') return '(?:[^/]+(?:/[^/]+)*)';
  let out = '';
  for (const ch of part) out += ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : escapeRegex(ch);
  return out;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
