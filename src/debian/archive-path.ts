// Which paths may name a file inside a Debian archive: apart from packages-index.ts so that the lock's
// parser checks its filenames without loading the Packages parser.

/**
 * Why `path` cannot be a path inside an archive (a Packages index's `Filename`, which the fetch URL
 * appends to the archive URL), or undefined when it can: it must be relative (no leading `/`, no
 * URL scheme), may not climb (`.` or `..` segments, also percent-encoded, which URL parsing
 * resolves), and may not hold a backslash, `?`, `#` or control characters. Pure.
 */
export function archivePathProblem(path: string): string | undefined {
  if (path.startsWith('/')) return 'it is absolute (starts with /)';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) return 'it has a URL scheme';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  const bad = /[\\?#\x00-\x1f\x7f]/.exec(path);
  if (bad !== null) return `it holds ${JSON.stringify(bad[0])}`;
  for (const segment of path.split('/')) {
    const plain = segment.replace(/%2e/gi, '.');
    if (plain === '.' || plain === '..') return `it has a ${JSON.stringify(segment)} segment`;
  }
  return undefined;
}
