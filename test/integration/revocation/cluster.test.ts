/**
 * Cluster mode against real processes: three redis-server nodes in cluster mode,
 * joined with `redis-cli --cluster create`. The checker discovers the cluster from
 * one seed node; a plain SET lands on whichever node owns the key's slot and is
 * honoured within one second (keyspace notifications are per node, so the local
 * view's bounded trust, here 500 ms, is what carries it there).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { Registry } from 'prom-client';
import { RedisRevocationChecker } from '../../../plugins/jwt-auth/revocation/checker.js';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server.js';
import { PREFIX, PROPAGATION_BOUND_MS, pollUntil, redisSettings, silentLogger, uniqueId } from './helpers.js';

const run = promisify(execFile);

describe('revocation checker on a Redis Cluster', () => {
  const nodes: RedisServerHandle[] = [];
  let checker: RedisRevocationChecker;
  let writer: Cluster;

  before(async () => {
    for (let i = 0; i < 3; i++) {
      nodes.push(await startRedisServer({ extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] }));
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    // The cluster is usable once every node reports cluster_state:ok.
    await pollUntil(
      'cluster state ok',
      async () => {
        const states = await Promise.all(nodes.map((n) => run('redis-cli', ['-p', String(n.port), 'cluster', 'info'])));
        return states.every(({ stdout }) => stdout.includes('cluster_state:ok'));
      },
      10_000,
      50,
    );
    const seed = nodes[0]!;
    checker = new RedisRevocationChecker(
      redisSettings('', { url: null, cluster: { nodes: [{ host: '127.0.0.1', port: seed.port }] }, cache_ttl_ms: 500 }),
      silentLogger(),
      new Registry(),
    );
    writer = new Cluster([{ host: '127.0.0.1', port: seed.port }]);
  });

  after(async () => {
    await checker?.close();
    writer?.disconnect();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('discovers the cluster from one seed and honours plain SETs on any node within one second', async () => {
    const jtis = Array.from({ length: 6 }, () => uniqueId('cluster'));
    const iat = Math.floor(Date.now() / 1000);
    for (const jti of jtis) expect(await checker.check({ jti, sub: null, iat, exp: null })).to.equal('not_revoked');
    await Promise.all(jtis.map((jti) => writer.set(`${PREFIX}${jti}`, '1', 'EX', 60)));
    const elapsed = await pollUntil(
      'revocations through the cluster',
      async () => (await Promise.all(jtis.map((jti) => checker.check({ jti, sub: null, iat, exp: null })))).every((s) => s === 'revoked'),
      PROPAGATION_BOUND_MS,
      10,
    );
    expect(elapsed).to.be.below(PROPAGATION_BOUND_MS);
  });
});
