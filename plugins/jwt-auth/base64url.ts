/**
 * Strict base64url (RFC 4648 section 5, no padding). Node's decoder is lenient: it
 * skips invalid characters, accepts padding and ignores non-zero trailing bits, so
 * several strings decode to the same bytes. A token is accepted only in its one
 * canonical spelling, so the verified-token cache (keyed by the exact token bytes)
 * can never be fed a variant of a token that was checked once.
 */

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;

/** Decode a base64url segment, or return null when it is not the canonical encoding of its bytes. */
export function decodeCanonicalBase64url(segment: string): Buffer | null {
  if (!BASE64URL_SEGMENT.test(segment) || segment.length % 4 === 1) {
    return null;
  }
  const bytes = Buffer.from(segment, 'base64url');
  // Re-encoding catches non-zero trailing bits (e.g. `...Q` vs `...R` for the same bytes).
  return bytes.toString('base64url') === segment ? bytes : null;
}
