import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { RedisRevocationChecker } from '../../../plugins/jwt-auth/revocation/checker.js';
import type { RevocationQuery } from '../../../plugins/jwt-auth/revocation/index.js';
import { openAdminClient, revokeJti, revokeSubject } from '../../../plugins/jwt-auth/revocation/admin.js';
import { REDIS_COMMANDS_METRIC } from '../../../plugins/jwt-auth/revocation/metrics.js';
import { startRedisServer } from '../../support/redis-server.js';
import type { RedisServerHandle } from '../../support/redis-server.js';
import {
  PREFIX,
  PROPAGATION_BOUND_MS,
  counterTotal,
  parseCommandStats,
  pollUntil,
  redisSettings,
  silentLogger,
  uniqueId,
} from './helpers.js';

const execFileAsync = promisify(execFile);

function token(jti: string | null, sub: string | null = null, iat: number | null = null): RevocationQuery {
  return { jti, sub, iat, exp: null };
}

describe('revocation against a real redis-server: propagation and local view', function () {
  let server: RedisServerHandle;
  let writer: Redis;
  const checkers: RedisRevocationChecker[] = [];

  async function newChecker(registry = new Registry()): Promise<RedisRevocationChecker> {
    const checker = new RedisRevocationChecker(redisSettings(server.url), silentLogger(), registry);
    checkers.push(checker);
    expect(await checker.whenPushSubscribed()).to.equal('keyspace');
    return checker;
  }

  /** Poll until the checker says revoked; returns the propagation time. */
  async function propagation(checker: RedisRevocationChecker, query: RevocationQuery, since: number): Promise<number> {
    await pollUntil('revocation visible', async () => (await checker.check(query)) === 'revoked', PROPAGATION_BOUND_MS, 2);
    return performance.now() - since;
  }

  before(async function () {
    server = await startRedisServer();
    writer = new Redis(server.url);
  });

  afterEach(async function () {
    await Promise.all(checkers.splice(0).map((c) => c.close()));
  });

  after(async function () {
    writer.disconnect();
    await server?.stop();
  });

  it('a revocation written with the admin operation reaches a checker that cached not_revoked within 1 s', async function () {
    const checker = await newChecker();
    const jti = uniqueId('admin');
    expect(await checker.check(token(jti))).to.equal('not_revoked');
    // The negative answer is cached (cache_ttl_ms is 60 s): only push can change it quickly.
    expect(await checker.check(token(jti))).to.equal('not_revoked');
    const admin = await openAdminClient(server.url);
    try {
      const started = performance.now();
      await revokeJti(admin, PREFIX, jti, 60);
      const elapsed = await propagation(checker, token(jti), started);
      console.log(`      propagation (admin revokeJti): ${elapsed.toFixed(1)} ms`);
      expect(elapsed).to.be.below(PROPAGATION_BOUND_MS);
    } finally {
      admin.disconnect();
    }
  });

  it('a plain SET <prefix><jti> 1 EX n from another client reaches the checker within 1 s', async function () {
    const checker = await newChecker();
    const jti = uniqueId('plain');
    expect(await checker.check(token(jti))).to.equal('not_revoked');
    const started = performance.now();
    await writer.set(`${PREFIX}${jti}`, '1', 'EX', 60);
    const elapsed = await propagation(checker, token(jti), started);
    console.log(`      propagation (plain SET): ${elapsed.toFixed(1)} ms`);
    expect(elapsed).to.be.below(PROPAGATION_BOUND_MS);
  });

  it('redis-cli SET works the same way', async function () {
    const checker = await newChecker();
    const jti = uniqueId('cli');
    expect(await checker.check(token(jti))).to.equal('not_revoked');
    const started = performance.now();
    await execFileAsync('redis-cli', ['-h', '127.0.0.1', '-p', String(server.port), 'SET', `${PREFIX}${jti}`, '1', 'EX', '60']);
    const elapsed = await propagation(checker, token(jti), started);
    console.log(`      propagation (redis-cli SET): ${elapsed.toFixed(1)} ms`);
    expect(elapsed).to.be.below(PROPAGATION_BOUND_MS);
  });

  it('two checkers on separate connections (two runners) both honour a revocation within 1 s', async function () {
    const [first, second] = await Promise.all([newChecker(), newChecker()]);
    const jti = uniqueId('two');
    expect(await first.check(token(jti))).to.equal('not_revoked');
    expect(await second.check(token(jti))).to.equal('not_revoked');
    const started = performance.now();
    await writer.set(`${PREFIX}${jti}`, 'x', 'EX', 60);
    const times = await Promise.all([propagation(first, token(jti), started), propagation(second, token(jti), started)]);
    console.log(`      propagation (two runners): ${times.map((t) => t.toFixed(1)).join(' ms, ')} ms`);
    for (const t of times) expect(t).to.be.below(PROPAGATION_BOUND_MS);
  });

  it('a subject watermark revokes tokens with iat at or before it, not later ones, and fails closed without iat', async function () {
    const checker = await newChecker();
    const sub = uniqueId('user');
    const watermark = 1_700_000_000;
    const older = token(uniqueId('a'), sub, watermark - 10);
    const equal = token(uniqueId('b'), sub, watermark);
    const newer = token(uniqueId('c'), sub, watermark + 1);
    const noIat = token(uniqueId('d'), sub, null);
    expect(await checker.check(older)).to.equal('not_revoked');
    expect(await checker.check(noIat)).to.equal('not_revoked');
    const admin = await openAdminClient(server.url);
    try {
      const started = performance.now();
      await revokeSubject(admin, PREFIX, sub, watermark, 60);
      const elapsed = await propagation(checker, older, started);
      console.log(`      propagation (subject watermark): ${elapsed.toFixed(1)} ms`);
    } finally {
      admin.disconnect();
    }
    expect(await checker.check(equal)).to.equal('revoked');
    expect(await checker.check(noIat)).to.equal('revoked');
    expect(await checker.check(newer)).to.equal('not_revoked');
    expect(await checker.check(token(uniqueId('e'), uniqueId('other'), watermark - 10))).to.equal('not_revoked');
  });

  it('an expiring revocation stops applying once its key expires', async function () {
    const checker = await newChecker();
    const jti = uniqueId('expiring');
    await writer.set(`${PREFIX}${jti}`, '1', 'EX', 1);
    expect(await checker.check(token(jti))).to.equal('revoked');
    const elapsed = await pollUntil('expiry visible', async () => (await checker.check(token(jti))) === 'not_revoked', 3000, 20);
    console.log(`      revoked -> not_revoked after EX 1 in ${elapsed.toFixed(0)} ms`);
  });

  it('steady state: repeated checks of the same token send zero Redis commands', async function () {
    const registry = new Registry();
    const checker = await newChecker(registry);
    const query = token(uniqueId('steady'), uniqueId('sub'), 1_700_000_000);
    expect(await checker.check(query)).to.equal('not_revoked');
    const revokedQuery = token(uniqueId('steady-revoked'));
    await writer.set(`${PREFIX}${revokedQuery.jti ?? ''}`, '1', 'EX', 60);
    expect(await checker.check(revokedQuery)).to.equal('revoked');
    // Warm-up ends with a round that needed no Redis command: the keyspace event of the SET above may
    // arrive after the first read and drop that entry once.
    await pollUntil(
      'warm-up',
      async () => {
        const before = await counterTotal(registry, REDIS_COMMANDS_METRIC);
        await checker.check(query);
        await checker.check(revokedQuery);
        return (await counterTotal(registry, REDIS_COMMANDS_METRIC)) === before;
      },
      1000,
    );
    const commandsBefore = await counterTotal(registry, REDIS_COMMANDS_METRIC);
    const statsBefore = parseCommandStats(await writer.info('commandstats'));
    const n = 2000;
    for (let i = 0; i < n; i += 1) {
      expect(await checker.check(query)).to.equal('not_revoked');
      expect(await checker.check(revokedQuery)).to.equal('revoked');
    }
    const commands = (await counterTotal(registry, REDIS_COMMANDS_METRIC)) - commandsBefore;
    const statsAfter = parseCommandStats(await writer.info('commandstats'));
    const serverReads = ['get', 'pttl', 'mget'].reduce(
      (sum, name) => sum + (statsAfter.get(name) ?? 0) - (statsBefore.get(name) ?? 0),
      0,
    );
    console.log(`      Redis commands per steady-state request: ${commands / (2 * n)} (metric), server-side GET/PTTL: ${serverReads}`);
    expect(commands).to.equal(0);
    expect(serverReads).to.equal(0);
    expect(await counterTotal(registry, 'jwt_revocation_lookups_total', { source: 'local' })).to.be.at.least(2 * n);
  });

  it('concurrent lookups of the same token share one Redis round trip (single-flight)', async function () {
    const registry = new Registry();
    const checker = await newChecker(registry);
    const query = token(uniqueId('flight'), uniqueId('sub'), 1);
    const statsBefore = parseCommandStats(await writer.info('commandstats'));
    const answers = await Promise.all(Array.from({ length: 50 }, () => checker.check(query)));
    const statsAfter = parseCommandStats(await writer.info('commandstats'));
    expect(answers.every((a) => a === 'not_revoked')).to.equal(true);
    // One pipeline: GET + PTTL for the jti key and for the subject key.
    expect(await counterTotal(registry, REDIS_COMMANDS_METRIC)).to.equal(4);
    expect((statsAfter.get('get') ?? 0) - (statsBefore.get('get') ?? 0)).to.equal(2);
    expect(await counterTotal(registry, 'jwt_revocation_lookups_total', { source: 'redis' })).to.equal(50);
  });

  it('an unrevoke (DEL) is pushed too: a cached revoked answer is dropped', async function () {
    const checker = await newChecker();
    const jti = uniqueId('unrevoke');
    await writer.set(`${PREFIX}${jti}`, '1', 'EX', 600);
    expect(await checker.check(token(jti))).to.equal('revoked');
    await writer.del(`${PREFIX}${jti}`);
    await pollUntil('unrevoke visible', async () => (await checker.check(token(jti))) === 'not_revoked', PROPAGATION_BOUND_MS, 2);
  });

  it('merges the keyspace-notification flags it needs into the ones already set', async function () {
    await writer.config('SET', 'notify-keyspace-events', 'El');
    const checker = new RedisRevocationChecker(redisSettings(server.url), silentLogger(), new Registry());
    checkers.push(checker);
    expect(await checker.whenPushSubscribed()).to.equal('keyspace');
    const [, flags] = (await writer.config('GET', 'notify-keyspace-events')) as [string, string];
    for (const flag of ['E', 'l', 'K', 'g', '$', 'x', 'e']) expect(flags).to.include(flag);
  });
});

describe('revocation when CONFIG is disabled (no keyspace notifications)', function () {
  let server: RedisServerHandle;
  let writer: Redis;
  let checker: RedisRevocationChecker | undefined;

  before(async function () {
    server = await startRedisServer({ extraArgs: ['--rename-command', 'CONFIG', ''] });
    writer = new Redis(server.url);
  });

  afterEach(async function () {
    await checker?.close();
  });

  after(async function () {
    writer.disconnect();
    await server?.stop();
  });

  it('falls back to the invalidation channel: admin revocations still propagate at once', async function () {
    checker = new RedisRevocationChecker(redisSettings(server.url), silentLogger(), new Registry());
    expect(await checker.whenPushSubscribed()).to.equal('channel');
    const jti = uniqueId('fallback-admin');
    expect(await checker.check(token(jti))).to.equal('not_revoked');
    const admin = await openAdminClient(server.url);
    try {
      const started = performance.now();
      await revokeJti(admin, PREFIX, jti, 60);
      await pollUntil('admin revocation visible', async () => (await checker?.check(token(jti))) === 'revoked', 300, 2);
      console.log(`      propagation without keyspace events (admin): ${(performance.now() - started).toFixed(1)} ms`);
    } finally {
      admin.disconnect();
    }
  });

  it('a plain SET still takes effect within 1 s although cache_ttl_ms is 60 s (negative answers capped)', async function () {
    checker = new RedisRevocationChecker(redisSettings(server.url), silentLogger(), new Registry());
    expect(await checker.whenPushSubscribed()).to.equal('channel');
    const jti = uniqueId('fallback-plain');
    expect(await checker.check(token(jti))).to.equal('not_revoked');
    const started = performance.now();
    await writer.set(`${PREFIX}${jti}`, '1', 'EX', 60);
    await pollUntil('plain SET visible', async () => (await checker?.check(token(jti))) === 'revoked', PROPAGATION_BOUND_MS + 100, 10);
    console.log(`      propagation without keyspace events (plain SET): ${(performance.now() - started).toFixed(1)} ms`);
  });
});
