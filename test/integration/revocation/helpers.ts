/** Shared set-up for the revocation integration tests. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RedisSettings } from '../../../runner/config/types.js';

export const PREFIX = 'jwt:revoked:';
/** The promise of issue 4: a revocation reaches every runner within one second. */
export const PROPAGATION_BOUND_MS = 1000;

/** Settings for a checker against `url`. A long cache TTL, so only push can explain a quick change. */
export function redisSettings(url: string, overrides: Partial<RedisSettings> = {}): RedisSettings {
  return {
    url,
    sentinel: null,
    cluster: null,
    key_prefix: PREFIX,
    connect_timeout_ms: 1000,
    command_timeout_ms: 300,
    cache_ttl_ms: 60_000,
    ...overrides,
  };
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A debug-level logger whose output is kept in `lines`. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** Sum of every series of a counter in `registry` (0 when absent). */
export async function counterTotal(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/**
 * Call `probe` every `intervalMs` until it returns true or `boundMs` passes; returns the elapsed ms or
 * throws naming `what`. A bounded poll, for effects that have no event to await from outside.
 */
export async function pollUntil(what: string, probe: () => Promise<boolean>, boundMs: number, intervalMs = 5): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > boundMs) throw new Error(`${what}: not within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Unique ids per test, so tests sharing a server never see each other's keys. */
let counter = 0;
export function uniqueId(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Commands a Redis server has executed, by name, from INFO commandstats. */
export function parseCommandStats(info: string): Map<string, number> {
  const stats = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    const [, name, calls] = match;
    if (name !== undefined && calls !== undefined) stats.set(name, Number(calls));
  }
  return stats;
}
