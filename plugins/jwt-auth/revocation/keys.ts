/**
 * Revocation key layout, shared by the checker, the push invalidation and the admin operations.
 *
 * - `<prefix><jti>`: the token with that `jti` is revoked. Any value; the key's TTL bounds the list
 *   (our CLI sets it to the token's remaining lifetime). `redis-cli SET jwt:revoked:<jti> 1 EX <s>` works.
 * - `<prefix>sub:<sub>`: a unix time (seconds). Every token of that subject issued at or before it is revoked.
 *
 * The two families share one namespace, so a `jti` that itself starts with `sub:` would read a subject
 * watermark; the admin operations refuse such a `jti` and the checker treats such a token as the subject
 * key says (fail closed when the key exists).
 */

/** Default key prefix (`redis.key_prefix`). */
export const DEFAULT_KEY_PREFIX = 'jwt:revoked:';

/** Marker between the prefix and a subject id. */
export const SUBJECT_MARKER = 'sub:';

/** Key naming a revoked `jti`. */
export function jtiKey(prefix: string, jti: string): string {
  return `${prefix}${jti}`;
}

/** Key holding the revocation watermark of a subject. */
export function subjectKey(prefix: string, sub: string): string {
  return `${prefix}${SUBJECT_MARKER}${sub}`;
}

/** What a key under the prefix names, or null for a key outside the prefix. */
export type KeyRef = { readonly kind: 'jti' | 'sub'; readonly id: string };

export function classifyKey(prefix: string, key: string): KeyRef | null {
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  if (rest.startsWith(SUBJECT_MARKER)) return { kind: 'sub', id: rest.slice(SUBJECT_MARKER.length) };
  return { kind: 'jti', id: rest };
}

/**
 * Pub/sub channel on which our admin operations announce a changed key (the message is the key name).
 * It lets revocations made through the CLI propagate at once even where keyspace notifications cannot
 * be enabled (CONFIG disabled, Redis Cluster). Channels live outside the key space, so no key collides.
 */
export function invalidationChannel(prefix: string): string {
  return `${prefix}__invalidate`;
}

/** Escape Redis glob metacharacters so `text` matches itself in MATCH / PSUBSCRIBE patterns. */
export function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]^]/g, (c) => `\\${c}`);
}

/** Pattern matching every key under the prefix (SCAN MATCH). */
export function prefixPattern(prefix: string): string {
  return `${escapeGlob(prefix)}*`;
}

/** Keyspace-notification pattern for every key under the prefix in database `db`. */
export function keyspacePattern(db: number, prefix: string): string {
  return `__keyspace@${db}__:${prefixPattern(prefix)}`;
}

/** The key a keyspace-notification channel is about, or null for another channel. */
export function keyFromKeyspaceChannel(db: number, channel: string): string | null {
  const head = `__keyspace@${db}__:`;
  return channel.startsWith(head) ? channel.slice(head.length) : null;
}
