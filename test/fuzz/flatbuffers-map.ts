/**
 * Maps a VALID FlatBuffers payload: where its root offset, soffsets, vtable fields,
 * uoffsets, vector lengths, union tags and scalars are. Structure-aware mutations
 * aim at these positions, because a random byte flip mostly lands in string data
 * and tests nothing but the happy path; an edge value written over an offset, a
 * vector length or a union tag is what probes a bounds verifier.
 *
 * The walk uses the same table layouts as the runner's verifier
 * (runner/protocol/verify.ts), so it knows every field the decoders read.
 */
import type { TableLayout } from '../../runner/protocol/verify.js';

/** What sits at a mapped position. */
export type SlotKind =
  | 'root'
  | 'soffset'
  | 'vtable-size'
  | 'vtable-entry'
  | 'uoffset'
  | 'vector-length'
  | 'union-tag'
  | 'scalar';

export interface Slot {
  readonly kind: SlotKind;
  readonly at: number;
  /** Width in bytes of the value stored there. */
  readonly width: 1 | 2 | 4 | 8;
}

function readInt32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

function readUint16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

/**
 * Lists the positions of every structural value in `payload`, which must be a valid
 * buffer for `layout` (it is produced by an encoder; nothing is bounds-checked here
 * beyond not walking past the end).
 */
export function mapPayload(payload: Uint8Array, layout: TableLayout): Slot[] {
  const slots: Slot[] = [];
  if (payload.length < 4) return slots;
  slots.push({ kind: 'root', at: 0, width: 4 });
  walkTable(payload, readInt32(payload, 0), layout, slots, 0);
  return slots;
}

function walkTable(b: Uint8Array, table: number, layout: TableLayout, slots: Slot[], depth: number): void {
  if (depth > 8 || table < 0 || table + 4 > b.length) return;
  slots.push({ kind: 'soffset', at: table, width: 4 });
  const vtable = table - readInt32(b, table);
  if (vtable < 0 || vtable + 4 > b.length) return;
  slots.push({ kind: 'vtable-size', at: vtable, width: 2 }, { kind: 'vtable-size', at: vtable + 2, width: 2 });
  const vtableBytes = readUint16(b, vtable);
  let unionTag = 0;
  layout.fields.forEach((spec, id) => {
    const slot = 4 + 2 * id;
    if (slot + 2 > vtableBytes) return;
    slots.push({ kind: 'vtable-entry', at: vtable + slot, width: 2 });
    const offset = readUint16(b, vtable + slot);
    if (offset === 0) return;
    const at = table + offset;
    switch (spec.kind) {
      case 'scalar':
        slots.push({ kind: 'scalar', at, width: spec.size });
        return;
      case 'union_type':
        slots.push({ kind: 'union-tag', at, width: 1 });
        unionTag = b[at] ?? 0;
        return;
      case 'string':
      case 'bytes': {
        slots.push({ kind: 'uoffset', at, width: 4 });
        slots.push({ kind: 'vector-length', at: at + readInt32(b, at), width: 4 });
        return;
      }
      case 'tables': {
        slots.push({ kind: 'uoffset', at, width: 4 });
        const vector = at + readInt32(b, at);
        slots.push({ kind: 'vector-length', at: vector, width: 4 });
        const count = readInt32(b, vector);
        for (let i = 0; i < count && i < 64; i++) {
          const element = vector + 4 + 4 * i;
          slots.push({ kind: 'uoffset', at: element, width: 4 });
          walkTable(b, element + readInt32(b, element), spec.table, slots, depth + 1);
        }
        return;
      }
      case 'table':
        slots.push({ kind: 'uoffset', at, width: 4 });
        walkTable(b, at + readInt32(b, at), spec.table, slots, depth + 1);
        return;
      case 'union': {
        slots.push({ kind: 'uoffset', at, width: 4 });
        const member = spec.union.members[unionTag - 1];
        if (member !== undefined) walkTable(b, at + readInt32(b, at), member, slots, depth + 1);
        return;
      }
    }
  });
}
