/**
 * Fuzz targets for every FlatBuffers message decoder, on both sides of the wire.
 *
 * Inputs are valid messages built by the codec's own encoders, then (most of the
 * time) mutated structurally (see byte-mutations.ts) and sometimes handed to the
 * decoder of ANOTHER message type (type confusion: a Stop decoded as a
 * HTTPRespCall.Resp root). Properties:
 * - a decoder either returns a value whose every field can be read with all reads
 *   inside the payload (the bounds oracle), or throws `PROTOCOL_MALFORMED`
 *   (`PROTOCOL_UNEXPECTED_FRAME` for a frame type a runner never sends) — never
 *   another exception and never a silent out-of-bounds read;
 * - an unmutated message decoded by its own decoder equals what was encoded
 *   (byte-exact strings, absent kept apart from empty).
 */
import fc from 'fast-check';
import { ErrorCode, isRunnerError } from '../../runner/errors.js';
import {
  decodeRunnerReply,
  encodeExtraInfoAnswer,
  encodeHTTPReqCallRequest,
  encodeHTTPRespCallRequest,
  encodePrepareConfRequest,
  type HTTPReqCallRequestInput,
  type HTTPRespCallRequestInput,
  type PrepareConfRequestInput,
  type RunnerReply,
} from '../../runner/protocol/gateway-codec.js';
import type { ExtraInfoQuestion, OutEntry, RawEntry, ReqCallAction, RespCallReply } from '../../runner/protocol/messages.js';
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
} from '../../runner/protocol/runner-codec.js';
import {
  ERR_RESP,
  EXTRA_INFO_REQ,
  EXTRA_INFO_RESP,
  HTTP_REQ_CALL_REQ,
  HTTP_REQ_CALL_RESP,
  HTTP_RESP_CALL_REQ,
  HTTP_RESP_CALL_RESP,
  PREPARE_CONF_REQ,
  PREPARE_CONF_RESP,
  type TableLayout,
} from '../../runner/protocol/verify.js';
import { strictBytes } from './bounds-oracle.js';
import { applyByteMutations, byteMutationsArb, type ByteMutation } from './byte-mutations.js';
import { mapPayload } from './flatbuffers-map.js';
import { Counters, PropertyViolation, errorLabel, runSyncProperty, type FuzzTarget } from './fuzz-target.js';
import {
  extraInfoAnswerArb,
  extraInfoQuestionArb,
  prepareConfInputArb,
  reqCallActionArb,
  reqCallInputArb,
  respCallInputArb,
  respCallReplyArb,
  rpcErrorCodeArb,
  uint32Arb,
} from './message-arbitraries.js';

const utf8 = new TextEncoder();

function textBytes(text: string | Uint8Array): Uint8Array {
  return typeof text === 'string' ? utf8.encode(text) : text;
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function sameEntries(decoded: readonly RawEntry[], sent: readonly OutEntry[]): boolean {
  return (
    decoded.length === sent.length &&
    decoded.every((entry, i) => {
      const out = sent[i]!;
      return sameBytes(entry.name, textBytes(out.name)) && sameBytes(entry.value, out.value === null ? null : textBytes(out.value));
    })
  );
}

/** Reads every field of an entry list (so lazy views are materialised under the oracle). */
function touchEntries(entries: readonly RawEntry[]): number {
  let sum = 0;
  for (const e of entries) sum += e.name.length + (e.value?.length ?? 0);
  return sum;
}

function payloadOf(frame: Buffer): Uint8Array {
  return Uint8Array.from(frame.subarray(4));
}

// ---- runner side: what the gateway sends ----------------------------------------------

type GatewayMessage =
  | { readonly kind: 'prepare_conf'; readonly input: PrepareConfRequestInput }
  | { readonly kind: 'req_call'; readonly input: HTTPReqCallRequestInput }
  | { readonly kind: 'resp_call'; readonly input: HTTPRespCallRequestInput }
  | { readonly kind: 'extra_info_answer'; readonly input: Uint8Array | null };

interface RunnerDecoder {
  readonly kind: GatewayMessage['kind'];
  readonly layout: TableLayout;
  /** Decodes and reads every field. */
  readonly decode: (payload: Uint8Array) => unknown;
}

const RUNNER_DECODERS: readonly RunnerDecoder[] = [
  {
    kind: 'prepare_conf',
    layout: PREPARE_CONF_REQ,
    decode: (p) => {
      const req = decodePrepareConfRequest(p);
      return [req.key?.length, touchEntries(req.conf)];
    },
  },
  {
    kind: 'req_call',
    layout: HTTP_REQ_CALL_REQ,
    decode: (p) => {
      const req = decodeHTTPReqCallRequest(p);
      return [req.id, req.confToken, req.method, req.srcIp?.length, req.path?.length, touchEntries(req.args), touchEntries(req.headers)];
    },
  },
  {
    kind: 'resp_call',
    layout: HTTP_RESP_CALL_REQ,
    decode: (p) => {
      const req = decodeHTTPRespCallRequest(p);
      return [req.id, req.confToken, req.status, touchEntries(req.headers)];
    },
  },
  { kind: 'extra_info_answer', layout: EXTRA_INFO_RESP, decode: (p) => decodeExtraInfoAnswer(p)?.length },
];

const gatewayMessageArb: fc.Arbitrary<GatewayMessage> = fc.oneof(
  prepareConfInputArb.map((input) => ({ kind: 'prepare_conf' as const, input })),
  reqCallInputArb.map((input) => ({ kind: 'req_call' as const, input })),
  respCallInputArb.map((input) => ({ kind: 'resp_call' as const, input })),
  extraInfoAnswerArb.map((input) => ({ kind: 'extra_info_answer' as const, input })),
);

function encodeGatewayMessage(message: GatewayMessage): Uint8Array {
  switch (message.kind) {
    case 'prepare_conf':
      return payloadOf(encodePrepareConfRequest(message.input));
    case 'req_call':
      return payloadOf(encodeHTTPReqCallRequest(message.input));
    case 'resp_call':
      return payloadOf(encodeHTTPRespCallRequest(message.input));
    case 'extra_info_answer':
      return payloadOf(encodeExtraInfoAnswer(message.input));
  }
}

/** Whether an unmutated payload decodes back to exactly what was encoded. */
function roundTrips(message: GatewayMessage, payload: Uint8Array): boolean {
  switch (message.kind) {
    case 'prepare_conf': {
      const req = decodePrepareConfRequest(payload);
      const key = message.input.key === null ? null : textBytes(message.input.key);
      return sameBytes(req.key, key) && sameEntries(req.conf, message.input.conf);
    }
    case 'req_call': {
      const req = decodeHTTPReqCallRequest(payload);
      const sent = message.input;
      return (
        req.id === sent.id >>> 0 &&
        req.confToken === sent.confToken >>> 0 &&
        req.method === sent.method &&
        sameBytes(req.srcIp, sent.srcIp) &&
        sameBytes(req.path, sent.path === null ? null : textBytes(sent.path)) &&
        sameEntries(req.args, sent.args) &&
        sameEntries(req.headers, sent.headers)
      );
    }
    case 'resp_call': {
      const req = decodeHTTPRespCallRequest(payload);
      const sent = message.input;
      return req.id === sent.id >>> 0 && req.confToken === sent.confToken >>> 0 && req.status === sent.status && sameEntries(req.headers, sent.headers);
    }
    case 'extra_info_answer':
      return sameBytes(decodeExtraInfoAnswer(payload), message.input);
  }
}

interface DecoderCase<M> {
  readonly message: M;
  readonly mutations: readonly ByteMutation[] | null;
  /** null: the message's own decoder; otherwise an index into the decoder list (type confusion). */
  readonly confusedDecoder: number | null;
}

function decoderCaseArb<M>(messageArb: fc.Arbitrary<M>, decoders: number): fc.Arbitrary<DecoderCase<M>> {
  return fc.record({
    message: messageArb,
    mutations: fc.option(byteMutationsArb, { nil: null, freq: 8 }),
    // One case in ten hands the payload to another message's decoder.
    confusedDecoder: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: decoders - 1 }) }),
  });
}

/** Decode under the bounds oracle: 'decoded' or 'malformed'; anything else violates the property. */
function outcomeOf(label: string, decode: (payload: Uint8Array) => unknown, payload: Uint8Array, allowed: readonly string[]): string {
  try {
    decode(strictBytes(payload));
    return 'decoded';
  } catch (err) {
    if (isRunnerError(err) && allowed.includes(err.code)) return err.code === ErrorCode.PROTOCOL_MALFORMED ? 'malformed' : 'unexpected_type';
    throw new PropertyViolation(`${label}: ${errorLabel(err)} escaped the decoder`, { cause: err });
  }
}

export const runnerDecodersTarget: FuzzTarget = {
  name: 'runner-decoders',
  description:
    'Runner-side decoders (PrepareConf.Req, HTTPReqCall.Req, HTTPRespCall.Req, ExtraInfo.Resp) on structurally mutated and type-confused valid messages, under a bounds oracle',
  defaultCases: 1_000_000,
  kind: 'pure',
  async run(options) {
    const counters = new Counters();
    return runSyncProperty(
      this.name,
      decoderCaseArb(gatewayMessageArb, RUNNER_DECODERS.length),
      (c) => {
        const payload = encodeGatewayMessage(c.message);
        const own = RUNNER_DECODERS.find((d) => d.kind === c.message.kind)!;
        const decoder = c.confusedDecoder === null ? own : RUNNER_DECODERS[c.confusedDecoder]!;
        if (c.mutations === null && decoder === own) {
          outcomeOf(own.kind, own.decode, payload, []);
          if (!roundTrips(c.message, payload)) throw new PropertyViolation(`${own.kind}: decoded value differs from the encoded one`);
          counters.bump('round_trip');
          return;
        }
        const mutated = c.mutations === null ? payload : applyByteMutations(payload, mapPayload(payload, own.layout), c.mutations);
        const outcome = outcomeOf(decoder.kind, decoder.decode, mutated, [ErrorCode.PROTOCOL_MALFORMED]);
        counters.bump(`${decoder === own ? 'mutated' : 'confused'}_${outcome}`);
      },
      options,
      counters,
    );
  },
};

// ---- gateway side: what a runner sends ----------------------------------------------------

type RunnerMessage =
  | { readonly type: 0; readonly code: 0 | 1 | 2 }
  | { readonly type: 1; readonly token: number }
  | { readonly type: 2; readonly id: number; readonly action: ReqCallAction }
  | { readonly type: 3; readonly question: ExtraInfoQuestion }
  | { readonly type: 4; readonly id: number; readonly reply: RespCallReply };

const RUNNER_LAYOUTS: readonly TableLayout[] = [ERR_RESP, PREPARE_CONF_RESP, HTTP_REQ_CALL_RESP, EXTRA_INFO_REQ, HTTP_RESP_CALL_RESP];

const runnerMessageArb: fc.Arbitrary<RunnerMessage> = fc.oneof(
  rpcErrorCodeArb.map((code) => ({ type: 0 as const, code })),
  uint32Arb.map((token) => ({ type: 1 as const, token })),
  fc.record({ type: fc.constant(2 as const), id: uint32Arb, action: reqCallActionArb }),
  extraInfoQuestionArb.map((question) => ({ type: 3 as const, question })),
  fc.record({ type: fc.constant(4 as const), id: uint32Arb, reply: respCallReplyArb }),
);

function encodeRunnerMessage(message: RunnerMessage): Uint8Array {
  switch (message.type) {
    case 0:
      return payloadOf(encodeErrorReply(message.code));
    case 1:
      return payloadOf(encodePrepareConfReply(message.token));
    case 2:
      return payloadOf(encodeReqCallReply(message.id, message.action));
    case 3:
      return payloadOf(encodeExtraInfoQuestion(message.question));
    case 4:
      return payloadOf(encodeRespCallReply(message.id, message.reply));
  }
}

/** The parts of an unmutated reply that must survive the round trip. */
function replyMatches(message: RunnerMessage, reply: RunnerReply): boolean {
  switch (message.type) {
    case 0:
      return reply.type === 'error' && reply.code === message.code;
    case 1:
      return reply.type === 'prepare_conf' && reply.token === message.token >>> 0;
    case 2: {
      if (reply.type !== 'req_call' || reply.id !== message.id >>> 0 || reply.action.kind !== message.action.kind) return false;
      const sent = message.action;
      const got = reply.action;
      if (sent.kind === 'stop' && got.kind === 'stop') {
        const body = sent.body === null || sent.body.length === 0 ? null : sent.body;
        return got.status === sent.status && sameEntries(got.headers, sent.headers) && sameBytes(got.body, body);
      }
      if (sent.kind === 'rewrite' && got.kind === 'rewrite') {
        return (
          sameBytes(got.path, sent.path === null ? null : textBytes(sent.path)) &&
          sameEntries(got.headers, sent.headers) &&
          sameEntries(got.args, sent.args) &&
          sameEntries(got.respHeaders, sent.respHeaders)
        );
      }
      return true;
    }
    case 3: {
      if (reply.type !== 'extra_info' || reply.question.kind !== message.question.kind) return false;
      const q = message.question;
      return q.kind !== 'var' || (reply.question.kind === 'var' && sameBytes(reply.question.name, textBytes(q.name)));
    }
    case 4:
      return reply.type === 'resp_call' && reply.id === message.id >>> 0 && reply.status === message.reply.status;
  }
}

/** Reads every field of a decoded reply (entry lists and byte views). */
function touchReply(reply: RunnerReply): number {
  switch (reply.type) {
    case 'req_call': {
      const action = reply.action;
      if (action.kind === 'stop') return touchEntries(action.headers) + (action.body?.length ?? 0);
      if (action.kind === 'rewrite') {
        return (action.path?.length ?? 0) + touchEntries(action.headers) + touchEntries(action.args) + touchEntries(action.respHeaders) + (action.body?.length ?? 0);
      }
      return 0;
    }
    case 'extra_info':
      return reply.question.kind === 'var' ? reply.question.name.length : 0;
    case 'resp_call':
      return touchEntries(reply.headers ?? []) + (reply.body?.length ?? 0);
    default:
      return 0;
  }
}

export const gatewayDecodersTarget: FuzzTarget = {
  name: 'gateway-decoders',
  description:
    'Gateway-side decoder of runner replies (Err.Resp, PrepareConf.Resp, HTTPReqCall.Resp with Stop/Rewrite unions, ExtraInfo.Req, HTTPRespCall.Resp) on mutated, type-confused and unknown-type frames, under a bounds oracle',
  defaultCases: 1_000_000,
  kind: 'pure',
  async run(options) {
    const counters = new Counters();
    const arb = fc.record({
      message: runnerMessageArb,
      mutations: fc.option(byteMutationsArb, { nil: null, freq: 8 }),
      // Mostly the message's own type; sometimes another type 0-4 or any byte.
      type: fc.oneof(
        { weight: 8, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 4 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
      ),
    });
    return runSyncProperty(
      this.name,
      arb,
      (c) => {
        const payload = encodeRunnerMessage(c.message);
        const type = c.type ?? c.message.type;
        if (c.mutations === null && type === c.message.type) {
          const reply = decodeRunnerReply(type, strictBytes(payload));
          touchReply(reply);
          if (!replyMatches(c.message, reply)) throw new PropertyViolation(`type ${type}: decoded reply differs from the encoded one`);
          counters.bump('round_trip');
          return;
        }
        const mutated = c.mutations === null ? payload : applyByteMutations(payload, mapPayload(payload, RUNNER_LAYOUTS[c.message.type]!), c.mutations);
        const allowed = type > 4 ? [ErrorCode.PROTOCOL_UNEXPECTED_FRAME] : [ErrorCode.PROTOCOL_MALFORMED];
        const outcome = outcomeOf(`type ${type}`, (p) => touchReply(decodeRunnerReply(type, p)), mutated, allowed);
        if (type > 4 && outcome !== 'unexpected_type') throw new PropertyViolation(`type ${type}: a frame type a runner never sends was decoded`);
        counters.bump(`${type === c.message.type ? 'mutated' : type > 4 ? 'unknown_type' : 'confused'}_${outcome}`);
      },
      options,
      counters,
    );
  },
};
