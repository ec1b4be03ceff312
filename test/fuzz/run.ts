/**
 * `npm run fuzz`: runs every fuzz target (or the ones named) for the long count —
 * one million cases per pure target, 100 000 for the process-level wire target by
 * default — and reports counts, time, outcome counters and findings.
 *
 *   node dist/test/fuzz/run.js [--cases N] [--seed N|random] [--target NAME[,NAME]] [--json FILE]
 *
 * The same seed and case count replay the same inputs. Exit status 1 when any
 * target has a finding (each finding is printed with its counterexample and the
 * fast-check replay path), 2 on a usage error.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { FuzzReport, FuzzTarget } from './fuzz-target.js';
import { FUZZ_TARGETS } from './targets.js';

const DEFAULT_SEED = 6006;

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: node dist/test/fuzz/run.js [--cases N] [--seed N|random] [--target ${FUZZ_TARGETS.map((t) => t.name).join('|')}[,...]] [--json FILE]\n`);
  process.exit(2);
}

function positiveInteger(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) usage(`${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseSeed(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SEED;
  if (text === 'random') return Math.floor(Math.random() * 0x7fffffff);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) usage(`--seed must be an integer or "random", got ${JSON.stringify(text)}`);
  return Number(text);
}

function selectTargets(names: readonly string[]): FuzzTarget[] {
  if (names.length === 0) return [...FUZZ_TARGETS];
  return names.flatMap((list) => list.split(',')).map((name) => {
    const target = FUZZ_TARGETS.find((t) => t.name === name.trim());
    if (target === undefined) usage(`unknown target ${JSON.stringify(name)}`);
    return target;
  });
}

function formatDuration(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}

function printReport(target: FuzzTarget, report: FuzzReport): void {
  const rate = report.cases / Math.max(report.elapsedMs / 1000, 1e-9);
  const lines = [
    `== ${target.name} (${target.kind}): ${target.description}`,
    `   cases ${report.cases.toLocaleString('en-US')}  time ${formatDuration(report.elapsedMs)}  rate ${Math.round(rate).toLocaleString('en-US')}/s  seed ${report.seed}  findings ${report.findings.length}`,
    `   outcomes ${JSON.stringify(report.counters)}`,
  ];
  if (Object.keys(report.measurements).length > 0) lines.push(`   measurements ${JSON.stringify(report.measurements)}`);
  for (const finding of report.findings) {
    lines.push(`   FINDING: ${finding.message}`, `     counterexample: ${finding.counterexample}`);
    if (finding.path !== null) lines.push(`     replay: --seed ${report.seed} with fast-check path ${JSON.stringify(finding.path)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        cases: { type: 'string' },
        seed: { type: 'string' },
        target: { type: 'string', multiple: true },
        json: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    usage(err instanceof Error ? err.message : String(err));
  }
  const { values } = parsed;
  const cases = values.cases === undefined ? null : positiveInteger('--cases', values.cases);
  const seed = parseSeed(values.seed);
  const targets = selectTargets(values.target ?? []);

  const started = performance.now();
  const reports: FuzzReport[] = [];
  process.stdout.write(`fuzzing ${targets.length} target(s), seed ${seed}, node ${process.version}\n`);
  for (const target of targets) {
    const report = await target.run({ cases: cases ?? target.defaultCases, seed });
    reports.push(report);
    printReport(target, report);
  }
  const findings = reports.reduce((n, r) => n + r.findings.length, 0);
  const total = reports.reduce((n, r) => n + r.cases, 0);
  process.stdout.write(`total: ${total.toLocaleString('en-US')} cases in ${formatDuration(performance.now() - started)}, ${findings} finding(s)\n`);
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify({ seed, node: process.version, reports }, null, 2)}\n`);
  process.exitCode = findings > 0 ? 1 : 0;
}

await main();
