/**
 * PrepareConf for jwt-auth: turns a schema-valid route conf into everything the
 * request path needs (imported keys grouped by issuer, normalised allow-lists, header
 * names), and performs the checks that span several fields. Rejections throw
 * `ERR_CONFIG_INVALID` with `field: what was expected`; secrets are never echoed.
 * No network I/O happens here: remote JWK Sets are only prefetched in the background.
 */
import type { ProviderSettings } from '../../runner/plugin-api/index.js';
import { ErrorCode, RunnerError } from '../../runner/plugin-api/index.js';
import { isJwsAlgorithm, type JwsAlgorithm } from './algorithms.js';
import type { AuthorizationPolicy } from './authorize.js';
import {
  DEFAULT_CLOCK_SKEW_SECONDS,
  DEFAULT_JWKS_CACHE_SECONDS,
  DEFAULT_JWKS_TIMEOUT_MS,
  DEFAULT_MAX_TOKEN_BYTES,
  type JwtAuthConf,
  type KeySourceConf,
} from './conf-schema.js';
import type { TokenSources } from './extract.js';
import type { HeaderMapping } from './headers.js';
import type { RemoteJwks } from './jwks-remote.js';
import { decodeSecret, importJwkSet, importPemKey, importSecretKey, type VerificationKey } from './keys.js';
import type { ErrorDetail } from './responses.js';
import { normalizeTyp, type KeyGroup, type VerifyPolicy } from './verify.js';

/** What one conf token of jwt-auth holds. */
export interface PreparedJwtAuth {
  readonly routeKey: string;
  readonly verify: VerifyPolicy;
  readonly sources: TokenSources;
  readonly authorization: AuthorizationPolicy | null;
  readonly headerMappings: readonly HeaderMapping[];
  readonly payloadHeader: string | null;
  /** Every header the plugin may set: removed from each incoming request. */
  readonly identityHeaders: readonly string[];
  readonly hideCredentials: boolean;
  readonly mode: 'enforce' | 'report_only';
  readonly anonymous: boolean;
  readonly requireHttps: boolean;
  readonly trustForwardedProto: boolean;
  readonly realm: string;
  readonly errorDetail: ErrorDetail;
  readonly revocation: {
    readonly enabled: boolean;
    readonly onStoreError: 'deny' | 'allow';
    readonly onMissingJti: 'reject' | 'accept';
  };
  /** Set once the "revocation on, no Redis" error was logged for this conf. */
  misconfigurationLogged: boolean;
}

/** Keys of a provider, imported once per process for one set of algorithms. */
export interface ProviderKeys {
  readonly issuer: string;
  readonly keys: readonly VerificationKey[];
  readonly jwksUri: string | null;
  readonly allowInsecureJwksUri: boolean;
  readonly audience: readonly string[] | null;
  readonly algorithms: readonly JwsAlgorithm[];
}

/** Plugin-level services prepare() relies on. */
export interface PrepareServices {
  readonly providers: Readonly<Record<string, ProviderSettings>>;
  readonly redisConfigured: boolean;
  /** Provider keys for the route's algorithms (cached by the plugin). */
  providerKeys(name: string, algorithms: readonly JwsAlgorithm[]): Promise<ProviderKeys>;
  /** A shared remote JWK Set for these options. */
  remoteJwks(options: RemoteJwksRequest): RemoteJwks;
  nextConfId(): number;
}

export interface RemoteJwksRequest {
  readonly uri: string;
  readonly allowInsecure: boolean;
  readonly algorithms: readonly JwsAlgorithm[];
  readonly timeoutMs: number;
  readonly cacheSeconds: number;
}

/** Headers the plugin must never set: they would break the request or smuggle credentials. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'cookie',
  'authorization',
  'proxy-authorization',
]);

function invalid(field: string, expected: string, cause?: unknown): RunnerError {
  return new RunnerError(ErrorCode.CONFIG_INVALID, `${field}: ${expected}`, cause === undefined ? {} : { cause });
}

function asList(value: string | readonly string[] | undefined): readonly string[] | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? [value] : [...value];
}

interface GroupParts {
  keys: VerificationKey[];
  remote: RemoteJwks[];
}

function isHttps(uri: string): boolean {
  try {
    return new URL(uri).protocol === 'https:';
  } catch {
    return false;
  }
}

function remoteFor(
  uri: string,
  allowInsecure: boolean,
  field: string,
  algorithms: readonly JwsAlgorithm[],
  conf: JwtAuthConf,
  services: PrepareServices,
): RemoteJwks {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (cause) {
    throw invalid(field, 'expected an absolute URL', cause);
  }
  if (!isHttps(uri) && !(url.protocol === 'http:' && allowInsecure)) {
    throw invalid(field, 'expected an https URL (set allow_insecure_jwks_uri to allow http)');
  }
  const remote = services.remoteJwks({
    uri,
    allowInsecure,
    algorithms,
    timeoutMs: conf.jwks_timeout_ms ?? DEFAULT_JWKS_TIMEOUT_MS,
    cacheSeconds: conf.jwks_cache_seconds ?? DEFAULT_JWKS_CACHE_SECONDS,
  });
  remote.prefetch();
  return remote;
}

/** Import the inline key sources of one block (top level or an `issuers[]` entry). */
async function importInlineSources(
  source: KeySourceConf,
  prefix: string,
  conf: JwtAuthConf,
  services: PrepareServices,
): Promise<GroupParts> {
  const algorithms = conf.algorithms;
  const parts: GroupParts = { keys: [], remote: [] };
  if (source.base64_secret === true && source.secret === undefined) {
    throw invalid(`${prefix}base64_secret`, 'set only together with secret');
  }
  if (source.secret !== undefined) {
    const bytes = decodeSecret(source.secret, source.base64_secret ?? false, `${prefix}secret`);
    parts.keys.push(await importSecretKey(bytes, algorithms, `${prefix}secret`));
  }
  if (source.public_key !== undefined) {
    const pems = typeof source.public_key === 'string' ? [source.public_key] : source.public_key;
    for (const [index, pem] of pems.entries()) {
      const field = typeof source.public_key === 'string' ? `${prefix}public_key` : `${prefix}public_key[${index}]`;
      parts.keys.push(await importPemKey(pem, algorithms, field));
    }
  }
  if (source.jwks !== undefined) {
    const keys = await importJwkSet(source.jwks, algorithms, `${prefix}jwks`, 'throw');
    if (keys.length === 0) {
      throw invalid(`${prefix}jwks`, `no key fits algorithms [${algorithms.join(', ')}]`);
    }
    parts.keys.push(...keys);
  }
  if (source.jwks_uri !== undefined) {
    parts.remote.push(
      remoteFor(source.jwks_uri, conf.allow_insecure_jwks_uri ?? false, `${prefix}jwks_uri`, algorithms, conf, services),
    );
  }
  return parts;
}

/** What a provider name looks like; anything else is not echoed in errors. */
const PRINTABLE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

async function providerParts(
  name: string,
  field: string,
  conf: JwtAuthConf,
  services: PrepareServices,
): Promise<{ parts: GroupParts; provider: ProviderKeys }> {
  if (!Object.hasOwn(services.providers, name)) {
    // Quote the value only when it looks like a name: a key or secret pasted into the
    // wrong field must not reach the log (found by the jwt-conf fuzz target).
    const shown = PRINTABLE_NAME.test(name) ? ` "${name}"` : '';
    throw invalid(field, `expected the name of a provider in the runner configuration (unknown provider${shown})`);
  }
  const provider = await services.providerKeys(name, conf.algorithms);
  const parts: GroupParts = { keys: [...provider.keys], remote: [] };
  if (provider.jwksUri !== null) {
    parts.remote.push(
      remoteFor(provider.jwksUri, provider.allowInsecureJwksUri, `${field} (jwks_uri)`, provider.algorithms, conf, services),
    );
  }
  return { parts, provider };
}

function hasKeys(parts: GroupParts): boolean {
  return parts.keys.length > 0 || parts.remote.length > 0;
}

function headerName(name: string, field: string, tokenHeader: string | null): string {
  const lower = name.toLowerCase();
  if (RESERVED_HEADERS.has(lower) || lower === tokenHeader) {
    throw invalid(field, `header ${lower} cannot be set by jwt-auth`);
  }
  return lower;
}

/**
 * Build the prepared form of a route conf. Throws `ERR_CONFIG_INVALID` naming the
 * offending field.
 */
export async function prepareConf(
  conf: JwtAuthConf,
  routeKey: string,
  services: PrepareServices,
): Promise<Omit<PreparedJwtAuth, 'misconfigurationLogged'>> {
  if (!Array.isArray(conf.algorithms) || conf.algorithms.length === 0 || !conf.algorithms.every(isJwsAlgorithm)) {
    throw invalid('algorithms', 'expected a non-empty list of JWS algorithms (none is never allowed)');
  }
  const groupsByIssuer = new Map<string, KeyGroup>();
  const addBound = (issuer: string, group: KeyGroup, field: string): void => {
    if (groupsByIssuer.has(issuer)) throw invalid(field, `issuer "${issuer}" is configured twice`);
    groupsByIssuer.set(issuer, group);
  };

  const topLevel = await importInlineSources(conf, '', conf, services);
  const fallbackGroup: KeyGroup | null = hasKeys(topLevel)
    ? { issuer: null, keys: topLevel.keys, remote: topLevel.remote, audience: null }
    : null;

  if (conf.provider !== undefined) {
    const { parts, provider } = await providerParts(conf.provider, 'provider', conf, services);
    addBound(provider.issuer, { issuer: provider.issuer, ...parts, audience: provider.audience }, 'provider');
  }

  for (const [index, entry] of (conf.issuers ?? []).entries()) {
    const prefix = `issuers[${index}].`;
    const parts = await importInlineSources(entry, prefix, conf, services);
    let issuer = entry.issuer;
    let audience = asList(entry.audience);
    if (entry.provider !== undefined) {
      const fromProvider = await providerParts(entry.provider, `${prefix}provider`, conf, services);
      if (issuer !== undefined && issuer !== fromProvider.provider.issuer) {
        throw invalid(`${prefix}issuer`, `must equal the issuer of provider "${entry.provider}"`);
      }
      issuer = fromProvider.provider.issuer;
      audience ??= fromProvider.provider.audience;
      parts.keys.push(...fromProvider.parts.keys);
      parts.remote.push(...fromProvider.parts.remote);
    }
    if (issuer === undefined) throw invalid(`${prefix}issuer`, 'required unless provider is set');
    if (!hasKeys(parts)) {
      throw invalid(prefix.slice(0, -1), 'expected a key source: secret, public_key, jwks, jwks_uri or provider');
    }
    addBound(issuer, { issuer, ...parts, audience }, `${prefix}issuer`);
  }

  const groups = [...(fallbackGroup === null ? [] : [fallbackGroup]), ...groupsByIssuer.values()];
  if (groups.length === 0) {
    throw invalid('algorithms', 'no key source: set secret, public_key, jwks, jwks_uri, provider or issuers');
  }
  // With only local keys every listed algorithm must have a key, or the listing is a mistake.
  if (groups.every((group) => group.remote.length === 0)) {
    for (const alg of conf.algorithms) {
      if (!groups.some((group) => group.keys.some((key) => key.byAlgorithm.has(alg)))) {
        throw invalid('algorithms', `${alg} is listed but no configured key can verify it`);
      }
    }
  }

  const tokenHeader = conf.header === undefined ? 'authorization' : conf.header === null ? null : conf.header.toLowerCase();
  const sources: TokenSources = {
    header: tokenHeader,
    query: conf.query ?? null,
    cookie: conf.cookie ?? null,
    formField: conf.form_field ?? null,
  };
  if (Object.values(sources).every((value) => value === null)) {
    throw invalid('header', 'at least one token source (header, query, cookie or form_field) is required');
  }

  const headerMappings: HeaderMapping[] = [];
  const seenHeaders = new Set<string>();
  for (const [claim, name] of Object.entries(conf.claims_to_headers ?? {})) {
    const header = headerName(name, `claims_to_headers.${claim}`, tokenHeader);
    if (seenHeaders.has(header)) throw invalid(`claims_to_headers.${claim}`, `header ${header} is already mapped`);
    seenHeaders.add(header);
    headerMappings.push({ claim, header });
  }
  const payloadHeader =
    conf.payload_header === undefined ? null : headerName(conf.payload_header, 'payload_header', tokenHeader);
  if (payloadHeader !== null && seenHeaders.has(payloadHeader)) {
    throw invalid('payload_header', `header ${payloadHeader} is already used by claims_to_headers`);
  }

  const authorization = conf.authorization;
  const allOf = authorization?.all_of ?? [];
  const anyOf = authorization?.any_of ?? [];

  const confId = services.nextConfId();
  const verify: VerifyPolicy = {
    confId,
    algorithms: new Set(conf.algorithms),
    groupsByIssuer,
    fallbackGroup,
    allowedIssuers: conf.issuer === undefined ? null : new Set(asList(conf.issuer)),
    audience: asList(conf.audience),
    clockSkewSeconds: conf.clock_skew_seconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
    requireExp: conf.require_exp ?? true,
    maxTokenAgeSeconds: conf.max_token_age_seconds ?? null,
    requiredClaims: conf.required_claims ?? [],
    typ: conf.typ === undefined ? null : normalizeTyp(conf.typ),
    maxTokenBytes: conf.max_token_bytes ?? DEFAULT_MAX_TOKEN_BYTES,
  };

  return {
    routeKey,
    verify,
    sources,
    authorization:
      allOf.length === 0 && anyOf.length === 0 ? null : { claim: authorization?.claim ?? 'scope', allOf, anyOf },
    headerMappings,
    payloadHeader,
    identityHeaders: [...seenHeaders, ...(payloadHeader === null ? [] : [payloadHeader])],
    hideCredentials: conf.hide_credentials ?? true,
    mode: conf.mode ?? 'enforce',
    anonymous: conf.anonymous ?? false,
    requireHttps: conf.require_https ?? false,
    trustForwardedProto: conf.trust_forwarded_proto ?? false,
    realm: conf.realm ?? 'apisix',
    errorDetail: conf.error_detail ?? 'terse',
    revocation: {
      enabled: conf.revocation?.enabled ?? services.redisConfigured,
      onStoreError: conf.revocation?.on_store_error ?? 'deny',
      onMissingJti: conf.revocation?.on_missing_jti ?? 'reject',
    },
  };
}
