import * as z from 'zod';
import { ImprintError } from '../errors.js';
import { dockerfileKeyHint } from './dockerfile-keys.js';
import { formatPath, type Locator, type PathSegment } from './locate.js';
import { nearest } from './suggest.js';

/** One problem in a spec, located in its file. */
export interface SpecIssue {
  /** Field path as users write it, e.g. `files[2].mode`. */
  path: string;
  /** The same path as segments. */
  segments: PathSegment[];
  /** 1-based line and column in the spec file; undefined when the spec did not come from text. */
  line: number | undefined;
  column: number | undefined;
  /** What was expected and what was found. */
  message: string;
  /** The valid key or value the input probably meant, when one is close. */
  suggestion?: string;
}

/** Turns zod issues into located SpecIssues (one per unknown key, with the nearest valid key), in document order. */
export function specIssues(
  issues: readonly z.core.$ZodIssue[],
  schema: z.ZodType,
  locate: Locator | undefined,
): SpecIssue[] {
  const out: SpecIssue[] = [];
  const add = (segments: PathSegment[], message: string, key: boolean, suggestion?: string): void => {
    const pos = locate?.(segments, key);
    out.push({
      path: formatPath(segments),
      segments,
      line: pos?.line,
      column: pos?.column,
      message,
      ...(suggestion === undefined ? {} : { suggestion }),
    });
  };
  const visit = (issue: z.core.$ZodIssue, prefix: PathSegment[]): void => {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    // A value of the right kind for one branch of a union (a mapping where a name or a mapping may
    // be): that branch's own problems, not the union's "expected ... found a mapping".
    const branch =
      issue.code === 'invalid_union'
        ? issue.errors.filter((b) => !b.some((i) => i.path.length === 0 && i.code === 'invalid_type'))
        : [];
    if (branch.length === 1) {
      for (const inner of branch[0] ?? []) visit(inner, path);
    } else if (issue.code === 'unrecognized_keys') {
      const known = objectKeysAt(schema, path);
      for (const key of issue.keys) {
        const instead = path.length === 0 ? dockerfileKeyHint(key) : undefined;
        const suggestion = instead === undefined ? nearest(key, known) : undefined;
        // A YAML 1.1 merge key (docker-compose's `<<: *defaults`) is an ordinary key in YAML 1.2.
        const tail =
          instead !== undefined
            ? `; ${instead}`
            : key === '<<'
              ? '; YAML merge keys are not read (imprint reads YAML 1.2, which has none): write the fields out, or repeat the whole entry with an alias (*name)'
              : suggestion !== undefined
                ? `; did you mean ${suggestion}?`
                : known.length > 0
                  ? `; expected one of: ${known.join(', ')}`
                  : '';
        add([...path, key], `unknown key ${JSON.stringify(key)}${tail}`, true, suggestion);
      }
    } else if (issue.code === 'invalid_key') {
      const inner = issue.issues[0]?.message ?? 'invalid key';
      add(path, inner, true);
    } else if (issue.code === 'invalid_value' && typeof issue.input === 'string') {
      const suggestion = nearest(
        issue.input,
        issue.values.filter((v): v is string => typeof v === 'string'),
      );
      add(
        path,
        suggestion === undefined ? issue.message : `${issue.message}; did you mean ${suggestion}?`,
        false,
        suggestion,
      );
    } else {
      add(path, withOtherLine(issue, path, locate), false);
    }
  };
  for (const issue of issues) visit(issue, []);
  return out.sort(byPosition);
}

/**
 * A custom issue's message with `{line}` replaced by the line of the other entry it names, e.g. the
 * first of two duplicates: ` (line 3)`, or nothing when the spec did not come from text.
 * `params.also` is that entry's path as the tail of the issue's `path` (`[0, 'suites', 1]` for an
 * issue at `sources[2].suites[0]`).
 */
function withOtherLine(issue: z.core.$ZodIssue, path: PathSegment[], locate: Locator | undefined): string {
  if (issue.code !== 'custom' || !issue.message.includes('{line}')) return issue.message;
  const also = issue.params?.also;
  const other = Array.isArray(also)
    ? locate?.([...path.slice(0, path.length - also.length), ...(also as PathSegment[])], false)
    : undefined;
  return issue.message.replace('{line}', other === undefined ? '' : ` (line ${other.line})`);
}

/** The SPEC_INVALID error listing every issue with file, line, column and path. */
export function specInvalid(file: string, issues: SpecIssue[]): ImprintError {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const lines = issues.map((i) => `  ${where(file, i)}: ${i.path}: ${i.message}`);
  return new ImprintError(
    'SPEC_INVALID',
    `${file} is not a valid imprint spec (${count}):\n${lines.join('\n')}`,
    {
      hint: 'Fix the fields listed above; the JSON Schema in schema/imprint.schema.json lets editors check them as you type.',
      details: { file, issues },
    },
  );
}

/** `file:line:column` (or just the file when the position is unknown). */
export function where(file: string, pos: { line: number | undefined; column: number | undefined }): string {
  return pos.line === undefined ? file : `${file}:${pos.line}:${pos.column ?? 1}`;
}

function byPosition(a: SpecIssue, b: SpecIssue): number {
  const la = a.line ?? 0;
  const lb = b.line ?? 0;
  if (la !== lb) return la - lb;
  const ca = a.column ?? 0;
  const cb = b.column ?? 0;
  if (ca !== cb) return ca - cb;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** The keys the object schema at `path` accepts (for suggestions); empty when the path leads elsewhere. */
export function objectKeysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let node: unknown = schema;
  for (let i = 0; ; ) {
    if (
      node instanceof z.ZodOptional ||
      node instanceof z.ZodDefault ||
      node instanceof z.ZodPrefault ||
      node instanceof z.ZodNullable
    ) {
      node = node.unwrap();
    } else if (node instanceof z.ZodPipe) {
      node = node.in;
    } else if (node instanceof z.ZodUnion) {
      // The mapping form of a union (a package: a name, or a mapping with name, suite, ...).
      const object = (node.options as unknown[]).find(
        (o) => o instanceof z.ZodObject || (o instanceof z.ZodPipe && o.in instanceof z.ZodObject),
      );
      if (object === undefined) return [];
      node = object;
    } else if (i === path.length) {
      return node instanceof z.ZodObject ? Object.keys(node.shape).sort() : [];
    } else if (node instanceof z.ZodObject) {
      node = (node.shape as Record<string, unknown>)[String(path[i++])];
    } else if (node instanceof z.ZodArray) {
      node = node.element;
      i++;
    } else if (node instanceof z.ZodRecord) {
      node = node.valueType;
      i++;
    } else {
      return [];
    }
  }
}
