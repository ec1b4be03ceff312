/**
 * Little-endian reads of FlatBuffers tables straight from the payload bytes, for the
 * per-call decoders (no `ByteBuffer`, no generated accessor object per call) and the
 * verifier. Reading a field is only safe once `verifyPayload` has accepted the buffer.
 */

export function readInt32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

export function readUint32(b: Uint8Array, at: number): number {
  return readInt32(b, at) >>> 0;
}

export function readUint16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

/** Position of the root table. */
export function rootTable(b: Uint8Array): number {
  return readInt32(b, 0);
}

/**
 * Position of field `id` (0-based, schema order) inside `table`, or 0 when the field
 * is absent; what the generated `__offset(bb_pos, 4 + 2 * id)` reads, plus the table.
 */
export function fieldAt(b: Uint8Array, table: number, id: number): number {
  const vtable = table - readInt32(b, table);
  const slot = 4 + 2 * id;
  if (slot >= readUint16(b, vtable)) return 0;
  const offset = readUint16(b, vtable + slot);
  return offset === 0 ? 0 : table + offset;
}

/** Where the uoffset stored at `at` points (a string, vector or table). */
export function follow(b: Uint8Array, at: number): number {
  return at + readInt32(b, at);
}
