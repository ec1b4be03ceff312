/**
 * Where the revocation commands write: the Redis URL and the key prefix, from
 * flags, the environment and the runner configuration, in that order.
 */
import { loadRunnerSettings } from '../../runner/config/loader.js';
import { DEFAULT_REDIS_KEY_PREFIX } from '../../runner/config/schema.js';
import { usageError } from './exit.js';

export interface RevocationTargetOptions {
  /** `--redis-url`. */
  readonly redisUrl?: string | undefined;
  /** `--config`. */
  readonly config?: string | undefined;
  /** `--prefix`. */
  readonly prefix?: string | undefined;
}

export interface RevocationTarget {
  /** Redis URL text, not yet validated (`openAdminClient` does that). May hold a password: never print it. */
  readonly url: string;
  /** Revocation key prefix. */
  readonly prefix: string;
}

/**
 * Redis URL: `--redis-url`, else `REDIS_URL`, else the runner config's `redis.url`.
 * Key prefix: `--prefix`, else the runner config's `redis.key_prefix`, else the default.
 * The runner config is read only when a flag or variable leaves something open.
 *
 * @throws RunnerError `ERR_CLI_USAGE` when no URL can be found; `ERR_CONFIG_INVALID` for a bad config file.
 */
export async function resolveRevocationTarget(
  options: RevocationTargetOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RevocationTarget> {
  if (options.prefix !== undefined && options.prefix === '') throw usageError('--prefix must not be empty');
  const fromFlagOrEnv = nonEmpty(options.redisUrl) ?? nonEmpty(env['REDIS_URL']);
  if (options.redisUrl !== undefined && options.redisUrl === '') throw usageError('--redis-url must not be empty');

  if (fromFlagOrEnv !== undefined && options.prefix !== undefined && options.config === undefined) {
    return { url: fromFlagOrEnv, prefix: options.prefix };
  }

  const settings = await loadRunnerSettings({ path: options.config, env });
  const prefix = options.prefix ?? settings.redis?.key_prefix ?? DEFAULT_REDIS_KEY_PREFIX;
  if (fromFlagOrEnv !== undefined) return { url: fromFlagOrEnv, prefix };

  const url = settings.redis?.url ?? null;
  if (url === null) {
    const why =
      settings.redis === null
        ? 'the runner config has no redis section'
        : 'the runner config uses Redis Sentinel or Cluster, and these commands need one server URL';
    throw usageError(`no Redis URL: ${why}; pass --redis-url redis://host:port or set REDIS_URL`);
  }
  return { url, prefix };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
