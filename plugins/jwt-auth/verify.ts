/**
 * Token verification: cheap checks first, signature last.
 *
 * Order matters for cost: size and charset, segment count (JWE is refused), strict
 * base64url, header JSON, `alg` allow-list, `crit`, `typ`, `kid` type, claims JSON,
 * issuer -> key group, time claims, required claims, audience, key lookup by
 * `alg`/`kid` - and only then a signature check with the algorithm pinned to the key
 * (node:crypto, synchronous: see `signature.ts` for why not jose's WebCrypto path).
 * A flood of garbage never reaches the crypto.
 *
 * Everything is synchronous unless a remote JWK Set has to be consulted: the result is
 * then a promise. Callers `await` only when they get one.
 */
import { isJwsAlgorithm, type JwsAlgorithm } from './algorithms.js';
import { decodeCanonicalBase64url } from './base64url.js';
import { isRecord, readClaim, type Claims } from './claims.js';
import type { RemoteJwks } from './jwks-remote.js';
import { selectKeys, type VerificationKey } from './keys.js';
import { VerifiedTokenCache, NEGATIVE_CACHE_TTL_MS, type CachedVerification } from './token-cache.js';
import {
  reject,
  type FailedVerification,
  type Rejection,
  type TokenIdentity,
  type ValidVerification,
  type VerifyResult,
} from './verify-types.js';
import { ErrorCode, RunnerError } from '../../runner/plugin-api/index.js';

/** Keys trusted for one issuer (or for any issuer when `issuer` is null). */
export interface KeyGroup {
  /** Exact `iss` this group is bound to; null for the route's top-level keys. */
  readonly issuer: string | null;
  readonly keys: readonly VerificationKey[];
  readonly remote: readonly RemoteJwks[];
  /** Audience from a provider or issuer entry, used when the route sets none. */
  readonly audience: readonly string[] | null;
}

/** Everything verification needs from a prepared route conf. */
export interface VerifyPolicy {
  /** Identity of the prepared conf: cached results are kept per conf. */
  readonly confId: number;
  readonly algorithms: ReadonlySet<JwsAlgorithm>;
  readonly groupsByIssuer: ReadonlyMap<string, KeyGroup>;
  readonly fallbackGroup: KeyGroup | null;
  /** Accepted `iss` values; null = any (key groups still apply). */
  readonly allowedIssuers: ReadonlySet<string> | null;
  readonly audience: readonly string[] | null;
  readonly clockSkewSeconds: number;
  readonly requireExp: boolean;
  readonly maxTokenAgeSeconds: number | null;
  readonly requiredClaims: readonly string[];
  /** Normalised `typ` (lower case, without `application/`), or null for no check. */
  readonly typ: string | null;
  readonly maxTokenBytes: number;
}

export type { VerifyResult, ValidVerification, FailedVerification, TokenIdentity } from './verify-types.js';

/** Latest NumericDate accepted (9999-12-31T23:59:59Z); anything beyond is an attack or a bug. */
export const MAX_NUMERIC_DATE = 253_402_300_799;

const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `typ` compared as RFC 7515 section 4.1.9 says: case-insensitive, `application/` optional. */
export function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/** 'encoding' when the segment is not canonical base64url, 'json' when it is not a UTF-8 JSON object. */
function parseJsonObject(segment: string): Record<string, unknown> | 'encoding' | 'json' {
  const bytes = decodeCanonicalBase64url(segment);
  if (bytes === null) return 'encoding';
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return 'json';
  }
  return isRecord(value) ? value : 'json';
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_NUMERIC_DATE;
}

interface ParsedToken {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly alg: JwsAlgorithm;
  readonly kid: string | null;
  /** `header.payload`, the JWS signing input. */
  readonly signingInput: string;
  /** The decoded signature bytes. */
  readonly signature: Buffer;
}

/** Structural and header checks; no key, no clock. */
function parseToken(token: string, policy: VerifyPolicy): ParsedToken | Rejection {
  const segments = token.split('.');
  if (segments.length === 5) return reject('jwe', 'encrypted tokens (JWE) are not accepted');
  if (segments.length !== 3 || !TOKEN_SHAPE.test(token)) {
    return reject('malformed', 'token must be three base64url segments');
  }
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];
  const header = parseJsonObject(headerSegment);
  if (typeof header === 'string') return reject('malformed', 'header is not canonical base64url JSON');
  const alg = header['alg'];
  if (typeof alg !== 'string') return reject('malformed', 'header alg missing');
  if (alg.toLowerCase() === 'none') return reject('alg_none', 'unsigned tokens are not accepted');
  if (!isJwsAlgorithm(alg) || !policy.algorithms.has(alg)) return reject('alg_not_allowed', 'alg not allowed');
  // No JWS extension is understood, so any `crit` (and `b64`, RFC 7797) is refused.
  if (header['crit'] !== undefined || header['b64'] !== undefined) {
    return reject('crit', 'critical header parameters are not supported');
  }
  if (policy.typ !== null) {
    const typ = header['typ'];
    if (typeof typ !== 'string' || normalizeTyp(typ) !== policy.typ) return reject('typ', 'typ not accepted');
  }
  const kid = header['kid'];
  if (kid !== undefined && typeof kid !== 'string') return reject('malformed', 'kid must be a string');
  const signature = signatureSegment.length === 0 ? null : decodeCanonicalBase64url(signatureSegment);
  if (signature === null) return reject('malformed', 'signature is not canonical base64url');
  const claims = parseJsonObject(payloadSegment);
  if (claims === 'encoding') return reject('malformed', 'payload is not canonical base64url');
  if (claims === 'json') return reject('claims_invalid', 'payload is not a JSON object');
  const signingInput = token.slice(0, headerSegment.length + 1 + payloadSegment.length);
  return { header, claims, alg, kid: kid ?? null, signingInput, signature };
}

/** The key groups a token of this issuer may be checked with. */
function groupFor(iss: string | undefined, policy: VerifyPolicy): KeyGroup | Rejection {
  if (policy.allowedIssuers !== null && (iss === undefined || !policy.allowedIssuers.has(iss))) {
    return reject('issuer', 'issuer not accepted');
  }
  if (iss !== undefined) {
    const bound = policy.groupsByIssuer.get(iss);
    if (bound !== undefined) return bound;
  }
  return policy.fallbackGroup ?? reject('issuer', 'issuer not accepted');
}

/**
 * Checks that depend on the clock; run on every request, cache hit or not.
 * `nowSeconds` may be fractional.
 */
export function checkTimeClaims(claims: Claims, policy: VerifyPolicy, nowSeconds: number): Rejection | null {
  const skew = policy.clockSkewSeconds;
  const { exp, nbf, iat } = claims;
  if (exp === undefined) {
    if (policy.requireExp) return reject('missing_claim', 'exp is required');
  } else if (!isNumericDate(exp)) {
    return reject('time_claim_invalid', 'exp must be a NumericDate');
  } else if (nowSeconds >= exp + skew) {
    return reject('expired', 'token expired');
  }
  if (nbf !== undefined) {
    if (!isNumericDate(nbf)) return reject('time_claim_invalid', 'nbf must be a NumericDate');
    if (nowSeconds + skew < nbf) return reject('not_yet_valid', 'token not yet valid');
  }
  if (iat !== undefined) {
    if (!isNumericDate(iat)) return reject('time_claim_invalid', 'iat must be a NumericDate');
    if (iat > nowSeconds + skew) return reject('iat_future', 'token issued in the future');
  }
  if (policy.maxTokenAgeSeconds !== null) {
    if (iat === undefined) return reject('missing_claim', 'iat is required');
    if (nowSeconds - (iat as number) > policy.maxTokenAgeSeconds + skew) return reject('too_old', 'token too old');
  }
  return null;
}

function checkAudience(aud: unknown, accepted: readonly string[]): Rejection | null {
  if (typeof aud === 'string') {
    return accepted.includes(aud) ? null : reject('audience', 'audience not accepted');
  }
  if (Array.isArray(aud) && aud.length > 0 && aud.every((item) => typeof item === 'string')) {
    return aud.some((item) => accepted.includes(item as string)) ? null : reject('audience', 'audience not accepted');
  }
  if (aud === undefined) return reject('audience', 'aud is required');
  return reject('audience', 'aud must be a string or an array of strings');
}

/** Claims checks that do not depend on the clock. */
function checkStaticClaims(claims: Claims, group: KeyGroup, policy: VerifyPolicy): Rejection | null {
  for (const name of ['sub', 'jti'] as const) {
    const value = claims[name];
    if (value !== undefined && typeof value !== 'string') return reject('claims_invalid', `${name} must be a string`);
  }
  for (const path of policy.requiredClaims) {
    const value = readClaim(claims, path);
    if (value === undefined || value === null) return reject('missing_claim', 'a required claim is missing');
  }
  const accepted = policy.audience ?? group.audience;
  return accepted === null ? null : checkAudience(claims['aud'], accepted);
}

/** Keys to try: the group's local keys, plus remote JWK Set keys (a promise) when the group has any. */
function candidateKeys(
  group: KeyGroup,
  alg: JwsAlgorithm,
  kid: string | null,
): VerificationKey[] | Promise<VerificationKey[]> {
  const found = selectKeys(group.keys, alg, kid);
  return group.remote.length === 0 ? found : withRemoteKeys(found, group, alg, kid);
}

async function withRemoteKeys(
  found: VerificationKey[],
  group: KeyGroup,
  alg: JwsAlgorithm,
  kid: string | null,
): Promise<VerificationKey[]> {
  let unavailable: unknown = null;
  for (const remote of group.remote) {
    try {
      found.push(...(await remote.candidates(alg, kid)));
    } catch (err) {
      unavailable = err;
    }
  }
  // Only when no key at all could be consulted is the answer "unavailable" (503);
  // with some keys at hand the token is decided on them.
  if (found.length === 0 && unavailable !== null) {
    throw unavailable instanceof RunnerError
      ? unavailable
      : new RunnerError(ErrorCode.JWKS_UNAVAILABLE, 'jwks_uri: JWK Set unavailable', { cause: unavailable });
  }
  return found;
}

const BAD_SIGNATURE = reject('signature', 'signature invalid');

/** Check a decoded signature with the candidate keys pinned to `alg`; the rejection or null. */
function checkSignature(
  signingInput: string,
  signature: Buffer,
  alg: JwsAlgorithm,
  candidates: readonly VerificationKey[],
): Rejection | null {
  for (const key of candidates) {
    const pinned = key.byAlgorithm.get(alg);
    if (pinned !== undefined && pinned.alg === alg && pinned.verify(signingInput, signature)) return null;
  }
  return BAD_SIGNATURE;
}

/**
 * Verify the signature of a compact JWS with the candidate keys; returns the rejection
 * or null. Synchronous (node:crypto); only the signature is looked at, no claims.
 */
export function verifySignature(
  token: string,
  alg: JwsAlgorithm,
  candidates: readonly VerificationKey[],
): Rejection | null {
  const dot = token.lastIndexOf('.');
  const signature = dot < 0 ? null : decodeCanonicalBase64url(token.slice(dot + 1));
  if (signature === null || signature.length === 0) return BAD_SIGNATURE;
  return checkSignature(token.slice(0, dot), signature, alg, candidates);
}

/** When a positive entry stops counting: at `exp`, or soon for a token without one. */
function expiryMs(claims: Claims, nowMs: number): number {
  const exp = claims['exp'];
  return typeof exp === 'number' ? exp * 1000 : nowMs + NEGATIVE_CACHE_TTL_MS * 2;
}

function identityOf(claims: Claims): TokenIdentity {
  const { jti, sub, iat, exp } = claims;
  return {
    jti: typeof jti === 'string' ? jti : null,
    sub: typeof sub === 'string' ? sub : null,
    iat: typeof iat === 'number' ? iat : null,
    exp: typeof exp === 'number' ? exp : null,
  };
}

function failed(rejection: Rejection, cacheHit: boolean): FailedVerification {
  return { ok: false, rejection, cacheHit };
}

/** A cache hit: the stored result, unless a time claim has lapsed since. */
function fromCache(entry: CachedVerification, policy: VerifyPolicy, nowMs: number): VerifyResult {
  if (entry.kind === 'rejected') return entry.hit;
  const late = checkTimeClaims(entry.claims, policy, nowMs / 1000);
  return late === null ? entry.hit : failed(late, true);
}

/** Signature check and caching of the verdict, once the keys are known. */
function finish(
  parsed: ParsedToken,
  candidates: readonly VerificationKey[],
  cache: VerifiedTokenCache,
  token: string,
  confId: number,
  nowMs: number,
): VerifyResult {
  if (candidates.length === 0) return failed(reject('key_not_found', 'no key for this alg and kid'), false);
  const { header, claims } = parsed;
  const bad = checkSignature(parsed.signingInput, parsed.signature, parsed.alg, candidates);
  // A verdict is stored from the token's second verification on (see RepeatAdmission).
  const keep = cache.admit(token);
  if (bad !== null) {
    if (keep) {
      const hit = failed(bad, true);
      cache.set(token, confId, { kind: 'rejected', rejection: bad, expiresAtMs: nowMs + NEGATIVE_CACHE_TTL_MS, hit }, nowMs);
    }
    return failed(bad, false);
  }
  const identity = identityOf(claims);
  if (keep) {
    const hit: ValidVerification = { ok: true, header, claims, cacheHit: true, identity };
    cache.set(token, confId, { kind: 'valid', header, claims, expiresAtMs: expiryMs(claims, nowMs), hit }, nowMs);
  }
  return { ok: true, header, claims, cacheHit: false, identity };
}

/**
 * Verify a token against a prepared policy. Policy failures are returned; an
 * unreachable JWK Set with no cached copy throws (or rejects with) `ERR_JWKS_UNAVAILABLE`.
 * The result is a promise only when a remote JWK Set had to be consulted.
 */
export function verifyToken(
  token: string,
  policy: VerifyPolicy,
  cache: VerifiedTokenCache,
  nowMs: number,
): VerifyResult | Promise<VerifyResult> {
  if (token.length > policy.maxTokenBytes) return failed(reject('too_large', 'token too large'), false);
  const cached = cache.get(token, policy.confId, nowMs);
  if (cached !== undefined) return fromCache(cached, policy, nowMs);

  const parsed = parseToken(token, policy);
  if ('reason' in parsed) return failed(parsed, false);
  const { claims, alg, kid } = parsed;
  const iss = claims['iss'];
  if (iss !== undefined && typeof iss !== 'string') return failed(reject('claims_invalid', 'iss must be a string'), false);
  const group = groupFor(iss, policy);
  if ('reason' in group) return failed(group, false);
  const early = checkTimeClaims(claims, policy, nowMs / 1000) ?? checkStaticClaims(claims, group, policy);
  if (early !== null) return failed(early, false);

  const candidates = candidateKeys(group, alg, kid);
  if (Array.isArray(candidates)) return finish(parsed, candidates, cache, token, policy.confId, nowMs);
  return candidates.then((keys) => finish(parsed, keys, cache, token, policy.confId, nowMs));
}
