// The URL templates of `fetch.sources` and `lock --fetch-source`: which placeholders they may use.
// Apart from fetch.ts so that the spec's schema checks templates without loading the fetcher.
import { ImprintError } from '../errors.js';

/** Placeholders a fetch template may use. */
export const TEMPLATE_FIELDS = ['url', 'filename', 'sha256', 'name', 'version', 'arch'] as const;

/** A `{name}` in a template; group 1 is the name. */
export const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Throws SPEC_INVALID for a template with an unknown placeholder or a scheme other than http(s)/file. Pure. */
export function checkTemplates(templates: readonly string[]): void {
  for (const t of templates) {
    for (const m of t.matchAll(PLACEHOLDER)) {
      if (!(TEMPLATE_FIELDS as readonly string[]).includes(m[1] as string)) {
        throw new ImprintError(
          'SPEC_INVALID',
          `fetch source ${JSON.stringify(t)}: unknown placeholder {${m[1]}}`,
          {
            hint: `Templates may use ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(', ')}.`,
            details: { template: t, placeholder: m[1] },
          },
        );
      }
    }
    if (!/^(\{url\}|https?:\/\/|file:\/\/)/.test(t)) {
      throw new ImprintError(
        'SPEC_INVALID',
        `fetch source ${JSON.stringify(t)}: expected an http(s):// or file:// URL template, or one starting with {url}`,
        {
          hint: 'For a local directory write file:///path/to/dir/{filename}.',
          details: { template: t },
        },
      );
    }
  }
}
