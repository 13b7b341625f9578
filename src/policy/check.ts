// The one call a build makes before fetching anything: every image and package source through the policy.
import { checkTemplates } from '../debian/fetch.js';
import { ImprintError } from '../errors.js';
import { formatReference, type ImageRef } from '../transport/reference.js';
import {
  DENIED_HINT,
  describeDenial,
  evaluatePolicy,
  type PolicyDecision,
  policyDenied,
} from './evaluate.js';
import {
  type ImageIdentifierOptions,
  imageIdentifier,
  parseImageIdentifier,
  sourceUrlIdentifier,
} from './identifiers.js';
import type { Policy } from './load.js';

/** The sources of a build, as the spec and command line name them. */
export interface BuildSources {
  /** Image references: imprint's transport syntax (`docker://`, `oci:`...) or bare Docker references. */
  images?: readonly (string | ImageRef)[];
  /** Debian archive URLs (`sources[].url`, or the host apt source resolved for a source without one). */
  sourceUrls?: readonly string[];
  /** Fetch URL templates (`fetch.sources`); those starting with `{url}` follow their archive URL and are not evaluated. */
  fetchTemplates?: readonly string[];
}

/** An image after the policy. */
export interface CheckedImage {
  input: string | ImageRef;
  /** The final identifier, e.g. `docker-image://docker.io/library/alpine:3.20@sha256:...`. */
  identifier: string;
  /** What to fetch: the final identifier as an image reference, and in imprint's transport syntax. */
  ref: ImageRef;
  reference: string;
  converted: boolean;
  decision: PolicyDecision;
}

/** A package source URL (or fetch template) after the policy. */
export interface CheckedUrl {
  input: string;
  /** What to fetch from: the final identifier (a normalised URL; a template as written). */
  url: string;
  converted: boolean;
  /** Absent for `{url}` templates, which are not evaluated. */
  decision?: PolicyDecision;
}

/** The result of checkSources, each list in input order. */
export interface CheckedSources {
  images: CheckedImage[];
  sourceUrls: CheckedUrl[];
  fetchTemplates: CheckedUrl[];
}

/**
 * Runs every source of a build through the policy, before anything is fetched. Returns what to fetch
 * instead (conversions applied); POLICY_DENIED listing every denied source with the rule that denied it;
 * POLICY_INVALID for a conversion loop or one that yields an unusable source; BAD_REFERENCE for an
 * invalid input. Relative layout/archive paths resolve against `options.baseDir`. Pure.
 */
export function checkSources(
  policy: Policy,
  sources: BuildSources,
  options: ImageIdentifierOptions = {},
): CheckedSources {
  const normalizeImage = (id: string): string => imageIdentifier(parseImageIdentifier(id, options), options);
  const images = (sources.images ?? []).map((input): CheckedImage => {
    const decision = evaluatePolicy(policy, imageIdentifier(input, options), { normalize: normalizeImage });
    const ref = parseImageIdentifier(decision.identifier, options);
    return {
      input,
      identifier: decision.identifier,
      ref,
      reference: formatReference(ref),
      converted: decision.conversions.length > 0,
      decision,
    };
  });
  const sourceUrls = (sources.sourceUrls ?? []).map((input): CheckedUrl => {
    const decision = evaluatePolicy(policy, sourceUrlIdentifier(input), { normalize: sourceUrlIdentifier });
    return { input, url: decision.identifier, converted: decision.conversions.length > 0, decision };
  });
  const normalizeTemplate = (template: string): string => {
    checkTemplates([template]);
    return template;
  };
  const fetchTemplates = (sources.fetchTemplates ?? []).map((input): CheckedUrl => {
    if (input.startsWith('{url}')) return { input, url: input, converted: false };
    const decision = evaluatePolicy(policy, input, { normalize: normalizeTemplate });
    return { input, url: decision.identifier, converted: decision.conversions.length > 0, decision };
  });
  // One entry per denied source: the host apt source of several suites is one URL, checked per suite.
  const denied = [
    ...new Map(
      [...images, ...sourceUrls, ...fetchTemplates]
        .map((c) => c.decision)
        .filter((d): d is PolicyDecision => d?.decision === 'deny')
        .map((d) => [`${d.input}\n${d.identifier}`, d] as const),
    ).values(),
  ];
  if (denied.length === 1) throw policyDenied(policy, denied[0] as PolicyDecision);
  if (denied.length > 1) throw manyDenied(policy, denied);
  return { images, sourceUrls, fetchTemplates };
}

function manyDenied(policy: Policy, denied: PolicyDecision[]): ImprintError {
  const first = denied[0] as PolicyDecision;
  const lines = denied.map((d) => `  ${describeDenial(policy, d)}`);
  return new ImprintError('POLICY_DENIED', `${denied.length} sources are denied:\n${lines.join('\n')}`, {
    hint: DENIED_HINT,
    details: {
      file: policy.file,
      identifier: first.identifier,
      input: first.input,
      ...(first.rule === undefined ? {} : { rule: first.rule }),
      conversions: first.conversions,
      denials: denied,
    },
  });
}
