import type { Digest } from '../digest/index.js';
import { ImprintError } from '../errors.js';
import { type DockerReference, familiarString, parseDockerReference } from './docker-reference.js';

/** Where an image set lives, in the containers-transports syntax (`man 5 containers-transports`). */
export type ImageRef =
  | { transport: 'oci'; path: string; tag?: string }
  | { transport: 'oci-archive'; path: string; tag?: string }
  | {
      transport: 'docker-archive';
      path: string;
      /** `name:tag` in the short form `docker images` shows (`:latest` added when absent). */
      name?: string;
      /** `@N`: the N-th image (0-based) of the archive's manifest.json; reading only. */
      sourceIndex?: number;
    }
  | { transport: 'docker'; registry: string; repository: string; tag?: string; digest?: Digest };

/** The forms `parseReference` accepts, for hints and help texts. */
export const REFERENCE_FORMS = [
  'oci:DIR[:TAG]',
  'oci-archive:FILE[:TAG]',
  'docker-archive:FILE[:NAME[:TAG]]',
  'docker://REGISTRY/REPOSITORY[:TAG|@DIGEST]',
] as const;

const OTHER_TRANSPORTS = new Set(['dir', 'docker-daemon', 'containers-storage', 'ostree', 'sif']);

const HINT = `Write one of: ${REFERENCE_FORMS.join(', ')}. The path ends at the first ':'.`;

// org.opencontainers.image.ref.name grammar (image-spec annotations.md).
const REF_COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const REF_NAME_RE = new RegExp(`^${REF_COMPONENT}(?:/${REF_COMPONENT})*$`);

/** True for a valid `org.opencontainers.image.ref.name` value (an OCI layout tag). */
export function isOciRefName(tag: string): boolean {
  return REF_NAME_RE.test(tag);
}

/** Checks an OCI layout tag; BAD_REFERENCE names `what`. */
export function checkOciTag(tag: string, what: string): string {
  if (!isOciRefName(tag)) {
    throw new ImprintError(
      'BAD_REFERENCE',
      `${what}: tag ${JSON.stringify(tag)} is not a valid OCI ref name`,
      {
        hint: 'Tags are letters and digits separated by one of - . _ : @ + (or --), with / between components, e.g. latest or v1.2.',
        details: { tag },
      },
    );
  }
  return tag;
}

/**
 * Parses a transport reference: `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
 * `docker-archive:FILE[:NAME[:TAG]|:@N]`, `docker://[REGISTRY/]REPOSITORY[:TAG|@DIGEST]`. As in
 * containers-transports, the path ends at the first ':'. BAD_REFERENCE with a hint listing the forms.
 */
export function parseReference(text: string): ImageRef {
  const colon = text.indexOf(':');
  const transport = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  switch (transport) {
    case 'oci':
    case 'oci-archive': {
      const { path, after } = splitPath(text, rest);
      if (after === undefined) return { transport, path };
      return { transport, path, tag: checkOciTag(after, JSON.stringify(text)) };
    }
    case 'docker-archive': {
      const { path, after } = splitPath(text, rest);
      if (after === undefined) return { transport, path };
      if (after.startsWith('@')) {
        const n = after.slice(1);
        if (!/^(0|[1-9][0-9]{0,8})$/.test(n))
          throw bad(text, `${JSON.stringify(after)} is not @N with N a non-negative integer`);
        return { transport, path, sourceIndex: Number(n) };
      }
      return { transport, path, name: dockerArchiveName(after, text) };
    }
    case 'docker': {
      if (!rest.startsWith('//')) throw bad(text, "registry references start with 'docker://'");
      const ref = parseDockerReference(rest.slice(2), `reference ${JSON.stringify(text)}:`);
      const out: ImageRef = { transport: 'docker', registry: ref.domain, repository: ref.path };
      if (ref.tag !== undefined) out.tag = ref.tag;
      if (ref.digest !== undefined) out.digest = ref.digest;
      if (ref.tag === undefined && ref.digest === undefined) out.tag = 'latest';
      return out;
    }
    default:
      throw bad(
        text,
        colon < 0 ? 'it names no transport' : `unknown transport ${JSON.stringify(transport)}`,
        meantAs(text, colon),
      );
  }
}

/**
 * What a reference without a known transport most likely meant: a path is a layout or an archive
 * (`out` is `oci:out`), an image name with a tag or a registry port is a registry's
 * (`debian:bookworm`, `localhost:5000/app:1` are `docker://…`).
 */
function meantAs(text: string, colon: number): string {
  if (colon < 0) {
    return text === ''
      ? ''
      : ` For a layout directory or an archive file, name its transport: oci:${text}, oci-archive:${text} or docker-archive:${text}.`;
  }
  // containers-transports that imprint does not read: dir:out is not an image named dir.
  if (OTHER_TRANSPORTS.has(text.slice(0, colon))) return '';
  try {
    parseDockerReference(text);
    return ` For an image in a registry: docker://${text}.`;
  } catch {
    return '';
  }
}

/**
 * The whole layout or archive a tagged `oci:` / `oci-archive:` reference points into (its untagged
 * form), where the tagged image's referrers sit as untagged entries; undefined for other references.
 */
export function wholeLayoutOf(ref: ImageRef): ImageRef | undefined {
  if ((ref.transport !== 'oci' && ref.transport !== 'oci-archive') || ref.tag === undefined) return undefined;
  return { transport: ref.transport, path: ref.path };
}

/** The text form of a reference; `parseReference(formatReference(r))` equals `r` when the path has no ':'. */
export function formatReference(ref: ImageRef): string {
  switch (ref.transport) {
    case 'oci':
    case 'oci-archive':
      return `${ref.transport}:${ref.path}${ref.tag === undefined ? '' : `:${ref.tag}`}`;
    case 'docker-archive':
      if (ref.name !== undefined) return `docker-archive:${ref.path}:${ref.name}`;
      return `docker-archive:${ref.path}${ref.sourceIndex === undefined ? '' : `:@${ref.sourceIndex}`}`;
    case 'docker':
      return `docker://${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
  }
}

/** Normalises a docker-archive image name to the short `name:tag` form (`:latest` when untagged); digests are refused. */
export function dockerArchiveName(text: string, what: string): string {
  const ref: DockerReference = parseDockerReference(text, `reference ${JSON.stringify(what)}:`);
  if (ref.digest !== undefined) {
    throw bad(what, `a docker-archive image is named by name:tag, not by digest (${JSON.stringify(text)})`);
  }
  ref.tag ??= 'latest';
  return familiarString(ref);
}

function splitPath(text: string, rest: string): { path: string; after: string | undefined } {
  const colon = rest.indexOf(':');
  const path = colon < 0 ? rest : rest.slice(0, colon);
  const after = colon < 0 ? undefined : rest.slice(colon + 1);
  if (path === '') throw bad(text, 'the path is empty');
  if (after === '') throw bad(text, "nothing follows the ':' after the path");
  return { path, after };
}

function bad(text: string, why: string, more = ''): ImprintError {
  return new ImprintError('BAD_REFERENCE', `image reference ${JSON.stringify(text)}: ${why}`, {
    hint: HINT + more,
    details: { reference: text },
  });
}
