/**
 * The contract between the suite and the load generator process: the job the
 * generator reads (a JSON file named on its command line) and the JSON lines it
 * writes on stdout.
 */
import type { HistogramSnapshot } from './histogram.js';

/**
 * `even`: each call is released at its own scheduled time (the generator polls the
 * clock between I/O, using a whole core), so half of peak is half of peak at every
 * instant. `tick`: a 1 ms timer releases the calls due since the last tick together,
 * which offers the runner bursts at the full rate; cheaper, but its p99 measures the
 * bursts more than the runner.
 */
export type Pacing = (typeof PACINGS)[number];
export const PACINGS = ['even', 'tick'] as const;

export interface LoadJob {
  /** The runner's Unix socket. */
  readonly socketPath: string;
  /** Keepalive connections, each carrying one conversation at a time. */
  readonly connections: number;
  /** Time driven at full load before measuring. */
  readonly warmupMs: number;
  /** Length of the measured window. */
  readonly durationMs: number;
  /** Open loop: target calls/s over all connections. Null: closed loop (send again as soon as a reply arrives). */
  readonly rate: number | null;
  /** How an open loop releases calls; ignored in closed loop. */
  readonly pacing: Pacing;
  /** The route's runner plugins, sent once in PrepareConf; empty means pass-through. */
  readonly conf: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  /** PrepareConf key (the gateway's `<type>#<id>#<phase>#<version>`). */
  readonly confKey: string;
  /** Text file with one token per line, sent as `Authorization: Bearer`; null sends no token. */
  readonly tokensFile: string | null;
  /**
   * Index of the first frame to send. Runs against the same runner continue where the
   * last one stopped, so a cold token list is never replayed from its start.
   */
  readonly startCursor: number;
  /** Emit a `progress` line this often during the measured window (soak runs); null for none. */
  readonly progressIntervalMs: number | null;
}

export interface LatencySummary {
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
}

export interface LoadErrors {
  /** Connections that failed, closed or timed out mid-conversation. */
  readonly transport: number;
  /** Error frames (type 0) by RPC error code. */
  readonly errorFrames: Readonly<Record<string, number>>;
  /** Stop actions: the runner refused a request (for valid tokens this is a failure). */
  readonly stopped: number;
  /** Status of the first Stop seen, or null. */
  readonly firstStopStatus: number | null;
  /** Frames of a type that cannot end a request conversation. */
  readonly unexpected: number;
}

/** One line of generator output. */
export type LoadEvent =
  | { readonly event: 'ready'; readonly confToken: number; readonly frames: number; readonly meanFrameBytes: number }
  | { readonly event: 'measuring' }
  | { readonly event: 'progress'; readonly elapsedMs: number; readonly calls: number; readonly errors: number }
  | { readonly event: 'measured' }
  | { readonly event: 'result'; readonly result: LoadResult }
  | { readonly event: 'failed'; readonly message: string };

export interface LoadResult {
  readonly connections: number;
  readonly rate: number | null;
  /** Actual length of the measured window. */
  readonly windowMs: number;
  /** Conversations completed inside the window (including refused ones). */
  readonly calls: number;
  readonly callsPerSecond: number;
  /** Request latency: from writing the request frame to reading the final reply. */
  readonly latency: LatencySummary;
  readonly histogram: HistogramSnapshot;
  readonly errors: LoadErrors;
  /** Total error count (transport + error frames + stops + unexpected) inside the window. */
  readonly errorCount: number;
  readonly extraInfoQuestions: number;
  /** The generator's own CPU per call in the window, to show it is not the bottleneck. */
  readonly generatorCpuUsPerCall: number;
  /** Open loop only: how late sends left against their schedule (p99, µs) and the longest queue of due calls. */
  readonly scheduleLagP99Us: number | null;
  readonly maxBacklog: number | null;
  /** Where the next run should start in the frame list ({@link LoadJob.startCursor}). */
  readonly nextCursor: number;
}
