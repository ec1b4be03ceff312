import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { runCli } from '../support/cli-process.js';
import { freeLoopbackPort, startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

const SECRET = new TextEncoder().encode('cli-revocation-test-secret-0123456789abcdef');

async function tokenWith(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(SECRET);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

describe('CLI revoke / unrevoke / revocations (real redis-server)', function () {
  // Each case spawns the CLI; on a busy machine a Node start-up takes seconds.
  this.timeout(60_000);
  let redis: RedisServerHandle;
  let client: Redis;
  let dir: string;

  before(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    dir = await mkdtemp(join(tmpdir(), 'cli-revocation-'));
  });

  after(async () => {
    client.disconnect();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await client.flushdb();
  });

  const cli = (...args: string[]) => runCli([...args, '--redis-url', redis.url]);

  it('revoke --jti --ttl writes <prefix><jti> with that TTL', async () => {
    const result = await cli('revoke', '--jti', 'token-1', '--ttl', '120');
    expect(result.stderr).to.equal('');
    expect(result.code).to.equal(0);
    expect(result.stdout).to.contain('revoked jti "token-1" for 120 s');
    expect(await client.get('jwt:revoked:token-1')).to.equal('1');
    expect(await client.ttl('jwt:revoked:token-1')).to.be.within(110, 120);
  });

  it('revoke --jti --exp keeps the entry until exp; without either it uses the one-day default', async () => {
    const exp = nowSeconds() + 600;
    expect((await cli('revoke', '--jti', 'with-exp', '--exp', String(exp))).code).to.equal(0);
    expect(await client.ttl('jwt:revoked:with-exp')).to.be.within(590, 600);

    const defaulted = await cli('revoke', '--jti', 'no-lifetime');
    expect(defaulted.code).to.equal(0);
    expect(defaulted.stdout).to.contain('default lifetime');
    expect(await client.ttl('jwt:revoked:no-lifetime')).to.be.within(86_390, 86_400);
  });

  it('revoke --token reads jti and exp without verifying and never prints the token', async () => {
    // Signed with a key the CLI never sees: it must not need to verify.
    const token = await tokenWith({ jti: 'from-token', sub: 'alice', exp: nowSeconds() + 900 });
    const result = await cli('revoke', '--token', token);
    expect(result.code).to.equal(0);
    expect(await client.get('jwt:revoked:from-token')).to.equal('1');
    expect(await client.ttl('jwt:revoked:from-token')).to.be.within(880, 901);
    expect(result.stdout + result.stderr).not.to.contain(token.split('.')[2]!);
  });

  it('revoke --sub --before writes the subject watermark with its TTL', async () => {
    const result = await cli('revoke', '--sub', 'alice', '--before', '1700000000', '--ttl', '300');
    expect(result.code).to.equal(0);
    expect(await client.get('jwt:revoked:sub:alice')).to.equal('1700000000');
    expect(await client.ttl('jwt:revoked:sub:alice')).to.be.within(290, 300);

    const before = nowSeconds();
    expect((await cli('revoke', '--sub', 'bob')).code).to.equal(0);
    expect(Number(await client.get('jwt:revoked:sub:bob'))).to.be.within(before, nowSeconds());
  });

  it('unrevoke removes a jti or subject revocation and says when there was none', async () => {
    await client.set('jwt:revoked:gone', '1', 'EX', 100);
    await client.set('jwt:revoked:sub:carol', '1700000000', 'EX', 100);
    const jti = await cli('unrevoke', '--jti', 'gone');
    expect(jti.code).to.equal(0);
    expect(jti.stdout).to.contain('removed the revocation of jti "gone"');
    expect(await client.exists('jwt:revoked:gone')).to.equal(0);

    expect((await cli('unrevoke', '--sub', 'carol')).code).to.equal(0);
    expect(await client.exists('jwt:revoked:sub:carol')).to.equal(0);

    const again = await cli('unrevoke', '--jti', 'gone');
    expect(again.code).to.equal(0);
    expect(again.stdout).to.contain('was not revoked');
  });

  it('revocations lists every entry with its remaining TTL, as a table and as JSON', async () => {
    await client.set('jwt:revoked:j-1', '1', 'EX', 500);
    // Written by hand the way the docs allow, with no expiry at all.
    await client.set('jwt:revoked:j-2', 'anything');
    await client.set('jwt:revoked:sub:dave', '1700000000', 'EX', 200);
    await client.set('unrelated:key', '1');

    const table = await cli('revocations');
    expect(table.code).to.equal(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^KIND\s+ID\s+VALUE\s+TTL$/);
    expect(lines).to.have.length(4);
    expect(lines[1]).to.match(/^jti\s+j-1\s+1\s+(49\d|500)s$/);
    expect(lines[2]).to.match(/^jti\s+j-2\s+anything\s+never expires$/);
    expect(lines[3]).to.match(/^sub\s+dave\s+issued at or before 2023-11-14T22:13:20Z\s+(19\d|200)s$/);

    const json = await cli('revocations', '--json');
    const rows = JSON.parse(json.stdout) as Array<{ kind: string; id: string; value: string; ttl_seconds: number | null }>;
    expect(rows.map((r) => [r.kind, r.id, r.value])).to.deep.equal([
      ['jti', 'j-1', '1'],
      ['jti', 'j-2', 'anything'],
      ['sub', 'dave', '1700000000'],
    ]);
    expect(rows[0]!.ttl_seconds).to.be.within(490, 500);
    expect(rows[1]!.ttl_seconds).to.equal(null);
  });

  it('takes the URL and prefix from the runner config, REDIS_URL over the config, --redis-url over REDIS_URL', async () => {
    const deadPort = await freeLoopbackPort();
    const config = join(dir, 'runner.yaml');
    await writeFile(config, `redis:\n  url: redis://127.0.0.1:${redis.port}/0\n  key_prefix: "ops:rev:"\n`);

    expect((await runCli(['revoke', '--jti', 'cfg', '--ttl', '60', '--config', config])).code).to.equal(0);
    expect(await client.exists('ops:rev:cfg')).to.equal(1);

    const viaEnv = await runCli(['revoke', '--jti', 'env', '--ttl', '60'], { env: { REDIS_URL: redis.url } });
    expect(viaEnv.code).to.equal(0);
    expect(await client.exists('jwt:revoked:env')).to.equal(1);

    const flagWins = await runCli(['revoke', '--jti', 'flag', '--ttl', '60', '--redis-url', redis.url, '--prefix', 'p:'], {
      env: { REDIS_URL: `redis://127.0.0.1:${deadPort}` },
    });
    expect(flagWins.code).to.equal(0);
    expect(await client.exists('p:flag')).to.equal(1);
  });

  describe('errors', () => {
    it('a malformed Redis URL is a usage error (exit 2) that does not echo the password', async () => {
      const result = await runCli(['revoke', '--jti', 'x', '--redis-url', 'redis://ops:hunter2-pass@127.0.0.1:notaport']);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain('ERR_CLI_USAGE').and.to.contain('bad Redis URL');
      expect(result.stderr).not.to.contain('hunter2-pass');
    });

    it('an unreachable Redis fails fast (exit 1) and names host:port', async () => {
      const port = await freeLoopbackPort();
      const started = Date.now();
      const result = await runCli(['revoke', '--jti', 'x', '--redis-url', `redis://127.0.0.1:${port}`]);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.contain('ERR_REVOCATION_STORE_UNAVAILABLE').and.to.contain(`127.0.0.1:${port}`);
      // The admin client's 3 s connect timeout plus Node start-up; never a retry loop.
      expect(Date.now() - started).to.be.below(12_000);
    });

    it('a token without jti is refused with a hint to revoke the subject (exit 2)', async () => {
      const token = await tokenWith({ sub: 'alice', exp: nowSeconds() + 900 });
      const result = await cli('revoke', '--token', token);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain('no jti claim').and.to.contain('--sub');
      expect(await client.dbsize()).to.equal(0);
    });

    it('a TTL that is not a positive integer is a usage error (exit 2)', async () => {
      const ttls = ['0', '-5', '1.5', 'soon'];
      const results = await Promise.all(ttls.map((ttl) => cli('revoke', '--jti', 'x', '--ttl', ttl)));
      results.forEach((result, i) => {
        expect(result.code, `--ttl ${ttls[i]}`).to.equal(2);
        expect(result.stderr).to.contain('--ttl must be a positive integer');
      });
      expect(await client.dbsize()).to.equal(0);
    });

    it('conflicting or missing flags are usage errors (exit 2) and write nothing', async () => {
      const token = await tokenWith({ jti: 'j', exp: nowSeconds() + 900 });
      const cases: Array<[string[], string]> = [
        [['revoke', '--jti', 'a', '--sub', 'b'], '--jti and --sub cannot be combined'],
        [['revoke', '--jti', 'a', '--ttl', '5', '--exp', String(nowSeconds() + 60)], '--ttl and --exp cannot be combined'],
        [['revoke', '--token', token, '--ttl', '5'], '--token takes'],
        [['revoke', '--jti', 'a', '--before', '1700000000'], '--before goes with --sub only'],
        [['revoke'], 'give one of --jti, --token, --sub'],
        [['unrevoke', '--jti', 'a', '--sub', 'b'], '--jti and --sub cannot be combined'],
        [['revoke', '--jti', 'a', '--exp', '1000'], 'is in the past'],
      ];
      const results = await Promise.all(cases.map(([args]) => cli(...args)));
      results.forEach((result, i) => {
        const [args, message] = cases[i]!;
        expect(result.code, args.join(' ')).to.equal(2);
        expect(result.stderr, args.join(' ')).to.contain(message);
      });
      const unknown = await cli('revoke', '--jti', 'a', '--frobnicate');
      expect(unknown.code).to.equal(2);
      expect(await client.dbsize()).to.equal(0);
    });

    it('no Redis anywhere (no flag, no REDIS_URL, config without redis) is a usage error naming the ways to give one', async () => {
      const config = join(dir, 'no-redis.yaml');
      await writeFile(config, 'redis: null\n');
      const result = await runCli(['revocations', '--config', config]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain('no Redis URL').and.to.contain('--redis-url').and.to.contain('REDIS_URL');
    });
  });
});
