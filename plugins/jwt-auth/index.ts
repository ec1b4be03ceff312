/**
 * jwt-auth: JWT verification, authorization and identity forwarding for APISIX
 * routes. Register `jwtAuthPlugin` with the runner; it builds one plugin instance per
 * process, with a revocation checker when the runner has Redis configured.
 */
import type { PluginFactory } from '../../runner/plugin-api/index.js';
import { createJwtAuthPlugin } from './plugin.js';

export { createJwtAuthPlugin, JWT_AUTH_PLUGIN_NAME, tokenFingerprint, type JwtAuthDeps } from './plugin.js';
export { jwtAuthConfSchema, type JwtAuthConf } from './conf-schema.js';
export type { PreparedJwtAuth } from './prepare.js';

/**
 * The revocation code (and ioredis with it, several MiB of heap) is imported only when
 * the runner has Redis configured.
 */
export const jwtAuthPlugin: PluginFactory = async (env) => {
  const redis = env.settings.redis;
  if (redis === null) return createJwtAuthPlugin(env, { revocation: null });
  const { createRevocationChecker } = await import('./revocation/index.js');
  return createJwtAuthPlugin(env, { revocation: createRevocationChecker(redis, env.logger, env.metrics) });
};
