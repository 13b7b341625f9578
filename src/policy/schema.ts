// The source policy file: BuildKit's JSON format (`sourcepolicy/pb/policy.proto` as Go's
// encoding/json reads it), kept strict: unknown keys and unusable fields are errors.
import * as z from 'zod';
import { expected } from '../spec/messages.js';
import { imageIdentifier, parseImageIdentifier } from './identifiers.js';
import { regexPattern, wildcardPattern } from './match.js';

/** Rule actions, in the order of BuildKit's enum (a number in the file means the n-th). */
export const POLICY_ACTIONS = ['ALLOW', 'DENY', 'CONVERT'] as const;
/** Match types, in the order of BuildKit's enum; WILDCARD (0) is the default. */
export const MATCH_TYPES = ['WILDCARD', 'EXACT', 'REGEX'] as const;

export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** A string enum that also takes BuildKit's numeric form (the enum's index), as Go's decoder does. */
function protoEnum<const T extends readonly [string, ...string[]]>(names: T, what: string) {
  return z.preprocess(
    (value) => (typeof value === 'number' && Number.isInteger(value) ? (names[value] ?? value) : value),
    z.enum(names, expected(what)),
  );
}

const NO_ATTRIBUTES =
  "imprint's sources carry no attributes (BuildKit's http.checksum and the like have nothing to act on)";

const selector = z.strictObject(
  {
    identifier: z
      .string(expected('a source identifier such as "docker-image://docker.io/library/alpine:latest"'))
      .min(1, expected('a non-empty source identifier')),
    match_type: protoEnum(MATCH_TYPES, '"WILDCARD", "EXACT" or "REGEX"').default('WILDCARD'),
    constraints: z
      .array(z.unknown(), expected('a list'))
      .max(0, { error: `expected no constraints: ${NO_ATTRIBUTES}` })
      .optional(),
  },
  expected('a mapping with identifier'),
);

const updates = z.strictObject(
  {
    identifier: z.string(expected('a source identifier')).optional(),
    attrs: z
      .record(z.string(), z.string(expected('a string')), expected('a mapping'))
      .refine((attrs) => Object.keys(attrs).length === 0, {
        error: `expected no attrs: ${NO_ATTRIBUTES}; pin an image by writing its digest in updates.identifier`,
      })
      .optional(),
  },
  expected('a mapping with identifier'),
);

const rule = z
  .strictObject(
    {
      action: protoEnum(POLICY_ACTIONS, '"ALLOW", "DENY" or "CONVERT"').default('ALLOW'),
      selector,
      updates: updates.optional(),
    },
    expected('a mapping with action and selector'),
  )
  .superRefine((r, ctx) => {
    selectorIssue(r.selector.identifier, r.selector.match_type, (message) =>
      ctx.addIssue({
        code: 'custom',
        path: ['selector', 'identifier'],
        message,
        input: r.selector.identifier,
      }),
    );
    if (r.action === 'CONVERT') {
      if (r.updates === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['updates'],
          message: 'required for CONVERT: expected updates.identifier, the source to use instead',
          input: undefined,
        });
      } else if ((r.updates.identifier ?? '') === '') {
        ctx.addIssue({
          code: 'custom',
          path: ['updates', 'identifier'],
          message: 'expected the source identifier to convert to, found nothing',
          input: r.updates.identifier,
        });
      }
    } else if (r.updates !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['updates'],
        message: `expected no updates: only CONVERT rules change a source, this rule is ${r.action}`,
        input: r.updates,
      });
    }
  });

/** The policy file's structure (BuildKit's `Policy`: version 1 and a list of rules). */
export const policySchema = z
  .strictObject(
    {
      version: z.literal(1, expected('version: 1 (the only source policy version)')).optional(),
      rules: z.array(rule, expected('a list of rules')).prefault([]),
    },
    expected('a mapping with rules (a source policy)'),
  )
  .meta({ title: 'source policy', description: "BuildKit-compatible source policy for imprint's inputs." });

/** A policy file as validated (before its selectors are compiled). */
export type PolicyFile = z.output<typeof policySchema>;

/**
 * Why a selector can never work, or undefined: `**` in a wildcard, a regex that does not compile, or
 * a literal `docker-image://` identifier not in the normal form imprint compares with.
 */
function selectorIssue(identifier: string, matchType: string, report: (message: string) => void): void {
  if (matchType === 'REGEX') {
    try {
      regexPattern(identifier);
    } catch (err) {
      report(`expected a regular expression, found ${JSON.stringify(identifier)}: ${(err as Error).message}`);
    }
    return;
  }
  if (matchType === 'WILDCARD') {
    try {
      wildcardPattern(identifier);
    } catch (err) {
      report((err as Error).message);
      return;
    }
    if (identifier.includes('*')) return;
  }
  if (!identifier.startsWith('docker-image://')) return;
  if (identifier.includes('*')) {
    report(
      'never matches: EXACT compares "*" literally; write match_type "WILDCARD" (the default) to use it as a wildcard',
    );
    return;
  }
  let normal: string;
  try {
    normal = imageIdentifier(parseImageIdentifier(identifier));
  } catch (err) {
    report(`expected a docker-image:// identifier of a valid image reference: ${(err as Error).message}`);
    return;
  }
  if (normal !== identifier) {
    report(`never matches: images are compared in normal form; write ${JSON.stringify(normal)}`);
  }
}
