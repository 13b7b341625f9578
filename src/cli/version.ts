import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** imprint's version, from package.json (recorded in provenance; part of what a rebuild must match). */
export const VERSION: string = (require('../../package.json') as { version: string }).version;
