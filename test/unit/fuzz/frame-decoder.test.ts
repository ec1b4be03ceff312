/**
 * CI-sized, seeded sample of the frame-decoder fuzz target (test/fuzz/): the same
 * property `npm run fuzz` checks a million times, here on a few thousand cases.
 */
import { expect } from 'chai';
import { frameDecoderTarget } from '../../fuzz/frame-decoder-target.js';

describe('fuzz sample: frame decoder (seeded)', () => {
  it('5000 random streams split at random offsets decode exactly like the reference parser, oversized headers refused in the right push', async () => {
    const report = await frameDecoderTarget.run({ cases: 5000, seed: 101 });
    expect(report.findings, JSON.stringify(report.findings)).to.deep.equal([]);
    expect(report.cases).to.equal(5000);
    expect(report.counters['frames_total']).to.be.greaterThan(1000);
    expect(report.counters['oversized_refused']).to.be.greaterThan(100);
  });
});
