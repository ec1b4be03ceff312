/**
 * `revoke`, `unrevoke` and `revocations`: the operator side of token revocation.
 * They write the key layout the runners read (`<prefix><jti>`, `<prefix>sub:<sub>`)
 * through the revocation store's admin operations, so a plain
 * `redis-cli SET <prefix><jti> 1 EX <seconds>` and these commands are equivalent.
 */
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import {
  listRevocations,
  openAdminClient,
  parsePositiveInt,
  revokeJti,
  revokeSubject,
  ttlFromToken,
  unrevokeJti,
  unrevokeSubject,
  type RevocationEntry,
} from '../../plugins/jwt-auth/revocation/admin.js';
import { atMostOne, endWithError, exactlyOne, exitTwoOnUsageErrors, usageError } from '../lib/exit.js';
import { resolveRevocationTarget, type RevocationTargetOptions } from '../lib/revocation-target.js';
import { formatTable } from '../lib/table.js';

/**
 * Lifetime of a revocation when nothing says how long the token lives (`--jti`
 * without `--ttl`/`--exp`, `--sub` without `--ttl`): one day. A token that lives
 * longer must be revoked with `--exp`, `--token` or a larger `--ttl`.
 */
export const DEFAULT_REVOCATION_TTL_SECONDS = 86_400;

interface TargetFlags {
  redisUrl?: string;
  config?: string;
  prefix?: string;
}

interface RevokeFlags extends TargetFlags {
  jti?: string;
  token?: string;
  sub?: string;
  ttl?: string;
  exp?: string;
  before?: string;
}

interface UnrevokeFlags extends TargetFlags {
  jti?: string;
  sub?: string;
}

interface ListFlags extends TargetFlags {
  json?: boolean;
}

/** What `revoke` was asked to do, after the flags were checked. */
type RevokeRequest =
  | { readonly kind: 'jti'; readonly jti: string; readonly ttl: number; readonly ttlDefaulted: boolean }
  | { readonly kind: 'sub'; readonly sub: string; readonly before: number; readonly ttl: number; readonly ttlDefaulted: boolean };

export function registerRevocationCommands(program: Command): void {
  const revoke = program
    .command('revoke')
    .description(
      'revoke one token (--jti or --token) or every token of a subject issued up to a time (--sub); ' +
        'the Redis entry expires with the token so the list never grows without bound',
    )
    .option('--jti <id>', 'revoke the token with this jti')
    .option('--token <jwt>', 'revoke this token: its jti and exp are read WITHOUT verifying it; the entry lives until exp')
    .option('--sub <subject>', 'revoke every token of this subject issued at or before --before ("log out everywhere")')
    .option('--ttl <seconds>', `lifetime of the revocation entry (default ${DEFAULT_REVOCATION_TTL_SECONDS} for --jti and --sub)`)
    .option('--exp <unix>', "with --jti: the token's exp; the entry lives until then")
    .option('--before <unix>', 'with --sub: tokens issued (iat) at or before this unix time are revoked (default: now)')
    .action(async (flags: RevokeFlags) => {
      try {
        const request = revokeRequest(flags, nowSeconds());
        await withRedis(flags, async (client, prefix) => {
          if (request.kind === 'jti') {
            await revokeJti(client, prefix, request.jti, request.ttl);
            writeOut(`revoked jti ${JSON.stringify(request.jti)} for ${lifetime(request.ttl, request.ttlDefaulted)}\n`);
          } else {
            await revokeSubject(client, prefix, request.sub, request.before, request.ttl);
            writeOut(
              `revoked every token of subject ${JSON.stringify(request.sub)} issued at or before ${isoTime(request.before)} ` +
                `(watermark kept ${lifetime(request.ttl, request.ttlDefaulted)})\n`,
            );
          }
        });
      } catch (err) {
        endWithError(err);
      }
    });
  addTargetOptions(revoke);
  exitTwoOnUsageErrors(revoke);

  const unrevoke = program
    .command('unrevoke')
    .description('remove a revocation: one jti (--jti) or a subject watermark (--sub)')
    .option('--jti <id>', 'remove the revocation of this jti')
    .option('--sub <subject>', 'remove the revocation watermark of this subject')
    .action(async (flags: UnrevokeFlags) => {
      try {
        const which = exactlyOne(flags as Record<string, unknown>, ['jti', 'sub']);
        const id = which === 'jti' ? flags.jti : flags.sub;
        if (id === undefined || id === '') throw usageError(`--${which} must not be empty`);
        await withRedis(flags, async (client, prefix) => {
          const removed = which === 'jti' ? await unrevokeJti(client, prefix, id) : await unrevokeSubject(client, prefix, id);
          const what = which === 'jti' ? `jti ${JSON.stringify(id)}` : `subject ${JSON.stringify(id)}`;
          writeOut(removed ? `removed the revocation of ${what}\n` : `${what} was not revoked; nothing removed\n`);
        });
      } catch (err) {
        endWithError(err);
      }
    });
  addTargetOptions(unrevoke);
  exitTwoOnUsageErrors(unrevoke);

  const list = program
    .command('revocations')
    .description('list current revocations with their remaining lifetime')
    .option('--json', 'print a JSON array instead of a table')
    .action(async (flags: ListFlags) => {
      try {
        await withRedis(flags, async (client, prefix) => {
          const entries: RevocationEntry[] = [];
          for await (const entry of listRevocations(client, prefix)) entries.push(entry);
          entries.sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
          writeOut(flags.json === true ? revocationsJson(entries) : revocationsTable(entries, prefix));
        });
      } catch (err) {
        endWithError(err);
      }
    });
  addTargetOptions(list);
  exitTwoOnUsageErrors(list);
}

function addTargetOptions(command: Command): void {
  command
    .option('--redis-url <url>', 'Redis to write to (default: REDIS_URL, then redis.url of the runner config)')
    .option('-c, --config <path>', 'runner config file for redis.url and redis.key_prefix (default: RUNNER_CONFIG, then conf/runner.yaml)')
    .option('--prefix <prefix>', 'revocation key prefix (default: redis.key_prefix of the runner config, jwt:revoked:)');
}

/** Check the flag combination and work out what to write. Pure except for reading the clock value passed in. */
function revokeRequest(flags: RevokeFlags, now: number): RevokeRequest {
  const given = flags as Record<string, unknown>;
  const which = exactlyOne(given, ['jti', 'token', 'sub']);
  atMostOne(given, ['ttl', 'exp']);
  if (which !== 'sub' && flags.before !== undefined) throw usageError('--before goes with --sub only');
  if (which === 'sub' && flags.exp !== undefined) throw usageError('--exp goes with --jti only; use --ttl with --sub');

  switch (which) {
    case 'token': {
      if (flags.ttl !== undefined || flags.exp !== undefined) {
        throw usageError("--token takes the entry's lifetime from the token's exp; drop --ttl/--exp (or use --jti with --ttl)");
      }
      const { jti, ttl } = ttlFromToken(flags.token ?? '', now);
      return { kind: 'jti', jti, ttl, ttlDefaulted: false };
    }
    case 'jti': {
      const jti = flags.jti ?? '';
      if (jti === '') throw usageError('--jti must not be empty');
      if (flags.exp !== undefined) {
        const exp = parsePositiveInt('--exp', flags.exp);
        if (exp <= now) throw usageError(`--exp ${exp} is in the past; an expired token needs no revocation`);
        return { kind: 'jti', jti, ttl: exp - now, ttlDefaulted: false };
      }
      return ttlOrDefault(flags.ttl, (ttl, ttlDefaulted) => ({ kind: 'jti', jti, ttl, ttlDefaulted }));
    }
    case 'sub': {
      const sub = flags.sub ?? '';
      if (sub === '') throw usageError('--sub must not be empty');
      const before = flags.before === undefined ? now : parsePositiveInt('--before', flags.before);
      return ttlOrDefault(flags.ttl, (ttl, ttlDefaulted) => ({ kind: 'sub', sub, before, ttl, ttlDefaulted }));
    }
    default:
      throw usageError(`unexpected flag ${which}`);
  }
}

function ttlOrDefault(text: string | undefined, build: (ttl: number, defaulted: boolean) => RevokeRequest): RevokeRequest {
  return text === undefined ? build(DEFAULT_REVOCATION_TTL_SECONDS, true) : build(parsePositiveInt('--ttl', text), false);
}

/** Resolve the target, connect, run `work`, always disconnect. */
async function withRedis(flags: RevocationTargetOptions, work: (client: Redis, prefix: string) => Promise<void>): Promise<void> {
  const target = await resolveRevocationTarget(flags);
  const client = await openAdminClient(target.url);
  try {
    await work(client, target.prefix);
  } finally {
    client.disconnect();
  }
}

function revocationsTable(entries: readonly RevocationEntry[], prefix: string): string {
  if (entries.length === 0) return `no revocations under prefix ${JSON.stringify(prefix)}\n`;
  const rows = entries.map((entry) => [
    entry.kind,
    entry.id,
    entry.kind === 'sub' ? watermarkText(entry.value) : entry.value ?? '(not a string)',
    entry.ttlSeconds === null ? 'never expires' : `${entry.ttlSeconds}s`,
  ]);
  return formatTable(['KIND', 'ID', 'VALUE', 'TTL'], rows);
}

function revocationsJson(entries: readonly RevocationEntry[]): string {
  const rows = entries.map((entry) => ({ kind: entry.kind, id: entry.id, value: entry.value, ttl_seconds: entry.ttlSeconds }));
  return `${JSON.stringify(rows, null, 2)}\n`;
}

/** A subject watermark shown with its meaning; an unparseable value is shown as stored. */
function watermarkText(value: string | null): string {
  if (value === null) return '(not a string)';
  return /^\d{1,12}$/.test(value) ? `issued at or before ${isoTime(Number(value))}` : value;
}

function lifetime(ttl: number, defaulted: boolean): string {
  return `${ttl} s (until ${isoTime(nowSeconds() + ttl)}${defaulted ? '; default lifetime, pass --ttl or --exp to match the token' : ''})`;
}

function isoTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function writeOut(text: string): void {
  process.stdout.write(text);
}
