/**
 * Bounded cache of verification results, so a repeated token skips JSON parsing and
 * signature work. Keyed by a SHA-256 digest of the exact token bytes plus the
 * identity of the prepared conf (two routes never share a result). A positive entry
 * never outlives the token's `exp`; time-dependent claims are re-checked on every hit
 * by the caller. A short-lived negative entry remembers bad signatures so a flood of
 * one forged token costs one signature check.
 *
 * Entries carry the ready-made result object the request path returns, so a hit
 * allocates nothing beyond the key.
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Claims } from './claims.js';
import type { FailedVerification, Rejection, ValidVerification } from './verify-types.js';

/**
 * Default number of entries. A valid entry holds the parsed header and claims (a few
 * hundred bytes for typical tokens) and its 44-character key: 10 000 entries stay
 * around 10 MiB even with large claim sets.
 */
export const DEFAULT_TOKEN_CACHE_MAX_ENTRIES = 10_000;
/** Longest a positive entry is kept, even for long-lived tokens. */
export const TOKEN_CACHE_MAX_TTL_MS = 10 * 60_000;
/** How long a bad-signature verdict is remembered. */
export const NEGATIVE_CACHE_TTL_MS = 30_000;

export type CachedVerification =
  | {
      readonly kind: 'valid';
      readonly header: Claims;
      readonly claims: Claims;
      /** Wall-clock ms (the plugin clock) after which the entry is void. */
      readonly expiresAtMs: number;
      /** The result a hit returns while the time claims still hold (built once). */
      readonly hit: ValidVerification;
    }
  | {
      readonly kind: 'rejected';
      readonly rejection: Rejection;
      readonly expiresAtMs: number;
      /** The result every hit returns (built once). */
      readonly hit: FailedVerification;
    };

/** A stored entry and when it stops counting (its expiry, capped at {@link TOKEN_CACHE_MAX_TTL_MS}). */
interface Slot {
  readonly entry: CachedVerification;
  readonly untilMs: number;
}

export class VerifiedTokenCache {
  /**
   * Plain LRU without lru-cache's own TTL bookkeeping: expiry is checked here against
   * the plugin clock, and a stale entry is dropped when it is next looked up or
   * pushed out by newer ones.
   */
  private readonly lru: LRUCache<string, Slot>;

  constructor(maxEntries: number = DEFAULT_TOKEN_CACHE_MAX_ENTRIES) {
    this.lru = new LRUCache<string, Slot>({ max: maxEntries });
  }

  /**
   * The cache key of a token under one prepared conf: the base64 SHA-256 of
   * `<confId>:<token>`. The conf id holds no `:`, so the prefix is unambiguous and the
   * digest covers the exact token. Hashed as UTF-8, which is injective on the strings
   * a header can decode to: a byte-truncating encoding (latin1) would map a token with
   * `U+0165` in place of `e` onto the cached key of the genuine token, and the forged
   * spelling would pass as a cache hit (found by the jwt-token fuzz target).
   *
   * One-shot `crypto.hash` (no Hash object, no stream machinery) keeps a hit cheap.
   */
  static keyFor(token: string, confId: number): string {
    return VerifiedTokenCache.keyWithPrefix(`${confId}:`, token);
  }

  /** {@link keyFor} with the conf prefix (`<confId>:`) built once per conf. */
  static keyWithPrefix(confPrefix: string, token: string): string {
    return hash('sha256', confPrefix + token, 'base64');
  }

  /** The entry, unless missing or past its expiry on the plugin clock. */
  get(key: string, nowMs: number): CachedVerification | undefined {
    const slot = this.lru.get(key);
    if (slot === undefined) return undefined;
    if (nowMs >= slot.untilMs) {
      this.lru.delete(key);
      return undefined;
    }
    return slot.entry;
  }

  set(key: string, entry: CachedVerification, nowMs: number): void {
    const untilMs = Math.min(entry.expiresAtMs, nowMs + TOKEN_CACHE_MAX_TTL_MS);
    if (untilMs <= nowMs) return;
    this.lru.set(key, { entry, untilMs });
  }

  get size(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }
}
