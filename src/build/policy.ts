import { parseBaseReference } from '../base/reference.js';
import { findAptSource } from '../debian/apt-sources.js';
import { checkSources, loadPolicy, type Policy } from '../policy/index.js';
import type { LoadedSpec, SpecSource } from '../spec/index.js';

/**
 * Runs the spec's sources through a source policy before anything is fetched (`--policy FILE`): the
 * base image, every archive URL (a source without `url` is checked under the host apt URL each of its
 * suites resolves to) and every fetch template. A denied source is POLICY_DENIED naming the rule.
 * Conversions are applied to a copy of the spec: the base becomes the converted reference, a converted
 * archive URL is written into its source (a source without `url` is split per suite then), templates
 * are replaced. The lock then records what was actually used. Cost: reads the host's apt sources.
 */
export async function applySourcePolicy(
  loaded: LoadedSpec,
  policy: Policy,
  opts: { aptRoot?: string } = {},
): Promise<LoadedSpec> {
  const spec = loaded.spec;
  const base = spec.base === undefined ? undefined : parseBaseReference(spec.base, loaded.dir);
  // One URL per (source, suite): the spec's, or the host apt source's for that suite.
  const perSuite: Array<{
    source: number;
    suite: string;
    url: string;
    keyring?: string | undefined;
    checkValidUntil?: boolean | undefined;
    checkDate?: boolean | undefined;
  }> = [];
  for (const [i, s] of spec.sources.entries()) {
    for (const suite of s.suites) {
      if (s.url !== undefined) {
        perSuite.push({ source: i, suite, url: s.url });
      } else {
        const host = await findAptSource(suite, { root: opts.aptRoot ?? '/' });
        const { url, keyring, checkValidUntil, checkDate } = host;
        perSuite.push({ source: i, suite, url, keyring, checkValidUntil, checkDate });
      }
    }
  }
  const checked = checkSources(
    policy,
    {
      images: base === undefined ? [] : [base.ref],
      sourceUrls: perSuite.map((p) => p.url),
      fetchTemplates: spec.fetch.sources,
    },
    { baseDir: loaded.dir },
  );

  let nextBase = spec.base;
  const image = checked.images[0];
  if (base !== undefined && image?.converted === true) {
    nextBase =
      image.reference + (base.pin !== undefined && !image.reference.includes('@') ? `@${base.pin}` : '');
  }
  const sources: SpecSource[] = [];
  for (const [i, s] of spec.sources.entries()) {
    const mine = perSuite.flatMap((p, k) =>
      p.source === i ? [{ ...p, checked: checked.sourceUrls[k]! }] : [],
    );
    if (!mine.some((m) => m.checked.converted)) {
      sources.push(s);
    } else if (s.url !== undefined) {
      sources.push({ ...s, url: mine[0]!.checked.url });
    } else {
      // The converted URL serves the same archive: keep the host source's Signed-By keyring for it,
      // and its Check-Valid-Until and Check-Date (a snapshot's Releases have expired on purpose).
      for (const m of mine) {
        const keyring = s.keyring ?? m.keyring;
        const checkValidUntil = s.checkValidUntil ?? m.checkValidUntil;
        const checkDate = s.checkDate ?? m.checkDate;
        sources.push({
          ...s,
          suites: [m.suite],
          url: m.checked.url,
          ...(keyring === undefined ? {} : { keyring }),
          ...(checkValidUntil === undefined ? {} : { checkValidUntil }),
          ...(checkDate === undefined ? {} : { checkDate }),
        });
      }
    }
  }
  const templates = checked.fetchTemplates.map((t) => t.url);
  return {
    ...loaded,
    spec: {
      ...spec,
      ...(nextBase === undefined ? {} : { base: nextBase }),
      sources,
      fetch: { ...spec.fetch, sources: templates },
    },
  };
}

/**
 * The spec with the source policy in `file` applied (applySourcePolicy), and the policy as loaded
 * (its `digest` names the file's bytes): `--policy FILE` of build, lock and verify.
 */
export async function applyPolicyFile(
  loaded: LoadedSpec,
  file: string,
): Promise<{ loaded: LoadedSpec; policy: Policy }> {
  const policy = await loadPolicy(file);
  return { loaded: await applySourcePolicy(loaded, policy), policy };
}
