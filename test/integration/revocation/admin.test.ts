import { expect } from 'chai';
import { Redis } from 'ioredis';
import { ErrorCode, isRunnerError } from '../../../runner/errors.js';
import {
  listRevocations,
  openAdminClient,
  parsePositiveInt,
  revokeJti,
  revokeSubject,
  ttlFromToken,
  unrevokeJti,
  unrevokeSubject,
} from '../../../plugins/jwt-auth/revocation/admin.js';
import type { RevocationEntry } from '../../../plugins/jwt-auth/revocation/admin.js';
import { freeLoopbackPort, startRedisServer } from '../../support/redis-server.js';
import type { RedisServerHandle } from '../../support/redis-server.js';
import { PREFIX, uniqueId } from './helpers.js';

function expectCode(fn: () => unknown, code: ErrorCode, pattern: RegExp): void {
  let thrown: unknown = null;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(isRunnerError(thrown, code), String(thrown)).to.equal(true);
  expect(String((thrown as Error).message)).to.match(pattern);
}

async function expectRejects(promise: Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect(isRunnerError(err, code), String(err)).to.equal(true);
    expect((err as Error).message).to.match(pattern);
    return err as Error;
  }
  throw new Error('expected a rejection');
}

function jwt(payload: unknown): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}.c2lnbmF0dXJl`;
}

async function collect(iterable: AsyncIterable<RevocationEntry>): Promise<RevocationEntry[]> {
  const entries: RevocationEntry[] = [];
  for await (const entry of iterable) entries.push(entry);
  return entries;
}

describe('revocation admin operations', function () {
  describe('against a real redis-server', function () {
    let server: RedisServerHandle;
    let admin: Redis;

    before(async function () {
      server = await startRedisServer();
      admin = await openAdminClient(server.url);
    });

    after(async function () {
      admin?.disconnect();
      await server?.stop();
    });

    beforeEach(async function () {
      await admin.flushall();
    });

    it('revokes, lists with remaining TTLs (SCAN) and unrevokes jti and subject entries', async function () {
      const jti = uniqueId('jti');
      const sub = uniqueId('user');
      await revokeJti(admin, PREFIX, jti, 120);
      await revokeSubject(admin, PREFIX, sub, 1_700_000_000, 300);
      await admin.set('unrelated:key', 'x');
      await admin.set(`${PREFIX}manual`, 'yes'); // no TTL: listed with ttlSeconds null
      const entries = await collect(listRevocations(admin, PREFIX));
      const byId = new Map(entries.map((e) => [`${e.kind}:${e.id}`, e]));
      expect(entries).to.have.length(3);
      const jtiEntry = byId.get(`jti:${jti}`);
      expect(jtiEntry?.value).to.equal('1');
      expect(jtiEntry?.ttlSeconds).to.be.within(118, 120);
      const subEntry = byId.get(`sub:${sub}`);
      expect(subEntry?.value).to.equal('1700000000');
      expect(subEntry?.ttlSeconds).to.be.within(298, 300);
      expect(byId.get('jti:manual')?.ttlSeconds).to.equal(null);

      expect(await unrevokeJti(admin, PREFIX, jti)).to.equal(true);
      expect(await unrevokeJti(admin, PREFIX, jti)).to.equal(false);
      expect(await unrevokeSubject(admin, PREFIX, sub)).to.equal(true);
      expect(await unrevokeSubject(admin, PREFIX, sub)).to.equal(false);
      const left = await collect(listRevocations(admin, PREFIX));
      expect(left.map((e) => e.id)).to.deep.equal(['manual']);
    });

    it('lists many entries across SCAN steps, each once, and a prefix with glob characters literally', async function () {
      const prefix = 'weird*[p]?:';
      for (let i = 0; i < 1200; i += 1) await admin.set(`${prefix}id-${i}`, '1', 'EX', 60);
      await admin.set('weirdX[p]?:not-mine', '1', 'EX', 60);
      const entries = await collect(listRevocations(admin, prefix));
      expect(entries).to.have.length(1200);
      expect(new Set(entries.map((e) => e.id)).size).to.equal(1200);
    });

    it('refuses a jti that would collide with subject keys and a TTL that is not a positive integer', async function () {
      await expectRejects(revokeJti(admin, PREFIX, 'sub:alice', 60), ErrorCode.CLI_USAGE, /collides/);
      await expectRejects(revokeJti(admin, PREFIX, 'a', 0), ErrorCode.CLI_USAGE, /positive integer/);
      await expectRejects(revokeJti(admin, PREFIX, 'a', 1.5), ErrorCode.CLI_USAGE, /positive integer/);
      await expectRejects(revokeJti(admin, PREFIX, '', 10), ErrorCode.CLI_USAGE, /must not be empty/);
      await expectRejects(revokeSubject(admin, PREFIX, 'u', -1, 10), ErrorCode.CLI_USAGE, /--before/);
      expect(await admin.dbsize()).to.equal(0);
    });

    it('openAdminClient: a wrong password is a clear store error without the password', async function () {
      const secured = await startRedisServer({ password: 'right-one' });
      try {
        const err = await expectRejects(
          openAdminClient(`redis://:not-the-password@127.0.0.1:${secured.port}`),
          ErrorCode.REVOCATION_STORE_UNAVAILABLE,
          /cannot use Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+\/0: WRONGPASS/,
        );
        expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).to.not.include('not-the-password');
        const ok = await openAdminClient(secured.url);
        expect(await ok.ping()).to.equal('PONG');
        ok.disconnect();
      } finally {
        await secured.stop();
      }
    });
  });

  describe('openAdminClient URL validation', function () {
    it('rejects URLs that are not redis:// or rediss:// with ERR_CLI_USAGE', async function () {
      await expectRejects(openAdminClient('http://x'), ErrorCode.CLI_USAGE, /bad Redis URL: .*redis:\/\/ or rediss:\/\//);
      await expectRejects(openAdminClient('redis://:99999'), ErrorCode.CLI_USAGE, /bad Redis URL/);
      await expectRejects(openAdminClient('not a url'), ErrorCode.CLI_USAGE, /bad Redis URL/);
      await expectRejects(openAdminClient('redis://127.0.0.1:6379/abc'), ErrorCode.CLI_USAGE, /database number/);
      await expectRejects(openAdminClient('redis://127.0.0.1:0'), ErrorCode.CLI_USAGE, /port/);
    });

    it('fails fast with ERR_REVOCATION_STORE_UNAVAILABLE when nothing listens', async function () {
      const port = await freeLoopbackPort();
      const started = performance.now();
      await expectRejects(openAdminClient(`redis://127.0.0.1:${port}`), ErrorCode.REVOCATION_STORE_UNAVAILABLE, /ECONNREFUSED/);
      expect(performance.now() - started).to.be.below(1000);
    });
  });

  describe('ttlFromToken', function () {
    const now = 1_700_000_000;

    it('reads jti and exp without verifying and rounds the remaining lifetime up', function () {
      expect(ttlFromToken(jwt({ jti: 'abc', exp: now + 90, sub: 'u' }), now)).to.deep.equal({ jti: 'abc', exp: now + 90, ttl: 90 });
      expect(ttlFromToken(`  ${jwt({ jti: 'x', exp: now + 0.2 })}\n`, now).ttl).to.equal(1);
    });

    it('gives ERR_CLI_USAGE for a malformed token, a token without jti or exp, and an expired token', function () {
      expectCode(() => ttlFromToken('abc', now), ErrorCode.CLI_USAGE, /not a compact JWT/);
      expectCode(() => ttlFromToken('a.b.c.d.e', now), ErrorCode.CLI_USAGE, /not a compact JWT/);
      expectCode(() => ttlFromToken('a.b$.c', now), ErrorCode.CLI_USAGE, /not a compact JWT/);
      expectCode(() => ttlFromToken('a..c', now), ErrorCode.CLI_USAGE, /not a compact JWT/);
      expectCode(() => ttlFromToken(`a.${Buffer.from('{not json').toString('base64url')}.c`, now), ErrorCode.CLI_USAGE, /not base64url-encoded JSON/);
      expectCode(() => ttlFromToken(jwt([1, 2]), now), ErrorCode.CLI_USAGE, /not a JSON object/);
      expectCode(() => ttlFromToken(jwt({ exp: now + 60 }), now), ErrorCode.CLI_USAGE, /no jti claim/);
      expectCode(() => ttlFromToken(jwt({ jti: '', exp: now + 60 }), now), ErrorCode.CLI_USAGE, /no jti claim/);
      expectCode(() => ttlFromToken(jwt({ jti: 7, exp: now + 60 }), now), ErrorCode.CLI_USAGE, /no jti claim/);
      expectCode(() => ttlFromToken(jwt({ jti: 'a' }), now), ErrorCode.CLI_USAGE, /no numeric exp claim/);
      expectCode(() => ttlFromToken(jwt({ jti: 'a', exp: '123' }), now), ErrorCode.CLI_USAGE, /no numeric exp claim/);
      expectCode(() => ttlFromToken(jwt({ jti: 'a', exp: now }), now), ErrorCode.CLI_USAGE, /already expired/);
      expectCode(() => ttlFromToken(jwt({ jti: 'a', exp: now - 5 }), now), ErrorCode.CLI_USAGE, /already expired/);
    });

    it('never quotes the token in its errors', function () {
      const token = jwt({ jti: 'secret-ish', exp: now - 1 });
      try {
        ttlFromToken(token, now);
        expect.fail('should throw');
      } catch (err) {
        expect((err as Error).message).to.not.include(token.split('.')[1] ?? '');
      }
    });
  });

  describe('parsePositiveInt', function () {
    it('accepts positive integers', function () {
      expect(parsePositiveInt('--ttl', '3600')).to.equal(3600);
      expect(parsePositiveInt('--ttl', ' 1 ')).to.equal(1);
    });

    it('gives ERR_CLI_USAGE naming the flag for anything else', function () {
      for (const text of ['0', '-5', '1.5', '1e3', 'abc', '', ' ', '0x10', '99999999999999999999']) {
        expectCode(() => parsePositiveInt('--ttl', text), ErrorCode.CLI_USAGE, /^--ttl must be a positive integer, got "/);
      }
    });
  });
});
