/**
 * Node flags the runner process should be started with (`ext-plugin.cmd` in
 * APISIX's config.yaml puts them between `node` and the script).
 *
 * `--single-threaded-gc`: V8's parallel scavenges wake four helper threads for
 * every young-generation collection, a few dozen times a second under load; on a
 * small gateway host those wake-ups cost more CPU than they save. With the flag the
 * runner measured 17 % less CPU per HS256 call and 7 % more calls/s
 * (docs/benchmarks.md). V8 flags of this kind cannot be changed once the process
 * runs, so they have to be on the command line.
 */
export const RUNNER_NODE_FLAGS: readonly string[] = Object.freeze(['--single-threaded-gc']);

/** The recommended flags this process was started without (checked once at start-up). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return RUNNER_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
