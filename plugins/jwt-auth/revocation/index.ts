/**
 * Token revocation backed by Redis, as the jwt-auth plugin uses it.
 *
 * Key layout (see `keys.ts`): `<prefix><jti>` (any value, with a TTL) revokes one token;
 * `<prefix>sub:<sub>` holding a unix time revokes every token of that subject with `iat` at or before
 * it (a token without `iat` under a watermark counts as revoked: fail closed).
 *
 * Steady-state lookups are answered from a local view: revoked answers until the key's TTL, not-revoked
 * answers for `redis.cache_ttl_ms`, both dropped as soon as Redis pushes a change (keyspace
 * notifications, which the runner turns on with `CONFIG SET notify-keyspace-events` adding `K g $ x e`,
 * plus a `<prefix>__invalidate` channel our admin operations publish to). Where CONFIG is refused, or
 * on a cluster, or while the subscriber is disconnected, local answers are trusted for at most
 * `min(cache_ttl_ms, 900)` ms, so a revocation still reaches every runner within a second.
 */
import type { Registry } from 'prom-client';
import type { AbortSource, Logger, RedisSettings } from '../../../runner/plugin-api/index.js';
import { RedisRevocationChecker } from './checker.js';

/** The claims of a verified token that revocation looks at; null when the token lacks the claim. */
export interface RevocationQuery {
  jti: string | null;
  sub: string | null;
  iat: number | null;
  exp: number | null;
}

export type RevocationStatus = 'revoked' | 'not_revoked';

/** How a lookup hears that its call was aborted (the request context is one); consulted only when Redis must be asked. */
export type { AbortSource } from '../../../runner/plugin-api/index.js';

export interface RevocationChecker {
  /**
   * Whether the token is revoked. Throws `RunnerError` with code `ERR_REVOCATION_STORE_UNAVAILABLE`
   * (the Redis error in `cause`) when the answer is not local and Redis cannot give it within
   * `redis.command_timeout_ms`, or when `signal` aborts first. Never waits longer than that.
   */
  check(q: RevocationQuery, signal?: AbortSignal): Promise<RevocationStatus>;
  /**
   * Same answer as {@link check}; synchronous (no promise) when the local view can give it,
   * otherwise a promise that stops waiting when `abort` reports the call aborted. May throw
   * synchronously (closed checker).
   */
  lookup(q: RevocationQuery, abort?: AbortSource): RevocationStatus | Promise<RevocationStatus>;
  /** Quit both Redis connections. Idempotent; `check` throws afterwards. */
  close(): Promise<void>;
}

/**
 * Build the checker for the runner's Redis settings. Connects in the background (lookups at start-up
 * wait for the connection up to the command timeout) and reconnects forever with capped back-off.
 * Throws `ERR_CONFIG_INVALID` for unusable settings (bad URL; nothing to connect to).
 */
export function createRevocationChecker(settings: RedisSettings, logger: Logger, metrics: Registry | null): RevocationChecker {
  return new RedisRevocationChecker(settings, logger, metrics);
}

export { RedisRevocationChecker } from './checker.js';
export type { PushMode } from './push-invalidation.js';
