/**
 * `[A6.TextEntry]` vectors read in place. Every call looks a few headers up by name
 * (the token header, the identity headers it must strip); materialising every entry
 * as two `Uint8Array` views to do that allocated more than the rest of a call. An
 * {@link EntryList} records where each name and value lies in the payload and hands
 * out a view only for the entry asked for.
 */
import type { EntryList, RawEntry } from './messages.js';
import { fieldAt, follow, readInt32 } from './table-reads.js';

/** Field ids of `A6.TextEntry`. */
const NAME_FIELD = 0;
const VALUE_FIELD = 1;
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
   * @param bytes the verified payload
   * @param vector position of the vector (its length prefix), as a uoffset field points to it
   */
  constructor(bytes: Uint8Array, vector: number) {
    const length = readInt32(bytes, vector);
    this.length = length;
    this.#bytes = bytes;
    // Sized once (no growth while filling); every slot is written below.
    const bounds = new Array<number>(length * STRIDE);
    for (let i = 0; i < length; i++) {
      const table = follow(bytes, vector + 4 + i * 4);
      stringBounds(bytes, table, NAME_FIELD, bounds, i * STRIDE);
      stringBounds(bytes, table, VALUE_FIELD, bounds, i * STRIDE + 2);
    }
    this.#bounds = bounds;
  }

  nameIs(index: number, lowerName: string): boolean {
    return asciiEqualIgnoreCase(this.#bytes, this.#bounds[index * STRIDE]!, this.#bounds[index * STRIDE + 1]!, lowerName);
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

/** Writes start and end of a string field of `table` at `out[at]`, or -1, -1 when the field is absent. */
function stringBounds(bytes: Uint8Array, table: number, field: number, out: number[], at: number): void {
  const position = fieldAt(bytes, table, field);
  if (position === 0) {
    out[at] = -1;
    out[at + 1] = -1;
    return;
  }
  const string = follow(bytes, position);
  out[at] = string + 4;
  out[at + 1] = string + 4 + readInt32(bytes, string);
}

/** An {@link EntryList} over already-decoded entries (requests built by hand, tests). */
export class ArrayEntryList implements EntryList {
  constructor(private readonly entries: readonly RawEntry[]) {}

  get length(): number {
    return this.entries.length;
  }

  nameIs(index: number, lowerName: string): boolean {
    const name = this.entries[index]!.name;
    return asciiEqualIgnoreCase(name, 0, name.length, lowerName);
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

/**
 * True when `bytes[start..end)` equals `lowerName` (lower-case ASCII) ignoring ASCII
 * case. Bytes above 0x7f never fold, so a non-ASCII name never matches.
 */
export function asciiEqualIgnoreCase(bytes: Uint8Array, start: number, end: number, lowerName: string): boolean {
  if (end - start !== lowerName.length) return false;
  for (let i = 0; i < lowerName.length; i++) {
    let byte = bytes[start + i]!;
    if (byte >= 0x41 && byte <= 0x5a) byte |= 0x20;
    if (byte !== lowerName.charCodeAt(i)) return false;
  }
  return true;
}

/** Every entry as a `RawEntry` (views into the payload). */
export function toRawEntries(list: EntryList): RawEntry[] {
  const entries = new Array<RawEntry>(list.length);
  for (let i = 0; i < list.length; i++) entries[i] = { name: list.name(i), value: list.value(i) };
  return entries;
}
