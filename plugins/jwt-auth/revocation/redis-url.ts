import { ErrorCode, RunnerError } from '../../../runner/plugin-api/index.js';

/** Connection facts taken from a `redis://` or `rediss://` URL. */
export interface RedisUrlParts {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
}

const DEFAULT_REDIS_PORT = 6379;
const DEFAULT_REDIS_HOST = '127.0.0.1';

/**
 * Parse and validate a Redis URL: `redis://[user[:password]@]host[:port][/db]` or `rediss://…` (TLS).
 * Throws `ERR_CONFIG_INVALID` naming what is wrong; the message never repeats the URL (it may hold a password).
 */
export function parseRedisUrl(text: string): RedisUrlParts {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // No `cause`: Node's URL error carries the input (password included) as a property.
    throw new RunnerError(
      ErrorCode.CONFIG_INVALID,
      'redis.url is not a valid URL (expected redis://[user:password@]host[:port][/db], port 1-65535)',
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new RunnerError(
      ErrorCode.CONFIG_INVALID,
      `redis.url must use redis:// or rediss://, got ${url.protocol}//`,
    );
  }
  const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RunnerError(ErrorCode.CONFIG_INVALID, 'redis.url port must be an integer from 1 to 65535');
  }
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,5}$/.test(dbText)) {
    throw new RunnerError(ErrorCode.CONFIG_INVALID, 'redis.url path must be a database number, e.g. /0');
  }
  // WHATWG URL keeps IPv6 literals bracketed; sockets want them bare.
  const host = url.hostname === '' ? DEFAULT_REDIS_HOST : url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    tls: url.protocol === 'rediss:',
    host,
    port,
    username: url.username === '' ? undefined : decodeCredential(url.username, 'user name'),
    password: url.password === '' ? undefined : decodeCredential(url.password, 'password'),
    db: dbText === '' ? 0 : Number(dbText),
  };
}

function decodeCredential(encoded: string, what: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new RunnerError(ErrorCode.CONFIG_INVALID, `redis.url ${what} has an invalid percent-encoding`);
  }
}

/** The URL as it may be logged: scheme, host, port and db, credentials replaced by `***`. */
export function redactRedisUrl(parts: RedisUrlParts): string {
  const auth = parts.username !== undefined || parts.password !== undefined ? '***@' : '';
  const host = parts.host.includes(':') ? `[${parts.host}]` : parts.host;
  return `${parts.tls ? 'rediss' : 'redis'}://${auth}${host}:${parts.port}/${parts.db}`;
}
