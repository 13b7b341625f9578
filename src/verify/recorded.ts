// Reading a provenance statement back into the inputs a rebuild needs.
import { createHash } from 'node:crypto';
import { type FileSetEntry, fileSetDigest } from '../attest/file-sets.js';
import {
  BUILD_TYPE,
  ENTRIES_ANNOTATION,
  IN_TOTO_STATEMENT,
  LOCK_RESOURCE,
  type ResourceDescriptor,
  SLSA_PROVENANCE,
  SPEC_RESOURCE,
} from '../attest/provenance.js';
import { type Digest, isDigest } from '../digest/index.js';
import { ImprintError } from '../errors.js';

/** The inputs of a recorded build, as verify recreates them. */
export interface RecordedBuild {
  /** imprint version that built it (runDetails.builder.version.imprint). */
  version: string;
  spec: { path: string; bytes: Buffer };
  lock?: Buffer | undefined;
  files: Array<{ field: string; source: string; digest: Digest; entries: FileSetEntry[] }>;
  epoch: number;
  git?: { commit: string; dirty: boolean; remoteUrl?: string } | undefined;
  /** Subject digests: the image index, and each platform's manifest. */
  index: Digest;
  manifests: Record<string, Digest>;
}

function invalid(where: string, what: string): ImprintError {
  return new ImprintError('PROVENANCE_INVALID', `${where}: ${what}`, {
    hint: 'The provenance must be an in-toto statement with an SLSA v1 predicate written by `imprint build`.',
    details: { where },
  });
}

function obj(v: unknown, where: string, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw invalid(where, `expected ${what} to be an object`);
  return v as Record<string, unknown>;
}

/** Parses and checks a provenance statement (bytes of JSON); PROVENANCE_INVALID naming `where`. Pure. */
export function parseProvenance(bytes: Uint8Array, where: string): RecordedBuild {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalid(where, 'expected JSON, found text that does not parse');
  }
  const st = obj(doc, where, 'the statement');
  if (st._type !== IN_TOTO_STATEMENT)
    throw invalid(where, `expected _type ${IN_TOTO_STATEMENT}, found ${JSON.stringify(st._type)}`);
  if (st.predicateType !== SLSA_PROVENANCE)
    throw invalid(
      where,
      `expected predicateType ${SLSA_PROVENANCE}, found ${JSON.stringify(st.predicateType)}`,
    );
  const pred = obj(st.predicate, where, 'predicate');
  const def = obj(pred.buildDefinition, where, 'predicate.buildDefinition');
  if (def.buildType !== BUILD_TYPE)
    throw invalid(where, `expected buildType ${BUILD_TYPE}, found ${JSON.stringify(def.buildType)}`);
  const ext = obj(def.externalParameters, where, 'externalParameters');
  const run = obj(pred.runDetails, where, 'predicate.runDetails');
  const version = obj(
    obj(run.builder, where, 'runDetails.builder').version,
    where,
    'runDetails.builder.version',
  ).imprint;
  if (typeof version !== 'string')
    throw invalid(where, 'expected runDetails.builder.version.imprint to be a string');
  const epoch = ext.sourceDateEpoch;
  if (!Number.isSafeInteger(epoch) || (epoch as number) < 0)
    throw invalid(
      where,
      `expected externalParameters.sourceDateEpoch to be a non-negative integer, found ${JSON.stringify(epoch)}`,
    );
  if (!Array.isArray(def.resolvedDependencies))
    throw invalid(where, 'expected resolvedDependencies to be an array');
  const deps = def.resolvedDependencies as ResourceDescriptor[];

  const embedded = (name: string): Buffer | undefined => {
    const d = deps.find((r) => r?.name === name);
    if (d === undefined) return undefined;
    if (typeof d.content !== 'string') throw invalid(where, `expected resource ${name} to embed its content`);
    const bytes = Buffer.from(d.content, 'base64');
    const hex = createHash('sha256').update(bytes).digest('hex');
    if (d.digest?.sha256 !== hex)
      throw invalid(
        where,
        `resource ${name}: expected sha256 ${d.digest?.sha256}, its embedded content hashes to ${hex}`,
      );
    return bytes;
  };
  const specBytes = embedded(SPEC_RESOURCE);
  if (specBytes === undefined) throw invalid(where, 'expected a resolvedDependencies entry named spec');
  const specPath = String(obj(ext.spec, where, 'externalParameters.spec').path ?? 'imprint.yaml');
  if (specPath.includes('/') || specPath === '' || specPath.startsWith('.'))
    throw invalid(where, `expected a plain file name as the spec path, found ${JSON.stringify(specPath)}`);

  const files: RecordedBuild['files'] = [];
  for (const d of deps) {
    if (typeof d?.name !== 'string' || !/^files\[\d+\]$/.test(d.name)) continue;
    const entries = d.annotations?.[ENTRIES_ANNOTATION];
    if (!Array.isArray(entries))
      throw invalid(
        where,
        `resource ${d.name}: expected the annotation ${ENTRIES_ANNOTATION} listing its files`,
      );
    for (const e of entries as FileSetEntry[]) checkEntryPath(e?.path, where, d.name);
    const digest = fileSetDigest(entries as FileSetEntry[]);
    if (`sha256:${d.digest?.sha256}` !== digest)
      throw invalid(
        where,
        `resource ${d.name}: its listing hashes to ${digest}, not the recorded sha256 ${d.digest?.sha256}`,
      );
    files.push({
      field: d.name,
      source: String(d.uri ?? '').replace(/^file:/, ''),
      digest,
      entries: entries as FileSetEntry[],
    });
  }

  const gitDep = deps.find((r) => r?.name === 'git');
  const source = ext.source === undefined ? undefined : obj(ext.source, where, 'externalParameters.source');
  const git =
    gitDep?.digest?.gitCommit && source
      ? {
          commit: gitDep.digest.gitCommit,
          dirty: source.dirty === true,
          ...(typeof source.uri === 'string' ? { remoteUrl: source.uri } : {}),
        }
      : undefined;

  if (!Array.isArray(st.subject)) throw invalid(where, 'expected subject to be an array');
  let index: Digest | undefined;
  const manifests: Record<string, Digest> = {};
  for (const s of st.subject as Array<{ name?: unknown; digest?: { sha256?: unknown } }>) {
    const d = `sha256:${s?.digest?.sha256}`;
    if (!isDigest(d) || typeof s.name !== 'string')
      throw invalid(where, `expected each subject to have a name and a sha256, found ${JSON.stringify(s)}`);
    if (s.name === 'index') index = d;
    else manifests[s.name] = d;
  }
  if (index === undefined) throw invalid(where, 'expected a subject named index (the image index digest)');
  return {
    version,
    spec: { path: specPath, bytes: specBytes },
    lock: embedded(LOCK_RESOURCE),
    files,
    epoch: epoch as number,
    git,
    index,
    manifests,
  };
}

/** A recorded path must stay inside the spec's directory. */
function checkEntryPath(path: unknown, where: string, field: string): void {
  if (
    typeof path !== 'string' ||
    path === '' ||
    path.startsWith('/') ||
    path.split('/').some((s) => s === '..' || s === '')
  ) {
    throw invalid(
      where,
      `resource ${field}: expected a relative path inside the spec's directory, found ${JSON.stringify(path)}`,
    );
  }
}
