import type { ContainerConfig } from '../oci/types.js';
import type { SpecLocation } from '../spec/load.js';
import { specField } from '../spec/load.js';
import type { Spec } from '../spec/schema.js';
import { sortBytes } from '../vfs/path.js';
import { DEFAULT_PATH } from './image.js';

// A Dockerfile's ENV expands $NAME and ${NAME} against the environment so far (ENV PATH=/app/bin:$PATH),
// and Dockerfile users write the spec's env the same way; imprint writes each value as it is (no
// build-time shell, and the value may mean a literal $), so the container would see "$PATH" in PATH.

/** `$NAME` or `${NAME...}` not escaped with a backslash: what a Dockerfile's ENV would expand. */
const REFERENCE = /(?<!\\)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/**
 * A warning for each spec env value that names a variable as a Dockerfile's ENV would expand it:
 * imprint keeps it as written, so the container's environment holds the literal reference. Pure.
 */
export function envReferenceNotes(spec: SpecLocation & { spec: Pick<Spec, 'env'> }): string[] {
  const notes: string[] = [];
  for (const name of sortBytes(Object.keys(spec.spec.env))) {
    const value = spec.spec.env[name]!;
    const names = [...value.matchAll(REFERENCE)].map((m) => m[1] ?? m[2]!);
    if (names.length === 0) continue;
    const path = names.includes('PATH') ? ` (the default PATH is ${DEFAULT_PATH})` : '';
    notes.push(
      `${specField(spec, ['env', name])}: ${JSON.stringify(value)} names ${[...new Set(names)].map((n) => `$${n}`).join(', ')}, which the container gets as written: imprint expands no variables, unlike a Dockerfile's ENV; write the value out${path}`,
    );
  }
  return notes;
}

/** Docker's config fields beyond the OCI ones, which imprint's OCI config does not carry. */
const DOCKER_ONLY_FIELDS = [
  ['Healthcheck', 'HEALTHCHECK'],
  ['OnBuild', 'ONBUILD'],
  ['Shell', 'SHELL'],
] as const;

/**
 * A warning naming the base's Docker-only config fields (HEALTHCHECK, ONBUILD, SHELL), which the
 * image's OCI config leaves out, as buildah's OCI format does: a Dockerfile on that base keeps them.
 * Pure.
 */
export function droppedBaseNotes(base: ContainerConfig | undefined): string[] {
  const raw = (base ?? {}) as Record<string, unknown>;
  const set = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0); // Docker writes OnBuild: []
  const dropped = DOCKER_ONLY_FIELDS.filter(([field]) => set(raw[field]));
  if (dropped.length === 0) return [];
  return [
    `the base image's config has ${dropped.map(([field, instruction]) => `${field} (${instruction})`).join(', ')}, which the image's OCI config does not carry (as with buildah's OCI format); a Dockerfile FROM that base would keep ${dropped.length === 1 ? 'it' : 'them'}`,
  ];
}

/** The spec's env notes (envReferenceNotes) and the base's dropped fields (droppedBaseNotes). Pure. */
export function specConfigNotes(
  spec: SpecLocation & { spec: Pick<Spec, 'env'> },
  base: ContainerConfig | undefined,
): string[] {
  return [...envReferenceNotes(spec), ...droppedBaseNotes(base)];
}
