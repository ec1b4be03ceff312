/**
 * jwt-auth: JWT verification, authorization and identity forwarding for APISIX
 * routes. Register `jwtAuthPlugin` with the runner; it builds one plugin instance per
 * process, with a revocation checker when the runner has Redis configured.
 */
import type { PluginFactory } from '../../runner/plugin-api/index.js';
import { createJwtAuthPlugin } from './plugin.js';
import { createRevocationChecker } from './revocation/index.js';

export { createJwtAuthPlugin, JWT_AUTH_PLUGIN_NAME, tokenFingerprint, type JwtAuthDeps } from './plugin.js';
export { jwtAuthConfSchema, type JwtAuthConf } from './conf-schema.js';
export type { PreparedJwtAuth } from './prepare.js';

export const jwtAuthPlugin: PluginFactory = (env) =>
  createJwtAuthPlugin(env, {
    revocation: env.settings.redis === null ? null : createRevocationChecker(env.settings.redis, env.logger, env.metrics),
  });
