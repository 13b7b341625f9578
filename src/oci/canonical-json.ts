import { ImprintError } from '../errors.js';

/**
 * The canonical JSON bytes of a value: object keys sorted by UTF-16 code units (as RFC 8785), no
 * insignificant whitespace, UTF-8, integers only. `undefined` members are omitted (as JSON.stringify does).
 * Throws INVALID_JSON for non-integer numbers, non-plain objects, cycles.
 */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(canonicalJsonText(value), 'utf8');
}

/** canonicalJson as a string. */
export function canonicalJsonText(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, new Set(), '$');
  return parts.join('');
}

function write(value: unknown, out: string[], seen: Set<object>, path: string): void {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new ImprintError(
          'INVALID_JSON',
          `${path}: only safe integers are allowed in canonical JSON, found ${value}`,
        );
      }
      out.push(String(value));
      return;
    case 'object':
      break;
    default:
      throw new ImprintError('INVALID_JSON', `${path}: cannot encode a ${typeof value} in JSON`);
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (seen.has(value)) throw new ImprintError('INVALID_JSON', `${path}: cyclic structure`);
  seen.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(',');
      write(item === undefined ? null : item, out, seen, `${path}[${i}]`);
    });
    out.push(']');
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new ImprintError(
        'INVALID_JSON',
        `${path}: only plain objects can be encoded, found ${proto?.constructor?.name}`,
      );
    }
    const keys = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort(compareCodeUnits);
    out.push('{');
    keys.forEach((k, i) => {
      if (i > 0) out.push(',');
      out.push(JSON.stringify(k), ':');
      write((value as Record<string, unknown>)[k], out, seen, `${path}.${k}`);
    });
    out.push('}');
  }
  seen.delete(value);
}

/** Locale-independent string order (UTF-16 code units); never use localeCompare for output. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
