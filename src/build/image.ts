import type { Digest } from '../digest/index.js';
import { sha256 } from '../digest/index.js';
import { canonicalJson } from '../oci/canonical-json.js';
import { MediaType } from '../oci/media-types.js';
import type {
  ContainerConfig,
  Descriptor,
  HistoryEntry,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  Platform,
} from '../oci/types.js';

/** RFC 3339 UTC time of an epoch, without fractional seconds (`1970-01-01T00:00:00Z`). */
export function rfc3339(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A JSON blob ready for the store: its canonical bytes and descriptor. */
export interface JsonBlob {
  bytes: Buffer;
  descriptor: Descriptor;
}

/** Canonical bytes and descriptor of a JSON document. Pure. */
export function jsonBlob(mediaType: string, value: unknown, extra: Partial<Descriptor> = {}): JsonBlob {
  const bytes = canonicalJson(value);
  return { bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length, ...extra } };
}

export interface ConfigInput {
  platform: Platform;
  epoch: number;
  container: ContainerConfig;
  diffIds: Digest[];
  /** The base image's history, kept as it is (its times are the base's). */
  baseHistory?: HistoryEntry[];
  /** This build's history entries (one per layer); their `created` is the epoch. */
  history: HistoryEntry[];
}

/** The image config; `created` is the epoch, never the clock. Empty container fields are omitted. */
export function imageConfig(input: ConfigInput): ImageConfig {
  const c = input.container;
  const container: ContainerConfig = {};
  if (c.User) container.User = c.User;
  if (c.Env && c.Env.length > 0) container.Env = c.Env;
  if (c.Entrypoint && c.Entrypoint.length > 0) container.Entrypoint = c.Entrypoint;
  if (c.Cmd && c.Cmd.length > 0) container.Cmd = c.Cmd;
  if (c.WorkingDir) container.WorkingDir = c.WorkingDir;
  if (c.Labels && Object.keys(c.Labels).length > 0) container.Labels = c.Labels;
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length > 0) container.ExposedPorts = c.ExposedPorts;
  if (c.Volumes && Object.keys(c.Volumes).length > 0) container.Volumes = c.Volumes;
  if (c.StopSignal) container.StopSignal = c.StopSignal;
  const p = input.platform;
  return {
    architecture: p.architecture,
    os: p.os,
    ...(p.variant ? { variant: p.variant } : {}),
    created: rfc3339(input.epoch),
    config: container,
    rootfs: { type: 'layers', diff_ids: input.diffIds },
    history: [
      ...(input.baseHistory ?? []),
      ...input.history.map((h) => ({ ...h, created: rfc3339(input.epoch) })),
    ],
  };
}

/** An image manifest for a config and layers. */
export function imageManifest(
  config: Descriptor,
  layers: Descriptor[],
  annotations: Record<string, string>,
): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config,
    layers,
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}

/** An image index over per-platform manifests, in the given (spec) order. */
export function imageIndex(manifests: Descriptor[], annotations: Record<string, string>): ImageIndex {
  return {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests,
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}

/** `KEY=value` environment list, sorted by key so map order in the spec is not an input. */
export function envList(env: Record<string, string>): string[] {
  return Object.keys(env)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => `${k}=${env[k]}`);
}

/** The PATH an image gets when the spec sets none (as BuildKit and the Docker daemon default it). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
