/** Prometheus metrics of the jwt-auth plugin, registered once per plugin instance. */
import { Counter, Histogram, type Registry } from 'prom-client';

/** What happened to a request. */
export type DecisionOutcome = 'allow' | 'deny' | 'anonymous' | 'report_only_deny' | 'store_error_allowed' | 'error';

export interface JwtAuthMetrics {
  readonly decisions: Counter<'outcome' | 'reason'>;
  readonly verifySeconds: Histogram;
  readonly cacheHits: Counter;
  readonly cacheMisses: Counter;
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/** Create (or reuse, when the registry already holds them) the plugin metrics. */
export function createMetrics(registry: Registry): JwtAuthMetrics {
  const registers = [registry];
  return {
    decisions:
      existing<Counter<'outcome' | 'reason'>>(registry, 'jwt_auth_decisions_total') ??
      new Counter({
        name: 'jwt_auth_decisions_total',
        help: 'jwt-auth decisions by outcome and reason',
        labelNames: ['outcome', 'reason'] as const,
        registers,
      }),
    verifySeconds:
      existing<Histogram>(registry, 'jwt_auth_verify_seconds') ??
      new Histogram({
        name: 'jwt_auth_verify_seconds',
        help: 'Time to verify one token (cache hits included)',
        buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05, 0.25],
        registers,
      }),
    cacheHits:
      existing<Counter>(registry, 'jwt_auth_token_cache_hits_total') ??
      new Counter({ name: 'jwt_auth_token_cache_hits_total', help: 'Verified-token cache hits', registers }),
    cacheMisses:
      existing<Counter>(registry, 'jwt_auth_token_cache_misses_total') ??
      new Counter({ name: 'jwt_auth_token_cache_misses_total', help: 'Verified-token cache misses', registers }),
  };
}
