// The effect table and its runner: what maintainer scripts would have done, applied after unpacking.
import type { FileTree } from '../../vfs/tree.js';
import { basePasswdRule, shadowRule } from './accounts.js';
import { alternativesRule } from './alternatives.js';
import { apache2ModulesRule } from './apache2.js';
import { caCertificatesRule } from './ca-certificates.js';
import { gdkPixbufLoadersRule } from './gdk-pixbuf.js';
import { javaCacertsRule } from './java-cacerts.js';
import { localesRule } from './locales.js';
import { multilibLinksRule } from './multilib-links.js';
import { nginxModulesRule } from './nginx-modules.js';
import { pamAuthUpdateRule } from './pam.js';
import { phpModulesRule, phpSapiIniRule } from './php.js';
import { createdPathsRule, templateCopiesRule } from './postinst-copies.js';
import { postinstPermsRule } from './postinst-perms.js';
import { shellsRule } from './shells.js';
import { SIMPLE_RULES, simpleEffect } from './simple-rules.js';
import { statOverrideRule } from './statoverride.js';
import { systemAccountsRule } from './system-accounts.js';
import { tmpfilesRule } from './tmpfiles.js';
import type { EffectWriter } from './tree-io.js';
import type { EffectContext, EffectOptions, EffectRule, InstalledInfo } from './types.js';
import { tzdataRule } from './tzdata.js';

export {
  type AccountGroup,
  type AccountUser,
  type MergeAccountsOptions,
  mergeAccounts,
  shadowLastChange,
} from './accounts.js';
export { type AlternativeRegistration, alternativeDbText, alternativeRegistrations } from './alternatives.js';
export { CA_CONF_HEADER, caConfText, LOCAL_CERTS_DIR, pemLinkName } from './ca-certificates.js';
export {
  NONDETERMINISTIC_PATHS,
  type RemovalRule,
  removalPatternRegExp,
  removeNondeterministic,
} from './remove.js';
export { SIMPLE_RULES, type SimpleRule } from './simple-rules.js';
export type { EffectContext, EffectOptions, EffectRule, InstalledInfo } from './types.js';
export { DEFAULT_TIMEZONE } from './tzdata.js';
export { pemCertificates, subjectHash } from './x509-name-hash.js';

const byId = (id: string): EffectRule =>
  SIMPLE_RULES.filter((r) => r.id === id).map(simpleEffect)[0] as EffectRule;

/**
 * Every effect, in the order it runs (roughly dpkg's configure order: base-files and accounts first,
 * the certificate store after /usr/local exists, alternatives last so every target is in place).
 */
export const EFFECT_RULES: readonly EffectRule[] = [
  byId('base-files/postinst'),
  basePasswdRule,
  shadowRule,
  systemAccountsRule,
  shellsRule,
  ...SIMPLE_RULES.filter((r) => r.id !== 'base-files/postinst').map(simpleEffect),
  multilibLinksRule,
  tmpfilesRule,
  templateCopiesRule,
  createdPathsRule,
  postinstPermsRule,
  statOverrideRule,
  tzdataRule,
  caCertificatesRule,
  javaCacertsRule,
  nginxModulesRule,
  apache2ModulesRule,
  phpSapiIniRule,
  phpModulesRule,
  pamAuthUpdateRule,
  localesRule,
  gdkPixbufLoadersRule,
  alternativesRule,
];

/** What one rule run wrote for one origin (the package the nodes are attributed to). */
export interface AppliedEffect {
  rule: string;
  /** The package the written nodes belong to (their `origin`). */
  origin: string;
  /** Keys created or replaced, in the order written. */
  paths: string[];
}

export interface ApplyEffectsInput {
  tree: FileTree;
  epoch: number;
  arch: string;
  installed: ReadonlyMap<string, InstalledInfo>;
  options?: EffectOptions;
  rules?: readonly EffectRule[];
  /** Where rules' warnings go (each message once, in the order first reported). */
  warnings?: string[];
}

/**
 * Runs each rule whose package is installed (a pattern runs once per matching name, in name order),
 * in table order, recording what each wrote. Nodes created carry the package's name as origin and
 * the epoch as mtime (copies keep their source's mtime, like `cp -p`). Deterministic.
 */
export async function applyEffects(input: ApplyEffectsInput): Promise<AppliedEffect[]> {
  const applied: AppliedEffect[] = [];
  const names = [...input.installed.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const rule of input.rules ?? EFFECT_RULES) {
    const runs: Array<{ pkg: InstalledInfo; match: RegExpExecArray | null }> = [];
    if (rule.package === null) {
      runs.push({ pkg: { name: '', version: '', architecture: input.arch, multiArch: 'no' }, match: null });
    } else if (typeof rule.package === 'string') {
      const pkg = input.installed.get(rule.package);
      if (pkg !== undefined) runs.push({ pkg, match: null });
    } else {
      for (const name of names) {
        const match = rule.package.exec(name);
        if (match !== null) runs.push({ pkg: input.installed.get(name) as InstalledInfo, match });
      }
    }
    for (const { pkg, match } of runs) {
      const written = new Map<string, string[]>();
      const ctx: EffectContext = {
        tree: input.tree,
        epoch: input.epoch,
        arch: input.arch,
        installed: input.installed,
        options: input.options ?? {},
        writer: (origin: string): EffectWriter => ({
          tree: input.tree,
          mtime: input.epoch,
          origin,
          record: (k) => {
            const list = written.get(origin) ?? [];
            written.set(origin, list);
            if (!list.includes(k)) list.push(k);
          },
        }),
        warn: (message) => {
          if (input.warnings !== undefined && !input.warnings.includes(message)) input.warnings.push(message);
        },
      };
      await rule.apply(ctx, pkg, match);
      for (const [origin, paths] of written) applied.push({ rule: rule.id, origin, paths });
    }
  }
  return applied;
}

/**
 * Runs update-ca-certificates again over `tree` for certificates placed after the packages (the spec's
 * files under /usr/local/share/ca-certificates): the bundle, the .pem links and the hash links then
 * include them, as `update-ca-certificates` after a COPY would, and so does Java's trust store when
 * `javaPackage` (ca-certificates-java) is installed. `caPackage` is ca-certificates as installed.
 * Deterministic.
 */
export function refreshCaCertificates(
  tree: FileTree,
  epoch: number,
  arch: string,
  caPackage: InstalledInfo,
  javaPackage?: InstalledInfo,
): Promise<AppliedEffect[]> {
  return applyEffects({
    tree,
    epoch,
    arch,
    installed: new Map([
      ['ca-certificates', caPackage],
      ...(javaPackage === undefined ? [] : ([['ca-certificates-java', javaPackage]] as const)),
    ]),
    rules: [caCertificatesRule, javaCacertsRule],
  });
}
