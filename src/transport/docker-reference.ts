import { type Digest, isDigest } from '../digest/index.js';
import { ImprintError } from '../errors.js';

/** A Docker image reference (distribution/reference grammar), normalised: docker.io and library/ filled in. */
export interface DockerReference {
  /** Registry host[:port], e.g. `docker.io`, `localhost:5000`. */
  domain: string;
  /** Repository path below the domain, e.g. `library/alpine`. */
  path: string;
  tag?: string;
  digest?: Digest;
}

export const DOCKER_HUB = 'docker.io';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const MAX_NAME_LENGTH = 255;

/**
 * Parses `[domain/]path[:tag][@digest]` as Docker does: a first component with a `.` or `:`, or
 * `localhost`, or an upper-case letter is a registry; otherwise the registry is docker.io, and a
 * one-component docker.io path gets `library/`. BAD_REFERENCE names `what` and the text.
 */
export function parseDockerReference(text: string, what = 'image reference'): DockerReference {
  const bad = (why: string): ImprintError =>
    new ImprintError('BAD_REFERENCE', `${what} ${JSON.stringify(text)} is not a valid image name: ${why}`, {
      hint: 'Image names look like name, name:tag, registry.example:5000/team/name:tag or name@sha256:<hex>.',
      details: { reference: text },
    });
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw bad(`${JSON.stringify(d)} is not a sha256 digest`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && !rest.slice(colon + 1).includes('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad(`tag ${JSON.stringify(tag)} is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
  if (rest === '') throw bad('the name is empty');
  if (rest.length > MAX_NAME_LENGTH) throw bad(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  let domain = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first.toLowerCase() !== first
    ) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io') domain = DOCKER_HUB;
  if (!DOMAIN_RE.test(domain)) throw bad(`registry ${JSON.stringify(domain)} is not host[:port]`);
  const components = path.split('/');
  for (const [i, component] of components.entries()) {
    const tagAt = component.indexOf(':');
    if (tagAt > 0 && PATH_COMPONENT_RE.test(component.slice(0, tagAt)))
      throw bad(
        `the tag ${JSON.stringify([component.slice(tagAt + 1), ...components.slice(i + 1)].join('/'))} of repository ${[...components.slice(0, i), component.slice(0, tagAt)].join('/')} holds a '/', which tags cannot (they are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`,
      );
    if (!PATH_COMPONENT_RE.test(component)) {
      throw bad(
        `repository component ${JSON.stringify(component)} must be lower-case letters and digits, separated by '.', '_', '__' or '-'`,
      );
    }
  }
  if (domain === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  const ref: DockerReference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The fully qualified form, e.g. `docker.io/library/alpine:3.20`. */
export function formatDockerReference(ref: DockerReference): string {
  return `${ref.domain}/${ref.path}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** The repository name as `docker images` shows it: docker.io/ and library/ removed (`alpine`, `team/app`). */
export function familiarName(ref: DockerReference): string {
  if (ref.domain !== DOCKER_HUB) return `${ref.domain}/${ref.path}`;
  const short = ref.path.startsWith('library/') ? ref.path.slice('library/'.length) : ref.path;
  return short.includes('/') ? ref.path : short;
}

/** The short form as `docker images` shows it, e.g. `alpine:3.20`, `localhost:5000/app:1`. */
export function familiarString(ref: DockerReference): string {
  return `${familiarName(ref)}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}
