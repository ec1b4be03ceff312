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
    lookups: counter(
      registry,
      LOOKUPS_METRIC,
      'Revocation lookups by answer and where the answer came from',
      ['result', 'source'],
      function collect(this: Counter<string>) {
        lookupTallies(registry).flush(this);
      },
    ),
    storeErrors: counter(registry, STORE_ERRORS_METRIC, 'Revocation store (Redis) reads that failed or timed out', []),
    redisCommands: counter(registry, REDIS_COMMANDS_METRIC, 'Redis commands sent to answer revocation lookups', []),
  };
}

function counter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  collect?: (this: Counter<string>) => void,
): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing;
  return new Counter({ name, help, labelNames, registers: [registry], ...(collect === undefined ? {} : { collect }) });
}

type LookupResult = 'revoked' | 'not_revoked' | 'error';
type LookupSource = 'local' | 'redis';

/**
 * Lookup counts kept as plain numbers on the request path and handed to
 * `jwt_revocation_lookups_total` when the registry is read: a labelled `inc` per lookup
 * hashes its labels every time.
 */
export class LookupTallies {
  readonly #counts = new Map<string, { readonly result: LookupResult; readonly source: LookupSource; n: number }>();

  count(result: LookupResult, source: LookupSource): void {
    const key = result + source;
    const slot = this.#counts.get(key);
    if (slot !== undefined) slot.n += 1;
    else this.#counts.set(key, { result, source, n: 1 });
  }

  /** Move the counts into the prom-client counter. */
  flush(counter: Counter<string>): void {
    for (const slot of this.#counts.values()) {
      if (slot.n === 0) continue;
      counter.inc({ result: slot.result, source: slot.source }, slot.n);
      slot.n = 0;
    }
  }
}

const talliesByRegistry = new WeakMap<Registry, LookupTallies>();

/** The lookup tallies of `registry`, shared by every checker on it (flushed by `jwt_revocation_lookups_total`). */
export function lookupTallies(registry: Registry): LookupTallies {
  let tallies = talliesByRegistry.get(registry);
  if (tallies === undefined) {
    tallies = new LookupTallies();
    talliesByRegistry.set(registry, tallies);
  }
  return tallies;
}
