// Evaluating a policy against one source identifier, with BuildKit's semantics
// (`sourcepolicy/engine.go`): see README.md "Semantics".
import { errorText, ImprintError } from '../errors.js';
import { where } from '../spec/issues.js';
import { identifierKind, imageIdentifier, parseImageIdentifier, sourceUrlIdentifier } from './identifiers.js';
import type { Policy, PolicyRule } from './load.js';
import { formatConversion, selectorMatches } from './match.js';
import type { PolicyAction } from './schema.js';

/** Conversions one identifier may go through; one more is a loop (BuildKit's limit too). */
export const MAX_CONVERSIONS = 20;

/** A rule as decisions and errors name it. */
export interface RuleRef {
  /** 0-based index in the policy's `rules`. */
  index: number;
  action: PolicyAction;
  /** The selector's identifier and match type. */
  selector: { identifier: string; matchType: string };
  line?: number;
  column?: number;
}

/** One CONVERT step. */
export interface Conversion {
  rule: RuleRef;
  from: string;
  to: string;
}

/** The outcome of a policy for one source. */
export interface PolicyDecision {
  /** `convert`: allowed, under another identifier than the input. */
  decision: 'allow' | 'deny' | 'convert';
  /** The identifier evaluated first. */
  input: string;
  /** The identifier after every conversion (the input when none applied). */
  identifier: string;
  /** deny: the deciding DENY rule; allow: the deciding ALLOW rule, if any matched; convert: the last CONVERT. */
  rule?: RuleRef;
  /** Every conversion applied, in order. */
  conversions: Conversion[];
}

/** Options of evaluatePolicy. */
export interface EvaluateOptions {
  /**
   * Normalises (and checks) an identifier a CONVERT rule produced; throw to refuse it. Default: by the
   * input's kind, `docker-image://` and the other image schemes through imageIdentifier, URLs through
   * sourceUrlIdentifier, anything else unchanged.
   */
  normalize?: (identifier: string) => string;
}

/**
 * Evaluates `identifier` against the policy, as BuildKit does: rules are read in order; a matching ALLOW
 * or DENY sets the verdict (the last one wins); the first matching CONVERT that changes the identifier
 * restarts evaluation on the new identifier (an earlier verdict is dropped); no matching rule allows.
 * Returns the decision as data (a denial too); POLICY_INVALID for a conversion that yields an invalid
 * identifier, or more than MAX_CONVERSIONS conversions (a loop). Pure; cost O(rules * conversions).
 */
export function evaluatePolicy(
  policy: Policy,
  identifier: string,
  options: EvaluateOptions = {},
): PolicyDecision {
  const normalize = options.normalize ?? defaultNormalizer(identifier);
  const conversions: Conversion[] = [];
  let current = identifier;
  for (;;) {
    let verdict: PolicyRule | undefined;
    let converted = false;
    for (const rule of policy.rules) {
      if (!selectorMatches(rule.selector, current)) continue;
      if (rule.action !== 'CONVERT') {
        verdict = rule;
        continue;
      }
      const to = convert(policy, rule, current, normalize);
      if (to === current) continue;
      conversions.push({ rule: ruleRef(rule), from: current, to });
      if (conversions.length > MAX_CONVERSIONS) throw conversionLoop(policy, identifier, conversions);
      current = to;
      converted = true;
      break;
    }
    if (converted) continue;
    const last = conversions.at(-1);
    if (verdict?.action === 'DENY') {
      return {
        decision: 'deny',
        input: identifier,
        identifier: current,
        rule: ruleRef(verdict),
        conversions,
      };
    }
    const rule = last?.rule ?? (verdict === undefined ? undefined : ruleRef(verdict));
    return {
      decision: last === undefined ? 'allow' : 'convert',
      input: identifier,
      identifier: current,
      ...(rule === undefined ? {} : { rule }),
      conversions,
    };
  }
}

/** evaluatePolicy, throwing POLICY_DENIED (naming the rule, its position and the source) for a denial. */
export function enforcePolicy(
  policy: Policy,
  identifier: string,
  options: EvaluateOptions = {},
): PolicyDecision {
  const decision = evaluatePolicy(policy, identifier, options);
  if (decision.decision === 'deny') throw policyDenied(policy, decision);
  return decision;
}

/** What a denial's error suggests. */
export const DENIED_HINT =
  'Use sources the policy allows, or change the policy: among the ALLOW and DENY rules that match a source, the last one decides.';

/** The POLICY_DENIED error of a denial: names the source, the DENY rule (index, selector, position), and any conversions. */
export function policyDenied(policy: Policy, decision: PolicyDecision): ImprintError {
  return new ImprintError('POLICY_DENIED', `source ${describeDenial(policy, decision)}`, {
    hint: DENIED_HINT,
    details: {
      file: policy.file,
      identifier: decision.identifier,
      input: decision.input,
      ...(decision.rule === undefined ? {} : { rule: decision.rule }),
      conversions: decision.conversions,
    },
  });
}

/** `ID (converted from INPUT by rules[0]) is denied by rules[2] (DENY WILDCARD "...") at FILE:LINE:COL`. */
export function describeDenial(policy: Policy, decision: PolicyDecision): string {
  const rule = decision.rule;
  const by =
    rule === undefined
      ? `by ${policy.file}`
      : `by rules[${rule.index}] (${rule.action} ${rule.selector.matchType} ${JSON.stringify(rule.selector.identifier)}) at ${where(policy.file, { line: rule.line, column: rule.column })}`;
  const via =
    decision.conversions.length === 0
      ? ''
      : ` (converted from ${decision.input} by ${decision.conversions.map((c) => `rules[${c.rule.index}]`).join(', ')})`;
  return `${decision.identifier}${via} is denied ${by}`;
}

function convert(
  policy: Policy,
  rule: PolicyRule,
  current: string,
  normalize: (id: string) => string,
): string {
  const raw = formatConversion(rule.selector, current, rule.updates?.identifier ?? '');
  try {
    return normalize(raw);
  } catch (err) {
    const ref = ruleRef(rule);
    throw new ImprintError(
      'POLICY_INVALID',
      `${where(policy.file, { line: rule.line, column: rule.column })}: rules[${rule.index}].updates.identifier: converting ${current} gives ${JSON.stringify(raw)}, which is not a usable source: ${errorText(err)}`,
      {
        hint: 'A conversion keeps the kind of source: an image becomes another image identifier, a package source URL another URL.',
        cause: err,
        details: {
          file: policy.file,
          rule: ref,
          field: `rules[${rule.index}].updates.identifier`,
          from: current,
          to: raw,
        },
      },
    );
  }
}

function conversionLoop(policy: Policy, input: string, conversions: Conversion[]): ImprintError {
  const steps = conversions.slice(0, 4).map((c) => `rules[${c.rule.index}]: ${c.from} -> ${c.to}`);
  return new ImprintError(
    'POLICY_INVALID',
    `${policy.file}: converting ${input} did not settle after ${MAX_CONVERSIONS} conversions:\n  ${steps.join('\n  ')}\n  ...`,
    {
      hint: "CONVERT rules convert each other's results in a loop; make the target of a conversion one that no CONVERT rule selects.",
      details: { file: policy.file, identifier: input, conversions },
    },
  );
}

function ruleRef(rule: PolicyRule): RuleRef {
  const ref: RuleRef = {
    index: rule.index,
    action: rule.action,
    selector: { identifier: rule.selector.identifier, matchType: rule.selector.matchType },
  };
  if (rule.line !== undefined) ref.line = rule.line;
  if (rule.column !== undefined) ref.column = rule.column;
  return ref;
}

function defaultNormalizer(input: string): (identifier: string) => string {
  switch (identifierKind(input)) {
    case 'image':
      return (id) => imageIdentifier(parseImageIdentifier(id));
    case 'url':
      return sourceUrlIdentifier;
    default:
      return (id) => id;
  }
}
