import { LRUCache } from 'lru-cache';
import { RepeatAdmission } from '../repeat-admission.js';
import { removeUnordered } from './unordered-list.js';

/** What Redis said about one key when it was read. */
export interface KeyReading {
  /** The key's value, or null when the key did not exist. */
  readonly value: string | null;
  /** Remaining lifetime in ms from PTTL: a positive number, -1 for no expiry, -2 (or any other) for gone. */
  readonly pttlMs: number;
}

/**
 * Longest a local answer is trusted without live keyspace push. The promise "a revocation reaches every
 * runner within one second" must hold even when push cannot be used; 100 ms of the second are left for
 * the read that fetched the answer and for the next request to arrive.
 */
export const UNTRUSTED_CACHE_MAX_MS = 900;

/** Trust window without live keyspace push for a configured `redis.cache_ttl_ms`. */
export function untrustedTtlMs(cacheTtlMs: number): number {
  return Math.min(cacheTtlMs, UNTRUSTED_CACHE_MAX_MS);
}

/** A trusted reading as the view hands it out. */
export interface LocalReading {
  /** The key's value, or null when the key did not exist. */
  readonly value: string | null;
}

/**
 * A remembered reading. Mutable: a refresh overwrites the entry of a key already known
 * instead of replacing it. Entries of busy keys live long enough to reach V8's old
 * generation, and with every key re-read once per `cache_ttl_ms`, replacing them
 * filled the old generation with dead entries between full collections.
 */
interface Entry extends LocalReading {
  value: string | null;
  /** Monotonic time the reading was taken. */
  fetchedAtMs: number;
  /** Monotonic time the key expires in Redis (Infinity without a TTL); only meaningful for a present key. */
  expiresAtMs: number;
  /** View epoch the entry belongs to; a resync of push invalidation moves the epoch on. */
  epoch: number;
  /** Share (1 - jitter … 1] of the configured trust window this reading gets. */
  trustScale: number;
  /** A background re-read of this key is on its way (see {@link LocalView.claimRefresh}). */
  refreshing: boolean;
}

/** An unfinished read: its result is stored only if nothing invalidated its keys meanwhile. */
export interface ReadTicket {
  readonly keys: readonly string[];
  readonly epoch: number;
  stale: boolean;
}

export interface LocalViewOptions {
  /** How long a reading is trusted while keyspace push invalidation is live (`redis.cache_ttl_ms`). */
  readonly trustedTtlMs: number;
  /** How long a reading is trusted without live keyspace push (never more than `trustedTtlMs`). */
  readonly untrustedTtlMs: number;
  /** Most keys remembered; the least recently used are forgotten first (forgetting only costs a read). */
  readonly maxEntries: number;
  /** Monotonic clock in ms. */
  readonly now: () => number;
  /**
   * Fraction (0-1) by which each reading's trust window is shortened at random (default 0).
   * Keys first read together would otherwise lapse together, every window, and their
   * refreshes arrive as one burst of Redis replies; a random shortening spreads them out.
   * Trust only ever gets shorter than configured.
   */
  readonly trustJitter?: number;
  /** Random source in [0, 1) for the jitter (tests fix it); default `Math.random`. */
  readonly random?: () => number;
  /**
   * Remember a key's reading only from its second read on (default false: from the
   * first). Keys read once (the jti of a token seen once) then cost no memory and leave
   * no old-generation garbage when the LRU pushes them out; see {@link RepeatAdmission}.
   */
  readonly admitOnRepeat?: boolean;
}

/**
 * The runner's local copy of the revocation keys it has looked at.
 *
 * - A present key (revoked) is trusted until its Redis TTL ends, as long as keyspace push is live.
 * - An absent key (not revoked) is trusted for `trustedTtlMs` while keyspace push is live.
 * - Without live keyspace push (subscriber disconnected, or only our own channel available) every
 *   reading is trusted for at most `untrustedTtlMs` from when it was taken.
 * - A push event for a key drops it; a resync (subscriber (re)connected) drops everything, since
 *   events may have been missed while it was away.
 */
export class LocalView {
  readonly #options: LocalViewOptions;
  readonly #entries: LRUCache<string, Entry>;
  /**
   * Reads on the wire: a handful at a time, so a list scanned on the rare invalidation.
   * A map of key to tickets was rebuilt around every read, and long-lived maps that
   * keep growing and shrinking allocate their new tables in V8's old generation,
   * which filled with dead tables between full collections.
   */
  readonly #reads: ReadTicket[] = [];
  readonly #admission: RepeatAdmission | null;
  #epoch = 0;

  constructor(options: LocalViewOptions) {
    this.#options = options;
    // Bounded by count through maxSize rather than max: with max, lru-cache allocates its
    // index arrays for every entry up front (about 0.6 MiB of heap for the checker's 50 000
    // keys, the price of 2 000 entries), while a runner usually remembers a few thousand.
    this.#entries = new LRUCache<string, Entry>({ maxSize: options.maxEntries, sizeCalculation: countsAsOne });
    this.#admission = options.admitOnRepeat === true ? new RepeatAdmission(options.maxEntries) : null;
  }

  /** The trusted reading of `key`, or undefined when Redis must be asked. */
  get(key: string, pushLive: boolean): string | null | undefined {
    return this.trusted(key, pushLive, this.#now())?.value;
  }

  /**
   * The trusted reading of `key` at monotonic time `nowMs` (one clock read serves
   * every key of a lookup), or undefined when Redis must be asked.
   */
  trusted(key: string, pushLive: boolean, nowMs: number): LocalReading | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.epoch !== this.#epoch || nowMs >= this.#validUntil(entry, pushLive)) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /**
   * Whether a trusted reading stops being trusted within `withinMs` of `nowMs` (a use
   * of it should trigger a background refresh).
   */
  lapsesWithin(reading: LocalReading, pushLive: boolean, withinMs: number, nowMs: number): boolean {
    return nowMs + withinMs >= this.#validUntil(reading as Entry, pushLive);
  }

  /** The view's monotonic clock in ms. */
  now(): number {
    return this.#now();
  }

  /** Register a read about to be sent, so invalidations arriving before its answer are not lost. */
  beginRead(keys: readonly string[]): ReadTicket {
    const ticket: ReadTicket = { keys, epoch: this.#epoch, stale: false };
    this.#reads.push(ticket);
    return ticket;
  }

  /** Store the answer of a read unless something invalidated it while it was on the wire. */
  finishRead(ticket: ReadTicket, readings: ReadonlyMap<string, KeyReading>): void {
    this.#release(ticket);
    if (ticket.stale || ticket.epoch !== this.#epoch) return;
    const now = this.#now();
    for (const [key, reading] of readings) {
      const expiresAtMs = reading.pttlMs === -1 ? Infinity : reading.pttlMs > 0 ? now + reading.pttlMs : now;
      const known = this.#entries.peek(key);
      if (known === undefined) {
        if (this.#admission !== null && !this.#admission.admit(key)) continue;
        this.#entries.set(key, { value: reading.value, fetchedAtMs: now, expiresAtMs, epoch: this.#epoch, trustScale: this.#trustScale(), refreshing: false });
        continue;
      }
      const trustScale = this.#trustScale();
      known.value = reading.value;
      known.fetchedAtMs = now;
      known.expiresAtMs = expiresAtMs;
      known.epoch = this.#epoch;
      known.trustScale = trustScale;
    }
  }

  /** Forget a read that failed. */
  abandonRead(ticket: ReadTicket): void {
    this.#release(ticket);
  }

  /**
   * Claim the one background re-read of a trusted reading: true if the caller should
   * start it, false if one is already on its way. {@link endRefresh} gives the claim back.
   */
  claimRefresh(reading: LocalReading): boolean {
    const entry = reading as Entry;
    if (entry.refreshing) return false;
    entry.refreshing = true;
    return true;
  }

  /** The background re-read of `keys` is over (whether or not it succeeded). */
  endRefresh(keys: readonly string[]): void {
    for (const key of keys) {
      const entry = this.#entries.peek(key);
      if (entry !== undefined) entry.refreshing = false;
    }
  }

  /** A push event said `key` changed. */
  invalidate(key: string): void {
    this.#entries.delete(key);
    for (const ticket of this.#reads) if (ticket.keys.includes(key)) ticket.stale = true;
  }

  /** Drop everything, including answers still on the wire (push resynchronised). */
  reset(): void {
    this.#epoch += 1;
    this.#entries.clear();
  }

  /** Number of remembered keys (for tests and diagnostics). */
  get size(): number {
    return this.#entries.size;
  }

  #trustScale(): number {
    const jitter = this.#options.trustJitter ?? 0;
    return jitter === 0 ? 1 : 1 - jitter * (this.#options.random ?? Math.random)();
  }

  #validUntil(entry: Entry, pushLive: boolean): number {
    const ttl = (pushLive ? this.#options.trustedTtlMs : this.#options.untrustedTtlMs) * entry.trustScale;
    if (entry.value === null) return entry.fetchedAtMs + ttl;
    // A revocation stays true until its key expires; without live push a DEL (unrevoke) may go unseen,
    // so the untrusted bound applies to positive readings too.
    return pushLive ? entry.expiresAtMs : Math.min(entry.expiresAtMs, entry.fetchedAtMs + ttl);
  }

  #release(ticket: ReadTicket): void {
    removeUnordered(this.#reads, ticket);
  }

  #now(): number {
    return this.#options.now();
  }
}

/** Every entry counts as one against the view's `maxSize` (see the constructor). */
function countsAsOne(): number {
  return 1;
}
