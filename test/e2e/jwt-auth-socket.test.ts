/**
 * Every jwt-auth route option through the BUILT runner over its real Unix socket,
 * driven the way APISIX drives it (PrepareConf, HTTPReqCall, ExtraInfo answers).
 * Unit tests check the functions; these check that the options survive the wire,
 * the schema defaults, the runner's chain and the real clock.
 *
 * Two runner processes: one without Redis (every option but revocation; it also
 * holds the providers), one with a real redis-server (revocation). Each distinct
 * conf is its own route (PrepareConf key) on the same process. Both log at `trace`
 * and the last test searches every line for the tokens and secrets used here.
 */
import { expect } from 'chai';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { tokenFingerprint } from '../../plugins/jwt-auth/plugin.js';
import { RpcErrorCode } from '../../runner/protocol/messages.js';
import { startJwksServer, type JwksServer } from '../support/jwt-e2e-jwks-server.js';
import { E2eReply, LeakLedger, liveToken, nowSeconds, RouteCaller } from '../support/jwt-e2e-kit.js';
import { b64u, mint, testKeys, type TestKeyPair } from '../support/jwt-kit.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { RunnerProcess } from '../support/runner-process.js';

// ---- keys and secrets (all remembered in the ledger) -------------------------------

const HS256_SECRET = `e2e-hs256-${randomBytes(16).toString('hex')}`;
const HS384_SECRET = `e2e-hs384-${randomBytes(24).toString('hex')}`;
const HS512_SECRET = `e2e-hs512-${randomBytes(32).toString('hex')}`;
const ISSUER_A_SECRET = `e2e-issuer-a-${randomBytes(16).toString('hex')}`;
const SHORT_SECRET = `short-${randomBytes(5).toString('hex')}`;
const BASE64_SECRET_BYTES = randomBytes(32);
const BASE64_SECRET = BASE64_SECRET_BYTES.toString('base64');
const ENV_PROVIDER_SECRET = `e2e-env-provider-${randomBytes(16).toString('hex')}`;
const FILE_PROVIDER_SECRET = `e2e-file-provider-${randomBytes(24).toString('hex')}`;
const ENV_ISSUER = 'https://env-provider.e2e.example/';
const FILE_ISSUER = 'https://file-provider.e2e.example/';

function rsaPair(): TestKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    publicKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicJwk: publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
  };
}

const jwk = (pair: TestKeyPair, kid: string, alg: string): Record<string, unknown> => ({ ...pair.publicJwk, kid, alg, use: 'sig' });

// ---- assertions --------------------------------------------------------------------

function expectPass(reply: E2eReply): void {
  expect(reply.kind, reply.kind === 'stop' ? `stopped ${reply.status}: ${reply.stopBody}` : reply.kind).to.equal('pass');
}

/** 401 invalid_token with the RFC 6750 challenge; optionally the exact description. */
function expectInvalidToken(reply: E2eReply, description?: string): void {
  expect(reply.kind).to.equal('stop');
  expect(reply.status, reply.stopBody).to.equal(401);
  const challenge = reply.stopHeader('www-authenticate') ?? '';
  expect(challenge).to.match(/^Bearer realm="[^"]+", error="invalid_token", error_description="[^"]+"$/);
  expect(reply.stopJson()['error']).to.equal('invalid_token');
  if (description !== undefined) {
    expect(reply.stopJson()['error_description']).to.equal(description);
    expect(challenge).to.include(`error_description="${description}"`);
  }
}

/** 401 for a request without a token: a challenge without `error`. */
function expectMissingToken(reply: E2eReply): void {
  expect(reply.kind).to.equal('stop');
  expect(reply.status).to.equal(401);
  expect(reply.stopHeader('www-authenticate')).to.equal('Bearer realm="apisix"');
}

function expectInvalidRequest(reply: E2eReply, description?: string): void {
  expect(reply.kind).to.equal('stop');
  expect(reply.status, reply.stopBody).to.equal(400);
  expect(reply.stopHeader('www-authenticate')).to.include('error="invalid_request"');
  expect(reply.stopJson()['error']).to.equal('invalid_request');
  if (description !== undefined) expect(reply.stopJson()['error_description']).to.equal(description);
}

/** Resolves with the first log record (seen or future) matching; no sleeps. */
async function waitForRecord(runner: RunnerProcess, match: (record: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const line = await runner.waitForLine((candidate) => {
    try {
      return match(JSON.parse(candidate) as Record<string, unknown>);
    } catch {
      return false;
    }
  });
  return JSON.parse(line) as Record<string, unknown>;
}

// ---- the suite ---------------------------------------------------------------------

describe('jwt-auth through the runner over a real socket (e2e)', function () {
  this.timeout(20_000);
  const ledger = new LeakLedger();
  ledger.remember(HS256_SECRET, HS384_SECRET, HS512_SECRET, ISSUER_A_SECRET, SHORT_SECRET, BASE64_SECRET);
  ledger.remember(BASE64_SECRET_BYTES.toString('base64url'), ENV_PROVIDER_SECRET, FILE_PROVIDER_SECRET);

  let dir: string;
  let runner: RunnerProcess;
  let caller: RouteCaller;
  let jwks: JwksServer;
  /** An attacker's JWK Set: a token's `jku` points here; it must never be fetched. */
  let attackerJwks: JwksServer;
  let rsa: TestKeyPair;
  let rsaB: TestKeyPair;
  let attacker: TestKeyPair;
  let ec256: TestKeyPair;
  let ec384: TestKeyPair;
  let ed25519: TestKeyPair;
  /** The runner with Redis, started by the revocation group (kept for the log check). */
  let redisRunner: RunnerProcess | null = null;

  before(async function () {
    this.timeout(30_000);
    rsa = testKeys.rsa();
    ec256 = testKeys.ec256();
    ec384 = testKeys.ec384();
    ed25519 = testKeys.ed25519();
    rsaB = rsaPair();
    attacker = rsaPair();
    jwks = await startJwksServer([jwk(rsa, 'r1', 'RS256')]);
    attackerJwks = await startJwksServer([jwk(attacker, 'evil', 'RS256')]);
    dir = mkdtempSync(join(tmpdir(), 'jwt-e2e-socket-'));
    const secretFile = join(dir, 'provider-secret.txt');
    writeFileSync(secretFile, `${FILE_PROVIDER_SECRET}\n`, { mode: 0o600 });
    const configYaml = [
      'log:',
      '  level: trace',
      'providers:',
      '  env-hs:',
      `    issuer: "${ENV_ISSUER}"`,
      '    algorithms: [HS256]',
      '    secret: { env: E2E_PROVIDER_SECRET }',
      '  file-hs:',
      `    issuer: "${FILE_ISSUER}"`,
      '    algorithms: [HS384]',
      `    secret: { file: "${secretFile}" }`,
      '',
    ].join('\n');
    runner = await RunnerProcess.start({ configYaml, env: { E2E_PROVIDER_SECRET: ENV_PROVIDER_SECRET } });
    caller = new RouteCaller(runner.socketPath, ledger);
  });

  after(async () => {
    caller?.close();
    await runner?.cleanup();
    await jwks?.close();
    await attackerJwks?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const hs256 = { algorithms: ['HS256'], secret: HS256_SECRET };
  const hsToken = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string =>
    liveToken('HS256', HS256_SECRET, claims, header);

  describe('algorithms', () => {
    const cases: Array<{ alg: string; conf: () => Record<string, unknown>; key: () => KeyObject | string; wrong: () => KeyObject | string }> = [
      { alg: 'HS256', conf: () => hs256, key: () => HS256_SECRET, wrong: () => HS384_SECRET },
      { alg: 'HS384', conf: () => ({ algorithms: ['HS384'], secret: HS384_SECRET }), key: () => HS384_SECRET, wrong: () => HS512_SECRET },
      { alg: 'HS512', conf: () => ({ algorithms: ['HS512'], secret: HS512_SECRET }), key: () => HS512_SECRET, wrong: () => HS384_SECRET },
      { alg: 'RS256', conf: () => ({ algorithms: ['RS256', 'PS256'], public_key: rsa.publicPem }), key: () => rsa.privateKey, wrong: () => rsaB.privateKey },
      { alg: 'PS256', conf: () => ({ algorithms: ['RS256', 'PS256'], public_key: rsa.publicPem }), key: () => rsa.privateKey, wrong: () => rsaB.privateKey },
      { alg: 'ES256', conf: () => ({ algorithms: ['ES256'], public_key: ec256.publicPem }), key: () => ec256.privateKey, wrong: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey },
      { alg: 'ES384', conf: () => ({ algorithms: ['ES384'], public_key: ec384.publicPem }), key: () => ec384.privateKey, wrong: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey },
      { alg: 'EdDSA', conf: () => ({ algorithms: ['EdDSA'], public_key: ed25519.publicPem }), key: () => ed25519.privateKey, wrong: () => generateKeyPairSync('ed25519').privateKey },
    ];
    for (const { alg, conf, key, wrong } of cases) {
      it(`${alg}: a token signed with the route's key passes, one signed with another key gets 401`, async () => {
        expectPass(await caller.call(conf(), caller.bearer(liveToken(alg, key()))));
        expectInvalidToken(await caller.call(conf(), caller.bearer(liveToken(alg, wrong()))), 'invalid token');
      });
    }

    it('an algorithm the route does not list is rejected even with a valid signature', async () => {
      const conf = { algorithms: ['RS256'], public_key: rsa.publicPem, error_detail: 'verbose' };
      expectInvalidToken(await caller.call(conf, caller.bearer(liveToken('PS256', rsa.privateKey))), 'alg not allowed');
      expectPass(await caller.call(conf, caller.bearer(liveToken('RS256', rsa.privateKey))));
    });
  });

  describe('key sources: secret, base64_secret, public_key', () => {
    it('base64_secret decodes the secret before use (the encoded text itself is not the key)', async () => {
      const conf = { algorithms: ['HS256'], secret: BASE64_SECRET, base64_secret: true };
      expectPass(await caller.call(conf, caller.bearer(liveToken('HS256', BASE64_SECRET_BYTES))));
      expectInvalidToken(await caller.call(conf, caller.bearer(liveToken('HS256', BASE64_SECRET))));
    });

    it('an HS secret shorter than the hash is refused at PrepareConf: calls get a 503 naming no secret, the log names the field', async () => {
      const conf = { algorithms: ['HS256'], secret: SHORT_SECRET };
      const reply = await caller.call(conf, caller.bearer(liveToken('HS256', SHORT_SECRET)));
      expect(reply.kind).to.equal('stop');
      expect(reply.status).to.equal(503);
      expect(reply.stopJson()['error']).to.equal('runner_misconfigured');
      expect(reply.stopBody).not.to.include(SHORT_SECRET);
      const routeKey = caller.route(conf).key;
      const record = await waitForRecord(runner, (r) => r['route_key'] === routeKey && r['msg'] === 'plugin conf rejected; every call on this route answers 503 until the conf is fixed');
      expect(String(record['detail'])).to.match(/^secret: /);
      expect(String(record['detail'])).not.to.include(SHORT_SECRET);
    });

    it('public_key as a list verifies tokens of every listed key (rotation)', async () => {
      const conf = { algorithms: ['RS256'], public_key: [rsa.publicPem, rsaB.publicPem] };
      expectPass(await caller.call(conf, caller.bearer(liveToken('RS256', rsa.privateKey))));
      expectPass(await caller.call(conf, caller.bearer(liveToken('RS256', rsaB.privateKey))));
      expectInvalidToken(await caller.call(conf, caller.bearer(liveToken('RS256', attacker.privateKey))));
    });
  });

  describe('inline jwks with kid selection', () => {
    const conf = () => ({
      algorithms: ['RS256', 'ES256'],
      jwks: { keys: [jwk(rsa, 'k1', 'RS256'), jwk(rsaB, 'k2', 'RS256'), jwk(ec256, 'e1', 'ES256')] },
      error_detail: 'verbose',
    });

    it('the kid picks the key: each key verifies its own tokens', async () => {
      expectPass(await caller.call(conf(), caller.bearer(liveToken('RS256', rsa.privateKey, {}, { kid: 'k1' }))));
      expectPass(await caller.call(conf(), caller.bearer(liveToken('RS256', rsaB.privateKey, {}, { kid: 'k2' }))));
      expectPass(await caller.call(conf(), caller.bearer(liveToken('ES256', ec256.privateKey, {}, { kid: 'e1' }))));
    });

    it('a token naming one kid but signed by another key of the set is rejected', async () => {
      expectInvalidToken(await caller.call(conf(), caller.bearer(liveToken('RS256', rsaB.privateKey, {}, { kid: 'k1' }))), 'signature invalid');
    });

    it('an unknown kid finds no key', async () => {
      expectInvalidToken(await caller.call(conf(), caller.bearer(liveToken('RS256', rsa.privateKey, {}, { kid: 'k9' }))), 'no key for this alg and kid');
    });
  });

  describe('jwks_uri against a local HTTP server', () => {
    const conf = () => ({ algorithms: ['RS256'], jwks_uri: jwks.url, allow_insecure_jwks_uri: true, error_detail: 'verbose' });

    it('an http jwks_uri is refused unless allow_insecure_jwks_uri is set', async () => {
      const insecure = { algorithms: ['RS256'], jwks_uri: jwks.url };
      const reply = await caller.call(insecure, caller.bearer(liveToken('RS256', rsa.privateKey, {}, { kid: 'r1' })));
      expect(reply.status).to.equal(503);
      const routeKey = caller.route(insecure).key;
      const record = await waitForRecord(runner, (r) => r['route_key'] === routeKey && typeof r['detail'] === 'string');
      expect(String(record['detail'])).to.match(/^jwks_uri: expected an https URL/);
    });

    it('verifies with the fetched set, refreshes it once for an unknown kid, then holds off (cooldown)', async () => {
      expectPass(await caller.call(conf(), caller.bearer(liveToken('RS256', rsa.privateKey, {}, { kid: 'r1' }))));
      const fetchesBefore = jwks.fetches;
      expect(fetchesBefore).to.be.greaterThan(0);

      // Key rotation at the issuer: a new kid appears; the first token using it triggers a refresh.
      jwks.publish([jwk(rsa, 'r1', 'RS256'), jwk(rsaB, 'r2', 'RS256')]);
      expectPass(await caller.call(conf(), caller.bearer(liveToken('RS256', rsaB.privateKey, {}, { kid: 'r2' }))));
      expect(jwks.fetches).to.equal(fetchesBefore + 1);

      // A made-up kid right after: no second fetch inside the cooldown, and no key.
      expectInvalidToken(
        await caller.call(conf(), caller.bearer(liveToken('RS256', attacker.privateKey, {}, { kid: 'r3' }))),
        'no key for this alg and kid',
      );
      expect(jwks.fetches).to.equal(fetchesBefore + 1);
    });
  });

  describe('jwks_uri that never answers', () => {
    let silent: Server;
    const sockets = new Set<Socket>();

    before(async () => {
      silent = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      silent.listen(0, '127.0.0.1');
      await once(silent, 'listening');
    });

    after(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('jwks_timeout_ms bounds the fetch; with no copy of the set the call fails closed (RPC error, never a pass)', async () => {
      const { port } = silent.address() as AddressInfo;
      const conf = { algorithms: ['RS256'], jwks_uri: `http://127.0.0.1:${port}/jwks.json`, allow_insecure_jwks_uri: true, jwks_timeout_ms: 100 };
      const started = performance.now();
      const reply = await caller.call(conf, caller.bearer(liveToken('RS256', rsa.privateKey, {}, { kid: 'r1' })));
      expect(reply.kind).to.equal('error');
      expect(reply.reply).to.deep.equal({ type: 'error', code: RpcErrorCode.SERVICE_UNAVAILABLE });
      expect(performance.now() - started).to.be.lessThan(2000);
    });
  });

  describe('provider (keys from the runner config)', () => {
    it('secret from an environment variable: the provider issuer is required and its secret verifies', async () => {
      const conf = { algorithms: ['HS256'], provider: 'env-hs', error_detail: 'verbose' };
      expectPass(await caller.call(conf, caller.bearer(liveToken('HS256', ENV_PROVIDER_SECRET, { iss: ENV_ISSUER }))));
      expectInvalidToken(await caller.call(conf, caller.bearer(liveToken('HS256', HS256_SECRET, { iss: ENV_ISSUER }))), 'signature invalid');
      expectInvalidToken(await caller.call(conf, caller.bearer(liveToken('HS256', ENV_PROVIDER_SECRET, { iss: 'https://other.example/' }))), 'issuer not accepted');
    });

    it('secret from a file (trailing newline ignored)', async () => {
      const conf = { algorithms: ['HS384'], provider: 'file-hs' };
      expectPass(await caller.call(conf, caller.bearer(liveToken('HS384', FILE_PROVIDER_SECRET, { iss: FILE_ISSUER }))));
      expectInvalidToken(await caller.call(conf, caller.bearer(liveToken('HS384', `${FILE_PROVIDER_SECRET}\n`, { iss: FILE_ISSUER }))));
    });

    it('an unknown provider fails PrepareConf (503), naming the field', async () => {
      const conf = { algorithms: ['HS256'], provider: 'nobody' };
      expect((await caller.call(conf, caller.bearer(hsToken()))).status).to.equal(503);
      const routeKey = caller.route(conf).key;
      const record = await waitForRecord(runner, (r) => r['route_key'] === routeKey && typeof r['detail'] === 'string');
      expect(String(record['detail'])).to.match(/^provider: /);
    });
  });

  describe('several issuers, each bound to its own keys', () => {
    const A = 'https://a.e2e.example/';
    const B = 'https://b.e2e.example/';
    const conf = () => ({
      algorithms: ['HS256', 'RS256'],
      issuers: [
        { issuer: A, secret: ISSUER_A_SECRET },
        { issuer: B, public_key: rsaB.publicPem, audience: 'b-api' },
        { provider: 'env-hs' },
      ],
      error_detail: 'verbose',
    });

    it('each issuer verifies its own tokens', async () => {
      expectPass(await caller.call(conf(), caller.bearer(liveToken('HS256', ISSUER_A_SECRET, { iss: A }))));
      expectPass(await caller.call(conf(), caller.bearer(liveToken('RS256', rsaB.privateKey, { iss: B, aud: 'b-api' }))));
      expectPass(await caller.call(conf(), caller.bearer(liveToken('HS256', ENV_PROVIDER_SECRET, { iss: ENV_ISSUER }))));
    });

    it("an issuer entry's audience applies to that issuer's tokens only", async () => {
      expectInvalidToken(await caller.call(conf(), caller.bearer(liveToken('RS256', rsaB.privateKey, { iss: B }))), 'aud is required');
      expectInvalidToken(await caller.call(conf(), caller.bearer(liveToken('RS256', rsaB.privateKey, { iss: B, aud: 'a-api' }))), 'audience not accepted');
      expectPass(await caller.call(conf(), caller.bearer(liveToken('HS256', ISSUER_A_SECRET, { iss: A, aud: 'anything' }))));
    });

    it("a token of issuer A signed with issuer B's key is rejected (and the other way round)", async () => {
      expectInvalidToken(await caller.call(conf(), caller.bearer(liveToken('RS256', rsaB.privateKey, { iss: A }))), 'no key for this alg and kid');
      expectInvalidToken(await caller.call(conf(), caller.bearer(liveToken('HS256', ISSUER_A_SECRET, { iss: B, aud: 'b-api' }))), 'no key for this alg and kid');
      expectInvalidToken(await caller.call(conf(), caller.bearer(liveToken('HS256', ISSUER_A_SECRET, { iss: ENV_ISSUER }))), 'signature invalid');
    });

    it('an issuer that is not configured is rejected', async () => {
      expectInvalidToken(await caller.call(conf(), caller.bearer(liveToken('HS256', ISSUER_A_SECRET, { iss: 'https://c.e2e.example/' }))), 'issuer not accepted');
      expectInvalidToken(await caller.call(conf(), caller.bearer(liveToken('HS256', ISSUER_A_SECRET, { iss: undefined }))), 'issuer not accepted');
    });
  });

  describe('claims', () => {
    it('issuer as a string: exact match only (no prefix tricks), iss required', async () => {
      const conf = { ...hs256, issuer: 'https://one.example', error_detail: 'verbose' };
      expectPass(await caller.call(conf, caller.bearer(hsToken({ iss: 'https://one.example' }))));
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({ iss: 'https://one.example.evil' }))), 'issuer not accepted');
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({ iss: 'https://one.exampl' }))), 'issuer not accepted');
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken())), 'issuer not accepted');
    });

    it('issuer as a list: any listed value', async () => {
      const conf = { ...hs256, issuer: ['https://one.example', 'https://two.example'] };
      expectPass(await caller.call(conf, caller.bearer(hsToken({ iss: 'https://two.example' }))));
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({ iss: 'https://three.example' }))));
    });

    it('audience as a string: aud string or array must contain it', async () => {
      const conf = { ...hs256, audience: 'orders', error_detail: 'verbose' };
      expectPass(await caller.call(conf, caller.bearer(hsToken({ aud: 'orders' }))));
      expectPass(await caller.call(conf, caller.bearer(hsToken({ aud: ['billing', 'orders'] }))));
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({ aud: 'orders2' }))), 'audience not accepted');
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken())), 'aud is required');
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({ aud: { orders: true } }))), 'aud must be a string or an array of strings');
    });

    it('audience as a list: one match is enough', async () => {
      const conf = { ...hs256, audience: ['orders', 'billing'] };
      expectPass(await caller.call(conf, caller.bearer(hsToken({ aud: 'billing' }))));
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({ aud: ['shipping'] }))));
    });

    it('clock_skew_seconds: a token expired 15 s ago passes with the default 30 s leeway, not with 0 or 10', async () => {
      const token = hsToken({ exp: nowSeconds() - 15 });
      expectPass(await caller.call(hs256, caller.bearer(token)));
      expectInvalidToken(await caller.call({ ...hs256, clock_skew_seconds: 0 }, caller.bearer(token)), 'token expired');
      expectInvalidToken(await caller.call({ ...hs256, clock_skew_seconds: 10 }, caller.bearer(token)), 'token expired');
      const early = hsToken({ nbf: nowSeconds() + 20 });
      expectPass(await caller.call(hs256, caller.bearer(early)));
      expectInvalidToken(await caller.call({ ...hs256, clock_skew_seconds: 0, error_detail: 'verbose' }, caller.bearer(early)), 'token not yet valid');
    });

    it('required_claims: every listed path (nested too) must be present', async () => {
      const conf = { ...hs256, required_claims: ['email', 'realm_access.roles'], error_detail: 'verbose' };
      expectPass(await caller.call(conf, caller.bearer(hsToken({ email: 'a@example.com', realm_access: { roles: ['r'] } }))));
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({ email: 'a@example.com', realm_access: {} }))), 'a required claim is missing');
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({ email: null, realm_access: { roles: ['r'] } }))), 'a required claim is missing');
    });

    it('max_token_age_seconds: old tokens and tokens without iat are rejected', async () => {
      const conf = { ...hs256, max_token_age_seconds: 60, error_detail: 'verbose' };
      expectPass(await caller.call(conf, caller.bearer(hsToken({ iat: nowSeconds() - 10 }))));
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({ iat: nowSeconds() - 200 }))), 'token too old');
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({ iat: undefined }))), 'iat is required');
      // The same old token is fine on a route without the option.
      expectPass(await caller.call(hs256, caller.bearer(hsToken({ iat: nowSeconds() - 200 }))));
    });

    it('exp is required by default; require_exp false accepts a token without exp', async () => {
      const token = hsToken({ exp: undefined });
      expectInvalidToken(await caller.call({ ...hs256, error_detail: 'verbose' }, caller.bearer(token)), 'exp is required');
      expectPass(await caller.call({ ...hs256, require_exp: false }, caller.bearer(token)));
    });

    it('typ: compared case-insensitively, application/ prefix optional; other values rejected', async () => {
      const conf = { ...hs256, typ: 'at+jwt', error_detail: 'verbose' };
      expectPass(await caller.call(conf, caller.bearer(hsToken({}, { typ: 'at+JWT' }))));
      expectPass(await caller.call(conf, caller.bearer(hsToken({}, { typ: 'application/at+jwt' }))));
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({}, { typ: 'JWT' }))), 'typ not accepted');
      expectInvalidToken(await caller.call(conf, caller.bearer(hsToken({}, { typ: undefined }))), 'typ not accepted');
    });
  });

  describe('token sources', () => {
    it('header (default Authorization): Bearer scheme in any case; no token gives 401 without error', async () => {
      expectPass(await caller.call(hs256, { headers: [['authorization', `bEaReR ${hsToken()}`]] }));
      expectMissingToken(await caller.call(hs256, { headers: [['authorization', 'Basic dXNlcjpwYXNz']] }));
      expectMissingToken(await caller.call(hs256, {}));
    });

    it('a custom header carries a bare token; Authorization is then not read', async () => {
      const conf = { ...hs256, header: 'x-api-token' };
      const reply = await caller.call(conf, { headers: [['x-api-token', hsToken()]] });
      expectPass(reply);
      expect(reply.headerChange('x-api-token')).to.equal(null);
      expectMissingToken(await caller.call(conf, caller.bearer(hsToken())));
    });

    it('query, cookie and form_field are off unless named', async () => {
      const token = hsToken();
      expectMissingToken(await caller.call(hs256, { args: [['access_token', token]] }));
      expectMissingToken(await caller.call(hs256, { headers: [['cookie', `jwt=${token}`]] }));
      const form = await caller.call(hs256, {
        method: 'POST',
        headers: [['content-type', 'application/x-www-form-urlencoded']],
        body: `access_token=${token}`,
      });
      expectMissingToken(form);
      expect(form.asked('req_body')).to.equal(false);
    });

    it('query argument', async () => {
      const reply = await caller.call({ ...hs256, query: 'access_token' }, { args: [['page', '2'], ['access_token', hsToken()]] });
      expectPass(reply);
      expect(reply.argChange('access_token')).to.equal(null);
      expect(reply.argChange('page')).to.equal(undefined);
    });

    it('cookie', async () => {
      const reply = await caller.call({ ...hs256, cookie: 'jwt' }, { headers: [['cookie', `theme=dark; jwt=${hsToken()}; lang=en`]] });
      expectPass(reply);
      expect(reply.headerChange('cookie')).to.equal('theme=dark; lang=en');
    });

    it('form_field: the body is read through the ReqBody ExtraInfo question', async () => {
      const conf = { ...hs256, form_field: 'access_token' };
      const reply = await caller.call(conf, {
        method: 'POST',
        headers: [['content-type', 'application/x-www-form-urlencoded']],
        body: `item=42&access_token=${hsToken()}`,
      });
      expectPass(reply);
      expect(reply.asked('req_body')).to.equal(true);
      expect(reply.newBody).to.equal('item=42');
      // A body that is not a form is never asked for.
      const json = await caller.call(conf, { method: 'POST', headers: [['content-type', 'application/json']], body: '{}' });
      expectMissingToken(json);
      expect(json.asked('req_body')).to.equal(false);
    });

    it('a repeated Authorization header is 400 invalid_request', async () => {
      const token = hsToken();
      const reply = await caller.call(hs256, { headers: [['authorization', `Bearer ${token}`], ['authorization', `Bearer ${token}`]] });
      expectInvalidRequest(reply, 'the token header is repeated');
    });

    it('two different tokens in one request are 400 invalid_request; the same token twice is fine', async () => {
      const conf = { ...hs256, query: 'access_token' };
      const one = hsToken({ jti: 'one' });
      const two = hsToken({ jti: 'two' });
      expectInvalidRequest(
        await caller.call(conf, { headers: [['authorization', `Bearer ${one}`]], args: [['access_token', two]] }),
        'the request carries more than one token',
      );
      const same = await caller.call(conf, { headers: [['authorization', `Bearer ${one}`]], args: [['access_token', one]] });
      expectPass(same);
      expect(same.headerChange('authorization')).to.equal(null);
      expect(same.argChange('access_token')).to.equal(null);
    });
  });

  describe('authorization: all_of / any_of with claim paths', () => {
    it('all_of on a nested array claim: 403 insufficient_scope naming the required roles', async () => {
      const conf = { ...hs256, authorization: { claim: 'realm_access.roles', all_of: ['reader', 'writer'] } };
      expectPass(await caller.call(conf, caller.bearer(hsToken({ realm_access: { roles: ['reader', 'writer', 'x'] } }))));
      const reply = await caller.call(conf, caller.bearer(hsToken({ realm_access: { roles: ['reader'] } })));
      expect(reply.status).to.equal(403);
      expect(reply.stopHeader('www-authenticate')).to.equal(
        'Bearer realm="apisix", error="insufficient_scope", error_description="insufficient scope", scope="reader writer"',
      );
      expect(reply.stopJson()).to.include({ error: 'insufficient_scope', scope: 'reader writer' });
    });

    it('any_of on the default scope claim (space-separated string)', async () => {
      const conf = { ...hs256, authorization: { any_of: ['orders:write', 'admin'] } };
      expectPass(await caller.call(conf, caller.bearer(hsToken({ scope: 'openid admin' }))));
      const reply = await caller.call(conf, caller.bearer(hsToken({ scope: 'openid orders:read' })));
      expect(reply.status).to.equal(403);
      expect(reply.stopHeader('www-authenticate')).to.include('scope="orders:write admin"');
      expect((await caller.call(conf, caller.bearer(hsToken()))).status).to.equal(403);
    });
  });

  describe('upstream headers', () => {
    const conf = {
      ...hs256,
      claims_to_headers: { sub: 'X-User-Id', 'realm_access.roles': 'X-Roles', org: 'X-Org', nick: 'X-Nick', age: 'X-Age' },
    };

    it('claims_to_headers: strings, arrays joined, objects as JSON, numbers as text', async () => {
      const reply = await caller.call(conf, caller.bearer(hsToken({ realm_access: { roles: ['a', 'b'] }, org: { id: 7, name: 'acme' }, nick: 'al', age: 42 })));
      expectPass(reply);
      expect(reply.headerChange('x-user-id')).to.equal('alice');
      expect(reply.headerChange('x-roles')).to.equal('a, b');
      expect(reply.headerChange('x-org')).to.equal('{"id":7,"name":"acme"}');
      expect(reply.headerChange('x-nick')).to.equal('al');
      expect(reply.headerChange('x-age')).to.equal('42');
    });

    it('client-sent identity headers are removed whatever the claims; control characters are never forwarded', async () => {
      const spoofed: Array<[string, string]> = [['x-user-id', 'mallory'], ['x-nick', 'spoof'], ['x-org', 'evil']];
      const reply = await caller.call(conf, caller.bearer(hsToken({ nick: 'line1\r\nX-Admin: 1', org: undefined }), spoofed));
      expectPass(reply);
      expect(reply.headerChange('x-user-id')).to.equal('alice');
      expect(reply.headerChange('x-nick')).to.equal(null);
      expect(reply.headerChange('x-org')).to.equal(null);
      for (const nul of ['a\u0000b', 'tab\u0009ok?', 'del\u007f']) {
        const withControl = await caller.call(conf, caller.bearer(hsToken({ nick: nul }), [['x-nick', 'spoof']]));
        expectPass(withControl);
        expect(withControl.headerChange('x-nick'), JSON.stringify(nul)).to.equal(null);
      }
      const record = await waitForRecord(runner, (r) => r['msg'] === 'claim values with control characters were not forwarded');
      expect(record['claims']).to.deep.equal(['nick']);
    });

    it('payload_header carries the whole verified payload as base64url JSON, and is anti-spoofed', async () => {
      const withPayload = { ...hs256, payload_header: 'X-Jwt-Payload' };
      const token = hsToken({ scope: 'a b' });
      const reply = await caller.call(withPayload, caller.bearer(token, [['x-jwt-payload', b64u({ sub: 'root' })]]));
      expectPass(reply);
      const forwarded = JSON.parse(Buffer.from(reply.headerChange('x-jwt-payload') ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
      expect(forwarded).to.deep.equal(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')));
      const denied = await caller.call({ ...withPayload, mode: 'report_only' }, { headers: [['x-jwt-payload', b64u({ sub: 'root' })]] });
      expect(denied.headerChange('x-jwt-payload')).to.equal(null);
    });

    it('hide_credentials: default true removes the token header; false forwards it', async () => {
      const token = hsToken();
      expect((await caller.call(hs256, caller.bearer(token))).headerChange('authorization')).to.equal(null);
      const kept = await caller.call({ ...hs256, hide_credentials: false }, caller.bearer(token));
      expectPass(kept);
      expect(kept.headerChange('authorization')).to.equal(undefined);
      const keptQuery = await caller.call({ ...hs256, query: 't', hide_credentials: false }, { args: [['t', token]] });
      expectPass(keptQuery);
      expect(keptQuery.argChange('t')).to.equal(undefined);
    });
  });

  describe('mode, anonymous, require_https, error_detail', () => {
    it('report_only never blocks (bad, missing, insufficient), logs the decision without the token, still strips spoofed headers', async () => {
      const conf = { ...hs256, mode: 'report_only', claims_to_headers: { sub: 'x-user-id' }, authorization: { all_of: ['admin'] } };
      const bad = liveToken('HS256', HS512_SECRET);
      const reply = await caller.call(conf, caller.bearer(bad, [['x-user-id', 'mallory']]));
      expectPass(reply);
      expect(reply.headerChange('x-user-id')).to.equal(null);
      expect(reply.headerChange('authorization')).to.equal(null);
      expectPass(await caller.call(conf, {}));
      expectPass(await caller.call(conf, caller.bearer(hsToken({ scope: 'read' }))));
      const routeKey = caller.route(conf).key;
      const wouldDeny = (reason: string) => (r: Record<string, unknown>) =>
        r['msg'] === 'jwt-auth report_only: request would be denied' && r['reason'] === reason && JSON.stringify(r).includes(routeKey);
      for (const reason of ['signature', 'no_token', 'insufficient_scope']) {
        const record = await waitForRecord(runner, wouldDeny(reason));
        expect(JSON.stringify(record)).not.to.include(bad);
      }
      // A fingerprint (not the token) lets an operator correlate the decision; the runner's
      // log redaction must not swallow it.
      const signature = await waitForRecord(runner, wouldDeny('signature'));
      expect(signature['token_fingerprint']).to.equal(tokenFingerprint(bad));
    });

    it('report_only with an ambiguous request (two tokens, repeated header) still hides every token it saw', async () => {
      const conf = { ...hs256, mode: 'report_only', query: 'access_token', cookie: 'jwt' };
      const two = await caller.call(conf, {
        headers: [['authorization', `Bearer ${hsToken({ jti: 'a' })}`], ['cookie', `jwt=${hsToken({ jti: 'b' })}; theme=dark`]],
        args: [['access_token', hsToken({ jti: 'c' })], ['page', '1']],
      });
      expectPass(two);
      expect(two.headerChange('authorization')).to.equal(null);
      expect(two.headerChange('cookie')).to.equal('theme=dark');
      expect(two.argChange('access_token')).to.equal(null);
      expect(two.argChange('page')).to.equal(undefined);
      const repeated = await caller.call(conf, { headers: [['authorization', `Bearer ${hsToken()}`], ['authorization', `Bearer ${hsToken({ jti: 'd' })}`]] });
      expectPass(repeated);
      expect(repeated.headerChange('authorization')).to.equal(null);
    });

    it('anonymous lets requests without a token through (spoofed identity removed) but still rejects bad tokens', async () => {
      const conf = { ...hs256, anonymous: true, claims_to_headers: { sub: 'x-user-id' } };
      const none = await caller.call(conf, { headers: [['x-user-id', 'mallory']] });
      expectPass(none);
      expect(none.headerChange('x-user-id')).to.equal(null);
      expectInvalidToken(await caller.call(conf, caller.bearer(liveToken('HS256', HS512_SECRET))));
      expect((await caller.call(conf, caller.bearer(hsToken()))).headerChange('x-user-id')).to.equal('alice');
    });

    it('require_https reads the scheme variable: http is rejected, https passes', async () => {
      const conf = { ...hs256, require_https: true };
      const plain = await caller.call(conf, { ...caller.bearer(hsToken()), vars: { scheme: 'http' } });
      expectInvalidRequest(plain, 'https required');
      expect(plain.asked('var', 'scheme')).to.equal(true);
      expectPass(await caller.call(conf, { ...caller.bearer(hsToken()), vars: { scheme: 'https' } }));
      // X-Forwarded-Proto is ignored unless trusted.
      expectInvalidRequest(await caller.call(conf, { ...caller.bearer(hsToken(), [['x-forwarded-proto', 'https']]), vars: { scheme: 'http' } }));
    });

    it('trust_forwarded_proto: X-Forwarded-Proto decides when trusted', async () => {
      const conf = { ...hs256, require_https: true, trust_forwarded_proto: true };
      expectPass(await caller.call(conf, { ...caller.bearer(hsToken(), [['x-forwarded-proto', 'https']]), vars: { scheme: 'http' } }));
      expectInvalidRequest(await caller.call(conf, { ...caller.bearer(hsToken(), [['x-forwarded-proto', 'http']]), vars: { scheme: 'https' } }));
    });

    it('error_detail: terse by default, verbose names the check; neither echoes the token', async () => {
      const token = hsToken({ aud: 'elsewhere' });
      const terse = await caller.call({ ...hs256, audience: 'orders' }, caller.bearer(token));
      expectInvalidToken(terse, 'invalid token');
      const verbose = await caller.call({ ...hs256, audience: 'orders', error_detail: 'verbose' }, caller.bearer(token));
      expectInvalidToken(verbose, 'audience not accepted');
      for (const reply of [terse, verbose]) {
        expect(reply.stopBody).not.to.include(token.split('.')[2]!);
        expect(reply.stopHeader('www-authenticate')).not.to.include('elsewhere');
      }
      expect(terse.stopHeader('cache-control')).to.equal('no-store');
    });

    it('max_token_bytes: a larger token is rejected before parsing', async () => {
      const big = hsToken({ padding: 'x'.repeat(400) });
      expectPass(await caller.call(hs256, caller.bearer(big)));
      expectInvalidToken(await caller.call({ ...hs256, max_token_bytes: 256, error_detail: 'verbose' }, caller.bearer(big)), 'token too large');
    });

    it('realm names the protection space in the challenge', async () => {
      expect((await caller.call({ ...hs256, realm: 'orders-api' }, {})).stopHeader('www-authenticate')).to.equal('Bearer realm="orders-api"');
    });
  });

  describe('attacks through the socket', () => {
    const verbose = { ...hs256, error_detail: 'verbose' };

    it('alg none in every spelling is rejected', async () => {
      for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
        const token = `${b64u({ alg, typ: 'JWT' })}.${b64u({ sub: 'admin', exp: nowSeconds() + 600 })}.`;
        expectInvalidToken(await caller.call(verbose, caller.bearer(token)), 'unsigned tokens are not accepted');
      }
    });

    it('HS/RS key confusion: an HS256 token MACed with the RSA public key is rejected even when HS256 is listed', async () => {
      const conf = { algorithms: ['HS256', 'RS256'], secret: HS256_SECRET, public_key: rsa.publicPem, error_detail: 'verbose' };
      const forged = liveToken('HS256', rsa.publicPem);
      expectInvalidToken(await caller.call(conf, caller.bearer(forged)), 'signature invalid');
      expectInvalidToken(await caller.call({ algorithms: ['RS256'], public_key: rsa.publicPem, error_detail: 'verbose' }, caller.bearer(forged)), 'alg not allowed');
      expectPass(await caller.call(conf, caller.bearer(liveToken('RS256', rsa.privateKey))));
    });

    it('embedded jwk / jku / x5u headers never choose the key and are never fetched', async () => {
      const conf = { algorithms: ['RS256'], public_key: rsa.publicPem, error_detail: 'verbose' };
      const withJwk = liveToken('RS256', attacker.privateKey, {}, { jwk: attacker.publicJwk });
      expectInvalidToken(await caller.call(conf, caller.bearer(withJwk)), 'signature invalid');
      const withJku = liveToken('RS256', attacker.privateKey, {}, { jku: attackerJwks.url, kid: 'evil', x5u: attackerJwks.url });
      expectInvalidToken(await caller.call(conf, caller.bearer(withJku)));
      expect(attackerJwks.fetches).to.equal(0);
    });

    it('a JWE (five segments) is rejected where a JWS is expected', async () => {
      const jwe = [b64u({ alg: 'dir', enc: 'A256GCM' }), '', b64u(randomBytes(12)), b64u(randomBytes(32)), b64u(randomBytes(16))].join('.');
      expectInvalidToken(await caller.call(verbose, caller.bearer(jwe)), 'encrypted tokens (JWE) are not accepted');
    });

    it('a tampered payload fails the signature', async () => {
      const [header, , signature] = hsToken({ scope: 'read' }).split('.');
      const tampered = `${header}.${b64u({ sub: 'alice', scope: 'admin', iat: nowSeconds() - 5, exp: nowSeconds() + 600 })}.${signature}`;
      expectInvalidToken(await caller.call(verbose, caller.bearer(tampered)), 'signature invalid');
    });

    it('a token signed by hand with an unknown crit header is rejected', async () => {
      const token = mint({ alg: 'HS256', crit: ['exp'] }, { sub: 'a', exp: nowSeconds() + 600 }, HS256_SECRET);
      expectInvalidToken(await caller.call(verbose, caller.bearer(token)), 'critical header parameters are not supported');
    });
  });

  describe('revocation without Redis on the runner', () => {
    it('revocation.enabled true fails closed (503) with a clear log line; absent means off', async () => {
      const conf = { ...hs256, revocation: { enabled: true } };
      const reply = await caller.call(conf, caller.bearer(hsToken({ jti: 'j-no-redis' })));
      expect(reply.status).to.equal(503);
      expect(reply.stopJson()).to.deep.equal({ error: 'temporarily_unavailable', error_description: 'revocation store not configured' });
      const routeKey = caller.route(conf).key;
      await waitForRecord(
        runner,
        (r) => r['level'] === 'error' && r['routeKey'] === routeKey && String(r['msg']).includes('the runner has no redis configured'),
      );
      // Without a store the default is off: a token without jti passes.
      expectPass(await caller.call(hs256, caller.bearer(hsToken({ jti: undefined }))));
    });
  });

  describe('revocation with a real redis-server', () => {
    let redis: RedisServerHandle;
    let revocationCaller: RouteCaller;
    let admin: Redis;
    const prefix = 'jwt:revoked:';
    const uniqueJti = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;

    before(async function () {
      this.timeout(30_000);
      redis = await startRedisServer();
      redisRunner = await RunnerProcess.start({
        configYaml: ['log:', '  level: trace', 'redis:', `  url: "${redis.url}"`, '  command_timeout_ms: 200', ''].join('\n'),
      });
      revocationCaller = new RouteCaller(redisRunner.socketPath, ledger);
      admin = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
      await admin.connect();
    });

    after(async () => {
      revocationCaller?.close();
      admin?.disconnect();
      await redisRunner?.cleanup();
      await redis?.stop();
    });

    it('is on by default when the runner has Redis: a revoked jti gets 401 "token revoked" (plain SET)', async () => {
      const jti = uniqueJti('revoked');
      await admin.set(`${prefix}${jti}`, '1', 'EX', 600);
      expectInvalidToken(await revocationCaller.call(hs256, caller.bearer(hsToken({ jti }))), 'token revoked');
      expectPass(await revocationCaller.call(hs256, caller.bearer(hsToken({ jti: uniqueJti('fine') }))));
      // revocation.enabled false: the revoked token passes.
      expectPass(await revocationCaller.call({ ...hs256, revocation: { enabled: false } }, caller.bearer(hsToken({ jti }))));
    });

    it('subject watermark: tokens of the subject issued at or before it are rejected', async () => {
      const now = nowSeconds();
      await admin.set(`${prefix}sub:bob`, String(now - 60), 'EX', 600);
      expectInvalidToken(await revocationCaller.call(hs256, caller.bearer(hsToken({ sub: 'bob', jti: uniqueJti('old'), iat: now - 120 }))), 'token revoked');
      expectPass(await revocationCaller.call(hs256, caller.bearer(hsToken({ sub: 'bob', jti: uniqueJti('new'), iat: now - 5 }))));
      expectPass(await revocationCaller.call(hs256, caller.bearer(hsToken({ sub: 'carol', jti: uniqueJti('other'), iat: now - 120 }))));
    });

    it('a token without jti: rejected by default, accepted with on_missing_jti accept', async () => {
      const token = hsToken({ jti: undefined });
      expectInvalidToken(await revocationCaller.call({ ...hs256, error_detail: 'verbose' }, caller.bearer(token)), 'jti is required');
      expectPass(await revocationCaller.call({ ...hs256, revocation: { on_missing_jti: 'accept' } }, caller.bearer(token)));
    });

    it('Redis down: on_store_error deny answers 503 JSON, allow lets the token through and logs it', async () => {
      const deny = { ...hs256, revocation: { on_store_error: 'deny' } };
      const allow = { ...hs256, revocation: { on_store_error: 'allow' } };
      // Prepare both routes while Redis is up, then take it away.
      expectPass(await revocationCaller.call(deny, caller.bearer(hsToken({ jti: uniqueJti('up') }))));
      expectPass(await revocationCaller.call(allow, caller.bearer(hsToken({ jti: uniqueJti('up') }))));
      admin.disconnect();
      await redis.kill();

      const denied = await revocationCaller.call(deny, caller.bearer(hsToken({ jti: uniqueJti('down') })));
      expect(denied.status).to.equal(503);
      expect(denied.stopHeader('content-type')).to.match(/^application\/json/);
      expect(denied.stopJson()).to.deep.equal({ error: 'temporarily_unavailable', error_description: 'revocation status unavailable' });
      const defaulted = await revocationCaller.call(hs256, caller.bearer(hsToken({ jti: uniqueJti('down') })));
      expect(defaulted.status).to.equal(503);

      expectPass(await revocationCaller.call(allow, caller.bearer(hsToken({ jti: uniqueJti('down') }))));
      await waitForRecord(redisRunner!, (r) => r['msg'] === 'revocation store unavailable; allowed by on_store_error');
    });
  });

  describe('logs', () => {
    it('no log line at any level contains a token or secret used in these tests', async () => {
      // Stop both runners so every line they wrote has been read.
      await runner.stop();
      if (redisRunner !== null) await redisRunner.stop();
      const lines = [...runner.lines, ...(redisRunner?.lines ?? [])];
      expect(lines.length).to.be.greaterThan(20);
      expect(ledger.size).to.be.greaterThan(100);
      expect(ledger.leaksIn(lines)).to.deep.equal([]);
    });
  });
});
