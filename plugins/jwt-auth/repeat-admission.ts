/**
 * Admission to a cache: a result is worth keeping only for a key that comes back. The
 * verified-token cache (keyed by token) and the revocation view (by Redis key) use it.
 *
 * Storing every result made a stream of one-off keys (every request a new token, the
 * cold benchmarks) pay for the cache without ever hitting it: each entry lived long
 * enough to reach V8's old generation, was evicted unused, and left old-generation
 * garbage behind at the request rate, which full collections then had to clear (RSS and
 * p99 of the cold benchmarks). Admitting a key on its second sighting costs repeat keys
 * one extra computation (a verification, a Redis read) and one-off keys nothing.
 *
 * The memory of first sightings is a bit set (two bits per key, a "doorkeeper"), cleared
 * after as many first sightings as the cache holds entries, so it covers the recent
 * misses only. A false positive (a first sighting taken for a second) only stores a
 * result early; nothing is ever refused because of this set.
 */

/** Bits per cache entry: with two bits set per key, about 2 % false positives when full. */
const BITS_PER_ENTRY = 8;
const MIN_BITS = 1024;

export class RepeatAdmission {
  readonly #words: Int32Array;
  readonly #mask: number;
  readonly #clearAfter: number;
  #recorded = 0;

  /** @param capacity first sightings remembered before the set starts afresh (the cache's size). */
  constructor(capacity: number) {
    let bits = MIN_BITS;
    while (bits < capacity * BITS_PER_ENTRY) bits *= 2;
    this.#words = new Int32Array(bits >>> 5);
    this.#mask = bits - 1;
    this.#clearAfter = Math.max(1, capacity);
  }

  /**
   * Whether `key` was seen since the set last started afresh (so its result should be
   * kept); records it when it was not.
   */
  admit(key: string): boolean {
    const hash = fnv1a(key);
    const first = hash & this.#mask;
    const second = mix(hash) & this.#mask;
    if (this.#has(first) && this.#has(second)) return true;
    if (this.#recorded >= this.#clearAfter) {
      this.#words.fill(0);
      this.#recorded = 0;
    }
    this.#set(first);
    this.#set(second);
    this.#recorded++;
    return false;
  }

  #has(bit: number): boolean {
    return ((this.#words[bit >>> 5] ?? 0) & (1 << (bit & 31))) !== 0;
  }

  #set(bit: number): void {
    const word = bit >>> 5;
    this.#words[word] = (this.#words[word] ?? 0) | (1 << (bit & 31));
  }
}

/** 32-bit FNV-1a over UTF-16 code units (keys are short: the cache's last characters of a token). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A second, differently distributed index from the same hash (murmur3's finaliser). */
function mix(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
