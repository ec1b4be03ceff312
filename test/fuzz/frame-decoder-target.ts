/**
 * Fuzz target for the frame decoder: random streams (well-formed frames of any type
 * and length, zero-length frames, headers announcing more than the limit, raw
 * garbage) cut into random chunks, checked against a ten-line reference parser that
 * reads the whole stream at once.
 *
 * Properties, for any chunking:
 * - without an oversized header, the decoder returns exactly the reference frames
 *   (type and payload bytes, in order) and holds back exactly the unparsed rest;
 * - with one, the push that completes the oversized header throws
 *   `PROTOCOL_FRAME_TOO_LARGE`, every frame completed by earlier pushes was returned,
 *   none after, and every later push throws again (the stream position is lost);
 * - nothing else is ever thrown.
 */
import fc from 'fast-check';
import { ErrorCode, isRunnerError } from '../../runner/errors.js';
import { FrameDecoder } from '../../runner/protocol/frame-decoder.js';
import type { Frame } from '../../runner/protocol/messages.js';
import { Counters, PropertyViolation, errorLabel, runSyncProperty, type FuzzTarget } from './fuzz-target.js';

interface ReferenceFrame {
  readonly type: number;
  readonly payload: Uint8Array;
  /** Stream offset just past the frame. */
  readonly end: number;
}

interface ReferenceParse {
  readonly frames: readonly ReferenceFrame[];
  /** Stream offset where an oversized header ends (header complete), or null. */
  readonly oversizedHeaderEnd: number | null;
  /** Bytes left after the last whole frame (no oversized header). */
  readonly rest: number;
}

/** The obvious parser over one contiguous buffer. */
export function referenceParse(stream: Uint8Array, maxPayload: number): ReferenceParse {
  const frames: ReferenceFrame[] = [];
  let at = 0;
  while (stream.length - at >= 4) {
    const len = (stream[at + 1]! << 16) | (stream[at + 2]! << 8) | stream[at + 3]!;
    if (len > maxPayload) return { frames, oversizedHeaderEnd: at + 4, rest: 0 };
    if (stream.length - at - 4 < len) break;
    frames.push({ type: stream[at]!, payload: stream.subarray(at + 4, at + 4 + len), end: at + 4 + len });
    at += 4 + len;
  }
  return { frames, oversizedHeaderEnd: null, rest: stream.length - at };
}

function header(type: number, len: number): Uint8Array {
  return Uint8Array.of(type, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
}

const frameArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }))
      .map(([type, payload]) => Uint8Array.from([...header(type, payload.length), ...payload])),
  },
  // A header announcing an arbitrary 24-bit length (often more than the limit or the stream).
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffffff })).map(([t, len]) => header(t, len)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }) },
);

const LIMITS = [16_777_215, 1024, 255, 16, 1, 0] as const;

const caseArb = fc.record({
  maxPayload: fc.oneof({ weight: 4, arbitrary: fc.constant(LIMITS[0]) }, { weight: 2, arbitrary: fc.constantFrom(...LIMITS) }),
  parts: fc.array(frameArb, { maxLength: 8 }),
  /** Chunk boundaries, as offsets into the stream (reduced modulo its length). */
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
});

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function sameFrame(got: Frame, want: ReferenceFrame): boolean {
  return got.type === want.type && Buffer.from(got.payload).equals(Buffer.from(want.payload));
}

export const frameDecoderTarget: FuzzTarget = {
  name: 'frame-decoder',
  description: 'Frame decoder on random streams (any type, length, zero-length and oversized headers, garbage) split at random offsets, against a reference parser',
  defaultCases: 1_000_000,
  kind: 'pure',
  async run(options) {
    const counters = new Counters();
    return runSyncProperty(
      this.name,
      caseArb,
      ({ maxPayload, parts, cuts }) => {
        const stream = concat(parts);
        const reference = referenceParse(stream, maxPayload);
        const offsets = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % (stream.length + 1))))].sort((a, b) => a - b);
        const bounds = [0, ...offsets, stream.length];
        const decoder = new FrameDecoder(maxPayload);
        const got: Frame[] = [];
        let failedAtPushEnd: number | null = null;
        let pushedBefore = 0;
        for (let i = 0; i + 1 < bounds.length; i++) {
          // Each chunk is its own copy, as a socket would deliver it.
          const chunk = stream.slice(bounds[i]!, bounds[i + 1]!);
          try {
            got.push(...decoder.push(chunk));
          } catch (err) {
            if (!isRunnerError(err, ErrorCode.PROTOCOL_FRAME_TOO_LARGE)) {
              throw new PropertyViolation(`push threw ${errorLabel(err)}`, { cause: err });
            }
            if (failedAtPushEnd === null) {
              failedAtPushEnd = bounds[i + 1]!;
              pushedBefore = bounds[i]!;
            }
          }
        }
        if (reference.oversizedHeaderEnd === null) {
          if (failedAtPushEnd !== null) throw new PropertyViolation('decoder refused a stream without an oversized header');
          if (got.length !== reference.frames.length || !got.every((f, i) => sameFrame(f, reference.frames[i]!))) {
            throw new PropertyViolation(`decoder returned ${got.length} frames, the reference ${reference.frames.length} (or different bytes)`);
          }
          if (decoder.bufferedBytes !== reference.rest) {
            throw new PropertyViolation(`decoder holds ${decoder.bufferedBytes} bytes, the reference leaves ${reference.rest}`);
          }
          counters.bump(reference.frames.length === 0 ? 'no_frame' : 'frames');
          counters.bump('frames_total', reference.frames.length);
          return;
        }
        // An oversized header: it must be refused in the push that completes it.
        if (failedAtPushEnd === null) {
          if (stream.length >= reference.oversizedHeaderEnd) throw new PropertyViolation('decoder accepted an oversized header');
          return;
        }
        if (!(pushedBefore < reference.oversizedHeaderEnd && reference.oversizedHeaderEnd <= failedAtPushEnd)) {
          throw new PropertyViolation(`decoder refused in the push ending at ${failedAtPushEnd}, the oversized header ends at ${reference.oversizedHeaderEnd}`);
        }
        const expected = reference.frames.filter((f) => f.end <= pushedBefore);
        if (got.length !== expected.length || !got.every((f, i) => sameFrame(f, expected[i]!))) {
          throw new PropertyViolation('frames returned around an oversized header differ from the reference');
        }
        try {
          decoder.push(Uint8Array.of(0));
          throw new PropertyViolation('decoder accepted bytes after refusing an oversized header');
        } catch (err) {
          if (err instanceof PropertyViolation) throw err;
          if (!isRunnerError(err, ErrorCode.PROTOCOL_FRAME_TOO_LARGE)) throw new PropertyViolation(`poisoned push threw ${errorLabel(err)}`);
        }
        counters.bump('oversized_refused');
      },
      options,
      counters,
    );
  },
};
