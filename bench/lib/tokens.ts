/**
 * Key material and JWT minting for the jwt scenarios, with node:crypto only: the
 * load generator cycles through tokens minted here before the run, because signing
 * inside the measured loop would make the generator the bottleneck. RS256 signing
 * (about 1 ms each) is spread over worker threads.
 */
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Algorithms the suite benchmarks. */
export const BENCH_ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'] as const;
export type BenchAlgorithm = (typeof BENCH_ALGORITHMS)[number];

export const BENCH_ISSUER = 'https://issuer.bench.local/';
export const BENCH_AUDIENCE = 'bench-api';
/** Token lifetime: long enough for any run, including a soak. */
const TOKEN_LIFETIME_SECONDS = 4 * 3600;
/** Below this many signatures, threads cost more than they save. */
const PARALLEL_MINT_THRESHOLD = 2_000;

/** What signs: an HMAC secret or a PEM private key (PKCS#8), so it can cross to a worker thread. */
export interface SigningMaterial {
  readonly alg: BenchAlgorithm;
  /** HS256: the shared secret (ASCII). Others: PKCS#8 PEM private key. */
  readonly signingKey: string;
}

/** Keys of one algorithm: what the runner conf holds and what the minter signs with. */
export interface BenchKeys extends SigningMaterial {
  /** The route conf fields that let the runner verify: `secret` or `public_key`. */
  readonly confKey: { readonly secret: string } | { readonly public_key: string };
}

export function generateBenchKeys(alg: BenchAlgorithm): BenchKeys {
  switch (alg) {
    case 'HS256': {
      const secret = randomBytes(32).toString('hex'); // 64 ASCII bytes, above the 32-byte minimum
      return { alg, signingKey: secret, confKey: { secret } };
    }
    case 'RS256':
      return fromPair(alg, generateKeyPairSync('rsa', { modulusLength: 2048 }));
    case 'ES256':
      return fromPair(alg, generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    case 'EdDSA':
      return fromPair(alg, generateKeyPairSync('ed25519'));
  }
}

function fromPair(alg: BenchAlgorithm, pair: { publicKey: KeyObject; privateKey: KeyObject }): BenchKeys {
  return {
    alg,
    signingKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    confKey: { public_key: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
  };
}

/** The token range to mint: `jti` values are `<prefix><index>`. */
export interface MintRange {
  readonly jtiPrefix: string;
  readonly start: number;
  readonly count: number;
  /** Seconds since the epoch used for `iat`; `exp` follows from it. */
  readonly issuedAt: number;
}

/** Mints `range.count` distinct tokens in this thread. */
export function mintTokensHere(material: SigningMaterial, range: MintRange): string[] {
  const header = Buffer.from(JSON.stringify({ alg: material.alg, typ: 'JWT' })).toString('base64url');
  const signer = signerFor(material);
  const tokens = new Array<string>(range.count);
  for (let i = 0; i < range.count; i++) {
    const index = range.start + i;
    const payload = {
      iss: BENCH_ISSUER,
      aud: BENCH_AUDIENCE,
      sub: `user-${index % 1000}`,
      iat: range.issuedAt,
      exp: range.issuedAt + TOKEN_LIFETIME_SECONDS,
      jti: `${range.jtiPrefix}${index}`,
      scope: 'orders:read orders:write',
    };
    const input = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    tokens[i] = `${input}.${signer(input)}`;
  }
  return tokens;
}

function signerFor(material: SigningMaterial): (input: string) => string {
  switch (material.alg) {
    case 'HS256': {
      const secret = Buffer.from(material.signingKey, 'latin1');
      return (input) => createHmac('sha256', secret).update(input, 'latin1').digest('base64url');
    }
    case 'RS256':
      return (input) => sign('sha256', Buffer.from(input, 'latin1'), material.signingKey).toString('base64url');
    case 'ES256':
      return (input) =>
        sign('sha256', Buffer.from(input, 'latin1'), { key: material.signingKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    case 'EdDSA':
      return (input) => sign(null, Buffer.from(input, 'latin1'), material.signingKey).toString('base64url');
  }
}

/** Mints tokens, in parallel worker threads when there are many slow signatures. */
export async function mintTokens(material: SigningMaterial, range: MintRange): Promise<string[]> {
  const threads = Math.min(availableParallelism(), 8);
  if (material.alg === 'HS256' || range.count < PARALLEL_MINT_THRESHOLD || threads < 2) {
    return mintTokensHere(material, range);
  }
  // PEM strings, not KeyObjects, cross the thread boundary; each thread parses the key once.
  const per = Math.ceil(range.count / threads);
  const parts = await Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const start = range.start + t * per;
      const count = Math.max(0, Math.min(per, range.start + range.count - start));
      return runMintWorker(material, { ...range, start, count });
    }),
  );
  return parts.flat();
}

function runMintWorker(material: SigningMaterial, range: MintRange): Promise<string[]> {
  if (range.count === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./mint-worker.js', import.meta.url), { workerData: { material, range } });
    worker.once('message', (tokens: unknown) => {
      if (Array.isArray(tokens) && tokens.every((t) => typeof t === 'string')) resolve(tokens as string[]);
      else reject(new Error('mint worker answered something other than a token list'));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`mint worker exited with code ${code}`));
    });
  });
}
