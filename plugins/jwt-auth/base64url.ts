/**
 * Strict base64url (RFC 4648 section 5, no padding). Node's decoder is lenient: it
 * skips invalid characters, accepts padding and ignores non-zero trailing bits, so
 * several strings decode to the same bytes. A token is accepted only in its one
 * canonical spelling, so the verified-token cache (keyed by the exact token bytes)
 * can never be fed a variant of a token that was checked once.
 */

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;

/** Value (0-63) of a base64url character code; the caller has checked the alphabet. */
function sextet(code: number): number {
  if (code >= 97) return code - 71; // a-z: 26-51
  if (code >= 65) return code === 95 ? 63 : code - 65; // A-Z: 0-25, '_': 63
  if (code >= 48) return code + 4; // 0-9: 52-61
  return 62; // '-'
}

/** Decode a base64url segment, or return null when it is not the canonical encoding of its bytes. */
export function decodeCanonicalBase64url(segment: string): Buffer | null {
  const tail = segment.length % 4;
  if (tail === 1 || !BASE64URL_SEGMENT.test(segment)) {
    return null;
  }
  // With the alphabet checked and no padding, two spellings of the same bytes differ
  // only in the unused low bits of the last character (`...Q` vs `...R`): those must
  // be zero - 4 bits when 2 characters end the segment, 2 bits when 3 do. (Cheaper
  // than re-encoding the bytes and comparing strings.)
  if (tail !== 0) {
    const unusedBits = tail === 2 ? 0b1111 : 0b11;
    if ((sextet(segment.charCodeAt(segment.length - 1)) & unusedBits) !== 0) return null;
  }
  return Buffer.from(segment, 'base64url');
}
