/** Byte-string helpers: the wire carries bytes, plugins mostly want strings. */
import { asciiEqualIgnoreCase } from '../protocol/entry-list.js';

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** Decode for display/reading; invalid sequences become U+FFFD (use raw bytes to keep them). */
export function decodeUtf8(bytes: Uint8Array): string {
  // Short ASCII strings (header names, tokens) dominate; skip TextDecoder setup for them.
  if (bytes.length < 64) {
    let ascii = '';
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte >= 0x80) return utf8Decoder.decode(bytes);
      ascii += String.fromCharCode(byte);
    }
    return ascii;
  }
  return utf8Decoder.decode(bytes);
}

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

export function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? encodeUtf8(value) : value;
}

/** True when `bytes` equals the ASCII string `lowerName` ignoring ASCII case. `lowerName` must be lower-case. */
export function bytesEqualIgnoreCase(bytes: Uint8Array, lowerName: string): boolean {
  return asciiEqualIgnoreCase(bytes, 0, bytes.length, lowerName);
}

/** Copy a view so it survives the receive buffer it aliases. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}

/** Format a 4- or 16-byte binary address; null for any other length. */
export function formatIp(bytes: Uint8Array | null): string | null {
  if (bytes === null) return null;
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) return null;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
