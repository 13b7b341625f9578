import type { ContainerConfig } from '../oci/types.js';
import type { Spec } from '../spec/index.js';
import { DEFAULT_PATH, envList } from './image.js';

/**
 * The image's runtime config: the spec's fields over the base image's (when there is one). Env merges
 * by name (the spec wins), labels merge by key; `user`, `workdir`, `entrypoint` and `cmd` replace the
 * base's. As in a Dockerfile, setting `entrypoint` without `cmd` clears the base's Cmd. Exposed ports
 * and volumes add to the base's (EXPOSE, VOLUME), `stopSignal` replaces its. PATH defaults to the usual
 * one when neither sets it. Pure.
 */
export function containerConfig(spec: Spec, base: ContainerConfig | undefined): ContainerConfig {
  const env: Record<string, string> = {};
  for (const entry of base?.Env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  Object.assign(env, spec.env);
  if (env.PATH === undefined) env.PATH = DEFAULT_PATH;
  const cmd = spec.cmd ?? (spec.entrypoint !== undefined ? undefined : base?.Cmd);
  const labels = { ...base?.Labels, ...spec.labels };
  return {
    User: spec.user ?? base?.User,
    Env: envList(env),
    Entrypoint: spec.entrypoint ?? base?.Entrypoint,
    Cmd: cmd,
    WorkingDir: spec.workdir ?? base?.WorkingDir,
    Labels: labels,
    ExposedPorts: withKeys(base?.ExposedPorts, spec.exposedPorts),
    Volumes: withKeys(base?.Volumes, spec.volumes),
    StopSignal: spec.stopSignal ?? base?.StopSignal,
  };
}

/** The base's set (a JSON object of empty objects, as the config holds ports and volumes) plus `keys`. */
function withKeys(
  base: Record<string, Record<string, never>> | undefined,
  keys: readonly string[] | undefined,
): Record<string, Record<string, never>> | undefined {
  if (keys === undefined || keys.length === 0) return base;
  const set: Record<string, Record<string, never>> = { ...base };
  for (const key of keys) set[key] = {};
  return set;
}
