// Cache records whose content decides an output's bytes (a layer record's diffIds, a cached SBOM)
// carry the sha256 of that content, so a record damaged on disk (a flipped bit, a block of zeros
// after a crash) reads as absent and is made again instead of reaching an image. Blobs need no such
// line: their name is their hash. A file is one header line and the content:
//
//   imprint-checked 1 <sha256 hex of the content> <content bytes>\n<content>

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { mkdirp } from './mkdirp.js';

const MAGIC = 'imprint-checked';

/**
 * The name ending of checked files. Not `.json`: imprint before this format read its records from
 * `<key>.json` as plain JSON, and a cached SBOM's key does not change with imprint's code, so an older
 * imprint sharing the cache would read a checked file and fail on its header line (an internal error).
 */
export const CHECKED_SUFFIX = '.checked';
/** Bump on any change of the header. */
const FORMAT = 1;

/** `content` with its header line. Pure. */
export function checkedBytes(content: Uint8Array): Buffer {
  const header = `${MAGIC} ${FORMAT} ${sha256Hex(content)} ${content.length}\n`;
  return Buffer.concat([Buffer.from(header), content]);
}

/** The content of a checked file's bytes, or undefined unless the header matches it (format, size, sha256). Pure. */
export function checkedContent(data: Buffer): Buffer | undefined {
  const nl = data.indexOf(10);
  if (nl < 0 || nl > 200) return undefined;
  const [magic, format, sha, size, ...rest] = data.toString('latin1', 0, nl).split(' ');
  const content = data.subarray(nl + 1);
  if (
    rest.length !== 0 ||
    magic !== MAGIC ||
    format !== String(FORMAT) ||
    size !== String(content.length) ||
    sha !== sha256Hex(content)
  )
    return undefined;
  return content;
}

/**
 * Writes `content` to `file` with its header, atomically (temporary file, fsync, rename), making
 * the directory first. Rejects as writeFileAtomic does.
 */
export async function writeCheckedFile(file: string, content: Uint8Array): Promise<void> {
  await mkdirp(dirname(file));
  await writeFileAtomic(file, checkedBytes(content));
}

/** The content of a checked file; undefined when it is missing, unreadable, or does not match its header. */
export async function readCheckedFile(file: string): Promise<Buffer | undefined> {
  const data = await readFile(file).catch(() => undefined);
  return data === undefined ? undefined : checkedContent(data);
}

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
