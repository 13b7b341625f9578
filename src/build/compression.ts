import { type CompressOptions, zstdAvailable } from '../compress/index.js';
import { ImprintError } from '../errors.js';
import { type LoadedSpec, specField } from '../spec/index.js';

/**
 * The layers' codec options from the spec, checked before anything is fetched or installed: zstd
 * layers need Node's built-in zstd (Node >= 22.15), which is otherwise found missing only when the
 * first layer is written. COMPRESSION_UNSUPPORTED names the spec's line.
 */
export function layerCompression(loaded: LoadedSpec): CompressOptions {
  const { algorithm, level } = loaded.spec.compression;
  if (algorithm === 'zstd' && !zstdAvailable()) {
    throw new ImprintError(
      'COMPRESSION_UNSUPPORTED',
      `${specField(loaded, ['compression', 'algorithm'])}: zstd layers need Node's built-in zstd, which Node ${process.version} does not have`,
      {
        hint: 'Run imprint with Node >= 22.15, or use gzip.',
        details: { file: loaded.file, field: 'compression.algorithm', node: process.version },
      },
    );
  }
  return { compression: algorithm, level };
}
