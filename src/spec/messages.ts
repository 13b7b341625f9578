import type * as z from 'zod';

/** How a value found in the spec is named in messages: `the string "x"`, `the number 5`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value (null)';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `the ${typeof value} ${String(value)}`;
  }
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

/** A zod `error` option whose message is "expected <what>, found <the input>". */
export function expected(what: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => `expected ${what}, found ${describeValue(issue.input)}` };
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/**
 * The per-parse zod error map: messages for issues whose schema gives none, always naming what was
 * expected and what was found. Unknown keys are reported separately (one issue per key, with suggestions).
 */
export function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  const found = describeValue(issue.input);
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required field is missing';
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, found ${found}`;
    case 'invalid_value':
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, found ${found}`;
    case 'too_small':
      if (issue.origin === 'array')
        return `expected a list of at least ${String(issue.minimum)} item(s), found ${found === 'a list' ? 'an empty list' : found}`;
      if (issue.origin === 'string') return `expected a non-empty string, found ${found}`;
      return `expected a number ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}, found ${found}`;
    case 'too_big':
      if (issue.origin === 'array') return `expected a list of at most ${String(issue.maximum)} item(s)`;
      if (issue.origin === 'string')
        return `expected a string of at most ${String(issue.maximum)} characters`;
      return `expected a number ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}, found ${found}`;
    case 'invalid_format':
      return `expected a string matching ${issue.pattern ?? issue.format}, found ${found}`;
    default:
      return undefined;
  }
}
