/**
 * JSON Schema of the runner configuration file (`conf/runner.yaml`).
 *
 * This schema is the single source of truth for the file's shape, its defaults and
 * its limits: the loader validates with it (ajv, `useDefaults`), and the docs
 * generator renders every `description` into the configuration reference, so the
 * descriptions are written for operators.
 *
 * Two conventions the consumers of this schema need to know:
 * - `x-error` is an annotation keyword (no validation effect) that carries the
 *   operator-facing message for a combinator (`oneOf` / `anyOf`) next to it. The
 *   loader reports that message instead of ajv's generic branch errors. An ajv
 *   instance compiling this schema must declare the keyword (see `loader.ts`).
 * - The schema is built from small factory functions rather than `$ref`s so every
 *   object is inline: a renderer can walk `properties` without resolving references.
 *
 * The shape mirrors `RunnerSettings` in `types.ts` exactly (snake_case keys).
 */

/** A JSON Schema object as this module builds it. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** JWS algorithms a provider may list (shared with jwt-auth's route conf). */
import { JWS_ALGORITHMS } from './jws-algorithms.js';

export { JWS_ALGORITHMS };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const DEFAULT_LOG_LEVEL = 'warn';
export const DEFAULT_SOCKET_PATH = '/tmp/apisix-jwt-runner.sock';
/** rwx for the owner, rw for everyone else: gateway workers run as another user and need write access to connect. */
export const DEFAULT_SOCKET_MODE = 0o766;
/** The largest payload a 24-bit frame length can announce. */
export const MAX_FRAME_BYTES_LIMIT = 16_777_215;
export const MIN_FRAME_BYTES_LIMIT = 1024;
export const DEFAULT_CALL_TIMEOUT_MS = 56_000;
/** The gateway abandons a call after 60 s; the runner must answer (even with an error) before that. */
export const MAX_CALL_TIMEOUT_MS = 59_000;
export const MIN_CALL_TIMEOUT_MS = 100;
export const DEFAULT_MAX_CONF_ENTRIES = 10_000;
export const DEFAULT_SHUTDOWN_GRACE_MS = 700;
/** APISIX sends SIGKILL one second after SIGTERM; the runner must be gone before that. */
export const MAX_SHUTDOWN_GRACE_MS = 900;
export const DEFAULT_METRICS_HOST = '127.0.0.1';
export const DEFAULT_METRICS_PORT = 9091;
export const DEFAULT_REDIS_KEY_PREFIX = 'jwt:revoked:';
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 1000;
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 250;
export const DEFAULT_REDIS_CACHE_TTL_MS = 1000;
export const MAX_WORKERS = 64;
/** `sun_path` holds 108 bytes including the terminating NUL on Linux. */
export const MAX_SOCKET_PATH_LENGTH = 107;

/** Pattern a provider name must match: route confs refer to providers by this name. */
export const PROVIDER_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
/** Socket mode written as an octal string: `"0766"`, `"766"` or `"0o766"`. */
export const OCTAL_MODE_PATTERN = '^(0|0o)?[0-7]{3}$';
const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

function hostPortSchema(what: string): JsonSchema {
  return {
    type: 'object',
    description: `Address of one ${what}.`,
    additionalProperties: false,
    required: ['host', 'port'],
    properties: {
      host: { type: 'string', minLength: 1, description: `Host name or IP address of the ${what}.` },
      port: { type: 'integer', minimum: 1, maximum: 65535, description: `TCP port of the ${what}.` },
    },
  };
}

function secretSourceSchema(what: string): JsonSchema {
  return {
    type: 'object',
    description:
      `Where the ${what} comes from. Set exactly one of \`value\` (inline in this file), \`env\` ` +
      '(the name of an environment variable) or `file` (a path read by the runner). `env` and `file` ' +
      'are checked when the configuration loads: the variable must be set and the file readable. ' +
      'Remember that APISIX passes only the variables declared in `nginx_config.envs` to the runner.',
    additionalProperties: false,
    properties: {
      value: {
        type: 'string',
        minLength: 1,
        description: `The ${what} itself. Convenient for tests; prefer \`env\` or \`file\` in production.`,
      },
      env: {
        type: 'string',
        pattern: ENV_NAME_PATTERN,
        description: `Name of the environment variable holding the ${what}, e.g. \`CORP_JWT_SECRET\`.`,
      },
      file: {
        type: 'string',
        minLength: 1,
        description:
          `Path of a file holding the ${what}. Use an absolute path: under APISIX the working directory ` +
          'is the APISIX home.',
      },
    },
    oneOf: [{ required: ['value'] }, { required: ['env'] }, { required: ['file'] }],
    'x-error': 'set exactly one of "value", "env" or "file"',
  };
}

const providerSchema: JsonSchema = {
  type: 'object',
  description:
    'A named token issuer. Routes refer to it by name instead of carrying keys in their own configuration.',
  additionalProperties: false,
  required: ['issuer', 'algorithms'],
  properties: {
    issuer: {
      type: 'string',
      minLength: 1,
      description: 'Expected `iss` claim of tokens from this provider; tokens with another issuer are rejected.',
    },
    algorithms: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', enum: [...JWS_ALGORITHMS] },
      description:
        'JWS algorithms accepted for this provider (`alg` header). At least one of ' +
        `${JWS_ALGORITHMS.join(', ')}. \`none\` is never accepted.`,
    },
    secret: secretSourceSchema('HMAC secret (HS256/384/512)'),
    base64_secret: {
      type: 'boolean',
      default: false,
      description: 'Whether `secret` is base64 encoded; it is decoded before use.',
    },
    public_key: secretSourceSchema('PEM public key (SPKI `PUBLIC KEY` or a certificate)'),
    jwks: secretSourceSchema('JWK Set, as JSON text'),
    jwks_uri: {
      type: 'string',
      pattern: '^https?://',
      description:
        'URL of a remote JWK Set, fetched and cached by the runner. Must be `https://` unless ' +
        '`allow_insecure_jwks_uri` is true.',
    },
    allow_insecure_jwks_uri: {
      type: 'boolean',
      default: false,
      description:
        'Allow an `http://` `jwks_uri`. Only for tests and trusted private networks: keys fetched over ' +
        'plain HTTP can be replaced by anyone on the path.',
    },
    audience: {
      type: ['string', 'array'],
      minLength: 1,
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      description:
        'Default expected `aud` (one value or a list, any of which may match) for routes that use this ' +
        'provider and set no audience of their own.',
    },
  },
  allOf: [
    {
      anyOf: [
        { required: ['secret'] },
        { required: ['public_key'] },
        { required: ['jwks'] },
        { required: ['jwks_uri'] },
      ],
      'x-error': 'set at least one key source: "secret", "public_key", "jwks" or "jwks_uri"',
    },
    {
      anyOf: [
        { not: { required: ['jwks_uri'] } },
        { properties: { jwks_uri: { type: 'string', pattern: '^https://' } } },
        { required: ['allow_insecure_jwks_uri'], properties: { allow_insecure_jwks_uri: { type: 'boolean', const: true } } },
      ],
      'x-error': '"jwks_uri" must use https:// unless "allow_insecure_jwks_uri" is true',
    },
  ],
};

const redisSchema: JsonSchema = {
  type: ['object', 'null'],
  default: null,
  description:
    'The revocation store. Omit (or set null) to run without one: revocation checks are then off unless a ' +
    'route demands them, in which case that route fails closed. Set exactly one of `url`, `sentinel` or ' +
    '`cluster`. The environment variable `REDIS_URL` sets `url` (and creates this section if absent).',
  additionalProperties: false,
  properties: {
    url: {
      type: ['string', 'null'],
      default: null,
      pattern: '^rediss?://',
      description:
        'A single Redis server: `redis://[user:password@]host:port/db`, or `rediss://…` for TLS. ' +
        'Overridden by `REDIS_URL`.',
    },
    sentinel: {
      type: ['object', 'null'],
      default: null,
      description: 'Redis Sentinel: the runner asks the sentinels for the current master of the group.',
      additionalProperties: false,
      required: ['name', 'nodes'],
      properties: {
        name: { type: 'string', minLength: 1, description: 'Name of the master group, as configured in the sentinels.' },
        nodes: {
          type: 'array',
          minItems: 1,
          items: hostPortSchema('sentinel'),
          description: 'Sentinel addresses; list several so one being down does not matter.',
        },
      },
    },
    cluster: {
      type: ['object', 'null'],
      default: null,
      description: 'Redis Cluster: the runner discovers the whole cluster from these seed nodes.',
      additionalProperties: false,
      required: ['nodes'],
      properties: {
        nodes: {
          type: 'array',
          minItems: 1,
          items: hostPortSchema('cluster seed node'),
          description: 'Seed nodes of the cluster.',
        },
      },
    },
    key_prefix: {
      type: 'string',
      minLength: 1,
      default: DEFAULT_REDIS_KEY_PREFIX,
      description:
        'Prefix of revocation keys: a token is revoked by `<prefix><jti>`, a subject by `<prefix>sub:<sub>`. ' +
        'Change it only together with every tool that writes revocations.',
    },
    connect_timeout_ms: {
      type: 'integer',
      minimum: 1,
      maximum: 60_000,
      default: DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
      description: 'How long one connection attempt to Redis may take, in milliseconds.',
    },
    command_timeout_ms: {
      type: 'integer',
      minimum: 1,
      maximum: 60_000,
      default: DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
      description:
        'Deadline of one revocation lookup, in milliseconds. It is spent on every request that checks ' +
        "revocation, so keep it small; past it the route's `on_store_error` policy decides.",
    },
    cache_ttl_ms: {
      type: 'integer',
      minimum: 0,
      maximum: 60_000,
      default: DEFAULT_REDIS_CACHE_TTL_MS,
      description:
        'How long a "not revoked" answer is reused locally while push invalidation from Redis is connected, ' +
        'in milliseconds. 0 disables the cache. This bounds how late a revocation can take effect.',
    },
  },
  // `required` holds vacuously for null, hence the explicit types: null matches only the last branch.
  oneOf: [
    { type: 'object', required: ['url'], properties: { url: { type: 'string' } } },
    { type: 'object', required: ['sentinel'], properties: { sentinel: { type: 'object' } } },
    { type: 'object', required: ['cluster'], properties: { cluster: { type: 'object' } } },
    { type: 'null' },
  ],
  'x-error': 'set exactly one of "url", "sentinel" or "cluster" (the other two absent or null)',
};

/** Schema of the whole runner configuration file. */
export const runnerSettingsSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'apisix-jwt-runner configuration',
  description:
    'Configuration of the runner process, read from `conf/runner.yaml` in the package (or the file named ' +
    'by `--config` or `RUNNER_CONFIG`). Every option is optional; omitted options take the defaults shown. ' +
    'Environment variables `LOG_LEVEL`, `REDIS_URL`, `METRICS_PORT` and `RUNNER_WORKERS` override the file. ' +
    'Unknown options are errors, so a typo never silently falls back to a default. A section whose options ' +
    'are all commented out takes its defaults.',
  type: 'object',
  additionalProperties: false,
  properties: {
    log: {
      type: 'object',
      default: {},
      description: 'Logging. Logs are JSON lines; tokens, secrets and keys are never logged.',
      additionalProperties: false,
      properties: {
        level: {
          type: 'string',
          enum: [...LOG_LEVELS],
          default: DEFAULT_LOG_LEVEL,
          description:
            'Lowest level written. The default `warn` keeps the gateway error log quiet: APISIX copies the ' +
            "runner's standard error into it. Overridden by `LOG_LEVEL`.",
        },
        file: {
          type: ['string', 'null'],
          minLength: 1,
          default: null,
          description:
            'Append logs to this file instead of standard error. Its directory must exist. Use an absolute ' +
            'path. null = standard error.',
        },
      },
    },
    socket: {
      type: 'object',
      default: {},
      description: 'The Unix socket the runner listens on.',
      additionalProperties: false,
      properties: {
        default_path: {
          type: 'string',
          minLength: 2,
          maxLength: MAX_SOCKET_PATH_LENGTH,
          pattern: '^/',
          default: DEFAULT_SOCKET_PATH,
          description:
            'Absolute socket path used only when `APISIX_LISTEN_ADDRESS` is not set, i.e. when you start the ' +
            'runner by hand (then point APISIX at it with `ext-plugin.path_for_test`). When APISIX starts the ' +
            `runner it chooses the path. At most ${MAX_SOCKET_PATH_LENGTH} bytes.`,
        },
        mode: {
          type: ['integer', 'string'],
          minimum: 0,
          maximum: 0o777,
          pattern: OCTAL_MODE_PATTERN,
          default: DEFAULT_SOCKET_MODE,
          description:
            'Permissions applied to the socket file after it is created. Gateway workers usually run as ' +
            'another user than the runner and need write permission to connect. Write it as an octal ' +
            'string (`"0766"`), a YAML octal (`0o766`) or a decimal integer (`502`); an unquoted `0766` is ' +
            'also read as octal. Default `0766`.',
        },
      },
    },
    limits: {
      type: 'object',
      default: {},
      description: 'Bounds that protect the runner from oversized or stuck work.',
      additionalProperties: false,
      properties: {
        max_frame_bytes: {
          type: 'integer',
          minimum: MIN_FRAME_BYTES_LIMIT,
          maximum: MAX_FRAME_BYTES_LIMIT,
          default: MAX_FRAME_BYTES_LIMIT,
          description:
            'Largest frame payload accepted from the gateway, in bytes; a larger frame closes that ' +
            'connection. The protocol itself allows at most 16777215.',
        },
        call_timeout_ms: {
          type: 'integer',
          minimum: MIN_CALL_TIMEOUT_MS,
          maximum: MAX_CALL_TIMEOUT_MS,
          default: DEFAULT_CALL_TIMEOUT_MS,
          description:
            'Deadline of one call (plugin work included), in milliseconds. The gateway gives up after 60 s, ' +
            'so the maximum is 59000.',
        },
        max_conf_entries: {
          type: 'integer',
          minimum: 1,
          maximum: 1_000_000,
          default: DEFAULT_MAX_CONF_ENTRIES,
          description:
            'Most prepared route configurations kept in memory (least recently used are evicted). An ' +
            'evicted configuration only costs the gateway one extra PrepareConf round trip.',
        },
        shutdown_grace_ms: {
          type: 'integer',
          minimum: 0,
          maximum: MAX_SHUTDOWN_GRACE_MS,
          default: DEFAULT_SHUTDOWN_GRACE_MS,
          description:
            'Time allowed for in-flight calls to finish after SIGTERM, in milliseconds. APISIX kills the ' +
            'runner one second after SIGTERM, hence the maximum of 900.',
        },
      },
    },
    metrics: {
      type: 'object',
      default: {},
      description: 'Prometheus metrics endpoint (`GET /metrics`). `METRICS_PORT` sets the port and enables it.',
      additionalProperties: false,
      properties: {
        enabled: {
          type: 'boolean',
          default: false,
          description: 'Serve metrics over HTTP.',
        },
        host: {
          type: 'string',
          minLength: 1,
          default: DEFAULT_METRICS_HOST,
          description: 'Address the metrics endpoint listens on. Loopback by default; it has no authentication.',
        },
        port: {
          type: 'integer',
          minimum: 0,
          maximum: 65535,
          default: DEFAULT_METRICS_PORT,
          description: 'TCP port of the metrics endpoint; 0 picks a free port (tests). Overridden by `METRICS_PORT`.',
        },
      },
    },
    redis: redisSchema,
    providers: {
      type: 'object',
      default: {},
      description:
        'Named token issuers, keyed by the name routes use in their `provider` option. Names are 1-64 ' +
        'characters of letters, digits, `_`, `.` and `-`, starting with a letter or digit.',
      propertyNames: { pattern: PROVIDER_NAME_PATTERN },
      additionalProperties: providerSchema,
    },
    workers: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_WORKERS,
      default: 1,
      description:
        'Processes serving the socket. 1 runs everything in the main process; more spread JWT verification ' +
        'over CPU cores. Overridden by `RUNNER_WORKERS`.',
    },
  },
};
