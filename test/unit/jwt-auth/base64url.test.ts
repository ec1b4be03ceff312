import { expect } from 'chai';
import fc from 'fast-check';
import { decodeCanonicalBase64url } from '../../../plugins/jwt-auth/base64url.js';

/** The definition: decodable base64url (no padding) whose bytes re-encode to the same text. */
function canonicalOracle(segment: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]*$/.test(segment) || segment.length % 4 === 1) return null;
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : null;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('jwt-auth strict base64url (trailing-bits check)', () => {
  it('agrees with the re-encoding definition on every last character after 0-3 leading characters', () => {
    for (const prefix of ['', 'A', 'AA', 'AAA', 'AAAA', 'QUJD']) {
      for (const last of ALPHABET) {
        const segment = prefix + last;
        const ours = decodeCanonicalBase64url(segment);
        const oracle = canonicalOracle(segment);
        expect(ours === null, segment).to.equal(oracle === null);
        if (ours !== null && oracle !== null) expect(ours.equals(oracle), segment).to.equal(true);
      }
    }
  });

  it('agrees with the re-encoding definition on random text (alphabet, padding and stray characters)', () => {
    const char = fc.constantFrom(...ALPHABET.split(''), '=', '+', '/', '.', ' ');
    fc.assert(
      fc.property(fc.array(char, { maxLength: 24 }), (chars) => {
        const segment = chars.join('');
        const ours = decodeCanonicalBase64url(segment);
        const oracle = canonicalOracle(segment);
        return (ours === null) === (oracle === null) && (ours === null || ours.equals(oracle as Buffer));
      }),
      { numRuns: 5000 },
    );
  });

  it('round-trips random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const decoded = decodeCanonicalBase64url(Buffer.from(bytes).toString('base64url'));
        return decoded !== null && decoded.equals(Buffer.from(bytes));
      }),
    );
  });
});
