/**
 * The scenario matrix: what the route runs (nothing, or jwt-auth with one
 * algorithm), which tokens arrive (1000 repeated, or every one new), whether
 * revocation is checked against Redis, and how many gateway connections drive it.
 */
import { BENCH_ALGORITHMS, BENCH_AUDIENCE, BENCH_ISSUER } from './tokens.js';
import type { BenchAlgorithm, BenchKeys } from './tokens.js';

export type TokenMix = 'warm' | 'cold';

export interface Scenario {
  /** `pass-through`, `hs256`, `rs256-cold`, `es256-rev`, `hs256-cold-rev`, ... */
  readonly base: string;
  /** `<base>@<connections>`. */
  readonly id: string;
  /** Null: pass-through (PrepareConf with no plugins). */
  readonly alg: BenchAlgorithm | null;
  readonly tokens: TokenMix | null;
  readonly revocation: boolean;
  readonly connections: number;
  /** The canned-answer server instead of the runner: the ceiling of socket + generator. */
  readonly bare: boolean;
  /** What the table shows. */
  readonly label: string;
}

/** Distinct tokens cycled in the warm mix (the figure the Go runner was measured with). */
export const WARM_TOKEN_COUNT = 1000;
export const CONNECTION_COUNTS = [1, 16, 64] as const;

function bareSocket(connections: number): Scenario {
  return { base: 'bare-socket', id: `bare-socket@${connections}`, alg: null, tokens: null, revocation: false, connections, bare: true, label: 'bare socket (canned answers, no runner)' };
}

function scenario(alg: BenchAlgorithm | null, tokens: TokenMix | null, revocation: boolean, connections: number, bare = false): Scenario {
  if (bare) return bareSocket(connections);
  const base = alg === null ? 'pass-through' : [alg.toLowerCase(), tokens === 'cold' ? 'cold' : null, revocation ? 'rev' : null].filter((part) => part !== null).join('-');
  const label =
    alg === null
      ? 'pass-through'
      : `jwt ${alg}${tokens === 'cold' ? ' cold' : ' 1000 tok'}${revocation ? ' + revocation' : ''}`;
  return { base, id: `${base}@${connections}`, alg, tokens, revocation, connections, bare: false, label };
}

/** Every combination (`--full`). */
export function fullMatrix(): Scenario[] {
  const out: Scenario[] = [];
  for (const connections of CONNECTION_COUNTS) {
    out.push(bareSocket(connections), scenario(null, null, false, connections));
    for (const alg of BENCH_ALGORITHMS) {
      for (const revocation of [false, true]) {
        for (const tokens of ['warm', 'cold'] as const) out.push(scenario(alg, tokens, revocation, connections));
      }
    }
  }
  return sortScenarios(out);
}

/**
 * The default set: pass-through and HS256 at 1, 16 and 64 connections; at 16, every
 * algorithm warm and cold and HS256 with revocation (warm and cold).
 */
export function defaultMatrix(): Scenario[] {
  const out: Scenario[] = [bareSocket(16)];
  for (const connections of CONNECTION_COUNTS) {
    out.push(scenario(null, null, false, connections), scenario('HS256', 'warm', false, connections));
  }
  out.push(scenario('HS256', 'cold', false, 16), scenario('HS256', 'warm', true, 16), scenario('HS256', 'cold', true, 16));
  for (const alg of BENCH_ALGORITHMS.filter((a) => a !== 'HS256')) {
    out.push(scenario(alg, 'warm', false, 16), scenario(alg, 'cold', false, 16));
  }
  return sortScenarios(out);
}

/** Pass-through first, then by algorithm, token mix, revocation, connections. */
function sortScenarios(list: Scenario[]): Scenario[] {
  const algOrder = (alg: BenchAlgorithm | null): number => (alg === null ? -1 : BENCH_ALGORITHMS.indexOf(alg));
  return list.sort(
    (a, b) =>
      Number(b.bare) - Number(a.bare) ||
      algOrder(a.alg) - algOrder(b.alg) ||
      Number(a.revocation) - Number(b.revocation) ||
      Number(a.tokens === 'cold') - Number(b.tokens === 'cold') ||
      a.connections - b.connections,
  );
}

/**
 * Keeps the scenarios matching any term: a base name (`hs256-cold`), a full id
 * (`hs256@64`), or a `*` pattern (`*-rev`, `es256*`).
 */
export function filterScenarios(list: readonly Scenario[], terms: readonly string[]): Scenario[] {
  if (terms.length === 0) return [...list];
  const patterns = terms.map((term) => new RegExp(`^${term.trim().toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
  return list.filter((s) => patterns.some((p) => p.test(s.base) || p.test(s.id)));
}

/** Replaces the connection counts of a list (`--connections`), dropping duplicates. */
export function withConnections(list: readonly Scenario[], counts: readonly number[]): Scenario[] {
  const seen = new Map<string, Scenario>();
  for (const s of list) {
    for (const connections of counts) {
      const next = scenario(s.alg, s.tokens, s.revocation, connections, s.bare);
      seen.set(next.id, next);
    }
  }
  return sortScenarios([...seen.values()]);
}

/** The PrepareConf entries of a scenario: none for pass-through, one jwt-auth entry otherwise. */
export function scenarioConf(s: Scenario, keys: BenchKeys | null): Array<{ name: string; value: string }> {
  if (s.alg === null) return [];
  if (keys === null) throw new Error(`scenario ${s.id} needs keys`);
  const conf = {
    algorithms: [s.alg],
    ...keys.confKey,
    issuer: BENCH_ISSUER,
    audience: BENCH_AUDIENCE,
    revocation: { enabled: s.revocation },
  };
  return [{ name: 'jwt-auth', value: JSON.stringify(conf) }];
}
