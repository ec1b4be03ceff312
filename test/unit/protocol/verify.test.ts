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
import { Req as HTTPReqCallReq } from '../../../runner/protocol/generated/a6/httpreq-call/req.js';
import { Resp as HTTPReqCallResp } from '../../../runner/protocol/generated/a6/httpreq-call/resp.js';
import { Stop } from '../../../runner/protocol/generated/a6/httpreq-call/stop.js';
import { Req as PrepareConfReq } from '../../../runner/protocol/generated/a6/prepare-conf/req.js';
import { TextEntry } from '../../../runner/protocol/generated/a6/text-entry.js';
import type { RawEntry } from '../../../runner/protocol/messages.js';
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
import { EXTRA_INFO_RESP, HTTP_REQ_CALL_REQ, verifyPayload } from '../../../runner/protocol/verify.js';

// ---- an independent bounds oracle --------------------------------------------------

class OutOfBoundsRead extends Error {}

/**
 * Copies `bytes` into an exactly sized ArrayBuffer and wraps it in a Proxy that
 * throws on any index outside it and on any `subarray` reaching past it. The
 * FlatBuffers runtime reads bytes by index and cuts strings with `subarray`, and
 * the `...Array()` accessors build views on the (exactly sized) ArrayBuffer, which
 * throws RangeError when out of range. So a decode that completes under this
 * wrapper read only bytes inside the payload.
 */
function strictBytes(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes);
  return new Proxy(copy, {
    get(target, prop) {
      if (typeof prop === 'string') {
        const index = Number(prop);
        if (prop !== '' && String(index) === prop) {
          if (!Number.isInteger(index) || index < 0 || index >= target.length) {
            throw new OutOfBoundsRead(`read at ${prop} of ${target.length} bytes`);
          }
          return target[index];
        }
        if (prop === 'subarray') {
          return (begin: number, end: number) => {
            if (!(begin >= 0 && end >= begin && end <= target.length)) {
              throw new OutOfBoundsRead(`subarray(${begin}, ${end}) of ${target.length} bytes`);
            }
            return target.subarray(begin, end);
          };
        }
        if (!(prop in target)) {
          throw new OutOfBoundsRead(`unexpected property ${prop}`);
        }
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function touchEntries(entries: readonly RawEntry[]): number {
  let sum = 0;
  for (const e of entries) {
    sum += e.name.length + (e.value?.length ?? 0);
  }
  return sum;
}

interface Sample {
  readonly label: string;
  readonly payload: Buffer;
  /** Decodes and reads every accessor of the result. */
  readonly decode: (payload: Uint8Array) => unknown;
}

const decodeReqCallFully = (p: Uint8Array): unknown => {
  const req = decodeHTTPReqCallRequest(p);
  return [req.id, req.confToken, req.method, req.srcIp?.length, req.path?.length, touchEntries(req.args), touchEntries(req.headers)];
};
const runnerReply = (type: number) => (p: Uint8Array): unknown => decodeRunnerReply(type, p);

const payloadOf = (frame: Buffer): Buffer => Buffer.from(frame.subarray(4));
const RAW = Uint8Array.from([0x00, 0xff, 0x80, 0x41]);

const CORPUS: readonly Sample[] = [
  {
    label: 'PrepareConf.Req',
    payload: payloadOf(encodePrepareConfRequest({
      key: 'route#1#ext-plugin-pre-req#12',
      conf: [{ name: 'jwt-auth', value: '{"a":1}' }, { name: 'audit', value: null }, { name: RAW, value: RAW }],
    })),
    decode: (p) => touchEntries(decodePrepareConfRequest(p).conf),
  },
  {
    label: 'HTTPReqCall.Req',
    payload: payloadOf(encodeHTTPReqCallRequest({
      id: 0x12345,
      confToken: 77,
      method: 2,
      srcIp: Uint8Array.from([127, 0, 0, 1]),
      path: '/orders/1',
      args: [{ name: 'k', value: null }, { name: 'q', value: RAW }],
      headers: [{ name: 'host', value: 'a.test' }, { name: 'authorization', value: 'Bearer x.y.z' }, { name: 'x', value: '' }],
    })),
    decode: decodeReqCallFully,
  },
  {
    label: 'HTTPRespCall.Req',
    payload: payloadOf(encodeHTTPRespCallRequest({
      id: 9, confToken: 8, status: 200, headers: [{ name: 'Content-Type', value: 'text/html' }, { name: 'X', value: RAW }],
    })),
    decode: (p) => touchEntries(decodeHTTPRespCallRequest(p).headers),
  },
  { label: 'ExtraInfo.Resp', payload: payloadOf(encodeExtraInfoAnswer(RAW)), decode: (p) => decodeExtraInfoAnswer(p)?.length },
  { label: 'Err.Resp', payload: payloadOf(encodeErrorReply(2)), decode: runnerReply(0) },
  { label: 'PrepareConf.Resp', payload: payloadOf(encodePrepareConfReply(0xabcdef)), decode: runnerReply(1) },
  { label: 'HTTPReqCall.Resp none', payload: payloadOf(encodeReqCallReply(5, { kind: 'none' })), decode: runnerReply(2) },
  {
    label: 'HTTPReqCall.Resp stop',
    payload: payloadOf(encodeReqCallReply(5, {
      kind: 'stop', status: 401, headers: [{ name: 'www-authenticate', value: 'Bearer' }, { name: 'x', value: null }], body: RAW,
    })),
    decode: runnerReply(2),
  },
  {
    label: 'HTTPReqCall.Resp rewrite',
    payload: payloadOf(encodeReqCallReply(6, {
      kind: 'rewrite',
      path: '/new',
      headers: [{ name: 'x-user', value: 'u' }, { name: 'authorization', value: null }],
      args: [{ name: 'a', value: 'b' }],
      respHeaders: [{ name: 'x-r', value: RAW }],
      body: RAW,
    })),
    decode: runnerReply(2),
  },
  { label: 'ExtraInfo.Req var', payload: payloadOf(encodeExtraInfoQuestion({ kind: 'var', name: 'remote_addr' })), decode: runnerReply(3) },
  { label: 'ExtraInfo.Req resp_body', payload: payloadOf(encodeExtraInfoQuestion({ kind: 'resp_body' })), decode: runnerReply(3) },
  {
    label: 'HTTPRespCall.Resp',
    payload: payloadOf(encodeRespCallReply(3, { status: 201, headers: [{ name: 'a', value: 'b' }], body: RAW })),
    decode: runnerReply(4),
  },
];

type Outcome = 'decoded' | 'malformed';

/** Decodes under the bounds oracle; anything but success or PROTOCOL_MALFORMED is rethrown. */
function outcomeOf(sample: Sample, payload: Uint8Array): Outcome {
  try {
    sample.decode(strictBytes(payload));
    return 'decoded';
  } catch (err) {
    if (isRunnerError(err, ErrorCode.PROTOCOL_MALFORMED)) {
      return 'malformed';
    }
    throw new Error(`${sample.label}: ${String(err)} escaped the decoder`, { cause: err });
  }
}

function expectMalformed(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isRunnerError(caught, ErrorCode.PROTOCOL_MALFORMED), `expected PROTOCOL_MALFORMED, got ${String(caught)}`).to.equal(true);
}

// ---- helpers that locate things inside a buffer -------------------------------------

interface Located {
  readonly table: number;
  readonly vtable: number;
}

function root(p: Buffer): Located {
  const table = p.readUInt32LE(0);
  return { table, vtable: table - p.readInt32LE(table) };
}

/** Position of field `id` inside table `t`. */
function field(p: Buffer, t: Located, id: number): number {
  const offset = p.readUInt16LE(t.vtable + 4 + 2 * id);
  expect(offset, `field ${id} present`).to.not.equal(0);
  return t.table + offset;
}

/** Follows the uoffset at `at`. */
function follow(p: Buffer, at: number): number {
  return at + p.readUInt32LE(at);
}

function tableAt(p: Buffer, table: number): Located {
  return { table, vtable: table - p.readInt32LE(table) };
}

function sample(label: string): Sample {
  const found = CORPUS.find((s) => s.label === label);
  if (found === undefined) {
    throw new Error(`no sample ${label}`);
  }
  return { ...found, payload: Buffer.from(found.payload) };
}

describe('protocol/verify', () => {
  it('accepts every valid sample under the bounds oracle', () => {
    for (const s of CORPUS) {
      expect(outcomeOf(s, s.payload), s.label).to.equal('decoded');
    }
  });

  describe('structural checks', () => {
    it('rejects payloads too short for a root offset, and a root offset outside the buffer', () => {
      const s = sample('HTTPReqCall.Req');
      expectMalformed(() => s.decode(new Uint8Array(0)));
      expectMalformed(() => s.decode(new Uint8Array(3)));
      for (const rootOffset of [0, 2, s.payload.length - 3, s.payload.length, 0x7fffffff, 0xffffffff]) {
        const p = Buffer.from(s.payload);
        p.writeUInt32LE(rootOffset, 0);
        expectMalformed(() => s.decode(p));
      }
    });

    it('rejects a vtable outside the buffer', () => {
      const s = sample('HTTPRespCall.Req');
      const r = root(s.payload);
      for (const soffset of [r.table + 1, -s.payload.length, 0x7fffffff, -0x80000000]) {
        const p = Buffer.from(s.payload);
        p.writeInt32LE(soffset, r.table);
        expectMalformed(() => s.decode(p));
      }
    });

    it('rejects a vtable length that is odd, below 4, negative or past the end', () => {
      const s = sample('HTTPRespCall.Req');
      const r = root(s.payload);
      for (const vtableBytes of [5, 2, 0, 0x8000, 0xfffe, s.payload.length - r.vtable + 2]) {
        const p = Buffer.from(s.payload);
        p.writeUInt16LE(vtableBytes, r.vtable);
        expectMalformed(() => s.decode(p));
      }
    });

    it('rejects a table inline size below 4 or past the end', () => {
      const s = sample('HTTPRespCall.Req');
      const r = root(s.payload);
      for (const inlineBytes of [0, 3, s.payload.length - r.table + 1]) {
        const p = Buffer.from(s.payload);
        p.writeUInt16LE(inlineBytes, r.vtable + 2);
        expectMalformed(() => s.decode(p));
      }
    });

    it('rejects a field offset outside the table inline size (or negative, or overlapping the soffset)', () => {
      const s = sample('HTTPRespCall.Req');
      const r = root(s.payload);
      const inlineBytes = s.payload.readUInt16LE(r.vtable + 2);
      for (const fieldOffset of [inlineBytes - 3, inlineBytes, 2, 0x8000]) {
        const p = Buffer.from(s.payload);
        p.writeUInt16LE(fieldOffset, r.vtable + 4); // id (uint32)
        expectMalformed(() => s.decode(p));
      }
    });

    it('rejects a string whose length runs past the end, which the raw runtime would silently truncate', () => {
      const s = sample('HTTPReqCall.Req');
      const path = follow(s.payload, field(s.payload, root(s.payload), 3));
      const p = Buffer.from(s.payload);
      p.writeUInt32LE(1000, path);
      const raw = HTTPReqCallReq.getRootAsReq(new flatbuffers.ByteBuffer(p)).path(flatbuffers.Encoding.UTF8_BYTES);
      expect(raw!.length).to.be.lessThan(1000);
      expectMalformed(() => verifyPayload(p, HTTP_REQ_CALL_REQ));
      expectMalformed(() => s.decode(p));
    });

    it('rejects byte and table vectors whose element count runs past the end or is negative', () => {
      const ip = sample('HTTPReqCall.Req');
      const srcIp = follow(ip.payload, field(ip.payload, root(ip.payload), 1));
      const headers = follow(ip.payload, field(ip.payload, root(ip.payload), 5));
      for (const [at, count] of [[srcIp, ip.payload.length], [srcIp, 0x80000000], [headers, (ip.payload.length - headers) / 4], [headers, 0xffffffff]] as const) {
        const p = Buffer.from(ip.payload);
        p.writeUInt32LE(count, at);
        expectMalformed(() => ip.decode(p));
      }
      const answer = sample('ExtraInfo.Resp');
      const result = follow(answer.payload, field(answer.payload, root(answer.payload), 0));
      const p = Buffer.from(answer.payload);
      p.writeUInt32LE(5, result); // 4 bytes follow, not 5
      expectMalformed(() => verifyPayload(p, EXTRA_INFO_RESP));
    });

    it('rejects uoffsets that point outside the buffer or backwards (top bit set), and zero', () => {
      const s = sample('HTTPReqCall.Req');
      const pathField = field(s.payload, root(s.payload), 3);
      for (const offset of [0, s.payload.length, 0x80000000, 0xfffffffc]) {
        const p = Buffer.from(s.payload);
        p.writeUInt32LE(offset, pathField);
        expectMalformed(() => s.decode(p));
      }
    });

    it('verifies every element of a vector of tables', () => {
      const s = sample('HTTPReqCall.Req');
      const headers = follow(s.payload, field(s.payload, root(s.payload), 5));
      const count = s.payload.readUInt32LE(headers);
      const last = headers + 4 + 4 * (count - 1);
      const p = Buffer.from(s.payload);
      p.writeUInt32LE(p.length, last); // element points past the end
      expectMalformed(() => s.decode(p));

      // The last element's name string claims more bytes than exist.
      const q = Buffer.from(s.payload);
      const entry = tableAt(q, follow(q, last));
      q.writeUInt32LE(q.length, follow(q, field(q, entry, 0)));
      expectMalformed(() => s.decode(q));
    });

    it('verifies eagerly even though HTTPReqCall headers are decoded lazily', () => {
      const s = sample('HTTPReqCall.Req');
      const headers = follow(s.payload, field(s.payload, root(s.payload), 5));
      const p = Buffer.from(s.payload);
      const entry = tableAt(p, follow(p, headers + 4));
      p.writeUInt32LE(p.length, follow(p, field(p, entry, 1)));
      expectMalformed(() => decodeHTTPReqCallRequest(p));
    });
  });

  describe('entries', () => {
    function prepareConfWith(build: (b: flatbuffers.Builder) => number): Uint8Array {
      const b = new flatbuffers.Builder(128);
      const entry = build(b);
      const conf = PrepareConfReq.createConfVector(b, [entry]);
      PrepareConfReq.startReq(b);
      PrepareConfReq.addConf(b, conf);
      b.finish(PrepareConfReq.endReq(b));
      return b.asUint8Array();
    }

    it('rejects a TextEntry without a name', () => {
      const payload = prepareConfWith((b) => {
        const value = b.createString('v');
        TextEntry.startTextEntry(b);
        TextEntry.addValue(b, value);
        return TextEntry.endTextEntry(b);
      });
      expectMalformed(() => decodePrepareConfRequest(payload));
    });

    it('ignores fields a newer schema might add (forward compatibility)', () => {
      const payload = prepareConfWith((b) => {
        const name = b.createString('jwt-auth');
        const extra = b.createString('ignored');
        b.startObject(4);
        b.addFieldOffset(0, name, 0);
        b.addFieldInt32(2, 1234, 0);
        b.addFieldOffset(3, extra, 0);
        return b.endObject();
      });
      const req = decodePrepareConfRequest(payload);
      expect(req.conf).to.have.length(1);
      expect(Buffer.from(req.conf[0]!.name).toString()).to.equal('jwt-auth');
      expect(req.conf[0]!.value).to.equal(null);
    });
  });

  describe('unions', () => {
    function reqCallResp(type: number, build: ((b: flatbuffers.Builder) => number) | null): Uint8Array {
      const b = new flatbuffers.Builder(128);
      const action = build === null ? 0 : build(b);
      HTTPReqCallResp.startResp(b);
      HTTPReqCallResp.addId(b, 1);
      HTTPReqCallResp.addActionType(b, type);
      HTTPReqCallResp.addAction(b, action);
      b.finish(HTTPReqCallResp.endResp(b));
      return b.asUint8Array();
    }
    const emptyStop = (b: flatbuffers.Builder): number => {
      Stop.startStop(b);
      Stop.addStatus(b, 403);
      return Stop.endStop(b);
    };

    it('accepts a known tag with its table', () => {
      expect(decodeRunnerReply(2, reqCallResp(1, emptyStop))).to.deep.equal({
        type: 'req_call', id: 1, action: { kind: 'stop', status: 403, headers: [], body: null },
      });
    });

    it('rejects an unknown Action tag', () => {
      expectMalformed(() => decodeRunnerReply(2, reqCallResp(3, emptyStop)));
      expectMalformed(() => decodeRunnerReply(2, reqCallResp(255, null)));
    });

    it('rejects a known Action tag without its table', () => {
      expectMalformed(() => decodeRunnerReply(2, reqCallResp(1, null)));
      expectMalformed(() => decodeRunnerReply(2, reqCallResp(2, null)));
    });

    it('verifies the member table against the layout of its tag', () => {
      const p = Buffer.from(payloadOf(encodeReqCallReply(5, { kind: 'stop', status: 401, headers: [], body: RAW })));
      const r = root(p);
      const stop = tableAt(p, follow(p, field(p, r, 2)));
      p.writeUInt32LE(p.length, follow(p, field(p, stop, 2))); // body length
      expectMalformed(() => decodeRunnerReply(2, p));
    });

    it('rejects a Var question without a name', () => {
      const p = Buffer.from(payloadOf(encodeExtraInfoQuestion({ kind: 'var', name: 'x' })));
      const varTable = tableAt(p, follow(p, field(p, root(p), 1)));
      p.writeUInt16LE(0, varTable.vtable + 4);
      expectMalformed(() => decodeRunnerReply(3, p));
    });

    it('does not follow the value of a NONE tag', () => {
      const p = reqCallResp(0, emptyStop);
      const buf = Buffer.from(p);
      const valueField = field(buf, root(buf), 2);
      buf.writeUInt32LE(0x7ffffff0, valueField);
      expect(decodeRunnerReply(2, buf)).to.deep.equal({ type: 'req_call', id: 1, action: { kind: 'none' } });
    });
  });

  describe('malformed inputs (bounds oracle)', () => {
    it('truncation at every length yields PROTOCOL_MALFORMED or an in-bounds decode', () => {
      let malformed = 0;
      for (const s of CORPUS) {
        for (let length = 0; length < s.payload.length; length++) {
          if (outcomeOf(s, s.payload.subarray(0, length)) === 'malformed') {
            malformed++;
          }
        }
      }
      expect(malformed).to.be.greaterThan(0);
    });

    it('random byte mutations yield PROTOCOL_MALFORMED or an in-bounds decode (seeded property)', () => {
      const seen: Record<Outcome, number> = { decoded: 0, malformed: 0 };
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: CORPUS.length - 1 }),
          fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }),
          (index, mutations) => {
            const s = CORPUS[index]!;
            const p = Buffer.from(s.payload);
            for (const m of mutations) {
              p[m.at % p.length] = m.value;
            }
            seen[outcomeOf(s, p)]++;
          },
        ),
        { seed: 424242, numRuns: 3000 },
      );
      expect(seen.decoded).to.be.greaterThan(0);
      expect(seen.malformed).to.be.greaterThan(0);
    });

    it('overwriting offsets, lengths and vtable entries with edge values yields PROTOCOL_MALFORMED or an in-bounds decode', () => {
      const int32Edges = [0, 1, 2, 3, 4, 8, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, -1, -4, -8];
      const int16Edges = [0, 1, 2, 3, 4, 5, 6, 0x7fff, 0x8000, 0xffff];
      const seen: Record<Outcome, number> = { decoded: 0, malformed: 0 };
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: CORPUS.length - 1 }),
          fc.nat(),
          fc.oneof(
            fc.record({ width: fc.constant(4 as const), value: fc.oneof(fc.constantFrom(...int32Edges), fc.integer({ min: -0x80000000, max: 0x7fffffff })) }),
            fc.record({ width: fc.constant(2 as const), value: fc.oneof(fc.constantFrom(...int16Edges), fc.integer({ min: 0, max: 0xffff })) }),
            fc.record({ width: fc.constant(1 as const), value: fc.integer({ min: 0, max: 255 }) }),
          ),
          fc.boolean(),
          (index, at, write, relativeToLength) => {
            const s = CORPUS[index]!;
            const p = Buffer.from(s.payload);
            const position = at % (p.length - write.width + 1);
            // Half of the values are made relative to the buffer length, to hit "just past the end".
            const value = relativeToLength && write.width === 4 ? (p.length - position + (write.value % 8)) | 0 : write.value;
            if (write.width === 4) {
              p.writeInt32LE(value | 0, position);
            } else if (write.width === 2) {
              p.writeUInt16LE(value & 0xffff, position);
            } else {
              p[position] = value & 0xff;
            }
            seen[outcomeOf(s, p)]++;
          },
        ),
        { seed: 777, numRuns: 3000 },
      );
      expect(seen.decoded).to.be.greaterThan(0);
      expect(seen.malformed).to.be.greaterThan(0);
    });

    it('union tags of every value yield PROTOCOL_MALFORMED or an in-bounds decode', () => {
      for (const label of ['HTTPReqCall.Resp none', 'HTTPReqCall.Resp stop', 'HTTPReqCall.Resp rewrite', 'ExtraInfo.Req var', 'ExtraInfo.Req resp_body']) {
        const s = sample(label);
        const r = root(s.payload);
        const typeId = label.startsWith('HTTPReqCall') ? 1 : 0;
        if (s.payload.readUInt16LE(r.vtable) <= 4 + 2 * typeId || s.payload.readUInt16LE(r.vtable + 4 + 2 * typeId) === 0) {
          continue; // tag omitted (NONE): nothing to rewrite in place
        }
        const tagAt = field(s.payload, r, typeId);
        for (let tag = 0; tag < 256; tag++) {
          const p = Buffer.from(s.payload);
          p[tagAt] = tag;
          outcomeOf(s, p);
        }
      }
    });
  });
});
