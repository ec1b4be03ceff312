/**
 * The runner's root logger: pino, JSON lines, secrets redacted.
 *
 * By default logs go to standard error, which APISIX copies into its own error log
 * (hence the quiet default level); `log.file` sends them to a file instead.
 */
import { createHash } from 'node:crypto';
import { pino, type DestinationStream, type Logger } from 'pino';
import { ErrorCode, RunnerError } from './errors.js';
import type { LogSettings } from './config/types.js';

export type { Logger } from 'pino';

/** What replaces a redacted value in the output. */
export const REDACTED = '[redacted]';

/**
 * Field names that may hold a token, a secret or key material. Any field with one of
 * these names, at the top level or nested up to three objects deep, is replaced by
 * {@link REDACTED}. Name non-secret log fields differently (e.g. `cacheKey`, not `key`).
 */
export const REDACTED_FIELDS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'jwt',
  'secret',
  'client_secret',
  'password',
  'passwd',
  'key',
  'private_key',
  'privateKey',
  'api_key',
  'apikey',
  'x-api-key',
  'credentials',
] as const;

/** How many enclosing objects a redacted field may sit in (`req.headers.authorization` is 2). */
const REDACT_DEPTH = 3;

/** Build the fast-redact paths: `name`, `*.name`, `*.*.name`, ... with bracket syntax for non-identifiers. */
function redactPaths(): string[] {
  const paths: string[] = [];
  for (const field of REDACTED_FIELDS) {
    const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(field);
    for (let depth = 0; depth <= REDACT_DEPTH; depth += 1) {
      const prefix = Array.from({ length: depth }, () => '*').join('.');
      if (identifier) paths.push(prefix === '' ? field : `${prefix}.${field}`);
      else paths.push(`${prefix}[${JSON.stringify(field)}]`);
    }
  }
  return paths;
}

/**
 * Create the root logger. Children (per connection, per call) come from `logger.child()`.
 *
 * Writes are synchronous so nothing is lost when the process exits inside APISIX's
 * one-second shutdown window; at the default level the volume is small.
 *
 * @param options.destination write here instead (tests capture output this way).
 * @throws RunnerError `CONFIG_INVALID` when `settings.file` cannot be opened for appending.
 */
export function createLogger(settings: LogSettings, options: { destination?: DestinationStream } = {}): Logger {
  const destination = options.destination ?? openDestination(settings.file);
  return pino(
    {
      level: settings.level,
      base: { name: 'apisix-jwt-runner', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names rather than numbers: these lines are read in the gateway's error log.
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths(), censor: REDACTED },
    },
    destination,
  );
}

function openDestination(file: string | null): DestinationStream {
  if (file === null) return pino.destination({ dest: 2, sync: true });
  try {
    return pino.destination({ dest: file, sync: true, append: true, mkdir: false });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new RunnerError(
      ErrorCode.CONFIG_INVALID,
      `log.file: cannot open "${file}" for appending (${typeof code === 'string' ? code : String(err)}); ` +
        'its directory must exist and be writable by the runner user',
      { cause: err },
    );
  }
}

/**
 * A short, non-reversible identifier of a token for logs: the first 12 hex digits of
 * its SHA-256. Lets operators correlate log lines about one token without the token.
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 12);
}
