/**
 * The one place where a failure becomes an RPC error code (reference 8.1).
 * Only CONF_TOKEN_NOT_FOUND makes the gateway re-prepare and retry; every other
 * code ends the request with a 503 (or a pass-through with allow_degradation).
 */
import { ErrorCode, isRunnerError } from '../errors.js';
import { RpcErrorCode } from '../protocol/messages.js';

export function rpcErrorCodeFor(err: unknown): RpcErrorCode {
  if (!isRunnerError(err)) return RpcErrorCode.SERVICE_UNAVAILABLE;
  switch (err.code) {
    case ErrorCode.CONF_TOKEN_NOT_FOUND:
      return RpcErrorCode.CONF_TOKEN_NOT_FOUND;
    case ErrorCode.PROTOCOL_MALFORMED:
    case ErrorCode.PROTOCOL_EMPTY_FRAME:
    case ErrorCode.PROTOCOL_UNEXPECTED_FRAME:
    case ErrorCode.PROTOCOL_FRAME_TOO_LARGE:
      return RpcErrorCode.BAD_REQUEST;
    default:
      return RpcErrorCode.SERVICE_UNAVAILABLE;
  }
}
