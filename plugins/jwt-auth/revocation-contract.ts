/**
 * The revocation checker as jwt-auth uses it. The implementation lives in
 * `./revocation/` (owned separately); these types mirror its exported interface so
 * the plugin can be built and tested with any checker, including an in-memory one.
 */

export interface RevocationQuery {
  readonly jti: string | null;
  readonly sub: string | null;
  readonly iat: number | null;
  readonly exp: number | null;
}

export type RevocationStatus = 'revoked' | 'not_revoked';

/**
 * Where the call's abort signal can be had. The request context is one: its signal is
 * created only when read, so a lookup answered locally never creates one.
 */
export interface AbortSignalSource {
  readonly signal: AbortSignal;
}

export interface RevocationChecker {
  /** Throws `RunnerError` with code `ERR_REVOCATION_STORE_UNAVAILABLE` when the store cannot answer in time. */
  check(query: RevocationQuery, signal?: AbortSignal): Promise<RevocationStatus>;
  /**
   * The same answer as {@link check}, synchronously when the local view can give it
   * (no promise, no AbortSignal), otherwise a promise. Optional: the plugin falls back
   * to `check` for checkers without it.
   */
  lookup?(query: RevocationQuery, signal: AbortSignalSource): RevocationStatus | Promise<RevocationStatus>;
  close(): Promise<void>;
}
