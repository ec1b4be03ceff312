/**
 * Test kit for jwt-auth: tokens minted by hand with node:crypto (no JWT library), test
 * keys, the runner-like conf validation (same ajv options as the plugin registry), a
 * plugin harness with a frozen clock, and an in-memory revocation checker.
 */
import { createHmac, generateKeyPairSync, sign as cryptoSign, constants, type KeyObject } from 'node:crypto';
import { Ajv } from 'ajv';
import { Registry } from 'prom-client';
import type { PluginEnv, ProviderSettings, RedisSettings, RunnerSettings, Outcome } from '../../runner/plugin-api/index.js';
import { ErrorCode, RunnerError } from '../../runner/plugin-api/index.js';
import { jwtAuthConfSchema, type JwtAuthConf } from '../../plugins/jwt-auth/conf-schema.js';
import { createJwtAuthPlugin, type JwtAuthDeps } from '../../plugins/jwt-auth/plugin.js';
import type { PreparedJwtAuth } from '../../plugins/jwt-auth/prepare.js';
import type { RevocationChecker, RevocationQuery, RevocationStatus } from '../../plugins/jwt-auth/revocation-contract.js';
import { captureLogger, FakeRequest, type FakeRequestInit } from './fake-request.js';

/** A fixed "now" for tests: 2025-01-01T00:00:00Z. */
export const NOW_S = 1_735_689_600;
export const NOW_MS = NOW_S * 1000;

export const HS256_SECRET = 'an-hs256-test-secret-of-32-bytes';
export const HS512_SECRET = 'an-hs512-test-secret-that-is-sixty-four-bytes-long-for-hs512-ok!';

export function b64u(value: string | Uint8Array | object): string {
  if (typeof value === 'string') return Buffer.from(value, 'utf8').toString('base64url');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64url');
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Sign `input` for a JWS `alg` with node:crypto directly. */
export function signInput(alg: string, input: string, key: KeyObject | string | Uint8Array): Buffer {
  const data = Buffer.from(input, 'latin1');
  const bits = alg.slice(2);
  if (alg.startsWith('HS')) return createHmac(HASH[bits] as string, key as string | Uint8Array).update(data).digest();
  if (alg.startsWith('RS')) return cryptoSign(HASH[bits] as string, data, key as KeyObject);
  if (alg.startsWith('PS')) {
    return cryptoSign(HASH[bits] as string, data, {
      key: key as KeyObject,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: Number(bits) / 8,
    });
  }
  if (alg.startsWith('ES')) {
    return cryptoSign(HASH[bits] as string, data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  }
  if (alg === 'EdDSA' || alg === 'Ed25519') return cryptoSign(null, data, key as KeyObject);
  throw new Error(`cannot sign ${alg}`);
}

/** Mint a compact JWS by hand; `header.alg` picks the signature algorithm unless `signAlg` is given. */
export function mint(
  header: Record<string, unknown>,
  payload: Record<string, unknown> | string,
  key: KeyObject | string | Uint8Array,
  signAlg?: string,
): string {
  const input = `${b64u(header)}.${typeof payload === 'string' ? b64u(payload) : b64u(payload)}`;
  return `${input}.${signInput(signAlg ?? String(header['alg']), input, key).toString('base64url')}`;
}

/** An HS256 token with sensible claims, valid at NOW_S. */
export function hsToken(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, secret = HS256_SECRET): string {
  return mint({ alg: 'HS256', typ: 'JWT', ...header }, { sub: 'alice', iat: NOW_S - 10, exp: NOW_S + 600, ...claims }, secret);
}

export interface TestKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicPem: string;
  readonly publicJwk: Record<string, unknown>;
}

const keyCache = new Map<string, TestKeyPair>();

function pair(name: string, make: () => { privateKey: KeyObject; publicKey: KeyObject }): TestKeyPair {
  let cached = keyCache.get(name);
  if (cached === undefined) {
    const { privateKey, publicKey } = make();
    cached = {
      privateKey,
      publicKey,
      publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      publicJwk: publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
    };
    keyCache.set(name, cached);
  }
  return cached;
}

export const testKeys = {
  rsa: () => pair('rsa', () => generateKeyPairSync('rsa', { modulusLength: 2048 })),
  rsa1024: () => pair('rsa1024', () => generateKeyPairSync('rsa', { modulusLength: 1024 })),
  ec256: () => pair('ec256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })),
  ec384: () => pair('ec384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })),
  ec521: () => pair('ec521', () => generateKeyPairSync('ec', { namedCurve: 'P-521' })),
  ed25519: () => pair('ed25519', () => generateKeyPairSync('ed25519')),
};

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false });
const validate = ajv.compile(jwtAuthConfSchema);

/** Validate a conf as the runner does (defaults applied); throws with ajv's errors when invalid. */
export function validateConf(conf: unknown): JwtAuthConf {
  const copy: unknown = JSON.parse(JSON.stringify(conf));
  if (!validate(copy)) {
    throw new Error(`conf rejected by schema: ${ajv.errorsText(validate.errors)}`);
  }
  return copy as JwtAuthConf;
}

/** Whether the schema accepts a conf. */
export function schemaAccepts(conf: unknown): boolean {
  return validate(JSON.parse(JSON.stringify(conf)));
}

export const TEST_REDIS: RedisSettings = {
  url: 'redis://127.0.0.1:1',
  sentinel: null,
  cluster: null,
  key_prefix: 'jwt:revoked:',
  connect_timeout_ms: 100,
  command_timeout_ms: 100,
  cache_ttl_ms: 1000,
};

export function makeSettings(
  options: { providers?: Record<string, ProviderSettings>; redis?: RedisSettings | null } = {},
): RunnerSettings {
  return {
    log: { level: 'silent', file: null },
    socket: { default_path: '/tmp/runner.sock', mode: 0o766 },
    limits: { max_frame_bytes: 16777215, call_timeout_ms: 56000, max_conf_entries: 10000, shutdown_grace_ms: 700 },
    metrics: { enabled: false, host: '127.0.0.1', port: 0 },
    redis: options.redis ?? null,
    providers: options.providers ?? {},
    workers: 1,
  };
}

/** An in-memory revocation checker: revoked jtis, subject watermarks, and a switch to fail. */
export class MemoryRevocationChecker implements RevocationChecker {
  readonly revokedJtis = new Set<string>();
  readonly subjectWatermarks = new Map<string, number>();
  readonly queries: RevocationQuery[] = [];
  failing = false;
  closed = false;

  async check(query: RevocationQuery): Promise<RevocationStatus> {
    this.queries.push(query);
    if (this.failing) {
      throw new RunnerError(ErrorCode.REVOCATION_STORE_UNAVAILABLE, 'store down (test)');
    }
    if (query.jti !== null && this.revokedJtis.has(query.jti)) return 'revoked';
    const watermark = query.sub === null ? undefined : this.subjectWatermarks.get(query.sub);
    if (watermark !== undefined && query.iat !== null && query.iat <= watermark) return 'revoked';
    return 'not_revoked';
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export interface HarnessOptions {
  readonly providers?: Record<string, ProviderSettings>;
  readonly redis?: RedisSettings | null;
  readonly revocation?: RevocationChecker | null;
  readonly nowMs?: number;
  readonly deps?: Partial<JwtAuthDeps>;
}

/** A jwt-auth plugin with a frozen clock, captured logs and its own metrics registry. */
export class JwtHarness {
  readonly metrics = new Registry();
  readonly logs = captureLogger();
  nowMs: number;
  readonly plugin;
  readonly env: PluginEnv;

  constructor(options: HarnessOptions = {}) {
    this.nowMs = options.nowMs ?? NOW_MS;
    this.env = {
      settings: makeSettings({ providers: options.providers ?? {}, redis: options.redis ?? null }),
      logger: this.logs.logger,
      metrics: this.metrics,
    };
    this.plugin = createJwtAuthPlugin(this.env, {
      revocation: options.revocation ?? null,
      now: () => this.nowMs,
      ...options.deps,
    });
  }

  /** Validate (schema, defaults) then prepare. */
  async prepare(conf: unknown, routeKey = 'route#1#ext-plugin-pre-req#1'): Promise<PreparedJwtAuth> {
    const prepare = this.plugin.prepare;
    if (prepare === undefined) throw new Error('jwt-auth has no prepare');
    return prepare(validateConf(conf), { routeKey, logger: this.logs.logger });
  }

  /** Prepare `conf` (or reuse a prepared one) and run one request through onRequest. */
  async call(
    confOrPrepared: unknown,
    init: FakeRequestInit = {},
  ): Promise<{ outcome: Outcome; req: FakeRequest; prepared: PreparedJwtAuth }> {
    const prepared = isPrepared(confOrPrepared) ? confOrPrepared : await this.prepare(confOrPrepared);
    const req = new FakeRequest({ logger: this.logs.logger, ...init });
    const onRequest = this.plugin.onRequest;
    if (onRequest === undefined) throw new Error('jwt-auth has no onRequest');
    const outcome = (await onRequest(req, prepared)) ?? { kind: 'continue' as const };
    return { outcome, req, prepared };
  }

  async metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = await this.metrics.getSingleMetricAsString(name);
    let total = 0;
    for (const line of metric.split('\n')) {
      if (!line.startsWith(name) || line.startsWith('#')) continue;
      if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }

  async close(): Promise<void> {
    await this.plugin.close?.();
  }
}

function isPrepared(value: unknown): value is PreparedJwtAuth {
  return typeof value === 'object' && value !== null && 'verify' in value && 'sources' in value;
}

/** Bearer Authorization header for a token. */
export function bearer(token: string): FakeRequestInit {
  return { headers: [['authorization', `Bearer ${token}`]] };
}

/** Parse a Stop outcome's JSON body. */
export function stopBody(outcome: Outcome): Record<string, unknown> {
  if (outcome.kind !== 'stop' || typeof outcome.body !== 'string') throw new Error(`expected a stop with a body, got ${outcome.kind}`);
  return JSON.parse(outcome.body) as Record<string, unknown>;
}

/** A header of a Stop outcome. */
export function stopHeader(outcome: Outcome, name: string): string | undefined {
  if (outcome.kind !== 'stop') throw new Error('expected a stop');
  return outcome.headers.find(([n]) => n.toLowerCase() === name)?.[1];
}
