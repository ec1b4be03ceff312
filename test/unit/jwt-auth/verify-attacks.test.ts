import { expect } from 'chai';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import type { PreparedJwtAuth } from '../../../plugins/jwt-auth/prepare.js';
import { VerifiedTokenCache } from '../../../plugins/jwt-auth/token-cache.js';
import { verifyToken } from '../../../plugins/jwt-auth/verify.js';
import {
  b64u,
  bearer,
  HS256_SECRET,
  hsToken,
  JwtHarness,
  mint,
  NOW_MS,
  NOW_S,
  stopBody,
  testKeys,
} from '../../support/jwt-kit.js';

describe('jwt-auth verification rejects attacks', () => {
  let harness: JwtHarness;
  let hs: PreparedJwtAuth;

  beforeEach(async () => {
    harness = new JwtHarness();
    hs = await harness.prepare({ algorithms: ['HS256'], secret: HS256_SECRET });
  });
  afterEach(() => harness.close());

  async function reason(prepared: PreparedJwtAuth, token: string): Promise<string> {
    const result = await verifyToken(token, prepared.verify, new VerifiedTokenCache(), harness.nowMs);
    return result.ok ? 'ok' : result.rejection.reason;
  }

  it('accepts a well-formed HS256 token minted by hand with node:crypto (control case)', async () => {
    expect(await reason(hs, hsToken())).to.equal('ok');
  });

  for (const spelling of ['none', 'None', 'NONE', 'nOnE']) {
    it(`rejects alg "${spelling}" with an empty and with a forged signature`, async () => {
      const unsigned = `${b64u({ alg: spelling, typ: 'JWT' })}.${b64u({ sub: 'x', exp: NOW_S + 60 })}.`;
      expect(await reason(hs, unsigned)).to.equal('alg_none');
      expect(await reason(hs, `${unsigned}AAAA`)).to.equal('alg_none');
      const { outcome } = await harness.call(hs, bearer(unsigned));
      expect(outcome.kind).to.equal('stop');
    });
  }

  it('rejects HS/RS key confusion: an HS256 token signed with the RSA public key PEM', async () => {
    const rsa = testKeys.rsa();
    const forged = mint({ alg: 'HS256' }, { sub: 'mallory', exp: NOW_S + 60 }, rsa.publicPem);
    const rsOnly = await harness.prepare({ algorithms: ['RS256'], public_key: rsa.publicPem });
    expect(await reason(rsOnly, forged)).to.equal('alg_not_allowed');
    // Even when HS256 is also accepted, the RSA key never verifies an HS token: only the secret does.
    const both = await harness.prepare({ algorithms: ['RS256', 'HS256'], public_key: rsa.publicPem, secret: HS256_SECRET });
    expect(await reason(both, forged)).to.equal('signature');
    const genuine = mint({ alg: 'RS256' }, { sub: 'alice', exp: NOW_S + 60 }, rsa.privateKey);
    expect(await reason(both, genuine)).to.equal('ok');
  });

  it('never uses keys embedded in the token header (jwk, jku, x5u, x5c)', async () => {
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const attackerJwk = attacker.publicKey.export({ format: 'jwk' });
    const legit = testKeys.ec256();
    const prepared = await harness.prepare({ algorithms: ['ES256'], public_key: legit.publicPem });
    const header = {
      alg: 'ES256',
      jwk: attackerJwk,
      jku: 'https://127.0.0.1:1/jwks.json',
      x5u: 'https://127.0.0.1:1/cert.pem',
      x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'],
    };
    const token = mint(header, { sub: 'mallory', exp: NOW_S + 60 }, attacker.privateKey);
    expect(await reason(prepared, token)).to.equal('signature');
    // With a kid naming the embedded key, there is still no such configured key.
    const withKid = mint({ ...header, kid: 'attacker' }, { sub: 'mallory', exp: NOW_S + 60 }, attacker.privateKey);
    expect(await reason(prepared, withKid)).to.equal('signature');
    // A legitimately signed token carrying the same header parameters still verifies with the configured key.
    const legitToken = mint(header, { sub: 'alice', exp: NOW_S + 60 }, legit.privateKey);
    expect(await reason(prepared, legitToken)).to.equal('ok');
  });

  it('rejects an unknown crit header and b64=false', async () => {
    expect(await reason(hs, hsToken({}, { crit: ['exp'], exp: 1 }))).to.equal('crit');
    expect(await reason(hs, hsToken({}, { crit: ['b64'], b64: false }))).to.equal('crit');
    expect(await reason(hs, hsToken({}, { b64: true }))).to.equal('crit');
  });

  it('rejects JWE compact serialization (5 segments)', async () => {
    const jwe = `${b64u({ alg: 'dir', enc: 'A128GCM' })}..${b64u('iv')}.${b64u('ciphertext')}.${b64u('tag')}`;
    expect(await reason(hs, jwe)).to.equal('jwe');
    const { outcome } = await harness.call(hs, bearer(jwe));
    expect(stopBody(outcome)['error']).to.equal('invalid_token');
  });

  const badTimes: Array<[string, unknown]> = [
    ['a numeric string', String(NOW_S + 600)],
    ['a boolean', true],
    ['null', null],
    ['an array', [NOW_S + 600]],
    ['negative', -1],
    ['beyond year 9999', 1e15],
  ];
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    for (const [label, value] of badTimes) {
      it(`rejects ${claim} that is ${label}`, async () => {
        expect(await reason(hs, hsToken({ [claim]: value }))).to.equal('time_claim_invalid');
      });
    }
  }

  it('rejects expired, not-yet-valid and future-issued tokens, honouring clock_skew_seconds (default 30)', async () => {
    expect(await reason(hs, hsToken({ exp: NOW_S - 29 }))).to.equal('ok');
    expect(await reason(hs, hsToken({ exp: NOW_S - 30 }))).to.equal('expired');
    expect(await reason(hs, hsToken({ nbf: NOW_S + 29 }))).to.equal('ok');
    expect(await reason(hs, hsToken({ nbf: NOW_S + 31 }))).to.equal('not_yet_valid');
    expect(await reason(hs, hsToken({ iat: NOW_S + 31 }))).to.equal('iat_future');
    const strict = await harness.prepare({ algorithms: ['HS256'], secret: HS256_SECRET, clock_skew_seconds: 0 });
    expect(await reason(strict, hsToken({ exp: NOW_S - 1 }))).to.equal('expired');
    expect(await reason(strict, hsToken({ exp: NOW_S + 1 }))).to.equal('ok');
  });

  it('rejects issuer prefix, suffix, substring and case tricks (exact match only)', async () => {
    const prepared = await harness.prepare({ algorithms: ['HS256'], secret: HS256_SECRET, issuer: 'https://idp.example.com' });
    expect(await reason(prepared, hsToken({ iss: 'https://idp.example.com' }))).to.equal('ok');
    for (const iss of [
      'https://idp.example.com.evil.test',
      'https://idp.example.com/',
      'https://idp.example.co',
      'HTTPS://IDP.EXAMPLE.COM',
      ' https://idp.example.com',
      'https://evil.test/https://idp.example.com',
    ]) {
      expect(await reason(prepared, hsToken({ iss })), iss).to.equal('issuer');
    }
    expect(await reason(prepared, hsToken({ iss: ['https://idp.example.com'] }))).to.equal('claims_invalid');
    expect(await reason(prepared, hsToken())).to.equal('issuer');
  });

  it('rejects audience type tricks', async () => {
    const prepared = await harness.prepare({ algorithms: ['HS256'], secret: HS256_SECRET, audience: ['api', '1'] });
    expect(await reason(prepared, hsToken({ aud: 'api' }))).to.equal('ok');
    expect(await reason(prepared, hsToken({ aud: ['other', 'api'] }))).to.equal('ok');
    for (const aud of [{ api: true }, 1, [['api']], [1], [], 'API', 'ap', 'apis', null, true]) {
      expect(await reason(prepared, hsToken({ aud })), JSON.stringify(aud)).to.equal('audience');
    }
    expect(await reason(prepared, hsToken({ aud: ['api', { x: 1 }] }))).to.equal('audience');
    expect(await reason(prepared, hsToken())).to.equal('audience');
  });

  it('rejects a tampered payload and a tampered header', async () => {
    const [header, , signature] = hsToken().split('.') as [string, string, string];
    const tamperedPayload = `${header}.${b64u({ sub: 'admin', iat: NOW_S - 10, exp: NOW_S + 600 })}.${signature}`;
    expect(await reason(hs, tamperedPayload)).to.equal('signature');
    const [, payload] = hsToken().split('.') as [string, string];
    const tamperedHeader = `${b64u({ alg: 'HS256', typ: 'JWT', kid: 'x' })}.${payload}.${signature}`;
    expect(await reason(hs, tamperedHeader)).to.equal('signature');
  });

  it('rejects loose base64url re-encodings of a valid token', async () => {
    const token = hsToken();
    const [h, p, s] = token.split('.') as [string, string, string];
    const std = (segment: string): string => Buffer.from(segment, 'base64url').toString('base64');
    // Trailing bits: the last character of a 43-char HS256 signature carries 2 unused bits.
    const last = s.slice(-1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1] as string;
    const variants = [
      `${h}.${p}.${s.slice(0, -1)}${sibling}`,
      `${h}.${p}.${s}=`,
      `${h}=.${p}.${s}`,
      `${h}.${p}.${std(s)}`,
      `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}x`,
      `${h}.${p}.${s} `,
      ` ${h}.${p}.${s}`,
      `${h}.${p}.${s}\n`,
    ];
    expect(Buffer.from(`${s.slice(0, -1)}${sibling}`, 'base64url').equals(Buffer.from(s, 'base64url'))).to.equal(true);
    expect(await reason(hs, token)).to.equal('ok');
    for (const variant of variants) {
      expect(await reason(hs, variant), JSON.stringify(variant)).to.equal('malformed');
    }
  });

  it('rejects a payload with loose base64url that decodes to valid claims', async () => {
    // Build a payload segment with non-zero trailing bits, sign that exact text: the
    // signature is valid, but the encoding is not canonical, so the token is refused.
    const header = b64u({ alg: 'HS256' });
    let payload = b64u({ sub: 'a', exp: NOW_S + 60 });
    while (payload.length % 4 === 0) payload = b64u({ sub: `a${payload.length}`, exp: NOW_S + 60 });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const loose = `${payload.slice(0, -1)}${alphabet[alphabet.indexOf(payload.slice(-1)) ^ 1]}`;
    const input = `${header}.${loose}`;
    const signature = createHmac('sha256', HS256_SECRET).update(input).digest('base64url');
    expect(await reason(hs, `${input}.${signature}`)).to.equal('malformed');
  });

  it('rejects tokens over max_token_bytes before parsing them', async () => {
    const big = hsToken({ filler: 'x'.repeat(9000) });
    expect(big.length).to.be.greaterThan(8192);
    expect(await reason(hs, big)).to.equal('too_large');
    const roomy = await harness.prepare({ algorithms: ['HS256'], secret: HS256_SECRET, max_token_bytes: 16384 });
    expect(await reason(roomy, big)).to.equal('ok');
    const small = await harness.prepare({ algorithms: ['HS256'], secret: HS256_SECRET, max_token_bytes: 256 });
    expect(await reason(small, hsToken({ filler: 'x'.repeat(200) }))).to.equal('too_large');
  });

  it('rejects malformed structure: wrong segment count, bad JSON, non-object header, non-string kid', async () => {
    expect(await reason(hs, 'abc')).to.equal('malformed');
    expect(await reason(hs, 'a.b')).to.equal('malformed');
    expect(await reason(hs, 'a.b.c.d')).to.equal('malformed');
    expect(await reason(hs, `${b64u('{not json')}.${b64u({})}.AAAA`)).to.equal('malformed');
    expect(await reason(hs, `${b64u('["HS256"]')}.${b64u({})}.AAAA`)).to.equal('malformed');
    expect(await reason(hs, hsToken({}, { kid: 7 }))).to.equal('malformed');
    expect(await reason(hs, `${b64u({ alg: 'HS256' })}.${b64u('[1,2]')}.AAAA`)).to.equal('claims_invalid');
    expect(await reason(hs, hsToken({ sub: 42 }))).to.equal('claims_invalid');
    expect(await reason(hs, hsToken({ jti: { id: 1 } }))).to.equal('claims_invalid');
  });

  it('rejects invalid UTF-8 in the header', async () => {
    const header = Buffer.concat([Buffer.from('{"alg":"HS256","x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const input = `${header.toString('base64url')}.${b64u({ exp: NOW_S + 60 })}`;
    const signature = createHmac('sha256', HS256_SECRET).update(input).digest('base64url');
    expect(await reason(hs, `${input}.${signature}`)).to.equal('malformed');
  });

  it('checks typ case-insensitively with the application/ prefix optional', async () => {
    const prepared = await harness.prepare({ algorithms: ['HS256'], secret: HS256_SECRET, typ: 'at+jwt' });
    expect(await reason(prepared, hsToken({}, { typ: 'at+JWT' }))).to.equal('ok');
    expect(await reason(prepared, hsToken({}, { typ: 'application/at+jwt' }))).to.equal('ok');
    expect(await reason(prepared, hsToken({}, { typ: 'JWT' }))).to.equal('typ');
    expect(await reason(prepared, hsToken({}, { typ: undefined }))).to.equal('typ');
  });

  it('an alg outside the allow-list is refused even with a valid signature', async () => {
    const token = mint({ alg: 'HS512' }, { exp: NOW_S + 60 }, 'an-hs512-test-secret-that-is-sixty-four-bytes-long-for-hs512-ok!');
    expect(await reason(hs, token)).to.equal('alg_not_allowed');
    expect(await reason(hs, mint({ alg: 'RS256' }, { exp: NOW_S + 60 }, HS256_SECRET, 'HS256'))).to.equal('alg_not_allowed');
    expect(await reason(hs, mint({ alg: 'hs256' }, { exp: NOW_S + 60 }, HS256_SECRET, 'HS256'))).to.equal('alg_not_allowed');
  });

  it('uses the frozen clock: NOW_MS is the harness time', () => {
    expect(harness.nowMs).to.equal(NOW_MS);
  });
});
