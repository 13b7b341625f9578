// Safe streaming tar reader: a state machine over header blocks that never buffers bodies.
import type { Readable } from 'node:stream';
import { type ErrorCode, errorText, ImprintError } from '../errors.js';
import { ByteSource } from './byte-source.js';
import { EntryBody } from './entry-body.js';
import { padding } from './entry-header.js';
import { BLOCK_SIZE, type DecodedHeader, decodeHeader, isZeroBlock } from './header.js';
import { decodePax } from './pax.js';
import { type EntryMeta, resolveEntry } from './read-entry.js';
import type { TarReadEntry, TarReadLimits } from './types.js';

export type { TarReadEntry, TarReadLimits } from './types.js';

/** Default bound on PAX header bytes (per entry, and for all global headers together). */
export const DEFAULT_MAX_PAX_BYTES = 1024 * 1024;
/** Default bound on the bytes of one path or link target. */
export const DEFAULT_MAX_PATH_BYTES = 64 * 1024;

/** Keys a global header may not set: applied to every later entry they would only do harm. */
const ENTRY_ONLY_KEYS = new Set(['path', 'linkpath', 'size']);

interface State {
  archive: string;
  src: ByteSource;
  limits: Required<TarReadLimits>;
  global: Map<string, Buffer>;
  globalBytes: number;
}

/**
 * Reads entries one at a time (ustar, old GNU, v7; PAX 'x'/'g'; GNU 'L'/'K'; base-256 numbers).
 * Each entry's `body` streams straight from `source`; an unread body is skipped when the next entry is
 * requested, so consume it (or not) before advancing. Stops at two zero blocks (one zero block or the
 * end of the last entry's padding followed by end of stream are tolerated) and then drains the rest of
 * `source`. Breaking out early closes `source`. Every error is an ImprintError naming `archive`, the
 * entry and the byte offset; see read-entry.ts for the safety rules `allowUnsafe` turns off.
 */
export async function* readTar(
  source: Readable,
  opts: { archive: string; limits?: TarReadLimits; allowUnsafe?: boolean },
): AsyncGenerator<TarReadEntry> {
  const l = opts.limits ?? {};
  const st: State = {
    archive: opts.archive,
    src: new ByteSource(source, (err, offset) =>
      err instanceof ImprintError
        ? err
        : new ImprintError('IO', `${opts.archive}: reading failed at byte ${offset}: ${errorText(err)}`, {
            cause: err,
            details: { archive: opts.archive, offset },
          }),
    ),
    limits: {
      maxPaxBytes: l.maxPaxBytes ?? DEFAULT_MAX_PAX_BYTES,
      maxPathBytes: l.maxPathBytes ?? DEFAULT_MAX_PATH_BYTES,
      maxEntries: l.maxEntries ?? Number.POSITIVE_INFINITY,
      maxEntrySize: l.maxEntrySize ?? Number.POSITIVE_INFINITY,
    },
    global: new Map(),
    globalBytes: 0,
  };
  let body: EntryBody | null = null;
  let count = 0;
  try {
    for (;;) {
      const next = await readHeaders(st);
      if (next === null) break;
      const { header, meta, headerOffset, dataOffset } = next;
      const { entry, dataSize } = resolveEntry(header, meta, {
        archive: st.archive,
        offset: dataOffset - BLOCK_SIZE,
        allowUnsafe: opts.allowUnsafe === true,
        maxPathBytes: st.limits.maxPathBytes,
      });
      const at = { entry: entry.path, offset: dataOffset - BLOCK_SIZE };
      if (++count > st.limits.maxEntries) {
        throw fail(st, 'TAR_LIMIT', `more than ${st.limits.maxEntries} entries`, at);
      }
      if (dataSize > st.limits.maxEntrySize) {
        throw fail(st, 'TAR_LIMIT', `entry is ${dataSize} bytes, the limit is ${st.limits.maxEntrySize}`, at);
      }
      // a GNU dumpdir's data is skipped, not exposed: only a file's body is
      const current = new EntryBody(st.src, entry.size, () =>
        fail(
          st,
          'TAR_INVALID',
          `archive ends inside the body (${dataSize} bytes from byte ${dataOffset})`,
          at,
        ),
      );
      body = current;
      yield {
        ...entry,
        headerOffset,
        dataOffset,
        chunks: () => current.chunks(),
        // The Readable is made only if the consumer asks for it.
        get body() {
          return current.readable;
        },
      };
      body = null;
      await current.finish();
      await skipExactly(
        st,
        dataSize - entry.size + padding(dataSize),
        'the data and padding after a header',
        at,
      );
    }
    await st.src.drain();
  } finally {
    body?.destroy();
    await st.src.close();
  }
}

interface HeaderRun {
  header: DecodedHeader;
  meta: EntryMeta;
  headerOffset: number;
  dataOffset: number;
}

/** Reads meta headers up to and including the next entry's ustar block; null at end of archive. */
async function readHeaders(st: State): Promise<HeaderRun | null> {
  const local = new Map<string, Buffer>();
  let longName: Buffer | null = null;
  let longLink: Buffer | null = null;
  let localBytes = 0;
  let first = -1;
  for (;;) {
    const offset = st.src.offset;
    const block = await st.src.read(BLOCK_SIZE);
    const pending = first >= 0;
    if (block.length === 0) {
      if (pending)
        throw fail(st, 'TAR_INVALID', 'archive ends after an extended header, before its entry', { offset });
      return null;
    }
    if (block.length < BLOCK_SIZE) {
      throw fail(st, 'TAR_INVALID', `truncated header: ${block.length} of ${BLOCK_SIZE} bytes`, { offset });
    }
    if (isZeroBlock(block)) {
      if (pending)
        throw fail(st, 'TAR_INVALID', 'end of archive after an extended header, before its entry', {
          offset,
        });
      const second = await st.src.read(BLOCK_SIZE);
      if (!isZeroBlock(second)) {
        throw fail(st, 'TAR_INVALID', 'a single zero block is followed by data', {
          offset: offset + BLOCK_SIZE,
        });
      }
      return null;
    }
    let h: DecodedHeader;
    try {
      h = decodeHeader(block);
    } catch (err) {
      throw rewrap(st, err, { offset, entry: rawName(block) });
    }
    const at = { offset, entry: h.name.toString('utf8') };
    if (h.size < 0) throw fail(st, 'TAR_INVALID', `negative size ${h.size}`, at);
    switch (h.typeflag) {
      case 'g':
      case 'x': {
        const isGlobal = h.typeflag === 'g';
        const used = isGlobal ? st.globalBytes : localBytes;
        if (h.size > st.limits.maxPaxBytes - used) {
          throw fail(
            st,
            'TAR_HEADER_TOO_LARGE',
            `PAX header of ${h.size} bytes exceeds the limit of ${st.limits.maxPaxBytes} bytes${used > 0 ? ` (${used} already read)` : ''}`,
            at,
          );
        }
        if (isGlobal) st.globalBytes += h.size;
        else localBytes += h.size;
        if (!isGlobal && first < 0) first = offset;
        const data = await readMeta(st, h.size, at);
        let records: ReturnType<typeof decodePax>;
        try {
          records = decodePax(data);
        } catch (err) {
          const inner = (err as ImprintError).details?.offset;
          throw rewrap(st, err, {
            ...at,
            offset: offset + BLOCK_SIZE + (typeof inner === 'number' ? inner : 0),
          });
        }
        for (const { key, value } of records) {
          if (isGlobal && ENTRY_ONLY_KEYS.has(key)) {
            throw fail(
              st,
              'TAR_INVALID',
              `global PAX header sets ${JSON.stringify(key)}, which only an entry may set`,
              at,
            );
          }
          if (isGlobal && value.length === 0) st.global.delete(key);
          else if (isGlobal) st.global.set(key, value);
          else local.set(key, value);
        }
        continue;
      }
      case 'L':
      case 'K': {
        if (h.size > st.limits.maxPathBytes) {
          const what = h.typeflag === 'L' ? 'GNU long name' : 'GNU long link';
          throw fail(
            st,
            'TAR_HEADER_TOO_LARGE',
            `${what} of ${h.size} bytes exceeds the limit of ${st.limits.maxPathBytes}`,
            at,
          );
        }
        if (first < 0) first = offset;
        const data = await readMeta(st, h.size, at);
        const end = data.indexOf(0);
        const value = Buffer.from(end < 0 ? data : data.subarray(0, end));
        if (h.typeflag === 'L') longName = value;
        else longLink = value;
        continue;
      }
      default: {
        const pax = new Map(st.global);
        // an empty per-entry value deletes the global one (POSIX)
        for (const [k, v] of local) {
          if (v.length === 0) pax.delete(k);
          else pax.set(k, v);
        }
        return {
          header: h,
          meta: { pax, longName, longLink },
          headerOffset: first < 0 ? offset : first,
          dataOffset: st.src.offset,
        };
      }
    }
  }
}

/** Reads a meta header's data and its padding; both must be complete. */
async function readMeta(st: State, size: number, at: { offset: number; entry: string }): Promise<Buffer> {
  const data = await st.src.read(size);
  if (data.length < size) {
    throw fail(
      st,
      'TAR_INVALID',
      `archive ends inside an extended header (${data.length} of ${size} bytes)`,
      at,
    );
  }
  await skipExactly(st, padding(size), 'the padding after an extended header', at);
  return data;
}

async function skipExactly(
  st: State,
  n: number,
  what: string,
  at: { offset: number; entry: string },
): Promise<void> {
  if ((await st.src.skip(n)) < n) throw fail(st, 'TAR_INVALID', `archive ends inside ${what}`, at);
}

function fail(st: State, code: ErrorCode, why: string, at: { offset: number; entry?: string }): ImprintError {
  const who = at.entry === undefined ? '' : ` entry ${JSON.stringify(at.entry)}`;
  return new ImprintError(code, `${st.archive}:${who} at byte ${at.offset}: ${why}`, {
    details: {
      archive: st.archive,
      ...(at.entry === undefined ? {} : { entry: at.entry }),
      offset: at.offset,
    },
  });
}

/** Adds the archive, entry and offset to an error from the codecs. */
function rewrap(st: State, err: unknown, at: { offset: number; entry: string }): ImprintError {
  if (!(err instanceof ImprintError)) return fail(st, 'TAR_INVALID', String(err), at);
  return new ImprintError(
    err.code,
    `${st.archive}: entry ${JSON.stringify(at.entry)} at byte ${at.offset}: ${err.message}`,
    {
      hint: err.hint,
      cause: err,
      details: { ...err.details, archive: st.archive, entry: at.entry, offset: at.offset },
    },
  );
}

function rawName(block: Buffer): string {
  const end = block.indexOf(0);
  return block.subarray(0, end < 0 || end > 100 ? 100 : end).toString('utf8');
}
