import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { Logger, RedisSettings } from '../../../runner/plugin-api/index.js';
import { ErrorCode, RunnerError, abortSourceOf } from '../../../runner/plugin-api/index.js';
import { withDeadline } from './deadline.js';
import { decideRevocation } from './decision.js';
import type { AbortSource, RevocationChecker, RevocationQuery, RevocationStatus } from './index.js';
import { jtiKey, subjectKey } from './keys.js';
import { LocalView, untrustedTtlMs } from './local-view.js';
import type { KeyReading, LocalReading } from './local-view.js';
import { lookupTallies, revocationMetrics } from './metrics.js';
import type { LookupTallies } from './metrics.js';
import { safeRedisError } from './safe-error.js';
import type { RevocationMetrics } from './metrics.js';
import { PushInvalidation, quitQuietly } from './push-invalidation.js';
import type { PushMode } from './push-invalidation.js';
import { createRedisConnection, describeTarget, isReady } from './redis-client.js';
import type { RedisTarget, RevocationRedis } from './redis-client.js';
import { COMMANDS_PER_KEY, readKeys } from './store-reader.js';
import { removeUnordered } from './unordered-list.js';

/**
 * Most revocation keys remembered locally (LRU); forgetting one only costs a Redis read.
 * Two keys per active token (jti and subject), ~200 bytes each with the LRU's
 * bookkeeping: 50 000 keys stay under ~10 MiB and cover 25 000 tokens in use within
 * `cache_ttl_ms`.
 */
export const LOCAL_VIEW_MAX_KEYS = 50_000;

/** The Redis keys a query reads: its jti key and its subject watermark key. */
interface QueryKeys {
  readonly jti: string | null;
  readonly sub: string | null;
}

/**
 * Longest a key due for refresh waits for others to share its pipeline; at most half
 * the refresh-ahead window, so the answer in use stays trusted meanwhile.
 */
export const REFRESH_BATCH_MS = 2;

/**
 * Trust windows of local answers are shortened at random by up to this fraction, so
 * keys read together (all of a runner's keys after a restart) do not keep lapsing
 * together every window: their refreshes arrive as bursts of Redis replies that hold up
 * the calls queued behind them (docs/benchmarks.md has the p99 figures). Costs about
 * one refresh in eight more.
 */
export const TRUST_JITTER = 0.25;

/** Upper bound of the refresh-ahead window (a quarter of `cache_ttl_ms` when that is shorter). */
export const REFRESH_AHEAD_MAX_MS = 100;

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
  /** Reads on the wire and the keys they read (single-flight); a short list, like the view's (see LocalView). */
  readonly #flights: Flight[] = [];
  /** Redis keys per query object (see #keysOf); entries go with the cached verification. */
  readonly #queryKeys = new WeakMap<RevocationQuery, QueryKeys>();
  /** Keys waiting for the next refresh pipeline, and the timer that sends it. */
  #refreshBatch: string[] = [];
  #refreshTimer: NodeJS.Timeout | null = null;
  /** How long before a local answer lapses a use of it triggers a background refresh. */
  readonly #refreshAheadMs: number;
  /** How long a due refresh waits for company (at most half the refresh-ahead window). */
  readonly #refreshBatchMs: number;
  readonly #tallies: LookupTallies;
  readonly #firstReady: Promise<void>;
  #everReady = false;
  #storeHealthy = true;
  #closing: Promise<void> | null = null;

  /**
   * @param options.now monotonic clock in ms for the local view (tests freeze it); default `performance.now`.
   */
  constructor(settings: RedisSettings, logger: Logger, registry: Registry | null, options: { now?: () => number } = {}) {
    this.#settings = settings;
    this.#target = describeTarget(settings);
    this.#logger = logger.child({ component: 'revocation' });
    this.#metrics = revocationMetrics(registry);
    this.#tallies = lookupTallies(registry);
    this.#refreshAheadMs = Math.min(REFRESH_AHEAD_MAX_MS, Math.floor(settings.cache_ttl_ms / 4));
    this.#refreshBatchMs = Math.min(REFRESH_BATCH_MS, Math.floor(this.#refreshAheadMs / 2));
    this.#view = new LocalView({
      trustedTtlMs: settings.cache_ttl_ms,
      untrustedTtlMs: untrustedTtlMs(settings.cache_ttl_ms),
      maxEntries: LOCAL_VIEW_MAX_KEYS,
      now: options.now ?? (() => performance.now()),
      trustJitter: TRUST_JITTER,
      admitOnRepeat: true,
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

  check(query: RevocationQuery, signal?: AbortSignal): Promise<RevocationStatus> {
    try {
      return Promise.resolve(this.lookup(query, signal === undefined ? undefined : abortSourceOf(signal)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * {@link check} without a promise when the local view can answer (the steady state:
   * no promise, no Redis). `abort` is consulted only when Redis has to be asked. An
   * answer that will soon stop being trusted is refreshed in the background, so busy
   * keys rarely make a request wait for Redis.
   */
  lookup(query: RevocationQuery, abort?: AbortSource): RevocationStatus | Promise<RevocationStatus> {
    if (this.#closing !== null) {
      throw new RunnerError(ErrorCode.REVOCATION_STORE_UNAVAILABLE, 'revocation checker is closed');
    }
    const pushLive = this.#push.mode === 'keyspace';
    const { jti, sub } = this.#keysOf(query);
    const now = this.#view.now();
    const jtiReading = jti === null ? undefined : this.#view.trusted(jti, pushLive, now);
    const jtiValue = jtiReading?.value;
    if (jtiValue !== undefined && jtiValue !== null) {
      // A revoked jti decides alone; the subject watermark cannot make it valid again.
      this.#refreshIfLapsing(jti, jtiReading, pushLive, now);
      return this.#answer(query, jtiValue, undefined, 'local');
    }
    const subReading = sub === null ? undefined : this.#view.trusted(sub, pushLive, now);
    const subValue = subReading?.value;
    const jtiMissing = jti !== null && jtiValue === undefined;
    const subMissing = sub !== null && subValue === undefined;
    if (!jtiMissing && !subMissing) {
      this.#refreshIfLapsing(jti, jtiReading, pushLive, now);
      this.#refreshIfLapsing(sub, subReading, pushLive, now);
      return this.#answer(query, jtiValue, subValue, 'local');
    }
    const missing = jtiMissing && subMissing ? [jti, sub] : jtiMissing ? [jti] : [sub as string];
    return this.#lookupRemote(query, jti, sub, jtiValue, subValue, missing, abort);
  }

  /**
   * The Redis keys of a query. A cached verification hands the same query object to
   * every request of its token, so the keys are built (and their hashes computed) once
   * per token rather than concatenated on every request.
   */
  #keysOf(query: RevocationQuery): QueryKeys {
    let keys = this.#queryKeys.get(query);
    if (keys === undefined) {
      const prefix = this.#settings.key_prefix;
      keys = {
        jti: query.jti === null ? null : jtiKey(prefix, query.jti),
        sub: query.sub === null ? null : subjectKey(prefix, query.sub),
      };
      this.#queryKeys.set(query, keys);
    }
    return keys;
  }

  async #lookupRemote(
    query: RevocationQuery,
    jti: string | null,
    sub: string | null,
    jtiLocal: string | null | undefined,
    subLocal: string | null | undefined,
    missing: readonly string[],
    abort: AbortSource | undefined,
  ): Promise<RevocationStatus> {
    let readings: ReadonlyMap<string, KeyReading>;
    try {
      readings = await abortable(this.#read(missing), abort);
    } catch (err) {
      this.#tallies.count('error', 'redis');
      throw err;
    }
    const jtiValue = jti === null ? undefined : jtiLocal ?? readings.get(jti)?.value;
    const subValue = sub === null ? undefined : subLocal ?? readings.get(sub)?.value;
    return this.#answer(query, jtiValue, subValue, 'redis');
  }

  /** Decide and count. */
  #answer(query: RevocationQuery, jtiValue: string | null | undefined, subValue: string | null | undefined, source: 'local' | 'redis'): RevocationStatus {
    const status = decideRevocation(query, jtiValue, subValue);
    this.#tallies.count(status, source);
    return status;
  }

  /** Start a background re-read of a local answer about to lapse, so busy keys never make a lookup wait. */
  #refreshIfLapsing(key: string | null, reading: LocalReading | undefined, pushLive: boolean, nowMs: number): void {
    if (key === null || reading === undefined || this.#closing !== null) return;
    // At most one refresh per key at a time: the claim is given back when its read is over.
    if (this.#view.lapsesWithin(reading, pushLive, this.#refreshAheadMs, nowMs) && this.#view.claimRefresh(reading)) this.#refresh(key);
  }

  /**
   * Re-read one key in the background; failures only count as store errors (the next
   * miss reports them). Keys due within {@link REFRESH_BATCH_MS} share one pipeline:
   * with every key of a busy runner lapsing once per `cache_ttl_ms`, one round trip per
   * key was a tenth of a revocation-checking runner's CPU.
   */
  #refresh(key: string): void {
    this.#refreshBatch.push(key);
    this.#refreshTimer ??= setTimeout(() => this.#flushRefreshes(), this.#refreshBatchMs).unref();
  }

  #flushRefreshes(): void {
    const keys = this.#refreshBatch;
    this.#refreshBatch = [];
    this.#refreshTimer = null;
    const done = (): void => this.#view.endRefresh(keys);
    this.#read(keys).then(done, done);
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
    if (this.#refreshTimer !== null) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    this.#closing ??= Promise.all([
      this.#push.close(),
      quitQuietly(this.#lookup, this.#settings.command_timeout_ms),
    ]).then(() => undefined);
    return this.#closing;
  }

  #read(keys: readonly string[]): Promise<ReadonlyMap<string, KeyReading>> {
    for (const flight of this.#flights) if (sameKeys(flight.keys, keys)) return flight.readings;
    const flight: Flight = { keys, readings: this.#fetch(keys) };
    this.#flights.push(flight);
    const land = (): void => removeUnordered(this.#flights, flight);
    flight.readings.then(land, land);
    return flight.readings;
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

/** A read on the wire. */
interface Flight {
  readonly keys: readonly string[];
  readonly readings: Promise<ReadonlyMap<string, KeyReading>>;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Stop waiting for `promise` when the call is aborted (the shared read goes on for
 * other waiters). A listener on the call rather than an AbortSignal: a lookup that goes
 * to Redis (every one, with cold tokens) would otherwise create an event target that
 * lives as long as the read, long enough for V8 to move it to the old generation.
 */
function abortable<T>(promise: Promise<T>, abort: AbortSource | undefined): Promise<T> {
  if (abort === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const stopWatching = abort.onAbort((reason) => reject(abortedError(reason)));
    promise.then(
      (value) => {
        stopWatching();
        resolve(value);
      },
      (err: unknown) => {
        stopWatching();
        reject(err);
      },
    );
  });
}

function abortedError(reason: unknown): RunnerError {
  return new RunnerError(ErrorCode.REVOCATION_STORE_UNAVAILABLE, 'revocation lookup abandoned: the call was aborted', { cause: reason });
}
