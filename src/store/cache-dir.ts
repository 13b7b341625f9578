import { isAbsolute, join } from 'node:path';

/**
 * The default root of imprint's cache: `$IMPRINT_CACHE_DIR`, else `$XDG_CACHE_HOME/imprint`, else
 * `<home>/.cache/imprint`. Pure: the caller passes the environment and home directory. Relative
 * `XDG_CACHE_HOME` values are ignored, as the XDG base directory specification requires.
 */
export function defaultCacheDir(
  env: Record<string, string | undefined>,
  home: string | (() => string),
): string {
  const explicit = env.IMPRINT_CACHE_DIR;
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, 'imprint');
  return join(typeof home === 'string' ? home : home(), '.cache', 'imprint');
}
