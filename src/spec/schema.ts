import * as z from 'zod';
import { parseBaseReference } from '../base/reference.js';
import { dpkgArch } from '../debian/arch.js';
import { TIMEZONE_NAME } from '../debian/effects/tzdata.js';
import { checkTemplates, TEMPLATE_FIELDS } from '../debian/fetch-template.js';
import { isImprintError } from '../errors.js';
import { formatPlatform, parsePlatform, suggestPlatform } from '../oci/platform.js';
import { MAX_IMAGE_LAYERS } from '../oci/types.js';
import { MAX_EPOCH, MAX_ID } from '../vfs/node.js';
import { ACCOUNT_NAME, accountIssues, withImplicitGroups } from './accounts.js';
import { exposedPorts, stopSignal } from './config-fields.js';
import { expected } from './messages.js';
import { normalizeImagePath, normalizeSourcePath } from './paths.js';
import { aptSources, nonEmpty, packages } from './schema-debian.js';
import { nearest } from './suggest.js';

// A command validates one spec once: zod's generated validators (new Function per object schema) cost
// more to compile than they save then (the first loadSpec of examples/python: 21 ms instead of 26 ms).
z.config({ jitless: true });

// One schema is the source of the Spec type (z.output), the validator, and the published JSON Schema
// (z.toJSONSchema with io: 'input'). Transforms turn what the user writes into the normalised Spec.

// Largest uid/gid and epoch accepted: the bounds every tree node keeps (packages are held to them too).
export { MAX_EPOCH, MAX_ID };
/** Default compression level per algorithm. */
export const DEFAULT_LEVEL = { gzip: 6, zstd: 3 } as const;
const LEVEL_RANGE = { gzip: [1, 9], zstd: [1, 19] } as const;

/**
 * An environment variable name as Docker's ENV and Kubernetes take it: printable ASCII without spaces
 * or '=' (Elasticsearch reads settings such as `discovery.type` from the environment), not only the
 * shell's identifiers.
 */
const ENV_NAME = /^[!-<>-~]+$/;
const PLATFORM_SHAPE = /^[a-z0-9]+\/[a-z0-9]+(\/v[0-9]+)?$/;

const id = z
  .int(expected('a whole number'))
  .min(0, expected('a number >= 0'))
  .max(MAX_ID, expected(`a number <= ${MAX_ID}`));

const accountName = z
  .string(expected('a name'))
  .regex(ACCOUNT_NAME, expected('a lowercase account name (letters, digits, _ . -; at most 32 characters)'));

function imagePath(keepTrailingSlash: boolean) {
  return z.string(expected('an absolute path in the image')).transform((text, ctx) => {
    const result = normalizeImagePath(text, keepTrailingSlash);
    if (result.ok) return result.path;
    ctx.issues.push({ code: 'custom', message: result.reason, input: text });
    return z.NEVER;
  });
}

const platform = z
  .string(expected('a platform such as "linux/amd64"'))
  .regex(PLATFORM_SHAPE, {
    error: (issue) => {
      const wanted = expected('os/arch[/variant], such as "linux/arm64" or "linux/arm/v7"').error(issue);
      const s = typeof issue.input === 'string' ? suggestPlatform(issue.input) : undefined;
      return s === undefined ? wanted : `${wanted}; did you mean ${s}?`;
    },
  })
  .transform((text, ctx) => {
    try {
      const parsed = parsePlatform(text);
      dpkgArch(parsed); // every build lays out its tree for a Debian architecture
      return parsed;
    } catch (err) {
      if (!isImprintError(err, 'BAD_PLATFORM') && !isImprintError(err, 'UNSUPPORTED')) throw err;
      ctx.issues.push({ code: 'custom', message: `${err.message}. ${err.hint ?? ''}`.trim(), input: text });
      return z.NEVER;
    }
  });

const platforms = z
  .array(platform, expected('a list of platforms'))
  .min(1, expected('at least one platform'))
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((p, i) => {
      const key = formatPlatform(p);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `duplicate platform ${key} (also platforms[${first}])`,
          input: key,
        });
    });
  })
  .prefault(['linux/amd64'])
  .describe('Target platforms, os/arch[/variant]; one image per platform under one index.');

const mode = z
  .string(
    expected(
      'a quoted octal string such as "0755" (YAML reads an unquoted 0755 as a number: write mode: "0755")',
    ),
  )
  .regex(/^[0-7]{3,4}$/, expected('3 or 4 octal digits such as "0644" or "0755"'))
  .transform((text) => Number.parseInt(text, 8))
  .describe(
    'Permission bits as a quoted octal string, e.g. "0755". Without it files keep their type default.',
  );

const owner = z
  .string(expected('a quoted "UID:GID" string such as "1000:1000"'))
  .regex(/^[0-9]+:[0-9]+$/, expected('numeric "UID:GID" such as "1000:1000"'))
  .transform((text, ctx) => {
    const [uid, gid] = text.split(':').map(Number) as [number, number];
    if (uid <= MAX_ID && gid <= MAX_ID) return { uid, gid };
    ctx.issues.push({
      code: 'custom',
      message: `expected ids <= ${MAX_ID}, found ${JSON.stringify(text)}`,
      input: text,
    });
    return z.NEVER;
  })
  .prefault('0:0')
  .describe('Numeric owner "UID:GID" of everything copied; default "0:0".');

const fileEntry = z
  .strictObject(
    {
      source: z
        .string(expected('a path relative to the spec file'))
        .transform((text, ctx) => {
          const result = normalizeSourcePath(text);
          if (result.ok) return result.path;
          ctx.issues.push({ code: 'custom', message: result.reason, input: text });
          return z.NEVER;
        })
        .describe(
          "File or directory to copy, relative to the spec file; must stay inside the spec's directory.",
        ),
      target: imagePath(true).describe(
        'Absolute destination in the image; a trailing / means "into this directory".',
      ),
      mode: mode
        .optional()
        .describe(
          'Permission bits of the copied files, e.g. "0600". Default: "0755" when the host file is executable by its owner, else "0644"; other host bits (such as a private 0600) are not kept, so the image does not depend on the umask of the checkout.',
        ),
      dirMode: mode
        .optional()
        .describe(
          'Permission bits of the directories a directory source creates (the target, unless the image has it, and its subdirectories), e.g. "1777" for /tmp; default "0755".',
        ),
      owner,
    },
    expected('a mapping with source and target'),
  )
  .describe('One file or directory copied from beside the spec into the image.');

const user = z
  .strictObject(
    {
      name: accountName,
      uid: id,
      gid: id.optional().describe('Primary group id; default: the uid.'),
      home: imagePath(false).optional().describe('Home directory; default /home/<name>, /root for uid 0.'),
      shell: imagePath(false).optional().describe('Login shell; default /usr/sbin/nologin.'),
    },
    expected('a mapping with name and uid'),
  )
  .transform((u) => ({
    name: u.name,
    uid: u.uid,
    gid: u.gid ?? u.uid,
    home: u.home ?? (u.uid === 0 ? '/root' : `/home/${u.name}`),
    shell: u.shell ?? '/usr/sbin/nologin',
  }));

const group = z.strictObject(
  {
    name: accountName,
    gid: id,
    members: z
      .array(accountName, expected('a list of user names'))
      .prefault([])
      .describe(
        "Users in this group: declared ones, or the image's (base-passwd's www-data, a base image's).",
      ),
  },
  expected('a mapping with name and gid'),
);

const accounts = z
  .strictObject(
    {
      users: z.array(user, expected('a list of users')).prefault([]),
      groups: z.array(group, expected('a list of groups')).prefault([]),
    },
    expected('a mapping with users and groups'),
  )
  .prefault({})
  .describe(
    'Users and groups written to /etc/passwd and /etc/group. A user whose gid no group declares gets a group of its own name.',
  );

const stringMap = (what: string, key: z.ZodType<string>) =>
  z
    .record(
      key,
      z.string(expected(`a string (quote numbers and booleans in YAML)`)),
      expected(`a mapping of ${what}`),
    )
    .prefault({});

/** entrypoint and cmd: a Dockerfile's shell form (a string run by /bin/sh -c) has no equivalent. */
const EXEC_FORM = 'arguments in exec form ([/app/run.sh, --flag]; a string is not run by a shell)';
const stringList = (what: string) => z.array(z.string(expected('a string')), expected(`a list of ${what}`));

/** A `fetch.sources` URL template: its placeholders and scheme checked here, before anything is resolved. */
const fetchTemplate = z.string(expected('a URL template')).superRefine((text, ctx) => {
  try {
    checkTemplates([text]);
  } catch (err) {
    if (!isImprintError(err, 'SPEC_INVALID')) throw err;
    const { placeholder } = err.details;
    const near = typeof placeholder === 'string' ? nearest(placeholder, TEMPLATE_FIELDS) : undefined;
    const suggestion = near === undefined ? '.' : `; did you mean {${near}}?`;
    ctx.addIssue({
      code: 'custom',
      message: `${err.message}${suggestion} ${err.hint ?? ''}`.trim(),
      input: text,
    });
  }
});

const compression = z
  .strictObject(
    {
      algorithm: z.enum(['gzip', 'zstd'], expected('"gzip" or "zstd"')).default('gzip'),
      // The range depends on the algorithm: checked below, so the message can name it (zod's own
      // min/max would run first and say less); the JSON Schema keeps the widest bounds.
      level: z
        .int(expected('a whole number'))
        .optional()
        .meta({ minimum: 1, maximum: 19 })
        .describe('gzip 1-9 (default 6), zstd 1-19 (default 3).'),
    },
    expected('a mapping with algorithm and level'),
  )
  .transform((c, ctx) => {
    const [min, max] = LEVEL_RANGE[c.algorithm];
    const level = c.level ?? DEFAULT_LEVEL[c.algorithm];
    if (level < min || level > max) {
      const message = `expected a ${c.algorithm} level from ${min} to ${max}, found the number ${level}`;
      ctx.issues.push({ code: 'custom', path: ['level'], message, input: level });
    }
    return { algorithm: c.algorithm, level };
  })
  .prefault({})
  .describe(
    'Layer compression; default gzip level 6. zstd layers need Node >= 22.15 (node:zlib zstd) to build.',
  );

const baseImage = nonEmpty
  .superRefine((text, ctx) => {
    try {
      parseBaseReference(text, '/');
    } catch (err) {
      if (!isImprintError(err, 'BAD_REFERENCE')) throw err;
      ctx.addIssue({ code: 'custom', message: `${err.message}. ${err.hint ?? ''}`.trim(), input: text });
    }
  })
  .describe(
    'Base image the build lays its layers on: a registry reference (debian:bookworm, docker://HOST/REPO:TAG), ' +
      'oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:NAME:TAG]; @sha256:<digest> pins it, ' +
      'otherwise `imprint lock` resolves it once and the lock pins it. Its layers are reused byte for byte.',
  );

const removals = z
  .array(imagePath(false), expected('a list of absolute paths in the image'))
  .prefault([])
  .describe(
    'Paths removed from the image (with everything below them), after packages, files and accounts: ' +
      'exact paths, or patterns with * and ? (within one path component) and ** (any depth). A path of ' +
      'the base image becomes a whiteout. A path or pattern that matches nothing is an error.',
  );

/** The structure of imprint.yaml version 1 (before cross-field rules). */
const specObject = z
  .strictObject(
    {
      version: z.literal(1, expected('version: 1 (the only spec version this imprint reads)')),
      base: baseImage.optional(),
      platforms,
      files: z
        .array(fileEntry, expected('a list of files'))
        .prefault([])
        .describe('Files copied into the image, in order.'),
      accounts,
      user: z
        .string(
          expected('a string, user[:group] (YAML reads an unquoted 1000 as a number: write user: "1000")'),
        )
        .min(1, expected('a non-empty string'))
        .optional()
        .describe(
          "User the container runs as: user[:group], each a numeric id or a name the image's /etc/passwd (or /etc/group) has (declared under accounts, or from a package such as base-passwd or the base image).",
        ),
      workdir: imagePath(false)
        .optional()
        .describe(
          'Working directory of the container; the build makes it (root-owned 0755, parents too) when the image lacks it.',
        ),
      env: stringMap(
        'environment variables',
        z
          .string()
          .regex(
            ENV_NAME,
            expected('an environment variable name (printable ASCII without spaces or =, e.g. JAVA_OPTS)'),
          ),
      ),
      entrypoint: stringList(EXEC_FORM).optional(),
      cmd: stringList(EXEC_FORM).optional(),
      exposedPorts,
      volumes: z
        .array(imagePath(false), expected('a list of absolute paths in the image'))
        .transform((paths) => [...new Set(paths)].sort())
        .optional()
        .describe(
          "Directories the image declares as volumes (Dockerfile's VOLUME): runtimes mount an anonymous volume there unless one is given; added to a base image's.",
        ),
      stopSignal,
      labels: stringMap('labels', nonEmpty),
      annotations: stringMap('annotations', nonEmpty),
      epoch: z
        .int(expected('a whole number of seconds since 1970'))
        .min(0, expected('a number >= 0'))
        .max(MAX_EPOCH, expected(`a number <= ${MAX_EPOCH} (year 9999)`))
        .optional()
        .describe('SOURCE_DATE_EPOCH for this build, unless the environment sets one.'),
      sources: aptSources.prefault([]).describe('Debian archives packages come from.'),
      packages,
      timezone: z
        .string(expected('a time zone name such as Etc/UTC or Europe/Berlin'))
        .regex(TIMEZONE_NAME, expected('a time zone name such as Etc/UTC or Europe/Berlin'))
        .optional()
        .describe(
          'Time zone of /etc/localtime (and /etc/timezone where the tzdata of the release writes one), which imprint writes when tzdata is among the packages (default Etc/UTC); a zone tzdata does not ship is an error.',
        ),
      remove: removals,
      fetch: z
        .strictObject(
          { sources: z.array(fetchTemplate, expected('a list of URL templates')).prefault([]) },
          expected('a mapping with sources'),
        )
        .prefault({})
        .describe('Where locked blobs may be fetched from: URL templates, tried in order.'),
      layering: z
        .strictObject(
          {
            strategy: z
              .enum(['single', 'per-package'], expected('"single" or "per-package"'))
              .default('single'),
            budget: z
              .int(expected('a whole number'))
              .min(1, expected('a number >= 1'))
              .max(
                MAX_IMAGE_LAYERS,
                expected(
                  `a number <= ${MAX_IMAGE_LAYERS} (Docker, Podman and CRI-O run images of at most ${MAX_IMAGE_LAYERS} layers)`,
                ),
              )
              .optional()
              .describe('Most layers to produce (strategy per-package; single makes one).'),
          },
          expected('a mapping with strategy'),
        )
        .prefault({}),
      compression,
    },
    expected('a mapping (the imprint.yaml document)'),
  )
  .meta({
    title: 'imprint.yaml',
    description: 'Build spec of a reproducible OCI image (imprint), version 1.',
  });

/** The imprint.yaml schema: structure, cross-field rules (accounts, user), and normalisation. */
export const specSchema = specObject
  .superRefine((spec, ctx) => {
    for (const issue of accountIssues(spec.accounts, spec.user)) ctx.addIssue({ code: 'custom', ...issue });
    // A budget says how many layers per-package layering may make; single (the default) makes one,
    // so `layering: {budget: 8}` without a strategy would build one layer without a word.
    if (spec.layering.strategy === 'single' && (spec.layering.budget ?? 1) > 1)
      ctx.addIssue({
        code: 'custom',
        path: ['layering', 'budget'],
        message: `a budget of ${spec.layering.budget} layers is for strategy per-package; the strategy is single (the default), which makes one layer: add strategy: per-package, or drop budget`,
        input: spec.layering.budget,
      });
    // A package's suite must be one the sources list.
    const suites = new Set(spec.sources.flatMap((s) => s.suites));
    spec.packages.forEach((p, i) => {
      if (p.suite === undefined || suites.has(p.suite)) return;
      ctx.addIssue({
        code: 'custom',
        path: ['packages', i],
        message: `${p.name} is to come from suite ${p.suite}, which no source lists (they list ${[...suites].join(', ') || 'none'}); add it to a source's suites`,
        input: p.suite,
      });
    });
  })
  .transform((spec) => ({ ...spec, accounts: withImplicitGroups(spec.accounts) }));

/** A validated, normalised, fully defaulted imprint.yaml. */
export type Spec = z.output<typeof specSchema>;
/** What imprint.yaml may contain, as written (before defaults and normalisation). */
export type SpecInput = z.input<typeof specSchema>;
export type SpecFile = Spec['files'][number];
export type SpecAccounts = Spec['accounts'];
export type SpecUser = SpecAccounts['users'][number];
export type SpecGroup = SpecAccounts['groups'][number];
export type SpecSource = Spec['sources'][number];
export type SpecPackage = Spec['packages'][number];
