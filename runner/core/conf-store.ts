/**
 * Conf tokens: the runner's half of the PrepareConf contract (protocol reference 4.3).
 *
 * - token -> prepared chain, kept at least `1.2 x APISIX_CONF_EXPIRE_TIME` after its
 *   last use (sliding expiry), bounded by an LRU limit; eviction only costs the gateway
 *   a "conf token not found" round trip and a re-prepare.
 * - key -> token, so a repeated PrepareConf for the same route revision reuses the live
 *   token. The key map is consulted only through the token map, so it can never hand
 *   out a token whose configuration has expired or been evicted.
 * - tokens are random non-zero uint32s checked against live tokens, so a stale token
 *   quoted to a restarted runner is (almost surely) unknown instead of landing on
 *   another route's configuration.
 */
import { randomInt } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** A conf token as the gateway quotes it. Branded so it is never mixed up with a call id. */
export type ConfToken = number & { readonly __brand: 'ConfToken' };

/** Clock used for expiry; injectable for tests. */
export interface MonotonicClock {
  now(): number;
}

export interface ConfStoreOptions {
  /** `APISIX_CONF_EXPIRE_TIME` in seconds; entries live 1.2x this after their last use. */
  readonly confExpireSeconds: number;
  /** Most prepared configurations held at once. */
  readonly maxEntries: number;
  readonly clock?: MonotonicClock;
  /** Token source; injectable so tests can force collisions. Must return integers in [1, 2^32). */
  readonly randomToken?: () => number;
}

/** Runner-side lifetime factor over the gateway's cache time (the gateway's copy must die first). */
export const CONF_TTL_FACTOR = 1.2;

const UINT32_LIMIT = 2 ** 32;

function randomNonZeroUint32(): number {
  // randomInt's range must span < 2^48; [1, 2^32) does.
  return randomInt(1, UINT32_LIMIT);
}

interface Entry<T> {
  readonly key: string | null;
  readonly value: T;
}

export class ConfStore<T> {
  readonly #byToken: LRUCache<number, Entry<T>>;
  readonly #tokenByKey = new Map<string, number>();
  readonly #randomToken: () => number;

  constructor(options: ConfStoreOptions) {
    this.#randomToken = options.randomToken ?? randomNonZeroUint32;
    const clock = options.clock;
    this.#byToken = new LRUCache<number, Entry<T>>({
      max: options.maxEntries,
      ttl: Math.ceil(options.confExpireSeconds * CONF_TTL_FACTOR * 1000),
      updateAgeOnGet: true,
      // lru-cache caches its clock reading for `ttlResolution` ms of real time; an
      // injected clock must be read every time or a test's clock jump goes unseen.
      ...(clock ? { perf: clock, ttlResolution: 0 } : {}),
      // Drop the key mapping with the entry, but only if the key still points at
      // this token (a newer PrepareConf may already have replaced it).
      dispose: (entry, token) => {
        if (entry.key !== null && this.#tokenByKey.get(entry.key) === token) {
          this.#tokenByKey.delete(entry.key);
        }
      },
    });
  }

  /**
   * Return the live token for `key`, refreshing its expiry, or store `create()`'s
   * value under a new token. `key === null` always mints a new token.
   */
  prepare(key: string | null, create: () => T): ConfToken {
    if (key !== null) {
      const known = this.#tokenByKey.get(key);
      if (known !== undefined && this.#byToken.get(known) !== undefined) {
        return known as ConfToken;
      }
    }
    const token = this.#mintToken();
    this.#byToken.set(token, { key, value: create() });
    if (key !== null) this.#tokenByKey.set(key, token);
    return token as ConfToken;
  }

  /**
   * Store `value` under a token minted elsewhere (the primary, in multi-process
   * mode), replacing whatever this store held for that token.
   */
  adopt(token: number, key: string | null, value: T): void {
    this.#byToken.set(token, { key, value });
    if (key !== null) this.#tokenByKey.set(key, token);
  }

  /** The value for a live token (refreshing its expiry), or undefined. */
  get(token: number): T | undefined {
    return this.#byToken.get(token)?.value;
  }

  get size(): number {
    return this.#byToken.size;
  }

  #mintToken(): number {
    // A collision with a live token is astronomically rare with a good source but
    // must never replace another route's configuration: draw again.
    for (;;) {
      const token = this.#randomToken();
      if (token !== 0 && !this.#byToken.has(token)) return token;
    }
  }
}
