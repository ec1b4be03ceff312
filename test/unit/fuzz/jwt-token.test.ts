/**
 * CI-sized, seeded sample of the jwt-auth token fuzz target (test/fuzz/token-target.ts):
 * mutated validly signed tokens through the plugin's onRequest with a warm cache.
 */
import { expect } from 'chai';
import { tokenTarget } from '../../fuzz/token-target.js';

describe('fuzz sample: jwt-auth tokens (seeded)', function () {
  this.timeout(60000);

  it('3000 mutated tokens: only byte-identical validly signed tokens pass, everything else is a 400/401/403 that does not echo the token, nothing throws', async () => {
    const report = await tokenTarget.run({ cases: 3000, seed: 404 });
    expect(report.findings, JSON.stringify(report.findings)).to.deep.equal([]);
    expect(report.counters['pass_unmutated']).to.be.greaterThan(50);
    expect(report.counters['stop_401']).to.be.greaterThan(1000);
    expect(report.counters['stop_400']).to.be.greaterThan(0);
  });
});
