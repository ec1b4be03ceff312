import { expect } from 'chai';
import { defaultMatrix, filterScenarios, fullMatrix, scenarioConf, withConnections } from '../lib/scenarios.js';
import type { BenchKeys } from '../lib/tokens.js';

describe('bench scenarios', () => {
  it('the default set covers pass-through and HS256 at 1/16/64 and every algorithm at 16', () => {
    const ids = defaultMatrix().map((s) => s.id);
    for (const id of ['bare-socket@16', 'pass-through@1', 'pass-through@16', 'pass-through@64', 'hs256@1', 'hs256@64', 'hs256-cold@16', 'hs256-rev@16', 'hs256-cold-rev@16', 'rs256-cold@16', 'es256@16', 'eddsa-cold@16']) {
      expect(ids).to.include(id);
    }
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('the full matrix is every combination', () => {
    // (bare socket + pass-through + 4 algorithms x warm/cold x revocation off/on) x 3 connection counts
    expect(fullMatrix()).to.have.length((2 + 4 * 2 * 2) * 3);
  });

  it('filters by name, id and pattern, and re-targets connection counts', () => {
    const all = fullMatrix();
    expect(filterScenarios(all, ['hs256@64']).map((s) => s.id)).to.deep.equal(['hs256@64']);
    expect(filterScenarios(all, ['es256-cold'])).to.have.length(3);
    expect(filterScenarios(all, ['*-rev']).every((s) => s.revocation)).to.equal(true);
    expect(withConnections(filterScenarios(all, ['pass-through@1']), [2, 8]).map((s) => s.id)).to.deep.equal(['pass-through@2', 'pass-through@8']);
  });

  it('builds a jwt-auth conf with the scenario algorithm and revocation flag', () => {
    const [s] = filterScenarios(fullMatrix(), ['rs256-rev@16']);
    const keys: BenchKeys = { alg: 'RS256', signingKey: 'x', confKey: { public_key: 'PEM' } };
    const [entry] = scenarioConf(s!, keys);
    expect(entry!.name).to.equal('jwt-auth');
    expect(JSON.parse(entry!.value)).to.include({ public_key: 'PEM' }).and.to.deep.include({ algorithms: ['RS256'], revocation: { enabled: true } });
    const [pass] = filterScenarios(fullMatrix(), ['pass-through@16']);
    expect(scenarioConf(pass!, null)).to.deep.equal([]);
  });
});
