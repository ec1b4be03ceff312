/**
 * Upstream request headers: identity headers from verified claims, the anti-spoofing
 * sweep that removes them from the incoming request, and removal of the credentials.
 */
import type { RequestContext } from '../../runner/plugin-api/index.js';
import { readClaim, type Claims } from './claims.js';
import { cookieValues, hasFormBody, type TokenSource, type TokenSources } from './extract.js';

export interface HeaderMapping {
  readonly claim: string;
  /** Lower-cased header name. */
  readonly header: string;
}

/** Longest header value forwarded; longer claim values are skipped. */
export const MAX_FORWARDED_HEADER_BYTES = 8192;

/** Separator for array claims in one header (RFC 9110 list syntax). */
export const ARRAY_SEPARATOR = ', ';

/** C0 and C1 controls and DEL: CR, LF and NUL included. */
const CONTROL_CHARACTERS = /\p{Cc}/u;

/**
 * The header value for a claim, or null when the claim is absent, null, or cannot be
 * forwarded safely (control characters such as CR, LF or NUL, or too long).
 */
export function claimHeaderValue(value: unknown): string | null {
  let text: string;
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else if (Array.isArray(value)) {
    text = value
      .map((item) => (typeof item === 'string' ? item : JSON.stringify(item)))
      .join(ARRAY_SEPARATOR);
  } else text = JSON.stringify(value);
  // JSON.stringify escapes control characters inside strings, but a plain string or an
  // array element does not: check the final text whatever its origin.
  if (CONTROL_CHARACTERS.test(text) || Buffer.byteLength(text) > MAX_FORWARDED_HEADER_BYTES) return null;
  return text;
}

/** Remove every header the plugin may set, whatever the outcome: clients cannot spoof identity. */
export function removeIdentityHeaders(req: RequestContext, names: readonly string[]): void {
  for (const name of names) req.headers.delete(name);
}

const NOTHING_SKIPPED: readonly string[] = Object.freeze([]);

/** Set identity headers from claims. Returns the claim paths that were skipped as unsafe. */
export function setIdentityHeaders(
  req: RequestContext,
  claims: Claims,
  mappings: readonly HeaderMapping[],
  payloadHeader: string | null,
): readonly string[] {
  let skipped: string[] | null = null;
  for (const { claim, header } of mappings) {
    const raw = readClaim(claims, claim);
    const value = claimHeaderValue(raw);
    if (value !== null) req.headers.set(header, value);
    else if (raw !== undefined && raw !== null) (skipped ??= []).push(claim);
  }
  if (payloadHeader !== null) {
    req.headers.set(payloadHeader, Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url'));
  }
  return skipped ?? NOTHING_SKIPPED;
}

/**
 * Remove the token from every place it was found (`hide_credentials`). Synchronous
 * unless a form body has to be rewritten.
 */
export function hideCredentials(
  req: RequestContext,
  sources: TokenSources,
  foundIn: readonly TokenSource[],
): void | Promise<void> {
  if (foundIn.length === 1 && foundIn[0] === 'header') {
    if (sources.header !== null) req.headers.delete(sources.header);
    return;
  }
  return hideEverywhere(req, sources, foundIn);
}

async function hideEverywhere(req: RequestContext, sources: TokenSources, foundIn: readonly TokenSource[]): Promise<void> {
  for (const source of new Set(foundIn)) {
    switch (source) {
      case 'header':
        if (sources.header !== null) req.headers.delete(sources.header);
        break;
      case 'query':
        if (sources.query !== null) req.args.delete(sources.query);
        break;
      case 'cookie':
        if (sources.cookie !== null) removeCookie(req, sources.cookie);
        break;
      case 'form':
        if (sources.formField !== null) await removeFormField(req, sources.formField);
        break;
    }
  }
}

function removeCookie(req: RequestContext, name: string): void {
  if (cookieValues(req, name).length === 0) return;
  const kept: string[] = [];
  for (const header of req.headers.getAll('cookie')) {
    for (const pair of header.split(';')) {
      const trimmed = pair.trim();
      if (trimmed === '') continue;
      const eq = trimmed.indexOf('=');
      const cookieName = (eq < 0 ? trimmed : trimmed.slice(0, eq)).trim();
      if (cookieName !== name) kept.push(trimmed);
    }
  }
  if (kept.length === 0) req.headers.delete('cookie');
  else req.headers.set('cookie', kept.join('; '));
}

async function removeFormField(req: RequestContext, field: string): Promise<void> {
  if (!hasFormBody(req)) return;
  const body = await req.body();
  if (body === null) return;
  const form = new URLSearchParams(Buffer.from(body).toString('utf8'));
  if (!form.has(field)) return;
  form.delete(field);
  let text = form.toString();
  // The gateway cannot clear a body: keep the field, emptied, rather than the token.
  if (text === '') text = `${encodeURIComponent(field)}=`;
  req.setBody(text);
}
