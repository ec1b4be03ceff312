/**
 * Plain TypeScript shapes of every message on the ext-plugin wire, in both
 * directions. The codec (runner-codec.ts for the runner side, gateway-codec.ts for
 * the gateway side) converts between these shapes and framed FlatBuffers bytes.
 *
 * Strings on this wire are byte strings (protocol reference 3.1): header values,
 * paths and arguments can hold any byte, including invalid UTF-8 and NUL. Decoded
 * messages therefore expose `Uint8Array`s; a view returned by a decoder aliases the
 * receive buffer and is only valid for the current conversation (copy to keep).
 */

/** Frame type codes (protocol reference 2.2). */
export const FrameType = {
  Error: 0,
  PrepareConf: 1,
  HTTPReqCall: 2,
  ExtraInfo: 3,
  HTTPRespCall: 4,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** `A6.Err.Code` (protocol reference 3.2). */
export const RpcErrorCode = {
  BAD_REQUEST: 0,
  SERVICE_UNAVAILABLE: 1,
  CONF_TOKEN_NOT_FOUND: 2,
} as const;
export type RpcErrorCode = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];

/** Largest payload a 24-bit length can describe. */
export const MAX_PAYLOAD_BYTES = 16_777_215;
export const FRAME_HEADER_BYTES = 4;

/** `A6.Method` values in enum order; an index outside the list is an unknown method. */
export const METHOD_NAMES = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'OPTIONS',
  'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'PATCH', 'TRACE',
] as const;

/** One frame cut from the stream: type byte plus exactly `len` payload bytes. */
export interface Frame {
  readonly type: number;
  readonly payload: Uint8Array;
}

/** A decoded `A6.TextEntry`; `value === null` means the field is absent (valueless arg, delete). */
export interface RawEntry {
  readonly name: Uint8Array;
  readonly value: Uint8Array | null;
}

/**
 * Entries looked up in place, without a `RawEntry` per entry (see `entry-list.ts`).
 * Views it returns alias the payload, like `RawEntry`'s.
 */
export interface EntryList {
  readonly length: number;
  /** Entry `index`'s name equals `lowerName` (lower-case ASCII), ignoring ASCII case. */
  nameIs(index: number, lowerName: string): boolean;
  /** False when the entry has no value field. */
  hasValue(index: number): boolean;
  name(index: number): Uint8Array;
  value(index: number): Uint8Array | null;
}

/**
 * An entry the runner writes. Strings are encoded as UTF-8, `Uint8Array`s are
 * written unchanged; `value: null` omits the field (delete in Rewrite).
 */
export interface OutEntry {
  readonly name: string | Uint8Array;
  readonly value: string | Uint8Array | null;
}

// ---- gateway -> runner ------------------------------------------------------

export interface PrepareConfRequest {
  /** Idempotency key; null when absent (gateways before 2.9). */
  readonly key: Uint8Array | null;
  /** Runner plugins in execution order; empty when the vector is absent. */
  readonly conf: readonly RawEntry[];
}

export interface HTTPReqCallRequest {
  readonly id: number;
  readonly confToken: number;
  /** Raw `A6.Method` value; may be outside METHOD_NAMES on a newer gateway. */
  readonly method: number;
  /** 4 or 16 bytes normally; any other length must be treated as unknown. */
  readonly srcIp: Uint8Array | null;
  readonly path: Uint8Array | null;
  readonly args: readonly RawEntry[];
  readonly headers: readonly RawEntry[];
  /**
   * The same headers read in place (the decoder provides it; a request built by hand
   * may leave it out and is wrapped).
   */
  readonly headerList?: EntryList;
}

export interface HTTPRespCallRequest {
  readonly id: number;
  readonly confToken: number;
  readonly status: number;
  readonly headers: readonly RawEntry[];
}

/** `A6.ExtraInfo.Resp`: null when `result` is absent, possibly-empty bytes otherwise. */
export type ExtraInfoAnswer = Uint8Array | null;

// ---- runner -> gateway ------------------------------------------------------

export type ExtraInfoQuestion =
  | { readonly kind: 'var'; readonly name: string | Uint8Array }
  | { readonly kind: 'req_body' }
  | { readonly kind: 'resp_body' };

export interface StopAction {
  readonly kind: 'stop';
  /** Sent as is; 100-599. */
  readonly status: number;
  readonly headers: readonly OutEntry[];
  /** Omitted when null or empty (the gateway ignores an empty body). */
  readonly body: Uint8Array | null;
}

export interface RewriteAction {
  readonly kind: 'rewrite';
  /** New upstream path in decoded form; null leaves the path alone. */
  readonly path: string | Uint8Array | null;
  readonly headers: readonly OutEntry[];
  readonly args: readonly OutEntry[];
  readonly respHeaders: readonly OutEntry[];
  readonly body: Uint8Array | null;
}

export type ReqCallAction = { readonly kind: 'none' } | StopAction | RewriteAction;

export interface RespCallReply {
  /** 0 keeps the upstream status. */
  readonly status: number;
  /** Full header set the client gets; null or empty lets the gateway copy upstream headers. */
  readonly headers: readonly OutEntry[] | null;
  /** Replacement body; null or empty keeps the upstream body. */
  readonly body: Uint8Array | null;
}
