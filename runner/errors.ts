/**
 * Every error the runner raises carries a stable code. Callers and tests branch on
 * `code`, never on `message`. Codes are append-only: never rename or reuse one.
 */
export const ErrorCode = {
  /** A frame header announced a payload larger than the configured limit. */
  PROTOCOL_FRAME_TOO_LARGE: 'ERR_PROTOCOL_FRAME_TOO_LARGE',
  /** A frame with a zero-length payload (the gateway never sends one). */
  PROTOCOL_EMPTY_FRAME: 'ERR_PROTOCOL_EMPTY_FRAME',
  /** A payload that is not a valid FlatBuffers buffer for its frame type. */
  PROTOCOL_MALFORMED: 'ERR_PROTOCOL_MALFORMED',
  /** A frame type the runner does not accept in the current connection state. */
  PROTOCOL_UNEXPECTED_FRAME: 'ERR_PROTOCOL_UNEXPECTED_FRAME',
  /** An encoded reply would exceed the 24-bit frame length. */
  PROTOCOL_REPLY_TOO_LARGE: 'ERR_PROTOCOL_REPLY_TOO_LARGE',
  /** A call quoted a conf token the runner does not hold (unknown or expired). */
  CONF_TOKEN_NOT_FOUND: 'ERR_CONF_TOKEN_NOT_FOUND',
  /** A plugin hook threw or rejected. */
  PLUGIN_FAILED: 'ERR_PLUGIN_FAILED',
  /** A call did not finish before the per-call deadline. */
  PLUGIN_TIMEOUT: 'ERR_PLUGIN_TIMEOUT',
  /** A plugin definition is unusable (bad name, duplicate, schema does not compile). Start-up only. */
  PLUGIN_DEFINITION: 'ERR_PLUGIN_DEFINITION',
  /** The connection closed while the call was waiting for the gateway. */
  CONNECTION_CLOSED: 'ERR_CONNECTION_CLOSED',
  /** The runner configuration (file or environment) is invalid. */
  CONFIG_INVALID: 'ERR_CONFIG_INVALID',
  /** The environment APISIX sets (APISIX_LISTEN_ADDRESS, APISIX_CONF_EXPIRE_TIME) is invalid. */
  ENV_INVALID: 'ERR_ENV_INVALID',
  /** The revocation store (Redis) could not answer in time or failed. */
  REVOCATION_STORE_UNAVAILABLE: 'ERR_REVOCATION_STORE_UNAVAILABLE',
  /** The runner has no revocation store configured but a route requires one. */
  REVOCATION_STORE_MISSING: 'ERR_REVOCATION_STORE_MISSING',
  /** A remote JWK Set could not be fetched or parsed and no cached copy exists. */
  JWKS_UNAVAILABLE: 'ERR_JWKS_UNAVAILABLE',
  /** A command-line invocation was invalid (bad flag value, missing argument). */
  CLI_USAGE: 'ERR_CLI_USAGE',
  /** A call to APISIX's Admin API failed. */
  ADMIN_API: 'ERR_ADMIN_API',
  /** A worker process could not reach the primary (multi-process mode). */
  CLUSTER_UNAVAILABLE: 'ERR_CLUSTER_UNAVAILABLE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class RunnerError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunnerError';
    this.code = code;
  }
}

export function isRunnerError(err: unknown, code?: ErrorCode): err is RunnerError {
  return err instanceof RunnerError && (code === undefined || err.code === code);
}

/** Exhaustiveness guard for discriminated unions: adding a variant breaks the build. */
export function assertNever(value: never): never {
  throw new Error(`unexpected variant: ${JSON.stringify(value)}`);
}
