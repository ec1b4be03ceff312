import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { Logger, RedisSettings } from '../../../runner/plugin-api/index.js';
import { ErrorCode, RunnerError } from '../../../runner/plugin-api/index.js';
import { withDeadline } from './deadline.js';
import { decideRevocation } from './decision.js';
import type { RevocationChecker, RevocationQuery, RevocationStatus } from './index.js';
import { jtiKey, subjectKey } from './keys.js';
import { LocalView, untrustedTtlMs } from './local-view.js';
import type { KeyReading } from './local-view.js';
import { revocationMetrics } from './metrics.js';
import { safeRedisError } from './safe-error.js';
import type { RevocationMetrics } from './metrics.js';
import { PushInvalidation, quitQuietly } from './push-invalidation.js';
import type { PushMode } from './push-invalidation.js';
import { createRedisConnection, describeTarget, isReady } from './redis-client.js';
import type { RedisTarget, RevocationRedis } from './redis-client.js';
import { COMMANDS_PER_KEY, readKeys } from './store-reader.js';

/** Most revocation keys remembered locally (LRU); forgetting one only costs a Redis read. */
export const LOCAL_VIEW_MAX_KEYS = 100_000;

/**
 * The Redis-backed {@link RevocationChecker}: answers from a local view kept fresh by push invalidation,
 * reading Redis (one round trip, shared by concurrent lookups of the same keys) only on a miss.
 */
export class RedisRevocationChecker implements RevocationChecker {
  readonly #settings: RedisSettings;
  readonly #logger: Logger;
  readonly #metrics: RevocationMetrics;
  readonly #target: RedisTarget;
  readonly #lookup: RevocationRedis;
  readonly #push: PushInvalidation;
  readonly #view: LocalView;
  /** Reads on the wire, by the keys they read (single-flight). */
  readonly #flights = new Map<string, Promise<ReadonlyMap<string, KeyReading>>>();
  readonly #firstReady: Promise<void>;
  #everReady = false;
  #storeHealthy = true;
  #closing: Promise<void> | null = null;

  /**
   * @param options.now monotonic clock in ms for the local view (tests freeze it); default `performance.now`.
   */
  constructor(settings: RedisSettings, logger: Logger, registry: Registry, options: { now?: () => number } = {}) {
    this.#settings = settings;
    this.#target = describeTarget(settings);
    this.#logger = logger.child({ component: 'revocation' });
    this.#metrics = revocationMetrics(registry);
    this.#view = new LocalView({
      trustedTtlMs: settings.cache_ttl_ms,
      untrustedTtlMs: untrustedTtlMs(settings.cache_ttl_ms),
      maxEntries: LOCAL_VIEW_MAX_KEYS,
      now: options.now ?? (() => performance.now()),
    });
    this.#lookup = createRedisConnection(settings, 'lookup');
    this.#firstReady = new Promise((resolve) => this.#lookup.once('ready', () => resolve()));
    this.#lookup.on('ready', () => this.#noteStoreReady());
    this.#lookup.on('error', (err: unknown) => this.#noteStoreError(err));
    this.#push = new PushInvalidation(settings, this.#target, this.#logger, {
      onInvalidate: (key) => this.#view.invalidate(key),
      onResync: () => this.#view.reset(),
    });
    this.#logger.info({ redis: this.#target.description, mode: this.#target.mode }, 'revocation store configured');
  }

  async check(query: RevocationQuery, signal?: AbortSignal): Promise<RevocationStatus> {
    if (this.#closing !== null) {
      throw new RunnerError(ErrorCode.REVOCATION_STORE_UNAVAILABLE, 'revocation checker is closed');
    }
    const prefix = this.#settings.key_prefix;
    const jti = query.jti === null ? null : jtiKey(prefix, query.jti);
    const sub = query.sub === null ? null : subjectKey(prefix, query.sub);
    const pushLive = this.#push.mode === 'keyspace';
    const known = new Map<string, string | null>();
    const missing: string[] = [];
    for (const key of [jti, sub]) {
      if (key === null) continue;
      const value = this.#view.get(key, pushLive);
      if (value === undefined) missing.push(key);
      else known.set(key, value);
    }
    let source: 'local' | 'redis' = 'local';
    if (missing.length > 0) {
      source = 'redis';
      try {
        const readings = await abortable(this.#read(missing), signal);
        for (const [key, reading] of readings) known.set(key, reading.value);
      } catch (err) {
        this.#metrics.lookups.inc({ result: 'error', source });
        throw err;
      }
    }
    const status = decideRevocation(
      query,
      jti === null ? undefined : known.get(jti),
      sub === null ? undefined : known.get(sub),
    );
    this.#metrics.lookups.inc({ result: status, source });
    return status;
  }

  /** How far local answers are currently trusted (diagnostics, tests). */
  get pushMode(): PushMode {
    return this.#push.mode;
  }

  /** Resolves once push invalidation is subscribed (tests, readiness probes). */
  whenPushSubscribed(): Promise<PushMode> {
    return this.#push.whenSubscribed();
  }

  close(): Promise<void> {
    this.#closing ??= Promise.all([
      this.#push.close(),
      quitQuietly(this.#lookup, this.#settings.command_timeout_ms),
    ]).then(() => undefined);
    return this.#closing;
  }

  #read(keys: readonly string[]): Promise<ReadonlyMap<string, KeyReading>> {
    const flightKey = JSON.stringify(keys);
    const inFlight = this.#flights.get(flightKey);
    if (inFlight !== undefined) return inFlight;
    const flight = this.#fetch(keys).finally(() => this.#flights.delete(flightKey));
    this.#flights.set(flightKey, flight);
    return flight;
  }

  async #fetch(keys: readonly string[]): Promise<ReadonlyMap<string, KeyReading>> {
    const ticket = this.#view.beginRead(keys);
    try {
      const readings = await withDeadline(this.#readWhenReady(keys), this.#settings.command_timeout_ms, 'revocation lookup');
      this.#view.finishRead(ticket, readings);
      return readings;
    } catch (err) {
      this.#view.abandonRead(ticket);
      this.#metrics.storeErrors.inc();
      const cause = safeRedisError(err);
      this.#noteStoreError(cause);
      throw new RunnerError(
        ErrorCode.REVOCATION_STORE_UNAVAILABLE,
        `revocation store ${this.#target.description} unavailable: ${cause.message}`,
        { cause },
      );
    }
  }

  async #readWhenReady(keys: readonly string[]): Promise<Map<string, KeyReading>> {
    // Only at start-up do lookups wait for the connection (bounded by the lookup deadline); after it,
    // a disconnected client fails at once rather than queueing.
    if (!this.#everReady) await this.#firstReady;
    if (isReady(this.#lookup)) this.#metrics.redisCommands.inc(keys.length * COMMANDS_PER_KEY);
    return readKeys(this.#lookup, keys);
  }

  #noteStoreReady(): void {
    this.#everReady = true;
    if (!this.#storeHealthy) this.#logger.info({ redis: this.#target.description }, 'revocation store reachable again');
    this.#storeHealthy = true;
  }

  /** The first failure after a healthy period is a warning; repeats while down are debug (no log flood). */
  #noteStoreError(err: unknown): void {
    if (this.#closing !== null) return;
    const log = { err: safeRedisError(err), redis: this.#target.description };
    if (this.#storeHealthy) this.#logger.warn(log, 'revocation store unavailable');
    else this.#logger.debug(log, 'revocation store still unavailable');
    this.#storeHealthy = false;
  }
}

/** Stop waiting for `promise` when `signal` aborts (the shared read goes on for other waiters). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  const abortError = (): RunnerError =>
    new RunnerError(ErrorCode.REVOCATION_STORE_UNAVAILABLE, 'revocation lookup abandoned: the call was aborted', {
      cause: signal.reason,
    });
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(abortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
