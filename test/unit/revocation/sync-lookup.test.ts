import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { RedisRevocationChecker } from '../../../plugins/jwt-auth/revocation/checker.js';
import type { AbortSource, RevocationQuery, RevocationStatus } from '../../../plugins/jwt-auth/revocation/index.js';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server.js';
import {
  PREFIX,
  PROPAGATION_BOUND_MS,
  counterTotal,
  parseCommandStats,
  redisSettings,
  silentLogger,
  uniqueId,
} from '../../integration/revocation/helpers.js';

/** An abort source that records whether the checker started watching for the call's abort. */
function abortSource(): AbortSource & { watches: number; watching: number } {
  return {
    watches: 0,
    watching: 0,
    onAbort(): () => void {
      this.watches += 1;
      this.watching += 1;
      return () => {
        this.watching -= 1;
      };
    },
  };
}

function query(jti: string, sub: string): RevocationQuery {
  return { jti, sub, iat: 1_700_000_000, exp: null };
}

async function gets(writer: Redis): Promise<number> {
  return parseCommandStats(await writer.info('commandstats')).get('get') ?? 0;
}

describe('revocation lookups answered locally are synchronous', function () {
  let server: RedisServerHandle;
  let writer: Redis;
  const checkers: RedisRevocationChecker[] = [];

  async function newChecker(cacheTtlMs: number, registry = new Registry()): Promise<RedisRevocationChecker> {
    const checker = new RedisRevocationChecker(redisSettings(server.url, { cache_ttl_ms: cacheTtlMs }), silentLogger(), registry);
    checkers.push(checker);
    expect(await checker.whenPushSubscribed()).to.equal('keyspace');
    return checker;
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

  it('a warm lookup returns the status itself: no promise, no abort watch, no Redis command', async function () {
    const registry = new Registry();
    const checker = await newChecker(60_000, registry);
    const q = query(uniqueId('sync'), uniqueId('sub'));
    // The view remembers a key from its second read on: two lookups go to Redis.
    for (let i = 0; i < 2; i += 1) {
      const source = abortSource();
      const cold = checker.lookup(q, source);
      expect(cold).to.be.instanceOf(Promise);
      expect(source.watches).to.equal(1);
      expect(await cold).to.equal('not_revoked');
      expect(source.watching, 'stopped watching once Redis answered').to.equal(0);
    }

    const before = await gets(writer);
    for (let i = 0; i < 1000; i += 1) {
      const source = abortSource();
      const answer = checker.lookup(q, source);
      expect(answer).to.equal('not_revoked');
      expect(source.watches).to.equal(0);
    }
    expect(await gets(writer)).to.equal(before);
    // Tallied locally and handed to prom-client when the registry is read.
    expect(await counterTotal(registry, 'jwt_revocation_lookups_total', { source: 'local' })).to.equal(1000);
    expect(await counterTotal(registry, 'jwt_revocation_lookups_total', { source: 'redis' })).to.equal(2);
  });

  it('a revoked jti is answered synchronously without reading the subject key', async function () {
    const checker = await newChecker(60_000);
    const jti = uniqueId('revoked');
    await writer.set(`${PREFIX}${jti}`, '1', 'EX', 60);
    const q = query(jti, uniqueId('sub'));
    // Remembered from the second read on. The keyspace event of the SET above may reach the
    // subscriber after an answer and drop it (an invalidation is always obeyed); one more round
    // trip lets it land first.
    for (let i = 0; i < 3; i += 1) expect(await checker.lookup(q, abortSource())).to.equal('revoked');
    expect(checker.lookup({ ...q, sub: uniqueId('other-sub') }, abortSource())).to.equal('revoked');
  });

  it('a revocation written after warm-up still reaches synchronous lookups within 1 s', async function () {
    const checker = await newChecker(60_000);
    const q = query(uniqueId('late'), uniqueId('sub'));
    for (let i = 0; i < 2; i += 1) expect(await checker.lookup(q, abortSource())).to.equal('not_revoked');
    expect(checker.lookup(q, abortSource())).to.equal('not_revoked');
    const since = performance.now();
    await writer.set(`${PREFIX}${q.jti ?? ''}`, '1', 'EX', 60);
    let status: RevocationStatus = 'not_revoked';
    while (status !== 'revoked' && performance.now() - since < PROPAGATION_BOUND_MS) {
      status = await checker.lookup(q, abortSource());
      if (status !== 'revoked') await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(status).to.equal('revoked');
  });

  it('answers about to lapse are refreshed in the background, so a busy key never makes a lookup wait', async function () {
    this.timeout(10_000);
    // cache_ttl_ms 400: refreshed when used in the last 100 ms of its trust window.
    const checker = await newChecker(400);
    const q = query(uniqueId('busy'), uniqueId('sub'));
    for (let i = 0; i < 2; i += 1) expect(await checker.lookup(q, abortSource())).to.equal('not_revoked');
    const before = await gets(writer);
    const started = performance.now();
    let waited = 0;
    let answered = 0;
    let last = performance.now();
    // Three trust windows of steady use, one lookup every few milliseconds. A lookup after
    // a pause longer than the refresh window (a busy machine) may rightly have to wait.
    while (performance.now() - started < 1200) {
      const answer = checker.lookup(q, abortSource());
      const gapMs = performance.now() - last;
      if (answer instanceof Promise) {
        if (gapMs < 60) waited += 1;
        await answer;
      }
      answered += 1;
      // Lookups faster than a refresh round trip (a burst of requests) share the one refresh.
      for (let i = 0; i < 19; i++) {
        const again = checker.lookup(q, abortSource());
        if (again instanceof Promise) await again;
      }
      last = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    expect(answered).to.be.greaterThan(50);
    expect(waited).to.equal(0);
    // Both keys were re-read at least twice (each window), yet never on a request's path; and once per
    // window, not once per lookup in the refresh-ahead window (hundreds of them).
    const reads = (await gets(writer)) - before;
    expect(reads).to.be.at.least(4);
    expect(reads).to.be.at.most(24);
  });
});
