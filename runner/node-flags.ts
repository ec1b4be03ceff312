/**
 * Node flags the runner process should be started with (`ext-plugin.cmd` in
 * APISIX's config.yaml puts them between `node` and the script). V8 flags of this
 * kind cannot be changed once the process runs (`v8.setFlagsFromString` with a GC
 * flag aborts at the next collection), so they have to be on the command line.
 * Figures: docs/benchmarks.md.
 *
 * - `--single-threaded-gc`: V8's parallel scavenges wake four helper threads for
 *   every young-generation collection, dozens of times a second under load; on a
 *   small gateway host those wake-ups cost more CPU than they save (HS256: 17 % less
 *   CPU per call, 7 % more calls/s).
 * - `--max-semi-space-size=4` (MiB): the young generation otherwise grows to 32 MiB
 *   under load, although what survives a call is a few KiB; capped, peak RSS drops by
 *   5-25 MiB (more with revocation on) at no measurable CPU cost. Smaller caps promote
 *   more and cost CPU.
 * - `--v8-pool-size=1`: V8's background threads (concurrent compilation) default to
 *   four, and each keeps its own malloc arena of freed compiler memory; one thread
 *   leaves 2-4 MiB less RSS at no measurable CPU cost (compilation settles in the
 *   first seconds).
 * - `--no-allocation-site-pretenuring`: when most objects from one allocation site
 *   survive a scavenge, V8 starts allocating that site's objects straight in the old
 *   generation. Revocation lookups waiting on Redis outlive a scavenge often enough
 *   under load to trip it, and from then on every lookup's objects are old-generation
 *   garbage at the request rate (cold tokens with revocation: peak RSS 81-86 → 72 MiB,
 *   CPU unchanged; no change elsewhere).
 */
export const RUNNER_NODE_FLAGS: readonly string[] = Object.freeze([
  '--single-threaded-gc',
  '--max-semi-space-size=4',
  '--v8-pool-size=1',
  '--no-allocation-site-pretenuring',
]);

/** The recommended flags this process was started without (checked once at start-up). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return RUNNER_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
