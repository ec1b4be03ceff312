import { expect } from 'chai';
import { importJwkKey } from '../../../plugins/jwt-auth/keys.js';
import { VerifiedTokenCache } from '../../../plugins/jwt-auth/token-cache.js';
import { verifySignature, verifyToken } from '../../../plugins/jwt-auth/verify.js';
import {
  RFC7515_A1,
  RFC7515_A2,
  RFC7515_A3,
  RFC7515_EXP,
  RFC7520_4_1,
  RFC7520_4_3,
  RFC7520_4_4,
} from '../../fixtures/keys/rfc-vectors.js';
import { bearer, JwtHarness, stopBody } from '../../support/jwt-kit.js';

// The RFC 7515 tokens expire at 1300819380 (2011): the clock is frozen just before.
const BEFORE_EXP_MS = (RFC7515_EXP - 300) * 1000;

describe('jwt-auth known-answer vectors', () => {
  let harness: JwtHarness;
  beforeEach(() => {
    harness = new JwtHarness({ nowMs: BEFORE_EXP_MS });
  });
  afterEach(() => harness.close());

  const cases = [
    ['A.1 HS256', 'HS256', RFC7515_A1],
    ['A.2 RS256', 'RS256', RFC7515_A2],
    ['A.3 ES256', 'ES256', RFC7515_A3],
  ] as const;

  for (const [name, alg, vector] of cases) {
    it(`RFC 7515 appendix ${name} verifies and its claims are forwarded`, async () => {
      const conf = {
        algorithms: [alg],
        jwks: { keys: [vector.jwk] },
        issuer: 'joe',
        claims_to_headers: { iss: 'x-issuer', 'http://example.com/is_root': 'x-is-root' },
      };
      const { outcome, req } = await harness.call(conf, bearer(vector.token));
      expect(outcome.kind).to.equal('continue');
      expect(req.headers.setValues.get('x-issuer')).to.equal('joe');
      expect(req.headers.setValues.get('x-is-root')).to.equal('true');
      expect(req.headers.deleted.has('authorization')).to.equal(true);
    });

    it(`RFC 7515 appendix ${name} is rejected once the clock passes exp (+ skew)`, async () => {
      harness.nowMs = (RFC7515_EXP + 31) * 1000;
      const { outcome } = await harness.call({ algorithms: [alg], jwks: { keys: [vector.jwk] } }, bearer(vector.token));
      expect(outcome.kind).to.equal('stop');
      expect(stopBody(outcome)['error_description']).to.equal('token expired');
    });
  }

  // RFC 7520 section 4 signs a text (a quotation), not a JSON claims set. As JWTs these
  // tokens must be refused as invalid claims - without crashing - while their
  // signatures are still proven correct against the published keys.
  const cookbook = [
    ['4.1 RS256', 'RS256', RFC7520_4_1],
    ['4.3 ES512', 'ES512', RFC7520_4_3],
    ['4.4 HS256', 'HS256', RFC7520_4_4],
  ] as const;

  for (const [name, alg, vector] of cookbook) {
    it(`RFC 7520 section ${name}: the signature verifies with the published key`, async () => {
      const key = await importJwkKey(vector.jwk, [alg], 'jwks.keys[0]', 'throw');
      expect(key).to.not.equal(null);
      expect(await verifySignature(vector.token, alg, [key!])).to.equal(null);
      const tampered = vector.token.replace(/\.S/, '.T');
      expect(await verifySignature(tampered, alg, [key!])).to.deep.include({ reason: 'signature' });
    });

    it(`RFC 7520 section ${name}: the text payload is rejected as invalid claims`, async () => {
      const prepared = await harness.prepare({ algorithms: [alg], jwks: { keys: [vector.jwk] }, require_exp: false });
      const result = await verifyToken(vector.token, prepared.verify, new VerifiedTokenCache(), BEFORE_EXP_MS);
      expect(result).to.deep.include({ ok: false });
      expect(result.ok ? null : result.rejection.reason).to.equal('claims_invalid');
      const { outcome } = await harness.call(prepared, bearer(vector.token));
      expect(stopBody(outcome)['error']).to.equal('invalid_token');
    });
  }
});
