import { expect } from 'chai';
import { ErrorCode, isRunnerError } from '../../../runner/plugin-api/index.js';
import { tokenFingerprint } from '../../../plugins/jwt-auth/plugin.js';
import {
  bearer,
  HS256_SECRET,
  hsToken,
  JwtHarness,
  MemoryRevocationChecker,
  mint,
  NOW_S,
  stopBody,
  stopHeader,
  TEST_REDIS,
  testKeys,
} from '../../support/jwt-kit.js';

const BASE = { algorithms: ['HS256'], secret: HS256_SECRET };
const FORM = ['content-type', 'application/x-www-form-urlencoded'] as const;

describe('jwt-auth plugin flow', () => {
  let harness: JwtHarness;
  beforeEach(() => {
    harness = new JwtHarness();
  });
  afterEach(() => harness.close());

  describe('responses', () => {
    it('401 with an RFC 6750 challenge and a small JSON body for a bad token', async () => {
      const { outcome } = await harness.call(BASE, bearer(hsToken({ exp: NOW_S - 3600 })));
      expect(outcome).to.deep.include({ kind: 'stop', status: 401 });
      expect(stopHeader(outcome, 'www-authenticate')).to.equal(
        'Bearer realm="apisix", error="invalid_token", error_description="token expired"',
      );
      expect(stopHeader(outcome, 'content-type')).to.equal('application/json');
      expect(stopBody(outcome)).to.deep.equal({ error: 'invalid_token', error_description: 'token expired' });
    });

    it('401 without error when no token was sent', async () => {
      const { outcome } = await harness.call(BASE);
      expect(outcome).to.deep.include({ kind: 'stop', status: 401 });
      expect(stopHeader(outcome, 'www-authenticate')).to.equal('Bearer realm="apisix"');
    });

    it('400 invalid_request for two different tokens and for a repeated Authorization header', async () => {
      const conf = { ...BASE, query: 'access_token' };
      const two = await harness.call(conf, { headers: [['authorization', `Bearer ${hsToken()}`]], args: [['access_token', hsToken({ sub: 'bob' })]] });
      expect(two.outcome).to.deep.include({ kind: 'stop', status: 400 });
      expect(stopHeader(two.outcome, 'www-authenticate')).to.match(/^Bearer realm="apisix", error="invalid_request"/);
      const repeated = await harness.call(BASE, {
        headers: [['authorization', `Bearer ${hsToken()}`], ['authorization', `Bearer ${hsToken()}`]],
      });
      expect(repeated.outcome).to.deep.include({ kind: 'stop', status: 400 });
    });

    it('terse descriptions by default, the failed check with error_detail verbose; never the token', async () => {
      const token = hsToken({ aud: 'wrong' });
      const terse = await harness.call({ ...BASE, audience: 'api' }, bearer(token));
      expect(stopBody(terse.outcome)['error_description']).to.equal('invalid token');
      const verbose = await harness.call({ ...BASE, audience: 'api', error_detail: 'verbose' }, bearer(token));
      expect(stopBody(verbose.outcome)['error_description']).to.equal('audience not accepted');
      for (const outcome of [terse.outcome, verbose.outcome]) {
        expect(JSON.stringify(outcome)).to.not.include(token.split('.')[1]);
        expect(JSON.stringify(outcome)).to.not.include(HS256_SECRET);
      }
    });

    it('uses the configured realm', async () => {
      const { outcome } = await harness.call({ ...BASE, realm: 'orders api' });
      expect(stopHeader(outcome, 'www-authenticate')).to.equal('Bearer realm="orders api"');
    });
  });

  describe('authorization', () => {
    it('all_of and any_of over a space-separated scope string', async () => {
      const conf = { ...BASE, authorization: { all_of: ['read', 'write'], any_of: ['admin', 'ops'] } };
      expect((await harness.call(conf, bearer(hsToken({ scope: 'read write ops' })))).outcome.kind).to.equal('continue');
      const missingAll = await harness.call(conf, bearer(hsToken({ scope: 'read ops' })));
      expect(missingAll.outcome).to.deep.include({ kind: 'stop', status: 403 });
      expect(stopHeader(missingAll.outcome, 'www-authenticate')).to.equal(
        'Bearer realm="apisix", error="insufficient_scope", error_description="insufficient scope", scope="read write"',
      );
      const missingAny = await harness.call(conf, bearer(hsToken({ scope: 'read write' })));
      expect(stopHeader(missingAny.outcome, 'www-authenticate')).to.include('scope="admin ops"');
    });

    it('roles from a nested array claim path; non-string entries are ignored', async () => {
      const conf = { ...BASE, authorization: { claim: 'realm_access.roles', any_of: ['admin'] } };
      const ok = await harness.call(conf, bearer(hsToken({ realm_access: { roles: ['user', 'admin'] } })));
      expect(ok.outcome.kind).to.equal('continue');
      const no = await harness.call(conf, bearer(hsToken({ realm_access: { roles: [{ admin: true }, 'user'] }, scope: 'admin' })));
      expect(no.outcome).to.deep.include({ status: 403 });
    });
  });

  describe('upstream headers', () => {
    it('maps claims to headers: strings, numbers, arrays joined, objects as JSON, nested paths', async () => {
      const conf = {
        ...BASE,
        claims_to_headers: { sub: 'X-User-Id', groups: 'x-groups', 'org.id': 'x-org', tenant: 'x-tenant', iat: 'x-iat' },
      };
      const { outcome, req } = await harness.call(
        conf,
        bearer(hsToken({ groups: ['a', 'b'], org: { id: 7 }, tenant: { name: 'acme' } })),
      );
      expect(outcome.kind).to.equal('continue');
      expect(Object.fromEntries(req.headers.setValues)).to.deep.equal({
        'x-user-id': 'alice',
        'x-groups': 'a, b',
        'x-org': '7',
        'x-tenant': '{"name":"acme"}',
        'x-iat': String(NOW_S - 10),
      });
    });

    it('removes spoofed identity headers whatever the outcome', async () => {
      const conf = { ...BASE, anonymous: true, claims_to_headers: { sub: 'x-user-id' }, payload_header: 'x-jwt-payload' };
      const spoof: Array<[string, string]> = [
        ['x-user-id', 'admin'],
        ['X-User-Id', 'root'],
        ['x-jwt-payload', 'eyJzdWIiOiJhZG1pbiJ9'],
      ];
      const anonymous = await harness.call(conf, { headers: spoof });
      expect(anonymous.outcome.kind).to.equal('continue');
      expect(anonymous.req.headers.has('x-user-id')).to.equal(false);
      expect(anonymous.req.headers.has('x-jwt-payload')).to.equal(false);
      // A valid token with no sub claim: the header is deleted and not set.
      const noSub = await harness.call(conf, { headers: [...spoof, ['authorization', `Bearer ${hsToken({ sub: undefined })}`]] });
      expect(noSub.req.headers.has('x-user-id')).to.equal(false);
      expect(noSub.req.headers.deleted.has('x-user-id')).to.equal(true);
      const reportOnly = await harness.call({ ...conf, anonymous: false, mode: 'report_only' }, { headers: [...spoof, ['authorization', 'Bearer x.y.z']] });
      expect(reportOnly.outcome.kind).to.equal('continue');
      expect(reportOnly.req.headers.has('x-user-id')).to.equal(false);
    });

    it('never forwards claim values with control characters', async () => {
      const conf = { ...BASE, claims_to_headers: { sub: 'x-user-id', name: 'x-name', tags: 'x-tags', email: 'x-email' } };
      const { outcome, req } = await harness.call(
        conf,
        bearer(hsToken({ sub: 'alice\r\nX-Admin: true', name: 'bob\u0000', tags: ['ok', 'evil\nheader'], email: 'a@b.test\u0085' })),
      );
      expect(outcome.kind).to.equal('continue');
      expect(req.headers.has('x-user-id')).to.equal(false);
      expect(req.headers.has('x-name')).to.equal(false);
      expect(req.headers.has('x-tags')).to.equal(false);
      expect(req.headers.has('x-email')).to.equal(false);
      expect(harness.logs.lines.join('\n')).to.include('control characters were not forwarded');
    });

    it('payload_header carries the whole verified payload as base64url JSON', async () => {
      const token = hsToken({ role: 'x' });
      const { req } = await harness.call({ ...BASE, payload_header: 'X-JWT-Payload' }, bearer(token));
      const value = req.headers.setValues.get('x-jwt-payload');
      expect(value).to.match(/^[A-Za-z0-9_-]+$/);
      expect(JSON.parse(Buffer.from(value!, 'base64url').toString('utf8'))).to.deep.include({ sub: 'alice', role: 'x' });
    });
  });

  describe('hide_credentials', () => {
    it('removes the token from the header, query, cookie and form body by default', async () => {
      const token = hsToken();
      const conf = { ...BASE, query: 'access_token', cookie: 'jwt', form_field: 'access_token' };
      const { outcome, req } = await harness.call(conf, {
        method: 'POST',
        headers: [['authorization', `Bearer ${token}`], ['cookie', `a=1; jwt=${token}`], ['cookie', 'b=2'], FORM],
        args: [['access_token', token], ['page', '2']],
        body: `access_token=${token}&x=1`,
      });
      expect(outcome.kind).to.equal('continue');
      expect(req.headers.deleted.has('authorization')).to.equal(true);
      expect(req.args.deleted.has('access_token')).to.equal(true);
      expect(req.args.get('page')).to.equal('2');
      expect(req.headers.getAll('cookie')).to.deep.equal(['a=1; b=2']);
      expect(req.newBody).to.equal('x=1');
    });

    it('keeps a non-empty body when the token was its only field, and deletes a cookie header left empty', async () => {
      const token = hsToken();
      const { req } = await harness.call(
        { ...BASE, header: null, cookie: 'jwt', form_field: 'access_token' },
        { method: 'POST', headers: [['cookie', `jwt=${token}`], FORM], body: `access_token=${token}` },
      );
      expect(req.newBody).to.equal('access_token=');
      expect(req.headers.deleted.has('cookie')).to.equal(true);
    });

    it('leaves the credentials in place with hide_credentials false', async () => {
      const { req } = await harness.call({ ...BASE, hide_credentials: false }, bearer(hsToken()));
      expect(req.headers.deleted.has('authorization')).to.equal(false);
      expect(req.headers.has('authorization')).to.equal(true);
    });
  });

  describe('modes', () => {
    it('report_only decides, logs a fingerprint (never the token), counts, and continues', async () => {
      const token = hsToken({ exp: NOW_S - 3600 });
      const { outcome, req } = await harness.call({ ...BASE, mode: 'report_only' }, bearer(token));
      expect(outcome.kind).to.equal('continue');
      expect(req.headers.deleted.has('authorization')).to.equal(true);
      const logs = harness.logs.lines.join('\n');
      expect(logs).to.include(tokenFingerprint(token));
      expect(logs).to.not.include(token);
      expect(logs).to.not.include(token.split('.')[2]);
      expect(await harness.metricValue('jwt_auth_decisions_total', { outcome: 'report_only_deny', reason: 'expired' })).to.equal(1);
    });

    it('anonymous lets requests without a token through but still rejects a bad one', async () => {
      const conf = { ...BASE, anonymous: true };
      expect((await harness.call(conf)).outcome.kind).to.equal('continue');
      expect((await harness.call(conf, bearer('a.b.c'))).outcome).to.deep.include({ kind: 'stop', status: 401 });
      expect(await harness.metricValue('jwt_auth_decisions_total', { outcome: 'anonymous' })).to.equal(1);
    });

    it('require_https rejects tokens over plain HTTP, trusting X-Forwarded-Proto only when configured', async () => {
      const conf = { ...BASE, require_https: true };
      const token = hsToken();
      const plain = await harness.call(conf, { ...bearer(token), vars: { scheme: 'http' } });
      expect(plain.outcome).to.deep.include({ kind: 'stop', status: 400 });
      expect(plain.req.varCalls).to.deep.equal(['scheme']);
      const spoofed = await harness.call(conf, {
        headers: [['authorization', `Bearer ${token}`], ['x-forwarded-proto', 'https']],
        vars: { scheme: 'http' },
      });
      expect(spoofed.outcome.kind).to.equal('stop');
      const trusted = await harness.call(
        { ...conf, trust_forwarded_proto: true },
        { headers: [['authorization', `Bearer ${token}`], ['x-forwarded-proto', 'https']], vars: { scheme: 'http' } },
      );
      expect(trusted.outcome.kind).to.equal('continue');
      expect((await harness.call(conf, { ...bearer(token), vars: { scheme: 'https' } })).outcome.kind).to.equal('continue');
      const noCheck = await harness.call(BASE, { ...bearer(token), vars: { scheme: 'http' } });
      expect(noCheck.outcome.kind).to.equal('continue');
      expect(noCheck.req.varCalls).to.deep.equal([]);
    });
  });

  describe('claims options', () => {
    it('required_claims, max_token_age_seconds and require_exp', async () => {
      const required = { ...BASE, required_claims: ['sub', 'org.id'] };
      expect((await harness.call(required, bearer(hsToken({ org: { id: 1 } })))).outcome.kind).to.equal('continue');
      expect((await harness.call(required, bearer(hsToken({ org: { id: null } })))).outcome.kind).to.equal('stop');
      const aged = { ...BASE, max_token_age_seconds: 60 };
      expect((await harness.call(aged, bearer(hsToken({ iat: NOW_S - 80 })))).outcome.kind).to.equal('continue');
      expect((await harness.call(aged, bearer(hsToken({ iat: NOW_S - 100 })))).outcome.kind).to.equal('stop');
      expect((await harness.call(aged, bearer(hsToken({ iat: undefined })))).outcome.kind).to.equal('stop');
      const noExp = hsToken({ exp: undefined });
      expect((await harness.call(BASE, bearer(noExp))).outcome.kind).to.equal('stop');
      expect((await harness.call({ ...BASE, require_exp: false }, bearer(noExp))).outcome.kind).to.equal('continue');
    });

    it('several issuers: each token is checked with the keys of its own issuer only', async () => {
      const rsa = testKeys.rsa();
      const conf = {
        algorithms: ['HS256', 'RS256'],
        issuers: [
          { issuer: 'https://a.test', secret: HS256_SECRET },
          { issuer: 'https://b.test', public_key: rsa.publicPem },
        ],
      };
      const prepared = await harness.prepare(conf);
      const aToken = hsToken({ iss: 'https://a.test' });
      const bToken = mint({ alg: 'RS256' }, { iss: 'https://b.test', exp: NOW_S + 60 }, rsa.privateKey);
      expect((await harness.call(prepared, bearer(aToken))).outcome.kind).to.equal('continue');
      expect((await harness.call(prepared, bearer(bToken))).outcome.kind).to.equal('continue');
      // Issuer a's secret never verifies a token claiming issuer b, and vice versa.
      expect((await harness.call(prepared, bearer(hsToken({ iss: 'https://b.test' })))).outcome.kind).to.equal('stop');
      const crossed = mint({ alg: 'RS256' }, { iss: 'https://a.test', exp: NOW_S + 60 }, rsa.privateKey);
      expect((await harness.call(prepared, bearer(crossed))).outcome.kind).to.equal('stop');
      expect((await harness.call(prepared, bearer(hsToken({ iss: 'https://c.test' })))).outcome.kind).to.equal('stop');
      expect((await harness.call(prepared, bearer(hsToken()))).outcome.kind).to.equal('stop');
    });
  });

  describe('verified-token cache', () => {
    it('serves repeat tokens from the cache, re-checks exp on hits, and never shares results between confs', async () => {
      const token = hsToken({ exp: NOW_S + 100 });
      const prepared = await harness.prepare(BASE);
      // Stored from the second verification on (repeat admission): two misses, then hits.
      for (let i = 0; i < 3; i++) await harness.call(prepared, bearer(token));
      expect(await harness.metricValue('jwt_auth_token_cache_misses_total')).to.equal(2);
      expect(await harness.metricValue('jwt_auth_token_cache_hits_total')).to.equal(1);
      // Another route with an audience requirement: its own verdict, not the cached one.
      const other = await harness.prepare({ ...BASE, audience: 'api' });
      expect((await harness.call(other, bearer(token))).outcome.kind).to.equal('stop');
      harness.nowMs = (NOW_S + 200) * 1000;
      const late = await harness.call(prepared, bearer(token));
      expect(stopBody(late.outcome)['error_description']).to.equal('token expired');
    });

    it('remembers a bad signature so a repeated forgery costs two checks', async () => {
      const [h, p] = hsToken().split('.');
      const forged = `${h}.${p}.${'A'.repeat(43)}`;
      const prepared = await harness.prepare(BASE);
      for (let i = 0; i < 5; i += 1) expect((await harness.call(prepared, bearer(forged))).outcome.kind).to.equal('stop');
      expect(await harness.metricValue('jwt_auth_token_cache_misses_total')).to.equal(2);
      expect(await harness.metricValue('jwt_auth_token_cache_hits_total')).to.equal(3);
    });

    it('does not store a token seen once: its next request verifies again, the one after hits', async () => {
      const prepared = await harness.prepare(BASE);
      const tokens = Array.from({ length: 50 }, (_, i) => hsToken({ jti: `once-${i}` }));
      for (const token of tokens) expect((await harness.call(prepared, bearer(token))).outcome.kind).to.equal('continue');
      await harness.call(prepared, bearer(tokens[0]!));
      expect(await harness.metricValue('jwt_auth_token_cache_misses_total')).to.equal(51);
      await harness.call(prepared, bearer(tokens[0]!));
      expect(await harness.metricValue('jwt_auth_token_cache_hits_total')).to.equal(1);
    });
  });

  describe('revocation', () => {
    it('rejects revoked jtis and subject watermarks with 401 "token revoked"', async () => {
      const checker = new MemoryRevocationChecker();
      const local = new JwtHarness({ revocation: checker, redis: TEST_REDIS });
      try {
        const prepared = await local.prepare(BASE);
        expect(prepared.revocation.enabled).to.equal(true);
        checker.revokedJtis.add('j1');
        const revoked = await local.call(prepared, bearer(hsToken({ jti: 'j1' })));
        expect(stopBody(revoked.outcome)).to.deep.equal({ error: 'invalid_token', error_description: 'token revoked' });
        expect((await local.call(prepared, bearer(hsToken({ jti: 'j2' })))).outcome.kind).to.equal('continue');
        checker.subjectWatermarks.set('alice', NOW_S);
        expect((await local.call(prepared, bearer(hsToken({ jti: 'j3' })))).outcome.kind).to.equal('stop');
        expect(checker.queries.at(-1)).to.deep.equal({ jti: 'j3', sub: 'alice', iat: NOW_S - 10, exp: NOW_S + 600 });
      } finally {
        await local.close();
      }
      expect(checker.closed).to.equal(true);
    });

    it('is checked on cache hits too', async () => {
      const checker = new MemoryRevocationChecker();
      const local = new JwtHarness({ revocation: checker, redis: TEST_REDIS });
      try {
        const prepared = await local.prepare(BASE);
        const token = hsToken({ jti: 'later' });
        expect((await local.call(prepared, bearer(token))).outcome.kind).to.equal('continue');
        checker.revokedJtis.add('later');
        expect((await local.call(prepared, bearer(token))).outcome.kind).to.equal('stop');
      } finally {
        await local.close();
      }
    });

    it('on_missing_jti: reject (default) or accept', async () => {
      const checker = new MemoryRevocationChecker();
      const local = new JwtHarness({ revocation: checker, redis: TEST_REDIS });
      try {
        expect((await local.call(BASE, bearer(hsToken()))).outcome).to.deep.include({ status: 401 });
        const accept = await local.call({ ...BASE, revocation: { on_missing_jti: 'accept' } }, bearer(hsToken()));
        expect(accept.outcome.kind).to.equal('continue');
        expect(checker.queries.at(-1)?.jti).to.equal(null);
      } finally {
        await local.close();
      }
    });

    it('on_store_error: deny answers 503 JSON, allow logs, counts and continues', async () => {
      const checker = new MemoryRevocationChecker();
      checker.failing = true;
      const local = new JwtHarness({ revocation: checker, redis: TEST_REDIS });
      try {
        const denied = await local.call(BASE, bearer(hsToken({ jti: 'x' })));
        expect(denied.outcome).to.deep.include({ kind: 'stop', status: 503 });
        expect(stopBody(denied.outcome)['error']).to.equal('temporarily_unavailable');
        const allowed = await local.call({ ...BASE, revocation: { on_store_error: 'allow' } }, bearer(hsToken({ jti: 'x' })));
        expect(allowed.outcome.kind).to.equal('continue');
        expect(await local.metricValue('jwt_auth_decisions_total', { outcome: 'store_error_allowed' })).to.equal(1);
        expect(local.logs.lines.join('\n')).to.include('revocation store unavailable');
      } finally {
        await local.close();
      }
    });

    it('defaults follow the runner: off without Redis, on with it; true without Redis fails closed with a log line', async () => {
      expect((await harness.prepare(BASE)).revocation.enabled).to.equal(false);
      expect((await harness.call(BASE, bearer(hsToken()))).outcome.kind).to.equal('continue');
      const forced = await harness.call({ ...BASE, revocation: { enabled: true } }, bearer(hsToken({ jti: 'x' })));
      expect(forced.outcome).to.deep.include({ kind: 'stop', status: 503 });
      const logs = harness.logs.lines.join('\n');
      expect(logs).to.include('revocation.enabled is true but the runner has no redis configured');
      expect(logs).to.include('route#1#ext-plugin-pre-req#1');
      const withRedis = new JwtHarness({ revocation: new MemoryRevocationChecker(), redis: TEST_REDIS });
      try {
        expect((await withRedis.prepare({ ...BASE, revocation: { enabled: false } })).revocation.enabled).to.equal(false);
      } finally {
        await withRedis.close();
      }
    });
  });

  describe('failures that are not decisions', () => {
    it('an unreachable JWK Set throws ERR_JWKS_UNAVAILABLE in enforce mode (a 503, never a pass)', async () => {
      const local = new JwtHarness({
        deps: { fetch: async () => { throw new Error('connection refused'); } },
      });
      try {
        const conf = { algorithms: ['RS256'], jwks_uri: 'https://127.0.0.1:9/jwks.json' };
        const token = mint({ alg: 'RS256', kid: 'k' }, { exp: NOW_S + 60 }, testKeys.rsa().privateKey);
        let caught: unknown = null;
        try {
          await local.call(conf, bearer(token));
        } catch (err) {
          caught = err;
        }
        expect(isRunnerError(caught, ErrorCode.JWKS_UNAVAILABLE)).to.equal(true);
        const reportOnly = await local.call({ ...conf, mode: 'report_only' }, bearer(token));
        expect(reportOnly.outcome.kind).to.equal('continue');
      } finally {
        await local.close();
      }
    });
  });
});
