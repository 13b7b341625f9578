import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

/** A 1-based line and column in the spec file. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** One step of a field path: a mapping key or a list index. */
export type PathSegment = string | number;

/** Maps a field path to where it is written; `key` asks for the key of the last segment, not its value. */
export type Locator = (path: readonly PathSegment[], key?: boolean) => SourcePosition;

/**
 * A Locator over a parsed YAML document: follows the path through mappings, lists and aliases and returns
 * the position of the deepest node that exists (a missing field points at its parent). Cost O(path * width).
 */
export function yamlLocator(doc: Document, lines: LineCounter): Locator {
  const position = (node: Node | null | undefined): SourcePosition | undefined => {
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  return (path, key = false) => {
    let node: unknown = doc.contents;
    let best: SourcePosition = position(doc.contents) ?? { line: 1, column: 1 };
    for (const [i, segment] of path.entries()) {
      if (isAlias(node)) node = node.resolve(doc);
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (pair === undefined) return best;
        const keyPos = isScalar(pair.key) ? position(pair.key) : undefined;
        if (keyPos !== undefined) best = keyPos;
        if (last && key) return best;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
      } else {
        return best;
      }
      const here = position(node as Node | null | undefined);
      if (here === undefined) return best;
      best = here;
    }
    return best;
  };
}

/** Formats a path as users write it: `files[2].mode`, `env["MY-VAR"]`; the document itself is `(document)`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(document)' : out;
}

/** A YAML syntax problem with its 1-based position. */
export interface YamlProblem {
  line: number;
  column: number;
  message: string;
  code: string;
}

/**
 * Parses YAML 1.2 (JSON included) the strict way imprint reads its files: unique keys, no merge keys,
 * the core schema. Returns the syntax problems (errors and warnings) and, when there are none, a
 * `toData()` that converts the document (aliases bounded; it throws what `yaml` throws) and the
 * locator of its nodes. Pure.
 */
export function parseYamlText(text: string): {
  problems: YamlProblem[];
  toData: () => unknown;
  locate: Locator;
} {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    version: '1.2',
    schema: 'core',
    merge: false,
  });
  const problems = [...doc.errors, ...doc.warnings].map((e) => {
    const { line, col } = lines.linePos(e.pos[0]);
    return { line, column: col, message: e.message, code: e.code };
  });
  return { problems, toData: () => doc.toJS({ maxAliasCount: 100 }), locate: yamlLocator(doc, lines) };
}
