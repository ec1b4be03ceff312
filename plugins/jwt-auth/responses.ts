/**
 * The answers jwt-auth gives a client (RFC 6750 section 3): 401 with a Bearer
 * challenge, 403 insufficient_scope, 400 invalid_request, and 503 when a dependency
 * cannot answer. Bodies are small JSON; nothing in them comes from the token.
 */
import { stopJson, type StopOutcome } from '../../runner/plugin-api/index.js';
import type { Rejection, RejectReason } from './verify-types.js';

export type ErrorDetail = 'terse' | 'verbose';

/** Terse descriptions: what a client may act on, nothing that helps probing. */
const TERSE: Partial<Record<RejectReason, string>> = {
  expired: 'token expired',
  revoked: 'token revoked',
};

const NO_STORE: readonly [string, string] = ['cache-control', 'no-store'];

function challenge(realm: string, params: ReadonlyArray<readonly [string, string]>): string {
  // realm, descriptions and scopes are restricted to quotable characters by the
  // schema or fixed in code, so they need no escaping here.
  return ['Bearer realm="' + realm + '"', ...params.map(([name, value]) => `${name}="${value}"`)].join(', ');
}

/** The client-facing description of a rejection. */
export function describe(rejection: Rejection, detail: ErrorDetail): string {
  if (detail === 'verbose') return rejection.detail;
  return TERSE[rejection.reason] ?? 'invalid token';
}

/** 401 for a request that sent no token: a challenge without `error` (RFC 6750 section 3.1). */
export function missingToken(realm: string): StopOutcome {
  return stopJson(
    401,
    { error: 'unauthorized', error_description: 'authentication required' },
    [['www-authenticate', challenge(realm, [])], NO_STORE],
  );
}

/** 401 invalid_token. */
export function invalidToken(realm: string, description: string): StopOutcome {
  return stopJson(
    401,
    { error: 'invalid_token', error_description: description },
    [['www-authenticate', challenge(realm, [['error', 'invalid_token'], ['error_description', description]])], NO_STORE],
  );
}

/** 403 insufficient_scope naming the scope that was required. */
export function insufficientScope(realm: string, scope: string): StopOutcome {
  const description = 'insufficient scope';
  return stopJson(
    403,
    { error: 'insufficient_scope', error_description: description, scope },
    [
      [
        'www-authenticate',
        challenge(realm, [['error', 'insufficient_scope'], ['error_description', description], ['scope', scope]]),
      ],
      NO_STORE,
    ],
  );
}

/** 400 invalid_request (ambiguous or malformed credentials, plain HTTP when HTTPS is required). */
export function invalidRequest(realm: string, description: string): StopOutcome {
  return stopJson(
    400,
    { error: 'invalid_request', error_description: description },
    [['www-authenticate', challenge(realm, [['error', 'invalid_request'], ['error_description', description]])], NO_STORE],
  );
}

/** 503: a dependency (the revocation store) cannot answer, and the route fails closed. */
export function temporarilyUnavailable(description: string): StopOutcome {
  return stopJson(503, { error: 'temporarily_unavailable', error_description: description }, [
    NO_STORE,
    ['retry-after', '1'],
  ]);
}
