import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorText, ImprintError } from '../errors.js';
import { type SpecIssue, specIssues, where } from '../spec/issues.js';
import { type Locator, parseYamlText } from '../spec/locate.js';
import { issueMessage } from '../spec/messages.js';
import { type CompiledSelector, compileSelector } from './match.js';
import { type PolicyAction, policySchema } from './schema.js';

/** Largest policy file read (a policy is configuration). */
export const MAX_POLICY_BYTES = 1024 * 1024;

/** One rule of a loaded policy, its selector compiled. */
export interface PolicyRule {
  /** 0-based position in the file's `rules` list. */
  index: number;
  action: PolicyAction;
  selector: CompiledSelector;
  /** CONVERT only: the identifier template (`$1`, `${name}` are groups of a WILDCARD or REGEX selector). */
  updates?: { identifier: string };
  /** 1-based position of the rule in its file, when it came from text. */
  line?: number;
  column?: number;
}

/** A validated source policy: its rules in file order. */
export interface Policy {
  /** Names the policy in errors (the file path, or `(inline policy)`). */
  file: string;
  rules: readonly PolicyRule[];
  /** sha256 (`sha256:<hex>`) of the file's bytes, when loadPolicy read it (a verification summary names it). */
  digest?: string;
}

/** Options of normalizePolicy. */
export interface NormalizePolicyOptions {
  /** Names the policy in errors. */
  file?: string;
  /** Maps field paths to positions in the source text, for error messages. */
  locate?: Locator;
}

/** Validates a parsed policy value and compiles its selectors; POLICY_INVALID lists every problem. Pure. */
export function normalizePolicy(value: unknown, options: NormalizePolicyOptions = {}): Policy {
  const file = options.file ?? '(inline policy)';
  const result = policySchema.safeParse(value, { error: issueMessage, reportInput: true });
  if (!result.success)
    throw policyInvalid(file, specIssues(result.error.issues, policySchema, options.locate));
  const rules = result.data.rules.map((r, index): PolicyRule => {
    const rule: PolicyRule = {
      index,
      action: r.action,
      selector: compileSelector(r.selector.identifier, r.selector.match_type),
    };
    if (r.action === 'CONVERT') rule.updates = { identifier: r.updates?.identifier ?? '' };
    const pos = options.locate?.(['rules', index]);
    if (pos !== undefined) {
      rule.line = pos.line;
      rule.column = pos.column;
    }
    return rule;
  });
  return { file, rules };
}

/** Parses policy text, JSON or YAML (read as YAML 1.2, which JSON is part of); POLICY_INVALID with positions. Pure. */
export function parsePolicy(text: string, file: string): Policy {
  const { problems, toData, locate } = parseYamlText(text);
  if (problems.length > 0) {
    throw policyInvalid(
      file,
      problems.map((p) => ({
        path: '(document)',
        segments: [],
        line: p.line,
        column: p.column,
        message: p.message,
      })),
    );
  }
  let value: unknown;
  try {
    value = toData();
  } catch (err) {
    throw new ImprintError('POLICY_INVALID', `${file} could not be read as data: ${errorText(err)}`, {
      cause: err,
      details: { file },
    });
  }
  return normalizePolicy(value, { file, locate });
}

/**
 * Reads and validates a source policy file (JSON, or YAML with the same fields). IO when it cannot be
 * read; POLICY_INVALID when it is over 1 MiB, not UTF-8, not JSON/YAML or not a valid policy.
 */
export async function loadPolicy(path: string): Promise<Policy> {
  const file = resolve(path);
  const fail = (err: unknown): never => {
    throw new ImprintError('IO', `cannot read the source policy ${file}: ${errorText(err)}`, {
      hint: 'Pass the path of a source policy file (JSON or YAML).',
      cause: err,
      details: { file },
    });
  };
  const info = await stat(file).catch(fail);
  if (info.size > MAX_POLICY_BYTES) {
    throw new ImprintError(
      'POLICY_INVALID',
      `${file} is ${info.size} bytes; expected a source policy of at most ${MAX_POLICY_BYTES} bytes`,
      { details: { file } },
    );
  }
  const raw = await readFile(file).catch(fail);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch (err) {
    throw new ImprintError('POLICY_INVALID', `${file} is not valid UTF-8 text`, {
      cause: err,
      details: { file },
    });
  }
  return { ...parsePolicy(text, file), digest: `sha256:${createHash('sha256').update(raw).digest('hex')}` };
}

/** The POLICY_INVALID error listing every issue as `file:line:column: rules[i].field: message`. */
export function policyInvalid(file: string, issues: SpecIssue[]): ImprintError {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const lines = issues.map((i) => `  ${where(file, i)}: ${i.path}: ${i.message}`);
  const first = issues[0];
  const ruleIndex = first?.segments[0] === 'rules' ? first.segments[1] : undefined;
  return new ImprintError(
    'POLICY_INVALID',
    `${file} is not a valid source policy (${count}):\n${lines.join('\n')}`,
    {
      hint: 'A source policy is {"rules": [{"action": "ALLOW|DENY|CONVERT", "selector": {"identifier": "...", "match_type": "EXACT|WILDCARD|REGEX"}, "updates": {"identifier": "..."}}]}, as in BuildKit.',
      details: {
        file,
        issues,
        ...(first === undefined ? {} : { field: first.path, line: first.line, column: first.column }),
        ...(typeof ruleIndex === 'number' ? { rule: ruleIndex } : {}),
      },
    },
  );
}
