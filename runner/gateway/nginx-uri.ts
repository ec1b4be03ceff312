/**
 * URI handling of the local gateway, reproducing what Nginx and OpenResty do for
 * APISIX (reference 5.2, 5.5): `$uri` decoding and normalisation, query argument
 * parsing (`ngx.req.get_uri_args`), the upstream path escaping applied to a Rewrite
 * `path`, argument re-serialisation (`ngx.encode_args`) and `$arg_<name>` lookup.
 *
 * Paths and arguments are byte strings: decoded bytes are kept in Buffers and only
 * turned into text where a human or a route pattern reads them. Pure: no I/O.
 */

/** One query argument value: bytes, or null for a valueless `?k`. */
export type ArgValue = Buffer | null;

/** All values of one argument name, in request order. */
export interface ArgGroup {
  readonly name: Buffer;
  readonly values: ArgValue[];
}

const HEX = '0123456789ABCDEF';

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/**
 * Percent-decode raw bytes; a `%` not followed by two hex digits stays literal
 * (Nginx does the same for arguments). With `plusAsSpace`, `+` becomes a space, as
 * `ngx.unescape_uri` does for query arguments.
 */
export function percentDecode(raw: Buffer, plusAsSpace: boolean): Buffer {
  const out = Buffer.allocUnsafe(raw.length);
  let length = 0;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    if (byte === 0x25 && i + 2 < raw.length) {
      const high = hexValue(raw[i + 1]!);
      const low = hexValue(raw[i + 2]!);
      if (high >= 0 && low >= 0) {
        out[length++] = high * 16 + low;
        i += 2;
        continue;
      }
    }
    out[length++] = plusAsSpace && byte === 0x2b ? 0x20 : byte;
  }
  return out.subarray(0, length);
}

/**
 * Nginx's `$uri` from the raw request path: percent-decoded, `//` merged, `.` and
 * `..` segments resolved. Returns null when `..` climbs above the root (Nginx
 * answers 400 Bad Request).
 */
export function normaliseRequestPath(rawPath: string): Buffer | null {
  const decoded = percentDecode(Buffer.from(rawPath, 'latin1'), false);
  const segments: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= decoded.length; i++) {
    if (i < decoded.length && decoded[i] !== 0x2f) continue;
    segments.push(decoded.subarray(start, i));
    start = i + 1;
  }
  // segments[0] is what precedes the leading slash (empty for a valid path).
  const kept: Buffer[] = [];
  let trailingSlash = false;
  for (const [index, segment] of segments.slice(1).entries()) {
    const last = index === segments.length - 2;
    const text = segment.toString('latin1');
    if (text === '' || text === '.') {
      trailingSlash = last;
      continue;
    }
    if (text === '..') {
      if (kept.pop() === undefined) return null;
      trailingSlash = last;
      continue;
    }
    kept.push(segment);
    trailingSlash = false;
  }
  const parts: Buffer[] = [];
  for (const segment of kept) parts.push(Buffer.from('/'), segment);
  if (kept.length === 0 || trailingSlash) parts.push(Buffer.from('/'));
  return Buffer.concat(parts);
}

/**
 * The escaping Nginx applies to a Rewrite `path` before using it as the upstream
 * URI (reference 5.5): space, `#`, `%`, `?`, control bytes and bytes >= 0x80 are
 * escaped; everything else is kept, so `/` stays a separator.
 */
export function escapeUpstreamPath(path: Uint8Array): string {
  let out = '';
  for (const byte of path) {
    if (byte <= 0x20 || byte >= 0x7f || byte === 0x23 || byte === 0x25 || byte === 0x3f) {
      out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
    } else {
      out += String.fromCharCode(byte);
    }
  }
  return out;
}

/** Escape one argument name or value the way `ngx.encode_args` does (only unreserved characters kept). */
export function escapeArgComponent(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    const unreserved =
      (byte >= 0x30 && byte <= 0x39) ||
      (byte >= 0x41 && byte <= 0x5a) ||
      (byte >= 0x61 && byte <= 0x7a) ||
      byte === 0x2d ||
      byte === 0x2e ||
      byte === 0x5f ||
      byte === 0x7e;
    out += unreserved ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/**
 * Parse a raw query string like `ngx.req.get_uri_args`: names and values decoded
 * (`+` as space), `k` without `=` valueless, `k=` empty, empty segments skipped.
 * Values of one name are grouped in request order; groups are in first-seen order
 * (the gateway's order between names is unspecified, so any order is faithful).
 */
export function parseQueryArgs(query: string | null): ArgGroup[] {
  const groups = new Map<string, ArgGroup>();
  if (query === null || query === '') return [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const name = percentDecode(Buffer.from(rawName, 'latin1'), true);
    // Nginx drops arguments with an empty name (`?=x`).
    if (name.length === 0) continue;
    const value = eq < 0 ? null : percentDecode(Buffer.from(part.slice(eq + 1), 'latin1'), true);
    const key = name.toString('latin1');
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { name, values: [value] });
    else group.values.push(value);
  }
  return [...groups.values()];
}

/** Re-serialise arguments like `ngx.encode_args`: `k=v`, valueless `k`, repeated names repeated. */
export function serialiseQueryArgs(groups: readonly ArgGroup[]): string {
  const parts: string[] = [];
  for (const group of groups) {
    const name = escapeArgComponent(group.name);
    for (const value of group.values) parts.push(value === null ? name : `${name}=${escapeArgComponent(value)}`);
  }
  return parts.join('&');
}

/** One Rewrite `args` entry: name and value bytes, null value = delete. */
export interface ArgPatchEntry {
  readonly name: Uint8Array;
  readonly value: Uint8Array | null;
}

/**
 * Apply a Rewrite `args` list on top of the current arguments (reference 5.5 step 5):
 * a valueless entry deletes the name; the first entry with a value for a name
 * replaces what the request had; later ones append. A delete only affects values
 * present before it.
 */
export function patchQueryArgs(current: readonly ArgGroup[], patch: readonly ArgPatchEntry[]): ArgGroup[] {
  const groups = new Map<string, ArgGroup>(current.map((g) => [g.name.toString('latin1'), { name: g.name, values: [...g.values] }]));
  const replaced = new Set<string>();
  for (const entry of patch) {
    const name = Buffer.from(entry.name);
    const key = name.toString('latin1');
    if (entry.value === null) {
      groups.delete(key);
      continue;
    }
    const value = Buffer.from(entry.value);
    const group = groups.get(key);
    if (!replaced.has(key) || group === undefined) {
      replaced.add(key);
      // Re-inserting keeps the map order close to "changed names last", which is as valid as any.
      groups.delete(key);
      groups.set(key, { name, values: [value] });
    } else {
      group.values.push(value);
    }
  }
  return [...groups.values()];
}

/**
 * Nginx's `$arg_<name>`: the raw (still escaped) value of the first `name=value`
 * pair, name compared case-insensitively; null when there is no such pair (`?k`
 * without `=` does not count).
 */
export function rawArgValue(query: string | null, name: string): string | null {
  if (query === null) return null;
  const wanted = name.toLowerCase();
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).toLowerCase() === wanted) return part.slice(eq + 1);
  }
  return null;
}
