// The Debian part of imprint.yaml: `sources` (apt archives) and `packages` (names, pins, dependencies).
import * as z from 'zod';
import { archivePathProblem } from '../debian/archive-path.js';
import { normalizeSourceUrl } from '../debian/source-url.js';
import { describeValue, expected } from './messages.js';

const PACKAGE = /^([a-z0-9][a-z0-9+.-]+)(?:=([A-Za-z0-9.+~:-]+))?(?:\/([A-Za-z0-9][A-Za-z0-9._-]*))?$/;
const SUITE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const DEB_ARCH = /^[a-z0-9][a-z0-9-]*$/;

/** A non-empty string (shared with schema.ts). */
export const nonEmpty = z.string(expected('a string')).min(1, expected('a non-empty string'));

const sourceUrl = z.string(expected('a URL')).superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `expected an http(s) or file URL, found ${JSON.stringify(text)}`,
      input: text,
    });
    return;
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected an http, https or file URL, found the scheme ${url.protocol}`,
      input: text,
    });
  } else if (url.username !== '' || url.password !== '') {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a URL without credentials: the URL is recorded in the lock and provenance',
      input: text,
    });
  } else if (url.search !== '' || url.hash !== '' || /[?#]/.test(text)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected an archive URL without ?query or #fragment, found ${JSON.stringify(text)}: the archive's files are found by appending paths (dists/…, pool/…) to it`,
      input: text,
    });
  }
});

/**
 * A suite or component: a path under the archive's `dists/` (`bookworm`, `bookworm/updates`,
 * `updates/main`) that may not leave it (archivePathProblem).
 */
function distsPath(what: string, example: string) {
  return nonEmpty.superRefine((text, ctx) => {
    // apt's sources split on whitespace: no suite or component has any.
    const problem = /\s/.test(text)
      ? 'it holds whitespace'
      : what === 'suite' && text.endsWith('/')
        ? "it ends in / (apt's flat repository form, `deb URL ./`, which imprint does not read: it needs the archive's dists/<suite>/Release)"
        : archivePathProblem(text);
    if (problem !== undefined)
      ctx.addIssue({
        code: 'custom',
        message: `expected a ${what} such as ${example}, found ${JSON.stringify(text)}: ${problem}, and it is a path in the archive's URLs`,
        input: text,
      });
  });
}

/** A list of `item`s in which each may appear once. */
function uniqueList(item: z.ZodType<string>, what: string, plural: string) {
  return z.array(item, expected(`a list of ${plural}`)).superRefine((list, ctx) => {
    list.forEach((x, i) => {
      const first = list.indexOf(x);
      if (first !== i)
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `duplicate ${what} ${x} (also ${plural}[${first}])`,
          input: x,
        });
    });
  });
}

export const aptSource = z
  .strictObject(
    {
      url: sourceUrl
        .optional()
        .describe("Archive URL; without it, the host's apt source for the suite is used."),
      suites: z
        .array(distsPath('suite', 'bookworm or bookworm-security'), expected('a list of suites'))
        .min(1, expected('at least one suite')),
      components: uniqueList(distsPath('component', 'main'), 'component', 'components')
        .min(1, expected('at least one component'))
        .prefault(['main']),
      keyring: nonEmpty
        .optional()
        .describe('OpenPGP keyring verifying the archive; relative to the spec file or absolute.'),
      architectures: uniqueList(
        z
          .string(expected('a Debian architecture'))
          .regex(DEB_ARCH, expected('a Debian architecture such as amd64')),
        'architecture',
        'architectures',
      )
        .min(1, expected('at least one architecture'))
        .optional()
        .describe(
          "Debian architectures this source serves, e.g. [amd64] (apt's Architectures option): platforms of other architectures do not use it; default: those its Release lists.",
        ),
      'check-valid-until': z
        .boolean(expected('true or false'))
        .optional()
        .describe(
          "false: take a Release whose Valid-Until has passed (apt's Check-Valid-Until=no), for a snapshot archive; default: the host apt source's Check-Valid-Until, else true.",
        ),
      'check-date': z
        .boolean(expected('true or false'))
        .optional()
        .describe(
          "false: take a Release dated in the future (apt's Check-Date=no), for an archive whose clock is ahead; default: the host apt source's Check-Date, else true.",
        ),
    },
    expected('a mapping with suites'),
  )
  // Unset, each takes the host apt source's setting (for a source without url), else true.
  .transform(({ 'check-valid-until': checkValidUntil, 'check-date': checkDate, ...rest }) => ({
    ...rest,
    ...(checkValidUntil === undefined ? {} : { checkValidUntil }),
    ...(checkDate === undefined ? {} : { checkDate }),
  }));

/**
 * The spec's `sources`: one suite of one archive (the same URL in any spelling, or the host's apt
 * source for entries without `url`) may be listed once. apt warns that such a target "is configured
 * multiple times" and merges the lines; a spec would give two lock sources for one Release, the
 * second shadowing the first, so it is an error naming both entries (with the line of the first),
 * which says to list the components in one entry.
 */
export const aptSources = z.array(aptSource, expected('a list of sources')).superRefine((list, ctx) => {
  const seen = new Map<string, { i: number; j: number }>();
  list.forEach((s, i) => {
    // zod still runs this when an entry failed: such an entry has no parsed suites to compare.
    if (typeof s !== 'object' || s === null || !Array.isArray(s.suites)) return;
    const url = typeof s.url === 'string' ? normalizeSourceUrl(s.url) : undefined;
    s.suites.forEach((suite, j) => {
      const key = `${url ?? ''}\n${suite}`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, { i, j });
        return;
      }
      const other = list[first.i];
      const archive = url === undefined ? "the host's apt source" : url;
      const components = [...new Set([...(other?.components ?? []), ...(s.components ?? [])])];
      const fix =
        first.i === i
          ? `list it once in sources[${i}].suites`
          : `list the suite in one entry${components.length > 0 ? ` with components: [${components.join(', ')}]` : ''}`;
      ctx.addIssue({
        code: 'custom',
        path: [i, 'suites', j],
        message: `suite ${suite} of ${archive} is listed again: first in sources[${first.i}].suites[${first.j}]{line}; one archive suite is one source (one Release), so ${fix}`,
        params: { also: [first.i, 'suites', first.j] },
        input: suite,
      });
    });
  });
});

/** apt's `name:arch`, which a spec does not take: each platform installs its own architecture. */
const ARCH_QUALIFIED = /^[a-z0-9][a-z0-9+.-]+:[a-z0-9-]+(?:[=/]|$)/;

const packageText = z.string(expected('a package name')).regex(PACKAGE, {
  error: (issue) => {
    const text = String(issue.input);
    const name = text.split(':')[0] as string;
    return ARCH_QUALIFIED.test(text)
      ? `expected a package name without an architecture, found ${JSON.stringify(text)}: each platform of the spec installs its own architecture's packages (linux/arm64 gets arm64 ones), so write ${JSON.stringify(name)}; packages of another architecture (multiarch, as apt's ${JSON.stringify(`${name}:i386`)}) are not supported`
      : `expected a Debian package name, optionally =version and /suite (e.g. "curl", "curl=7.88.1-10" or "curl/bookworm-backports"), found ${describeValue(issue.input)}`;
  },
});

/**
 * What a package entry becomes: name, optional version, optional suite (the package's candidate is
 * taken from that suite, as apt's `name/suite`), and `dependencies: false` when its closure is not wanted.
 */
type PackageRequest = { name: string; version?: string; suite?: string; dependencies?: false };

function splitPackage(text: string): PackageRequest {
  const m = PACKAGE.exec(text) as RegExpExecArray; // validated by packageText
  return {
    name: m[1] as string,
    ...(m[2] === undefined ? {} : { version: m[2] }),
    ...(m[3] === undefined ? {} : { suite: m[3] }),
  };
}

const packageRequest = z.union(
  [
    packageText.transform(splitPackage),
    z
      .strictObject(
        {
          name: packageText.describe('name, name=version or name/suite'),
          suite: z
            .string(expected('a suite name'))
            .regex(SUITE, expected('a suite name such as bookworm-backports'))
            .optional()
            .describe(
              "take the package from this suite of the sources (as apt's name/suite: e.g. a backport); its dependencies come from there too where no other version fits",
            ),
          dependencies: z
            .boolean(expected('true or false'))
            .default(true)
            .describe(
              'false: install this package alone, without its Depends/Pre-Depends (data packages such as tzdata for a static image).',
            ),
        },
        expected('a package name, or a mapping with name (and suite, dependencies)'),
      )
      .transform(
        (o): PackageRequest => ({
          ...splitPackage(o.name),
          ...(o.suite === undefined ? {} : { suite: o.suite }),
          ...(o.dependencies ? {} : { dependencies: false }),
        }),
      ),
  ],
  expected('a package name such as "curl" or "curl=7.88.1-10", or {name: tzdata, dependencies: false}'),
);

export const packages = z
  .array(packageRequest, expected('a list of package names'))
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((p, i) => {
      // zod still runs this when an element failed; such an element has no parsed name to compare.
      if (typeof p !== 'object' || p === null || typeof p.name !== 'string') return;
      const first = seen.get(p.name);
      if (first === undefined) seen.set(p.name, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `duplicate package ${p.name} (also packages[${first}])`,
          input: p.name,
        });
    });
  })
  .prefault([])
  .describe(
    'Debian packages to install: name, name=version or name/suite, or {name, suite, dependencies: false} (false: a package without its dependencies).',
  );
