/**
 * The JWS algorithms jwt-auth accepts and what each one requires of a key.
 * `none` is deliberately absent: it can never be listed, so it can never pass.
 */

import { JWS_ALGORITHMS, type JwsAlgorithm } from '../../runner/plugin-api/index.js';

/** JWS `alg` values a route may list in `algorithms` (the runner's list, shared with providers). */
export { JWS_ALGORITHMS, type JwsAlgorithm };

/** The key family an algorithm is pinned to. */
export type KeyFamily = 'oct' | 'RSA' | 'EC' | 'OKP';

export interface AlgorithmSpec {
  readonly family: KeyFamily;
  /** HMAC: the minimum secret length in bytes (the hash output size, RFC 7518 section 3.2). */
  readonly minSecretBytes?: number;
  /** EC / OKP: the only curve this algorithm may use. */
  readonly curve?: string;
}

const SPECS: Readonly<Record<JwsAlgorithm, AlgorithmSpec>> = {
  HS256: { family: 'oct', minSecretBytes: 32 },
  HS384: { family: 'oct', minSecretBytes: 48 },
  HS512: { family: 'oct', minSecretBytes: 64 },
  RS256: { family: 'RSA' },
  RS384: { family: 'RSA' },
  RS512: { family: 'RSA' },
  PS256: { family: 'RSA' },
  PS384: { family: 'RSA' },
  PS512: { family: 'RSA' },
  ES256: { family: 'EC', curve: 'P-256' },
  ES384: { family: 'EC', curve: 'P-384' },
  ES512: { family: 'EC', curve: 'P-521' },
  EdDSA: { family: 'OKP', curve: 'Ed25519' },
  Ed25519: { family: 'OKP', curve: 'Ed25519' },
};

/** Smallest RSA modulus accepted for RS and PS algorithms (RFC 7518 section 3.3). */
export const MIN_RSA_MODULUS_BITS = 2048;

const KNOWN = new Set<string>(JWS_ALGORITHMS);

export function isJwsAlgorithm(value: unknown): value is JwsAlgorithm {
  return typeof value === 'string' && KNOWN.has(value);
}

export function algorithmSpec(alg: JwsAlgorithm): AlgorithmSpec {
  return SPECS[alg];
}

export function isHmacAlgorithm(alg: JwsAlgorithm): boolean {
  return SPECS[alg].family === 'oct';
}
