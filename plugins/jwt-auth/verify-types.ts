/** Shared result types of token verification. */
import type { Claims } from './claims.js';

/**
 * Why a token was refused. A bounded set: it is a metrics label. Descriptions given
 * to clients come from this code (terse) or from `Rejection.detail` (verbose), never
 * from the token itself.
 */
export type RejectReason =
  | 'malformed'
  | 'too_large'
  | 'jwe'
  | 'alg_none'
  | 'alg_not_allowed'
  | 'crit'
  | 'typ'
  | 'key_not_found'
  | 'issuer'
  | 'audience'
  | 'claims_invalid'
  | 'time_claim_invalid'
  | 'expired'
  | 'not_yet_valid'
  | 'iat_future'
  | 'too_old'
  | 'missing_claim'
  | 'signature'
  | 'revoked'
  | 'missing_jti';

export interface Rejection {
  readonly reason: RejectReason;
  /** Fixed text naming the failed check (shown with `error_detail: verbose`). Never contains token data. */
  readonly detail: string;
}

export function reject(reason: RejectReason, detail: string): Rejection {
  return { reason, detail };
}

/** What a revocation lookup needs from a verified token, derived once per verification. */
export interface TokenIdentity {
  readonly jti: string | null;
  readonly sub: string | null;
  readonly iat: number | null;
  readonly exp: number | null;
}

export interface ValidVerification {
  readonly ok: true;
  readonly header: Claims;
  readonly claims: Claims;
  readonly cacheHit: boolean;
  /** `jti`, `sub`, `iat`, `exp` as revocation reads them (null when absent or of another type). */
  readonly identity: TokenIdentity;
}

export interface FailedVerification {
  readonly ok: false;
  readonly rejection: Rejection;
  readonly cacheHit: boolean;
}

export type VerifyResult = ValidVerification | FailedVerification;
