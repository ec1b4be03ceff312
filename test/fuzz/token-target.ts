/**
 * Fuzz target for the jwt-auth token path: extraction, parsing, cheap checks, the
 * verified-token cache and the signature check, through the plugin's own
 * `onRequest` (as the runner calls it), on three prepared route confs (HS256/HS512
 * secret with issuer and audience; an inline JWK Set with RS256, PS256, ES256 and
 * EdDSA keys; an ES384 PEM key with scopes, a custom header and a query source).
 *
 * Every case takes a token that is validly signed for one of the routes (or for
 * another route), applies zero to three mutations (token-mutations.ts) and sends it
 * to a route. The verified-token cache is warm for every valid token, as in
 * production. Properties:
 * - a request passes only when its token is byte-identical to a token validly signed
 *   for that route (surrounding whitespace the carrier strips aside);
 * - an unmutated valid token passes (the oracle is not vacuous);
 * - every other outcome is a 400/401/403 Stop that does not echo the token;
 * - the plugin never throws (no remote JWKS and no revocation store here, so no
 *   infrastructure error is legitimate).
 */
import fc from 'fast-check';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createJwtAuthPlugin } from '../../plugins/jwt-auth/plugin.js';
import type { PreparedJwtAuth } from '../../plugins/jwt-auth/prepare.js';
import type { Outcome, Plugin } from '../../runner/plugin-api/index.js';
import { FakeRequest, type FakeRequestInit } from '../support/fake-request.js';
import { HS512_SECRET, makeSettings, mint, NOW_MS, NOW_S, testKeys, validateConf } from '../support/jwt-kit.js';
import { Counters, PropertyViolation, errorLabel, runProperty, type FuzzTarget } from './fuzz-target.js';
import { mutateToken, tokenMutationsArb } from './token-mutations.js';

const ISSUER = 'https://issuer.test';

type Carrier = 'bearer' | 'bearer-lower' | 'bearer-tab' | 'bearer-trailing' | 'custom-header' | 'query';

interface FuzzRoute {
  readonly name: string;
  readonly prepared: PreparedJwtAuth;
  readonly carriers: readonly Carrier[];
  /** Tokens validly signed for this route. */
  readonly valid: ReadonlySet<string>;
}

/** The plugin and the routes a token case runs against. */
export interface TokenFuzzBench {
  readonly plugin: Plugin<unknown, PreparedJwtAuth>;
  readonly routes: readonly FuzzRoute[];
  /** Every valid token of every route, in a fixed order (mutation sources and splice donors). */
  readonly tokens: readonly string[];
  close(): Promise<void>;
}

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, sub: 'alice', aud: 'api', iat: NOW_S - 60, nbf: NOW_S - 60, exp: NOW_S + 3600, ...extra };
}

/** Builds the plugin (frozen clock, silent logs) and prepares the three routes. */
export async function createTokenFuzzBench(): Promise<TokenFuzzBench> {
  const plugin = createJwtAuthPlugin(
    { settings: makeSettings(), logger: pino({ level: 'silent' }), metrics: new Registry() },
    { revocation: null, now: () => NOW_MS },
  ) as unknown as Plugin<unknown, PreparedJwtAuth>;
  const prepare = async (conf: unknown, key: string): Promise<PreparedJwtAuth> =>
    plugin.prepare!(validateConf(conf), { routeKey: key, logger: pino({ level: 'silent' }) }) as Promise<PreparedJwtAuth>;

  const rsa = testKeys.rsa();
  const ec256 = testKeys.ec256();
  const ed = testKeys.ed25519();
  const ec384 = testKeys.ec384();

  const hsRoute = await prepare({ algorithms: ['HS256', 'HS512'], secret: HS512_SECRET, issuer: ISSUER, audience: 'api' }, 'route#hs');
  const hsTokens = [
    mint({ alg: 'HS256', typ: 'JWT' }, claims(), HS512_SECRET),
    mint({ alg: 'HS512' }, claims({ aud: ['api', 'other'], jti: 'h2' }), HS512_SECRET),
    mint({ alg: 'HS256', kid: 'k' }, claims({ scope: 'read write' }), HS512_SECRET),
  ];

  const jwks = {
    keys: [
      { ...rsa.publicJwk, kid: 'r1' },
      { ...ec256.publicJwk, kid: 'e1' },
      { ...ed.publicJwk, kid: 'd1' },
    ],
  };
  const jwksRoute = await prepare({ algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'], jwks, required_claims: ['jti'] }, 'route#jwks');
  const jwksTokens = [
    mint({ alg: 'RS256', kid: 'r1' }, claims({ jti: 'r' }), rsa.privateKey),
    mint({ alg: 'PS256', kid: 'r1' }, claims({ jti: 'p' }), rsa.privateKey),
    mint({ alg: 'ES256', kid: 'e1' }, claims({ jti: 'e' }), ec256.privateKey),
    mint({ alg: 'EdDSA', kid: 'd1' }, claims({ jti: 'd' }), ed.privateKey),
  ];

  const pemRoute = await prepare(
    {
      algorithms: ['ES384'],
      public_key: ec384.publicPem,
      header: 'x-token',
      query: 'access_token',
      authorization: { any_of: ['read'] },
      claims_to_headers: { sub: 'x-user' },
      max_token_age_seconds: 3600,
    },
    'route#pem',
  );
  const pemTokens = [
    mint({ alg: 'ES384' }, claims({ scope: 'read' }), ec384.privateKey),
    mint({ alg: 'ES384', typ: 'at+jwt' }, claims({ scope: 'read write', sub: 'bob' }), ec384.privateKey),
  ];

  const routes: FuzzRoute[] = [
    { name: 'hs', prepared: hsRoute, carriers: ['bearer', 'bearer-lower', 'bearer-tab', 'bearer-trailing'], valid: new Set(hsTokens) },
    { name: 'jwks', prepared: jwksRoute, carriers: ['bearer', 'bearer-trailing'], valid: new Set(jwksTokens) },
    { name: 'pem', prepared: pemRoute, carriers: ['custom-header', 'query'], valid: new Set(pemTokens) },
  ];
  return {
    plugin,
    routes,
    tokens: [...hsTokens, ...jwksTokens, ...pemTokens],
    close: async () => {
      await plugin.close?.();
    },
  };
}

function requestFor(carrier: Carrier, token: string): FakeRequestInit {
  switch (carrier) {
    case 'bearer':
      return { headers: [['authorization', `Bearer ${token}`]] };
    case 'bearer-lower':
      return { headers: [['authorization', `bearer ${token}`]] };
    case 'bearer-tab':
      return { headers: [['authorization', `BEARER\t${token}`]] };
    case 'bearer-trailing':
      return { headers: [['authorization', `Bearer ${token} `]] };
    case 'custom-header':
      return { headers: [['x-token', token]] };
    case 'query':
      return { args: [['access_token', token]] };
  }
}

/** The token a carrier legitimately hands to the verifier: header values are trimmed, arguments are not. */
function carriedToken(carrier: Carrier, token: string): string {
  return carrier === 'query' ? token : token.trim();
}

/** One token case. */
export interface TokenCase {
  readonly route: number;
  readonly source: number;
  readonly carrier: number;
  readonly mutations: Parameters<typeof mutateToken>[1];
}

export const tokenCaseArb: fc.Arbitrary<TokenCase> = fc.record({
  route: fc.nat(),
  source: fc.nat(),
  carrier: fc.nat(),
  mutations: tokenMutationsArb,
});

/** The outcome class of one case (for counters); throws PropertyViolation on a broken property. */
export async function checkTokenCase(bench: TokenFuzzBench, c: TokenCase): Promise<string> {
  const route = bench.routes[c.route % bench.routes.length]!;
  // Mostly a token of this route, sometimes one of another route.
  const own = [...route.valid];
  const source = c.source % 4 === 0 ? bench.tokens[c.source % bench.tokens.length]! : own[c.source % own.length]!;
  const token = mutateToken(source, c.mutations, bench.tokens);
  const carrier = route.carriers[c.carrier % route.carriers.length]!;
  const req = new FakeRequest(requestFor(carrier, token));
  let outcome: Outcome;
  try {
    outcome = (await bench.plugin.onRequest!(req, route.prepared)) ?? { kind: 'continue' };
  } catch (err) {
    throw new PropertyViolation(`route ${route.name}: onRequest threw ${errorLabel(err)}`, { cause: err });
  }
  const legit = route.valid.has(carriedToken(carrier, token));
  if (outcome.kind === 'continue') {
    if (!legit) {
      throw new PropertyViolation(`route ${route.name}: a token that is not byte-identical to a validly signed one passed (${JSON.stringify(token)})`);
    }
    return token === source ? 'pass_unmutated' : 'pass_equivalent';
  }
  if (legit && route.valid.has(token)) {
    throw new PropertyViolation(`route ${route.name}: a validly signed token was refused with ${outcome.status}`);
  }
  if (![400, 401, 403].includes(outcome.status)) {
    throw new PropertyViolation(`route ${route.name}: unexpected status ${outcome.status}`);
  }
  if (token.length >= 20 && JSON.stringify(outcome).includes(token)) {
    throw new PropertyViolation(`route ${route.name}: the response echoes the token`);
  }
  return `stop_${outcome.status}`;
}

export const tokenTarget: FuzzTarget = {
  name: 'jwt-token',
  description:
    'jwt-auth onRequest on mutated validly signed tokens (characters, wide/homoglyph twins, segments, base64url spellings, header/payload JSON re-encoded unsigned) over HS, RS, PS, ES and EdDSA routes with a warm verified-token cache',
  defaultCases: 1_000_000,
  kind: 'pure',
  async run(options) {
    const counters = new Counters();
    const bench = await createTokenFuzzBench();
    try {
      // Warm the verified-token cache with every valid token, as traffic would: twice, since
      // the cache stores a token's result from its second verification on.
      for (const route of bench.routes) {
        for (const token of route.valid) {
          for (let sighting = 0; sighting < 2; sighting++) {
            const outcome = await bench.plugin.onRequest!(new FakeRequest(requestFor(route.carriers[0]!, token)), route.prepared);
            if (outcome !== undefined && outcome.kind !== 'continue') throw new Error(`fuzz bench: a valid ${route.name} token was refused`);
          }
        }
      }
      return await runProperty(
        this.name,
        tokenCaseArb,
        async (c) => counters.bump(await checkTokenCase(bench, c)),
        options,
        counters,
      );
    } finally {
      await bench.close();
    }
  },
};
