import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Set by scripts/bundle.mjs, which inlines the version (a bundle does not sit at dist/cli/). */
declare const IMPRINT_BUNDLED_VERSION: string | undefined;

/** imprint's version, from package.json (recorded in provenance; part of what a rebuild must match). */
export const VERSION: string =
  typeof IMPRINT_BUNDLED_VERSION === 'string'
    ? IMPRINT_BUNDLED_VERSION
    : (require('../../package.json') as { version: string }).version;
