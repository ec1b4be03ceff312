/**
 * `[A6.TextEntry]` vectors read in place. Every call looks a few headers up by name
 * (the token header, the identity headers it must strip); materialising every entry
 * as two `Uint8Array` views to do that allocated more than the rest of a call. An
 * {@link EntryList} records where each name and value lies in the payload and hands
 * out a view only for the entry asked for.
 */
import type * as flatbuffers from 'flatbuffers';
import type { EntryList, RawEntry } from './messages.js';

/** vtable slots of `A6.TextEntry`: `name` (field 0) and `value` (field 1). */
const NAME_SLOT = 4;
const VALUE_SLOT = 6;
/** Per entry: name start, name end, value start, value end (-1, -1 when absent). */
const STRIDE = 4;

/**
 * Entries of a verified buffer. The payload must have passed `verifyPayload`, which
 * guarantees every entry has a name and that every offset read here is in bounds.
 */
export class PayloadEntryList implements EntryList {
  readonly length: number;
  readonly #bytes: Uint8Array;
  /**
   * A plain array of small integers: V8 keeps it on the heap, where a typed array of
   * more than 64 bytes would need its own external backing store (slow to allocate).
   */
  readonly #bounds: number[];

  /**
   * @param bb the verified payload
   * @param vector position of the vector's first element (`bb.__vector(...)`)
   * @param length element count (`bb.__vector_len(...)`)
   */
  constructor(bb: flatbuffers.ByteBuffer, vector: number, length: number) {
    this.length = length;
    this.#bytes = bb.bytes();
    const bounds = new Array<number>(length * STRIDE).fill(0);
    for (let i = 0; i < length; i++) {
      const table = bb.__indirect(vector + i * 4);
      stringBounds(bb, table, NAME_SLOT, bounds, i * STRIDE);
      stringBounds(bb, table, VALUE_SLOT, bounds, i * STRIDE + 2);
    }
    this.#bounds = bounds;
  }

  nameIs(index: number, lowerName: string): boolean {
    const start = this.#bounds[index * STRIDE]!;
    const end = this.#bounds[index * STRIDE + 1]!;
    if (end - start !== lowerName.length) return false;
    const bytes = this.#bytes;
    for (let i = 0; i < lowerName.length; i++) {
      let byte = bytes[start + i]!;
      if (byte >= 0x41 && byte <= 0x5a) byte |= 0x20;
      if (byte !== lowerName.charCodeAt(i)) return false;
    }
    return true;
  }

  hasValue(index: number): boolean {
    return this.#bounds[index * STRIDE + 2]! >= 0;
  }

  name(index: number): Uint8Array {
    return this.#bytes.subarray(this.#bounds[index * STRIDE]!, this.#bounds[index * STRIDE + 1]!);
  }

  value(index: number): Uint8Array | null {
    const start = this.#bounds[index * STRIDE + 2]!;
    return start < 0 ? null : this.#bytes.subarray(start, this.#bounds[index * STRIDE + 3]!);
  }
}

/** Start and end of a string field of `table`, or -1, -1 when the field is absent. */
function stringBounds(bb: flatbuffers.ByteBuffer, table: number, slot: number, out: number[], at: number): void {
  const field = bb.__offset(table, slot);
  if (field === 0) {
    out[at] = -1;
    out[at + 1] = -1;
    return;
  }
  const string = table + field + bb.readInt32(table + field);
  const start = string + 4;
  out[at] = start;
  out[at + 1] = start + bb.readInt32(string);
}

/** An {@link EntryList} over already-decoded entries (requests built by hand, tests). */
export class ArrayEntryList implements EntryList {
  constructor(private readonly entries: readonly RawEntry[]) {}

  get length(): number {
    return this.entries.length;
  }

  nameIs(index: number, lowerName: string): boolean {
    const name = this.entries[index]!.name;
    if (name.length !== lowerName.length) return false;
    for (let i = 0; i < name.length; i++) {
      let byte = name[i]!;
      if (byte >= 0x41 && byte <= 0x5a) byte |= 0x20;
      if (byte !== lowerName.charCodeAt(i)) return false;
    }
    return true;
  }

  hasValue(index: number): boolean {
    return this.entries[index]!.value !== null;
  }

  name(index: number): Uint8Array {
    return this.entries[index]!.name;
  }

  value(index: number): Uint8Array | null {
    return this.entries[index]!.value;
  }
}

/** Every entry as a `RawEntry` (views into the payload). */
export function toRawEntries(list: EntryList): RawEntry[] {
  const entries = new Array<RawEntry>(list.length);
  for (let i = 0; i < list.length; i++) entries[i] = { name: list.name(i), value: list.value(i) };
  return entries;
}
