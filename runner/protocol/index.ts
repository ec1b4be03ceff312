/**
 * Public surface of the ext-plugin protocol codec (pure: no I/O, no timers).
 * Transport code imports from here, never from the generated code directly.
 */
export { FrameDecoder, encodeFrame } from './frame-decoder.js';
export {
  decodeExtraInfoAnswer,
  decodeHTTPReqCallRequest,
  decodeHTTPRespCallRequest,
  decodePrepareConfRequest,
  encodeErrorReply,
  encodeExtraInfoQuestion,
  encodePrepareConfReply,
  encodeReqCallReply,
  encodeRespCallReply,
} from './runner-codec.js';
export {
  decodeRunnerReply,
  encodeExtraInfoAnswer,
  encodeHTTPReqCallRequest,
  encodeHTTPRespCallRequest,
  encodePrepareConfRequest,
} from './gateway-codec.js';
export type {
  DecodedExtraInfoQuestion,
  DecodedReqCallAction,
  HTTPReqCallRequestInput,
  HTTPRespCallRequestInput,
  PrepareConfRequestInput,
  RunnerReply,
} from './gateway-codec.js';
export * from './verify.js';
export * from './messages.js';
export { releaseFrame } from './frame-allocator.js';
