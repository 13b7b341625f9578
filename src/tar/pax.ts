// PAX extended header records: "%d %s=%s\n", where the decimal length counts the whole record.
import { ImprintError } from '../errors.js';

/** One record; the value is raw bytes (xattr values are binary, everything else UTF-8 text). */
export interface PaxRecord {
  key: string;
  value: Buffer;
}

/** One record's bytes; throws TAR_INVALID for an empty key or one containing '=' or NUL. */
export function encodePaxRecord(key: string, value: Buffer | string): Buffer {
  if (key === '' || key.includes('=') || key.includes('\0')) {
    throw new ImprintError(
      'TAR_INVALID',
      `PAX keys must be non-empty without '=' or NUL, found ${JSON.stringify(key)}`,
    );
  }
  const body = Buffer.concat([
    Buffer.from(` ${key}=`, 'utf8'),
    typeof value === 'string' ? Buffer.from(value, 'utf8') : value,
    Buffer.from('\n', 'latin1'),
  ]);
  // the length prefix counts its own digits
  let total = body.length + String(body.length).length;
  while (String(total).length + body.length !== total) total = body.length + String(total).length;
  return Buffer.concat([Buffer.from(String(total), 'latin1'), body]);
}

/** The body of a PAX header: records sorted by key (UTF-8 byte order), so equal input gives equal bytes. */
export function encodePax(records: readonly PaxRecord[]): Buffer {
  const sorted = [...records].sort((a, b) =>
    Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8')),
  );
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.key === sorted[i - 1]!.key) {
      throw new ImprintError('TAR_INVALID', `duplicate PAX key ${JSON.stringify(sorted[i]!.key)}`);
    }
  }
  return Buffer.concat(sorted.map((r) => encodePaxRecord(r.key, r.value)));
}

/**
 * Parses a PAX header body into records in order (a later duplicate overrides an earlier one when the
 * caller folds them into a map). Throws TAR_INVALID with `details.offset` (within `data`) when malformed.
 */
export function decodePax(data: Buffer): PaxRecord[] {
  const records: PaxRecord[] = [];
  let pos = 0;
  while (pos < data.length) {
    const bad = (why: string): ImprintError =>
      new ImprintError('TAR_INVALID', `malformed PAX record at byte ${pos} of the extended header: ${why}`, {
        details: { offset: pos },
      });
    const space = data.indexOf(0x20, pos);
    if (space < 0 || space === pos || space - pos > 16) throw bad('expected "<length> <key>=<value>\\n"');
    let length = 0;
    for (let i = pos; i < space; i++) {
      const c = data[i]!;
      if (c < 0x30 || c > 0x39) throw bad('length is not decimal');
      length = length * 10 + (c - 0x30);
    }
    const end = pos + length;
    if (length <= space - pos + 1 || end > data.length) throw bad(`length ${length} runs past the header`);
    if (data[end - 1] !== 0x0a) throw bad('record does not end with a newline');
    const eq = data.indexOf(0x3d, space + 1);
    if (eq < 0 || eq >= end - 1 || eq === space + 1) throw bad('missing "key="');
    const key = data.subarray(space + 1, eq).toString('utf8');
    if (key.includes('\0')) throw bad('key contains NUL');
    records.push({ key, value: Buffer.from(data.subarray(eq + 1, end - 1)) });
    pos = end;
  }
  return records;
}
