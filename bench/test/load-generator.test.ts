import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchRunner } from '../lib/bench-runner.js';
import { PACINGS } from '../lib/load-job.js';
import type { LoadJob } from '../lib/load-job.js';
import { measureRun } from '../lib/measure.js';
import { jobFile, runLoad } from '../lib/run-load.js';
import { filterScenarios, fullMatrix, scenarioConf } from '../lib/scenarios.js';
import { generateBenchKeys, mintTokens } from '../lib/tokens.js';

describe('bench load generator against the built runner', function () {
  this.timeout(30_000);
  let runner: BenchRunner;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
    runner = await BenchRunner.start({ logLevel: 'warn', redisUrl: null, workers: null, metricsPort: null, nodeFlags: [] });
  });

  after(async () => {
    await runner.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // A new key per job, as the gateway sends for a changed route: the runner returns the cached token for a known key.
  let version = 0;
  const job = (overrides: Partial<LoadJob>): LoadJob => ({
    socketPath: runner.socketPath,
    connections: 2,
    warmupMs: 200,
    durationMs: 800,
    rate: null,
    pacing: 'even',
    conf: [],
    confKey: `route#1#ext-plugin-pre-req#${++version}`,
    tokensFile: null,
    startCursor: 0,
    progressIntervalMs: null,
    ...overrides,
  });

  it('drives pass-through calls in a closed loop and measures the runner CPU', async () => {
    const run = await measureRun({ runner, job: job({}), workDir: dir, name: 'pass', metricsPort: null });
    expect(run.load.calls).to.be.greaterThan(100);
    expect(run.load.errorCount).to.equal(0);
    expect(run.load.latency.p50Us).to.be.greaterThan(0);
    expect(run.load.latency.p99Us).to.be.at.least(run.load.latency.p50Us);
    expect(run.runnerCpuUsPerCall).to.be.greaterThan(0);
    expect(run.load.nextCursor).to.be.within(0, 63);
  });

  for (const pacing of PACINGS) {
    it(`holds an open-loop rate with ${pacing} pacing`, async () => {
      const result = await runLoad(job({ rate: 400, durationMs: 1000, pacing }), jobFile(dir, `open-${pacing}`));
      expect(result.calls).to.be.within(300, 500);
      expect(result.scheduleLagP99Us).to.be.a('number');
    });
  }

  it('counts valid tokens as passed and tokens with a foreign signature as refused', async () => {
    const [scenario] = filterScenarios(fullMatrix(), ['hs256@16']);
    const keys = generateBenchKeys('HS256');
    const conf = scenarioConf(scenario!, keys);
    const issuedAt = Math.floor(Date.now() / 1000);
    const good = join(dir, 'good.tokens');
    writeFileSync(good, (await mintTokens(keys, { jtiPrefix: 'g-', start: 0, count: 20, issuedAt })).join('\n'));
    const ok = await runLoad(job({ conf, tokensFile: good }), jobFile(dir, 'good'));
    expect(ok.calls).to.be.greaterThan(50);
    expect(ok.errorCount).to.equal(0);
    const missing = await runLoad(job({ conf, tokensFile: null, durationMs: 300 }), jobFile(dir, 'missing'));
    expect(missing.errors.stopped).to.equal(missing.calls).and.to.be.greaterThan(0);

    const bad = join(dir, 'bad.tokens');
    writeFileSync(bad, (await mintTokens(generateBenchKeys('HS256'), { jtiPrefix: 'b-', start: 0, count: 20, issuedAt })).join('\n'));
    const refused = await runLoad(job({ conf, tokensFile: bad }), jobFile(dir, 'bad'));
    expect(refused.errors.stopped).to.equal(refused.calls).and.to.be.greaterThan(0);
    expect(refused.errors.firstStopStatus).to.equal(401);
  });
});
