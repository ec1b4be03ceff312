import { inspect } from 'node:util';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { ErrorCode, isRunnerError } from '../../../runner/errors.js';
import { RedisRevocationChecker } from '../../../plugins/jwt-auth/revocation/checker.js';
import { createRevocationChecker } from '../../../plugins/jwt-auth/revocation/index.js';
import type { RevocationQuery } from '../../../plugins/jwt-auth/revocation/index.js';
import { STORE_ERRORS_METRIC } from '../../../plugins/jwt-auth/revocation/metrics.js';
import { startRedisServer } from '../../support/redis-server.js';
import type { RedisServerHandle } from '../../support/redis-server.js';
import { FakeRequest } from '../../support/fake-request.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';
import type { TcpProxy } from '../../support/tcp-proxy.js';
import { PREFIX, capturingLogger, counterTotal, pollUntil, redisSettings, silentLogger, uniqueId } from './helpers.js';

const COMMAND_TIMEOUT_MS = 300;
/** Slack over the command timeout for timers and the event loop. */
const MARGIN_MS = 150;

function token(jti: string): RevocationQuery {
  return { jti, sub: null, iat: null, exp: null };
}

/** Run `check` and return how it ended and how long it took. */
async function timedCheck(
  checker: { check(q: RevocationQuery, signal?: AbortSignal): Promise<string> },
  query: RevocationQuery,
  signal?: AbortSignal,
): Promise<{ ms: number; result: string | null; error: unknown }> {
  const started = performance.now();
  try {
    const result = await checker.check(query, signal);
    return { ms: performance.now() - started, result, error: null };
  } catch (error) {
    return { ms: performance.now() - started, result: null, error };
  }
}

function expectUnavailable(outcome: { ms: number; error: unknown }): void {
  expect(isRunnerError(outcome.error, ErrorCode.REVOCATION_STORE_UNAVAILABLE), String(outcome.error)).to.equal(true);
  if (isRunnerError(outcome.error)) expect(outcome.error.cause).to.not.equal(undefined);
  expect(outcome.ms).to.be.below(COMMAND_TIMEOUT_MS + MARGIN_MS);
}

describe('revocation when Redis fails', function () {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async function () {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function server(options: Parameters<typeof startRedisServer>[0] = {}): Promise<RedisServerHandle> {
    const handle = await startRedisServer(options);
    cleanups.push(() => handle.stop());
    return handle;
  }

  function checkerFor(url: string, registry = new Registry()): RedisRevocationChecker {
    const checker = new RedisRevocationChecker(
      redisSettings(url, { command_timeout_ms: COMMAND_TIMEOUT_MS }),
      silentLogger(),
      registry,
    );
    cleanups.push(() => checker.close());
    return checker;
  }

  /** A checker reaching a fresh redis-server through a proxy the test can stall, push subscribed. */
  async function checkerBehindProxy(): Promise<{ checker: RedisRevocationChecker; proxy: TcpProxy }> {
    const redis = await server();
    const proxy = await startTcpProxy(redis.port);
    cleanups.push(() => proxy.close());
    const checker = checkerFor(`redis://127.0.0.1:${proxy.port}`);
    await checker.whenPushSubscribed();
    return { checker, proxy };
  }

  it('Redis killed mid-traffic: lookups fail with ERR_REVOCATION_STORE_UNAVAILABLE within the timeout, never hang', async function () {
    const redis = await server();
    const registry = new Registry();
    const checker = checkerFor(redis.url, registry);
    await checker.whenPushSubscribed();
    // Traffic: a stream of fresh tokens (cache misses) running while the server dies.
    let stop = false;
    const outcomes: Array<{ ms: number; result: string | null; error: unknown }> = [];
    const traffic = (async () => {
      while (!stop) {
        outcomes.push(await timedCheck(checker, token(uniqueId('traffic'))));
        // Requests arrive from sockets; a failing lookup settles in microtasks, so let the loop turn.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await pollUntil('traffic flowing', async () => outcomes.length >= 20, 2000);
    await redis.kill();
    const countAtKill = outcomes.length;
    await pollUntil('errors after the kill', async () => outcomes.slice(countAtKill).filter((o) => o.error !== null).length >= 20, 3000);
    stop = true;
    await traffic;
    for (const outcome of outcomes) {
      if (outcome.error !== null) expectUnavailable(outcome);
      else expect(outcome.ms).to.be.below(COMMAND_TIMEOUT_MS + MARGIN_MS);
    }
    expect(await counterTotal(registry, STORE_ERRORS_METRIC)).to.be.at.least(20);
    expect(await counterTotal(registry, 'jwt_revocation_lookups_total', { result: 'error' })).to.be.at.least(20);
  });

  it('Redis restarted: lookups and push invalidation resume without recreating the checker', async function () {
    const redis = await server();
    const checker = checkerFor(redis.url);
    await checker.whenPushSubscribed();
    expect(await checker.check(token(uniqueId('before')))).to.equal('not_revoked');
    await redis.kill();
    expectUnavailable(await timedCheck(checker, token(uniqueId('down'))));
    await redis.restart();
    const recovery = await pollUntil(
      'lookups after restart',
      async () => (await timedCheck(checker, token(uniqueId('after')))).error === null,
      8000,
      50,
    );
    console.log(`      lookups resumed ${recovery.toFixed(0)} ms after redis-server was ready again`);
    expect(await checker.whenPushSubscribed()).to.equal('keyspace');
    const jti = uniqueId('after-restart');
    expect(await checker.check(token(jti))).to.equal('not_revoked');
    const writer = new Redis(redis.url);
    cleanups.push(async () => writer.disconnect());
    await writer.set(`${PREFIX}${jti}`, '1', 'EX', 60);
    await pollUntil('revocation after restart', async () => (await checker.check(token(jti))) === 'revoked', 1000, 2);
  });

  it('slow Redis (stalled network): the lookup times out within the bound, and recovers when it flows again', async function () {
    const { checker, proxy } = await checkerBehindProxy();
    expect(await checker.check(token(uniqueId('warm')))).to.equal('not_revoked');
    proxy.stall();
    const outcome = await timedCheck(checker, token(uniqueId('stalled')));
    expectUnavailable(outcome);
    expect(outcome.ms).to.be.at.least(COMMAND_TIMEOUT_MS - 5);
    proxy.resume();
    await pollUntil('lookups after the stall', async () => (await timedCheck(checker, token(uniqueId('resumed')))).error === null, 3000, 20);
  });

  it('wrong password: ERR_REVOCATION_STORE_UNAVAILABLE, and the password never reaches the log', async function () {
    const password = 'correct-horse-battery';
    const redis = await server({ password });
    const wrong = `redis://:wrong-secret-value@127.0.0.1:${redis.port}`;
    const { logger, lines } = capturingLogger();
    const checker = createRevocationChecker(redisSettings(wrong, { command_timeout_ms: COMMAND_TIMEOUT_MS }), logger, new Registry());
    cleanups.push(() => checker.close());
    const outcome = await timedCheck(checker, token(uniqueId('auth')));
    expectUnavailable(outcome);
    // A second lookup after the failed handshake fails just as fast.
    expectUnavailable(await timedCheck(checker, token(uniqueId('auth2'))));
    expect(inspect(outcome.error, { depth: 10 })).to.not.include('wrong-secret-value');
    const log = lines.join('');
    expect(log).to.include('redis://***@127.0.0.1');
    expect(log).to.not.include('wrong-secret-value');
    // And the right password works.
    const good = checkerFor(redis.url);
    expect(await good.check(token(uniqueId('auth-ok')))).to.equal('not_revoked');
  });

  it('a reconnect of the subscriber drops cached not_revoked answers (events may have been missed)', async function () {
    const redis = await server();
    const proxy = await startTcpProxy(redis.port);
    cleanups.push(() => proxy.close());
    // A frozen clock: no cached answer ever ages out, so only the resync can drop it.
    const checker = new RedisRevocationChecker(
      redisSettings(`redis://127.0.0.1:${proxy.port}`, { command_timeout_ms: COMMAND_TIMEOUT_MS }),
      silentLogger(),
      new Registry(),
      { now: () => 1 },
    );
    cleanups.push(() => checker.close());
    expect(await checker.whenPushSubscribed()).to.equal('keyspace');
    const jti = uniqueId('missed');
    expect(await checker.check(token(jti))).to.equal('not_revoked');
    // The event for this write is held by the stalled proxy and then lost with the connection.
    proxy.stall();
    const writer = new Redis(redis.url);
    cleanups.push(async () => writer.disconnect());
    await writer.set(`${PREFIX}${jti}`, '1', 'EX', 60);
    proxy.closeAll();
    proxy.resume();
    await pollUntil('subscriber down', async () => checker.pushMode === 'down', 2000, 2);
    expect(await checker.whenPushSubscribed()).to.equal('keyspace');
    // Push is live again and the clock stands still: only the resync can make this answer right. (The
    // lookup connection was dropped too and may still be reconnecting: wait for the first answer.)
    let answer: string | null = null;
    await pollUntil(
      'an answer after the reconnect',
      async () => {
        answer = (await timedCheck(checker, token(jti))).result;
        return answer !== null;
      },
      3000,
      10,
    );
    expect(answer).to.equal('revoked');
  });

  it('an aborted call stops waiting at once', async function () {
    const { checker, proxy } = await checkerBehindProxy();
    expect(await checker.check(token(uniqueId('warm')))).to.equal('not_revoked');
    proxy.stall();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('call deadline')), 20);
    const outcome = await timedCheck(checker, token(uniqueId('aborted')), controller.signal);
    expect(isRunnerError(outcome.error, ErrorCode.REVOCATION_STORE_UNAVAILABLE)).to.equal(true);
    expect(outcome.ms).to.be.below(COMMAND_TIMEOUT_MS / 2);
    proxy.resume();
  });

  it('a lookup waiting for Redis stops at once when its call is aborted', async function () {
    const { checker, proxy } = await checkerBehindProxy();
    const call = new FakeRequest();
    expect(await checker.lookup(token(uniqueId('warm')), call)).to.equal('not_revoked');
    proxy.stall();
    const started = performance.now();
    const waiting = checker.lookup(token(uniqueId('aborted')), call);
    expect(waiting).to.be.instanceOf(Promise);
    setTimeout(() => call.abort(new Error('call deadline')), 20);
    const error = await Promise.resolve(waiting).then(
      () => null,
      (err: unknown) => err,
    );
    expect(isRunnerError(error, ErrorCode.REVOCATION_STORE_UNAVAILABLE), String(error)).to.equal(true);
    expect(String((error as Error).message)).to.include('the call was aborted');
    expect(performance.now() - started).to.be.below(COMMAND_TIMEOUT_MS / 2);
    expect(call.onAbortCalls).to.equal(2);
    proxy.resume();
  });

  it('nothing listening: the first lookups fail within the timeout; close() is idempotent and check() then throws', async function () {
    const redis = await server();
    const url = redis.url;
    await redis.stop();
    const checker = checkerFor(url);
    expectUnavailable(await timedCheck(checker, token(uniqueId('nobody'))));
    expectUnavailable(await timedCheck(checker, token(uniqueId('nobody2'))));
    await checker.close();
    await checker.close();
    const after = await timedCheck(checker, token(uniqueId('closed')));
    expect(isRunnerError(after.error, ErrorCode.REVOCATION_STORE_UNAVAILABLE)).to.equal(true);
  });
});
