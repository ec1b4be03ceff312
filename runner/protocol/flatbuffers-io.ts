/**
 * Internal helpers shared by the runner-side and gateway-side codecs: one reused
 * FlatBuffers builder that yields whole frames, and byte-exact reading and writing
 * of `A6.TextEntry` vectors. Not part of the public protocol surface.
 */
import * as flatbuffers from 'flatbuffers';
import { ErrorCode, RunnerError } from '../errors.js';
import { encodeFrame } from './frame-decoder.js';
import { TextEntry } from './generated/a6/text-entry.js';
import { MAX_PAYLOAD_BYTES } from './messages.js';
import type { OutEntry, RawEntry } from './messages.js';

const INITIAL_BUILDER_BYTES = 1024;
/**
 * A builder that grew past this (a large body) is dropped after use instead of
 * being kept for the rest of the process: `Builder.clear()` keeps the grown buffer.
 */
const RETAINED_BUILDER_BYTES = 1 << 20;

let sharedBuilder = new flatbuffers.Builder(INITIAL_BUILDER_BYTES);

/**
 * Runs `build` on the module's builder (cleared first), finishes the buffer with
 * the returned root table and returns the whole frame (header + payload).
 * Sharing one builder is safe because encoding is synchronous and not re-entrant.
 *
 * @throws RunnerError `PROTOCOL_REPLY_TOO_LARGE` when the payload exceeds the
 *   24-bit frame limit.
 */
export function buildFrame(type: number, build: (builder: flatbuffers.Builder) => flatbuffers.Offset): Buffer {
  const builder = sharedBuilder;
  builder.clear();
  try {
    builder.finish(build(builder));
    return encodeFrame(type, builder.asUint8Array());
  } finally {
    if (builder.dataBuffer().capacity() > RETAINED_BUILDER_BYTES) {
      sharedBuilder = new flatbuffers.Builder(INITIAL_BUILDER_BYTES);
    }
  }
}

/**
 * Fails fast, before anything is built, when a single byte field is already over
 * the frame limit (so a huge body never makes the builder grow to twice its size).
 */
export function assertFitsInFrame(what: string, bytes: Uint8Array | null): void {
  if (bytes !== null && bytes.length > MAX_PAYLOAD_BYTES) {
    throw new RunnerError(
      ErrorCode.PROTOCOL_REPLY_TOO_LARGE,
      `${what} of ${bytes.length} bytes cannot fit in a ${MAX_PAYLOAD_BYTES}-byte frame`,
    );
  }
}

/** Writes a string field: JS strings as UTF-8, byte arrays unchanged. */
export function createText(builder: flatbuffers.Builder, text: string | Uint8Array): flatbuffers.Offset {
  return builder.createString(typeof text === 'string' ? utf8Scratch(text) : text);
}

/** Strings up to this many UTF-16 units are encoded into the scratch buffer. */
const SCRATCH_CHARS = 4096;
/** UTF-8 needs at most 3 bytes per UTF-16 unit. */
const scratch = new Uint8Array(SCRATCH_CHARS * 3);
const encoder = new TextEncoder();

/**
 * `text` as UTF-8 in a view of a shared scratch buffer, valid until the next call:
 * the builder copies it at once. `Builder.createString(string)` would allocate a new
 * `Uint8Array` (an external backing store) for every header name and value of every
 * reply. ASCII, the common case, is copied by a plain loop.
 */
function utf8Scratch(text: string): Uint8Array {
  const length = text.length;
  if (length > SCRATCH_CHARS) return encoder.encode(text);
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
    scratch[i] = code;
  }
  return scratch.subarray(0, length);
}

/** `[ubyte]` field, or 0 (field omitted) for null. Empty arrays are written as empty vectors. */
export function createBytes(builder: flatbuffers.Builder, bytes: Uint8Array | null): flatbuffers.Offset {
  return bytes === null ? 0 : builder.createByteVector(bytes);
}

/** `[ubyte]` field omitted when null or empty (the gateway ignores empty bodies). */
export function createBodyOrOmit(builder: flatbuffers.Builder, body: Uint8Array | null): flatbuffers.Offset {
  return body === null || body.length === 0 ? 0 : builder.createByteVector(body);
}

/**
 * Writes a `[A6.TextEntry]` vector in order. An entry with `value: null` gets no
 * `value` field at all (absent, which means "valueless" or "delete" on this wire).
 */
export function createEntries(builder: flatbuffers.Builder, entries: readonly OutEntry[]): flatbuffers.Offset {
  const count = entries.length;
  const offsets = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const entry = entries[i]!;
    const name = createText(builder, entry.name);
    const value = entry.value === null ? 0 : createText(builder, entry.value);
    TextEntry.startTextEntry(builder);
    TextEntry.addName(builder, name);
    if (value !== 0) {
      TextEntry.addValue(builder, value);
    }
    offsets[i] = TextEntry.endTextEntry(builder);
  }
  builder.startVector(4, count, 4);
  for (let i = count - 1; i >= 0; i--) {
    builder.addOffset(offsets[i]!);
  }
  return builder.endVector();
}

/** `[A6.TextEntry]` field omitted when there are no entries. */
export function createEntriesOrOmit(builder: flatbuffers.Builder, entries: readonly OutEntry[] | null): flatbuffers.Offset {
  return entries === null || entries.length === 0 ? 0 : createEntries(builder, entries);
}

/**
 * Reads `count` entries through a generated vector accessor. The buffer must have
 * been verified (names are required there), so every read is in bounds.
 */
export function readEntries(
  count: number,
  at: (index: number, cursor: TextEntry) => TextEntry | null,
): RawEntry[] {
  const entries = new Array<RawEntry>(count);
  const cursor = new TextEntry();
  for (let i = 0; i < count; i++) {
    const entry = at(i, cursor);
    if (entry === null) {
      throw new RunnerError(ErrorCode.PROTOCOL_MALFORMED, `entry ${i} of ${count} is missing`);
    }
    const name = bytesOrNull(entry.name(flatbuffers.Encoding.UTF8_BYTES));
    if (name === null) {
      throw new RunnerError(ErrorCode.PROTOCOL_MALFORMED, `entry ${i} of ${count} has no name`);
    }
    entries[i] = { name, value: bytesOrNull(entry.value(flatbuffers.Encoding.UTF8_BYTES)) };
  }
  return entries;
}

/**
 * Narrows what a generated string accessor returns when called with
 * `Encoding.UTF8_BYTES`: always bytes or null, never a decoded string.
 */
export function bytesOrNull(value: string | Uint8Array | null): Uint8Array | null {
  if (typeof value === 'string') {
    throw new TypeError('string accessor decoded text although UTF8_BYTES was requested');
  }
  return value;
}
