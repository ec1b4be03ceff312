/**
 * Scope / role checks on verified claims (`authorization: {claim, all_of, any_of}`).
 */
import { readClaim, type Claims } from './claims.js';

export interface AuthorizationPolicy {
  /** Claim path holding the grants: a space-separated string or an array of strings. */
  readonly claim: string;
  readonly allOf: readonly string[];
  readonly anyOf: readonly string[];
}

export type AuthorizationResult = { readonly ok: true } | { readonly ok: false; readonly requiredScope: string };

/** The grants a token holds at a claim path; anything else than strings is ignored. */
export function grantedScopes(claims: Claims, path: string): Set<string> {
  const value = readClaim(claims, path);
  if (typeof value === 'string') {
    return new Set(value.split(/[ \t]+/).filter((item) => item !== ''));
  }
  if (Array.isArray(value)) {
    return new Set(value.filter((item): item is string => typeof item === 'string'));
  }
  return new Set();
}

/** Decide; on failure give the scope string for the `WWW-Authenticate` challenge. */
export function authorize(claims: Claims, policy: AuthorizationPolicy): AuthorizationResult {
  if (policy.allOf.length === 0 && policy.anyOf.length === 0) return { ok: true };
  const granted = grantedScopes(claims, policy.claim);
  if (!policy.allOf.every((scope) => granted.has(scope))) {
    return { ok: false, requiredScope: policy.allOf.join(' ') };
  }
  if (policy.anyOf.length > 0 && !policy.anyOf.some((scope) => granted.has(scope))) {
    return { ok: false, requiredScope: policy.anyOf.join(' ') };
  }
  return { ok: true };
}
