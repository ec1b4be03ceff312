/**
 * Bounded cache of verification results, so a repeated token skips JSON parsing and
 * signature work. Keyed by a SHA-256 digest of the exact token bytes plus the
 * identity of the prepared conf (two routes never share a result). A positive entry
 * never outlives the token's `exp`; time-dependent claims are re-checked on every hit
 * by the caller. A short-lived negative entry remembers bad signatures so a flood of
 * one forged token costs one signature check.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Claims } from './claims.js';
import type { Rejection } from './verify-types.js';

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
    }
  | { readonly kind: 'rejected'; readonly rejection: Rejection; readonly expiresAtMs: number };

export class VerifiedTokenCache {
  private readonly lru: LRUCache<string, CachedVerification>;

  constructor(maxEntries: number = DEFAULT_TOKEN_CACHE_MAX_ENTRIES) {
    this.lru = new LRUCache<string, CachedVerification>({ max: maxEntries, ttlAutopurge: false });
  }

  /**
   * The cache key of a token under one prepared conf. Hashed as UTF-8, which is
   * injective on the strings a header can decode to: a byte-truncating encoding
   * (latin1) would map a token with `U+0165` in place of `e` onto the cached key of
   * the genuine token, and the forged spelling would pass as a cache hit
   * (found by the jwt-token fuzz target).
   */
  static keyFor(token: string, confId: number): string {
    return `${confId}:${createHash('sha256').update(token, 'utf8').digest('base64')}`;
  }

  /** The entry, unless missing or past its expiry on the plugin clock. */
  get(key: string, nowMs: number): CachedVerification | undefined {
    const entry = this.lru.get(key);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.expiresAtMs) {
      this.lru.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: CachedVerification, nowMs: number): void {
    const ttl = Math.min(entry.expiresAtMs - nowMs, TOKEN_CACHE_MAX_TTL_MS);
    if (ttl <= 0) return;
    this.lru.set(key, entry, { ttl: Math.ceil(ttl) });
  }

  get size(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }
}
