/**
 * Route configuration of the jwt-auth plugin: the JSON Schema the runner validates
 * each route's conf against (ajv, defaults applied, unknown fields rejected) and the
 * TypeScript shape of a validated conf.
 *
 * Every property carries a `description`: the documentation generator renders this
 * schema as the option reference. Checks that span several fields (a key source is
 * present, HS secrets are long enough, keys fit the listed algorithms, the provider
 * exists) are done by `prepare()`, which names the field in its error.
 */
import { JWS_ALGORITHMS, type JwsAlgorithm } from './algorithms.js';

/** Default leeway applied to `exp`, `nbf`, `iat` and `max_token_age_seconds`. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;
export const DEFAULT_MAX_TOKEN_BYTES = 8192;
export const DEFAULT_JWKS_CACHE_SECONDS = 300;
export const DEFAULT_JWKS_TIMEOUT_MS = 2000;

/** RFC 7230 token characters: a header name. */
const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$";
/** RFC 6749 scope-token characters; also safe inside a quoted-string. */
const SCOPE_TOKEN_PATTERN = '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,256}$';
/** Printable ASCII without `"` and `\`: safe inside the challenge's quoted-string. */
const QUOTABLE_PATTERN = '^[\\x20\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}$';
/** A dotted claim path such as `realm_access.roles`. */
const CLAIM_PATH_PATTERN = '^[^.\\x00-\\x1F\\x7F]+(\\.[^.\\x00-\\x1F\\x7F]+)*$';

const stringOrList = (what: string) => ({
  description: what,
  anyOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1 } },
  ],
});

const keySourceProperties = {
  secret: {
    type: 'string',
    minLength: 1,
    description:
      'HMAC secret for HS256/HS384/HS512. Must be at least as long as the hash output (32, 48 or 64 bytes) for every HS algorithm listed. Prefer `provider` so secrets stay out of route configs.',
  },
  base64_secret: {
    type: 'boolean',
    default: false,
    description: 'Whether `secret` is base64 (standard or URL-safe alphabet) encoded.',
  },
  public_key: {
    description:
      'PEM public key (`BEGIN PUBLIC KEY`, `BEGIN RSA PUBLIC KEY`) or certificate (`BEGIN CERTIFICATE`), or a list of them for key rotation. RSA keys must have at least 2048 bits.',
    anyOf: [
      { type: 'string', minLength: 1 },
      { type: 'array', minItems: 1, maxItems: 16, items: { type: 'string', minLength: 1 } },
    ],
  },
  jwks: {
    type: 'object',
    description: 'Inline JWK Set (RFC 7517 section 5): `{"keys": [...]}` with public keys (or `oct` keys for HS algorithms).',
    required: ['keys'],
    properties: {
      keys: {
        type: 'array',
        minItems: 1,
        maxItems: 64,
        description: 'The keys of the set.',
        items: { type: 'object', required: ['kty'], description: 'One JWK.' },
      },
    },
  },
  jwks_uri: {
    type: 'string',
    pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
    maxLength: 2048,
    description:
      'URL of a remote JWK Set. Fetched on first use (never during PrepareConf), cached for `jwks_cache_seconds`, refreshed on an unknown `kid` (single-flight, with a cooldown) and served stale when the endpoint fails. Must be https unless `allow_insecure_jwks_uri` is set.',
  },
  provider: {
    type: 'string',
    minLength: 1,
    description:
      'Name of a provider defined in the runner configuration (`providers`); its issuer, algorithms and keys are used, so no secret needs to live in the route config.',
  },
} as const;

const issuerEntrySchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'One trusted issuer bound to its own keys. A token whose `iss` equals `issuer` is checked with these keys only.',
  properties: {
    issuer: {
      type: 'string',
      minLength: 1,
      description: 'Exact `iss` value. May be omitted when `provider` is set (the provider issuer is used).',
    },
    ...keySourceProperties,
    audience: stringOrList('Accepted audience for tokens of this issuer when the route sets no `audience`.'),
  },
} as const;

/** JSON Schema of the jwt-auth route configuration. */
export const jwtAuthConfSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['algorithms'],
  description: 'Configuration of the jwt-auth plugin for one route.',
  properties: {
    algorithms: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', enum: [...JWS_ALGORITHMS] },
      description:
        'Accepted JWS algorithms (required). `none` can never be listed. Each key only verifies the algorithms of its own type: an HS token is never checked against an RSA or EC public key.',
    },
    ...keySourceProperties,
    allow_insecure_jwks_uri: {
      type: 'boolean',
      default: false,
      description: 'Allow an `http:` `jwks_uri` (tests, private networks). Default false.',
    },
    jwks_cache_seconds: {
      type: 'integer',
      minimum: 1,
      maximum: 86400,
      default: DEFAULT_JWKS_CACHE_SECONDS,
      description: 'How long a fetched JWK Set is used before it is refreshed in the background.',
    },
    jwks_timeout_ms: {
      type: 'integer',
      minimum: 50,
      maximum: 30000,
      default: DEFAULT_JWKS_TIMEOUT_MS,
      description: 'Deadline for one JWK Set fetch.',
    },
    issuers: {
      type: 'array',
      minItems: 1,
      maxItems: 64,
      items: issuerEntrySchema,
      description:
        'Several trusted issuers, each with its own keys. A token is checked with the keys of its `iss` only; tokens of other issuers fall back to the top-level keys (if any).',
    },
    issuer: stringOrList('Accepted `iss` values (exact match). When set, tokens without `iss` are rejected.'),
    audience: stringOrList(
      'Accepted audiences: the token `aud` (a string or an array of strings) must contain one of them (exact match).',
    ),
    clock_skew_seconds: {
      type: 'integer',
      minimum: 0,
      maximum: 600,
      default: DEFAULT_CLOCK_SKEW_SECONDS,
      description: `Leeway for clock differences applied to \`exp\`, \`nbf\`, \`iat\` and \`max_token_age_seconds\`. Default ${DEFAULT_CLOCK_SKEW_SECONDS}.`,
    },
    required_claims: {
      type: 'array',
      uniqueItems: true,
      maxItems: 64,
      items: { type: 'string', pattern: CLAIM_PATH_PATTERN },
      description: 'Claim paths that must be present (not null), e.g. `sub` or `realm_access.roles`.',
    },
    max_token_age_seconds: {
      type: 'integer',
      minimum: 1,
      description: 'Reject tokens issued (`iat`) longer ago than this; makes `iat` required.',
    },
    require_exp: {
      type: 'boolean',
      default: true,
      description: 'Reject tokens without `exp`. Default true.',
    },
    typ: {
      type: 'string',
      pattern: QUOTABLE_PATTERN,
      description:
        'Required `typ` header value, compared case-insensitively with an optional `application/` prefix ignored (e.g. `at+jwt`, `JWT`).',
    },
    header: {
      type: ['string', 'null'],
      pattern: HEADER_NAME_PATTERN,
      default: 'authorization',
      description:
        'Request header carrying the token; `Authorization` requires the Bearer scheme (case-insensitive), other headers accept a bare token too. Null disables the header source.',
    },
    query: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      description: 'Query argument carrying the token (off unless named).',
    },
    cookie: {
      type: 'string',
      pattern: HEADER_NAME_PATTERN,
      description: 'Cookie carrying the token (off unless named).',
    },
    form_field: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      description:
        'Field of an `application/x-www-form-urlencoded` request body carrying the token (RFC 6750 section 2.2; off unless named). The body is read only when the content type matches.',
    },
    authorization: {
      type: 'object',
      additionalProperties: false,
      description: 'Required scopes or roles. Failing them gives 403 `insufficient_scope`.',
      properties: {
        claim: {
          type: 'string',
          pattern: CLAIM_PATH_PATTERN,
          default: 'scope',
          description:
            'Claim path holding the scopes/roles: a space-separated string or an array of strings; nested paths such as `realm_access.roles` work. Default `scope`.',
        },
        all_of: {
          type: 'array',
          uniqueItems: true,
          maxItems: 64,
          items: { type: 'string', pattern: SCOPE_TOKEN_PATTERN },
          description: 'Every one of these must be granted.',
        },
        any_of: {
          type: 'array',
          uniqueItems: true,
          maxItems: 64,
          items: { type: 'string', pattern: SCOPE_TOKEN_PATTERN },
          description: 'At least one of these must be granted.',
        },
      },
    },
    claims_to_headers: {
      type: 'object',
      maxProperties: 64,
      propertyNames: { pattern: CLAIM_PATH_PATTERN },
      additionalProperties: { type: 'string', pattern: HEADER_NAME_PATTERN },
      description:
        'Claim path -> upstream header name. Arrays are joined with ", ", objects sent as JSON. Values with control characters (CR, LF, NUL, ...) are never forwarded. These headers are always removed from the incoming request first, so clients cannot spoof them.',
    },
    payload_header: {
      type: 'string',
      pattern: HEADER_NAME_PATTERN,
      description:
        'Upstream header receiving the whole verified payload as base64url-encoded JSON (off unless named). Always removed from the incoming request first.',
    },
    hide_credentials: {
      type: 'boolean',
      default: true,
      description: 'Remove the token from the header, query argument, cookie or form body before proxying. Default true.',
    },
    mode: {
      type: 'string',
      enum: ['enforce', 'report_only'],
      default: 'enforce',
      description:
        '`enforce` (default) blocks bad requests; `report_only` decides, logs and counts but never blocks (safe rollout).',
    },
    anonymous: {
      type: 'boolean',
      default: false,
      description: 'Let requests without any token through (identity headers removed); a bad token is still rejected.',
    },
    require_https: {
      type: 'boolean',
      default: false,
      description: "Reject tokens that arrived over plain HTTP (the gateway's `scheme` variable).",
    },
    trust_forwarded_proto: {
      type: 'boolean',
      default: false,
      description: 'With `require_https`, trust the `X-Forwarded-Proto` request header (only behind a trusted proxy).',
    },
    realm: {
      type: 'string',
      pattern: QUOTABLE_PATTERN,
      default: 'apisix',
      description: 'Realm in the `WWW-Authenticate` challenge. Default `apisix`.',
    },
    error_detail: {
      type: 'string',
      enum: ['terse', 'verbose'],
      default: 'terse',
      description:
        '`terse` (default) gives generic error descriptions; `verbose` names the failed check. Neither ever echoes the token or a secret.',
    },
    revocation: {
      type: 'object',
      additionalProperties: false,
      description: 'Revocation checks against the runner Redis store.',
      properties: {
        enabled: {
          type: 'boolean',
          description:
            'Check revocations. Absent: on when the runner has Redis configured, off otherwise. True on a runner without Redis fails closed (503).',
        },
        on_store_error: {
          type: 'string',
          enum: ['deny', 'allow'],
          default: 'deny',
          description: 'When the store cannot answer in time: `deny` (default, 503) or `allow` (logged and counted).',
        },
        on_missing_jti: {
          type: 'string',
          enum: ['reject', 'accept'],
          default: 'reject',
          description: 'Tokens without `jti` when revocation is on: `reject` (default, 401) or `accept`.',
        },
      },
    },
    max_token_bytes: {
      type: 'integer',
      minimum: 256,
      maximum: 65536,
      default: DEFAULT_MAX_TOKEN_BYTES,
      description: `Largest token accepted, in bytes; larger ones are rejected before any parsing. Default ${DEFAULT_MAX_TOKEN_BYTES}.`,
    },
  },
} as const;

/** Key sources shared by the route top level and `issuers[]` entries. */
export interface KeySourceConf {
  readonly secret?: string;
  readonly base64_secret?: boolean;
  readonly public_key?: string | readonly string[];
  readonly jwks?: { readonly keys: ReadonlyArray<Readonly<Record<string, unknown>>> };
  readonly jwks_uri?: string;
  readonly provider?: string;
}

export interface IssuerEntryConf extends KeySourceConf {
  readonly issuer?: string;
  readonly audience?: string | readonly string[];
}

/**
 * A route configuration as the schema accepts it. Fields with a schema default are
 * optional here too: `prepare()` resolves them itself, so a conf that reached it
 * without defaults applied behaves the same.
 */
export interface JwtAuthConf extends KeySourceConf {
  readonly algorithms: readonly JwsAlgorithm[];
  readonly allow_insecure_jwks_uri?: boolean;
  readonly jwks_cache_seconds?: number;
  readonly jwks_timeout_ms?: number;
  readonly issuers?: readonly IssuerEntryConf[];
  readonly issuer?: string | readonly string[];
  readonly audience?: string | readonly string[];
  readonly clock_skew_seconds?: number;
  readonly required_claims?: readonly string[];
  readonly max_token_age_seconds?: number;
  readonly require_exp?: boolean;
  readonly typ?: string;
  readonly header?: string | null;
  readonly query?: string;
  readonly cookie?: string;
  readonly form_field?: string;
  readonly authorization?: {
    readonly claim?: string;
    readonly all_of?: readonly string[];
    readonly any_of?: readonly string[];
  };
  readonly claims_to_headers?: Readonly<Record<string, string>>;
  readonly payload_header?: string;
  readonly hide_credentials?: boolean;
  readonly mode?: 'enforce' | 'report_only';
  readonly anonymous?: boolean;
  readonly require_https?: boolean;
  readonly trust_forwarded_proto?: boolean;
  readonly realm?: string;
  readonly error_detail?: 'terse' | 'verbose';
  readonly revocation?: {
    readonly enabled?: boolean;
    readonly on_store_error?: 'deny' | 'allow';
    readonly on_missing_jti?: 'reject' | 'accept';
  };
  readonly max_token_bytes?: number;
}
