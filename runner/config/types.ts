/**
 * The runner configuration as the runner and plugins see it after loading:
 * `conf/runner.yaml` (or `--config` / `RUNNER_CONFIG`) merged with environment
 * overrides, validated against the schema in `schema.ts`, defaults applied, frozen.
 * Keys are snake_case, exactly as in the YAML file.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LogSettings {
  /** Default `warn`: the gateway copies the runner's stderr into its error log. `LOG_LEVEL` overrides. */
  readonly level: LogLevel;
  /** Write logs to this file instead of stderr; null = stderr. */
  readonly file: string | null;
}

export interface SocketSettings {
  /** Socket path used when `APISIX_LISTEN_ADDRESS` is not set (a person starting the runner by hand). */
  readonly default_path: string;
  /** Mode applied to the socket file after bind so gateway workers can connect (default 0o766). */
  readonly mode: number;
}

export interface LimitSettings {
  /** Largest incoming frame payload accepted; larger frames close the connection. Default 16777215. */
  readonly max_frame_bytes: number;
  /** Per-call deadline; the gateway gives up after 60 s. Default 56000. */
  readonly call_timeout_ms: number;
  /** Most prepared configurations kept (LRU); eviction only costs a re-prepare. Default 10000. */
  readonly max_conf_entries: number;
  /** Time allowed to finish in-flight calls after SIGTERM before the process exits. Default 700. */
  readonly shutdown_grace_ms: number;
}

export interface MetricsSettings {
  readonly enabled: boolean;
  /** Listen host; loopback by default. */
  readonly host: string;
  readonly port: number;
}

export interface RedisSettings {
  /** `redis://[user:pass@]host:port/db` or `rediss://…`; `REDIS_URL` overrides. Null with sentinel/cluster. */
  readonly url: string | null;
  /** Sentinel mode: the master group name and sentinel addresses. */
  readonly sentinel: { readonly name: string; readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }> } | null;
  /** Cluster mode: seed nodes. */
  readonly cluster: { readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }> } | null;
  /** Prefix of revocation keys: `<prefix><jti>` and `<prefix>sub:<sub>`. Default `jwt:revoked:`. */
  readonly key_prefix: string;
  readonly connect_timeout_ms: number;
  /** Deadline for one revocation lookup; past it the route's `on_store_error` policy applies. */
  readonly command_timeout_ms: number;
  /** How long a "not revoked" answer is trusted locally while push invalidation is connected. */
  readonly cache_ttl_ms: number;
}

/** A key source for a provider: inline value, environment variable or file. Exactly one is set. */
export interface SecretSource {
  readonly value?: string;
  readonly env?: string;
  readonly file?: string;
}

/** A named token issuer whose keys live in the runner configuration, not in route confs. */
export interface ProviderSettings {
  readonly issuer: string;
  readonly algorithms: readonly string[];
  /** HMAC secret. */
  readonly secret?: SecretSource;
  /** Whether the secret is base64 encoded. */
  readonly base64_secret: boolean;
  /** PEM public key (SPKI or certificate). */
  readonly public_key?: SecretSource;
  /** Inline JWK Set, as JSON text from the source. */
  readonly jwks?: SecretSource;
  /** Remote JWK Set. */
  readonly jwks_uri?: string;
  /** Allow an `http:` jwks_uri (tests, private networks). Default false. */
  readonly allow_insecure_jwks_uri: boolean;
  /** Default audience for routes using this provider that set none. */
  readonly audience?: string | readonly string[];
}

export interface RunnerSettings {
  readonly log: LogSettings;
  readonly socket: SocketSettings;
  readonly limits: LimitSettings;
  readonly metrics: MetricsSettings;
  /** Revocation store; null when no Redis is configured (revocation then defaults to off). */
  readonly redis: RedisSettings | null;
  readonly providers: Readonly<Record<string, ProviderSettings>>;
  /** Worker processes sharing the socket; 1 = run in the main process. */
  readonly workers: number;
}
