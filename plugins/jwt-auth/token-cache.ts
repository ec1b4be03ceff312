/**
 * Bounded cache of verification results, so a repeated token skips JSON parsing and
 * signature work. A result belongs to the exact token text and to one prepared conf
 * (two routes never share a result). A positive entry never outlives the token's
 * `exp`; time-dependent claims are re-checked on every hit by the caller. A
 * short-lived negative entry remembers bad signatures so a flood of one forged token
 * costs two signature checks (see {@link VerifiedTokenCache.admit}).
 *
 * A result is found by the token's last {@link KEY_CHARS} characters (the signature:
 * random, so distinct tokens practically never share them) and then matched against
 * the whole token, which the slot keeps: hashing a few hundred characters of every
 * request's token, or a SHA-256 of it, cost more than the rest of a cache hit.
 * JavaScript string equality is exact, so no other spelling of a token (the latin1
 * collision the jwt-token fuzz target once found) can meet a cached verdict. Tokens
 * longer than {@link LONG_TOKEN_CHARS} are kept as `#` and their SHA-256 digest
 * instead, so a flood of large forged tokens cannot fill memory; a slot records which
 * of the two it holds, so a short token spelled like a digest never matches a long
 * token's slot. Lookups need no shape check first: a token that was never cached
 * simply misses.
 *
 * One LRU slot per key holds a short chain of results, newest first, at most
 * {@link MAX_RESULTS_PER_KEY}: one per conf that saw the token (a client's token
 * commonly reaches several routes), and any token sharing the key.
 *
 * Entries carry the ready-made result object the request path returns, so a hit
 * allocates nothing but the key.
 *
 * {@link VerifiedTokenCache.admit} tells the verifier whether a fresh result is worth
 * storing: only for a token verified before, recently ({@link RepeatAdmission}).
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Claims } from './claims.js';
import { RepeatAdmission } from './repeat-admission.js';
import type { FailedVerification, Rejection, ValidVerification } from './verify-types.js';

/**
 * Default number of tokens. A valid entry holds the parsed header and claims (a few
 * hundred bytes for typical tokens) and its key (the token, at most
 * {@link LONG_TOKEN_CHARS} characters): 10 000 entries stay around 10-20 MiB even
 * with large claim sets.
 */
export const DEFAULT_TOKEN_CACHE_MAX_ENTRIES = 10_000;
/** Longest a positive entry is kept, even for long-lived tokens. */
export const TOKEN_CACHE_MAX_TTL_MS = 10 * 60_000;
/** How long a bad-signature verdict is remembered. */
export const NEGATIVE_CACHE_TTL_MS = 30_000;
/** Tokens up to this length are kept whole; longer ones as a digest. */
export const LONG_TOKEN_CHARS = 1024;
/** Trailing characters of the token (or digest) that form the LRU key. */
export const KEY_CHARS = 24;
/** Results kept under one key (confs, tokens sharing it); the oldest is dropped beyond. */
export const MAX_RESULTS_PER_KEY = 8;

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

/** One conf's result for one token and when it stops counting; `next` holds others under the same key. */
interface Slot {
  /** The token, or `#` and its digest for a long one ({@link VerifiedTokenCache.tokenId}). */
  readonly tokenId: string;
  /** Whether `tokenId` is a digest (the token was longer than {@link LONG_TOKEN_CHARS}). */
  readonly hashed: boolean;
  readonly confId: number;
  readonly entry: CachedVerification;
  readonly untilMs: number;
  readonly next: Slot | null;
}

export class VerifiedTokenCache {
  /**
   * Plain LRU without lru-cache's own TTL bookkeeping: expiry is checked here against
   * the plugin clock, and a stale entry is dropped when it is next looked up or
   * pushed out by newer ones.
   */
  private readonly lru: LRUCache<string, Slot>;
  private readonly admission: RepeatAdmission;

  constructor(maxEntries: number = DEFAULT_TOKEN_CACHE_MAX_ENTRIES) {
    this.lru = new LRUCache<string, Slot>({ max: maxEntries });
    this.admission = new RepeatAdmission(maxEntries);
  }

  /**
   * Whether a result just computed for `token` should be stored with {@link set}: true
   * when the token was verified before, recently (its second sighting), false for a
   * first one, which is remembered. Call it once per verification, and only on a miss.
   */
  admit(token: string): boolean {
    return this.admission.admit(VerifiedTokenCache.keyOf(VerifiedTokenCache.tokenId(token)));
  }

  /** What a slot keeps of a token: the token, or `#` and the base64 SHA-256 of a long one. */
  static tokenId(token: string): string {
    return token.length <= LONG_TOKEN_CHARS ? token : `#${hash('sha256', token, 'base64')}`;
  }

  /** The LRU key of a token id: its last {@link KEY_CHARS} characters. */
  static keyOf(tokenId: string): string {
    return tokenId.length <= KEY_CHARS ? tokenId : tokenId.slice(-KEY_CHARS);
  }

  /** The result of `confId` for this token, unless missing or past its expiry on the plugin clock. */
  get(token: string, confId: number, nowMs: number): CachedVerification | undefined {
    const tokenId = VerifiedTokenCache.tokenId(token);
    const hashed = tokenId !== token;
    const key = VerifiedTokenCache.keyOf(tokenId);
    let slot = this.lru.get(key) ?? null;
    while (slot !== null && !holds(slot, tokenId, hashed, confId)) slot = slot.next;
    if (slot === null) return undefined;
    if (nowMs >= slot.untilMs) {
      this.#replace(key, without(this.lru.peek(key) ?? null, tokenId, hashed, confId, MAX_RESULTS_PER_KEY));
      return undefined;
    }
    return slot.entry;
  }

  set(token: string, confId: number, entry: CachedVerification, nowMs: number): void {
    const untilMs = Math.min(entry.expiresAtMs, nowMs + TOKEN_CACHE_MAX_TTL_MS);
    if (untilMs <= nowMs) return;
    const tokenId = VerifiedTokenCache.tokenId(token);
    const hashed = tokenId !== token;
    const key = VerifiedTokenCache.keyOf(tokenId);
    const others = without(this.lru.peek(key) ?? null, tokenId, hashed, confId, MAX_RESULTS_PER_KEY - 1);
    this.lru.set(key, { tokenId, hashed, confId, entry, untilMs, next: others });
  }

  /** Keys held (each with one or more results). */
  get size(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }

  #replace(key: string, chain: Slot | null): void {
    if (chain === null) this.lru.delete(key);
    else this.lru.set(key, chain);
  }
}

/** Whether `slot` is the result of `confId` for this token. */
function holds(slot: Slot, tokenId: string, hashed: boolean, confId: number): boolean {
  return slot.confId === confId && slot.hashed === hashed && slot.tokenId === tokenId;
}

/**
 * The chain without the slot of this token and conf, cut to at most `keep` slots.
 * Slots are immutable (a reader may hold one), so the kept ones are rebuilt; chains
 * are a few slots long.
 */
function without(head: Slot | null, tokenId: string, hashed: boolean, confId: number, keep: number): Slot | null {
  const kept: Slot[] = [];
  for (let slot = head; slot !== null && kept.length < keep; slot = slot.next) {
    if (!holds(slot, tokenId, hashed, confId)) kept.push(slot);
  }
  let next: Slot | null = null;
  for (let i = kept.length - 1; i >= 0; i--) {
    const slot = kept[i]!;
    next = { tokenId: slot.tokenId, hashed: slot.hashed, confId: slot.confId, entry: slot.entry, untilMs: slot.untilMs, next };
  }
  return next;
}
