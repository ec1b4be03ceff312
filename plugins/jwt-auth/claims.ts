/** Reading claims by path from a verified payload. */

/** A verified JWT payload: always a JSON object. */
export type Claims = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The value at a claim path. A claim whose name itself contains dots (such as
 * `https://example.com/roles`) is found by its full name first; otherwise the path is
 * walked segment by segment (`realm_access.roles`). Only own properties are read, so
 * `__proto__` or `constructor` never resolve to anything.
 */
export function readClaim(claims: Claims, path: string): unknown {
  if (Object.hasOwn(claims, path)) {
    return claims[path];
  }
  let current: unknown = claims;
  for (const segment of path.split('.')) {
    if (!isRecord(current) || !Object.hasOwn(current, segment)) {
      return undefined;
    }
    current = current[segment];
  }
  return current;
}

export { isRecord };
