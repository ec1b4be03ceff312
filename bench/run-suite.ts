/**
 * The benchmark suite (`npm run bench`): for each scenario, starts the built runner
 * with a production-like config (and a real redis-server for revocation
 * scenarios), drives it with the load generator several times, samples the runner's
 * CPU time and RSS from /proc, and prints a table of medians.
 *
 * Benchmarks are not tests: nothing here passes or fails on a number.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { pacingOption } from './lib/pacing-option.js';
import { cpuPlan, pinProcess } from './lib/cpu-pinning.js';
import type { CpuPlan } from './lib/cpu-pinning.js';
import type { Pacing } from './lib/load-job.js';
import { BenchRunner, RunnerStartError } from './lib/bench-runner.js';
import { GO_REFERENCE, targetRatio } from './lib/go-reference.js';
import { measureRun } from './lib/measure.js';
import type { RunMeasurement } from './lib/measure.js';
import { RssSampler, processTree } from './lib/proc-stats.js';
import { freeLoopbackPort } from '../bin/lib/redis-server.js';
import { ScenarioEnvironment } from './lib/scenario-env.js';
import { defaultMatrix, filterScenarios, fullMatrix, scenarioConf, withConnections } from './lib/scenarios.js';
import type { Scenario } from './lib/scenarios.js';
import { formatFixed, formatInt, formatMs, markdownTable, median, spreadPercent } from './lib/stats.js';
import { RUNNER_NODE_FLAGS } from '../runner/node-flags.js';

/** Connections used for the half-of-peak latency run (the Go reference's concurrency). */
const HALF_PEAK_CONNECTIONS = 16;

interface SuiteOptions {
  readonly runs: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly scenarios: readonly string[];
  readonly connections: readonly number[] | null;
  readonly full: boolean;
  readonly rate: number | null;
  readonly pacing: Pacing;
  readonly halfPeak: boolean;
  /** `--pin`: where runner and harness run; null leaves it to the scheduler. */
  readonly cpuPlan: CpuPlan | null;
  readonly workers: number | null;
  readonly coldTokens: number;
  readonly logLevel: string;
  readonly metrics: boolean;
  readonly cpuProfDir: string | null;
  /** Node flags for the runner process (the shipped ones unless --no-runner-node-flags, then --node-flags). */
  readonly nodeFlags: readonly string[];
  /** File that receives the runner's output; null discards it. */
  readonly runnerOutput: string | null;
  readonly jsonPath: string | null;
}

interface ScenarioResult {
  readonly scenario: Scenario;
  /** Highest 1-minute load average seen around the scenario: other work on the machine skews every figure. */
  readonly loadAverage: number;
  readonly runs: readonly RunMeasurement[];
  readonly halfPeak: RunMeasurement | null;
  readonly peakRssBytes: number;
  /** Processes in the runner's tree while it ran (1 without workers). */
  readonly processes: number;
  readonly skipped: string | null;
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function parseOptions(argv: readonly string[]): SuiteOptions {
  const program = new Command()
    .name('run-suite')
    .description('apisix-jwt-runner benchmark suite (build first: npm run bench does)')
    .option('--runs <n>', 'measured runs per scenario (median reported)', positiveInt)
    .option('--duration <seconds>', 'measured window of each run', positiveNumber)
    .option('--warmup <seconds>', 'load before each measured window', positiveNumber)
    .option('--scenarios <list>', 'comma-separated scenario names or ids, * allowed (e.g. pass-through,hs256@16,*-rev)')
    .option('--connections <list>', 'run the selected scenarios at these connection counts instead (e.g. 1,16,64)')
    .option('--full', 'every algorithm x token mix x revocation x 1/16/64 connections')
    .option('--quick', 'smoke run: 1 run of 3 s after 1 s warm-up, 12 000 cold tokens')
    .option('--rate <callsPerSecond>', 'open loop at this rate instead of closed loop', positiveNumber)
    .addOption(pacingOption())
    .option('--no-half-peak', 'skip the open-loop run at half of the measured peak (16-connection scenarios)')
    .option('--pin', 'runner alone on CPU 0, generator and redis-server on the other CPUs (taskset)')
    .option('--workers <n>', 'set `workers` in the runner config', positiveInt)
    .option('--cold-tokens <n>', 'distinct tokens minted for the cold mix', positiveInt)
    .option('--log-level <level>', 'runner log level', 'warn')
    .option('--metrics', 'enable the runner metrics endpoint and report the token-cache hit ratio')
    .option('--cpu-prof <dir>', 'run the runner under node --cpu-prof, profiles written to <dir>')
    .option('--runner-output <file>', 'append what the runner process prints to <file>')
    .option('--node-flags <flags>', 'extra node flags for the runner process, space-separated (e.g. "--max-semi-space-size=4")')
    .option('--no-runner-node-flags', 'start the runner without the node flags ext-plugin.cmd ships with (runner/node-flags.ts)')
    .option('--json <file>', 'also write every measurement as JSON to <file>')
    .parse([...argv], { from: 'node' });
  const o = program.opts<{
    runs?: number;
    duration?: number;
    warmup?: number;
    scenarios?: string;
    connections?: string;
    full?: boolean;
    quick?: boolean;
    rate?: number;
    pacing: Pacing;
    halfPeak: boolean;
    pin?: boolean;
    workers?: number;
    coldTokens?: number;
    logLevel: string;
    metrics?: boolean;
    cpuProf?: string;
    nodeFlags?: string;
    runnerNodeFlags: boolean;
    runnerOutput?: string;
    json?: string;
  }>();
  const quick = o.quick === true;
  return {
    runs: o.runs ?? (quick ? 1 : 3),
    durationMs: (o.duration ?? (quick ? 3 : 10)) * 1000,
    warmupMs: (o.warmup ?? (quick ? 1 : 2)) * 1000,
    scenarios: o.scenarios === undefined ? [] : o.scenarios.split(',').filter((t) => t.trim() !== ''),
    connections: o.connections === undefined ? null : o.connections.split(',').map((c) => positiveInt(c.trim())),
    full: o.full === true,
    rate: o.rate ?? null,
    pacing: o.pacing,
    halfPeak: o.halfPeak,
    cpuPlan: o.pin === true ? cpuPlan() : null,
    workers: o.workers ?? null,
    coldTokens: o.coldTokens ?? (quick ? 12_000 : 50_000),
    logLevel: o.logLevel,
    metrics: o.metrics === true,
    cpuProfDir: o.cpuProf ?? null,
    runnerOutput: o.runnerOutput ?? null,
    nodeFlags: [
      ...(o.runnerNodeFlags ? RUNNER_NODE_FLAGS : []),
      ...(o.nodeFlags === undefined ? [] : o.nodeFlags.split(' ').filter((flag) => flag !== '')),
    ],
    jsonPath: o.json ?? null,
  };
}

function selectScenarios(options: SuiteOptions): Scenario[] {
  let list = filterScenarios(options.full ? fullMatrix() : defaultMatrix(), options.scenarios);
  if (list.length === 0 && options.scenarios.length > 0) {
    // A name outside the default set (say rs256-rev): look in the full matrix.
    list = filterScenarios(fullMatrix(), options.scenarios);
  }
  if (options.connections !== null) list = withConnections(list, options.connections);
  return list;
}

async function runScenario(s: Scenario, env: ScenarioEnvironment, options: SuiteOptions): Promise<ScenarioResult> {
  const tokensFile = await env.tokensFileFor(s);
  const conf = scenarioConf(s, s.alg === null ? null : env.keysFor(s.alg));
  const redisUrl = await env.redisUrlFor(s);
  const metricsPort = options.metrics ? await freeLoopbackPort() : null;
  let runner: BenchRunner;
  try {
    runner = await BenchRunner.start({
      logLevel: options.logLevel,
      redisUrl,
      workers: options.workers,
      metricsPort,
      canned: s.bare,
      outputFile: options.runnerOutput,
      nodeFlags: [
        ...options.nodeFlags,
        ...(options.cpuProfDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`, `--cpu-prof-name=${s.id}.cpuprofile`]),
      ],
    });
  } catch (err) {
    if (err instanceof RunnerStartError && options.workers !== null && /workers/i.test(err.output)) {
      const reason = `runner rejected workers=${options.workers}`;
      log(`${s.id}: skipped, ${reason}`);
      return { scenario: s, loadAverage: loadavg()[0] ?? 0, runs: [], halfPeak: null, peakRssBytes: 0, processes: 0, skipped: reason };
    }
    throw err;
  }
  if (options.cpuPlan !== null) {
    for (const pid of processTree(runner.pid)) pinProcess(pid, options.cpuPlan.runner);
    const redisPid = await env.redisPid();
    if (redisPid !== null) pinProcess(redisPid, options.cpuPlan.harness);
  }
  const rss = new RssSampler(runner.pid);
  let loadAverage = loadavg()[0] ?? 0;
  const runs: RunMeasurement[] = [];
  let halfPeak: RunMeasurement | null = null;
  let processes = 1;
  const generatorCpus = options.cpuPlan?.harness ?? null;
  try {
    let cursor = 0;
    // One route revision per scenario: a gateway sends the same key for the same revision
    // and the runner hands back the same conf token, so the runs after the first find the
    // verified-token cache as a gateway's steady traffic does. A new key per run was a
    // route update before every run: each left a conf's cache results behind.
    const confKey = `route#1#ext-plugin-pre-req#${Date.now()}`;
    const job = (rate: number | null) => ({
      connections: s.connections,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      rate,
      pacing: options.pacing,
      conf,
      confKey,
      tokensFile,
      startCursor: cursor,
      progressIntervalMs: null,
    });
    for (let i = 1; i <= options.runs; i++) {
      const run = await measureRun({ runner, job: job(options.rate), workDir: env.dir, name: `${s.id}-${i}`, metricsPort, generatorCpus });
      cursor = run.load.nextCursor;
      processes = Math.max(processes, processTree(runner.pid).length);
      loadAverage = Math.max(loadAverage, loadavg()[0] ?? 0);
      runs.push(run);
      log(`${s.id} run ${i}/${options.runs}: ${describeRun(run)}`);
    }
    if (options.halfPeak && options.rate === null && s.connections === HALF_PEAK_CONNECTIONS) {
      const rate = Math.max(1, Math.floor(median(runs.map((r) => r.load.callsPerSecond)) / 2));
      halfPeak = await measureRun({ runner, job: job(rate), workDir: env.dir, name: `${s.id}-half`, metricsPort, generatorCpus });
      log(`${s.id} at half of peak (${rate}/s): ${describeRun(halfPeak)}`);
    }
  } finally {
    rss.stop();
    await runner.stop();
  }
  if (options.workers !== null && options.workers > 1 && processes < 2) {
    log(`${s.id}: workers=${options.workers} was accepted but the runner ran as a single process`);
  }
  return { scenario: s, loadAverage, runs, halfPeak, peakRssBytes: rss.peakBytes, processes, skipped: null };
}

function describeRun(run: RunMeasurement): string {
  const l = run.load;
  const parts = [
    `${formatInt(l.callsPerSecond)} calls/s`,
    `p50 ${formatMs(l.latency.p50Us)} ms`,
    `p99 ${formatMs(l.latency.p99Us)} ms`,
    `runner ${formatFixed(run.runnerCpuUsPerCall, 1)} µs/call (${formatFixed(run.runnerCores, 2)} cores)`,
    `gen ${formatFixed(l.generatorCpuUsPerCall, 1)} µs/call`,
  ];
  if (l.errorCount > 0) parts.push(`ERRORS ${l.errorCount} ${JSON.stringify(l.errors)}`);
  if (l.extraInfoQuestions > 0) parts.push(`${l.extraInfoQuestions} ExtraInfo`);
  if (run.cacheHitRatio !== null) parts.push(`cache hits ${formatFixed(run.cacheHitRatio * 100, 1)} %`);
  if (run.revocationRemoteRatio !== null) parts.push(`revocation lookups waiting for Redis ${formatFixed(run.revocationRemoteRatio * 100, 2)} %`);
  if (l.scheduleLagP99Us !== null) parts.push(`send lag p99 ${formatMs(l.scheduleLagP99Us)} ms, backlog max ${l.maxBacklog}`);
  return parts.join(', ');
}

/** The summary table: medians over runs, peak RSS over the scenario, and the Go reference where there is one. */
function summaryTable(results: readonly ScenarioResult[], options: SuiteOptions): string {
  const headers = [
    'scenario',
    'conns',
    'calls/s',
    'spread',
    'p50 ms',
    'p99 ms',
    'p99 @½ peak ms',
    'runner CPU µs/call',
    'peak RSS MiB',
    'errors',
    'gen CPU µs/call',
    'vs Go calls/s (target)',
    'Go CPU / ours',
    'load avg',
  ];
  if (options.metrics) headers.push('cache hit %');
  const rows = results.map((r) => {
    const s = r.scenario;
    if (r.skipped !== null) return [s.label, String(s.connections), `skipped: ${r.skipped}`, ...headers.slice(3).map(() => '')];
    const calls = r.runs.map((x) => x.load.callsPerSecond);
    const cpu = median(r.runs.map((x) => x.runnerCpuUsPerCall));
    const go = GO_REFERENCE[s.id];
    const row = [
      s.label,
      String(s.connections),
      formatInt(median(calls)),
      `${formatFixed(spreadPercent(calls), 0)} %`,
      formatMs(median(r.runs.map((x) => x.load.latency.p50Us))),
      formatMs(median(r.runs.map((x) => x.load.latency.p99Us))),
      r.halfPeak === null ? '-' : formatMs(r.halfPeak.load.latency.p99Us),
      formatFixed(cpu, 1),
      formatFixed(r.peakRssBytes / 1048576, 1),
      formatInt(r.runs.reduce((sum, x) => sum + x.load.errorCount, 0) + (r.halfPeak?.load.errorCount ?? 0)),
      formatFixed(median(r.runs.map((x) => x.load.generatorCpuUsPerCall)), 1),
      go === undefined ? '-' : `${formatFixed(median(calls) / go.callsPerSecond, 2)}x (${formatFixed(targetRatio(s.id), 1)}x)`,
      go === undefined ? '-' : `${formatFixed(go.cpuUsPerCall / cpu, 2)}x`,
      formatFixed(r.loadAverage, 1),
    ];
    if (options.metrics) {
      const ratios = r.runs.map((x) => x.cacheHitRatio).filter((x): x is number => x !== null);
      row.push(ratios.length === 0 ? '-' : formatFixed(median(ratios) * 100, 1));
    }
    return row;
  });
  return markdownTable(headers, rows, headers.map((_, i) => i >= 1));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const scenarios = selectScenarios(options);
  if (scenarios.length === 0) throw new Error(`no scenario matches ${options.scenarios.join(',')}`);
  log(
    `${scenarios.length} scenarios x ${options.runs} runs of ${options.durationMs / 1000} s (+${options.warmupMs / 1000} s warm-up)` +
      `${options.rate === null ? ', closed loop' : `, open loop at ${options.rate}/s`}, ${options.pacing} pacing: ${scenarios.map((s) => s.id).join(' ')}`,
  );
  log(`machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const env = new ScenarioEnvironment(options.coldTokens, log);
  const results: ScenarioResult[] = [];
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    log('interrupted: finishing the current scenario, then printing what was measured');
  };
  process.once('SIGINT', onSignal);
  try {
    for (const s of scenarios) {
      if (interrupted) break;
      results.push(await runScenario(s, env, options));
    }
  } finally {
    await env.close();
    process.off('SIGINT', onSignal);
  }
  const table = summaryTable(results, options);
  process.stdout.write(
    `\n${table}\n\nmedians of ${options.runs} run(s); calls/s spread = (max-min)/median; p99 @½ peak = open loop at half the median calls/s, ` +
      `${HALF_PEAK_CONNECTIONS} connections, ${options.pacing} pacing${options.cpuPlan === null ? '' : `; runner pinned to CPU ${options.cpuPlan.runner}, generator and Redis to ${options.cpuPlan.harness}`}; CPU and RSS cover every process of the runner.\n`,
  );
  if (options.jsonPath !== null) {
    writeFileSync(options.jsonPath, JSON.stringify({ options, results: results.map(stripHistograms) }, null, 2));
    log(`measurements written to ${options.jsonPath}`);
  }
}

/** The JSON dump keeps percentiles, not whole bucket arrays. */
function stripHistograms(result: ScenarioResult): unknown {
  const strip = (run: RunMeasurement) => ({ ...run, load: { ...run.load, histogram: undefined } });
  return { ...result, runs: result.runs.map(strip), halfPeak: result.halfPeak === null ? null : strip(result.halfPeak) };
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
