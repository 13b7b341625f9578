import { exists } from '../debian/effects/tree-io.js';
import type { FileTree } from '../vfs/tree.js';

/**
 * What a user should know about a package image they built from scratch: without /etc/os-release
 * (base-files), scanners cannot attribute its packages to a distribution; without /etc/passwd
 * (base-passwd, or the spec's accounts), no program can look up its user. Pure over the tree.
 */
export function imageNotes(tree: FileTree, fromPackages: boolean): string[] {
  if (!fromPackages) return [];
  const notes: string[] = [];
  if (!exists(tree, '/etc/os-release') && !exists(tree, '/usr/lib/os-release'))
    notes.push(
      'the image has no /etc/os-release, so vulnerability scanners (Trivy, Grype, Syft) cannot tell which distribution its packages come from; add base-files to packages',
    );
  // Debian always has base-passwd (Essential); a package set without it leaves no account at all.
  if (!exists(tree, '/etc/passwd'))
    notes.push(
      'the image has no /etc/passwd, so programs that look up the user they run as fail (ssh: "No user exists for uid 0"; git, whoami, Python\'s getpass); add base-passwd to packages (root, nobody, www-data and the other Debian system users) or declare accounts (root and nobody come with them)',
    );
  return notes;
}
