/**
 * The revocation checker as jwt-auth uses it. The implementation lives in
 * `./revocation/` (owned separately); these types mirror its exported interface so
 * the plugin can be built and tested with any checker, including an in-memory one.
 */
import type { AbortSource } from '../../runner/plugin-api/index.js';

export interface RevocationQuery {
  readonly jti: string | null;
  readonly sub: string | null;
  readonly iat: number | null;
  readonly exp: number | null;
}

export type RevocationStatus = 'revoked' | 'not_revoked';

export interface RevocationChecker {
  /** Throws `RunnerError` with code `ERR_REVOCATION_STORE_UNAVAILABLE` when the store cannot answer in time. */
  check(query: RevocationQuery, signal?: AbortSignal): Promise<RevocationStatus>;
  /**
   * The same answer as {@link check}, synchronously when the local view can give it
   * (no promise), otherwise a promise that stops waiting when `abort` reports the call
   * aborted. Optional: the plugin falls back to `check` for checkers without it.
   */
  lookup?(query: RevocationQuery, abort: AbortSource): RevocationStatus | Promise<RevocationStatus>;
  close(): Promise<void>;
}
