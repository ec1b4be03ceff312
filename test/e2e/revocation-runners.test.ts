/**
 * Revocation as operators use it: two runner processes share one real Redis;
 * a jti revoked through our CLI or with a plain SET is rejected by both within a
 * second; Redis dying gives the route's on_store_error policy within the lookup
 * timeout, and a restarted Redis is used again without restarting the runners.
 */
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { runCli } from '../support/cli-process.js';
import { LeakLedger, RouteCaller, liveToken } from '../support/jwt-e2e-kit.js';
import { RunnerProcess } from '../support/runner-process.js';

/** ASCII (base64url) so the route conf JSON carries it unchanged; 32 bytes for HS256. */
const SECRET = randomBytes(32).toString('base64url');
const PROPAGATION_BOUND_MS = 1000;
const COMMAND_TIMEOUT_MS = 200;

const enforce = { algorithms: ['HS256'], secret: SECRET, revocation: { on_store_error: 'deny' } };
const lenient = { ...enforce, revocation: { on_store_error: 'allow' } };

function config(redisUrl: string): string {
  return ['log:', '  level: info', 'redis:', `  url: ${redisUrl}`, `  command_timeout_ms: ${COMMAND_TIMEOUT_MS}`, '  connect_timeout_ms: 300', ''].join('\n');
}

/** Call until the reply has `status` (0 = passes), or give up after `giveUpMs`; returns the time it took. */
async function timeUntilStatus(caller: RouteCaller, conf: unknown, token: string, status: number, giveUpMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const reply = await caller.call(conf, { headers: [['authorization', `Bearer ${token}`]] });
    if (reply.kind !== 'error' && reply.status === status) return Date.now() - started;
    if (Date.now() - started > giveUpMs) throw new Error(`still ${reply.kind} ${reply.kind === 'stop' ? reply.status : ''} after ${giveUpMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('revocation across two runner processes sharing one Redis', () => {
  let redis: RedisServerHandle;
  let admin: Redis;
  const runners: RunnerProcess[] = [];
  const callers: RouteCaller[] = [];
  const ledger = new LeakLedger();

  before(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    admin.on('error', () => undefined); // this test kills Redis on purpose
    for (let i = 0; i < 2; i++) {
      const runner = await RunnerProcess.start({ configYaml: config(redis.url) });
      runners.push(runner);
      callers.push(new RouteCaller(runner.socketPath, ledger));
    }
  });

  after(async () => {
    callers.forEach((caller) => caller.close());
    admin.disconnect();
    await Promise.all(runners.map((runner) => runner.cleanup()));
    await redis.stop();
  });

  function freshToken(): { token: string; jti: string } {
    const jti = randomUUID();
    return { token: liveToken('HS256', Buffer.from(SECRET), { jti }), jti };
  }

  it('rejects a jti revoked with the CLI on both runners within one second', async () => {
    const { token } = freshToken();
    for (const caller of callers) expect((await caller.call(enforce, { headers: [['authorization', `Bearer ${token}`]] })).kind).to.equal('pass');
    const cli = await runCli(['revoke', '--token', token, '--redis-url', redis.url]);
    expect(cli.code, cli.stderr).to.equal(0);
    const times = await Promise.all(callers.map((caller) => timeUntilStatus(caller, enforce, token, 401, 5000)));
    for (const ms of times) expect(ms).to.be.below(PROPAGATION_BOUND_MS);
  });

  it('rejects a jti revoked with a plain SET on both runners within one second', async () => {
    const { token, jti } = freshToken();
    for (const caller of callers) expect((await caller.call(enforce, { headers: [['authorization', `Bearer ${token}`]] })).kind).to.equal('pass');
    await admin.set(`jwt:revoked:${jti}`, '1', 'EX', 60);
    const times = await Promise.all(callers.map((caller) => timeUntilStatus(caller, enforce, token, 401, 5000)));
    for (const ms of times) expect(ms).to.be.below(PROPAGATION_BOUND_MS);
  });

  it('applies on_store_error when Redis dies, within the lookup timeout, and resumes when it is back', async () => {
    const { token } = freshToken();
    const [caller] = callers;
    await redis.kill();
    // deny: 503 with a JSON body, answered within the command timeout (plus process scheduling slack).
    const started = Date.now();
    await timeUntilStatus(caller!, enforce, token, 503, 5000);
    const denied = await caller!.call(enforce, { headers: [['authorization', `Bearer ${token}`]] });
    expect(denied.kind).to.equal('stop');
    expect(denied.stopJson()).to.include({ error: 'temporarily_unavailable' });
    expect(Date.now() - started).to.be.below(COMMAND_TIMEOUT_MS * 10);
    // allow: the request passes (logged and counted by the runner).
    expect((await caller!.call(lenient, { headers: [['authorization', `Bearer ${token}`]] })).kind).to.equal('pass');

    await redis.restart();
    const revoked = freshToken();
    // Checks resume without restarting the runner: first the token passes again, then a
    // revocation pushed now is honoured again.
    await timeUntilStatus(caller!, enforce, revoked.token, 0, 10_000);
    const fresh = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    fresh.on('error', () => undefined);
    await fresh.set(`jwt:revoked:${revoked.jti}`, '1', 'EX', 60);
    fresh.disconnect();
    await timeUntilStatus(caller!, enforce, revoked.token, 401, 10_000);
    expect(runners.every((runner) => runner.child.exitCode === null)).to.equal(true);
  });

  it('never logged a token or the secret', async () => {
    for (const runner of runners) expect(ledger.leaksIn(runner.lines)).to.deep.equal([]);
    for (const runner of runners) expect(runner.lines.join('\n')).not.to.include(SECRET);
  });
});
