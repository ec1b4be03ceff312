/**
 * The Prometheus endpoint (off by default, loopback): after real calls through
 * the built runner it reports decisions by outcome and reason, verification
 * latency, token-cache hits, revocation lookups, connections and calls.
 */
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { LeakLedger, RouteCaller, liveToken } from '../support/jwt-e2e-kit.js';
import { RunnerProcess } from '../support/runner-process.js';

const SECRET = randomBytes(32).toString('base64url');
const CONF = { algorithms: ['HS256'], secret: SECRET };

describe('metrics endpoint', () => {
  let redis: RedisServerHandle;
  let runner: RunnerProcess;
  let caller: RouteCaller;
  let metricsUrl: string;

  before(async () => {
    redis = await startRedisServer();
    runner = await RunnerProcess.start({
      configYaml: ['log:', '  level: info', 'metrics:', '  enabled: true', '  port: 0', 'redis:', `  url: ${redis.url}`, ''].join('\n'),
    });
    const line = await runner.waitForLine((l) => l.includes('"metrics endpoint listening"'));
    const { host, port } = JSON.parse(line) as { host: string; port: number };
    expect(host).to.equal('127.0.0.1');
    metricsUrl = `http://${host}:${port}/metrics`;
    caller = new RouteCaller(runner.socketPath, new LeakLedger());
  });

  after(async () => {
    caller.close();
    await runner.cleanup();
    await redis.stop();
  });

  it('is off unless enabled: a default runner logs no metrics endpoint', async () => {
    const quiet = await RunnerProcess.start({});
    try {
      expect(quiet.lines.some((l) => l.includes('metrics endpoint listening'))).to.equal(false);
    } finally {
      await quiet.cleanup();
    }
  });

  it('reports decisions, verification, cache hits, revocation lookups, connections and calls', async () => {
    const token = liveToken('HS256', Buffer.from(SECRET), { jti: randomUUID() });
    // Four calls: the cache stores a token from its second verification on, so the last two are hits.
    for (let i = 0; i < 4; i++) {
      expect((await caller.call(CONF, { headers: [['authorization', `Bearer ${token}`]] })).kind).to.equal('pass');
    }
    const bad = await caller.call(CONF, { headers: [['authorization', `Bearer ${token.slice(0, -4)}AAAA`]] });
    expect(bad.status).to.equal(401);
    expect((await caller.call(CONF)).status).to.equal(401);

    const response = await fetch(metricsUrl);
    expect(response.status).to.equal(200);
    const text = await response.text();
    const value = (pattern: RegExp): number => {
      const match = pattern.exec(text);
      if (match === null) throw new Error(`no sample matches ${pattern}:\n${text}`);
      return Number(match[1]);
    };
    expect(value(/^jwt_auth_decisions_total\{[^}]*outcome="allow"[^}]*\} (\d+)/m)).to.equal(4);
    expect(value(/^jwt_auth_decisions_total\{[^}]*outcome="deny"[^}]*reason="no_token"[^}]*\} (\d+)/m)).to.equal(1);
    expect(value(/^jwt_auth_token_cache_hits_total (\d+)/m)).to.be.at.least(2);
    expect(value(/^jwt_auth_verify_seconds_count (\d+)/m)).to.be.at.least(3);
    expect(value(/^jwt_revocation_lookups_total\{[^}]*result="not_revoked"[^}]*\} (\d+)/m)).to.be.at.least(1);
    expect(text).to.match(/^jwt_revocation_store_errors_total \d+/m);
    expect(value(/^runner_calls_total\{kind="req",result="ok"\} (\d+)/m)).to.equal(6);
    expect(value(/^runner_open_connections (\d+)/m)).to.be.at.least(1);
    expect(text).to.match(/^runner_calls_in_flight 0/m);
    expect(text).to.match(/^runner_call_duration_seconds_bucket/m);
  });

  it('answers 404 outside /metrics', async () => {
    const response = await fetch(metricsUrl.replace('/metrics', '/other'));
    expect(response.status).to.equal(404);
  });
});
