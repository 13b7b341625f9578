import { isAbsolute, resolve } from 'node:path';
import { type Digest, isDigest } from '../digest/index.js';
import { ImprintError } from '../errors.js';
import { formatReference, type ImageRef, parseReference, REFERENCE_FORMS } from '../transport/reference.js';

/** A spec's `base`, parsed. */
export interface BaseReference {
  /** As the spec writes it (recorded in the lock, the annotations and the provenance). */
  written: string;
  /** Where to read it; layout and archive paths resolved against the spec's directory. */
  ref: ImageRef;
  /** The digest the spec pins (`...@sha256:<hex>`), if any. */
  pin?: Digest;
  /** `org.opencontainers.image.base.name`: a registry reference without transport, else `written`. */
  name: string;
}

const TRANSPORTS = ['oci', 'oci-archive', 'docker-archive', 'docker'];
const PIN = /@(sha256:[0-9a-f]{64})$/;

/**
 * Parses a base reference: `docker://REGISTRY/REPO[:TAG][@DIGEST]`, `oci:DIR[:TAG][@DIGEST]`,
 * `oci-archive:FILE[:TAG][@DIGEST]`, `docker-archive:FILE[:NAME:TAG][@DIGEST]`, or a registry reference
 * without transport (`debian:bookworm@sha256:...`, Docker's normalisation). Relative paths are relative
 * to `specDir`. BAD_REFERENCE naming `field`. Pure.
 */
export function parseBaseReference(written: string, specDir: string, field = 'base'): BaseReference {
  const colon = written.indexOf(':');
  const transport = colon < 0 ? '' : written.slice(0, colon);
  const known = TRANSPORTS.includes(transport) && (transport !== 'docker' || written.startsWith('docker://'));
  const text = known ? written : `docker://${written}`;
  let ref: ImageRef;
  let pin: Digest | undefined;
  try {
    if (text.startsWith('docker://')) {
      ref = parseReference(text);
      if (ref.transport === 'docker' && ref.digest !== undefined) pin = ref.digest;
    } else {
      const m = PIN.exec(text);
      ref = parseReference(m === null ? text : text.slice(0, m.index));
      if (m !== null && isDigest(m[1])) pin = m[1];
    }
  } catch (err) {
    if (err instanceof ImprintError && err.code === 'BAD_REFERENCE') {
      throw new ImprintError('BAD_REFERENCE', `${field}: ${err.message}`, {
        cause: err,
        hint: `Write a registry reference (debian:bookworm@sha256:...) or one of ${REFERENCE_FORMS.join(', ')}, with @sha256:<digest> to pin it.`,
        details: { field, reference: written },
      });
    }
    throw err;
  }
  if (ref.transport !== 'docker' && !isAbsolute(ref.path)) ref = { ...ref, path: resolve(specDir, ref.path) };
  const name = ref.transport === 'docker' ? formatReference({ ...ref }).slice('docker://'.length) : written;
  return { written, ref, ...(pin === undefined ? {} : { pin }), name };
}

/** The reference that reads exactly `digest` where the transport can address it (registries). */
export function pinnedRef(ref: ImageRef, digest: Digest): ImageRef {
  if (ref.transport !== 'docker') return ref;
  const { tag: _tag, ...rest } = ref;
  return { ...rest, digest };
}
