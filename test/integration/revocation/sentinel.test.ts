/**
 * Sentinel mode against real processes: a redis-server master and a redis-server
 * in sentinel mode watching it. The checker finds the master through the sentinel
 * and honours revocations written to that master.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { RedisRevocationChecker } from '../../../plugins/jwt-auth/revocation/checker.js';
import { freeLoopbackPort, startRedisServer, type RedisServerHandle } from '../../support/redis-server.js';
import { PREFIX, PROPAGATION_BOUND_MS, pollUntil, redisSettings, silentLogger, uniqueId } from './helpers.js';

const MASTER_NAME = 'jwt-master';

/** Start `redis-server CONF --sentinel`; resolves once it monitors the master. */
async function startSentinel(dir: string, masterPort: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freeLoopbackPort();
  const conf = join(dir, 'sentinel.conf');
  await writeFile(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 1\n`);
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sentinel not monitoring within 10 s:\n${output}`)), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes(`+monitor master ${MASTER_NAME}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sentinel exited (code ${code}):\n${output}`));
    });
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return { port, child };
}

describe('revocation checker through Redis Sentinel', () => {
  let master: RedisServerHandle;
  let sentinel: { port: number; child: ChildProcess };
  let dir: string;
  let checker: RedisRevocationChecker;

  before(async () => {
    master = await startRedisServer();
    dir = await mkdtemp(join(tmpdir(), 'jwt-sentinel-'));
    sentinel = await startSentinel(dir, master.port);
    checker = new RedisRevocationChecker(
      redisSettings('', { url: null, sentinel: { name: MASTER_NAME, nodes: [{ host: '127.0.0.1', port: sentinel.port }] } }),
      silentLogger(),
      new Registry(),
    );
  });

  after(async () => {
    await checker?.close();
    if (sentinel !== undefined && sentinel.child.exitCode === null) {
      const exited = new Promise((resolve) => sentinel.child.once('exit', resolve));
      sentinel.child.kill('SIGTERM');
      await exited;
    }
    await master?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('finds the master through the sentinel and honours a revocation written to it within one second', async () => {
    const jti = uniqueId('sentinel');
    const query = { jti, sub: 'alice', iat: Math.floor(Date.now() / 1000), exp: null };
    expect(await checker.check(query)).to.equal('not_revoked');
    const admin = new Redis(master.url);
    try {
      await admin.set(`${PREFIX}${jti}`, '1', 'EX', 60);
    } finally {
      admin.disconnect();
    }
    await pollUntil('revocation through sentinel', async () => (await checker.check(query)) === 'revoked', PROPAGATION_BOUND_MS, 5);
  });
});
