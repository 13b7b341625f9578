// Streaming reader of Unix `ar` archives, the container format of .deb files (deb(5)).
import type { Readable } from 'node:stream';
import { ImprintError } from '../errors.js';
import { ByteSource } from '../tar/byte-source.js';
import { EntryBody } from '../tar/entry-body.js';

/** One member of an ar archive; `body` streams its bytes and is skipped if left unread. */
export interface ArMember {
  /** The member name with GNU ('name/') and BSD ('#1/len') spellings resolved. */
  name: string;
  /** Bytes of member data (for BSD long names, without the name bytes). */
  size: number;
  /** Offset of the member's 60-byte header in the archive. */
  headerOffset: number;
  body: Readable;
}

export interface ReadArOptions {
  /** Names the archive in errors (e.g. `python3_3.11.2-1_amd64.deb`). */
  archive: string;
  /** The archive's total size when known: a member reaching past it is refused up front. */
  size?: number;
  /** Largest GNU long-name table ('//') read; default 64 KiB. */
  maxNameTableBytes?: number;
}

const MAGIC = Buffer.from('!<arch>\n', 'latin1');
const HEADER_SIZE = 60;
const DEFAULT_MAX_NAME_TABLE = 64 * 1024;
const MAX_BSD_NAME = 4096;

/**
 * Reads the members of an ar archive one at a time, streaming each body from `source` (never buffered);
 * a body not consumed is skipped when the next member is requested. Understands the names dpkg and
 * binutils write: space-padded ('debian-binary   '), GNU ('data.tar.xz/', '//' long-name table with
 * '/123' references, '/' symbol table skipped) and BSD ('#1/<len>', name before the data). Rejects a
 * bad magic, malformed headers, names with '/' or '..', members reaching past `size` and truncation
 * with AR_INVALID naming the archive, member and offset. Breaking out early closes `source`.
 */
export async function* readAr(source: Readable, opts: ReadArOptions): AsyncGenerator<ArMember> {
  const src = new ByteSource(source);
  const fail = (why: string, at: { offset: number; member?: string }): ImprintError =>
    arError(opts.archive, why, at);
  let body: EntryBody | null = null;
  try {
    const magic = await src.read(MAGIC.length);
    if (!magic.equals(MAGIC)) {
      throw fail(`expected the ar magic "!<arch>\\n", found ${JSON.stringify(magic.toString('latin1'))}`, {
        offset: 0,
      });
    }
    let nameTable: Buffer | null = null;
    for (;;) {
      const headerOffset = src.offset;
      const header = await src.read(HEADER_SIZE);
      if (header.length === 0) break;
      if (header.length < HEADER_SIZE)
        throw fail(`truncated member header: ${header.length} of ${HEADER_SIZE} bytes`, {
          offset: headerOffset,
        });
      const rawName = header.toString('latin1', 0, 16);
      const at = { offset: headerOffset, member: rawName.trimEnd() };
      if (header[58] !== 0x60 || header[59] !== 0x0a)
        throw fail('member header does not end with "`\\n"', at);
      const sizeField = header.toString('latin1', 48, 58);
      if (!/^[0-9]+ *$/.test(sizeField))
        throw fail(`member size ${JSON.stringify(sizeField)} is not a decimal number`, at);
      for (const [from, to, what] of [
        [16, 28, 'mtime'],
        [28, 34, 'uid'],
        [34, 40, 'gid'],
        [40, 48, 'mode'],
      ] as const) {
        const field = header.toString('latin1', from, to);
        if (!/^[0-9]* *$/.test(field))
          throw fail(`member ${what} ${JSON.stringify(field)} is not a number`, at);
      }
      let dataSize = Number.parseInt(sizeField, 10);
      const dataOffset = headerOffset + HEADER_SIZE;
      if (opts.size !== undefined && dataOffset + dataSize > opts.size) {
        throw fail(
          `member of ${dataSize} bytes at byte ${dataOffset} reaches past the end of the ${opts.size}-byte archive`,
          at,
        );
      }
      const name = rawName.trimEnd();
      const pad = dataSize % 2;

      if (name === '/' || name === '/SYM64/') {
        await skipExactly(src, dataSize + pad, () => fail('archive ends inside the symbol table', at));
        continue;
      }
      if (name === '//') {
        const max = opts.maxNameTableBytes ?? DEFAULT_MAX_NAME_TABLE;
        if (dataSize > max)
          throw fail(`GNU long-name table of ${dataSize} bytes exceeds the limit of ${max}`, at);
        nameTable = await src.read(dataSize);
        if (nameTable.length < dataSize) throw fail('archive ends inside the long-name table', at);
        await skipExactly(src, pad, () => fail('archive ends inside padding', at));
        continue;
      }

      let memberName: string;
      if (name.startsWith('#1/')) {
        const digits = name.slice(3);
        if (!/^[0-9]+$/.test(digits))
          throw fail(`BSD long name length ${JSON.stringify(digits)} is not a number`, at);
        const len = Number.parseInt(digits, 10);
        if (len > MAX_BSD_NAME || len > dataSize)
          throw fail(`BSD long name of ${len} bytes does not fit`, at);
        const bytes = await src.read(len);
        if (bytes.length < len) throw fail('archive ends inside a BSD long name', at);
        const end = bytes.indexOf(0);
        memberName = bytes.toString('utf8', 0, end < 0 ? len : end);
        dataSize -= len;
      } else if (/^\/[0-9]+$/.test(name)) {
        if (nameTable === null) throw fail(`long name reference ${name} without a '//' name table`, at);
        const start = Number.parseInt(name.slice(1), 10);
        if (start >= nameTable.length)
          throw fail(`long name reference ${name} is outside the name table`, at);
        const end = nameTable.indexOf('/\n', start, 'latin1');
        memberName = nameTable.toString('utf8', start, end < 0 ? nameTable.length : end);
      } else {
        memberName = name.endsWith('/') ? name.slice(0, -1) : name;
      }
      const problem = memberNameProblem(memberName);
      if (problem !== null)
        throw fail(`member name ${JSON.stringify(memberName)} ${problem}`, { ...at, member: memberName });

      const current = new EntryBody(src, dataSize, () =>
        fail(`archive ends inside the member (${dataSize} bytes from byte ${src.offset})`, {
          ...at,
          member: memberName,
        }),
      );
      body = current;
      yield { name: memberName, size: dataSize, headerOffset, body: current.readable };
      body = null;
      await current.finish();
      await skipExactly(src, pad, () =>
        fail('archive ends inside the padding after a member', { ...at, member: memberName }),
      );
    }
  } finally {
    if (body !== null && !body.readable.destroyed) body.readable.destroy();
    await src.close();
  }
}

/** Why a member name is unacceptable (path-like, empty, control characters), or null. */
function memberNameProblem(name: string): string | null {
  if (name === '') return 'is empty';
  if (name.includes('/')) return "contains '/'";
  if (name === '.' || name === '..') return 'is a path component';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character';
  return null;
}

async function skipExactly(src: ByteSource, n: number, truncated: () => Error): Promise<void> {
  if (n > 0 && (await src.skip(n)) < n) throw truncated();
}

/** The AR_INVALID error for `archive`, naming the member and byte offset. */
function arError(archive: string, why: string, at: { offset: number; member?: string }): ImprintError {
  const who = at.member === undefined || at.member === '' ? '' : ` member ${JSON.stringify(at.member)}`;
  return new ImprintError('AR_INVALID', `${archive}:${who} at byte ${at.offset}: ${why}`, {
    hint: 'The file is not a valid ar archive (.deb); it may be truncated or not a Debian package.',
    details: { archive, ...(at.member === undefined ? {} : { member: at.member }), offset: at.offset },
  });
}
