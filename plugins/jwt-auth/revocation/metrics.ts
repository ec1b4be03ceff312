import { createRequire } from 'node:module';
import type { Counter, Registry } from 'prom-client';

/** What the checker counts with; a no-op when the runner's metrics are off. */
export interface CountSink {
  inc(value?: number): void;
}

/** Prometheus counters of the revocation subsystem. */
export interface RevocationMetrics {
  /** `jwt_revocation_store_errors_total`: Redis reads that failed or timed out. */
  readonly storeErrors: CountSink;
  /** `jwt_revocation_redis_commands_total`: commands sent on the lookup path (not subscriber upkeep). */
  readonly redisCommands: CountSink;
}

const NO_COUNT: CountSink = Object.freeze({ inc: () => undefined });

export const LOOKUPS_METRIC = 'jwt_revocation_lookups_total';
export const STORE_ERRORS_METRIC = 'jwt_revocation_store_errors_total';
export const REDIS_COMMANDS_METRIC = 'jwt_revocation_redis_commands_total';

/**
 * Register the counters in `registry`, or reuse them when another checker already
 * did; no-ops when the runner's metrics are off (prom-client is then never loaded).
 */
export function revocationMetrics(registry: Registry | null): RevocationMetrics {
  if (registry === null) return { storeErrors: NO_COUNT, redisCommands: NO_COUNT };
  const { Counter: CounterClass } = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
  const counter = (name: string, help: string, labelNames: string[], collect?: (this: Counter<string>) => void): Counter<string> => {
    const existing = registry.getSingleMetric(name);
    if (existing instanceof CounterClass) return existing;
    return new CounterClass({ name, help, labelNames, registers: [registry], ...(collect === undefined ? {} : { collect }) });
  };
  counter(LOOKUPS_METRIC, 'Revocation lookups by answer and where the answer came from', ['result', 'source'], function collect(this: Counter<string>) {
    lookupTallies(registry).flush(this);
  });
  return {
    storeErrors: counter(STORE_ERRORS_METRIC, 'Revocation store (Redis) reads that failed or timed out', []),
    redisCommands: counter(REDIS_COMMANDS_METRIC, 'Redis commands sent to answer revocation lookups', []),
  };
}

const LOOKUP_RESULTS = ['revoked', 'not_revoked', 'error'] as const;
const LOOKUP_SOURCES = ['local', 'redis'] as const;
type LookupResult = (typeof LOOKUP_RESULTS)[number];
type LookupSource = (typeof LOOKUP_SOURCES)[number];

/**
 * Lookup counts kept as plain numbers on the request path and handed to
 * `jwt_revocation_lookups_total` when the registry is read: a labelled `inc` per lookup
 * hashes its labels every time. One fixed slot per (result, source) pair, found by
 * property access on constant names: no key is built per lookup.
 */
export class LookupTallies {
  readonly #counts: Record<LookupResult, Record<LookupSource, number>> = {
    revoked: { local: 0, redis: 0 },
    not_revoked: { local: 0, redis: 0 },
    error: { local: 0, redis: 0 },
  };

  count(result: LookupResult, source: LookupSource): void {
    this.#counts[result][source] += 1;
  }

  /** Move the counts into the prom-client counter. */
  flush(counter: Counter<string>): void {
    for (const result of LOOKUP_RESULTS) {
      for (const source of LOOKUP_SOURCES) {
        const n = this.#counts[result][source];
        if (n === 0) continue;
        counter.inc({ result, source }, n);
        this.#counts[result][source] = 0;
      }
    }
  }
}

const talliesByRegistry = new WeakMap<Registry, LookupTallies>();

/**
 * The lookup tallies of `registry`, shared by every checker on it (flushed by
 * `jwt_revocation_lookups_total`); a private, never-read tally without a registry.
 */
export function lookupTallies(registry: Registry | null): LookupTallies {
  if (registry === null) return new LookupTallies();
  let tallies = talliesByRegistry.get(registry);
  if (tallies === undefined) {
    tallies = new LookupTallies();
    talliesByRegistry.set(registry, tallies);
  }
  return tallies;
}
