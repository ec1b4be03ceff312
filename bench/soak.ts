/**
 * Soak run (`npm run bench:soak`): finds the peak of one scenario with a short
 * closed-loop run, then holds half of that rate (open loop) for `--minutes`
 * (default 10), printing the runner's RSS and open file descriptors every 10 s and
 * a verdict on whether both stayed flat.
 */
import { Command, InvalidArgumentError } from 'commander';
import { pacingOption } from './lib/pacing-option.js';
import type { Pacing } from './lib/load-job.js';
import { BenchRunner } from './lib/bench-runner.js';
import { measureRun } from './lib/measure.js';
import { openFdCount, processTree, rssBytes } from './lib/proc-stats.js';
import { ScenarioEnvironment } from './lib/scenario-env.js';
import { filterScenarios, fullMatrix, scenarioConf } from './lib/scenarios.js';
import { formatFixed, formatInt, markdownTable, median } from './lib/stats.js';
import { RUNNER_NODE_FLAGS } from '../runner/node-flags.js';

const SAMPLE_INTERVAL_MS = 10_000;
const PEAK_RUN_MS = 10_000;
const WARMUP_MS = 2_000;
/** RSS may move this much between the first and last third before we call it growth. */
const RSS_FLAT_TOLERANCE = 0.1;
const RSS_FLAT_TOLERANCE_BYTES = 4 * 1048576;

interface Sample {
  readonly elapsedS: number;
  readonly calls: number;
  readonly callsPerSecond: number;
  readonly rssBytes: number;
  readonly fds: number;
}

function log(line: string): void {
  process.stderr.write(`[soak] ${line}\n`);
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Compares the first and last third of the samples (the very first sample is warm-up and left out). */
function verdict(samples: readonly Sample[]): { flat: boolean; lines: string[] } {
  const steady = samples.slice(1);
  const third = Math.max(1, Math.floor(steady.length / 3));
  const early = median(steady.slice(0, third).map((s) => s.rssBytes));
  const late = median(steady.slice(-third).map((s) => s.rssBytes));
  const growth = late - early;
  const rssFlat = growth <= Math.max(early * RSS_FLAT_TOLERANCE, RSS_FLAT_TOLERANCE_BYTES);
  const fds = steady.map((s) => s.fds);
  const fdFlat = fds.length === 0 || Math.max(...fds) - Math.min(...fds) <= 2;
  const perMinute = slope(
    steady.map((s) => s.elapsedS / 60),
    steady.map((s) => s.rssBytes / 1048576),
  );
  return {
    flat: rssFlat && fdFlat,
    lines: [
      `RSS: first third median ${formatFixed(early / 1048576, 1)} MiB, last third ${formatFixed(late / 1048576, 1)} MiB ` +
        `(${growth >= 0 ? '+' : ''}${formatFixed(growth / 1048576, 1)} MiB, trend ${formatFixed(perMinute, 2)} MiB/min) -> ${rssFlat ? 'flat' : 'GROWING'}`,
      `open fds: min ${Math.min(...fds)}, max ${Math.max(...fds)} -> ${fdFlat ? 'flat' : 'CHANGING'}`,
    ],
  };
}

async function main(): Promise<void> {
  const o = new Command()
    .name('soak')
    .option('--minutes <n>', 'length of the soak window', positiveNumber, 10)
    .option('--scenario <id>', 'scenario to soak (see run-suite --scenarios)', 'hs256-cold-rev@16')
    .option('--rate <callsPerSecond>', 'fixed rate instead of half of the measured peak', positiveNumber)
    .option('--cold-tokens <n>', 'distinct tokens for a cold scenario', positiveNumber, 50_000)
    .addOption(pacingOption())
    .parse(process.argv)
    .opts<{ minutes: number; scenario: string; rate?: number; coldTokens: number; pacing: Pacing }>();
  const [scenario] = filterScenarios(fullMatrix(), [o.scenario]);
  if (scenario === undefined) throw new Error(`unknown scenario ${o.scenario}`);
  const env = new ScenarioEnvironment(Math.round(o.coldTokens), log);
  try {
    const tokensFile = await env.tokensFileFor(scenario);
    const conf = scenarioConf(scenario, scenario.alg === null ? null : env.keysFor(scenario.alg));
    const runner = await BenchRunner.start({
      logLevel: 'warn',
      redisUrl: await env.redisUrlFor(scenario),
      workers: null,
      metricsPort: null,
      nodeFlags: RUNNER_NODE_FLAGS,
    });
    try {
      const base = {
        connections: scenario.connections,
        conf,
        confKey: `route#1#ext-plugin-pre-req#${Date.now()}`,
        tokensFile,
        warmupMs: WARMUP_MS,
        pacing: o.pacing,
      };
      let rate = o.rate ?? null;
      let cursor = 0;
      if (rate === null) {
        const peak = await measureRun({
          runner,
          job: { ...base, durationMs: PEAK_RUN_MS, rate: null, startCursor: 0, progressIntervalMs: null },
          workDir: env.dir,
          name: 'soak-peak',
          metricsPort: null,
        });
        cursor = peak.load.nextCursor;
        rate = Math.max(1, Math.floor(peak.load.callsPerSecond / 2));
        log(`${scenario.id}: peak ${formatInt(peak.load.callsPerSecond)} calls/s, soaking at ${formatInt(rate)} calls/s for ${o.minutes} min`);
      }
      const samples: Sample[] = [];
      let lastCalls = 0;
      let lastElapsed = 0;
      const take = (elapsedMs: number, calls: number): void => {
        const tree = processTree(runner.pid);
        const interval = (elapsedMs - lastElapsed) / 1000;
        const sample: Sample = {
          elapsedS: Math.round(elapsedMs / 1000),
          calls,
          callsPerSecond: interval > 0 ? (calls - lastCalls) / interval : 0,
          rssBytes: rssBytes(tree),
          fds: openFdCount(tree),
        };
        lastCalls = calls;
        lastElapsed = elapsedMs;
        samples.push(sample);
        log(`t=${sample.elapsedS}s calls/s ${formatInt(sample.callsPerSecond)} RSS ${formatFixed(sample.rssBytes / 1048576, 1)} MiB fds ${sample.fds}`);
      };
      const soak = await measureRun({
        runner,
        job: { ...base, durationMs: Math.round(o.minutes * 60_000), rate, startCursor: cursor, progressIntervalMs: SAMPLE_INTERVAL_MS },
        workDir: env.dir,
        name: 'soak',
        metricsPort: null,
        onProgress: (event) => take(event.elapsedMs, event.calls),
      });
      const result = verdict(samples);
      const table = markdownTable(
        ['t (s)', 'calls/s', 'RSS MiB', 'open fds'],
        samples.map((s) => [String(s.elapsedS), formatInt(s.callsPerSecond), formatFixed(s.rssBytes / 1048576, 1), String(s.fds)]),
        [true, true, true, true],
      );
      const l = soak.load;
      process.stdout.write(
        `\nsoak ${scenario.id} at ${formatInt(rate)} calls/s (${o.pacing} pacing) for ${o.minutes} min: ${formatInt(l.calls)} calls, ` +
          `${l.errorCount} errors${l.errorCount > 0 ? ` ${JSON.stringify(l.errors)}` : ''}, ` +
          `p50 ${formatFixed(l.latency.p50Us / 1000, 3)} ms, p99 ${formatFixed(l.latency.p99Us / 1000, 3)} ms, ` +
          `runner CPU ${formatFixed(soak.runnerCpuUsPerCall, 1)} µs/call\n\n${table}\n\n${result.lines.join('\n')}\n` +
          `verdict: ${result.flat ? 'FLAT' : 'NOT FLAT'}\n`,
      );
    } finally {
      await runner.stop();
    }
  } finally {
    await env.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[soak] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
