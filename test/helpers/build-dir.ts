// Builds the spec in `dir` in the library, with the cache `cacheDir` and an empty environment: what
// the tests of build-time checks and codecs need of `imprint build`, without a CLI process.
import { type BuildResult, buildImage } from '../../src/build/build.js';
import { loadSpec } from '../../src/spec/index.js';
import { BlobStore } from '../../src/store/index.js';

export async function buildDir(dir: string, cacheDir: string): Promise<BuildResult> {
  return buildImage({ loaded: await loadSpec(dir), env: {}, store: new BlobStore(cacheDir), cacheDir });
}
