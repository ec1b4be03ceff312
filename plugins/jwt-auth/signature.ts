/**
 * Signature checks on the request path: node:crypto, synchronous, with a `KeyObject`
 * prepared once per key and algorithm.
 *
 * Why not jose's `compactVerify` here: jose verifies through WebCrypto, and every
 * WebCrypto call is an asynchronous job (promise, algorithm normalisation, webidl
 * conversions, a trip through the libuv threadpool). The bench profile of cold HS256
 * calls charged 35-41 % of the runner's busy time to that dispatch, several times the
 * cost of the HMAC itself; for RS/ES/EdDSA the threadpool hop also takes CPU from the
 * event loop on a small machine. jose still parses and imports every key (JWK, PEM via
 * JWK) and decides what a key may be used for; only the final signature comparison is
 * done here, with the algorithm pinned to the key, never taken from the token.
 */
import {
  constants,
  createHmac,
  createSecretKey,
  KeyObject,
  timingSafeEqual,
  verify as verifyWithKey,
  type VerifyKeyObjectInput,
  type VerifyPublicKeyInput,
} from 'node:crypto';
import type { CryptoKey } from 'jose';
import { algorithmSpec, type JwsAlgorithm } from './algorithms.js';

type Scheme = 'hmac' | 'pkcs1' | 'pss' | 'ecdsa' | 'eddsa';

/** Hash output size in bytes by the JWS algorithm's size suffix. */
const HASH_BYTES: Readonly<Record<string, number>> = { '256': 32, '384': 48, '512': 64 };

/** ECDSA signature size (R || S, RFC 7518 section 3.4) by curve. */
const ECDSA_SIGNATURE_BYTES: Readonly<Record<string, number>> = { 'P-256': 64, 'P-384': 96, 'P-521': 132 };

/** Ed25519 signature size (RFC 8032). */
const EDDSA_SIGNATURE_BYTES = 64;

function schemeOf(alg: JwsAlgorithm): Scheme {
  switch (algorithmSpec(alg).family) {
    case 'oct':
      return 'hmac';
    case 'RSA':
      return alg.startsWith('PS') ? 'pss' : 'pkcs1';
    case 'EC':
      return 'ecdsa';
    case 'OKP':
      return 'eddsa';
  }
}

/**
 * One key bound to one JWS algorithm, ready to check signatures synchronously. The
 * hash, padding, salt length and signature encoding all come from the algorithm the
 * key was prepared for.
 */
export class PinnedKey {
  readonly alg: JwsAlgorithm;
  readonly #scheme: Scheme;
  /** node:crypto digest name (`sha256`...); null for EdDSA, which hashes internally. */
  readonly #hash: string | null;
  /** The key as `crypto.verify` wants it, options object built once (not per call). */
  readonly #verifyKey: KeyObject | VerifyKeyObjectInput | VerifyPublicKeyInput;
  readonly #secret: KeyObject | null;
  /** The only signature length this key can produce; anything else is refused before the crypto. */
  readonly #signatureBytes: number;

  private constructor(
    alg: JwsAlgorithm,
    key: KeyObject,
    verifyKey: KeyObject | VerifyKeyObjectInput | VerifyPublicKeyInput,
    signatureBytes: number,
  ) {
    this.alg = alg;
    this.#scheme = schemeOf(alg);
    this.#hash = this.#scheme === 'eddsa' ? null : `sha${alg.slice(2)}`;
    this.#verifyKey = verifyKey;
    this.#secret = this.#scheme === 'hmac' ? key : null;
    this.#signatureBytes = signatureBytes;
  }

  /** An HMAC secret for an HS algorithm (length rules are checked by the caller). */
  static secret(alg: JwsAlgorithm, secret: Uint8Array): PinnedKey {
    if (schemeOf(alg) !== 'hmac') throw new TypeError(`${alg} is not an HMAC algorithm`);
    const key = createSecretKey(secret);
    return new PinnedKey(alg, key, key, HASH_BYTES[alg.slice(2)] ?? 0);
  }

  /**
   * A public key imported by jose for `alg` (WebCrypto `CryptoKey`), turned into a
   * `KeyObject` once. The key's type must fit the algorithm's family and curve.
   */
  static fromCryptoKey(alg: JwsAlgorithm, cryptoKey: CryptoKey): PinnedKey {
    return PinnedKey.publicKey(alg, KeyObject.from(cryptoKey as Parameters<typeof KeyObject.from>[0]));
  }

  /** A public `KeyObject` for an RS, PS, ES or EdDSA algorithm. */
  static publicKey(alg: JwsAlgorithm, key: KeyObject): PinnedKey {
    if (key.type !== 'public') throw new TypeError('expected a public key');
    const spec = algorithmSpec(alg);
    const keyType = key.asymmetricKeyType;
    const details = key.asymmetricKeyDetails;
    switch (schemeOf(alg)) {
      case 'pkcs1':
      case 'pss': {
        if (keyType !== 'rsa' && keyType !== 'rsa-pss') throw new TypeError(`${alg} needs an RSA key`);
        const modulusBits = details?.modulusLength ?? 0;
        const verifyKey: VerifyKeyObjectInput =
          schemeOf(alg) === 'pss'
            ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_BYTES[alg.slice(2)] ?? 0 }
            : { key, padding: constants.RSA_PKCS1_PADDING };
        return new PinnedKey(alg, key, verifyKey, Math.ceil(modulusBits / 8));
      }
      case 'ecdsa': {
        const curve = NODE_CURVES[String(details?.namedCurve)];
        if (keyType !== 'ec' || curve === undefined || curve !== spec.curve) {
          throw new TypeError(`${alg} needs an EC ${String(spec.curve)} key`);
        }
        return new PinnedKey(alg, key, { key, dsaEncoding: 'ieee-p1363' }, ECDSA_SIGNATURE_BYTES[curve] ?? 0);
      }
      case 'eddsa':
        if (keyType !== 'ed25519') throw new TypeError(`${alg} needs an Ed25519 key`);
        return new PinnedKey(alg, key, key, EDDSA_SIGNATURE_BYTES);
      case 'hmac':
        throw new TypeError(`${alg} needs a secret, not a public key`);
    }
  }

  /**
   * Whether `signature` is this key's signature of `signingInput` (the ASCII text
   * `header.payload`). Never throws: a malformed signature is simply not a match.
   */
  verify(signingInput: string, signature: Uint8Array): boolean {
    if (signature.length !== this.#signatureBytes) return false;
    try {
      if (this.#secret !== null) {
        const expected = createHmac(this.#hash as string, this.#secret).update(signingInput, 'latin1').digest();
        return timingSafeEqual(expected, signature);
      }
      return verifyWithKey(this.#hash, Buffer.from(signingInput, 'latin1'), this.#verifyKey, signature);
    } catch {
      return false;
    }
  }
}

/** OpenSSL curve names as node:crypto reports them, to JOSE curve names. */
const NODE_CURVES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};
