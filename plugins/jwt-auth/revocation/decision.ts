import type { RevocationQuery, RevocationStatus } from './index.js';

/**
 * Decide from the two key readings (null = key absent, undefined = not looked up).
 *
 * - A `jti` key that exists revokes the token, whatever its value.
 * - A subject watermark revokes tokens with `iat` at or before it. A token without `iat` under a
 *   watermark cannot be shown to be newer, so it counts as revoked (fail closed); so does a watermark
 *   that is not a number (someone wrote garbage: the safe reading is "log out everywhere").
 */
export function decideRevocation(
  query: RevocationQuery,
  jtiValue: string | null | undefined,
  subjectValue: string | null | undefined,
): RevocationStatus {
  if (query.jti !== null && jtiValue !== null && jtiValue !== undefined) return 'revoked';
  if (query.sub !== null && subjectValue !== null && subjectValue !== undefined) {
    const watermark = parseWatermark(subjectValue);
    if (watermark === null || query.iat === null || query.iat <= watermark) return 'revoked';
  }
  return 'not_revoked';
}

/** A watermark is a unix time in seconds, integer or decimal; null for anything else. */
export function parseWatermark(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d{1,15}(\.\d+)?$/.test(trimmed)) return null;
  return Number(trimmed);
}
