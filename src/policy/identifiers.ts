// Source identifiers: the URI strings policy rules select. Images use BuildKit's `docker-image://`
// form for registries and imprint's transport names for local layouts and archives; Debian archive
// URLs are normalised URLs.
import { posix } from 'node:path';
import { normalizeSourceUrl } from '../debian/source-url.js';
import { ImprintError } from '../errors.js';
import { type DockerReference, parseDockerReference } from '../transport/docker-reference.js';
import { type ImageRef, parseReference } from '../transport/reference.js';

/** What an identifier names, by its scheme. */
export type IdentifierKind = 'image' | 'url';

/** Identifier schemes of images: registry (BuildKit's name), OCI layout, OCI archive, docker-archive. */
export const IMAGE_SCHEMES = ['docker-image://', 'oci://', 'oci-archive://', 'docker-archive://'] as const;
/** Identifier schemes of package sources (the URL itself). */
export const URL_SCHEMES = ['http://', 'https://', 'file://'] as const;

/** Options of imageIdentifier / parseImageIdentifier. */
export interface ImageIdentifierOptions {
  /** Absolute directory relative layout and archive paths are resolved against (e.g. the spec's). */
  baseDir?: string;
}

const TRANSPORT_PREFIX = /^(docker:\/\/|oci:|oci-archive:|docker-archive:)/;

/** The kind an identifier's scheme names, or undefined for schemes imprint never produces. */
export function identifierKind(identifier: string): IdentifierKind | undefined {
  if (IMAGE_SCHEMES.some((s) => identifier.startsWith(s))) return 'image';
  if (URL_SCHEMES.some((s) => identifier.startsWith(s))) return 'url';
  return undefined;
}

/**
 * Parses an image reference as a build names it: imprint's transport syntax (`docker://`, `oci:`,
 * `oci-archive:`, `docker-archive:`) or a bare Docker reference (`alpine`, `ghcr.io/o/app:1`), which
 * means the registry. BAD_REFERENCE when neither. Pure.
 */
export function parseImageInput(text: string): ImageRef {
  if (TRANSPORT_PREFIX.test(text)) return parseReference(text);
  return registryRef(parseDockerReference(text, 'image reference'));
}

/**
 * The identifier of an image reference: `docker-image://REGISTRY/REPOSITORY[:TAG][@DIGEST]` (Docker
 * normalisation: `alpine` is `docker-image://docker.io/library/alpine:latest`), `oci://PATH[:TAG]`,
 * `oci-archive://PATH[:TAG]`, `docker-archive://PATH[:NAME:TAG|:@N]`. Paths are resolved against
 * `baseDir` when given (so `oci:///abs/dir:tag`), else normalised as written. Pure.
 */
export function imageIdentifier(ref: string | ImageRef, options: ImageIdentifierOptions = {}): string {
  const r = typeof ref === 'string' ? parseImageInput(ref) : ref;
  switch (r.transport) {
    case 'docker': {
      const tag = r.tag ?? (r.digest === undefined ? 'latest' : undefined);
      return `docker-image://${r.registry}/${r.repository}${tag === undefined ? '' : `:${tag}`}${r.digest === undefined ? '' : `@${r.digest}`}`;
    }
    case 'oci':
    case 'oci-archive':
      return `${r.transport}://${localPath(r.path, options)}${r.tag === undefined ? '' : `:${r.tag}`}`;
    case 'docker-archive': {
      const which =
        r.name !== undefined ? `:${r.name}` : r.sourceIndex !== undefined ? `:@${r.sourceIndex}` : '';
      return `docker-archive://${localPath(r.path, options)}${which}`;
    }
  }
}

/**
 * The image reference an image identifier names (the inverse of imageIdentifier); relative paths are
 * resolved against `baseDir` when given. BAD_REFERENCE for another scheme or an invalid reference. Pure.
 */
export function parseImageIdentifier(identifier: string, options: ImageIdentifierOptions = {}): ImageRef {
  const scheme = IMAGE_SCHEMES.find((s) => identifier.startsWith(s));
  const rest = scheme === undefined ? '' : identifier.slice(scheme.length);
  let ref: ImageRef;
  switch (scheme) {
    case 'docker-image://':
      return registryRef(parseDockerReference(rest, `identifier ${JSON.stringify(identifier)}:`));
    case 'oci://':
    case 'oci-archive://':
    case 'docker-archive://':
      ref = parseReference(`${scheme.slice(0, -2)}${rest}`);
      if (ref.transport !== 'docker' && options.baseDir !== undefined)
        ref.path = localPath(ref.path, options);
      return ref;
    default:
      throw new ImprintError(
        'BAD_REFERENCE',
        `expected an image identifier (${IMAGE_SCHEMES.join(', ')}), found ${JSON.stringify(identifier)}`,
        { details: { identifier } },
      );
  }
}

/**
 * The identifier of a package source URL: the URL normalised (scheme and host lower case, default
 * port dropped) without trailing slashes, so `http://HOST/debian/` is `http://host/debian` — the
 * `{url}` of fetch templates. BAD_REFERENCE unless http, https or file. Pure.
 */
export function sourceUrlIdentifier(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw badUrl(url, 'it is not a URL', err);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'file:') {
    throw badUrl(url, `the scheme ${u.protocol} is not http, https or file`);
  }
  u.username = '';
  u.password = '';
  return normalizeSourceUrl(u.href);
}

function badUrl(url: string, why: string, cause?: unknown): ImprintError {
  return new ImprintError('BAD_REFERENCE', `source URL ${JSON.stringify(url)}: ${why}`, {
    hint: 'Package sources are http://, https:// or file:// URLs of a Debian archive.',
    cause,
    details: { url },
  });
}

function registryRef(ref: DockerReference): ImageRef {
  const out: ImageRef = { transport: 'docker', registry: ref.domain, repository: ref.path };
  if (ref.tag !== undefined) out.tag = ref.tag;
  if (ref.digest !== undefined) out.digest = ref.digest;
  if (ref.tag === undefined && ref.digest === undefined) out.tag = 'latest';
  return out;
}

function localPath(path: string, options: ImageIdentifierOptions): string {
  if (path.includes(':')) {
    throw new ImprintError(
      'BAD_REFERENCE',
      `the path ${JSON.stringify(path)} contains ':', which ends a path in references`,
      {
        details: { path },
      },
    );
  }
  const full = options.baseDir === undefined ? posix.normalize(path) : posix.resolve(options.baseDir, path);
  return full.length > 1 ? full.replace(/\/+$/, '') : full;
}
