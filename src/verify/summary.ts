// The in-toto verification summary (SLSA VSA v1) that `imprint verify --attest` writes.

import { IN_TOTO_STATEMENT, type InTotoStatement } from '../attest/provenance.js';
import type { Digest } from '../digest/index.js';
import { digestHex } from '../digest/index.js';

export const SLSA_VERIFICATION_SUMMARY = 'https://slsa.dev/verification_summary/v1';
/** The policy a rebuild verification applies: rebuild from the provenance, digests must be equal. */
export const REBUILD_POLICY = 'https://imprint.dev/verify/rebuild/v1';

export interface SummaryInput {
  /** What was verified (the reference as given). */
  resourceUri: string;
  /** The digest named as subject: the image index (or the manifest when the image has no index). */
  subject: Digest;
  passed: boolean;
  /** The provenance used, by digest (none when the verification failed before one was read). */
  provenance?: { uri: string; digest: Digest } | undefined;
  /** imprint's version doing the verification. */
  version: string;
  /** The source policy (`verify --policy`) the rebuild's inputs passed, by file URI and digest. */
  sourcePolicy?: { uri: string; digest: Digest };
}

/** The VSA statement of one verification. Pure; no time field (`timeVerified` is optional and varies). */
export function verificationSummary(input: SummaryInput): InTotoStatement<Record<string, unknown>> {
  return {
    _type: IN_TOTO_STATEMENT,
    subject: [{ name: input.resourceUri, digest: { sha256: digestHex(input.subject) } }],
    predicateType: SLSA_VERIFICATION_SUMMARY,
    predicate: {
      verifier: { id: `https://imprint.dev/verifier@${input.version}`, version: { imprint: input.version } },
      resourceUri: input.resourceUri,
      policy: {
        uri: REBUILD_POLICY,
        ...(input.sourcePolicy === undefined
          ? {}
          : {
              annotations: {
                sourcePolicy: {
                  uri: input.sourcePolicy.uri,
                  digest: { sha256: digestHex(input.sourcePolicy.digest) },
                },
              },
            }),
      },
      inputAttestations:
        input.provenance === undefined
          ? []
          : [{ uri: input.provenance.uri, digest: { sha256: digestHex(input.provenance.digest) } }],
      verificationResult: input.passed ? 'PASSED' : 'FAILED',
      verifiedLevels: input.passed ? ['SLSA_BUILD_LEVEL_1'] : [],
      slsaVersion: '1.0',
    },
  };
}
