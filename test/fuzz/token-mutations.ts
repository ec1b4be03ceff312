/**
 * Mutations of a compact JWS, drawn by fast-check: characters (base64url alphabet,
 * separators, padding, whitespace, NUL, characters whose low byte equals the
 * original — "wide" twins — and full-width homoglyphs), segments (drop, swap,
 * duplicate, splice from another token, five-segment JWE shape), base64url
 * spellings (padding, the `+/` alphabet, non-canonical trailing bits) and the JSON
 * inside header and payload (alg, crit, kid, time claims, issuer and audience
 * tricks, duplicate members) re-encoded WITHOUT re-signing.
 *
 * Every generated string is well-formed UTF-16 (no lone surrogates): a header value
 * decoded from the wire can never hold one.
 */
import fc from 'fast-check';

export type TokenMutation =
  | { readonly op: 'char'; readonly at: number; readonly pool: CharPool; readonly pick: number }
  | { readonly op: 'insert'; readonly at: number; readonly pool: CharPool; readonly pick: number }
  | { readonly op: 'delete'; readonly at: number; readonly count: number }
  | { readonly op: 'case'; readonly at: number }
  | { readonly op: 'truncate'; readonly keep: number }
  | { readonly op: 'segments'; readonly how: SegmentOp; readonly a: number; readonly b: number }
  | { readonly op: 'splice'; readonly segment: number; readonly donor: number }
  | { readonly op: 'base64'; readonly segment: number; readonly how: Base64Op }
  | { readonly op: 'json'; readonly segment: 0 | 1; readonly edit: JsonEdit };

type CharPool = 'alphabet' | 'separator' | 'wide' | 'fullwidth' | 'any';
type SegmentOp = 'drop' | 'swap' | 'duplicate' | 'jwe' | 'empty' | 'extra-dot';
type Base64Op = 'pad' | 'std-alphabet' | 'trailing-bits' | 'whitespace';

export type JsonEdit =
  | { readonly kind: 'set'; readonly key: string; readonly value: unknown }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'duplicate-key'; readonly key: string; readonly value: unknown }
  | { readonly kind: 'raw'; readonly text: string }
  | { readonly kind: 'whitespace' };

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SEPARATORS = ['.', '=', '+', '/', ' ', '\t', '\0', '%', ',', '\\', '"', '\u00a0', '\u2028', '\ufeff'];

const HEADER_KEYS = ['alg', 'kid', 'typ', 'crit', 'b64', 'jku', 'jwk', 'x5u', 'x5c', 'cty', 'zip', 'enc'];
const CLAIM_KEYS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'scope', 'roles'];

/** Values chosen for what verifiers get wrong with them. */
const TRICKY_VALUES: readonly unknown[] = [
  'none', 'None', 'NONE', 'nOnE', 'none ', '', 'HS256', 'HS512', 'RS256', 'ES256', 'EdDSA', 'PS256', 'ES384', 'A128GCM', 'dir',
  null, true, false, 0, -1, 1.5, 1e308, -1e308, 253_402_300_800, 1_735_689_600, 1_735_689_600 + 86_400, 1_735_689_600 - 86_400,
  '1735690200', [], {}, ['api'], ['api', 'other'], [1], { '0': 'api' },
  'https://issuer.test', 'https://issuer.test/', 'https://issuer.test.evil', 'HTTPS://ISSUER.TEST', 'https://issuer.tes',
  'api', 'API', 'api ', 'r1', 'e1', 'd1', 'unknown-kid', '../../etc/passwd', ['b64'], ['exp'],
  'https://attacker.test/jwks.json', { kty: 'oct', k: 'AAAA' }, 'read', 'read write admin', 'x\r\nx-injected: 1', '\u0000',
];

const charPoolArb = fc.constantFrom<CharPool>('alphabet', 'separator', 'wide', 'fullwidth', 'any');

const jsonEditArb: fc.Arbitrary<JsonEdit> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom(...HEADER_KEYS, ...CLAIM_KEYS), value: fc.constantFrom(...TRICKY_VALUES) }),
  fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom(...HEADER_KEYS, ...CLAIM_KEYS), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...HEADER_KEYS, ...CLAIM_KEYS) }),
  fc.record({ kind: fc.constant('duplicate-key' as const), key: fc.constantFrom(...HEADER_KEYS, ...CLAIM_KEYS), value: fc.constantFrom(...TRICKY_VALUES) }),
  fc.record({ kind: fc.constant('raw' as const), text: fc.oneof(fc.constantFrom('null', '[]', '"x"', '{', '{}', '{"alg":"HS256"', '1', '{"a":1}x'), fc.string({ maxLength: 12 })) }),
  fc.constant({ kind: 'whitespace' as const }),
);

export const tokenMutationArb: fc.Arbitrary<TokenMutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('char' as const), at: fc.nat(), pool: charPoolArb, pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), pool: charPoolArb, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('case' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), keep: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('segments' as const),
      how: fc.constantFrom<SegmentOp>('drop', 'swap', 'duplicate', 'jwe', 'empty', 'extra-dot'),
      a: fc.nat(),
      b: fc.nat(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('splice' as const), segment: fc.nat(), donor: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('base64' as const),
      segment: fc.nat(),
      how: fc.constantFrom<Base64Op>('pad', 'std-alphabet', 'trailing-bits', 'whitespace'),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('json' as const), segment: fc.constantFrom(0 as const, 1 as const), edit: jsonEditArb }) },
);

/** One to three mutations; one case in ten replays the untouched token (it must pass). */
export const tokenMutationsArb: fc.Arbitrary<TokenMutation[]> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<TokenMutation[]>([]) },
  { weight: 9, arbitrary: fc.array(tokenMutationArb, { minLength: 1, maxLength: 3 }) },
);

function isSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdfff;
}

/** A replacement for `original` drawn from `pool`. */
function pickChar(pool: CharPool, pick: number, original: string): string {
  const code = original.length > 0 ? original.charCodeAt(0) : 0x41;
  switch (pool) {
    case 'alphabet':
      return ALPHABET[pick % ALPHABET.length]!;
    case 'separator':
      return SEPARATORS[pick % SEPARATORS.length]!;
    case 'wide': {
      // Same low byte as the original: equal to it under any byte-truncating encoding.
      let wide = (code & 0xff) + 0x100 * (1 + (pick % 0xfe));
      if (isSurrogate(wide)) wide += 0x800;
      return String.fromCharCode(wide);
    }
    case 'fullwidth':
      return code >= 0x21 && code <= 0x7e ? String.fromCharCode(code + 0xfee0) : '\uff0e';
    case 'any': {
      const point = pick % 0x10ffff;
      return String.fromCodePoint(isSurrogate(point) ? 0xfffd : point);
    }
  }
}

function b64uJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function editJson(segment: string, edit: JsonEdit): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    parsed = {};
  }
  const object: Record<string, unknown> = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? { ...(parsed as Record<string, unknown>) } : {};
  switch (edit.kind) {
    case 'set':
      object[edit.key] = edit.value;
      return b64uJson(object);
    case 'delete':
      delete object[edit.key];
      return b64uJson(object);
    case 'duplicate-key': {
      // JSON.parse keeps the last duplicate; a verifier reading the first would disagree.
      const text = JSON.stringify(object);
      const extra = `${JSON.stringify(edit.key)}:${JSON.stringify(edit.value) ?? 'null'}`;
      const body = text === '{}' ? `{${extra}}` : `${text.slice(0, -1)},${extra}}`;
      return Buffer.from(body, 'utf8').toString('base64url');
    }
    case 'raw':
      return Buffer.from(edit.text, 'utf8').toString('base64url');
    case 'whitespace':
      return Buffer.from(` ${JSON.stringify(object, null, 1)}\n`, 'utf8').toString('base64url');
  }
}

function base64Variant(segment: string, how: Base64Op): string {
  switch (how) {
    case 'pad':
      return segment + '='.repeat((4 - (segment.length % 4)) % 4 || 1);
    case 'std-alphabet':
      return Buffer.from(segment, 'base64url').toString('base64');
    case 'trailing-bits': {
      // Change the last character so only the unused low bits differ (same bytes under a lenient decoder).
      if (segment.length % 4 === 0 || segment.length === 0) return `${segment}A`;
      const last = ALPHABET.indexOf(segment[segment.length - 1]!);
      const unusedBits = segment.length % 4 === 2 ? 4 : 2;
      const flipped = last ^ ((1 << unusedBits) - 1);
      return segment.slice(0, -1) + ALPHABET[flipped & 63]!;
    }
    case 'whitespace':
      return `${segment.slice(0, segment.length >> 1)}\n${segment.slice(segment.length >> 1)}`;
  }
}

/** Applies `mutations` to `token`; `donors` supply segments for splices. */
export function mutateToken(token: string, mutations: readonly TokenMutation[], donors: readonly string[]): string {
  let t = token;
  for (const m of mutations) {
    switch (m.op) {
      case 'char': {
        if (t.length === 0) break;
        const at = m.at % t.length;
        t = t.slice(0, at) + pickChar(m.pool, m.pick, t[at]!) + t.slice(at + 1);
        break;
      }
      case 'insert': {
        const at = m.at % (t.length + 1);
        t = t.slice(0, at) + pickChar(m.pool, m.pick, t[at] ?? 'A') + t.slice(at);
        break;
      }
      case 'delete': {
        if (t.length === 0) break;
        const at = m.at % t.length;
        t = t.slice(0, at) + t.slice(at + m.count);
        break;
      }
      case 'case': {
        if (t.length === 0) break;
        const at = m.at % t.length;
        const c = t[at]!;
        t = t.slice(0, at) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + t.slice(at + 1);
        break;
      }
      case 'truncate':
        t = t.slice(0, m.keep % (t.length + 1));
        break;
      case 'segments': {
        const parts = t.split('.');
        const a = m.a % parts.length;
        const b = m.b % parts.length;
        if (m.how === 'drop') parts.splice(a, 1);
        else if (m.how === 'swap') [parts[a], parts[b]] = [parts[b]!, parts[a]!];
        else if (m.how === 'duplicate') parts.splice(a, 0, parts[a]!);
        else if (m.how === 'jwe') parts.push('', parts[a]!);
        else if (m.how === 'empty') parts[a] = '';
        else parts.splice(a, 0, '');
        t = parts.join('.');
        break;
      }
      case 'splice': {
        const donor = donors.length === 0 ? t : donors[m.donor % donors.length]!;
        const parts = t.split('.');
        const from = donor.split('.');
        const at = m.segment % parts.length;
        parts[at] = from[at % from.length]!;
        t = parts.join('.');
        break;
      }
      case 'base64': {
        const parts = t.split('.');
        const at = m.segment % parts.length;
        parts[at] = base64Variant(parts[at]!, m.how);
        t = parts.join('.');
        break;
      }
      case 'json': {
        const parts = t.split('.');
        if (parts.length < 2) break;
        parts[m.segment] = editJson(parts[m.segment]!, m.edit);
        t = parts.join('.');
        break;
      }
    }
  }
  return t;
}
