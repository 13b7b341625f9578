import type { Readable } from 'node:stream';
import { type Digest, type Expectation, VerifyingStream } from '../digest/index.js';
import { errorText, ImprintError } from '../errors.js';
import type { SmallBlob } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';

/** 4 MiB: the default bound for blobs read whole (manifests, indexes, configs). */
export const DEFAULT_MAX_BLOB_BYTES = 4 * 1024 * 1024;

/**
 * Wraps `source` so that the returned stream fails with DIGEST_MISMATCH / SIZE_MISMATCH at its end
 * when the bytes do not match `expect`. Destroying the returned stream destroys `source`; errors of
 * `source` surface on the returned stream as IO errors naming `what`.
 */
export function verifiedStream(source: Readable, expect: Expectation, what: string): Readable {
  const check = new VerifyingStream(expect, what);
  source.on('error', (err) => {
    check.destroy(
      err instanceof ImprintError
        ? err
        : new ImprintError('IO', `reading ${what}: ${errorText(err)}`, { cause: err }),
    );
  });
  check.on('close', () => source.destroy());
  return source.pipe(check);
}

/**
 * Reads a whole stream into memory, failing once more than `maxBytes` arrive. Only for small
 * blobs (manifests, configs); cost: the blob's size in memory.
 */
export async function readBounded(stream: Readable, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > maxBytes) throw tooLarge(what, `more than ${maxBytes}`, maxBytes);
      chunks.push(buf);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks, total);
}

/** The error for a blob that is larger than a whole-read allows. */
export function tooLarge(what: string, size: number | string, maxBytes: number): ImprintError {
  return new ImprintError(
    'INVALID_IMAGE',
    `${what} is ${size} bytes; at most ${maxBytes} bytes are read whole`,
    {
      hint: 'Manifests, indexes and configs are small JSON documents; a larger one is corrupt or hostile.',
      details: { size, maxBytes },
    },
  );
}

/** What a reader's `open` takes for a blob read whole: the descriptor, or the digest alone when that is all there is. */
export function openTarget(desc: SmallBlob): Pick<Descriptor, 'digest' | 'size'> | Digest {
  return desc.size === undefined ? desc.digest : { digest: desc.digest, size: desc.size };
}

/** Reads a small blob whole through `open`, refusing it up front when its declared size exceeds `maxBytes`. */
export async function readSmallBlob(
  open: () => Promise<Readable>,
  desc: { digest: Digest; size?: number | undefined },
  maxBytes: number,
  what: string,
): Promise<Buffer> {
  if (desc.size !== undefined && desc.size > maxBytes) throw tooLarge(what, desc.size, maxBytes);
  return readBounded(await open(), maxBytes, what);
}
