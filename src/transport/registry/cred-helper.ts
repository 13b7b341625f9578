// Docker credential helpers: `docker-credential-<name> get`, the server URL on stdin, JSON on stdout.
import { spawn } from 'node:child_process';
import { errorText, ImprintError } from '../../errors.js';

/** What a helper answered: a username and secret, or an identity token (username `<token>`). */
export interface HelperCredentials {
  username: string;
  password: string;
  identityToken?: string | undefined;
}

/** Where a helper was named, for messages: the auth file and the key (`credHelpers` or `credsStore`). */
export interface HelperSource {
  file: string;
  key: 'credHelpers' | 'credsStore';
}

export interface HelperOptions {
  /** Environment of the helper; its PATH finds `docker-credential-<name>` (default process.env). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Time the helper may take (default 60 s: a helper may wait for a keyring to unlock). */
  timeoutMs?: number | undefined;
}

/** The username Docker's helpers use for an identity token. */
export const TOKEN_USERNAME = '<token>';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MAX_OUTPUT = 1 << 20;

/**
 * The server URLs a helper is asked for `registry`, in order: Docker Hub's credentials are stored
 * under `https://index.docker.io/v1/` by `docker login` and under `docker.io` by podman; others under
 * `host[:port]`.
 */
export function helperServerUrls(registry: string): string[] {
  return registry === 'docker.io' ? ['https://index.docker.io/v1/', 'docker.io'] : [registry];
}

/**
 * Asks helper `name` for the credentials of `registry` (each of `helperServerUrls` until one is
 * found). undefined when the helper says "credentials not found" (or answers empty ones); a missing
 * binary, another failure or malformed output is AUTH naming the helper and `source`. Cost: one
 * process per URL tried.
 */
export async function helperCredentials(
  name: string,
  registry: string,
  source: HelperSource,
  opts: HelperOptions = {},
): Promise<HelperCredentials | undefined> {
  const where = `${source.key} of ${source.file}`;
  const details = { helper: name, file: source.file, registry };
  if (!NAME.test(name)) {
    throw new ImprintError(
      'AUTH',
      `${where}: expected a credential helper name (letters, digits, '.', '_', '-'), found ${JSON.stringify(name)}`,
      { hint: `Name the suffix of a docker-credential-<name> program in ${source.file}.`, details },
    );
  }
  for (const url of helperServerUrls(registry)) {
    const found = await runGet(`docker-credential-${name}`, url, source, details, opts);
    if (found !== undefined) return found;
  }
  return undefined;
}

function runGet(
  program: string,
  serverUrl: string,
  source: HelperSource,
  details: Record<string, string>,
  opts: HelperOptions,
): Promise<HelperCredentials | undefined> {
  const where = `${source.key} of ${source.file}`;
  const fail = (message: string, hint: string, cause?: unknown): ImprintError =>
    new ImprintError('AUTH', `credential helper ${program} (${where}) for ${serverUrl}: ${message}`, {
      hint,
      cause,
      details: { ...details, serverUrl },
    });
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const timeoutMs = opts.timeoutMs ?? 60_000;
    let timedOut = false;
    // not spawn's `timeout`: its timer outlives a helper that failed to start
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (b: Buffer) => {
      size += b.length;
      if (size <= MAX_OUTPUT) into.push(b);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.stdin.on('error', () => undefined); // a helper that exits without reading stdin
    child.on('error', (e) => {
      clearTimeout(timer);
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        fail(
          missing ? 'not found on PATH' : `cannot be run: ${errorText(e)}`,
          missing
            ? `Install ${program}, or remove the ${source.key} entry from ${source.file}, or pass --creds USER:PASSWORD.`
            : `Check that ${program} is executable, or pass --creds USER:PASSWORD.`,
          e,
        ),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8').trim();
      const text = `${stdout} ${Buffer.concat(err).toString('utf8')}`.trim();
      if (code !== 0) {
        if (/credentials not found/i.test(text)) return resolve(undefined);
        const why = timedOut
          ? `no answer within ${timeoutMs} ms`
          : signal !== null
            ? `killed by ${signal}`
            : `exit status ${code}`;
        return reject(
          fail(
            `${why}${text ? `: ${text.slice(0, 300)}` : ''}`,
            `Run \`printf %s ${serverUrl} | ${program} get\` to see the failure, or pass --creds USER:PASSWORD.`,
          ),
        );
      }
      let doc: { Username?: unknown; Secret?: unknown };
      try {
        doc = JSON.parse(stdout) as typeof doc;
      } catch {
        // neither the output nor the parser's message (which quotes it) is kept: it may hold a secret
        return reject(
          fail(
            'expected JSON {"ServerURL","Username","Secret"} on stdout, found something else',
            `Check ${program}.`,
          ),
        );
      }
      const username = typeof doc?.Username === 'string' ? doc.Username : '';
      const secret = typeof doc?.Secret === 'string' ? doc.Secret : '';
      if (username === '' && secret === '') return resolve(undefined);
      if (username === TOKEN_USERNAME) return resolve({ username: '', password: '', identityToken: secret });
      resolve({ username, password: secret });
    });
    child.stdin.end(serverUrl);
  });
}
