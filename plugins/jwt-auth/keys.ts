/**
 * Key import and key selection.
 *
 * Keys are imported once (per conf token, per provider, per JWK Set fetch): jose
 * imports each JWK for one algorithm, and the result is kept as a node:crypto
 * `KeyObject` pinned to that algorithm ({@link PinnedKey}), so the request path never
 * parses a key and checks signatures synchronously. The token header only *filters* the configured keys (by `alg` family and
 * `kid`); its `jwk`, `jku`, `x5u` and `x5c` parameters are never read, so a token can
 * never choose or supply its own key.
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { CryptoKey, JWK } from 'jose';
import { PinnedKey } from './signature.js';
import { ErrorCode, RunnerError } from '../../runner/plugin-api/index.js';
import {
  algorithmSpec,
  MIN_RSA_MODULUS_BITS,
  type JwsAlgorithm,
  type KeyFamily,
} from './algorithms.js';
import { decodeCanonicalBase64url } from './base64url.js';
import { isRecord } from './claims.js';

/** One configured key, ready to verify the algorithms it is pinned to. */
export interface VerificationKey {
  /** `kid` of the key, or null when it has none. */
  readonly kid: string | null;
  readonly family: KeyFamily;
  /** One pinned key per algorithm this key may verify; an algorithm not in the map is never tried. */
  readonly byAlgorithm: ReadonlyMap<JwsAlgorithm, PinnedKey>;
}

/** Most keys tried for one token, so a kid-less token against a large set stays cheap. */
export const MAX_CANDIDATE_KEYS = 8;

/**
 * The keys that may verify a token with this `alg` and `kid`: keys of the algorithm's
 * family only; with a `kid`, keys with that exact `kid`, or, when none has it, keys
 * without a `kid`.
 */
export function selectKeys(
  keys: readonly VerificationKey[],
  alg: JwsAlgorithm,
  kid: string | null,
): VerificationKey[] {
  const compatible = keys.filter((key) => key.byAlgorithm.has(alg));
  let chosen = compatible;
  if (kid !== null) {
    const exact = compatible.filter((key) => key.kid === kid);
    chosen = exact.length > 0 ? exact : compatible.filter((key) => key.kid === null);
  }
  return chosen.length > MAX_CANDIDATE_KEYS ? chosen.slice(0, MAX_CANDIDATE_KEYS) : chosen;
}

/**
 * jose is imported on first use: a runner whose routes only use HMAC secrets never
 * needs it (it is ~180 modules, several MiB of the runner's resident memory).
 */
let jose: Promise<typeof import('jose')> | null = null;
function loadJose(): Promise<typeof import('jose')> {
  jose ??= import('jose');
  return jose;
}

/** How a malformed or unusable key is treated: config errors for inline keys, skipped for remote sets. */
export type KeyProblemPolicy = 'throw' | 'skip';

function configError(field: string, expected: string, cause?: unknown): RunnerError {
  return new RunnerError(ErrorCode.CONFIG_INVALID, `${field}: ${expected}`, cause === undefined ? {} : { cause });
}

/**
 * Import an HMAC secret for every HS algorithm listed. Throws when no HS algorithm is
 * listed or when the secret is shorter than the hash output of any listed HS algorithm
 * (RFC 7518 section 3.2). Messages give lengths, never the secret.
 */
export async function importSecretKey(
  secret: Uint8Array,
  algorithms: readonly JwsAlgorithm[],
  field: string,
  kid: string | null = null,
): Promise<VerificationKey> {
  const hmacAlgs = algorithms.filter((alg) => algorithmSpec(alg).family === 'oct');
  if (hmacAlgs.length === 0) {
    throw configError(field, 'a secret is given but `algorithms` lists no HS algorithm');
  }
  const byAlgorithm = new Map<JwsAlgorithm, PinnedKey>();
  for (const alg of hmacAlgs) {
    const minBytes = algorithmSpec(alg).minSecretBytes ?? 0;
    if (secret.length < minBytes) {
      throw configError(field, `must be at least ${minBytes} bytes for ${alg} (got ${secret.length} bytes)`);
    }
    byAlgorithm.set(alg, PinnedKey.secret(alg, secret));
  }
  return { kid, family: 'oct', byAlgorithm };
}

/** Decode a configured secret: UTF-8 text, or base64 (either alphabet, padding optional). */
export function decodeSecret(secret: string, base64: boolean, field: string): Uint8Array {
  if (!base64) {
    return Buffer.from(secret, 'utf8');
  }
  const normalized = secret.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  const bytes = decodeCanonicalBase64url(normalized);
  if (bytes === null || bytes.length === 0) {
    throw configError(field, 'expected base64 text (base64_secret is true)');
  }
  return bytes;
}

const NODE_CURVE_TO_JWK: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

function publicKeyFromPem(pem: string, field: string): KeyObject {
  if (/PRIVATE KEY-----/.test(pem)) {
    throw configError(field, 'expected a public key or certificate, got a private key');
  }
  try {
    if (pem.includes('-----BEGIN CERTIFICATE-----')) {
      return new X509Certificate(pem).publicKey;
    }
    return createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw configError(field, 'expected a PEM public key (SPKI or PKCS#1) or an X.509 certificate', cause);
  }
}

/** Import a PEM public key or certificate for every listed algorithm its type fits. */
export async function importPemKey(
  pem: string,
  algorithms: readonly JwsAlgorithm[],
  field: string,
): Promise<VerificationKey> {
  const keyObject = publicKeyFromPem(pem, field);
  let jwk: JWK;
  try {
    jwk = keyObject.export({ format: 'jwk' }) as JWK;
  } catch (cause) {
    throw configError(field, 'unsupported key type (use RSA, EC P-256/P-384/P-521 or Ed25519)', cause);
  }
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = NODE_CURVE_TO_JWK[String(keyObject.asymmetricKeyDetails?.namedCurve)];
    if (curve === undefined) {
      throw configError(field, 'unsupported EC curve (use P-256, P-384 or P-521)');
    }
  }
  const key = await importJwkKey(jwk as Record<string, unknown>, algorithms, field, 'throw');
  if (key === null) {
    throw configError(field, 'key could not be imported');
  }
  return key;
}

function modulusBits(n: Buffer): number {
  let start = 0;
  while (start < n.length && n[start] === 0) start += 1;
  const first = n[start];
  if (first === undefined) return 0;
  return (n.length - start - 1) * 8 + (32 - Math.clz32(first));
}

function b64Member(jwk: Record<string, unknown>, name: string): Buffer | null {
  const value = jwk[name];
  return typeof value === 'string' ? decodeCanonicalBase64url(value) : null;
}

/** The public members of a JWK; private members (`d`, `p`, ...) are dropped so only verification keys exist. */
function publicJwk(jwk: Record<string, unknown>, family: KeyFamily): JWK {
  switch (family) {
    case 'RSA':
      return { kty: 'RSA', n: jwk['n'] as string, e: jwk['e'] as string };
    case 'EC':
      return { kty: 'EC', crv: jwk['crv'] as string, x: jwk['x'] as string, y: jwk['y'] as string };
    case 'OKP':
      return { kty: 'OKP', crv: jwk['crv'] as string, x: jwk['x'] as string };
    case 'oct':
      return { kty: 'oct' };
  }
}

/**
 * Import one JWK for every listed algorithm it fits (its family, its curve, and its
 * own `alg` when it declares one). With policy `skip`, an unusable key yields null;
 * with `throw`, a config error naming `field`.
 */
export async function importJwkKey(
  jwk: Record<string, unknown>,
  algorithms: readonly JwsAlgorithm[],
  field: string,
  policy: KeyProblemPolicy,
): Promise<VerificationKey | null> {
  const problem = (expected: string, cause?: unknown): null => {
    if (policy === 'throw') throw configError(field, expected, cause);
    return null;
  };
  if (!isRecord(jwk)) return problem('expected a JWK object');
  const kty = jwk['kty'];
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP' && kty !== 'oct') {
    return problem('kty must be RSA, EC, OKP or oct');
  }
  const family: KeyFamily = kty;
  const kid = jwk['kid'];
  if (kid !== undefined && typeof kid !== 'string') return problem('kid must be a string');
  const use = jwk['use'];
  if (use !== undefined && use !== 'sig') return problem('use must be "sig"');
  const keyOps = jwk['key_ops'];
  if (keyOps !== undefined && (!Array.isArray(keyOps) || !keyOps.includes('verify'))) {
    return problem('key_ops must include "verify"');
  }
  const declaredAlg = jwk['alg'];
  if (declaredAlg !== undefined && typeof declaredAlg !== 'string') return problem('alg must be a string');

  const crv = jwk['crv'];
  const fitting = algorithms.filter((alg) => {
    const spec = algorithmSpec(alg);
    if (spec.family !== family) return false;
    if (spec.curve !== undefined && spec.curve !== crv) return false;
    return declaredAlg === undefined || declaredAlg === alg;
  });
  if (fitting.length === 0) {
    const curveText = typeof crv === 'string' ? ` ${crv}` : '';
    return problem(`a ${family}${curveText} key cannot verify any of algorithms [${algorithms.join(', ')}]`);
  }

  if (family === 'oct') {
    const secret = b64Member(jwk, 'k');
    if (secret === null || secret.length === 0) return problem('k must be base64url');
    try {
      return await importSecretKey(secret, fitting, field, typeof kid === 'string' ? kid : null);
    } catch (err) {
      if (policy === 'throw') throw err;
      return null;
    }
  }
  if (family === 'RSA') {
    const n = b64Member(jwk, 'n');
    if (n === null || b64Member(jwk, 'e') === null) return problem('RSA key needs base64url n and e');
    const bits = modulusBits(n);
    if (bits < MIN_RSA_MODULUS_BITS) {
      return problem(`RSA key must have at least ${MIN_RSA_MODULUS_BITS} bits (got ${bits})`);
    }
  } else if (b64Member(jwk, 'x') === null || (family === 'EC' && b64Member(jwk, 'y') === null)) {
    return problem(`${family} key needs base64url coordinates`);
  }

  const byAlgorithm = new Map<JwsAlgorithm, PinnedKey>();
  const pub = publicJwk(jwk, family);
  const { importJWK } = await loadJose();
  for (const alg of fitting) {
    try {
      byAlgorithm.set(alg, PinnedKey.fromCryptoKey(alg, (await importJWK(pub, alg)) as CryptoKey));
    } catch (cause) {
      return problem(`key could not be imported for ${alg}`, cause);
    }
  }
  return { kid: typeof kid === 'string' ? kid : null, family, byAlgorithm };
}

/** Whether a JWK's type, curve and declared `alg` fit at least one listed algorithm. */
function fitsAnyAlgorithm(jwk: Record<string, unknown>, algorithms: readonly JwsAlgorithm[]): boolean {
  return algorithms.some((alg) => {
    const spec = algorithmSpec(alg);
    return (
      spec.family === jwk['kty'] &&
      (spec.curve === undefined || spec.curve === jwk['crv']) &&
      (jwk['alg'] === undefined || jwk['alg'] === alg)
    );
  });
}

/** Import every key of a JWK Set; with policy `skip` unusable keys are left out. */
export async function importJwkSet(
  set: unknown,
  algorithms: readonly JwsAlgorithm[],
  field: string,
  policy: KeyProblemPolicy,
): Promise<VerificationKey[]> {
  if (!isRecord(set) || !Array.isArray(set['keys'])) {
    if (policy === 'throw') throw configError(field, 'expected a JWK Set object with a "keys" array');
    return [];
  }
  const keys: VerificationKey[] = [];
  for (const [index, jwk] of (set['keys'] as unknown[]).entries()) {
    // A set may hold keys for algorithms this route does not accept: those are left
    // out silently; a malformed key the route could use is still an error.
    if (!isRecord(jwk) || !fitsAnyAlgorithm(jwk, algorithms)) continue;
    const key = await importJwkKey(jwk, algorithms, `${field}.keys[${index}]`, policy);
    if (key !== null) keys.push(key);
  }
  return keys;
}
