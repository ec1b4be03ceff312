import { expect } from 'chai';
import fc from 'fast-check';
import { ErrorCode, isRunnerError } from '../../../runner/errors.js';
import { encodeFrame, FrameDecoder } from '../../../runner/protocol/frame-decoder.js';
import { MAX_PAYLOAD_BYTES } from '../../../runner/protocol/messages.js';
import type { Frame } from '../../../runner/protocol/messages.js';

interface PlainFrame {
  type: number;
  payload: string;
}

function plain(frames: readonly Frame[]): PlainFrame[] {
  return frames.map((f) => ({ type: f.type, payload: Buffer.from(f.payload).toString('hex') }));
}

function rawFrame(type: number, payload: Uint8Array): Buffer {
  const header = Buffer.from([type, (payload.length >> 16) & 0xff, (payload.length >> 8) & 0xff, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

function patterned(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    out[i] = (i * 31 + seed) & 0xff;
  }
  return out;
}

/** Several frames of different types and sizes, including an empty one and a header-sized one. */
const STREAM_FRAMES: readonly { type: number; payload: Buffer }[] = [
  { type: 2, payload: patterned(13, 1) },
  { type: 1, payload: Buffer.alloc(0) },
  { type: 3, payload: patterned(4, 2) },
  { type: 4, payload: patterned(300, 3) },
  { type: 0, payload: patterned(1, 4) },
  { type: 255, payload: patterned(70, 5) },
];
const STREAM = Buffer.concat(STREAM_FRAMES.map((f) => rawFrame(f.type, f.payload)));
const EXPECTED = plain(STREAM_FRAMES);

function expectRunnerError(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isRunnerError(caught), `expected a RunnerError, got ${String(caught)}`).to.equal(true);
  expect((caught as { code: string }).code).to.equal(code);
}

describe('protocol/frame-decoder', () => {
  describe('FrameDecoder', () => {
    it('returns one frame from one chunk, with the payload viewing the chunk (zero copy)', () => {
      const chunk = rawFrame(2, patterned(10, 9));
      const frames = new FrameDecoder().push(chunk);
      expect(plain(frames)).to.deep.equal([{ type: 2, payload: patterned(10, 9).toString('hex') }]);
      const payload = frames[0]!.payload;
      expect(payload.buffer).to.equal(chunk.buffer);
      expect(payload.byteOffset).to.equal(chunk.byteOffset + 4);
    });

    it('returns coalesced frames from one chunk in order', () => {
      const decoder = new FrameDecoder();
      expect(plain(decoder.push(STREAM))).to.deep.equal(EXPECTED);
      expect(decoder.bufferedBytes).to.equal(0);
    });

    it('yields the same frames when the stream is split at every byte offset', () => {
      for (let cut = 0; cut <= STREAM.length; cut++) {
        const decoder = new FrameDecoder();
        const frames = [...decoder.push(STREAM.subarray(0, cut)), ...decoder.push(STREAM.subarray(cut))];
        expect(plain(frames), `cut at ${cut}`).to.deep.equal(EXPECTED);
        expect(decoder.bufferedBytes).to.equal(0);
      }
    });

    it('yields the same frames from 1-byte chunks, holding back split frames', () => {
      const decoder = new FrameDecoder();
      const frames: Frame[] = [];
      for (let i = 0; i < STREAM.length; i++) {
        frames.push(...decoder.push(STREAM.subarray(i, i + 1)));
      }
      expect(plain(frames)).to.deep.equal(EXPECTED);
    });

    it('yields the same frames for any random chunking (seeded property)', () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: STREAM.length }), { maxLength: 12 }), (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), STREAM.length];
          const decoder = new FrameDecoder();
          const frames: Frame[] = [];
          for (let i = 0; i + 1 < points.length; i++) {
            frames.push(...decoder.push(STREAM.subarray(points[i], points[i + 1])));
          }
          expect(plain(frames)).to.deep.equal(EXPECTED);
        }),
        { seed: 20240601, numRuns: 500 },
      );
    });

    it('copies a frame that spans chunks into its own buffer', () => {
      const stream = rawFrame(4, patterned(8, 7));
      const first = Buffer.from(stream.subarray(0, 6));
      const second = Buffer.from(stream.subarray(6));
      const decoder = new FrameDecoder();
      expect(decoder.push(first)).to.deep.equal([]);
      const [frame] = decoder.push(second);
      first.fill(0);
      second.fill(0);
      expect(Buffer.from(frame!.payload).toString('hex')).to.equal(patterned(8, 7).toString('hex'));
    });

    it('reports buffered bytes of an incomplete frame', () => {
      const decoder = new FrameDecoder();
      const stream = rawFrame(2, patterned(20, 1));
      expect(decoder.push(stream.subarray(0, 2))).to.deep.equal([]);
      expect(decoder.bufferedBytes).to.equal(2);
      expect(decoder.push(stream.subarray(2, 15))).to.deep.equal([]);
      expect(decoder.bufferedBytes).to.equal(15);
      expect(decoder.push(stream.subarray(15))).to.have.length(1);
      expect(decoder.bufferedBytes).to.equal(0);
    });

    it('surfaces a zero-length frame as an empty payload', () => {
      const frames = new FrameDecoder().push(Buffer.from([2, 0, 0, 0]));
      expect(frames).to.have.length(1);
      expect(frames[0]!.type).to.equal(2);
      expect(frames[0]!.payload.length).to.equal(0);
    });

    it('ignores empty chunks', () => {
      const decoder = new FrameDecoder();
      expect(decoder.push(new Uint8Array(0))).to.deep.equal([]);
      expect(decoder.bufferedBytes).to.equal(0);
    });

    it('throws PROTOCOL_FRAME_TOO_LARGE as soon as an oversized header is complete', () => {
      const decoder = new FrameDecoder(10);
      expect(decoder.push(Buffer.from([2, 0, 0]))).to.deep.equal([]);
      expectRunnerError(() => decoder.push(Buffer.from([11])), ErrorCode.PROTOCOL_FRAME_TOO_LARGE);
      // Poisoned: the stream position is lost, so every later push fails the same way.
      expectRunnerError(() => decoder.push(Buffer.from([1, 0, 0, 1, 9])), ErrorCode.PROTOCOL_FRAME_TOO_LARGE);
      expect(decoder.bufferedBytes).to.equal(0);
    });

    it('accepts a payload of exactly the limit', () => {
      const frames = new FrameDecoder(10).push(rawFrame(1, patterned(10, 3)));
      expect(plain(frames)).to.deep.equal([{ type: 1, payload: patterned(10, 3).toString('hex') }]);
    });

    it('accepts the largest 24-bit length by default', () => {
      const payload = Buffer.alloc(MAX_PAYLOAD_BYTES, 0xab);
      const decoder = new FrameDecoder();
      const frames = [...decoder.push(rawFrame(2, payload).subarray(0, 1000)), ...decoder.push(rawFrame(2, payload).subarray(1000))];
      expect(frames).to.have.length(1);
      expect(frames[0]!.payload.length).to.equal(MAX_PAYLOAD_BYTES);
      expect(frames[0]!.payload[MAX_PAYLOAD_BYTES - 1]).to.equal(0xab);
    });

    it('rejects an invalid limit', () => {
      expect(() => new FrameDecoder(-1)).to.throw(RangeError);
      expect(() => new FrameDecoder(1.5)).to.throw(RangeError);
    });
  });

  describe('encodeFrame', () => {
    it('writes type, 24-bit big-endian length and payload in one buffer', () => {
      const payload = patterned(0x010203, 5);
      const frame = encodeFrame(4, payload);
      expect(frame.length).to.equal(4 + 0x010203);
      expect([...frame.subarray(0, 4)]).to.deep.equal([4, 1, 2, 3]);
      expect(Buffer.compare(frame.subarray(4), payload)).to.equal(0);
    });

    it('round-trips through the decoder', () => {
      const frames = new FrameDecoder().push(Buffer.concat([encodeFrame(1, patterned(3, 1)), encodeFrame(0, patterned(5, 2))]));
      expect(plain(frames)).to.deep.equal([
        { type: 1, payload: patterned(3, 1).toString('hex') },
        { type: 0, payload: patterned(5, 2).toString('hex') },
      ]);
    });

    it('refuses an empty payload', () => {
      expectRunnerError(() => encodeFrame(2, new Uint8Array(0)), ErrorCode.PROTOCOL_EMPTY_FRAME);
    });

    it('refuses a payload over the 24-bit limit with PROTOCOL_REPLY_TOO_LARGE', () => {
      expectRunnerError(() => encodeFrame(2, new Uint8Array(MAX_PAYLOAD_BYTES + 1)), ErrorCode.PROTOCOL_REPLY_TOO_LARGE);
      expect(encodeFrame(2, new Uint8Array(MAX_PAYLOAD_BYTES)).subarray(0, 4).toString('hex')).to.equal('02ffffff');
    });

    it('refuses a type outside 0-255', () => {
      expect(() => encodeFrame(256, new Uint8Array(1))).to.throw(RangeError);
      expect(() => encodeFrame(-1, new Uint8Array(1))).to.throw(RangeError);
    });
  });
});
