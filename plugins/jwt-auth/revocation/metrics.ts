import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';

/** Prometheus counters of the revocation subsystem. */
export interface RevocationMetrics {
  /** `jwt_revocation_lookups_total{result="revoked|not_revoked|error", source="local|redis"}` */
  readonly lookups: Counter<string>;
  /** `jwt_revocation_store_errors_total`: Redis reads that failed or timed out. */
  readonly storeErrors: Counter<string>;
  /** `jwt_revocation_redis_commands_total`: commands sent on the lookup path (not subscriber upkeep). */
  readonly redisCommands: Counter<string>;
}

export const LOOKUPS_METRIC = 'jwt_revocation_lookups_total';
export const STORE_ERRORS_METRIC = 'jwt_revocation_store_errors_total';
export const REDIS_COMMANDS_METRIC = 'jwt_revocation_redis_commands_total';

/** Register the counters in `registry`, or reuse them when another checker already did. */
export function revocationMetrics(registry: Registry): RevocationMetrics {
  return {
    lookups: counter(registry, LOOKUPS_METRIC, 'Revocation lookups by answer and where the answer came from', [
      'result',
      'source',
    ]),
    storeErrors: counter(registry, STORE_ERRORS_METRIC, 'Revocation store (Redis) reads that failed or timed out', []),
    redisCommands: counter(registry, REDIS_COMMANDS_METRIC, 'Redis commands sent to answer revocation lookups', []),
  };
}

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing;
  return new Counter({ name, help, labelNames, registers: [registry] });
}
