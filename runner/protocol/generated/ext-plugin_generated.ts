// Generated from runner/protocol/ext-plugin.fbs by scripts/gen-protocol.mjs. Do not edit.

export { Code } from './a6/err/code.js';
export { Info, unionToInfo, unionListToInfo } from './a6/extra-info/info.js';
export { ReqBody } from './a6/extra-info/req-body.js';
export { RespBody } from './a6/extra-info/resp-body.js';
export { Var } from './a6/extra-info/var.js';
export { Action, unionToAction, unionListToAction } from './a6/httpreq-call/action.js';
export { Rewrite } from './a6/httpreq-call/rewrite.js';
export { Stop } from './a6/httpreq-call/stop.js';
export { Method } from './a6/method.js';
export { TextEntry } from './a6/text-entry.js';
