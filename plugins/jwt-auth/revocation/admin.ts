/**
 * Revocation operations for the operator CLI (`revoke`, `unrevoke`, `revocations`). They write the key
 * layout the checker reads (see `keys.ts`) and announce each change on the invalidation channel, so
 * runners see it at once even where keyspace notifications are off.
 */
import { Redis } from 'ioredis';
import { ErrorCode, RunnerError, isRunnerError } from '../../../runner/plugin-api/index.js';
import { classifyKey, invalidationChannel, jtiKey, prefixPattern, SUBJECT_MARKER, subjectKey } from './keys.js';
import { untypedConnectorOptions } from './redis-client.js';
import { parseRedisUrl, redactRedisUrl } from './redis-url.js';
import { safeRedisError } from './safe-error.js';

/** Connect and per-command timeout of the admin connection: a CLI should fail fast, not hang. */
export const ADMIN_TIMEOUT_MS = 3000;
/** Keys asked for per SCAN step. */
const SCAN_BATCH = 500;

/** One revocation as listed by {@link listRevocations}. */
export interface RevocationEntry {
  readonly kind: 'jti' | 'sub';
  /** The jti, or the subject. */
  readonly id: string;
  /** The stored value (for `sub`, the watermark unix time); null when the key is not a string. */
  readonly value: string | null;
  /** Remaining lifetime in whole seconds; null when the key has no expiry. */
  readonly ttlSeconds: number | null;
}

function usage(message: string): RunnerError {
  return new RunnerError(ErrorCode.CLI_USAGE, message);
}

/** Parse a flag value that must be a positive integer (TTL seconds, unix times). */
export function parsePositiveInt(flag: string, text: string): number {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    const shown = trimmed.length > 40 ? `${trimmed.slice(0, 40)}…` : trimmed;
    throw usage(`${flag} must be a positive integer, got "${shown}"`);
  }
  return value;
}

/**
 * Read `jti` and `exp` from a JWT WITHOUT verifying it (only to know what to revoke and for how long):
 * `ttl` is the token's remaining lifetime in whole seconds, rounded up. Throws `ERR_CLI_USAGE` for a
 * malformed token, one without `jti` or numeric `exp`, or one already expired. Messages never quote the token.
 */
export function ttlFromToken(token: string, nowSeconds: number): { jti: string; exp: number; ttl: number } {
  const parts = token.trim().split('.');
  const payloadPart = parts[1];
  if (parts.length !== 3 || payloadPart === undefined || payloadPart === '' || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p))) {
    throw usage('--token is not a compact JWT (expected three base64url parts separated by dots)');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'));
  } catch {
    throw usage('--token payload is not base64url-encoded JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw usage('--token payload is not a JSON object');
  }
  const claims = payload as Record<string, unknown>;
  const { jti, exp } = claims;
  if (typeof jti !== 'string' || jti === '') {
    throw usage('the token has no jti claim, so it cannot be revoked by id; revoke its subject with --sub instead');
  }
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw usage('the token has no numeric exp claim; give the revocation lifetime with --ttl SECONDS');
  }
  const ttl = Math.ceil(exp - nowSeconds);
  if (ttl <= 0) throw usage(`the token already expired (exp ${exp}); there is nothing to revoke`);
  return { jti, exp, ttl };
}

/**
 * Validate `urlText` (`redis://` or `rediss://`, port 1-65535) and connect with short timeouts and no
 * retries. Throws `ERR_CLI_USAGE` for a bad URL and `ERR_REVOCATION_STORE_UNAVAILABLE` when Redis cannot
 * be reached or refuses the credentials. Messages show the URL without credentials.
 */
export async function openAdminClient(urlText: string): Promise<Redis> {
  let parts;
  try {
    parts = parseRedisUrl(urlText);
  } catch (err) {
    if (isRunnerError(err, ErrorCode.CONFIG_INVALID)) throw usage(`bad Redis URL: ${err.message}`);
    throw err;
  }
  const client = new Redis({
    ...untypedConnectorOptions,
    host: parts.host,
    port: parts.port,
    db: parts.db,
    ...(parts.username !== undefined ? { username: parts.username } : {}),
    ...(parts.password !== undefined ? { password: parts.password } : {}),
    ...(parts.tls ? { tls: {} } : {}),
    lazyConnect: true,
    connectTimeout: ADMIN_TIMEOUT_MS,
    commandTimeout: ADMIN_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectionName: 'apisix-jwt-runner:revocation-admin',
  });
  let lastError: unknown = null;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  try {
    await client.connect();
    // AUTH problems surface here at the latest.
    await client.ping();
    return client;
  } catch (err) {
    client.disconnect();
    // The connection's own error (ECONNREFUSED, WRONGPASS) says more than the generic rejection.
    const cause = safeRedisError(lastError ?? err);
    throw new RunnerError(
      ErrorCode.REVOCATION_STORE_UNAVAILABLE,
      `cannot use Redis at ${redactRedisUrl(parts)}: ${cause.message}`,
      { cause },
    );
  }
}

function positiveTtl(ttlSeconds: number): void {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) throw usage('the revocation TTL must be a positive integer of seconds');
}

function nonEmpty(what: string, value: string): void {
  if (value === '') throw usage(`${what} must not be empty`);
}

/** Run a write and its announcement in one MULTI; Redis failures become `ERR_REVOCATION_STORE_UNAVAILABLE`. */
async function writeAndAnnounce(client: Redis, prefix: string, key: string, write: (m: ReturnType<Redis['multi']>) => void): Promise<unknown> {
  const multi = client.multi();
  write(multi);
  multi.publish(invalidationChannel(prefix), key);
  let result;
  try {
    result = await multi.exec();
  } catch (err) {
    throw storeError(err);
  }
  const first = result?.[0];
  if (first === undefined) throw storeError(new Error('transaction was discarded'));
  if (first[0] !== null) throw storeError(first[0]);
  return first[1];
}

function storeError(err: unknown): RunnerError {
  const cause = safeRedisError(err);
  return new RunnerError(ErrorCode.REVOCATION_STORE_UNAVAILABLE, `revocation store write failed: ${cause.message}`, { cause });
}

/** Revoke one token id for `ttlSeconds` (normally the token's remaining lifetime). */
export async function revokeJti(client: Redis, prefix: string, jti: string, ttlSeconds: number): Promise<void> {
  nonEmpty('jti', jti);
  if (jti.startsWith(SUBJECT_MARKER)) {
    throw usage(`a jti starting with "${SUBJECT_MARKER}" collides with subject revocation keys`);
  }
  positiveTtl(ttlSeconds);
  const key = jtiKey(prefix, jti);
  await writeAndAnnounce(client, prefix, key, (m) => m.set(key, '1', 'EX', ttlSeconds));
}

/**
 * Revoke every token of `sub` issued at or before `beforeUnix` ("log out everywhere"); the watermark
 * lives `ttlSeconds` (normally the longest token lifetime). Replaces any earlier watermark.
 */
export async function revokeSubject(
  client: Redis,
  prefix: string,
  sub: string,
  beforeUnix: number,
  ttlSeconds: number,
): Promise<void> {
  nonEmpty('subject', sub);
  if (!Number.isSafeInteger(beforeUnix) || beforeUnix < 0) throw usage('--before must be a unix time in whole seconds');
  positiveTtl(ttlSeconds);
  const key = subjectKey(prefix, sub);
  await writeAndAnnounce(client, prefix, key, (m) => m.set(key, String(beforeUnix), 'EX', ttlSeconds));
}

/** Remove a jti revocation; true when there was one. */
export async function unrevokeJti(client: Redis, prefix: string, jti: string): Promise<boolean> {
  nonEmpty('jti', jti);
  const key = jtiKey(prefix, jti);
  return (await writeAndAnnounce(client, prefix, key, (m) => m.del(key))) === 1;
}

/** Remove a subject watermark; true when there was one. */
export async function unrevokeSubject(client: Redis, prefix: string, sub: string): Promise<boolean> {
  nonEmpty('subject', sub);
  const key = subjectKey(prefix, sub);
  return (await writeAndAnnounce(client, prefix, key, (m) => m.del(key))) === 1;
}

/**
 * Every revocation under `prefix` with its value and remaining TTL, by SCAN (never KEYS, which blocks
 * Redis). Keys that expire during the walk are skipped; SCAN duplicates are reported once.
 */
export async function* listRevocations(client: Redis, prefix: string): AsyncIterable<RevocationEntry> {
  const seen = new Set<string>();
  let cursor = '0';
  do {
    let keys: string[];
    try {
      [cursor, keys] = await client.scan(cursor, 'MATCH', prefixPattern(prefix), 'COUNT', SCAN_BATCH);
    } catch (err) {
      throw storeError(err);
    }
    const fresh = keys.filter((key) => !seen.has(key));
    if (fresh.length === 0) continue;
    const pipeline = client.pipeline();
    for (const key of fresh) pipeline.get(key).ttl(key);
    let replies;
    try {
      replies = await pipeline.exec();
    } catch (err) {
      throw storeError(err);
    }
    for (const [i, key] of fresh.entries()) {
      seen.add(key);
      const ref = classifyKey(prefix, key);
      const getReply = replies?.[2 * i];
      const ttlReply = replies?.[2 * i + 1];
      if (ref === null || ttlReply === undefined || ttlReply[0] !== null) continue;
      const ttl = Number(ttlReply[1]);
      if (ttl === -2) continue;
      const value = getReply !== undefined && getReply[0] === null && typeof getReply[1] === 'string' ? getReply[1] : null;
      yield { kind: ref.kind, id: ref.id, value, ttlSeconds: ttl === -1 ? null : ttl };
    }
  } while (cursor !== '0');
}
