// Generated from runner/protocol/ext-plugin.fbs by scripts/gen-protocol.mjs. Do not edit.

export enum Code {
  BAD_REQUEST = 0,
  SERVICE_UNAVAILABLE = 1,
  CONF_TOKEN_NOT_FOUND = 2
}
