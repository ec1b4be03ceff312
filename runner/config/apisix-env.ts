/**
 * The two environment variables APISIX sets before spawning the runner
 * (protocol reference, section 1.3), read strictly: a malformed value means the
 * gateway and the runner disagree about something basic, so start-up fails with
 * a message naming the variable and the expected format.
 */
import { ErrorCode, RunnerError } from '../errors.js';

export const LISTEN_ADDRESS_VAR = 'APISIX_LISTEN_ADDRESS';
export const CONF_EXPIRE_TIME_VAR = 'APISIX_CONF_EXPIRE_TIME';
/** What APISIX sends today (a hard-coded constant in the gateway). */
export const DEFAULT_CONF_EXPIRE_SECONDS = 3600;
/** Upper bound so `seconds * 1000` stays a valid timer delay (2^31 - 1 ms). */
export const MAX_CONF_EXPIRE_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

const UNIX_SCHEME = 'unix:';

export interface ApisixEnv {
  /** Absolute path of the Unix socket to listen on. */
  readonly socketPath: string;
  /** How long the gateway caches conf tokens; prepared confs must live at least this long after last use. */
  readonly confExpireSeconds: number;
  /** True when the path came from `APISIX_LISTEN_ADDRESS` (started by the gateway or for it). */
  readonly fromGateway: boolean;
}

/**
 * Read `APISIX_LISTEN_ADDRESS` (`unix:/absolute/path.sock`; absent -> `fallbackSocketPath`)
 * and `APISIX_CONF_EXPIRE_TIME` (positive decimal seconds; absent -> 3600).
 *
 * @throws RunnerError `ENV_INVALID` naming the variable and the expected format.
 */
export function readApisixEnv(env: NodeJS.ProcessEnv, fallbackSocketPath: string): ApisixEnv {
  const address = env[LISTEN_ADDRESS_VAR];
  const expire = env[CONF_EXPIRE_TIME_VAR];
  return {
    socketPath: address === undefined ? fallbackSocketPath : parseListenAddress(address),
    confExpireSeconds: expire === undefined ? DEFAULT_CONF_EXPIRE_SECONDS : parseConfExpireTime(expire),
    fromGateway: address !== undefined,
  };
}

function parseListenAddress(value: string): string {
  const socketPath = value.startsWith(UNIX_SCHEME) ? value.slice(UNIX_SCHEME.length) : undefined;
  // A NUL byte cannot be part of a file name; a bare "/" is a directory, not a socket.
  if (socketPath === undefined || !socketPath.startsWith('/') || socketPath.length < 2 || socketPath.includes('\0')) {
    throw new RunnerError(
      ErrorCode.ENV_INVALID,
      `${LISTEN_ADDRESS_VAR} must be "unix:" followed by an absolute socket path, ` +
        `e.g. unix:/absolute/path.sock; got ${quote(value)}`,
    );
  }
  return socketPath;
}

function parseConfExpireTime(value: string): number {
  const seconds = /^[0-9]{1,10}$/.test(value) ? Number(value) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_CONF_EXPIRE_SECONDS)) {
    throw new RunnerError(
      ErrorCode.ENV_INVALID,
      `${CONF_EXPIRE_TIME_VAR} must be a positive decimal integer number of seconds ` +
        `(1-${MAX_CONF_EXPIRE_SECONDS}, e.g. 3600); got ${quote(value)}`,
    );
  }
  return seconds;
}

/** The received value for the message: these variables carry paths and numbers, never secrets. */
function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}
