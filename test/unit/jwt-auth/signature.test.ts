import { expect } from 'chai';
import { createPublicKey, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { compactVerify, importJWK, type JWK } from 'jose';
import type { JwsAlgorithm } from '../../../plugins/jwt-auth/algorithms.js';
import { importJwkKey, importSecretKey, type VerificationKey } from '../../../plugins/jwt-auth/keys.js';
import { PinnedKey } from '../../../plugins/jwt-auth/signature.js';
import { VerifiedTokenCache } from '../../../plugins/jwt-auth/token-cache.js';
import { verifySignature, verifyToken } from '../../../plugins/jwt-auth/verify.js';
import { RFC7515_A1, RFC7515_A2, RFC7515_A3 } from '../../fixtures/keys/rfc-vectors.js';
import {
  b64u,
  bearer,
  HS256_SECRET,
  hsToken,
  JwtHarness,
  mint,
  NOW_S,
  signInput,
  testKeys,
} from '../../support/jwt-kit.js';
import { FakeRequest } from '../../support/fake-request.js';

/** The one key an imported JWK yields for `alg`. */
async function pinned(jwk: Record<string, unknown>, alg: JwsAlgorithm): Promise<VerificationKey> {
  const key = await importJwkKey(jwk, [alg], 'jwks.keys[0]', 'throw');
  if (key === null) throw new Error('key not imported');
  return key;
}

function split(token: string): { input: string; signature: Buffer } {
  const dot = token.lastIndexOf('.');
  return { input: token.slice(0, dot), signature: Buffer.from(token.slice(dot + 1), 'base64url') };
}

/** Flip one bit of one byte of the signature (a tampered token that keeps its shape). */
function flipSignatureBit(token: string, byte: number): string {
  const { input, signature } = split(token);
  const copy = Buffer.from(signature);
  const index = byte % copy.length;
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return `${input}.${copy.toString('base64url')}`;
}

const PAIRS: ReadonlyArray<readonly [JwsAlgorithm, () => { privateKey: KeyObject; publicKey: KeyObject }]> = [
  ['RS256', testKeys.rsa],
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

describe('jwt-auth synchronous signature checks (node:crypto)', () => {
  describe('known answers', () => {
    const vectors = [
      ['RFC 7515 A.1 HS256', 'HS256', RFC7515_A1],
      ['RFC 7515 A.2 RS256', 'RS256', RFC7515_A2],
      ['RFC 7515 A.3 ES256', 'ES256', RFC7515_A3],
    ] as const;

    for (const [name, alg, vector] of vectors) {
      it(`${name}: the published signature verifies synchronously, a one-bit change does not`, async () => {
        const key = await pinned(vector.jwk, alg);
        const result = verifySignature(vector.token, alg, [key]);
        expect(result).to.equal(null);
        for (const byte of [0, 7, 31]) {
          expect(verifySignature(flipSignatureBit(vector.token, byte), alg, [key])).to.deep.include({ reason: 'signature' });
        }
        const { input, signature } = split(vector.token);
        expect(key.byAlgorithm.get(alg)?.verify(input, signature)).to.equal(true);
        expect(key.byAlgorithm.get(alg)?.verify(`${input}x`, signature)).to.equal(false);
      });
    }

    for (const [alg, keys] of PAIRS) {
      it(`${alg}: a token signed by node:crypto verifies; another key's or a tampered one does not`, async () => {
        const { privateKey, publicKey } = keys();
        const token = mint({ alg }, { sub: 'alice', exp: NOW_S + 60 }, privateKey);
        const key = await pinned(publicKey.export({ format: 'jwk' }) as Record<string, unknown>, alg);
        expect(verifySignature(token, alg, [key])).to.equal(null);
        expect(verifySignature(flipSignatureBit(token, 5), alg, [key])).to.deep.include({ reason: 'signature' });
        const tamperedPayload = token.replace(/\.[^.]+\./, `.${b64u({ sub: 'mallory', exp: NOW_S + 60 })}.`);
        expect(verifySignature(tamperedPayload, alg, [key])).to.deep.include({ reason: 'signature' });
      });
    }
  });

  describe('the algorithm is pinned by the key', () => {
    it('an RS256 key does not accept a PS256 signature of the same input with the same private key, nor the reverse', async () => {
      const { privateKey, publicKey } = testKeys.rsa();
      const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
      const input = `${b64u({ alg: 'RS256' })}.${b64u({ sub: 'a' })}`;
      const rs = (await pinned(jwk, 'RS256')).byAlgorithm.get('RS256');
      const ps = (await pinned(jwk, 'PS256')).byAlgorithm.get('PS256');
      expect(rs?.verify(input, signInput('PS256', input, privateKey))).to.equal(false);
      expect(ps?.verify(input, signInput('RS256', input, privateKey))).to.equal(false);
      expect(rs?.verify(input, signInput('RS256', input, privateKey))).to.equal(true);
      expect(ps?.verify(input, signInput('PS256', input, privateKey))).to.equal(true);
    });

    it('PS256 uses a salt as long as the hash: a signature with another salt length is refused', async () => {
      const { privateKey, publicKey } = testKeys.rsa();
      const input = `${b64u({ alg: 'PS256' })}.${b64u({ sub: 'a' })}`;
      const ps = PinnedKey.publicKey('PS256', publicKey);
      const shortSalt = cryptoSign('sha256', Buffer.from(input), { key: privateKey, padding: 6, saltLength: 20 });
      expect(ps.verify(input, shortSalt)).to.equal(false);
      expect(ps.verify(input, signInput('PS256', input, privateKey))).to.equal(true);
    });

    it('ECDSA: a DER-encoded signature and signatures of the wrong length are refused', async () => {
      const { privateKey, publicKey } = testKeys.ec256();
      const input = `${b64u({ alg: 'ES256' })}.${b64u({ sub: 'a' })}`;
      const es = PinnedKey.publicKey('ES256', publicKey);
      const raw = signInput('ES256', input, privateKey);
      expect(raw.length).to.equal(64);
      expect(es.verify(input, raw)).to.equal(true);
      const der = cryptoSign('sha256', Buffer.from(input), privateKey);
      expect(es.verify(input, der)).to.equal(false);
      expect(es.verify(input, raw.subarray(0, 63))).to.equal(false);
      expect(es.verify(input, Buffer.concat([raw, Buffer.from([0])]))).to.equal(false);
      expect(es.verify(input, Buffer.alloc(64))).to.equal(false);
      // A P-384 signature is never tried with a P-256 key, and the curve must match the algorithm.
      expect(() => PinnedKey.publicKey('ES384', publicKey)).to.throw(TypeError);
    });

    it('HMAC: the key of one HS algorithm refuses a tag of another, and truncated tags', async () => {
      const secret = Buffer.from('s'.repeat(64));
      const key = await importSecretKey(secret, ['HS256', 'HS512'], 'secret');
      const input = `${b64u({ alg: 'HS256' })}.${b64u({ sub: 'a' })}`;
      const tag256 = signInput('HS256', input, secret);
      const tag512 = signInput('HS512', input, secret);
      expect(key.byAlgorithm.get('HS256')?.verify(input, tag256)).to.equal(true);
      expect(key.byAlgorithm.get('HS256')?.verify(input, tag512)).to.equal(false);
      expect(key.byAlgorithm.get('HS512')?.verify(input, tag256)).to.equal(false);
      expect(key.byAlgorithm.get('HS256')?.verify(input, tag256.subarray(0, 16))).to.equal(false);
      expect(key.byAlgorithm.get('HS256')?.verify(input, Buffer.alloc(0))).to.equal(false);
    });

    it('refuses key types that do not fit the algorithm at preparation', () => {
      expect(() => PinnedKey.publicKey('RS256', testKeys.ec256().publicKey)).to.throw(TypeError);
      expect(() => PinnedKey.publicKey('EdDSA', testKeys.rsa().publicKey)).to.throw(TypeError);
      expect(() => PinnedKey.publicKey('ES256', testKeys.ed25519().publicKey)).to.throw(TypeError);
      expect(() => PinnedKey.publicKey('HS256', testKeys.rsa().publicKey)).to.throw(TypeError);
      expect(() => PinnedKey.secret('RS256', Buffer.alloc(32))).to.throw(TypeError);
      expect(() => PinnedKey.publicKey('RS256', testKeys.rsa().privateKey)).to.throw(TypeError);
      expect(PinnedKey.publicKey('RS256', createPublicKey(testKeys.rsa().publicPem)).alg).to.equal('RS256');
    });
  });

  describe('agrees with jose compactVerify', () => {
    const ALGS: readonly JwsAlgorithm[] = ['HS256', 'HS384', 'HS512', ...PAIRS.map(([alg]) => alg)];

    it('on random tokens (random claims, random tampering) for every algorithm', async function () {
      this.timeout(20_000);
      const secret = randomBytes(64);
      let agreedValid = 0;
      let agreedInvalid = 0;
      for (const alg of ALGS) {
        const pair = PAIRS.find(([name]) => name === alg)?.[1]();
        const signingKey = pair === undefined ? secret : pair.privateKey;
        const jwk: JWK =
          pair === undefined
            ? { kty: 'oct', k: secret.toString('base64url') }
            : (pair.publicKey.export({ format: 'jwk' }) as JWK);
        const ours = await pinned(jwk as Record<string, unknown>, alg);
        const theirs = await importJWK(jwk, alg);
        for (let i = 0; i < 12; i += 1) {
          const claims = { sub: randomBytes(6).toString('hex'), n: i, pad: randomBytes(i * 3).toString('base64') };
          let token = mint({ alg, kid: `k${i}` }, claims, signingKey);
          const tamper = i % 4;
          if (tamper === 1) token = flipSignatureBit(token, i * 7);
          if (tamper === 2) token = token.replace(/\.[^.]+\./, `.${b64u({ ...claims, n: i + 1 })}.`);
          if (tamper === 3) token = `${token.slice(0, token.lastIndexOf('.'))}.${randomBytes(split(token).signature.length).toString('base64url')}`;
          let joseSays: boolean;
          try {
            await compactVerify(token, theirs, { algorithms: [alg] });
            joseSays = true;
          } catch {
            joseSays = false;
          }
          const weSay = verifySignature(token, alg, [ours]) === null;
          expect(weSay, `${alg} case ${i} (tamper ${tamper})`).to.equal(joseSays);
          if (weSay) agreedValid += 1;
          else agreedInvalid += 1;
        }
      }
      expect(agreedValid).to.equal(ALGS.length * 3);
      expect(agreedInvalid).to.equal(ALGS.length * 9);
    });
  });

  describe('no promise on the local path', () => {
    it('verifyToken answers synchronously with local keys (misses and hit)', async () => {
      const harness = new JwtHarness();
      try {
        const prepared = await harness.prepare({ algorithms: ['HS256'], secret: HS256_SECRET });
        const cache = new VerifiedTokenCache();
        const token = hsToken();
        // The first verification is not stored (repeat admission), the second is.
        for (let i = 0; i < 2; i++) {
          const miss = verifyToken(token, prepared.verify, cache, harness.nowMs);
          expect(miss).to.not.be.instanceOf(Promise);
          expect(miss).to.deep.include({ ok: true, cacheHit: false });
        }
        const hit = verifyToken(token, prepared.verify, cache, harness.nowMs);
        expect(hit).to.not.be.instanceOf(Promise);
        expect(hit).to.deep.include({ ok: true, cacheHit: true });
        const forged = verifyToken(flipSignatureBit(token, 3), prepared.verify, cache, harness.nowMs);
        expect(forged).to.not.be.instanceOf(Promise);
        expect(forged).to.deep.include({ ok: false });
      } finally {
        await harness.close();
      }
    });

    it('onRequest returns the outcome without a promise for a bearer token and no revocation', async () => {
      const harness = new JwtHarness();
      try {
        const prepared = await harness.prepare({ algorithms: ['HS256'], secret: HS256_SECRET, revocation: { enabled: false } });
        const onRequest = harness.plugin.onRequest!;
        const allowed = onRequest(new FakeRequest(bearer(hsToken())), prepared);
        expect(allowed).to.not.be.instanceOf(Promise);
        expect(allowed).to.deep.include({ kind: 'continue' });
        const denied = onRequest(new FakeRequest(bearer(hsToken({ exp: NOW_S - 3600 }))), prepared);
        expect(denied).to.not.be.instanceOf(Promise);
        expect(denied).to.deep.include({ kind: 'stop', status: 401 });
      } finally {
        await harness.close();
      }
    });
  });
});
