/**
 * fast-check arbitraries for every ext-plugin message, in both directions, as the
 * codec's input shapes. Strings are raw bytes most of the time (the wire carries
 * bytes: >= 0x80, NUL and invalid UTF-8 included), sometimes JS text.
 */
import fc from 'fast-check';
import type {
  HTTPReqCallRequestInput,
  HTTPRespCallRequestInput,
  PrepareConfRequestInput,
} from '../../runner/protocol/gateway-codec.js';
import type { ExtraInfoQuestion, OutEntry, ReqCallAction, RespCallReply, RpcErrorCode } from '../../runner/protocol/messages.js';

const rawBytes = (maxLength: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });

/** Text on the wire: raw bytes or a JS string (written as UTF-8). */
const wireText = (maxLength: number): fc.Arbitrary<string | Uint8Array> =>
  fc.oneof({ weight: 3, arbitrary: rawBytes(maxLength) }, { weight: 1, arbitrary: fc.string({ maxLength }) });

const entry: fc.Arbitrary<OutEntry> = fc.record({
  name: wireText(24),
  value: fc.option(wireText(40), { nil: null, freq: 4 }),
});

const entries = (maxLength: number): fc.Arbitrary<OutEntry[]> => fc.array(entry, { maxLength });

const uint32 = fc.integer({ min: 0, max: 0xffffffff });

// ---- gateway -> runner ---------------------------------------------------------------

export const prepareConfInputArb: fc.Arbitrary<PrepareConfRequestInput> = fc.record({
  key: fc.option(wireText(40), { nil: null, freq: 5 }),
  conf: entries(4),
});

export const reqCallInputArb: fc.Arbitrary<HTTPReqCallRequestInput> = fc.record({
  id: uint32,
  confToken: uint32,
  method: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 14 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
  srcIp: fc.option(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), rawBytes(20)), {
    nil: null,
    freq: 6,
  }),
  path: fc.option(wireText(40), { nil: null, freq: 6 }),
  args: entries(4),
  headers: entries(6),
});

export const respCallInputArb: fc.Arbitrary<HTTPRespCallRequestInput> = fc.record({
  id: uint32,
  confToken: uint32,
  status: fc.integer({ min: 0, max: 0xffff }),
  headers: entries(6),
});

export const extraInfoAnswerArb: fc.Arbitrary<Uint8Array | null> = fc.option(rawBytes(64), { nil: null, freq: 5 });

// ---- runner -> gateway ---------------------------------------------------------------

export const rpcErrorCodeArb: fc.Arbitrary<RpcErrorCode> = fc.constantFrom(0, 1, 2);

export const reqCallActionArb: fc.Arbitrary<ReqCallAction> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({
    kind: fc.constant('stop' as const),
    status: fc.integer({ min: 0, max: 0xffff }),
    headers: entries(4),
    body: fc.option(rawBytes(64), { nil: null }),
  }),
  fc.record({
    kind: fc.constant('rewrite' as const),
    path: fc.option(wireText(40), { nil: null }),
    headers: entries(4),
    args: entries(4),
    respHeaders: entries(3),
    body: fc.option(rawBytes(64), { nil: null }),
  }),
);

export const extraInfoQuestionArb: fc.Arbitrary<ExtraInfoQuestion> = fc.oneof(
  fc.record({ kind: fc.constant('var' as const), name: wireText(32) }),
  fc.constant({ kind: 'req_body' as const }),
  fc.constant({ kind: 'resp_body' as const }),
);

export const respCallReplyArb: fc.Arbitrary<RespCallReply> = fc.record({
  status: fc.integer({ min: 0, max: 0xffff }),
  headers: fc.option(entries(5), { nil: null }),
  body: fc.option(rawBytes(64), { nil: null }),
});

export { uint32 as uint32Arb };
