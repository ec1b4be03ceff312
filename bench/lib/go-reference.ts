/**
 * The official Go runner's figures from issue 7 (idiomatic Go jwt plugin,
 * golang-jwt, one Redis EXISTS per request, no verification cache; 16 keepalive
 * connections, 1000 distinct tokens cycled, same machine class).
 */
export interface GoReference {
  readonly callsPerSecond: number;
  readonly p99Us: number;
  readonly cpuUsPerCall: number;
}

/** By scenario id. */
export const GO_REFERENCE: Readonly<Record<string, GoReference>> = {
  'pass-through@16': { callsPerSecond: 71_000, p99Us: 1_000, cpuUsPerCall: 9.6 },
  'hs256@16': { callsPerSecond: 32_000, p99Us: 3_900, cpuUsPerCall: 36 },
  'rs256@16': { callsPerSecond: 14_300, p99Us: 5_900, cpuUsPerCall: 115 },
  'es256@16': { callsPerSecond: 11_400, p99Us: 8_700, cpuUsPerCall: 154 },
  'hs256-rev@16': { callsPerSecond: 23_000, p99Us: 3_500, cpuUsPerCall: 52 },
};

/** Throughput we aim for relative to Go: parity on pass-through, 1.5x on every jwt scenario. */
export function targetRatio(scenarioId: string): number {
  return scenarioId.startsWith('pass-through') ? 1 : 1.5;
}
