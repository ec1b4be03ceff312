/**
 * `token`: mint a signed JWT from a given key, for local testing and demos only.
 * Production tokens come from an identity provider; this command exists so a
 * developer can exercise a route (`curl -H "Authorization: Bearer $(…)"`).
 */
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { SignJWT, type JWTPayload } from 'jose';
import { JWS_ALGORITHMS, type JwsAlgorithm } from '../../plugins/jwt-auth/algorithms.js';
import { parsePositiveInt } from '../../plugins/jwt-auth/revocation/admin.js';
import { ErrorCode, RunnerError } from '../../runner/errors.js';
import { atMostOne, endWithError, exitTwoOnUsageErrors, usageError } from '../lib/exit.js';

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

/** Shortest HMAC secret per algorithm: the hash output size (RFC 7518 section 3.2). */
const MIN_HMAC_SECRET_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/** Claims a flag sets; `--claim` may not set them as well. */
const FLAG_CLAIMS = { iss: '--iss', aud: '--aud', sub: '--sub', scope: '--scope' } as const;

interface TokenFlags {
  alg: string;
  secret?: string;
  secretFile?: string;
  base64Secret?: boolean;
  keyFile?: string;
  iss?: string;
  aud?: string[];
  sub?: string;
  scope?: string;
  jti: string | false;
  ttl: string;
  claim?: string[];
  kid?: string;
}

export function registerTokenCommand(program: Command): void {
  const command = program
    .command('token')
    .description(
      'print a signed JWT (for local testing and demos only: production tokens come from your identity provider)',
    )
    .option('--alg <alg>', `signing algorithm: ${JWS_ALGORITHMS.join(', ')}`, 'HS256')
    .option('--secret <text>', 'HMAC secret (HS*); at least 32/48/64 bytes for HS256/384/512. Prefer --secret-file: flags end up in shell history')
    .option('--secret-file <path>', 'file holding the HMAC secret (one trailing newline is ignored, as the runner does)')
    .option('--base64-secret', 'the secret is base64 text (like a provider with base64_secret: true)')
    .option('--key-file <pem>', 'PEM private key for RS*, PS*, ES*, EdDSA (PKCS#8, PKCS#1 or SEC1)')
    .option('--iss <issuer>', 'iss claim')
    .option('--aud <audience>', 'aud claim; repeat for several audiences', collect)
    .option('--sub <subject>', 'sub claim')
    .option('--scope <scopes>', 'scope claim: space-separated scopes, e.g. "orders:read orders:write"')
    .option('--jti <id>', 'jti claim; "auto" generates a random UUID', 'auto')
    .option('--no-jti', 'omit the jti claim')
    .option('--ttl <seconds>', 'lifetime: exp = now + ttl', String(DEFAULT_TOKEN_TTL_SECONDS))
    .option('--claim <name=value>', 'extra claim; the value is read as JSON when it parses (123, true, ["a"]) and as a string otherwise; repeatable. Overrides iat/exp/jti', collect)
    .option('--kid <kid>', 'kid header parameter')
    .action(async (flags: TokenFlags) => {
      try {
        const token = await mintToken(flags, Math.floor(Date.now() / 1000));
        process.stdout.write(`${token}\n`);
      } catch (err) {
        endWithError(err);
      }
    });
  exitTwoOnUsageErrors(command);
}

/** One audience as a string (the common form), several as an array. */
function singleOrList(values: string[]): string | string[] {
  const [first, ...rest] = values;
  return first !== undefined && rest.length === 0 ? first : values;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function mintToken(flags: TokenFlags, now: number): Promise<string> {
  const alg = parseAlgorithm(flags.alg);
  const ttl = parsePositiveInt('--ttl', flags.ttl);
  const key = await signingKey(alg, flags);

  const computed: JWTPayload = { iat: now, exp: now + ttl };
  if (flags.jti !== false) computed.jti = flags.jti === 'auto' ? randomUUID() : flags.jti;
  const payload: JWTPayload = { ...computed, ...parseClaims(flags) };
  if (flags.iss !== undefined) payload.iss = flags.iss;
  if (flags.aud !== undefined) payload.aud = singleOrList(flags.aud);
  if (flags.sub !== undefined) payload.sub = flags.sub;
  if (flags.scope !== undefined) payload['scope'] = flags.scope;

  const header = { alg, typ: 'JWT', ...(flags.kid === undefined ? {} : { kid: flags.kid }) };
  try {
    return await new SignJWT(payload).setProtectedHeader(header).sign(key);
  } catch (cause) {
    // jose names the mismatch (key type, RSA size); its messages never contain key material.
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new RunnerError(ErrorCode.CLI_USAGE, `cannot sign with ${alg} using the given key: ${reason}`, { cause });
  }
}

function parseAlgorithm(text: string): JwsAlgorithm {
  const alg = JWS_ALGORITHMS.find((candidate) => candidate === text);
  if (alg === undefined) throw usageError(`--alg must be one of ${JWS_ALGORITHMS.join(', ')}`);
  return alg;
}

async function signingKey(alg: JwsAlgorithm, flags: TokenFlags): Promise<Uint8Array | KeyObject> {
  const given = flags as unknown as Record<string, unknown>;
  atMostOne(given, ['secret', 'secretFile', 'keyFile']);
  const hmacBytes = MIN_HMAC_SECRET_BYTES[alg];
  if (hmacBytes !== undefined) {
    if (flags.keyFile !== undefined) throw usageError(`${alg} signs with a secret: use --secret or --secret-file, not --key-file`);
    const text = flags.secret ?? (flags.secretFile === undefined ? undefined : await readKeyFile('--secret-file', flags.secretFile));
    if (text === undefined) throw usageError(`${alg} needs --secret or --secret-file`);
    const secret = flags.base64Secret === true ? decodeBase64(text) : new TextEncoder().encode(text);
    if (secret.length < hmacBytes) {
      throw usageError(`the ${alg} secret is ${secret.length} bytes; it must be at least ${hmacBytes} bytes (the hash size)`);
    }
    return secret;
  }
  if (flags.secret !== undefined || flags.secretFile !== undefined) {
    throw usageError(`${alg} signs with a private key: use --key-file, not --secret/--secret-file`);
  }
  if (flags.keyFile === undefined) throw usageError(`${alg} needs --key-file with a PEM private key`);
  const pem = await readKeyFile('--key-file', flags.keyFile);
  try {
    return createPrivateKey(pem);
  } catch (cause) {
    // Node's message can quote PEM fragments; say only what was expected.
    throw new RunnerError(ErrorCode.CLI_USAGE, `--key-file ${flags.keyFile} does not hold a PEM private key`, { cause });
  }
}

async function readKeyFile(flag: string, file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'read error';
    throw new RunnerError(ErrorCode.CLI_USAGE, `${flag}: cannot read ${file} (${code})`, { cause });
  }
}

function decodeBase64(text: string): Uint8Array {
  const normalized = text.trim().replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(normalized)) throw usageError('--base64-secret: the secret is not base64 text');
  return new Uint8Array(Buffer.from(normalized, 'base64'));
}

/** `--claim name=value` pairs; a name a dedicated flag also sets is a conflict. */
function parseClaims(flags: TokenFlags): Record<string, unknown> {
  const entries: Array<[string, unknown]> = [];
  for (const pair of flags.claim ?? []) {
    const eq = pair.indexOf('=');
    const name = eq > 0 ? pair.slice(0, eq) : '';
    if (name === '') throw usageError('--claim must be name=value with a non-empty name');
    if (Object.hasOwn(FLAG_CLAIMS, name) && flags[name as keyof typeof FLAG_CLAIMS] !== undefined) {
      throw usageError(`--claim ${name}=… conflicts with ${FLAG_CLAIMS[name as keyof typeof FLAG_CLAIMS]}; give only one`);
    }
    entries.push([name, claimValue(pair.slice(eq + 1))]);
  }
  // fromEntries defines own properties, so a claim named __proto__ stays a claim.
  return Object.fromEntries(entries);
}

function claimValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
