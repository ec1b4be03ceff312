import { expect } from 'chai';
import { bearer, HS512_SECRET, JwtHarness, mint, NOW_S, testKeys, type TestKeyPair } from '../../support/jwt-kit.js';

describe('jwt-auth accepts tokens minted by hand with node:crypto for every algorithm', () => {
  let harness: JwtHarness;
  before(() => {
    harness = new JwtHarness();
  });
  after(() => harness.close());

  const asymmetric: Array<[string, () => TestKeyPair]> = [
    ['RS256', testKeys.rsa],
    ['RS384', testKeys.rsa],
    ['RS512', testKeys.rsa],
    ['PS256', testKeys.rsa],
    ['PS384', testKeys.rsa],
    ['PS512', testKeys.rsa],
    ['ES256', testKeys.ec256],
    ['ES384', testKeys.ec384],
    ['ES512', testKeys.ec521],
    ['EdDSA', testKeys.ed25519],
    ['Ed25519', testKeys.ed25519],
  ];

  for (const [alg, keys] of asymmetric) {
    it(`${alg} with a PEM public key and with a JWK, and not with a wrong key`, async () => {
      const pair = keys();
      const token = mint({ alg, kid: 'k' }, { sub: 'alice', exp: NOW_S + 60 }, pair.privateKey);
      const viaPem = await harness.call({ algorithms: [alg], public_key: pair.publicPem }, bearer(token));
      expect(viaPem.outcome.kind).to.equal('continue');
      const viaJwk = await harness.call({ algorithms: [alg], jwks: { keys: [{ ...pair.publicJwk, kid: 'k' }] } }, bearer(token));
      expect(viaJwk.outcome.kind).to.equal('continue');
      const [h, p] = token.split('.');
      const other = mint({ alg, kid: 'k' }, { sub: 'mallory', exp: NOW_S + 60 }, pair.privateKey).split('.')[2];
      const spliced = await harness.call({ algorithms: [alg], public_key: pair.publicPem }, bearer(`${h}.${p}.${other}`));
      expect(spliced.outcome.kind).to.equal('stop');
    });
  }

  for (const alg of ['HS256', 'HS384', 'HS512']) {
    it(`${alg} with a shared secret`, async () => {
      const token = mint({ alg }, { sub: 'alice', exp: NOW_S + 60 }, HS512_SECRET);
      const { outcome } = await harness.call({ algorithms: [alg], secret: HS512_SECRET }, bearer(token));
      expect(outcome.kind).to.equal('continue');
    });
  }
});
