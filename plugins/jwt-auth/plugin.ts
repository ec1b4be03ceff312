/**
 * The jwt-auth plugin: composition of extraction, verification, authorization,
 * revocation and header rewriting, with its dependencies injected so it can be built
 * and tested without the runner or Redis.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import {
  CONTINUE,
  definePlugin,
  ErrorCode,
  isRunnerError,
  type Outcome,
  type Plugin,
  type PluginEnv,
  type RequestContext,
} from '../../runner/plugin-api/index.js';
import { authorize } from './authorize.js';
import type { Claims } from './claims.js';
import { jwtAuthConfSchema, type JwtAuthConf } from './conf-schema.js';
import { extractToken, type Extraction, type TokenSource } from './extract.js';
import { hideCredentials, removeIdentityHeaders, setIdentityHeaders } from './headers.js';
import { RemoteJwks, type FetchFunction } from './jwks-remote.js';
import { createMetrics, type DecisionOutcome, type JwtAuthMetrics } from './metrics.js';
import { prepareConf, type PreparedJwtAuth, type RemoteJwksRequest } from './prepare.js';
import { ProviderKeyStore } from './providers.js';
import {
  describe,
  insufficientScope,
  invalidRequest,
  invalidToken,
  missingToken,
  temporarilyUnavailable,
} from './responses.js';
import type { RevocationChecker, RevocationStatus } from './revocation-contract.js';
import { DEFAULT_TOKEN_CACHE_MAX_ENTRIES, VerifiedTokenCache } from './token-cache.js';
import { verifyToken } from './verify.js';
import { reject, type Rejection, type TokenIdentity, type VerifyResult } from './verify-types.js';

export const JWT_AUTH_PLUGIN_NAME = 'jwt-auth';

/** Most distinct remote JWK Sets held by one runner process. */
export const MAX_REMOTE_JWK_SETS = 256;

/** Collaborators of the plugin, injectable for tests. */
export interface JwtAuthDeps {
  /** The revocation checker; null when the runner has no Redis. */
  readonly revocation: RevocationChecker | null;
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
  /** HTTP client for `jwks_uri`. Default the global `fetch`. */
  readonly fetch?: FetchFunction;
  /** Verified-token cache size. Default 10000. */
  readonly tokenCacheMaxEntries?: number;
  /** Environment for provider `env` secret sources. Default `process.env`. */
  readonly processEnv?: NodeJS.ProcessEnv;
}

/** A short, non-reversible token identifier for logs: first 12 hex digits of its SHA-256. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token, 'latin1').digest('hex').slice(0, 12);
}

type Denial =
  | { readonly kind: 'response'; readonly reason: string; readonly stop: Outcome }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly error: unknown };

/**
 * Build the jwt-auth plugin for one runner process.
 *
 * The request path is synchronous as long as nothing needs the gateway or the network
 * (a form body, the `scheme` variable, a remote JWK Set, a revocation read): the
 * runner then answers without a promise. Each step hands over to the next with a
 * promise only when its own answer is one.
 */
export function createJwtAuthPlugin(env: PluginEnv, deps: JwtAuthDeps): Plugin<JwtAuthConf, PreparedJwtAuth> {
  const now = deps.now ?? Date.now;
  const metrics: JwtAuthMetrics = createMetrics(env.metrics, env.settings.metrics.enabled);
  const verifySeconds = metrics.verifySeconds;
  const cache = new VerifiedTokenCache(deps.tokenCacheMaxEntries ?? DEFAULT_TOKEN_CACHE_MAX_ENTRIES);
  const providers = new ProviderKeyStore(env.settings.providers, env.logger, deps.processEnv ?? process.env);
  const remoteSets = new LRUCache<string, RemoteJwks>({
    max: MAX_REMOTE_JWK_SETS,
    dispose: (remote) => remote.close(),
  });
  let confCounter = 0;
  let closed = false;

  const remoteJwks = (request: RemoteJwksRequest): RemoteJwks => {
    const key = JSON.stringify([request.uri, request.allowInsecure, [...request.algorithms].sort(), request.timeoutMs, request.cacheSeconds]);
    let remote = remoteSets.get(key);
    if (remote === undefined) {
      remote = new RemoteJwks({
        ...request,
        logger: env.logger,
        now,
        ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
      });
      remoteSets.set(key, remote);
    }
    return remote;
  };

  const count = (outcome: DecisionOutcome, reason: string): void => {
    metrics.decision(outcome, reason);
  };

  /** Enforce: answer now. Report-only: log, count, and let the request through. */
  const deny = (
    req: RequestContext,
    prepared: PreparedJwtAuth,
    denial: Denial,
    token: string | null,
    foundIn: readonly TokenSource[],
  ): Outcome | Promise<Outcome> => {
    if (prepared.mode === 'enforce') {
      count(denial.kind === 'unavailable' ? 'error' : 'deny', denial.reason);
      if (denial.kind === 'unavailable') throw denial.error;
      return denial.stop;
    }
    count('report_only_deny', denial.reason);
    req.logger.info(
      // Not named `token`: the runner's logger redacts that field, which would hide the fingerprint.
      { reason: denial.reason, ...(token === null ? {} : { token_fingerprint: tokenFingerprint(token) }) },
      'jwt-auth report_only: request would be denied',
    );
    // foundIn also lists where an ambiguous request (no single token) carried credentials.
    if (foundIn.length > 0 && prepared.hideCredentials) {
      const hidden = hideCredentials(req, prepared.sources, foundIn);
      if (hidden instanceof Promise) return hidden.then(() => CONTINUE);
    }
    return CONTINUE;
  };

  const rejectToken = (prepared: PreparedJwtAuth, rejection: Rejection): Denial => ({
    kind: 'response',
    reason: rejection.reason,
    stop: invalidToken(prepared.realm, describe(rejection, prepared.errorDetail)),
  });

  const arrivedOverHttps = async (req: RequestContext, prepared: PreparedJwtAuth): Promise<boolean> => {
    if (prepared.trustForwardedProto) {
      const forwarded = req.headers.get('x-forwarded-proto');
      if (forwarded !== undefined) return forwarded.split(',')[0]?.trim().toLowerCase() === 'https';
    }
    return (await req.var('scheme')) === 'https';
  };

  const storeError = (req: RequestContext, prepared: PreparedJwtAuth, err: unknown): Denial | null => {
    if (!isRunnerError(err, ErrorCode.REVOCATION_STORE_UNAVAILABLE)) throw err;
    if (prepared.revocation.onStoreError === 'allow') {
      count('store_error_allowed', 'revocation_store_unavailable');
      req.logger.warn({ err: err.message }, 'revocation store unavailable; allowed by on_store_error');
      return null;
    }
    return {
      kind: 'response',
      reason: 'revocation_store_unavailable',
      stop: temporarilyUnavailable('revocation status unavailable'),
    };
  };

  const revokedDenial = (prepared: PreparedJwtAuth, status: RevocationStatus): Denial | null =>
    status === 'revoked' ? rejectToken(prepared, reject('revoked', 'token revoked')) : null;

  /** Revocation: null when the token may pass, otherwise the denial (a promise when Redis is asked). */
  const checkRevocation = (
    req: RequestContext,
    prepared: PreparedJwtAuth,
    identity: TokenIdentity,
  ): Denial | null | Promise<Denial | null> => {
    const { revocation } = prepared;
    if (!revocation.enabled) return null;
    const checker = deps.revocation;
    if (checker === null) {
      if (!prepared.misconfigurationLogged) {
        prepared.misconfigurationLogged = true;
        req.logger.error(
          { routeKey: prepared.routeKey },
          'revocation.enabled is true but the runner has no redis configured; the route answers 503',
        );
      }
      return {
        kind: 'response',
        reason: 'revocation_store_missing',
        stop: temporarilyUnavailable('revocation store not configured'),
      };
    }
    if (identity.jti === null && revocation.onMissingJti === 'reject') {
      return rejectToken(prepared, reject('missing_jti', 'jti is required'));
    }
    let status: RevocationStatus | Promise<RevocationStatus>;
    try {
      // The request context is passed as the abort source: a lookup that waits for
      // Redis listens for the call's abort without creating its AbortSignal.
      status = checker.lookup === undefined ? checker.check(identity, req.signal) : checker.lookup(identity, req);
    } catch (err) {
      return storeError(req, prepared, err);
    }
    if (status instanceof Promise) {
      return status.then(
        (settled) => revokedDenial(prepared, settled),
        (err: unknown) => storeError(req, prepared, err),
      );
    }
    return revokedDenial(prepared, status);
  };

  const onRequest = (req: RequestContext, prepared: PreparedJwtAuth): Outcome | Promise<Outcome> => {
    const extraction = extractToken(req, prepared.sources);
    if (extraction instanceof Promise) return extraction.then((found) => afterExtraction(req, prepared, found));
    return afterExtraction(req, prepared, extraction);
  };

  const afterExtraction = (req: RequestContext, prepared: PreparedJwtAuth, extraction: Extraction): Outcome | Promise<Outcome> => {
    // Anti-spoofing comes before any decision: whatever follows, the upstream never
    // sees a client-supplied identity header.
    removeIdentityHeaders(req, prepared.identityHeaders);

    if (extraction.kind === 'invalid_request') {
      const stop = invalidRequest(prepared.realm, extraction.detail);
      return deny(req, prepared, { kind: 'response', reason: 'invalid_request', stop }, null, extraction.sources);
    }
    if (extraction.kind === 'none') {
      if (prepared.anonymous) {
        count('anonymous', 'no_token');
        return CONTINUE;
      }
      return deny(req, prepared, { kind: 'response', reason: 'no_token', stop: missingToken(prepared.realm) }, null, []);
    }
    const { token, sources } = extraction;
    if (prepared.requireHttps) {
      return arrivedOverHttps(req, prepared).then((https) => {
        if (https) return verifyStep(req, prepared, token, sources);
        const stop = invalidRequest(prepared.realm, 'https required');
        return deny(req, prepared, { kind: 'response', reason: 'insecure_transport', stop }, token, sources);
      });
    }
    return verifyStep(req, prepared, token, sources);
  };

  const verifyStep = (
    req: RequestContext,
    prepared: PreparedJwtAuth,
    token: string,
    sources: readonly TokenSource[],
  ): Outcome | Promise<Outcome> => {
    const started = verifySeconds === null ? 0 : performance.now();
    const result = verifyToken(token, prepared.verify, cache, now());
    if (result instanceof Promise) {
      return result.then(
        (settled) => {
          verifySeconds?.observe((performance.now() - started) / 1000);
          return afterVerify(req, prepared, token, sources, settled);
        },
        (err: unknown) => {
          verifySeconds?.observe((performance.now() - started) / 1000);
          if (!isRunnerError(err, ErrorCode.JWKS_UNAVAILABLE)) throw err;
          return deny(req, prepared, { kind: 'unavailable', reason: 'jwks_unavailable', error: err }, token, sources);
        },
      );
    }
    verifySeconds?.observe((performance.now() - started) / 1000);
    return afterVerify(req, prepared, token, sources, result);
  };

  const afterVerify = (
    req: RequestContext,
    prepared: PreparedJwtAuth,
    token: string,
    sources: readonly TokenSource[],
    result: VerifyResult,
  ): Outcome | Promise<Outcome> => {
    metrics.cacheLookup(result.cacheHit);
    if (!result.ok) {
      return deny(req, prepared, rejectToken(prepared, result.rejection), token, sources);
    }

    const { claims } = result;
    if (prepared.authorization !== null) {
      const decision = authorize(claims, prepared.authorization);
      if (!decision.ok) {
        if (prepared.mode === 'report_only') forwardIdentity(req, prepared, claims);
        const stop = insufficientScope(prepared.realm, decision.requiredScope);
        return deny(req, prepared, { kind: 'response', reason: 'insufficient_scope', stop }, token, sources);
      }
    }

    const revoked = checkRevocation(req, prepared, result.identity);
    if (revoked instanceof Promise) {
      return revoked.then((denial) =>
        denial === null ? allow(req, prepared, claims, sources) : deny(req, prepared, denial, token, sources),
      );
    }
    if (revoked !== null) return deny(req, prepared, revoked, token, sources);
    return allow(req, prepared, claims, sources);
  };

  const allow = (
    req: RequestContext,
    prepared: PreparedJwtAuth,
    claims: Claims,
    sources: readonly TokenSource[],
  ): Outcome | Promise<Outcome> => {
    forwardIdentity(req, prepared, claims);
    if (prepared.hideCredentials) {
      const hidden = hideCredentials(req, prepared.sources, sources);
      if (hidden instanceof Promise) {
        return hidden.then(() => {
          count('allow', 'ok');
          return CONTINUE;
        });
      }
    }
    count('allow', 'ok');
    return CONTINUE;
  };

  const forwardIdentity = (req: RequestContext, prepared: PreparedJwtAuth, claims: Claims): void => {
    if (prepared.headerMappings.length === 0 && prepared.payloadHeader === null) return;
    const skipped = setIdentityHeaders(req, claims, prepared.headerMappings, prepared.payloadHeader);
    if (skipped.length > 0) {
      req.logger.warn({ claims: skipped }, 'claim values with control characters were not forwarded');
    }
  };

  return definePlugin<JwtAuthConf, PreparedJwtAuth>({
    name: JWT_AUTH_PLUGIN_NAME,
    confSchema: jwtAuthConfSchema,
    async prepare(conf, ctx) {
      const prepared = await prepareConf(conf, ctx.routeKey, {
        providers: env.settings.providers,
        redisConfigured: env.settings.redis !== null,
        providerKeys: (name, algorithms) => providers.keysFor(name, algorithms),
        remoteJwks,
        nextConfId: () => (confCounter += 1),
      });
      if (prepared.revocation.enabled && deps.revocation === null) {
        ctx.logger.error(
          { routeKey: ctx.routeKey },
          'revocation.enabled is true but the runner has no redis configured; the route answers 503',
        );
      }
      return { ...prepared, misconfigurationLogged: prepared.revocation.enabled && deps.revocation === null };
    },
    onRequest,
    async close() {
      if (closed) return;
      closed = true;
      remoteSets.clear();
      cache.clear();
      await deps.revocation?.close();
    },
  });
}
