// THE list of paths whose content is non-deterministic (DESIGN §4 "Content"): one place, as data.
import { Readable } from 'node:stream';
import type { VNode } from '../../vfs/node.js';
import { sortBytes } from '../../vfs/path.js';
import type { FileTree } from '../../vfs/tree.js';

/** One entry of the removal list. Patterns are image paths: `*` within a component, `**` across components. */
export interface RemovalRule {
  pattern: string;
  /** 'delete' removes files and links (directories are kept); 'truncate' empties a file in place. */
  action: 'delete' | 'truncate';
  why: string;
  /** 'generated': only files a build step created, never files a package shipped. Default: any. */
  scope?: 'generated';
}

/**
 * Files that differ between two honest builds (clock, host state, randomness), removed or emptied
 * after packages and build steps. imprint's own install creates none of them; they appear when a
 * build runs tools (dpkg, apt, ldconfig, python, systemd) in the image.
 */
export const NONDETERMINISTIC_PATHS: readonly RemovalRule[] = [
  { pattern: 'var/log/dpkg.log', action: 'delete', why: 'dpkg log with timestamps' },
  { pattern: 'var/log/alternatives.log', action: 'delete', why: 'update-alternatives log with timestamps' },
  { pattern: 'var/log/bootstrap.log', action: 'delete', why: 'debootstrap log' },
  { pattern: 'var/log/apt/**', action: 'delete', why: 'apt history and term logs with timestamps' },
  { pattern: 'var/log/journal/**', action: 'delete', why: 'systemd journal' },
  {
    pattern: 'var/cache/ldconfig/aux-cache',
    action: 'delete',
    why: 'ldconfig cache of file stat data (mtimes, inodes)',
  },
  {
    pattern: 'var/cache/apt/**',
    action: 'delete',
    why: 'apt package caches (pkgcache.bin, downloaded .debs)',
  },
  { pattern: 'var/lib/apt/lists/**', action: 'delete', why: 'downloaded package indexes (change daily)' },
  { pattern: 'var/cache/debconf/*-old', action: 'delete', why: 'debconf database backups' },
  {
    pattern: 'var/lib/dpkg/*-old',
    action: 'delete',
    why: 'dpkg database backups (status-old, available-old)',
  },
  { pattern: 'var/cache/man/**', action: 'delete', why: 'man-db index built by mandb' },
  {
    pattern: '**/__pycache__/*.pyc',
    action: 'delete',
    why: 'byte code compiled at build time (embeds source mtimes)',
    scope: 'generated',
  },
  {
    pattern: 'etc/machine-id',
    action: 'truncate',
    why: 'unique per machine; empty means "generate at boot"',
  },
  { pattern: 'var/lib/dbus/machine-id', action: 'delete', why: 'unique per machine' },
  { pattern: 'var/lib/systemd/random-seed', action: 'delete', why: 'random seed' },
  { pattern: 'etc/passwd-', action: 'delete', why: 'backup written by shadow tools' },
  { pattern: 'etc/group-', action: 'delete', why: 'backup written by shadow tools' },
  { pattern: 'etc/shadow-', action: 'delete', why: 'backup written by shadow tools' },
  { pattern: 'etc/gshadow-', action: 'delete', why: 'backup written by shadow tools' },
  { pattern: 'root/.bash_history', action: 'delete', why: 'shell history of build steps' },
  { pattern: 'root/.python_history', action: 'delete', why: 'interpreter history of build steps' },
];

/** The pattern as an anchored regular expression over tree keys. */
export function removalPatternRegExp(pattern: string): RegExp {
  const parts = pattern.split('/');
  let re = '';
  parts.forEach((part, i) => {
    const sep = i === 0 ? '' : '/';
    if (part === '**') re += i === parts.length - 1 ? `${sep}.*` : i === 0 ? '(?:.*/)?' : '(?:/.*)?';
    else
      re +=
        (i === 1 && parts[0] === '**' ? '' : sep) +
        part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
  });
  return new RegExp(`^${re}$`);
}

export interface RemoveOptions {
  /** mtime of truncated files (the build epoch). */
  mtime: number;
  /** True for files a package shipped (kept by 'generated' rules). Default: none are. */
  isShipped?: (key: string, node: VNode) => boolean;
  rules?: readonly RemovalRule[];
}

/**
 * Applies the removal list to `tree`: deletes matching files and links (never directories), empties
 * matching 'truncate' files. Returns the keys changed, sorted. Cost: one pass over all keys.
 */
export function removeNondeterministic(tree: FileTree, options: RemoveOptions): string[] {
  const changed: string[] = [];
  const rules = (options.rules ?? NONDETERMINISTIC_PATHS).map((rule) => ({
    rule,
    re: removalPatternRegExp(rule.pattern),
  }));
  if (rules.length === 0) return [];
  // One pass over the tree with every pattern at once; then each rule, in order, over the few keys
  // that match any (the order of keys within a rule changes nothing: the result is sorted).
  const any = new RegExp(rules.map(({ re }) => `(?:${re.source})`).join('|'));
  const keys = [...tree.keys()].filter((key) => any.test(key));
  for (const { rule, re } of rules) {
    for (const key of keys) {
      if (!re.test(key)) continue;
      const node = tree.get(key);
      if (node === undefined || node.kind === 'dir') continue;
      if (rule.scope === 'generated' && options.isShipped?.(key, node)) continue;
      if (rule.action === 'delete') {
        tree.remove(key);
        changed.push(key);
      } else if (node.kind === 'file' && node.size > 0) {
        const { sha256: _old, ...emptied } = node;
        tree.add(
          key,
          { ...emptied, size: 0, content: () => Readable.from([]), mtime: options.mtime },
          { onExisting: 'replace' },
        );
        changed.push(key);
      }
    }
  }
  return sortBytes([...new Set(changed)]);
}
