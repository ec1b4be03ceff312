/**
 * Fuzz target for jwt-auth route conf handling: the JSON text a route carries,
 * parsed, validated against the plugin's schema (ajv with the registry's options:
 * defaults applied, unknown fields rejected) and prepared (keys imported, issuers
 * bound, headers checked), exactly as PrepareConf does — both directly and through
 * the runner's PluginRegistry.
 *
 * Inputs are valid confs from a corpus (secret, base64 secret, PEM keys, inline JWK
 * Sets, jwks_uri, a provider, issuers, claims mappings, authorization) mutated at the
 * value level (set, delete, wrap, string edits, prototype-ish keys, private keys and
 * broken PEM/JWK material) and at the text level, plus random JSON values.
 * Properties:
 * - never a crash: the outcome is invalid JSON, schema faults (non-empty, one line
 *   each), a prepared conf, or a `RunnerError` with `ERR_CONFIG_INVALID` — any other
 *   exception is a finding;
 * - the registry never throws and yields a ready or failed chain, never a fault
 *   produced by an unexpected exception class;
 * - no error message or fault line quotes secret material from the conf.
 *
 * `jwks_uri` prefetches are answered by a fetch stub that refuses at once: the fuzz
 * never touches the network.
 */
import { Ajv, type ErrorObject } from 'ajv';
import fc from 'fast-check';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { jwtAuthConfSchema } from '../../plugins/jwt-auth/conf-schema.js';
import { createJwtAuthPlugin } from '../../plugins/jwt-auth/plugin.js';
import { PluginRegistry } from '../../runner/core/plugin-registry.js';
import { describeSchemaErrors } from '../../runner/schema-errors.js';
import { ErrorCode, isRunnerError } from '../../runner/errors.js';
import type { AnyPlugin, ProviderSettings } from '../../runner/plugin-api/index.js';
import { HS256_SECRET, HS512_SECRET, makeSettings, testKeys } from '../support/jwt-kit.js';
import { Counters, PropertyViolation, errorLabel, runProperty, type FuzzTarget } from './fuzz-target.js';

const PROVIDER_SECRET = 'provider-secret-value-of-at-least-32-bytes';

const PROVIDERS: Record<string, ProviderSettings> = {
  corp: {
    issuer: 'https://corp.test',
    algorithms: ['HS256'],
    secret: { value: PROVIDER_SECRET },
    base64_secret: false,
    allow_insecure_jwks_uri: false,
  },
};

/** Valid confs the mutations start from. */
function corpus(): unknown[] {
  const rsa = testKeys.rsa();
  const ec = testKeys.ec256();
  const ed = testKeys.ed25519();
  return [
    { algorithms: ['HS256'], secret: HS256_SECRET },
    { algorithms: ['HS256', 'HS512'], secret: Buffer.from(HS512_SECRET).toString('base64'), base64_secret: true, issuer: 'https://a.test', audience: ['api', 'web'] },
    { algorithms: ['RS256', 'PS256'], public_key: rsa.publicPem, clock_skew_seconds: 5, required_claims: ['sub', 'realm_access.roles'] },
    { algorithms: ['ES256'], public_key: [ec.publicPem], typ: 'at+jwt', max_token_age_seconds: 600 },
    { algorithms: ['EdDSA', 'ES256'], jwks: { keys: [{ ...ed.publicJwk, kid: 'd1' }, { ...ec.publicJwk, kid: 'e1', use: 'sig' }] } },
    { algorithms: ['RS256'], jwks_uri: 'https://127.0.0.1:1/jwks.json', jwks_cache_seconds: 60, jwks_timeout_ms: 100 },
    { algorithms: ['HS256'], provider: 'corp', audience: 'api' },
    {
      algorithms: ['HS256', 'ES256'],
      issuers: [
        { issuer: 'https://one.test', secret: HS256_SECRET },
        { issuer: 'https://two.test', public_key: ec.publicPem, audience: 'two' },
        { provider: 'corp' },
      ],
    },
    {
      algorithms: ['HS256'],
      secret: HS256_SECRET,
      header: 'x-token',
      query: 'access_token',
      cookie: 'jwt',
      form_field: 'access_token',
      authorization: { claim: 'realm_access.roles', all_of: ['read'], any_of: ['admin', 'ops'] },
      claims_to_headers: { sub: 'x-user-id', 'realm_access.roles': 'x-roles' },
      payload_header: 'x-jwt-payload',
      hide_credentials: false,
      mode: 'report_only',
      anonymous: true,
      require_https: true,
      trust_forwarded_proto: true,
      realm: 'orders',
      error_detail: 'verbose',
      revocation: { enabled: false, on_store_error: 'allow', on_missing_jti: 'accept' },
      max_token_bytes: 4096,
    },
  ];
}

/** Values that stress the schema and prepare: wrong types, edges, broken or private key material. */
function trickyValues(): unknown[] {
  const rsa = testKeys.rsa();
  const ec = testKeys.ec256();
  const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const privateJwk = ec.privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return [
    '', ' ', 'none', 'NONE', 'HS256', 'RS256', 'ES512', 'EdDSA', 'Ed25519', -1, 0, 1, 255, 256, 600, 601, 65536, 65537, 1e21, 2 ** 53, 0.5,
    null, true, false, [], {}, [''], ['none'], ['HS256', 'HS256'], ['HS384'], ['RS512', 'ES384', 'PS512', 'Ed25519'],
    { keys: [] }, { keys: [{}] }, { keys: [{ kty: 'oct' }] }, { keys: [{ kty: 'oct', k: '' }] }, { keys: [{ kty: 'oct', k: 'c2hvcnQ' }] },
    { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }] }, { keys: [{ kty: 'EC', crv: 'P-256', x: '', y: '' }] }, { keys: [privateJwk] },
    { keys: [{ kty: 'OKP', crv: 'X25519', x: 'AAAA' }] }, { keys: 'nope' },
    privatePem, `-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n`, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    '-----BEGIN RSA PUBLIC KEY-----\n-----END RSA PUBLIC KEY-----', testKeys.rsa1024().publicPem, ec.publicPem, rsa.publicPem,
    'http://127.0.0.1:1/jwks', 'https://', 'https://[::1', 'HTTPS://127.0.0.1:1/x', 'https://a b', 'file:///etc/passwd', 'javascript:alert(1)',
    'corp', 'missing-provider', 'authorization', 'Authorization', 'x-user', 'content-length', 'host', 'X-User-Id', 'x-jwt-payload',
    'a.b', '.', 'a..b', '__proto__', 'constructor', 'toString', 'prototype', 'a\u0000b', 'x\r\ny', 'é', '\ud83d\ude00',
    'a'.repeat(5000), JSON.parse('{"__proto__":{"polluted":true}}') as unknown, { constructor: { prototype: { polluted: true } } },
    { claim: '__proto__', any_of: ['a'] }, { all_of: [] }, { enabled: true }, { on_store_error: 'maybe' },
  ];
}

type ConfEdit =
  | { readonly op: 'set'; readonly at: number; readonly key: string; readonly value: unknown }
  | { readonly op: 'delete'; readonly at: number }
  | { readonly op: 'wrap'; readonly at: number }
  | { readonly op: 'string'; readonly at: number; readonly cut: number; readonly insert: string };

interface Location {
  readonly parent: Record<string, unknown> | unknown[];
  readonly key: string | number;
}

/** Every (parent, key) pair in a JSON tree, the root's own members first. */
function locations(root: unknown, out: Location[] = []): Location[] {
  if (Array.isArray(root)) {
    root.forEach((value, index) => {
      out.push({ parent: root, key: index });
      locations(value, out);
    });
  } else if (typeof root === 'object' && root !== null) {
    for (const [key, value] of Object.entries(root)) {
      out.push({ parent: root as Record<string, unknown>, key });
      locations(value, out);
    }
  }
  return out;
}

function setAt(location: Location, value: unknown): void {
  if (Array.isArray(location.parent)) location.parent[location.key as number] = value;
  else Object.defineProperty(location.parent, location.key, { value, enumerable: true, writable: true, configurable: true });
}

function applyConfEdits(conf: unknown, edits: readonly ConfEdit[]): unknown {
  const root: unknown = JSON.parse(JSON.stringify(conf));
  for (const edit of edits) {
    const all = locations(root);
    const target = all.length === 0 ? undefined : all[edit.at % all.length];
    switch (edit.op) {
      case 'set': {
        // Add a member next to the chosen one (or at the root) under a known or odd key.
        const parent = target === undefined || Array.isArray(target.parent) ? root : target.parent;
        if (typeof parent === 'object' && parent !== null && !Array.isArray(parent)) {
          // A copy: one generated value may be used by several edits, which must not make the tree cyclic.
          setAt({ parent: parent as Record<string, unknown>, key: edit.key }, JSON.parse(JSON.stringify(edit.value) ?? 'null'));
        }
        break;
      }
      case 'delete':
        if (target !== undefined) {
          if (Array.isArray(target.parent)) target.parent.splice(target.key as number, 1);
          else delete target.parent[target.key as string];
        }
        break;
      case 'wrap':
        if (target !== undefined) setAt(target, [(target.parent as Record<string | number, unknown>)[target.key]]);
        break;
      case 'string': {
        if (target === undefined) break;
        const current = (target.parent as Record<string | number, unknown>)[target.key];
        if (typeof current !== 'string') break;
        const cut = edit.cut % (current.length + 1);
        setAt(target, current.slice(0, cut) + edit.insert + current.slice(cut + (edit.cut % 3)));
        break;
      }
    }
  }
  return root;
}

const KEYS = [
  'algorithms', 'secret', 'base64_secret', 'public_key', 'jwks', 'jwks_uri', 'provider', 'allow_insecure_jwks_uri', 'jwks_cache_seconds',
  'jwks_timeout_ms', 'issuers', 'issuer', 'audience', 'clock_skew_seconds', 'required_claims', 'max_token_age_seconds', 'require_exp', 'typ',
  'header', 'query', 'cookie', 'form_field', 'authorization', 'claims_to_headers', 'payload_header', 'hide_credentials', 'mode', 'anonymous',
  'require_https', 'trust_forwarded_proto', 'realm', 'error_detail', 'revocation', 'max_token_bytes', 'keys', 'kty', 'kid', 'alg', 'k', 'claim',
  'all_of', 'any_of', 'enabled', 'sub', '__proto__', 'constructor', 'unknown_field',
];

/** One conf case: a corpus conf with edits, optional text edits, or a random JSON value. */
interface ConfCase {
  readonly base: number;
  readonly edits: readonly ConfEdit[];
  readonly textEdit: { readonly at: number; readonly remove: number; readonly insert: string } | null;
  readonly random: unknown;
}

function confCaseArb(values: readonly unknown[]): fc.Arbitrary<ConfCase> {
  const value = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
  const edit: fc.Arbitrary<ConfEdit> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), key: fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), value }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap' as const), at: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('string' as const),
        at: fc.nat(),
        cut: fc.nat(),
        insert: fc.oneof(fc.constantFrom('', 'A', '=', '\n', '-----', '\u0000', 'é', '..', 'a'.repeat(40)), fc.string({ maxLength: 6 })),
      }),
    },
  );
  return fc.record({
    base: fc.nat(),
    edits: fc.array(edit, { minLength: 0, maxLength: 3 }),
    // One case in six also edits the JSON text; one in twelve is a random JSON value instead of a corpus conf.
    textEdit: fc.oneof(
      { weight: 5, arbitrary: fc.constant(null) },
      {
        weight: 1,
        arbitrary: fc.record({ at: fc.nat(), remove: fc.integer({ min: 0, max: 3 }), insert: fc.constantFrom('', '"', ',', '}', '{', '[', ' ', '\\', 'x', '0', 'null') }),
      },
    ),
    random: fc.oneof({ weight: 11, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<unknown> }),
  });
}

/**
 * Secret strings in a conf that messages must never quote: HMAC secrets and JWK
 * private members, and the body lines of a PEM private key wherever it was pasted
 * (an operator pasting a key into the wrong field must not find it in the log).
 * Public keys and names are not secret.
 */
function secretsIn(conf: unknown, out: string[] = []): string[] {
  if (typeof conf === 'string') {
    if (conf.includes('PRIVATE KEY')) out.push(...conf.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----')));
  } else if (Array.isArray(conf)) {
    for (const item of conf) secretsIn(item, out);
  } else if (typeof conf === 'object' && conf !== null) {
    for (const [key, value] of Object.entries(conf)) {
      // At least 20 characters: a short value ("authorization") also occurs in messages for other reasons.
      if (typeof value === 'string' && ['secret', 'k', 'd', 'p', 'q', 'dp', 'dq', 'qi'].includes(key) && value.length >= 20) out.push(value);
      secretsIn(value, out);
    }
  }
  return out;
}

function assertNoSecret(where: string, text: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    if (text.includes(secret)) throw new PropertyViolation(`${where} quotes secret material from the conf`);
  }
}

/** The conf bench: the plugin (network-free), its compiled schema and a registry holding it. */
export interface ConfFuzzBench {
  readonly plugin: AnyPlugin;
  readonly validate: ReturnType<Ajv['compile']>;
  readonly registry: PluginRegistry;
  readonly corpus: readonly unknown[];
  readonly values: readonly unknown[];
  close(): Promise<void>;
}

export function createConfFuzzBench(): ConfFuzzBench {
  const logger = pino({ level: 'silent' });
  const plugin = createJwtAuthPlugin(
    { settings: makeSettings({ providers: PROVIDERS }), logger, metrics: new Registry() },
    { revocation: null, fetch: () => Promise.reject(new Error('the conf fuzz never fetches')), processEnv: {} },
  ) as unknown as AnyPlugin;
  // The registry's ajv options (runner/core/plugin-registry.ts).
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false });
  const registry = new PluginRegistry(logger);
  registry.register(plugin);
  return {
    plugin,
    validate: ajv.compile(jwtAuthConfSchema),
    registry,
    corpus: corpus(),
    values: trickyValues(),
    close: async () => {
      await plugin.close?.();
    },
  };
}

export function confText(bench: ConfFuzzBench, c: ConfCase): { text: string; conf: unknown } {
  const conf = c.random !== undefined ? c.random : applyConfEdits(bench.corpus[c.base % bench.corpus.length], c.edits);
  let text = JSON.stringify(conf) ?? '';
  if (c.textEdit !== null) {
    const at = c.textEdit.at % (text.length + 1);
    text = text.slice(0, at) + c.textEdit.insert + text.slice(at + c.textEdit.remove);
  }
  return { text, conf };
}

/** Runs one case; returns its outcome class or throws PropertyViolation. */
export async function checkConfCase(bench: ConfFuzzBench, c: ConfCase): Promise<string> {
  const { text, conf } = confText(bench, c);
  const secrets = secretsIn(conf);
  const outcome = await checkDirect(bench, text, secrets);

  let chain;
  try {
    chain = bench.registry.prepareChain('route#fuzz', [{ name: 'jwt-auth', value: text }]);
  } catch (err) {
    throw new PropertyViolation(`PluginRegistry.prepareChain threw ${errorLabel(err)}`, { cause: err });
  }
  const state = chain.state ?? (await chain.pending!);
  if (state.kind === 'failed') {
    for (const fault of state.faults) {
      if (/^prepare failed \(/.test(fault.detail)) throw new PropertyViolation(`registry fault from an unexpected exception: ${fault.detail}`);
      assertNoSecret('registry fault', fault.detail, secrets);
    }
  }
  if ((state.kind === 'ready') !== (outcome === 'prepared')) {
    throw new PropertyViolation(`registry (${state.kind}) and direct preparation (${outcome}) disagree`);
  }
  return outcome;
}

async function checkDirect(bench: ConfFuzzBench, text: string, secrets: readonly string[]): Promise<string> {
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return 'json_invalid';
  }
  if (!bench.validate(parsed)) {
    const lines = describeSchemaErrors(bench.validate.errors);
    if (lines.length === 0 || lines.some((line) => typeof line !== 'string' || line.length === 0 || line.includes('\n'))) {
      throw new PropertyViolation('schema rejected the conf without naming a fault');
    }
    for (const line of lines) assertNoSecret('schema fault', line, secrets);
    return 'schema_rejected';
  }
  try {
    await bench.plugin.prepare!(parsed, { routeKey: 'route#fuzz', logger: pino({ level: 'silent' }) });
    return 'prepared';
  } catch (err) {
    if (!isRunnerError(err, ErrorCode.CONFIG_INVALID)) {
      throw new PropertyViolation(`prepare threw ${errorLabel(err)} instead of ERR_CONFIG_INVALID`, { cause: err });
    }
    assertNoSecret('prepare error', err.message, secrets);
    return 'config_invalid';
  }
}

export { confCaseArb, type ConfCase };

export const confTarget: FuzzTarget = {
  name: 'jwt-conf',
  description:
    'jwt-auth route conf: JSON text -> schema (ajv, defaults) -> prepare, directly and through the PluginRegistry, on mutated valid confs (keys, PEM/JWK material, issuers, providers, headers) and random JSON',
  defaultCases: 1_000_000,
  kind: 'pure',
  async run(options) {
    const counters = new Counters();
    const bench = createConfFuzzBench();
    try {
      return await runProperty(this.name, confCaseArb(bench.values), async (c) => counters.bump(await checkConfCase(bench, c)), options, counters);
    } finally {
      await bench.close();
    }
  },
};
