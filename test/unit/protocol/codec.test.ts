import { expect } from 'chai';
import fc from 'fast-check';
import * as flatbuffers from 'flatbuffers';
import { ErrorCode, isRunnerError } from '../../../runner/errors.js';
import {
  decodeRunnerReply,
  encodeExtraInfoAnswer,
  encodeHTTPReqCallRequest,
  encodeHTTPRespCallRequest,
  encodePrepareConfRequest,
} from '../../../runner/protocol/gateway-codec.js';
import type { RunnerReply } from '../../../runner/protocol/gateway-codec.js';
import { Req as ExtraInfoReq } from '../../../runner/protocol/generated/a6/extra-info/req.js';
import { Resp as HTTPReqCallResp } from '../../../runner/protocol/generated/a6/httpreq-call/resp.js';
import { Rewrite } from '../../../runner/protocol/generated/a6/httpreq-call/rewrite.js';
import { Stop } from '../../../runner/protocol/generated/a6/httpreq-call/stop.js';
import { Resp as HTTPRespCallResp } from '../../../runner/protocol/generated/a6/httpresp-call/resp.js';
import { FrameDecoder } from '../../../runner/protocol/frame-decoder.js';
import { MAX_PAYLOAD_BYTES, RpcErrorCode } from '../../../runner/protocol/messages.js';
import type { Frame, OutEntry, RawEntry, ReqCallAction } from '../../../runner/protocol/messages.js';
import {
  decodeExtraInfoAnswer,
  decodeHTTPReqCallRequest,
  decodeHTTPRespCallRequest,
  decodePrepareConfRequest,
  encodeErrorReply,
  encodeExtraInfoQuestion,
  encodePrepareConfReply,
  encodeReqCallReply,
  encodeRespCallReply,
} from '../../../runner/protocol/runner-codec.js';

// ---- helpers ------------------------------------------------------------------

type Text = string | Uint8Array;

function toBytes(text: Text): Uint8Array {
  return typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
}

function hex(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

function textHex(text: Text | null): string | null {
  return text === null ? null : hex(toBytes(text));
}

interface HexEntry {
  name: string | null;
  value: string | null;
}

function rawEntries(entries: readonly RawEntry[]): HexEntry[] {
  return entries.map((e) => ({ name: hex(e.name), value: hex(e.value) }));
}

function outEntries(entries: readonly OutEntry[]): HexEntry[] {
  return entries.map((e) => ({ name: textHex(e.name), value: textHex(e.value) }));
}

/** Cuts exactly one frame out of an encoder's output, checking the header on the way. */
function onlyFrame(bytes: Buffer, type: number): Frame {
  const frames = new FrameDecoder().push(bytes);
  expect(frames).to.have.length(1);
  expect(frames[0]!.type).to.equal(type);
  expect(frames[0]!.payload.length).to.be.greaterThan(0);
  return frames[0]!;
}

function reply(bytes: Buffer): RunnerReply {
  const frame = new FrameDecoder().push(bytes)[0]!;
  return decodeRunnerReply(frame.type, frame.payload);
}

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

/** Whether the field at `slot` of a generated table object is present on the wire. */
function present(table: { bb: flatbuffers.ByteBuffer | null; bb_pos: number }, slot: number): boolean {
  return table.bb!.__offset(table.bb_pos, slot) !== 0;
}

function reqCallRespOf(frame: Buffer): HTTPReqCallResp {
  return HTTPReqCallResp.getRootAsResp(new flatbuffers.ByteBuffer(frame.subarray(4)));
}

const NUL_AND_HIGH = Uint8Array.from([0x61, 0x00, 0x80, 0xff, 0xc3, 0x28, 0xe2, 0x82]); // NUL, obs-text, invalid UTF-8
const INVALID_PATH = Uint8Array.from([0x2f, 0x61, 0xff, 0xfe, 0x00, 0x2f, 0xed, 0xa0, 0x80]); // lone surrogate encoding too

// ---- arbitraries ----------------------------------------------------------------

const textArb: fc.Arbitrary<Text> = fc.oneof(fc.string({ maxLength: 12 }), fc.uint8Array({ maxLength: 12 }));
const entryArb: fc.Arbitrary<OutEntry> = fc.record({
  name: textArb,
  value: fc.option(textArb, { nil: null }),
});
const uint32Arb = fc.integer({ min: 0, max: 0xffffffff });
const bodyArb = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null });

describe('protocol codec (runner side <-> gateway side)', () => {
  describe('PrepareConf request', () => {
    it('round-trips conf entries in order and the key byte-exact', () => {
      const conf: OutEntry[] = [
        { name: 'jwt-auth', value: '{"issuer":"https://id.example.test"}' },
        { name: 'audit', value: '' },
        { name: 'jwt-auth', value: NUL_AND_HIGH },
        { name: Uint8Array.from([0xff]), value: null },
      ];
      const frame = onlyFrame(encodePrepareConfRequest({ key: NUL_AND_HIGH, conf }), 1);
      const req = decodePrepareConfRequest(frame.payload);
      expect(hex(req.key)).to.equal(hex(NUL_AND_HIGH));
      expect(rawEntries(req.conf)).to.deep.equal(outEntries(conf));
    });

    it('keeps an absent key (null) apart from an empty one', () => {
      expect(decodePrepareConfRequest(onlyFrame(encodePrepareConfRequest({ key: null, conf: [] }), 1).payload).key).to.equal(null);
      const empty = decodePrepareConfRequest(onlyFrame(encodePrepareConfRequest({ key: '', conf: [] }), 1).payload).key;
      expect(empty).to.be.instanceOf(Uint8Array);
      expect(empty!.length).to.equal(0);
    });

    it('reads an absent conf vector as an empty list', () => {
      const req = decodePrepareConfRequest(onlyFrame(encodePrepareConfRequest({ key: 'k', conf: [] }), 1).payload);
      expect(req.conf).to.deep.equal([]);
    });

    it('round-trips arbitrary keys and entries (seeded property)', () => {
      fc.assert(
        fc.property(fc.option(textArb, { nil: null }), fc.array(entryArb, { maxLength: 6 }), (key, conf) => {
          const req = decodePrepareConfRequest(onlyFrame(encodePrepareConfRequest({ key, conf }), 1).payload);
          expect(hex(req.key)).to.equal(textHex(key));
          expect(rawEntries(req.conf)).to.deep.equal(outEntries(conf));
        }),
        { seed: 11, numRuns: 300 },
      );
    });
  });

  describe('HTTPReqCall request', () => {
    const headers: OutEntry[] = [
      { name: 'host', value: 'api.example.test:9080' },
      { name: 'x-same', value: 'one' },
      { name: 'authorization', value: 'Bearer a.b.c' },
      { name: 'x-same', value: 'two' },
      { name: 'x-raw', value: NUL_AND_HIGH },
      { name: 'x-empty', value: '' },
      { name: 'x-same', value: 'three' },
    ];
    const args: OutEntry[] = [
      { name: 'flag', value: null },
      { name: 'empty', value: '' },
      { name: 'k', value: 'v1' },
      { name: 'k', value: NUL_AND_HIGH },
    ];

    it('round-trips every field byte-exact, keeping repeated headers in order', () => {
      const frame = onlyFrame(
        encodeHTTPReqCallRequest({
          id: 0xfedcba98,
          confToken: 0x80000001,
          method: 2,
          srcIp: Uint8Array.from([10, 0, 0, 7]),
          path: INVALID_PATH,
          args,
          headers,
        }),
        2,
      );
      const req = decodeHTTPReqCallRequest(frame.payload);
      expect(req.id).to.equal(0xfedcba98);
      expect(req.confToken).to.equal(0x80000001);
      expect(req.method).to.equal(2);
      expect(hex(req.srcIp)).to.equal('0a000007');
      expect(hex(req.path)).to.equal(hex(INVALID_PATH));
      expect(rawEntries(req.args)).to.deep.equal(outEntries(args));
      expect(rawEntries(req.headers)).to.deep.equal(outEntries(headers));
    });

    it('keeps a valueless argument (absent value) apart from an empty one', () => {
      const req = decodeHTTPReqCallRequest(onlyFrame(encodeHTTPReqCallRequest({
        id: 1, confToken: 1, method: 0, srcIp: null, path: '/', args, headers: [],
      }), 2).payload);
      expect(req.args[0]!.value).to.equal(null);
      expect(req.args[1]!.value).to.be.instanceOf(Uint8Array);
      expect(req.args[1]!.value!.length).to.equal(0);
    });

    it('reads omitted default scalars as 0 and absent src_ip/path as null', () => {
      const req = decodeHTTPReqCallRequest(onlyFrame(encodeHTTPReqCallRequest({
        id: 0, confToken: 0, method: 0, srcIp: null, path: null, args: [], headers: [],
      }), 2).payload);
      expect([req.id, req.confToken, req.method, req.srcIp, req.path]).to.deep.equal([0, 0, 0, null, null]);
      expect(req.args).to.deep.equal([]);
      expect(req.headers).to.deep.equal([]);
    });

    it('passes a method outside 0-14 through as its raw value', () => {
      for (const method of [15, 200, 255]) {
        const req = decodeHTTPReqCallRequest(onlyFrame(encodeHTTPReqCallRequest({
          id: 1, confToken: 1, method, srcIp: null, path: null, args: [], headers: [],
        }), 2).payload);
        expect(req.method).to.equal(method);
      }
    });

    it('returns src_ip of any length unchanged (4, 16, 0, 3, 20 bytes)', () => {
      for (const length of [4, 16, 0, 3, 20]) {
        const srcIp = Uint8Array.from({ length }, (_, i) => 0xf0 + i);
        const req = decodeHTTPReqCallRequest(onlyFrame(encodeHTTPReqCallRequest({
          id: 1, confToken: 1, method: 0, srcIp, path: null, args: [], headers: [],
        }), 2).payload);
        expect(hex(req.srcIp), `length ${length}`).to.equal(hex(srcIp));
      }
    });

    it('decodes headers, args and path lazily, on first access, and memoises them', () => {
      const payload = Buffer.from(onlyFrame(encodeHTTPReqCallRequest({
        id: 5, confToken: 6, method: 1, srcIp: null, path: '/p', args, headers,
      }), 2).payload);
      const req = decodeHTTPReqCallRequest(payload);
      // Shrink the already verified header vector's length in place (7 -> 2): a decoder
      // that materialised headers at decode time would still report 7.
      const view = new HTTPReqCallReqView(payload);
      payload.writeInt32LE(2, view.headersLengthAt());
      expect(req.id).to.equal(5);
      expect(req.headers).to.have.length(2);
      expect(req.headers).to.equal(req.headers);
      expect(req.args).to.equal(req.args);
      expect(req.path).to.equal(req.path);
    });

    it('round-trips arbitrary requests (seeded property)', () => {
      fc.assert(
        fc.property(
          fc.record({
            id: uint32Arb,
            confToken: uint32Arb,
            method: fc.integer({ min: 0, max: 255 }),
            srcIp: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: null }),
            path: fc.option(textArb, { nil: null }),
            args: fc.array(entryArb, { maxLength: 6 }),
            headers: fc.array(entryArb, { maxLength: 10 }),
          }),
          (input) => {
            const req = decodeHTTPReqCallRequest(onlyFrame(encodeHTTPReqCallRequest(input), 2).payload);
            expect([req.id, req.confToken, req.method]).to.deep.equal([input.id, input.confToken, input.method]);
            expect(hex(req.srcIp)).to.equal(hex(input.srcIp));
            expect(hex(req.path)).to.equal(textHex(input.path));
            expect(rawEntries(req.args)).to.deep.equal(outEntries(input.args));
            expect(rawEntries(req.headers)).to.deep.equal(outEntries(input.headers));
          },
        ),
        { seed: 12, numRuns: 300 },
      );
    });
  });

  describe('HTTPRespCall request', () => {
    it('round-trips id, token, status and upstream-case headers in order', () => {
      const headers: OutEntry[] = [
        { name: 'Content-Type', value: 'application/json' },
        { name: 'Set-Cookie', value: 'a=1' },
        { name: 'Set-Cookie', value: 'b=2' },
        { name: 'X-Raw', value: NUL_AND_HIGH },
        { name: 'X-Null', value: null },
      ];
      const req = decodeHTTPRespCallRequest(onlyFrame(encodeHTTPRespCallRequest({ id: 77, confToken: 0xffffffff, status: 502, headers }), 4).payload);
      expect([req.id, req.confToken, req.status]).to.deep.equal([77, 0xffffffff, 502]);
      expect(rawEntries(req.headers)).to.deep.equal(outEntries(headers));
    });

    it('reads omitted scalars as 0 and no headers as an empty list', () => {
      const req = decodeHTTPRespCallRequest(onlyFrame(encodeHTTPRespCallRequest({ id: 0, confToken: 0, status: 0, headers: [] }), 4).payload);
      expect(req).to.deep.equal({ id: 0, confToken: 0, status: 0, headers: [] });
    });
  });

  describe('ExtraInfo answer', () => {
    it('keeps absent (null), empty and raw results apart', () => {
      expect(decodeExtraInfoAnswer(onlyFrame(encodeExtraInfoAnswer(null), 3).payload)).to.equal(null);
      const empty = decodeExtraInfoAnswer(onlyFrame(encodeExtraInfoAnswer(new Uint8Array(0)), 3).payload);
      expect(hex(empty)).to.equal('');
      expect(hex(decodeExtraInfoAnswer(onlyFrame(encodeExtraInfoAnswer(NUL_AND_HIGH), 3).payload))).to.equal(hex(NUL_AND_HIGH));
    });
  });

  describe('PrepareConf reply', () => {
    it('round-trips the token, including 0 (omitted) and the uint32 maximum', () => {
      for (const token of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
        expect(reply(encodePrepareConfReply(token))).to.deep.equal({ type: 'prepare_conf', token });
        onlyFrame(encodePrepareConfReply(token), 1);
      }
    });
  });

  describe('HTTPReqCall reply', () => {
    it('encodes pass-through as an id-only table', () => {
      for (const id of [0, 1, 4242, 0xffffffff]) {
        const frame = encodeReqCallReply(id, { kind: 'none' });
        onlyFrame(frame, 2);
        expect(reply(frame)).to.deep.equal({ type: 'req_call', id, action: { kind: 'none' } });
        const resp = reqCallRespOf(frame);
        expect(present(resp, 6) || present(resp, 8)).to.equal(false);
      }
    });

    it('serves pass-through from a template identical to the FlatBuffers builder output', () => {
      const viaBuilder = (id: number): string => {
        const b = new flatbuffers.Builder(64);
        HTTPReqCallResp.startResp(b);
        HTTPReqCallResp.addId(b, id);
        b.finish(HTTPReqCallResp.endResp(b));
        const payload = b.asUint8Array();
        return Buffer.concat([Buffer.from([2, 0, 0, payload.length]), payload]).toString('hex');
      };
      for (const id of [0, 1, 255, 256, 0x01020304, 0x7fffffff, 0x80000000, 0xffffffff]) {
        expect(encodeReqCallReply(id, { kind: 'none' }).toString('hex'), `id ${id}`).to.equal(viaBuilder(id));
      }
      fc.assert(
        fc.property(uint32Arb, (id) => {
          expect(encodeReqCallReply(id, { kind: 'none' }).toString('hex')).to.equal(viaBuilder(id));
        }),
        { seed: 13, numRuns: 1000 },
      );
    });

    it('returns a fresh buffer for every pass-through reply', () => {
      const first = encodeReqCallReply(9, { kind: 'none' });
      first.fill(0);
      expect(reply(encodeReqCallReply(9, { kind: 'none' }))).to.deep.equal({ type: 'req_call', id: 9, action: { kind: 'none' } });
      const zero = encodeReqCallReply(0, { kind: 'none' });
      zero.fill(0);
      expect(reply(encodeReqCallReply(0, { kind: 'none' }))).to.deep.equal({ type: 'req_call', id: 0, action: { kind: 'none' } });
    });

    it('round-trips Stop with ordered raw headers, valueless entries and a body', () => {
      const headers: OutEntry[] = [
        { name: 'WWW-Authenticate', value: 'Bearer error="invalid_token"' },
        { name: 'x-same', value: 'one' },
        { name: 'x-same', value: NUL_AND_HIGH },
        { name: 'x-gone', value: null },
      ];
      const body = Buffer.from('{"error":"unauthorized"}');
      const decoded = reply(encodeReqCallReply(17, { kind: 'stop', status: 401, headers, body }));
      expect(decoded.type).to.equal('req_call');
      if (decoded.type !== 'req_call' || decoded.action.kind !== 'stop') {
        throw new Error('expected a Stop');
      }
      expect(decoded.id).to.equal(17);
      expect(decoded.action.status).to.equal(401);
      expect(rawEntries(decoded.action.headers)).to.deep.equal(outEntries(headers));
      expect(hex(decoded.action.body)).to.equal(hex(body));
    });

    it('omits empty Stop headers and an empty or null body', () => {
      for (const body of [null, new Uint8Array(0)]) {
        const frame = encodeReqCallReply(3, { kind: 'stop', status: 403, headers: [], body });
        const stop = reqCallRespOf(frame).action(new Stop()) as Stop;
        expect(present(stop, 6), 'headers').to.equal(false);
        expect(present(stop, 8), 'body').to.equal(false);
        expect(stop.status()).to.equal(403);
        const decoded = reply(frame);
        expect(decoded).to.deep.equal({ type: 'req_call', id: 3, action: { kind: 'stop', status: 403, headers: [], body: null } });
      }
    });

    it('round-trips Rewrite: raw path, deletes (no value), args, response headers, body', () => {
      const action: ReqCallAction = {
        kind: 'rewrite',
        path: INVALID_PATH,
        headers: [
          { name: 'x-user', value: 'alice' },
          { name: 'authorization', value: null },
          { name: 'x-empty', value: '' },
        ],
        args: [
          { name: 'a', value: 'foo' },
          { name: 'd', value: null },
          { name: 'a', value: NUL_AND_HIGH },
        ],
        respHeaders: [{ name: 'x-trace', value: 'abc' }],
        body: Uint8Array.from([0, 1, 2, 0xff]),
      };
      const decoded = reply(encodeReqCallReply(0x10000, action));
      if (decoded.type !== 'req_call' || decoded.action.kind !== 'rewrite') {
        throw new Error('expected a Rewrite');
      }
      expect(decoded.id).to.equal(0x10000);
      expect(hex(decoded.action.path)).to.equal(hex(INVALID_PATH));
      expect(rawEntries(decoded.action.headers)).to.deep.equal(outEntries(action.headers));
      expect(rawEntries(decoded.action.args)).to.deep.equal(outEntries(action.args));
      expect(rawEntries(decoded.action.respHeaders)).to.deep.equal(outEntries(action.respHeaders));
      expect(hex(decoded.action.body)).to.equal('000102ff');
    });

    it('omits a null path, empty vectors and an empty body in Rewrite, but keeps an empty path', () => {
      const frame = encodeReqCallReply(1, { kind: 'rewrite', path: null, headers: [], args: [], respHeaders: [], body: new Uint8Array(0) });
      const rewrite = reqCallRespOf(frame).action(new Rewrite()) as Rewrite;
      for (const slot of [4, 6, 8, 10, 12]) {
        expect(present(rewrite, slot), `slot ${slot}`).to.equal(false);
      }
      const withEmptyPath = reply(encodeReqCallReply(1, { kind: 'rewrite', path: '', headers: [], args: [], respHeaders: [], body: null }));
      if (withEmptyPath.type !== 'req_call' || withEmptyPath.action.kind !== 'rewrite') {
        throw new Error('expected a Rewrite');
      }
      expect(hex(withEmptyPath.action.path)).to.equal('');
    });

    it('round-trips arbitrary Stop and Rewrite actions (seeded property)', () => {
      const stopArb = fc.record({
        kind: fc.constant('stop' as const),
        status: fc.integer({ min: 100, max: 599 }),
        headers: fc.array(entryArb, { maxLength: 6 }),
        body: bodyArb,
      });
      const rewriteArb = fc.record({
        kind: fc.constant('rewrite' as const),
        path: fc.option(textArb, { nil: null }),
        headers: fc.array(entryArb, { maxLength: 5 }),
        args: fc.array(entryArb, { maxLength: 5 }),
        respHeaders: fc.array(entryArb, { maxLength: 5 }),
        body: bodyArb,
      });
      fc.assert(
        fc.property(uint32Arb, fc.oneof(stopArb, rewriteArb), (id, action) => {
          const decoded = reply(encodeReqCallReply(id, action));
          if (decoded.type !== 'req_call') {
            throw new Error('expected a req_call reply');
          }
          expect(decoded.id).to.equal(id);
          const body = action.body === null || action.body.length === 0 ? null : hex(action.body);
          if (action.kind === 'stop') {
            expect(decoded.action.kind).to.equal('stop');
            if (decoded.action.kind !== 'stop') return;
            expect(decoded.action.status).to.equal(action.status);
            expect(rawEntries(decoded.action.headers)).to.deep.equal(outEntries(action.headers));
            expect(hex(decoded.action.body)).to.equal(body);
          } else {
            expect(decoded.action.kind).to.equal('rewrite');
            if (decoded.action.kind !== 'rewrite') return;
            expect(hex(decoded.action.path)).to.equal(textHex(action.path));
            expect(rawEntries(decoded.action.headers)).to.deep.equal(outEntries(action.headers));
            expect(rawEntries(decoded.action.args)).to.deep.equal(outEntries(action.args));
            expect(rawEntries(decoded.action.respHeaders)).to.deep.equal(outEntries(action.respHeaders));
            expect(hex(decoded.action.body)).to.equal(body);
          }
        }),
        { seed: 14, numRuns: 300 },
      );
    });
  });

  describe('HTTPRespCall reply', () => {
    it('round-trips status, the full header set and a body', () => {
      const headers: OutEntry[] = [
        { name: 'content-type', value: 'text/plain' },
        { name: 'set-cookie', value: 'a=1' },
        { name: 'set-cookie', value: NUL_AND_HIGH },
      ];
      const decoded = reply(encodeRespCallReply(8, { status: 418, headers, body: Buffer.from('tea') }));
      if (decoded.type !== 'resp_call') {
        throw new Error('expected a resp_call reply');
      }
      expect([decoded.id, decoded.status]).to.deep.equal([8, 418]);
      expect(rawEntries(decoded.headers!)).to.deep.equal(outEntries(headers));
      expect(hex(decoded.body)).to.equal(Buffer.from('tea').toString('hex'));
    });

    it('omits status 0, null or empty headers and a null or empty body', () => {
      for (const headers of [null, []]) {
        for (const body of [null, new Uint8Array(0)]) {
          const frame = encodeRespCallReply(0, { status: 0, headers, body });
          const resp = HTTPRespCallResp.getRootAsResp(new flatbuffers.ByteBuffer(frame.subarray(4)));
          for (const slot of [4, 6, 8, 10]) {
            expect(present(resp, slot), `slot ${slot}`).to.equal(false);
          }
          expect(reply(frame)).to.deep.equal({ type: 'resp_call', id: 0, status: 0, headers: null, body: null });
        }
      }
    });
  });

  describe('ExtraInfo question', () => {
    it('round-trips a variable name given as text or raw bytes', () => {
      expect(reply(encodeExtraInfoQuestion({ kind: 'var', name: 'remote_addr' }))).to.deep.equal({
        type: 'extra_info',
        question: { kind: 'var', name: Buffer.from('remote_addr') },
      });
      const decoded = reply(encodeExtraInfoQuestion({ kind: 'var', name: NUL_AND_HIGH }));
      if (decoded.type !== 'extra_info' || decoded.question.kind !== 'var') {
        throw new Error('expected a var question');
      }
      expect(hex(decoded.question.name)).to.equal(hex(NUL_AND_HIGH));
    });

    it('round-trips the body questions', () => {
      expect(reply(encodeExtraInfoQuestion({ kind: 'req_body' }))).to.deep.equal({ type: 'extra_info', question: { kind: 'req_body' } });
      expect(reply(encodeExtraInfoQuestion({ kind: 'resp_body' }))).to.deep.equal({ type: 'extra_info', question: { kind: 'resp_body' } });
      onlyFrame(encodeExtraInfoQuestion({ kind: 'resp_body' }), 3);
    });

    it('reports NONE and unknown tags as unknown on the gateway side', () => {
      for (const tag of [0, 4, 200]) {
        const b = new flatbuffers.Builder(64);
        ExtraInfoReq.startReq(b);
        ExtraInfoReq.addInfoType(b, tag);
        b.finish(ExtraInfoReq.endReq(b));
        expect(decodeRunnerReply(3, b.asUint8Array())).to.deep.equal({ type: 'extra_info', question: { kind: 'unknown', tag } });
      }
    });
  });

  describe('error reply', () => {
    it('encodes every code, with a non-empty payload even for code 0', () => {
      for (const code of [RpcErrorCode.BAD_REQUEST, RpcErrorCode.SERVICE_UNAVAILABLE, RpcErrorCode.CONF_TOKEN_NOT_FOUND]) {
        const frame = encodeErrorReply(code);
        const { payload } = onlyFrame(frame, 0);
        expect(payload.length).to.be.greaterThan(0);
        expect(frame.readUIntBE(1, 3)).to.equal(payload.length);
        expect(reply(frame)).to.deep.equal({ type: 'error', code });
      }
    });
  });

  describe('size limit', () => {
    it('rejects a Stop with a ~16.8 MB body with PROTOCOL_REPLY_TOO_LARGE', () => {
      const body = new Uint8Array(16_800_000);
      expectRunnerError(() => encodeReqCallReply(1, { kind: 'stop', status: 200, headers: [], body }), ErrorCode.PROTOCOL_REPLY_TOO_LARGE);
    });

    it('measures the finished payload: a body just under the limit plus table overhead is too large', () => {
      const body = new Uint8Array(MAX_PAYLOAD_BYTES - 8);
      expectRunnerError(
        () => encodeReqCallReply(1, { kind: 'stop', status: 200, headers: [{ name: 'x', value: 'y' }], body }),
        ErrorCode.PROTOCOL_REPLY_TOO_LARGE,
      );
      expectRunnerError(
        () => encodeReqCallReply(1, { kind: 'rewrite', path: '/x', headers: [], args: [], respHeaders: [], body }),
        ErrorCode.PROTOCOL_REPLY_TOO_LARGE,
      );
      expectRunnerError(() => encodeRespCallReply(1, { status: 200, headers: null, body }), ErrorCode.PROTOCOL_REPLY_TOO_LARGE);
      // The shared builder is usable again right after a failure.
      expect(reply(encodeReqCallReply(2, { kind: 'stop', status: 204, headers: [], body: null }))).to.deep.equal({
        type: 'req_call',
        id: 2,
        action: { kind: 'stop', status: 204, headers: [], body: null },
      });
    });

    it('accepts a reply that just fits', () => {
      const body = new Uint8Array(MAX_PAYLOAD_BYTES - 200).fill(7);
      const frame = encodeRespCallReply(1, { status: 200, headers: null, body });
      expect(frame.length).to.be.at.most(MAX_PAYLOAD_BYTES + 4);
      const decoded = reply(frame);
      if (decoded.type !== 'resp_call') {
        throw new Error('expected a resp_call reply');
      }
      expect(decoded.body!.length).to.equal(body.length);
      expect(decoded.body![body.length - 1]).to.equal(7);
    });
  });

  describe('decodeRunnerReply', () => {
    it('refuses frame types a runner never sends', () => {
      expectRunnerError(() => decodeRunnerReply(5, encodeErrorReply(0).subarray(4)), ErrorCode.PROTOCOL_UNEXPECTED_FRAME);
    });
  });
});

/** Finds where an `HTTPReqCall.Req`'s header vector stores its length (for the laziness test). */
class HTTPReqCallReqView {
  readonly #payload: Buffer;

  constructor(payload: Buffer) {
    this.#payload = payload;
  }

  headersLengthAt(): number {
    const p = this.#payload;
    const table = p.readUInt32LE(0);
    const vtable = table - p.readInt32LE(table);
    const field = table + p.readUInt16LE(vtable + 14);
    return field + p.readUInt32LE(field);
  }
}
