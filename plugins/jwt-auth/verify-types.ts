/** Shared result types of token verification. */

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
