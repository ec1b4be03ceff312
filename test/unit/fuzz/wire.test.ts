/**
 * CI-sized, seeded sample of the end-to-end wire fuzz (test/fuzz/wire-target.ts):
 * mutated and random frames against the built runner child process over its real
 * socket, with health calls in between, RSS measured from /proc and a clean SIGTERM.
 */
import { expect } from 'chai';
import { runWireFuzz } from '../../fuzz/wire-target.js';

describe('fuzz sample: wire to the built runner process (seeded)', function () {
  this.timeout(120000);

  it('1500 fuzzed connections: the process lives, every frame it sends is well-formed, health calls keep working, RSS stays bounded, SIGTERM exits 0', async () => {
    const report = await runWireFuzz({ cases: 1500, seed: 606, concurrency: 16, checkpointEvery: 250, rssGrowthLimitMb: 64 });
    expect(report.findings, JSON.stringify(report.findings)).to.deep.equal([]);
    expect(report.cases).to.equal(1500);
    expect(report.counters['error_reply']).to.be.greaterThan(100);
    expect(report.counters['reply_type_2']).to.be.greaterThan(50);
    expect(report.counters['extra_info_questions']).to.be.greaterThan(5);
    expect(report.counters['stream_complete']).to.be.greaterThan(100);
    expect(report.measurements['rss_end_kb']).to.be.greaterThan(0);
    expect(report.measurements['sigterm_exit_ms']).to.be.lessThan(1000);
  });
});
