/**
 * Finding the token in a request: the configured header (Bearer scheme for
 * `Authorization`), query argument, cookie and form field (RFC 6750 section 2.2).
 * The same token found in several places is fine; two different tokens, or a repeated
 * token header, make the request ambiguous and it is refused (400 invalid_request).
 */
import type { RequestContext } from '../../runner/plugin-api/index.js';

export type TokenSource = 'header' | 'query' | 'cookie' | 'form';

/** Where to look; a null name means that source is off. */
export interface TokenSources {
  readonly header: string | null;
  readonly query: string | null;
  readonly cookie: string | null;
  readonly formField: string | null;
}

export type Extraction =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string; readonly sources: readonly TokenSource[] }
  | {
      readonly kind: 'invalid_request';
      readonly detail: string;
      /** Every source that carried something token-like: `hide_credentials` still clears them in report_only. */
      readonly sources: readonly TokenSource[];
    };

const FORM_CONTENT_TYPE = /^application\/x-www-form-urlencoded[ \t]*(;|$)/i;

type Found = { token: string; source: TokenSource } | { invalid: string } | null;

function fromHeader(req: RequestContext, name: string): Found {
  const count = req.headers.count(name);
  if (count === 0) return null;
  if (count > 1) return { invalid: 'the token header is repeated' };
  const value = (req.headers.get(name) ?? '').trim();
  const bearer = bearerToken(value);
  if (bearer === MALFORMED_BEARER) return { invalid: 'malformed Bearer credentials' };
  if (bearer !== null) return { token: bearer, source: 'header' };
  if (name === 'authorization') {
    // Another scheme (Basic, Digest, ...) carries no bearer token.
    return null;
  }
  if (value === '') return null;
  return /[ \t]/.test(value) ? { invalid: 'malformed token header' } : { token: value, source: 'header' };
}

const MALFORMED_BEARER = Symbol('malformed Bearer credentials');
const BEARER = 'bearer';
const SPACE = 0x20;
const TAB = 0x09;

/**
 * The token of `Bearer <token>` (scheme case-insensitive, RFC 6750 section 2.1) in a
 * trimmed header value; MALFORMED_BEARER when the scheme is Bearer but the
 * credentials are not one blank-free token; null for another scheme. Hand-written
 * rather than a regular expression: it runs on every request, over a few hundred
 * characters of token.
 */
function bearerToken(value: string): string | typeof MALFORMED_BEARER | null {
  if (value.length < BEARER.length) return null;
  for (let i = 0; i < BEARER.length; i++) {
    // ASCII letters only: OR-ing 0x20 lower-cases them, and no other character maps onto one.
    if ((value.charCodeAt(i) | 0x20) !== BEARER.charCodeAt(i)) return null;
  }
  if (value.length === BEARER.length) return MALFORMED_BEARER;
  let start = BEARER.length;
  let code = value.charCodeAt(start);
  if (code !== SPACE && code !== TAB) return null; // "Bearerfoo": another scheme
  while (code === SPACE || code === TAB) code = value.charCodeAt(++start);
  // The value is trimmed, so it cannot end in blanks: one more blank means two words.
  if (value.indexOf(' ', start) !== -1 || value.indexOf('\t', start) !== -1) return MALFORMED_BEARER;
  return value.slice(start);
}

function single(values: ReadonlyArray<string | null>, source: TokenSource, what: string): Found {
  const tokens = new Set(values.filter((value): value is string => value !== null && value !== ''));
  if (tokens.size > 1) return { invalid: `the ${what} is repeated with different values` };
  const [token] = tokens;
  return token === undefined ? null : { token, source };
}

/** Every value of one cookie over all `Cookie` headers. */
export function cookieValues(req: RequestContext, name: string): string[] {
  const values: string[] = [];
  for (const header of req.headers.getAll('cookie')) {
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      if (pair.slice(0, eq).trim() === name) {
        values.push(pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
      }
    }
  }
  return values;
}

/** Whether the request body is a form the token may be read from. */
export function hasFormBody(req: RequestContext): boolean {
  const contentType = req.headers.get('content-type');
  return contentType !== undefined && FORM_CONTENT_TYPE.test(contentType.trim()) && req.method !== 'GET';
}

async function fromForm(req: RequestContext, field: string): Promise<Found> {
  const body = await req.body();
  if (body === null || body.length === 0) return null;
  const form = new URLSearchParams(Buffer.from(body).toString('utf8'));
  return single(form.getAll(field), 'form', 'form field');
}

const NONE: Extraction = Object.freeze({ kind: 'none' });
const HEADER_ONLY: readonly TokenSource[] = Object.freeze(['header'] as const);

/**
 * Look for the token in every configured source. Synchronous unless a form body has to
 * be fetched from the gateway (a form field source and a form request).
 */
export function extractToken(req: RequestContext, sources: TokenSources): Extraction | Promise<Extraction> {
  if (sources.formField !== null && hasFormBody(req)) {
    return fromForm(req, sources.formField).then((form) => combine(req, sources, form));
  }
  if (sources.query === null && sources.cookie === null && sources.header !== null) {
    // The common case (a bearer header only), without the bookkeeping of several sources.
    const found = fromHeader(req, sources.header);
    if (found === null) return NONE;
    if ('invalid' in found) return { kind: 'invalid_request', detail: found.invalid, sources: HEADER_ONLY };
    return { kind: 'token', token: found.token, sources: HEADER_ONLY };
  }
  return combine(req, sources, null);
}

function combine(req: RequestContext, sources: TokenSources, form: Found): Extraction {
  const found: Array<readonly [TokenSource, Found]> = [];
  if (sources.header !== null) found.push(['header', fromHeader(req, sources.header)]);
  if (sources.query !== null) found.push(['query', single(req.args.getAll(sources.query), 'query', 'query argument')]);
  if (sources.cookie !== null) found.push(['cookie', single(cookieValues(req, sources.cookie), 'cookie', 'cookie')]);
  if (sources.formField !== null) found.push(['form', form]);
  const present = found.filter(([, item]) => item !== null).map(([source]) => source);

  let token: string | null = null;
  const where: TokenSource[] = [];
  for (const [, item] of found) {
    if (item === null) continue;
    if ('invalid' in item) return { kind: 'invalid_request', detail: item.invalid, sources: present };
    if (token !== null && token !== item.token) {
      return { kind: 'invalid_request', detail: 'the request carries more than one token', sources: present };
    }
    token = item.token;
    where.push(item.source);
  }
  return token === null ? NONE : { kind: 'token', token, sources: where };
}
