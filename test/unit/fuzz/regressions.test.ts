/**
 * One named regression test per fuzz finding (docs/security.md lists them). Each
 * replays the shrunk counterexample the fuzzer reported and checks the fixed
 * behaviour directly.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import { LONG_TOKEN_CHARS, VerifiedTokenCache } from '../../../plugins/jwt-auth/token-cache.js';
import { reject } from '../../../plugins/jwt-auth/verify-types.js';
import { definePlugin, ErrorCode, isRunnerError } from '../../../runner/plugin-api/index.js';
import { PluginRegistry } from '../../../runner/core/plugin-registry.js';
import { describeSchemaErrors } from '../../../runner/schema-errors.js';
import { checkConfCase, createConfFuzzBench, type ConfCase } from '../../fuzz/conf-target.js';
import { checkTokenCase, createTokenFuzzBench } from '../../fuzz/token-target.js';
import { bearer, hsToken, HS256_SECRET, JwtHarness, testKeys } from '../../support/jwt-kit.js';

describe('fuzz findings (regressions)', function () {
  this.timeout(30000);

  describe('finding 1 (jwt-token): a "wide twin" of a cached valid token passed', () => {
    // The verified-token cache hashed tokens as latin1, which keeps only the low byte
    // of each UTF-16 unit: "ť" (U+0165) hashed like "e", so after the genuine token had
    // been verified once, the altered spelling was a cache hit and passed.
    it('a token with U+0165 in place of its leading "e" gets 401 even when the genuine token is cached', async () => {
      const harness = new JwtHarness();
      try {
        const conf = { algorithms: ['HS256'], secret: HS256_SECRET };
        const prepared = await harness.prepare(conf);
        const token = hsToken();
        // Twice: the cache stores a token from its second verification on; the third call proves it is cached.
        for (let i = 0; i < 3; i++) expect((await harness.call(prepared, bearer(token))).outcome.kind).to.equal('continue');
        expect(await harness.metricValue('jwt_auth_token_cache_hits_total')).to.equal(1);
        const twin = `\u0165${token.slice(1)}`;
        const { outcome } = await harness.call(prepared, bearer(twin));
        expect(outcome).to.deep.include({ kind: 'stop', status: 401 });
      } finally {
        await harness.close();
      }
    });

    it('cached results are matched on the exact token, not on a byte-truncated spelling', () => {
      const cache = new VerifiedTokenCache();
      const rejection = reject('signature', 'genuine');
      const genuine = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';
      cache.set(genuine, 1, { kind: 'rejected', rejection, expiresAtMs: 2_000, hit: { ok: false, rejection, cacheHit: true } }, 1_000);
      expect(cache.get(genuine, 1, 1_000)).to.not.equal(undefined);
      expect(cache.get(`\u0165${genuine.slice(1)}`, 1, 1_000)).to.equal(undefined);
      expect(VerifiedTokenCache.tokenId(`e${'a'.repeat(LONG_TOKEN_CHARS)}`)).to.not.equal(VerifiedTokenCache.tokenId(`\u0165${'a'.repeat(LONG_TOKEN_CHARS)}`));
    });

    it('replays the shrunk fuzz counterexample', async () => {
      const bench = await createTokenFuzzBench();
      try {
        const genuine = await checkTokenCase(bench, { route: 0, source: 0, carrier: 0, mutations: [] });
        expect(genuine).to.equal('pass_unmutated');
        const twin = await checkTokenCase(bench, { route: 0, source: 0, carrier: 0, mutations: [{ op: 'char', at: 0, pool: 'wide', pick: 0 }] });
        expect(twin).to.equal('stop_401');
      } finally {
        await bench.close();
      }
    });
  });

  describe('finding 2 (jwt-conf): a conf field name with CR/LF split a schema fault over several lines', () => {
    // describeSchemaErrors quoted unknown field names raw, so a key such as
    // "max_t\n_bytes" put a line break into the fault that the registry logs and
    // `config check` prints (one fault = one line is what operators and tools read).
    it('an unknown field named with a line break is reported JSON-quoted on one line', () => {
      const registry = new PluginRegistry(pino({ level: 'silent' }));
      registry.register(
        definePlugin<Record<string, never>>({
          name: 'strict',
          confSchema: { type: 'object', additionalProperties: false, properties: {} },
          onRequest: () => undefined,
        }),
      );
      const faults = registry.checkConf('strict', JSON.stringify({ 'max_t\n_bytes': 1, 'a\r\nx-injected': 2 }));
      expect(faults).to.have.length(2);
      expect(faults[0]).to.include('unknown field "max_t\\n_bytes"');
      expect(faults[1]).to.include('unknown field "a\\r\\nx-injected"');
      expect(faults.every((line) => !/[\r\n]/.test(line))).to.equal(true);
    });

    it('a nested path through a key with control characters is escaped', () => {
      const lines = describeSchemaErrors([
        { instancePath: '/claims_to_headers/a\nb', schemaPath: '#', keyword: 'type', params: {}, message: 'must be string' },
      ]);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.not.match(/[\r\n]/);
      expect(lines[0]).to.include('a\\nb');
    });

    it('replays the shrunk fuzz counterexample', async () => {
      const bench = createConfFuzzBench();
      try {
        const c: ConfCase = {
          base: 1151113895,
          edits: [
            { op: 'delete', at: 68043070 },
            { op: 'string', at: 38691192, cut: 0, insert: '   ' },
          ],
          textEdit: { at: 1557795122, remove: 3, insert: '\\' },
          random: undefined,
        };
        expect(await checkConfCase(bench, c)).to.equal('schema_rejected');
      } finally {
        await bench.close();
      }
    });
  });

  describe('finding 3 (jwt-conf): a private key pasted into "provider" was quoted in the prepare error', () => {
    // prepare() named an unknown provider by quoting the given value, so a PEM private key
    // (or a secret) pasted into the wrong field went into the error the registry logs.
    const privatePem = testKeys.rsa().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const bodyLines = privatePem.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----'));

    it('the error names the field without the value when the value is not a plain name', async () => {
      const harness = new JwtHarness();
      try {
        let message = '';
        try {
          await harness.prepare({ algorithms: ['HS256'], provider: privatePem });
        } catch (err) {
          expect(isRunnerError(err, ErrorCode.CONFIG_INVALID)).to.equal(true);
          message = (err as Error).message;
        }
        expect(message).to.match(/^provider: expected the name of a provider/);
        for (const line of bodyLines) expect(message).to.not.include(line);
        expect(message).to.not.include('PRIVATE KEY');
      } finally {
        await harness.close();
      }
    });

    it('a plain unknown name is still quoted, so operators see the typo', async () => {
      const harness = new JwtHarness();
      try {
        await harness.prepare({ algorithms: ['HS256'], provider: 'crop' }).then(
          () => expect.fail('an unknown provider was accepted'),
          (err: unknown) => expect((err as Error).message).to.include('unknown provider "crop"'),
        );
      } finally {
        await harness.close();
      }
    });

    it('replays the shrunk fuzz counterexample', async () => {
      const bench = createConfFuzzBench();
      try {
        const c: ConfCase = { base: 0, edits: [{ op: 'set', at: 0, key: 'provider', value: privatePem }], textEdit: null, random: undefined };
        expect(await checkConfCase(bench, c)).to.equal('config_invalid');
      } finally {
        await bench.close();
      }
    });
  });
});
