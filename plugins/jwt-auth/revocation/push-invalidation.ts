import type { Logger, RedisSettings } from '../../../runner/plugin-api/index.js';
import { invalidationChannel, keyFromKeyspaceChannel, keyspacePattern } from './keys.js';
import { createRedisConnection } from './redis-client.js';
import type { RedisTarget, RevocationRedis } from './redis-client.js';
import { withDeadline } from './deadline.js';
import { untrustedTtlMs } from './local-view.js';
import { safeRedisError } from './safe-error.js';

/**
 * How far local answers can be trusted:
 * - `keyspace`: subscribed to keyspace notifications for the prefix — every change, including a plain
 *   `redis-cli SET` and TTL expiry, is pushed.
 * - `channel`: subscribed only to our invalidation channel (CONFIG disabled, or a cluster, where keyspace
 *   notifications are per node): changes made by our admin operations are pushed, others are not.
 * - `down`: not subscribed (connecting, reconnecting, heartbeat lost).
 */
export type PushMode = 'keyspace' | 'channel' | 'down';

export interface PushListener {
  /** `key` changed in Redis. */
  onInvalidate(key: string): void;
  /** The subscription was (re)established; events may have been missed before it. */
  onResync(mode: PushMode): void;
}

/**
 * Flags the runner needs in `notify-keyspace-events`: K keyspace channel, g generic (DEL, EXPIRE,
 * RENAME…), $ string commands (SET…), x expired, e evicted.
 */
const REQUIRED_KEYSPACE_FLAGS = ['K', 'g', '$', 'x', 'e'] as const;
/** Flags the `A` alias stands for, as Redis reports it back. */
const ALIAS_A_FLAGS = ['g', '$', 'l', 's', 'h', 'z', 'x', 'e', 't', 'd', 'm', 'n'];

/** How often the subscriber connection is pinged to detect a silent network loss. */
export const PUSH_HEARTBEAT_INTERVAL_MS = 1000;

/** `notify-keyspace-events` value that keeps `current` and adds what the runner needs; null if nothing to add. */
export function mergeKeyspaceFlags(current: string): string | null {
  const present = new Set(current.split(''));
  if (present.has('A')) for (const flag of ALIAS_A_FLAGS) present.add(flag);
  const missing = REQUIRED_KEYSPACE_FLAGS.filter((flag) => !present.has(flag));
  return missing.length === 0 ? null : current + missing.join('');
}

/**
 * The subscriber connection: enables keyspace notifications where it may (CONFIG SET, merging with the
 * flags already set), subscribes to them and to our invalidation channel, re-does both after every
 * reconnect, and pings to notice a connection that died silently.
 */
export class PushInvalidation {
  readonly #settings: RedisSettings;
  readonly #target: RedisTarget;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #listener: PushListener;
  readonly #client: RevocationRedis;
  readonly #heartbeat: NodeJS.Timeout;
  #mode: PushMode = 'down';
  /** Counts connections, so a setup overtaken by a reconnect does not announce itself. */
  #generation = 0;
  #pinging = false;
  #closed = false;
  #configWarned = false;
  #waiters: Array<(mode: PushMode) => void> = [];

  constructor(settings: RedisSettings, target: RedisTarget, logger: Logger, listener: PushListener) {
    this.#settings = settings;
    this.#target = target;
    this.#prefix = settings.key_prefix;
    this.#logger = logger;
    this.#listener = listener;
    this.#client = createRedisConnection(settings, 'subscriber');
    this.#client.on('ready', () => void this.#subscribe());
    this.#client.on('close', () => this.#markDown('connection closed'));
    this.#client.on('error', (err: unknown) => this.#logger.debug({ err: safeRedisError(err) }, 'revocation subscriber connection error'));
    this.#client.on('pmessage', (_pattern: string, channel: string) => {
      const key = keyFromKeyspaceChannel(this.#target.db, channel);
      if (key !== null) this.#listener.onInvalidate(key);
    });
    this.#client.on('message', (channel: string, message: string) => {
      if (channel === invalidationChannel(this.#prefix)) this.#listener.onInvalidate(message);
    });
    this.#heartbeat = setInterval(() => void this.#ping(), PUSH_HEARTBEAT_INTERVAL_MS);
    this.#heartbeat.unref();
  }

  get mode(): PushMode {
    return this.#mode;
  }

  /** Resolves with the mode once subscribed (at once when already subscribed). */
  whenSubscribed(): Promise<PushMode> {
    if (this.#mode !== 'down') return Promise.resolve(this.#mode);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#mode = 'down';
    await quitQuietly(this.#client, this.#settings.command_timeout_ms);
  }

  async #subscribe(): Promise<void> {
    const generation = ++this.#generation;
    const client = this.#client;
    try {
      const keyspace = this.#target.mode !== 'cluster' && (await this.#enableKeyspaceEvents());
      const deadline = this.#settings.command_timeout_ms;
      // Subscribe to keyspace events even when we could not enable them: an operator may have.
      if (this.#target.mode !== 'cluster') {
        await withDeadline(client.psubscribe(keyspacePattern(this.#target.db, this.#prefix)), deadline, 'PSUBSCRIBE');
      }
      await withDeadline(client.subscribe(invalidationChannel(this.#prefix)), deadline, 'SUBSCRIBE');
      if (generation !== this.#generation || this.#closed) return;
      this.#mode = keyspace ? 'keyspace' : 'channel';
      this.#listener.onResync(this.#mode);
      this.#logger.info({ redis: this.#target.description, mode: this.#mode }, 'revocation push invalidation subscribed');
      for (const resolve of this.#waiters.splice(0)) resolve(this.#mode);
    } catch (err) {
      if (generation !== this.#generation || this.#closed) return;
      this.#logger.warn({ err: safeRedisError(err), redis: this.#target.description }, 'revocation push invalidation could not subscribe; reconnecting');
      this.#reconnect();
    }
  }

  /** True when keyspace notifications for our needs are on (possibly after we turned them on). */
  async #enableKeyspaceEvents(): Promise<boolean> {
    const deadline = this.#settings.command_timeout_ms;
    try {
      const reply: unknown = await withDeadline(
        this.#client.call('CONFIG', 'GET', 'notify-keyspace-events'),
        deadline,
        'CONFIG GET',
      );
      const current = Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : '';
      const merged = mergeKeyspaceFlags(current);
      if (merged !== null) {
        await withDeadline(this.#client.call('CONFIG', 'SET', 'notify-keyspace-events', merged), deadline, 'CONFIG SET');
      }
      return true;
    } catch (err) {
      const untrustedMs = untrustedTtlMs(this.#settings.cache_ttl_ms);
      const log = { err: safeRedisError(err), redis: this.#target.description, untrusted_cache_ms: untrustedMs };
      const message =
        'cannot enable Redis keyspace notifications (CONFIG refused); revocations made with our CLI still ' +
        'propagate at once, plain SET/DEL within untrusted_cache_ms';
      if (this.#configWarned) this.#logger.debug(log, message);
      else this.#logger.warn(log, message);
      this.#configWarned = true;
      return false;
    }
  }

  #markDown(reason: string): void {
    if (this.#mode === 'down' || this.#closed) return;
    this.#mode = 'down';
    this.#logger.warn({ redis: this.#target.description, reason }, 'revocation push invalidation lost; trusting local answers less');
  }

  /** Drop a connection that is up but useless; ioredis then reconnects with its back-off. */
  #reconnect(): void {
    if (this.#client.status === 'ready' || this.#client.status === 'connect') this.#client.disconnect(true);
  }

  async #ping(): Promise<void> {
    if (this.#mode === 'down' || this.#pinging || this.#closed) return;
    this.#pinging = true;
    const generation = this.#generation;
    try {
      await withDeadline(this.#client.ping(), this.#settings.command_timeout_ms, 'PING');
    } catch {
      // A ping lost with an old connection says nothing about the one that replaced it.
      if (!this.#closed && this.mode !== 'down' && generation === this.#generation) {
        this.#markDown('heartbeat failed');
        this.#reconnect();
      }
    } finally {
      this.#pinging = false;
    }
  }
}

/** QUIT when connected (bounded by `timeoutMs`), otherwise drop the socket; never throws. */
export async function quitQuietly(client: RevocationRedis, timeoutMs: number): Promise<void> {
  try {
    if (client.status === 'ready') {
      await withDeadline(client.quit(), timeoutMs, 'QUIT');
      return;
    }
  } catch {
    // fall through to a hard disconnect
  }
  client.disconnect();
}
