/**
 * Lean reading of runner replies for the load generator: the frame header and the
 * action type of an `A6.HTTPReqCall.Resp`, read straight from the bytes with no
 * FlatBuffers objects. Unusual replies are decoded fully with the gateway codec.
 */

/** Frame header size: type byte and 24-bit big-endian length. */
export const HEADER_BYTES = 4;

/** `A6.HTTPReqCall.Action` union tags (ext-plugin.fbs). */
export const ACTION_NONE = 0;
export const ACTION_STOP = 1;
export const ACTION_REWRITE = 2;

/** vtable byte offset of `Resp.action_type`: 4 bytes of vtable header, then slot 0 (`id`), slot 1. */
const ACTION_TYPE_VTABLE_OFFSET = 6;

/**
 * The action tag of an `A6.HTTPReqCall.Resp` payload at `buf[start, start + length)`,
 * or -1 when the bytes cannot be a table (too short, offsets outside the payload).
 */
export function readReqCallActionType(buf: Uint8Array, start: number, length: number): number {
  if (length < 8) return -1;
  const root = readU32(buf, start);
  if (root + 4 > length) return -1;
  const vtable = root - readI32(buf, start + root);
  if (vtable < 0 || vtable + 4 > length) return -1;
  const vtableSize = readU16(buf, start + vtable);
  if (ACTION_TYPE_VTABLE_OFFSET + 2 > vtableSize) return ACTION_NONE;
  const field = readU16(buf, start + vtable + ACTION_TYPE_VTABLE_OFFSET);
  if (field === 0) return ACTION_NONE;
  if (root + field >= length) return -1;
  return buf[start + root + field]!;
}

function readU16(buf: Uint8Array, at: number): number {
  return buf[at]! | (buf[at + 1]! << 8);
}

function readU32(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16)) + buf[at + 3]! * 0x1000000;
}

function readI32(buf: Uint8Array, at: number): number {
  return buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24);
}

/** Payload length announced by the header at `buf[at]` (the caller knows 4 bytes are there). */
export function frameLength(buf: Uint8Array, at: number): number {
  return (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!;
}
