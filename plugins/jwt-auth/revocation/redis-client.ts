import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisSettings } from '../../../runner/plugin-api/index.js';
import { ErrorCode, RunnerError } from '../../../runner/plugin-api/index.js';
import { parseRedisUrl, redactRedisUrl } from './redis-url.js';
import type { RedisUrlParts } from './redis-url.js';

/** A connection the revocation code talks through: one server (direct or via Sentinel) or a cluster. */
export type RevocationRedis = Redis | Cluster;

/** Why a connection exists; also used as the Redis CLIENT name suffix so operators can tell them apart. */
export type ConnectionRole = 'lookup' | 'subscriber' | 'admin';

/** Where the settings point, in loggable form (no credentials). */
export interface RedisTarget {
  readonly mode: 'standalone' | 'sentinel' | 'cluster';
  /** Loggable description: redacted URL, sentinel group or cluster seed list. */
  readonly description: string;
  /** Logical database keyspace notifications are published for (always 0 in a cluster). */
  readonly db: number;
}

/** Upper bound of the reconnect back-off: recovery is automatic and never more than this late. */
export const RECONNECT_MAX_DELAY_MS = 2000;
const RECONNECT_BASE_DELAY_MS = 50;

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential from 50 ms, capped at
 * {@link RECONNECT_MAX_DELAY_MS}, with jitter so a fleet of runners does not reconnect in step.
 * Never null: the client reconnects for as long as the runner lives.
 */
export function reconnectDelayMs(attempt: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 16);
  const ceiling = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_BASE_DELAY_MS * 2 ** exponent);
  return Math.round(ceiling * (0.5 + Math.random() * 0.5));
}

/**
 * Credentials, database and TLS from `redis.url`. With Sentinel or Cluster the URL is optional; when
 * present only its credentials, db and scheme are used (its host and port are ignored).
 */
function urlParts(settings: RedisSettings): RedisUrlParts | null {
  return settings.url === null ? null : parseRedisUrl(settings.url);
}

export function describeTarget(settings: RedisSettings): RedisTarget {
  const parts = urlParts(settings);
  if (settings.cluster !== null) {
    const seeds = settings.cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',');
    return { mode: 'cluster', description: `cluster(${seeds})`, db: 0 };
  }
  if (settings.sentinel !== null) {
    const seeds = settings.sentinel.nodes.map((n) => `${n.host}:${n.port}`).join(',');
    return { mode: 'sentinel', description: `sentinel(${settings.sentinel.name}@${seeds})`, db: parts?.db ?? 0 };
  }
  if (parts === null) {
    throw new RunnerError(ErrorCode.CONFIG_INVALID, 'redis: one of url, sentinel or cluster must be set');
  }
  return { mode: 'standalone', description: redactRedisUrl(parts), db: parts.db };
}

/**
 * ioredis keeps a closing socket for `disconnectTimeout` (default 2 s, not in its type definitions),
 * even one that is already gone, which holds the process open that long after close().
 */
export const untypedConnectorOptions: Record<string, unknown> = { disconnectTimeout: 500 };

/**
 * Options for an auth hot path rather than durability: no offline queue (a command while disconnected
 * fails at once), an explicit connect and per-command timeout, one attempt per request, no resending of
 * unanswered commands after a reconnect (the caller has already been answered with an error), and
 * reconnection forever with capped back-off.
 */
function hotPathOptions(settings: RedisSettings, role: ConnectionRole, parts: RedisUrlParts | null): RedisOptions {
  return {
    ...untypedConnectorOptions,
    connectTimeout: settings.connect_timeout_ms,
    commandTimeout: settings.command_timeout_ms,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    retryStrategy: reconnectDelayMs,
    connectionName: `apisix-jwt-runner:revocation-${role}`,
    keepAlive: 10_000,
    ...(parts?.username !== undefined ? { username: parts.username } : {}),
    ...(parts?.password !== undefined ? { password: parts.password } : {}),
    ...(parts !== null ? { db: parts.db } : {}),
    ...(parts?.tls === true ? { tls: {} } : {}),
  };
}

/** Open (connecting in the background) one connection for `role` as the runner settings describe. */
export function createRedisConnection(settings: RedisSettings, role: ConnectionRole): RevocationRedis {
  const parts = urlParts(settings);
  const options = hotPathOptions(settings, role, parts);
  if (settings.cluster !== null) {
    const { retryStrategy: _perNodeRetry, ...nodeOptions } = options;
    const clusterOptions: ClusterOptions = {
      redisOptions: nodeOptions,
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelayMs,
      slotsRefreshTimeout: settings.connect_timeout_ms,
    };
    return new Cluster(
      settings.cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
      clusterOptions,
    );
  }
  if (settings.sentinel !== null) {
    return new Redis({
      ...options,
      name: settings.sentinel.name,
      sentinels: settings.sentinel.nodes.map((n) => ({ host: n.host, port: n.port })),
      sentinelRetryStrategy: reconnectDelayMs,
    });
  }
  if (parts === null) {
    throw new RunnerError(ErrorCode.CONFIG_INVALID, 'redis: one of url, sentinel or cluster must be set');
  }
  return new Redis({ ...options, host: parts.host, port: parts.port });
}

/** Whether the connection can take a command right now. */
export function isReady(client: RevocationRedis): boolean {
  return client.status === 'ready';
}
