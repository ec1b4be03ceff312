/**
 * The gateway's side of the ext-plugin codec: encodes what APISIX sends and
 * decodes what a runner answers. Used by the local development gateway, the
 * benchmark load generator and the tests (which check the runner's bytes with it).
 * Pure: no I/O, no timers.
 *
 * Encoders mirror the gateway's builder: scalars equal to their default are
 * omitted, absent strings/vectors are not written, and strings are written
 * byte-exact (`Uint8Array`) or as UTF-8 (JS strings). Every encoder returns a
 * whole frame and throws `RunnerError(PROTOCOL_REPLY_TOO_LARGE)` when the payload
 * would exceed the 24-bit frame limit (the gateway refuses to send those too).
 *
 * {@link decodeRunnerReply} verifies the payload before reading it.
 */
import * as flatbuffers from 'flatbuffers';
import { ErrorCode, RunnerError } from '../errors.js';
import {
  assertFitsInFrame,
  buildFrame,
  bytesOrNull,
  createBytes,
  createEntries,
  createText,
  readEntries,
} from './flatbuffers-io.js';
import { Resp as ErrResp } from './generated/a6/err/resp.js';
import { Info } from './generated/a6/extra-info/info.js';
import { Req as ExtraInfoReq } from './generated/a6/extra-info/req.js';
import { Resp as ExtraInfoResp } from './generated/a6/extra-info/resp.js';
import { Var } from './generated/a6/extra-info/var.js';
import { Action } from './generated/a6/httpreq-call/action.js';
import { Req as HTTPReqCallReq } from './generated/a6/httpreq-call/req.js';
import { Resp as HTTPReqCallResp } from './generated/a6/httpreq-call/resp.js';
import { Rewrite } from './generated/a6/httpreq-call/rewrite.js';
import { Stop } from './generated/a6/httpreq-call/stop.js';
import { Req as HTTPRespCallReq } from './generated/a6/httpresp-call/req.js';
import { Resp as HTTPRespCallResp } from './generated/a6/httpresp-call/resp.js';
import { Req as PrepareConfReq } from './generated/a6/prepare-conf/req.js';
import { Resp as PrepareConfResp } from './generated/a6/prepare-conf/resp.js';
import { FrameType } from './messages.js';
import type { OutEntry, RawEntry } from './messages.js';
import {
  ERR_RESP,
  EXTRA_INFO_REQ,
  HTTP_REQ_CALL_RESP,
  HTTP_RESP_CALL_RESP,
  PREPARE_CONF_RESP,
  verifyPayload,
} from './verify.js';

const UTF8_BYTES = flatbuffers.Encoding.UTF8_BYTES;

// ---- gateway -> runner --------------------------------------------------------

/** Input of {@link encodePrepareConfRequest}. */
export interface PrepareConfRequestInput {
  /** Idempotency key; null omits the field (gateways before 2.9). */
  readonly key: string | Uint8Array | null;
  /** Runner plugins in order; an empty list omits the vector, as the gateway does without `conf`. */
  readonly conf: readonly OutEntry[];
}

/** Input of {@link encodeHTTPReqCallRequest}. */
export interface HTTPReqCallRequestInput {
  readonly id: number;
  readonly confToken: number;
  /** Raw `A6.Method` byte (values outside 0-14 are allowed, to test runners). */
  readonly method: number;
  /** Client address bytes; null omits the field. */
  readonly srcIp: Uint8Array | null;
  /** Null omits the field. */
  readonly path: string | Uint8Array | null;
  /** Written even when empty. A null `value` is a valueless argument (`?k`). */
  readonly args: readonly OutEntry[];
  /** Written even when empty. */
  readonly headers: readonly OutEntry[];
}

/** Input of {@link encodeHTTPRespCallRequest}. */
export interface HTTPRespCallRequestInput {
  readonly id: number;
  readonly confToken: number;
  readonly status: number;
  /** Written even when empty. */
  readonly headers: readonly OutEntry[];
}

/** `A6.PrepareConf.Req` frame (type 1). */
export function encodePrepareConfRequest(request: PrepareConfRequestInput): Buffer {
  return buildFrame(FrameType.PrepareConf, (b) => {
    const conf = request.conf.length === 0 ? 0 : createEntries(b, request.conf);
    const key = request.key === null ? 0 : createText(b, request.key);
    PrepareConfReq.startReq(b);
    PrepareConfReq.addConf(b, conf);
    PrepareConfReq.addKey(b, key);
    return PrepareConfReq.endReq(b);
  });
}

/** `A6.HTTPReqCall.Req` frame (type 2). */
export function encodeHTTPReqCallRequest(request: HTTPReqCallRequestInput): Buffer {
  return buildFrame(FrameType.HTTPReqCall, (b) => {
    const srcIp = createBytes(b, request.srcIp);
    const path = request.path === null ? 0 : createText(b, request.path);
    const args = createEntries(b, request.args);
    const headers = createEntries(b, request.headers);
    HTTPReqCallReq.startReq(b);
    HTTPReqCallReq.addId(b, request.id >>> 0);
    HTTPReqCallReq.addSrcIp(b, srcIp);
    HTTPReqCallReq.addMethod(b, request.method);
    HTTPReqCallReq.addPath(b, path);
    HTTPReqCallReq.addArgs(b, args);
    HTTPReqCallReq.addHeaders(b, headers);
    HTTPReqCallReq.addConfToken(b, request.confToken >>> 0);
    return HTTPReqCallReq.endReq(b);
  });
}

/** `A6.HTTPRespCall.Req` frame (type 4). */
export function encodeHTTPRespCallRequest(request: HTTPRespCallRequestInput): Buffer {
  return buildFrame(FrameType.HTTPRespCall, (b) => {
    const headers = createEntries(b, request.headers);
    HTTPRespCallReq.startReq(b);
    HTTPRespCallReq.addId(b, request.id >>> 0);
    HTTPRespCallReq.addStatus(b, request.status);
    HTTPRespCallReq.addHeaders(b, headers);
    HTTPRespCallReq.addConfToken(b, request.confToken >>> 0);
    return HTTPRespCallReq.endReq(b);
  });
}

/**
 * `A6.ExtraInfo.Resp` frame (type 3): `null` omits `result` (no such value), an
 * empty array is written as a present, empty vector.
 */
export function encodeExtraInfoAnswer(result: Uint8Array | null): Buffer {
  assertFitsInFrame('ExtraInfo result', result);
  return buildFrame(FrameType.ExtraInfo, (b) => {
    const vector = createBytes(b, result);
    ExtraInfoResp.startResp(b);
    ExtraInfoResp.addResult(b, vector);
    return ExtraInfoResp.endResp(b);
  });
}

// ---- runner -> gateway --------------------------------------------------------

/** What a runner asked in an `A6.ExtraInfo.Req`; `unknown` for NONE or a tag this codec does not know. */
export type DecodedExtraInfoQuestion =
  | { readonly kind: 'var'; readonly name: Uint8Array }
  | { readonly kind: 'req_body' }
  | { readonly kind: 'resp_body' }
  | { readonly kind: 'unknown'; readonly tag: number };

/** A decoded `A6.HTTPReqCall.Resp` action. */
export type DecodedReqCallAction =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'stop';
      readonly status: number;
      readonly headers: readonly RawEntry[];
      readonly body: Uint8Array | null;
    }
  | {
      readonly kind: 'rewrite';
      readonly path: Uint8Array | null;
      readonly headers: readonly RawEntry[];
      readonly args: readonly RawEntry[];
      readonly respHeaders: readonly RawEntry[];
      readonly body: Uint8Array | null;
    };

/**
 * Any frame a runner can send, decoded. Vectors that are absent read as empty
 * lists, except `resp_call.headers`, where absent (`null`) and empty differ in
 * how a reader may want to report them (the gateway treats both the same way).
 */
export type RunnerReply =
  | { readonly type: 'error'; readonly code: number }
  | { readonly type: 'prepare_conf'; readonly token: number }
  | { readonly type: 'req_call'; readonly id: number; readonly action: DecodedReqCallAction }
  | { readonly type: 'extra_info'; readonly question: DecodedExtraInfoQuestion }
  | {
      readonly type: 'resp_call';
      readonly id: number;
      readonly status: number;
      readonly headers: readonly RawEntry[] | null;
      readonly body: Uint8Array | null;
    };

/**
 * Decodes a frame sent by a runner, after verifying its payload.
 *
 * @throws RunnerError `PROTOCOL_MALFORMED` when the payload is not a valid buffer
 *   for its type; `PROTOCOL_UNEXPECTED_FRAME` for a type a runner never sends.
 */
export function decodeRunnerReply(type: number, payload: Uint8Array): RunnerReply {
  switch (type) {
    case FrameType.Error: {
      verifyPayload(payload, ERR_RESP);
      return { type: 'error', code: ErrResp.getRootAsResp(new flatbuffers.ByteBuffer(payload)).code() };
    }
    case FrameType.PrepareConf: {
      verifyPayload(payload, PREPARE_CONF_RESP);
      const resp = PrepareConfResp.getRootAsResp(new flatbuffers.ByteBuffer(payload));
      return { type: 'prepare_conf', token: resp.confToken() };
    }
    case FrameType.HTTPReqCall:
      return decodeReqCallReply(payload);
    case FrameType.ExtraInfo:
      return decodeExtraInfoQuestion(payload);
    case FrameType.HTTPRespCall: {
      verifyPayload(payload, HTTP_RESP_CALL_RESP);
      const resp = HTTPRespCallResp.getRootAsResp(new flatbuffers.ByteBuffer(payload));
      return {
        type: 'resp_call',
        id: resp.id(),
        status: resp.status(),
        headers: hasField(resp, 8) ? readEntries(resp.headersLength(), (i, c) => resp.headers(i, c)) : null,
        body: resp.bodyArray(),
      };
    }
    default:
      throw new RunnerError(ErrorCode.PROTOCOL_UNEXPECTED_FRAME, `a runner never sends frame type ${type}`);
  }
}

function decodeReqCallReply(payload: Uint8Array): RunnerReply {
  verifyPayload(payload, HTTP_REQ_CALL_RESP);
  const resp = HTTPReqCallResp.getRootAsResp(new flatbuffers.ByteBuffer(payload));
  const id = resp.id();
  // The verifier has rejected unknown tags and known tags without their table.
  switch (resp.actionType()) {
    case Action.Stop: {
      const stop = resp.action(new Stop()) as Stop;
      return {
        type: 'req_call',
        id,
        action: {
          kind: 'stop',
          status: stop.status(),
          headers: readEntries(stop.headersLength(), (i, c) => stop.headers(i, c)),
          body: stop.bodyArray(),
        },
      };
    }
    case Action.Rewrite: {
      const rewrite = resp.action(new Rewrite()) as Rewrite;
      return {
        type: 'req_call',
        id,
        action: {
          kind: 'rewrite',
          path: bytesOrNull(rewrite.path(UTF8_BYTES)),
          headers: readEntries(rewrite.headersLength(), (i, c) => rewrite.headers(i, c)),
          args: readEntries(rewrite.argsLength(), (i, c) => rewrite.args(i, c)),
          respHeaders: readEntries(rewrite.respHeadersLength(), (i, c) => rewrite.respHeaders(i, c)),
          body: rewrite.bodyArray(),
        },
      };
    }
    default:
      return { type: 'req_call', id, action: { kind: 'none' } };
  }
}

function decodeExtraInfoQuestion(payload: Uint8Array): RunnerReply {
  verifyPayload(payload, EXTRA_INFO_REQ);
  const req = ExtraInfoReq.getRootAsReq(new flatbuffers.ByteBuffer(payload));
  const tag = req.infoType();
  switch (tag) {
    case Info.Var: {
      const name = bytesOrNull((req.info(new Var()) as Var).name(UTF8_BYTES));
      if (name === null) {
        // Unreachable after verification (Var.name is required there); kept as a guard.
        throw new RunnerError(ErrorCode.PROTOCOL_MALFORMED, 'ExtraInfo.Var without a name');
      }
      return { type: 'extra_info', question: { kind: 'var', name } };
    }
    case Info.ReqBody:
      return { type: 'extra_info', question: { kind: 'req_body' } };
    case Info.RespBody:
      return { type: 'extra_info', question: { kind: 'resp_body' } };
    default:
      return { type: 'extra_info', question: { kind: 'unknown', tag } };
  }
}

/** Whether the field at vtable slot `slot` is present (the generated code has no `has` accessor). */
function hasField(table: { bb: flatbuffers.ByteBuffer | null; bb_pos: number }, slot: number): boolean {
  return table.bb !== null && table.bb.__offset(table.bb_pos, slot) !== 0;
}
