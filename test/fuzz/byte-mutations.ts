/**
 * Mutations of a valid payload, drawn by fast-check and applied to a copy: random
 * bytes, edge values written over mapped structure (offsets, vector lengths, vtable
 * entries, union tags), truncation, insertion and deletion (which shift every offset
 * behind them), duplication of a region, and appended garbage.
 *
 * Positions are drawn as plain naturals and reduced modulo the payload (or slot
 * list) length when applied, so one arbitrary serves payloads of every size.
 */
import fc from 'fast-check';
import type { Slot } from './flatbuffers-map.js';

export type ByteMutation =
  | { readonly op: 'set-byte'; readonly at: number; readonly value: number }
  | { readonly op: 'structure'; readonly slot: number; readonly value: number; readonly relative: boolean }
  | { readonly op: 'truncate'; readonly keep: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly count: number }
  | { readonly op: 'duplicate'; readonly from: number; readonly count: number; readonly to: number }
  | { readonly op: 'append'; readonly bytes: Uint8Array };

/** Values that sit on the edges of signed/unsigned 8/16/32-bit ranges and of small offsets. */
const INT32_EDGES = [0, 1, 2, 3, 4, 5, 7, 8, 12, 16, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, -0x80000000, -1, -2, -4, -8, -0x10000];
const INT16_EDGES = [0, 1, 2, 3, 4, 5, 6, 8, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff];

const smallBytes = fc.uint8Array({ minLength: 1, maxLength: 16 });

/** One mutation. */
export const byteMutationArb: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set-byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('structure' as const),
      slot: fc.nat(),
      value: fc.oneof(fc.constantFrom(...INT32_EDGES, ...INT16_EDGES), fc.integer({ min: -0x80000000, max: 0x7fffffff })),
      relative: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), keep: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: smallBytes }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('duplicate' as const), from: fc.nat(), count: fc.integer({ min: 1, max: 32 }), to: fc.nat() }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('append' as const), bytes: smallBytes }) },
);

/** One to four mutations. */
export const byteMutationsArb = fc.array(byteMutationArb, { minLength: 1, maxLength: 4 });

/**
 * Applies `mutations` in order to a copy of `payload`. Structure mutations use
 * `slots` (positions mapped on the unmutated payload); once an earlier mutation has
 * shifted bytes they still land on a plausible structural position nearby, which is
 * fine for fuzzing. A `relative` structure write stores a value measured from the
 * slot to the end of the buffer, which aims offsets "just past the end".
 */
export function applyByteMutations(payload: Uint8Array, slots: readonly Slot[], mutations: readonly ByteMutation[]): Uint8Array {
  let bytes: Uint8Array = Uint8Array.from(payload);
  for (const m of mutations) {
    switch (m.op) {
      case 'set-byte':
        if (bytes.length > 0) bytes[m.at % bytes.length] = m.value;
        break;
      case 'structure': {
        const slot = slots.length === 0 ? undefined : slots[m.slot % slots.length];
        if (slot === undefined) break;
        const value = m.relative ? bytes.length - slot.at + (m.value % 8) : m.value;
        writeLittleEndian(bytes, slot.at, Math.min(slot.width, 4), value);
        break;
      }
      case 'truncate':
        bytes = bytes.subarray(0, m.keep % (bytes.length + 1));
        break;
      case 'insert': {
        const at = m.at % (bytes.length + 1);
        bytes = concat(bytes.subarray(0, at), m.bytes, bytes.subarray(at));
        break;
      }
      case 'delete': {
        const at = bytes.length === 0 ? 0 : m.at % bytes.length;
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at + m.count));
        break;
      }
      case 'duplicate': {
        if (bytes.length === 0) break;
        const from = m.from % bytes.length;
        const region = bytes.slice(from, from + m.count);
        const to = m.to % (bytes.length + 1);
        bytes = concat(bytes.subarray(0, to), region, bytes.subarray(to));
        break;
      }
      case 'append':
        bytes = concat(bytes, m.bytes);
        break;
    }
  }
  return Uint8Array.from(bytes);
}

function writeLittleEndian(bytes: Uint8Array, at: number, width: number, value: number): void {
  for (let i = 0; i < width && at + i < bytes.length; i++) {
    bytes[at + i] = (value >>> (8 * i)) & 0xff;
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
