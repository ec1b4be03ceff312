/**
 * The runner's side of the ext-plugin codec: decodes what the gateway sends and
 * encodes what the runner answers. Pure: no I/O, no timers.
 *
 * Decoders verify the whole payload first ({@link verifyPayload}) and only then
 * read through the generated accessors, always with `Encoding.UTF8_BYTES`: strings
 * on this wire are byte strings and are returned byte-exact as `Uint8Array` views
 * of the payload (copy what you keep beyond the conversation). Absent and empty
 * stay distinct: an absent string or byte vector reads as `null`, an empty one as
 * an empty `Uint8Array`.
 *
 * Encoders return a complete frame (4-byte header + payload in one `Buffer`) and
 * throw `RunnerError(PROTOCOL_REPLY_TOO_LARGE)` when the payload would exceed
 * 16 777 215 bytes; the caller answers with an error frame instead. Scalars equal
 * to their default are omitted, as every FlatBuffers builder (and the gateway's)
 * does.
 */
import * as flatbuffers from 'flatbuffers';
import { assertNever } from '../errors.js';
import {
  assertFitsInFrame,
  buildFrame,
  bytesOrNull,
  createBodyOrOmit,
  createEntriesOrOmit,
  createText,
  readEntries,
} from './flatbuffers-io.js';
import { Resp as ErrResp } from './generated/a6/err/resp.js';
import { Info } from './generated/a6/extra-info/info.js';
import { ReqBody } from './generated/a6/extra-info/req-body.js';
import { Req as ExtraInfoReq } from './generated/a6/extra-info/req.js';
import { RespBody } from './generated/a6/extra-info/resp-body.js';
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
import { FRAME_HEADER_BYTES, FrameType } from './messages.js';
import { ArrayEntryList, PayloadEntryList, toRawEntries } from './entry-list.js';
import { allocateFrame } from './frame-allocator.js';
import { fieldAt, follow, readUint32, rootTable } from './table-reads.js';
import type {
  EntryList,
  ExtraInfoAnswer,
  ExtraInfoQuestion,
  HTTPReqCallRequest,
  HTTPRespCallRequest,
  PrepareConfRequest,
  RawEntry,
  ReqCallAction,
  RespCallReply,
  RewriteAction,
  RpcErrorCode,
  StopAction,
} from './messages.js';
import {
  EXTRA_INFO_RESP,
  HTTP_REQ_CALL_REQ,
  HTTP_RESP_CALL_REQ,
  PREPARE_CONF_REQ,
  verifyPayload,
} from './verify.js';

const UTF8_BYTES = flatbuffers.Encoding.UTF8_BYTES;

// ---- gateway -> runner --------------------------------------------------------

/**
 * Decodes an `A6.PrepareConf.Req` payload (frame type 1).
 *
 * @throws RunnerError `PROTOCOL_MALFORMED` when the payload is not a valid buffer.
 */
export function decodePrepareConfRequest(payload: Uint8Array): PrepareConfRequest {
  verifyPayload(payload, PREPARE_CONF_REQ);
  const req = PrepareConfReq.getRootAsReq(new flatbuffers.ByteBuffer(payload));
  return {
    key: bytesOrNull(req.key(UTF8_BYTES)),
    conf: readEntries(req.confLength(), (i, cursor) => req.conf(i, cursor)),
  };
}

/**
 * Decodes an `A6.HTTPReqCall.Req` payload (frame type 2).
 *
 * The whole buffer is verified now, but only the scalars (`id`, `confToken`,
 * `method`) are read eagerly: `srcIp`, `path`, `args` and `headers` are decoded on
 * first access and memoised, so a pass-through call that reads only the id and
 * the token never materialises a hundred header entries. The result is a class
 * instance whose lazy fields are prototype getters: object spread and
 * `JSON.stringify` do not see them, read them by name.
 *
 * @throws RunnerError `PROTOCOL_MALFORMED` when the payload is not a valid buffer.
 */
export function decodeHTTPReqCallRequest(payload: Uint8Array): HTTPReqCallRequest {
  verifyPayload(payload, HTTP_REQ_CALL_REQ);
  return new LazyHTTPReqCallRequest(payload);
}

/** Field ids of `A6.HTTPReqCall.Req` (schema order). */
const enum ReqField {
  Id = 0,
  SrcIp = 1,
  Method = 2,
  Path = 3,
  Args = 4,
  Headers = 5,
  ConfToken = 6,
}

/**
 * An `HTTPReqCallRequest` over a verified buffer; `undefined` in a slot means "not
 * read yet". The scalars and the header list are read straight from the bytes; the
 * generated accessors (and their `ByteBuffer`) are built only for the fields few
 * calls read.
 */
class LazyHTTPReqCallRequest implements HTTPReqCallRequest {
  readonly id: number;
  readonly confToken: number;
  readonly method: number;
  readonly #payload: Uint8Array;
  readonly #table: number;
  #req: HTTPReqCallReq | null = null;
  #srcIp: Uint8Array | null | undefined;
  #path: Uint8Array | null | undefined;
  #args: readonly RawEntry[] | undefined;
  #headers: readonly RawEntry[] | undefined;
  #headerList: EntryList | undefined;

  constructor(payload: Uint8Array) {
    const table = rootTable(payload);
    this.#payload = payload;
    this.#table = table;
    const id = fieldAt(payload, table, ReqField.Id);
    this.id = id === 0 ? 0 : readUint32(payload, id);
    const confToken = fieldAt(payload, table, ReqField.ConfToken);
    this.confToken = confToken === 0 ? 0 : readUint32(payload, confToken);
    const method = fieldAt(payload, table, ReqField.Method);
    this.method = method === 0 ? 0 : payload[method]!;
  }

  get #accessor(): HTTPReqCallReq {
    this.#req ??= HTTPReqCallReq.getRootAsReq(new flatbuffers.ByteBuffer(this.#payload));
    return this.#req;
  }

  get srcIp(): Uint8Array | null {
    if (this.#srcIp === undefined) {
      this.#srcIp = this.#accessor.srcIpArray();
    }
    return this.#srcIp;
  }

  get path(): Uint8Array | null {
    if (this.#path === undefined) {
      this.#path = bytesOrNull(this.#accessor.path(UTF8_BYTES));
    }
    return this.#path;
  }

  get args(): readonly RawEntry[] {
    if (this.#args === undefined) {
      const req = this.#accessor;
      this.#args = readEntries(req.argsLength(), (i, cursor) => req.args(i, cursor));
    }
    return this.#args;
  }

  get headers(): readonly RawEntry[] {
    this.#headers ??= toRawEntries(this.headerList);
    return this.#headers;
  }

  get headerList(): EntryList {
    if (this.#headerList === undefined) {
      const field = fieldAt(this.#payload, this.#table, ReqField.Headers);
      this.#headerList = field === 0 ? EMPTY_ENTRY_LIST : new PayloadEntryList(this.#payload, follow(this.#payload, field));
    }
    return this.#headerList;
  }
}

const EMPTY_ENTRY_LIST: EntryList = new ArrayEntryList([]);

/**
 * Decodes an `A6.HTTPRespCall.Req` payload (frame type 4).
 *
 * @throws RunnerError `PROTOCOL_MALFORMED` when the payload is not a valid buffer.
 */
export function decodeHTTPRespCallRequest(payload: Uint8Array): HTTPRespCallRequest {
  verifyPayload(payload, HTTP_RESP_CALL_REQ);
  const req = HTTPRespCallReq.getRootAsReq(new flatbuffers.ByteBuffer(payload));
  return {
    id: req.id(),
    confToken: req.confToken(),
    status: req.status(),
    headers: readEntries(req.headersLength(), (i, cursor) => req.headers(i, cursor)),
  };
}

/**
 * Decodes an `A6.ExtraInfo.Resp` payload (frame type 3, the gateway's answer):
 * `null` when `result` is absent (no such value), possibly-empty bytes otherwise.
 *
 * @throws RunnerError `PROTOCOL_MALFORMED` when the payload is not a valid buffer.
 */
export function decodeExtraInfoAnswer(payload: Uint8Array): ExtraInfoAnswer {
  verifyPayload(payload, EXTRA_INFO_RESP);
  return ExtraInfoResp.getRootAsResp(new flatbuffers.ByteBuffer(payload)).resultArray();
}

// ---- runner -> gateway --------------------------------------------------------

/** `A6.PrepareConf.Resp` frame (type 1) carrying the conf token (uint32). */
export function encodePrepareConfReply(token: number): Buffer {
  return buildFrame(FrameType.PrepareConf, (b) => {
    PrepareConfResp.startResp(b);
    PrepareConfResp.addConfToken(b, token >>> 0);
    return PrepareConfResp.endResp(b);
  });
}

/**
 * `A6.HTTPReqCall.Resp` frame (type 2).
 *
 * - `none`: an id-only table (pass through). This is the hottest path, so it is
 *   served from a template built once by the FlatBuffers builder with the id
 *   patched in; a unit test proves it byte-identical to the builder's output.
 * - `stop`: status, headers (omitted when empty) and body (omitted when null or
 *   empty: the gateway ignores an empty body).
 * - `rewrite`: `path` omitted when null (an empty path is sent as given);
 *   entries whose value is null carry no value field (delete); empty vectors and
 *   empty bodies are omitted.
 *
 * Ids are uint32 on the wire; other numbers are reduced modulo 2^32.
 *
 * @throws RunnerError `PROTOCOL_REPLY_TOO_LARGE` when the payload would exceed the frame limit.
 */
export function encodeReqCallReply(id: number, action: ReqCallAction): Buffer {
  const wireId = id >>> 0;
  switch (action.kind) {
    case 'none':
      return passThroughReply(wireId);
    case 'stop':
      return encodeStopReply(wireId, action);
    case 'rewrite':
      return encodeRewriteReply(wireId, action);
    default:
      return assertNever(action);
  }
}

function encodeStopReply(id: number, stop: StopAction): Buffer {
  assertFitsInFrame('Stop body', stop.body);
  return buildFrame(FrameType.HTTPReqCall, (b) => {
    const headers = createEntriesOrOmit(b, stop.headers);
    const body = createBodyOrOmit(b, stop.body);
    Stop.startStop(b);
    Stop.addStatus(b, stop.status);
    Stop.addHeaders(b, headers);
    Stop.addBody(b, body);
    return reqCallResp(b, id, Action.Stop, Stop.endStop(b));
  });
}

function encodeRewriteReply(id: number, rewrite: RewriteAction): Buffer {
  assertFitsInFrame('Rewrite body', rewrite.body);
  if (rewrite.path instanceof Uint8Array) {
    assertFitsInFrame('Rewrite path', rewrite.path);
  }
  return buildFrame(FrameType.HTTPReqCall, (b) => {
    const path = rewrite.path === null ? 0 : createText(b, rewrite.path);
    const headers = createEntriesOrOmit(b, rewrite.headers);
    const args = createEntriesOrOmit(b, rewrite.args);
    const respHeaders = createEntriesOrOmit(b, rewrite.respHeaders);
    const body = createBodyOrOmit(b, rewrite.body);
    Rewrite.startRewrite(b);
    Rewrite.addPath(b, path);
    Rewrite.addHeaders(b, headers);
    Rewrite.addArgs(b, args);
    Rewrite.addRespHeaders(b, respHeaders);
    Rewrite.addBody(b, body);
    return reqCallResp(b, id, Action.Rewrite, Rewrite.endRewrite(b));
  });
}

function reqCallResp(b: flatbuffers.Builder, id: number, type: Action, action: flatbuffers.Offset): flatbuffers.Offset {
  HTTPReqCallResp.startResp(b);
  HTTPReqCallResp.addId(b, id);
  HTTPReqCallResp.addActionType(b, type);
  HTTPReqCallResp.addAction(b, action);
  return HTTPReqCallResp.endResp(b);
}

/** The pass-through reply built the ordinary way; also the source of the templates. */
function buildPassThroughReply(id: number): Buffer {
  return buildFrame(FrameType.HTTPReqCall, (b) => {
    HTTPReqCallResp.startResp(b);
    HTTPReqCallResp.addId(b, id);
    return HTTPReqCallResp.endResp(b);
  });
}

/**
 * Templates for the pass-through reply. The builder omits a zero id, so id 0 has
 * its own (shorter) frame; every other id shares one layout in which only the
 * four id bytes differ. The id's position is read from the template's own vtable
 * rather than hard-coded.
 */
const PASS_THROUGH_ID_ZERO = buildPassThroughReply(0);
const PASS_THROUGH_TEMPLATE = buildPassThroughReply(1);
const PASS_THROUGH_ID_AT = locateFirstField(PASS_THROUGH_TEMPLATE.subarray(FRAME_HEADER_BYTES)) + FRAME_HEADER_BYTES;

function locateFirstField(payload: Buffer): number {
  const table = payload.readUInt32LE(0);
  const vtable = table - payload.readInt32LE(table);
  return table + payload.readUInt16LE(vtable + 4);
}

function passThroughReply(id: number): Buffer {
  const template = id === 0 ? PASS_THROUGH_ID_ZERO : PASS_THROUGH_TEMPLATE;
  const frame = allocateFrame(template.length);
  template.copy(frame);
  if (id !== 0) {
    frame.writeUInt32LE(id, PASS_THROUGH_ID_AT);
  }
  return frame;
}

/**
 * `A6.HTTPRespCall.Resp` frame (type 4). `headers` null or empty and `body` null
 * or empty are omitted (the gateway then copies upstream headers / streams the
 * upstream body, protocol reference 7.3); status 0 (keep upstream's) is omitted.
 *
 * @throws RunnerError `PROTOCOL_REPLY_TOO_LARGE` when the payload would exceed the frame limit.
 */
export function encodeRespCallReply(id: number, reply: RespCallReply): Buffer {
  assertFitsInFrame('HTTPRespCall body', reply.body);
  return buildFrame(FrameType.HTTPRespCall, (b) => {
    const headers = createEntriesOrOmit(b, reply.headers);
    const body = createBodyOrOmit(b, reply.body);
    HTTPRespCallResp.startResp(b);
    HTTPRespCallResp.addId(b, id >>> 0);
    HTTPRespCallResp.addStatus(b, reply.status);
    HTTPRespCallResp.addHeaders(b, headers);
    HTTPRespCallResp.addBody(b, body);
    return HTTPRespCallResp.endResp(b);
  });
}

/**
 * `A6.ExtraInfo.Req` frame (type 3): a variable (name as UTF-8 or raw bytes), the
 * request body, or the upstream response body. The body questions carry an empty
 * table, as the gateway expects.
 */
export function encodeExtraInfoQuestion(question: ExtraInfoQuestion): Buffer {
  return buildFrame(FrameType.ExtraInfo, (b) => {
    let type: Info;
    let info: flatbuffers.Offset;
    switch (question.kind) {
      case 'var': {
        const name = createText(b, question.name);
        Var.startVar(b);
        Var.addName(b, name);
        info = Var.endVar(b);
        type = Info.Var;
        break;
      }
      case 'req_body':
        ReqBody.startReqBody(b);
        info = ReqBody.endReqBody(b);
        type = Info.ReqBody;
        break;
      case 'resp_body':
        RespBody.startRespBody(b);
        info = RespBody.endRespBody(b);
        type = Info.RespBody;
        break;
      default:
        return assertNever(question);
    }
    ExtraInfoReq.startReq(b);
    ExtraInfoReq.addInfoType(b, type);
    ExtraInfoReq.addInfo(b, info);
    return ExtraInfoReq.endReq(b);
  });
}

/**
 * `A6.Err.Resp` frame (type 0). For `BAD_REQUEST` (0, the default) the builder
 * omits the field, but the payload is still a complete, non-empty buffer (root
 * offset, vtable and an empty table), which the gateway reads as code 0.
 */
export function encodeErrorReply(code: RpcErrorCode): Buffer {
  return buildFrame(FrameType.Error, (b) => {
    ErrResp.startResp(b);
    ErrResp.addCode(b, code);
    return ErrResp.endResp(b);
  });
}
