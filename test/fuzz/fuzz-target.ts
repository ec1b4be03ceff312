/**
 * The shape every fuzz target shares, so the same code runs as a seeded, CI-sized
 * sample inside mocha (test/unit/fuzz/) and as the long run behind `npm run fuzz`
 * (test/fuzz/run.ts). A target draws inputs from a fast-check arbitrary and checks a
 * property on each; a violated property throws {@link PropertyViolation}, which
 * fast-check shrinks to a small counterexample and reports with the seed and path
 * that replay it.
 */
import fc from 'fast-check';

/** How one run of a target is sized and seeded. */
export interface FuzzOptions {
  /** Number of generated cases. */
  readonly cases: number;
  /** fast-check seed; the same seed and case count replay the same inputs. */
  readonly seed: number;
}

/** A property violation, shrunk by fast-check. */
export interface FuzzFinding {
  /** What the property said (the violation's message). */
  readonly message: string;
  /** The shrunk input, printed by fast-check. */
  readonly counterexample: string;
  /** fast-check replay path (`fc.assert(..., { seed, path })`). */
  readonly path: string | null;
}

/** What one run of a target reports. */
export interface FuzzReport {
  readonly target: string;
  readonly seed: number;
  /** Cases executed (including the failing one when there is a finding). */
  readonly cases: number;
  readonly elapsedMs: number;
  readonly findings: readonly FuzzFinding[];
  /**
   * Outcome counts (for instance `decoded` / `malformed`), so a run shows it reached
   * both sides of each property rather than bouncing off the first check.
   */
  readonly counters: Readonly<Record<string, number>>;
  /** Target-specific measurements (RSS, latencies); empty for pure targets. */
  readonly measurements: Readonly<Record<string, number>>;
}

/** A named fuzz target. */
export interface FuzzTarget {
  readonly name: string;
  /** One line for the run report and docs/security.md. */
  readonly description: string;
  /** Cases `npm run fuzz` runs when `--cases` is not given. */
  readonly defaultCases: number;
  /** Whether the target is pure (in-process) or drives a child process. */
  readonly kind: 'pure' | 'process';
  run(options: FuzzOptions): Promise<FuzzReport>;
}

/** Thrown by a property when the code under test broke it. */
export class PropertyViolation extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PropertyViolation';
  }
}

/** Outcome counters of one run. */
export class Counters {
  readonly #counts = new Map<string, number>();

  bump(name: string, by = 1): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.#counts.get(name) ?? 0;
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries([...this.#counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/**
 * Runs `check` on `cases` inputs drawn from `arbitrary` and turns fast-check's run
 * details into a {@link FuzzReport}. Shrinking is on: a finding comes back small.
 */
export async function runProperty<T>(
  target: string,
  arbitrary: fc.Arbitrary<T>,
  check: (input: T) => void | Promise<void>,
  options: FuzzOptions,
  counters: Counters,
  measurements: () => Record<string, number> = () => ({}),
): Promise<FuzzReport> {
  const started = performance.now();
  let executed = 0;
  const counted = (input: T): void | Promise<void> => {
    executed++;
    return check(input);
  };
  const property = fc.asyncProperty(arbitrary, async (input) => counted(input));
  const details = await fc.check(property, { seed: options.seed, numRuns: options.cases, endOnFailure: false });
  return toReport(target, options, details, { started, executed, counters, measurements: measurements() });
}

/**
 * Runs a synchronous property without a promise per case (the pure decoders do
 * millions of cases; an async wrapper would double their cost).
 */
export function runSyncProperty<T>(
  target: string,
  arbitrary: fc.Arbitrary<T>,
  check: (input: T) => void,
  options: FuzzOptions,
  counters: Counters,
): FuzzReport {
  const started = performance.now();
  let executed = 0;
  const property = fc.property(arbitrary, (input) => {
    executed++;
    check(input);
  });
  const details = fc.check(property, { seed: options.seed, numRuns: options.cases, endOnFailure: false });
  return toReport(target, options, details, { started, executed, counters, measurements: {} });
}

/** A fast-check run as a {@link FuzzReport}: the failure (already shrunk), if any, becomes the finding. */
function toReport<T>(
  target: string,
  options: FuzzOptions,
  details: fc.RunDetails<T>,
  run: { readonly started: number; readonly executed: number; readonly counters: Counters; readonly measurements: Record<string, number> },
): FuzzReport {
  const findings: FuzzFinding[] = [];
  if (details.failed) {
    findings.push({
      message: describeError(details.errorInstance),
      counterexample: fc.stringify(details.counterexample),
      path: details.counterexamplePath,
    });
  }
  return {
    target,
    seed: options.seed,
    cases: Math.min(run.executed, options.cases),
    elapsedMs: performance.now() - run.started,
    findings,
    counters: run.counters.toRecord(),
    measurements: run.measurements,
  };
}

function describeError(error: unknown): string {
  if (error instanceof PropertyViolation) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Stable description of a thrown value for violation messages (class and code, never a stack). */
export function errorLabel(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.name}(${code}): ${err.message}` : `${err.name}: ${err.message}`;
  }
  return typeof err;
}
