/**
 * Framing of the ext-plugin stream (protocol reference 2.1): a 4-byte header
 * (type byte, then the payload length as a 24-bit big-endian integer) followed by
 * exactly that many payload bytes. Pure: no sockets, no timers.
 */
import { ErrorCode, RunnerError } from '../errors.js';
import { allocateFrame } from './frame-allocator.js';
import { FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES } from './messages.js';
import type { Frame } from './messages.js';

/**
 * Cuts a byte stream into frames.
 *
 * Received chunks are kept in a list with a running total and are only joined
 * once a whole frame (4 + len bytes) is available, so a large payload arriving in
 * many reads costs one copy rather than one copy per read. Several frames in one
 * chunk come out in order from a single {@link push}; a frame split across chunks
 * comes out from the push that completes it.
 *
 * Zero copy: when a frame lies wholly inside one pushed chunk, its `payload` is a
 * view of that chunk (`subarray`), not a copy. Callers must not modify a chunk
 * after pushing it, and must copy any payload bytes they keep beyond the current
 * conversation (otherwise the whole chunk stays alive). Frames assembled from
 * several chunks get a fresh buffer.
 *
 * A frame with `len = 0` is returned with an empty payload; deciding what that
 * means (the gateway never sends one) is the caller's job.
 *
 * After {@link push} has thrown, the decoder is poisoned: every later push throws
 * the same error, because the stream position is lost and the connection must be
 * closed.
 */
export class FrameDecoder {
  readonly #maxPayloadBytes: number;
  /** Pending chunks; `#chunks[#head]` is the oldest, read from `#headOffset`. */
  #chunks: Uint8Array[] = [];
  #head = 0;
  #headOffset = 0;
  #buffered = 0;
  #failure: RunnerError | null = null;

  /**
   * @param maxPayloadBytes largest payload accepted; a header announcing more makes
   *   {@link push} throw `PROTOCOL_FRAME_TOO_LARGE`. Defaults to the protocol
   *   maximum (2^24 - 1), which a 24-bit length cannot exceed anyway.
   */
  constructor(maxPayloadBytes: number = MAX_PAYLOAD_BYTES) {
    if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 0) {
      throw new RangeError(`maxPayloadBytes must be a non-negative integer, got ${maxPayloadBytes}`);
    }
    this.#maxPayloadBytes = maxPayloadBytes;
  }

  /** Bytes received but not yet returned as part of a frame. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Adds received bytes and returns every frame they complete, in stream order
   * (often none).
   *
   * @throws RunnerError `PROTOCOL_FRAME_TOO_LARGE` as soon as a header announcing
   *   more than `maxPayloadBytes` is complete; frames completed earlier in the same
   *   chunk are dropped with it (the connection is being closed).
   */
  push(chunk: Uint8Array): Frame[] {
    if (this.#failure !== null) {
      throw this.#failure;
    }
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.#buffered >= FRAME_HEADER_BYTES) {
      const type = this.#peekByte(0);
      const len = (this.#peekByte(1) << 16) | (this.#peekByte(2) << 8) | this.#peekByte(3);
      if (len > this.#maxPayloadBytes) {
        this.#failure = new RunnerError(
          ErrorCode.PROTOCOL_FRAME_TOO_LARGE,
          `frame header announces a ${len}-byte payload; the limit is ${this.#maxPayloadBytes} bytes`,
        );
        this.#release();
        throw this.#failure;
      }
      if (this.#buffered < FRAME_HEADER_BYTES + len) {
        break;
      }
      this.#skip(FRAME_HEADER_BYTES);
      const payload = this.#take(len);
      frames.push({ type, payload });
    }
    return frames;
  }

  /** Byte at `index` counted from the read position; the caller knows it is buffered. */
  #peekByte(index: number): number {
    let i = this.#head;
    let at = this.#headOffset + index;
    for (;;) {
      const chunk = this.#chunks[i]!;
      if (at < chunk.length) {
        return chunk[at]!;
      }
      at -= chunk.length;
      i++;
    }
  }

  #skip(count: number): void {
    let remaining = count;
    while (remaining > 0) {
      const chunk = this.#chunks[this.#head]!;
      const available = chunk.length - this.#headOffset;
      if (remaining < available) {
        this.#headOffset += remaining;
        break;
      }
      remaining -= available;
      this.#dropHead();
    }
    this.#buffered -= count;
  }

  /** Removes `count` buffered bytes (the caller knows they are there) and returns them. */
  #take(count: number): Uint8Array {
    const first = this.#chunks[this.#head];
    if (count === 0 || first === undefined) {
      return new Uint8Array(0);
    }
    const start = this.#headOffset;
    if (first.length - start >= count) {
      // Zero copy: the payload lies wholly inside one chunk.
      const view = first.subarray(start, start + count);
      this.#skip(count);
      return view;
    }
    const joined = Buffer.allocUnsafe(count);
    let written = 0;
    while (written < count) {
      const chunk = this.#chunks[this.#head]!;
      const from = this.#headOffset;
      const n = Math.min(chunk.length - from, count - written);
      joined.set(chunk.subarray(from, from + n), written);
      written += n;
      if (from + n === chunk.length) {
        this.#dropHead();
      } else {
        this.#headOffset = from + n;
      }
    }
    this.#buffered -= count;
    return joined;
  }

  #dropHead(): void {
    this.#head++;
    this.#headOffset = 0;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
      // Compact now and then so a long run of tiny chunks does not keep dead slots.
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }

  #release(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#headOffset = 0;
    this.#buffered = 0;
  }
}

/**
 * Builds one frame: the 4-byte header and `payload` in a single buffer, ready for
 * one socket write.
 *
 * @throws RunnerError `PROTOCOL_REPLY_TOO_LARGE` when the payload exceeds
 *   {@link MAX_PAYLOAD_BYTES} (a 24-bit length cannot describe it).
 * @throws RunnerError `PROTOCOL_EMPTY_FRAME` for an empty payload: the gateway
 *   fails on an empty success payload (protocol reference 2.4), so the runner must
 *   never send one; reaching this is a bug in the caller.
 * @throws RangeError when `type` is not an integer in 0-255.
 */
export function encodeFrame(type: number, payload: Uint8Array): Buffer {
  if (!Number.isInteger(type) || type < 0 || type > 0xff) {
    throw new RangeError(`frame type must be an integer in 0-255, got ${type}`);
  }
  if (payload.length === 0) {
    throw new RunnerError(ErrorCode.PROTOCOL_EMPTY_FRAME, `refusing to encode a type-${type} frame with an empty payload`);
  }
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new RunnerError(
      ErrorCode.PROTOCOL_REPLY_TOO_LARGE,
      `type-${type} payload of ${payload.length} bytes exceeds the ${MAX_PAYLOAD_BYTES}-byte frame limit`,
    );
  }
  const frame = allocateFrame(FRAME_HEADER_BYTES + payload.length);
  frame[0] = type;
  frame.writeUIntBE(payload.length, 1, 3);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}
