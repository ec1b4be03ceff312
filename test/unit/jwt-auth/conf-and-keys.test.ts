import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, isRunnerError } from '../../../runner/plugin-api/index.js';
import { jwtAuthConfSchema } from '../../../plugins/jwt-auth/conf-schema.js';
import { selectKeys, type VerificationKey } from '../../../plugins/jwt-auth/keys.js';
import type { ProviderSettings } from '../../../runner/plugin-api/index.js';
import {
  bearer,
  HS256_SECRET,
  HS512_SECRET,
  hsToken,
  JwtHarness,
  mint,
  NOW_S,
  schemaAccepts,
  testKeys,
  validateConf,
} from '../../support/jwt-kit.js';

async function configError(harness: JwtHarness, conf: unknown): Promise<string> {
  try {
    await harness.prepare(conf);
  } catch (err) {
    if (isRunnerError(err, ErrorCode.CONFIG_INVALID)) return err.message;
    throw err;
  }
  throw new Error('expected prepare() to reject the conf');
}

function provider(overrides: Partial<ProviderSettings>): ProviderSettings {
  return { issuer: 'https://idp.test', algorithms: ['HS256'], base64_secret: false, allow_insecure_jwks_uri: false, ...overrides };
}

describe('jwt-auth conf schema', () => {
  it('compiles with the runner ajv options and applies documented defaults', () => {
    const conf = validateConf({ algorithms: ['HS256'], secret: HS256_SECRET, revocation: {}, authorization: { all_of: ['read'] } });
    expect(conf).to.deep.include({
      header: 'authorization',
      hide_credentials: true,
      mode: 'enforce',
      anonymous: false,
      require_exp: true,
      clock_skew_seconds: 30,
      realm: 'apisix',
      error_detail: 'terse',
      max_token_bytes: 8192,
      require_https: false,
    });
    expect(conf.revocation).to.deep.equal({ on_store_error: 'deny', on_missing_jti: 'reject' });
    expect(conf.authorization?.claim).to.equal('scope');
  });

  it('rejects none in any spelling, empty algorithms, unknown fields and unsafe realm/scope values', () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      expect(schemaAccepts({ algorithms: [alg], secret: HS256_SECRET }), alg).to.equal(false);
    }
    expect(schemaAccepts({ algorithms: [], secret: HS256_SECRET })).to.equal(false);
    expect(schemaAccepts({ secret: HS256_SECRET })).to.equal(false);
    expect(schemaAccepts({ algorithms: ['HS256'], secret: HS256_SECRET, colour: 'blue' })).to.equal(false);
    expect(schemaAccepts({ algorithms: ['HS256'], secret: HS256_SECRET, realm: 'a"b' })).to.equal(false);
    expect(schemaAccepts({ algorithms: ['HS256'], secret: HS256_SECRET, authorization: { all_of: ['a"b'] } })).to.equal(false);
    expect(schemaAccepts({ algorithms: ['HS256'], secret: HS256_SECRET, claims_to_headers: { sub: 'x y' } })).to.equal(false);
    expect(schemaAccepts({ algorithms: ['HS256'], secret: HS256_SECRET, jwks_uri: 'ftp://x' })).to.equal(false);
  });

  it('documents every property (the docs generator renders descriptions)', () => {
    const missing: string[] = [];
    const walk = (schema: unknown, path: string): void => {
      if (typeof schema !== 'object' || schema === null) return;
      const node = schema as Record<string, unknown>;
      if (typeof node['properties'] === 'object' && node['properties'] !== null) {
        for (const [name, child] of Object.entries(node['properties'] as Record<string, unknown>)) {
          if (typeof (child as Record<string, unknown>)['description'] !== 'string') missing.push(`${path}${name}`);
          walk(child, `${path}${name}.`);
        }
      }
      if (typeof node['items'] === 'object') walk(node['items'], `${path}[].`);
    };
    walk(jwtAuthConfSchema, '');
    expect(missing).to.deep.equal([]);
  });
});

describe('jwt-auth prepare: cross-field checks', () => {
  let harness: JwtHarness;
  beforeEach(() => {
    harness = new JwtHarness({ providers: { corp: provider({ secret: { value: HS256_SECRET } }) } });
  });
  afterEach(() => harness.close());

  it('requires a key source', async () => {
    expect(await configError(harness, { algorithms: ['HS256'] })).to.match(/^algorithms: no key source/);
  });

  it('refuses HS secrets shorter than the hash size of every listed HS algorithm, without echoing them', async () => {
    const short = 'too-short-secret';
    const message = await configError(harness, { algorithms: ['HS256'], secret: short });
    expect(message).to.match(/^secret: must be at least 32 bytes for HS256/);
    expect(message).to.not.include(short);
    expect(await configError(harness, { algorithms: ['HS256', 'HS512'], secret: HS256_SECRET })).to.match(
      /^secret: must be at least 64 bytes for HS512/,
    );
    await harness.prepare({ algorithms: ['HS256', 'HS512'], secret: HS512_SECRET });
    const b64 = Buffer.from(HS256_SECRET.slice(0, 31)).toString('base64');
    expect(await configError(harness, { algorithms: ['HS256'], secret: b64, base64_secret: true })).to.match(/31 bytes/);
    expect(await configError(harness, { algorithms: ['HS256'], secret: '!!not base64!!', base64_secret: true })).to.match(
      /^secret: expected base64/,
    );
  });

  it('accepts a base64 secret in either alphabet', async () => {
    const bytes = Buffer.alloc(32, 0xfb);
    for (const encoded of [bytes.toString('base64'), bytes.toString('base64url')]) {
      const prepared = await harness.prepare({ algorithms: ['HS256'], secret: encoded, base64_secret: true });
      const token = mint({ alg: 'HS256' }, { exp: NOW_S + 60 }, bytes);
      const { outcome } = await harness.call(prepared, bearer(token));
      expect(outcome.kind).to.equal('continue');
    }
  });

  it('rejects keys that do not fit the listed algorithms', async () => {
    expect(await configError(harness, { algorithms: ['RS256'], public_key: testKeys.ec256().publicPem })).to.match(
      /^public_key: a EC P-256 key cannot verify any of algorithms \[RS256\]/,
    );
    expect(await configError(harness, { algorithms: ['ES384'], public_key: testKeys.ec256().publicPem })).to.match(
      /^public_key: a EC P-256 key cannot verify/,
    );
    expect(await configError(harness, { algorithms: ['RS256'], secret: HS256_SECRET })).to.match(
      /^secret: a secret is given but `algorithms` lists no HS algorithm/,
    );
    expect(await configError(harness, { algorithms: ['RS256', 'HS256'], public_key: testKeys.rsa().publicPem })).to.match(
      /^algorithms: HS256 is listed but no configured key can verify it/,
    );
    expect(await configError(harness, { algorithms: ['RS256'], public_key: testKeys.rsa1024().publicPem })).to.match(
      /at least 2048 bits/,
    );
    const pkcs8 = testKeys.rsa().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(await configError(harness, { algorithms: ['RS256'], public_key: pkcs8 })).to.match(/got a private key/);
    expect(await configError(harness, { algorithms: ['RS256'], public_key: 'not a pem' })).to.match(/^public_key: expected a PEM/);
  });

  it('accepts PKCS#1 RSA PEMs, a PEM list, Ed25519 and every EC curve', async () => {
    const pkcs1 = testKeys.rsa().publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    await harness.prepare({ algorithms: ['RS256', 'PS256'], public_key: pkcs1 });
    await harness.prepare({ algorithms: ['ES256', 'ES384', 'ES512'], public_key: [testKeys.ec256().publicPem, testKeys.ec384().publicPem, testKeys.ec521().publicPem] });
    await harness.prepare({ algorithms: ['EdDSA', 'Ed25519'], public_key: testKeys.ed25519().publicPem });
  });

  it('validates inline JWK Sets, skipping keys for other algorithms and refusing malformed usable keys', async () => {
    const rsaJwk = { ...testKeys.rsa().publicJwk, kid: 'r1' };
    const ecJwk = { ...testKeys.ec256().publicJwk, kid: 'e1' };
    await harness.prepare({ algorithms: ['RS256'], jwks: { keys: [rsaJwk, ecJwk] } });
    expect(await configError(harness, { algorithms: ['RS256'], jwks: { keys: [ecJwk] } })).to.match(/^jwks: no key fits/);
    expect(await configError(harness, { algorithms: ['RS256'], jwks: { keys: [{ ...rsaJwk, n: 'not+base64' }] } })).to.match(
      /^jwks\.keys\[0\]: RSA key needs base64url n and e/,
    );
    expect(await configError(harness, { algorithms: ['RS256'], jwks: { keys: [{ ...rsaJwk, use: 'enc' }] } })).to.match(/use must be "sig"/);
    expect(await configError(harness, { algorithms: ['HS256'], jwks: { keys: [{ kty: 'oct', k: Buffer.alloc(16).toString('base64url') }] } })).to.match(
      /at least 32 bytes/,
    );
  });

  it('private JWK members are dropped: a private JWK still yields a verification key', async () => {
    const rsa = testKeys.rsa();
    const privateJwk = rsa.privateKey.export({ format: 'jwk' });
    const prepared = await harness.prepare({ algorithms: ['RS256'], jwks: { keys: [privateJwk] } });
    const { outcome } = await harness.call(prepared, bearer(mint({ alg: 'RS256' }, { exp: NOW_S + 60 }, rsa.privateKey)));
    expect(outcome.kind).to.equal('continue');
  });

  it('requires https for jwks_uri unless allowed, and an existing provider', async () => {
    expect(await configError(harness, { algorithms: ['RS256'], jwks_uri: 'http://127.0.0.1:9/jwks' })).to.match(
      /^jwks_uri: expected an https URL/,
    );
    await harness.prepare({ algorithms: ['RS256'], jwks_uri: 'http://127.0.0.1:9/jwks', allow_insecure_jwks_uri: true });
    expect(await configError(harness, { algorithms: ['HS256'], provider: 'nope' })).to.match(/^provider: .*unknown provider "nope"/);
  });

  it('refuses identity headers that would clash with the request', async () => {
    for (const header of ['authorization', 'Cookie', 'host', 'content-length']) {
      expect(await configError(harness, { algorithms: ['HS256'], secret: HS256_SECRET, claims_to_headers: { sub: header } })).to.match(
        /cannot be set by jwt-auth/,
      );
    }
    expect(
      await configError(harness, { algorithms: ['HS256'], secret: HS256_SECRET, header: 'x-token', payload_header: 'X-Token' }),
    ).to.match(/^payload_header: header x-token cannot be set/);
    expect(
      await configError(harness, { algorithms: ['HS256'], secret: HS256_SECRET, claims_to_headers: { sub: 'x-a', iss: 'X-A' } }),
    ).to.match(/already mapped/);
  });

  it('requires at least one token source', async () => {
    expect(await configError(harness, { algorithms: ['HS256'], secret: HS256_SECRET, header: null })).to.match(/token source/);
  });

  it('refuses duplicate issuers and issuer entries without keys', async () => {
    expect(
      await configError(harness, {
        algorithms: ['HS256'],
        issuers: [
          { issuer: 'a', secret: HS256_SECRET },
          { issuer: 'a', secret: HS256_SECRET },
        ],
      }),
    ).to.match(/^issuers\[1\]\.issuer: issuer "a" is configured twice/);
    expect(await configError(harness, { algorithms: ['HS256'], issuers: [{ issuer: 'a' }] })).to.match(/^issuers\[0\]: expected a key source/);
  });
});

describe('jwt-auth providers', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jwt-auth-provider-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads provider secrets from a value, an environment variable and a file, bound to the provider issuer', async () => {
    const file = join(dir, 'secret');
    writeFileSync(file, `${HS256_SECRET}\n`);
    const harness = new JwtHarness({
      providers: {
        inline: provider({ issuer: 'https://inline.test', secret: { value: HS256_SECRET } }),
        fromEnv: provider({ issuer: 'https://env.test', secret: { env: 'JWT_AUTH_TEST_SECRET' } }),
        fromFile: provider({ issuer: 'https://file.test', secret: { file } }),
      },
      deps: { processEnv: { JWT_AUTH_TEST_SECRET: HS256_SECRET } },
    });
    try {
      for (const [name, iss] of [
        ['inline', 'https://inline.test'],
        ['fromEnv', 'https://env.test'],
        ['fromFile', 'https://file.test'],
      ] as const) {
        const prepared = await harness.prepare({ algorithms: ['HS256'], provider: name });
        expect((await harness.call(prepared, bearer(hsToken({ iss })))).outcome.kind, name).to.equal('continue');
        // The provider's keys are bound to its issuer: another iss is refused.
        expect((await harness.call(prepared, bearer(hsToken({ iss: 'https://other.test' })))).outcome.kind).to.equal('stop');
      }
    } finally {
      await harness.close();
    }
  });

  it('fails PrepareConf (never the runner) when provider key material is missing, naming the source not the value', async () => {
    const harness = new JwtHarness({
      providers: { broken: provider({ secret: { env: 'JWT_AUTH_TEST_MISSING' } }) },
      deps: { processEnv: {} },
    });
    try {
      const message = await configError(harness, { algorithms: ['HS256'], provider: 'broken' });
      expect(message).to.match(/^provider: provider "broken" secret: environment variable JWT_AUTH_TEST_MISSING is not set/);
      expect(harness.logs.lines.join('\n')).to.include('provider key material unavailable');
    } finally {
      await harness.close();
    }
  });

  it('uses the provider audience when the route sets none, and the algorithms both accept', async () => {
    const harness = new JwtHarness({
      providers: { corp: provider({ audience: 'orders', algorithms: ['HS256', 'RS256'], secret: { value: HS256_SECRET } }) },
    });
    try {
      const prepared = await harness.prepare({ algorithms: ['HS256'], provider: 'corp' });
      const ok = await harness.call(prepared, bearer(hsToken({ iss: 'https://idp.test', aud: 'orders' })));
      expect(ok.outcome.kind).to.equal('continue');
      const wrongAud = await harness.call(prepared, bearer(hsToken({ iss: 'https://idp.test', aud: 'billing' })));
      expect(wrongAud.outcome.kind).to.equal('stop');
      expect(await configError(harness, { algorithms: ['ES256'], provider: 'corp' })).to.match(/accepts none of \[ES256\]/);
    } finally {
      await harness.close();
    }
  });
});

describe('jwt-auth key selection', () => {
  const key = (kid: string | null, algs: string[]): VerificationKey => ({
    kid,
    family: 'RSA',
    byAlgorithm: new Map(algs.map((alg) => [alg as 'RS256', {} as never])),
  });

  it('filters by algorithm family and kid, falling back to kid-less keys', () => {
    const a = key('a', ['RS256']);
    const b = key('b', ['RS256']);
    const anon = key(null, ['RS256']);
    const ps = key('a', ['PS256']);
    expect(selectKeys([a, b, anon, ps], 'RS256', 'a')).to.deep.equal([a]);
    expect(selectKeys([a, b, anon, ps], 'RS256', 'zzz')).to.deep.equal([anon]);
    expect(selectKeys([a, b, anon, ps], 'RS256', null)).to.deep.equal([a, b, anon]);
    expect(selectKeys([a, b, anon, ps], 'HS256', null)).to.deep.equal([]);
    expect(selectKeys(Array.from({ length: 20 }, () => key(null, ['RS256'])), 'RS256', null)).to.have.length(8);
  });
});
