/**
 * Prometheus metrics of the jwt-auth plugin, registered once per registry.
 *
 * The request path only adds to plain numbers; the prom-client counters take them
 * over in their `collect` hook, i.e. when the registry is read (a scrape, a test).
 * A labelled `Counter.inc` hashes its label object on every call, which the bench
 * profile showed on the hot path even with the metrics endpoint off. The verify-time
 * histogram is only observed when the runner's metrics are enabled (it needs two clock
 * reads per call).
 */
import { createRequire } from 'node:module';
import type { Counter, Histogram, Registry } from 'prom-client';

/** prom-client is loaded only when the runner's metrics are on (it costs ~13 MiB of RSS). */
const loadPromClient = (): typeof import('prom-client') => createRequire(import.meta.url)('prom-client') as typeof import('prom-client');

/** What happened to a request. */
export type DecisionOutcome = 'allow' | 'deny' | 'anonymous' | 'report_only_deny' | 'store_error_allowed' | 'error';

export interface JwtAuthMetrics {
  /** Count one decision. */
  decision(outcome: DecisionOutcome, reason: string): void;
  /** Count a verified-token cache hit or miss. */
  cacheLookup(hit: boolean): void;
  /** Verify time in seconds; null when metrics are off (nothing to observe). */
  readonly verifySeconds: Histogram | null;
}

/** Counts not yet handed to prom-client, shared by every plugin instance on one registry. */
class Tallies {
  /** outcome -> reason -> count. */
  readonly decisions = new Map<DecisionOutcome, Map<string, number>>();
  hits = 0;
  misses = 0;

  decision(outcome: DecisionOutcome, reason: string): void {
    let byReason = this.decisions.get(outcome);
    if (byReason === undefined) {
      byReason = new Map();
      this.decisions.set(outcome, byReason);
    }
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }

  flushDecisions(counter: Counter<'outcome' | 'reason'>): void {
    for (const [outcome, byReason] of this.decisions) {
      for (const [reason, count] of byReason) {
        if (count > 0) counter.inc({ outcome, reason }, count);
        byReason.set(reason, 0);
      }
    }
  }
}

const talliesByRegistry = new WeakMap<Registry, Tallies>();

/** The runner's metrics are off: nothing is counted. */
const NO_METRICS: JwtAuthMetrics = Object.freeze({
  decision: () => undefined,
  cacheLookup: () => undefined,
  verifySeconds: null,
});

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/**
 * Create (or reuse, when the registry already holds them) the plugin metrics.
 * `observeTimes` turns on the verify-time histogram (runner metrics enabled).
 */
export function createMetrics(registry: Registry | null, observeTimes = true): JwtAuthMetrics {
  if (registry === null) return NO_METRICS;
  const { Counter, Histogram } = loadPromClient();
  let tallies = talliesByRegistry.get(registry);
  if (tallies === undefined) {
    const t = new Tallies();
    tallies = t;
    talliesByRegistry.set(registry, t);
    const registers = [registry];
    new Counter({
      name: 'jwt_auth_decisions_total',
      help: 'jwt-auth decisions by outcome and reason',
      labelNames: ['outcome', 'reason'] as const,
      registers,
      collect() {
        t.flushDecisions(this);
      },
    });
    new Counter({
      name: 'jwt_auth_token_cache_hits_total',
      help: 'Verified-token cache hits',
      registers,
      collect() {
        this.inc(t.hits);
        t.hits = 0;
      },
    });
    new Counter({
      name: 'jwt_auth_token_cache_misses_total',
      help: 'Verified-token cache misses',
      registers,
      collect() {
        this.inc(t.misses);
        t.misses = 0;
      },
    });
  }
  const shared = tallies;
  const verifySeconds = observeTimes
    ? (existing<Histogram>(registry, 'jwt_auth_verify_seconds') ??
      new Histogram({
        name: 'jwt_auth_verify_seconds',
        help: 'Time to verify one token (cache hits included)',
        buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05, 0.25],
        registers: [registry],
      }))
    : null;
  return {
    decision: (outcome, reason) => shared.decision(outcome, reason),
    cacheLookup: (hit) => {
      if (hit) shared.hits += 1;
      else shared.misses += 1;
    },
    verifySeconds,
  };
}
