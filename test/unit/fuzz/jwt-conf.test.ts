/**
 * CI-sized, seeded sample of the jwt-auth conf fuzz target (test/fuzz/conf-target.ts):
 * mutated route confs through schema and prepare, directly and via the registry.
 */
import { expect } from 'chai';
import { confTarget } from '../../fuzz/conf-target.js';

describe('fuzz sample: jwt-auth route confs (seeded)', function () {
  this.timeout(60000);

  it('3000 mutated confs end as invalid JSON, one-line schema faults, a prepared conf or ERR_CONFIG_INVALID — never another exception or a quoted secret', async () => {
    const report = await confTarget.run({ cases: 3000, seed: 505 });
    expect(report.findings, JSON.stringify(report.findings)).to.deep.equal([]);
    for (const outcome of ['prepared', 'schema_rejected', 'config_invalid', 'json_invalid']) {
      expect(report.counters[outcome], outcome).to.be.greaterThan(20);
    }
  });
});
