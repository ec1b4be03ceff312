/**
 * CI-sized, seeded samples of the FlatBuffers decoder fuzz targets (test/fuzz/):
 * mutated and type-confused valid messages on both sides of the wire, decoded under
 * a bounds oracle.
 */
import { expect } from 'chai';
import { gatewayDecodersTarget, runnerDecodersTarget } from '../../fuzz/message-targets.js';

describe('fuzz sample: FlatBuffers message decoders (seeded)', () => {
  it('runner side: 4000 mutated gateway messages decode in bounds or fail PROTOCOL_MALFORMED; unmutated ones round-trip', async () => {
    const report = await runnerDecodersTarget.run({ cases: 4000, seed: 202 });
    expect(report.findings, JSON.stringify(report.findings)).to.deep.equal([]);
    expect(report.counters['round_trip']).to.be.greaterThan(100);
    expect(report.counters['mutated_decoded']).to.be.greaterThan(50);
    expect(report.counters['mutated_malformed']).to.be.greaterThan(500);
    expect(report.counters['confused_malformed']).to.be.greaterThan(50);
  });

  it('gateway side: 4000 mutated runner replies (unions included) decode in bounds or fail PROTOCOL_MALFORMED; unknown types are refused', async () => {
    const report = await gatewayDecodersTarget.run({ cases: 4000, seed: 303 });
    expect(report.findings, JSON.stringify(report.findings)).to.deep.equal([]);
    expect(report.counters['round_trip']).to.be.greaterThan(100);
    expect(report.counters['mutated_decoded']).to.be.greaterThan(50);
    expect(report.counters['mutated_malformed']).to.be.greaterThan(500);
    expect(report.counters['unknown_type_unexpected_type']).to.be.greaterThan(50);
  });
});
