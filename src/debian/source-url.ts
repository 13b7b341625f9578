// One spelling per archive URL, so that the spec, the lock, fetch templates, policies and provenance
// agree on which source is which. Apart from sources.ts so that the spec, the lock checks and the
// policy use it without loading keyrings.

/**
 * The canonical form of an archive URL: scheme and host in lower case, no default port (as WHATWG
 * URL parsing writes them) and no trailing `/`, so `http://Host:80/debian/` and
 * `http://host/debian` are one source. A text that does not parse as a URL only loses its trailing
 * slashes (the spec's schema refuses those). Identity on URLs already in that form. Pure.
 */
export function normalizeSourceUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.replace(/\/+$/, '');
  }
  const auth =
    url.username === '' && url.password === ''
      ? ''
      : `${url.username}${url.password === '' ? '' : `:${url.password}`}@`;
  return `${url.protocol}//${auth}${url.host}${url.pathname.replace(/\/+$/, '')}${url.search}${url.hash}`;
}
