// Selector matching and `updates.identifier` formatting with BuildKit's semantics (Go's regexp
// `MatchString`, `ReplaceAllString` and `Expand`), written over ECMAScript regular expressions.

/** How a selector's identifier is compared with a source identifier (BuildKit's `MatchType`). */
export type MatchType = 'WILDCARD' | 'EXACT' | 'REGEX';

/** A selector compiled once: EXACT has no pattern; WILDCARD an anchored pattern; REGEX the user's. */
export interface CompiledSelector {
  identifier: string;
  matchType: MatchType;
  /** Unanchored for REGEX (as Go's MatchString), `^...$` for WILDCARD; absent for EXACT. */
  pattern?: RegExp;
}

const SPECIAL = /[\\^$.*+?()[\]{}|]/g;

/**
 * The regular expression of a wildcard: every character literal except `*`, which is a capture group
 * `(.*)`; anchored at both ends. Throws a plain Error for `**`, which BuildKit refuses. Pure.
 */
export function wildcardPattern(wildcard: string): RegExp {
  if (wildcard.includes('**')) throw new Error('"**" is not a valid wildcard (use a single "*")');
  const body = wildcard
    .split('*')
    .map((part) => part.replace(SPECIAL, '\\$&'))
    .join('(.*)');
  return new RegExp(`^${body}$`);
}

/**
 * Compiles a REGEX selector: ECMAScript syntax (no `u` flag, so `\-` stays a literal `-`), with Go's
 * `(?P<name>...)` spelling of named groups accepted. Throws the SyntaxError of an invalid pattern. Pure.
 */
export function regexPattern(source: string): RegExp {
  return new RegExp(goNamedGroups(source));
}

/** Compiles a selector; throws (a plain Error or SyntaxError) for an invalid wildcard or regex. */
export function compileSelector(identifier: string, matchType: MatchType): CompiledSelector {
  if (matchType === 'EXACT') return { identifier, matchType };
  const pattern = matchType === 'REGEX' ? regexPattern(identifier) : wildcardPattern(identifier);
  return { identifier, matchType, pattern };
}

/**
 * True when the selector selects `identifier`: an identical string always matches (whatever the match
 * type, as in BuildKit); otherwise WILDCARD matches the whole identifier and REGEX any part of it.
 */
export function selectorMatches(selector: CompiledSelector, identifier: string): boolean {
  if (selector.identifier === identifier) return true;
  return selector.pattern?.test(identifier) ?? false;
}

/**
 * The identifier a CONVERT rule produces from `identifier` (which its selector matched). EXACT: the
 * template itself. WILDCARD: the template with `$1`/`${1}` replaced by what each `*` matched. REGEX:
 * every match of the pattern in the identifier replaced by the expanded template, the unmatched text
 * kept (Go's `ReplaceAllString`: anchor the pattern with `^...$` to replace the whole identifier).
 */
export function formatConversion(selector: CompiledSelector, identifier: string, template: string): string {
  if (selector.pattern === undefined) return template;
  if (selector.matchType === 'WILDCARD') {
    const match = selector.pattern.exec(identifier);
    return match === null ? identifier : expandTemplate(template, match);
  }
  return replaceAll(selector.pattern, identifier, template);
}

/**
 * Go's `Regexp.ReplaceAllString`: non-overlapping matches left to right, each replaced by the expanded
 * template; an empty match right after the previous match is not replaced. Cost O(matches * identifier).
 */
export function replaceAll(pattern: RegExp, text: string, template: string): string {
  const re = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
  let out = '';
  let lastEnd = 0;
  let search = 0;
  while (search <= text.length) {
    re.lastIndex = search;
    const match = re.exec(text);
    if (match === null) break;
    const start = match.index;
    const end = start + match[0].length;
    out += text.slice(lastEnd, start);
    if (end > lastEnd || start === 0) out += expandTemplate(template, match);
    lastEnd = end;
    const width = charWidth(text, search);
    search = Math.max(search + width, end);
  }
  return out + text.slice(lastEnd);
}

/**
 * Go's `Regexp.Expand` of a template: `$1`, `${1}`, `$name`, `${name}` insert a group (empty when the
 * group does not exist or did not take part); `$$` is a `$`. A name is the longest run of letters,
 * digits and `_` (so `$1x` names the group `1x`; write `${1}x`). A malformed `$` is kept as is. Pure.
 */
export function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  let rest = template;
  for (let dollar = rest.indexOf('$'); dollar >= 0; dollar = rest.indexOf('$')) {
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = groupReference(rest);
    if (ref === undefined) {
      out += '$';
      continue;
    }
    rest = rest.slice(ref.length);
    out += groupValue(match, ref.name) ?? '';
  }
  return out + rest;
}

const NAME_CHAR = /^[\p{L}\p{Nd}_]/u;

/** The group name at the start of `text` (after a `$`), and how many characters it takes. */
function groupReference(text: string): { name: string; length: number } | undefined {
  const brace = text.startsWith('{');
  let i = brace ? 1 : 0;
  while (i < text.length) {
    const ch = String.fromCodePoint(text.codePointAt(i) ?? 0);
    if (!NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  const name = text.slice(brace ? 1 : 0, i);
  if (name === '') return undefined;
  if (brace) {
    if (text[i] !== '}') return undefined;
    i++;
  }
  return { name, length: i };
}

function groupValue(match: RegExpExecArray, name: string): string | undefined {
  if (/^(0|[1-9][0-9]{0,7})$/.test(name)) return match[Number(name)];
  return match.groups?.[name];
}

function charWidth(text: string, at: number): number {
  const code = text.codePointAt(at);
  return code !== undefined && code > 0xffff ? 2 : 1;
}

/** Rewrites Go's `(?P<name>` as ECMAScript's `(?<name>`, outside escapes and character classes. */
function goNamedGroups(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i] as string;
    if (ch === '\\') {
      out += source.slice(i, i + 2);
      i++;
    } else if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
    } else if (ch === '[') {
      inClass = true;
      out += ch;
    } else if (source.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else {
      out += ch;
    }
  }
  return out;
}
