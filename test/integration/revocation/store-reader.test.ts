import { expect } from 'chai';
import { Redis } from 'ioredis';
import { readKeys } from '../../../plugins/jwt-auth/revocation/store-reader.js';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server.js';
import { PREFIX, uniqueId } from './helpers.js';

/** Counts the socket-level writes a Node stream makes (one `_write` or `_writev` each). */
function countWrites(stream: Redis['stream']): { readonly count: () => number; readonly restore: () => void } {
  let writes = 0;
  const target = stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  const originals = { _write: target._write, _writev: target._writev };
  for (const name of ['_write', '_writev'] as const) {
    const original = originals[name];
    target[name] = function (this: unknown, ...args: unknown[]) {
      writes += 1;
      return original.apply(this, args);
    };
  }
  return {
    count: () => writes,
    restore: () => {
      target._write = originals._write;
      target._writev = originals._writev;
    },
  };
}

describe('revocation store reads', function () {
  let server: RedisServerHandle;
  let client: Redis;

  before(async function () {
    server = await startRedisServer();
    client = new Redis(server.url);
    await client.ping();
  });

  after(async function () {
    client.disconnect();
    await server?.stop();
  });

  it('reads value and remaining TTL of every key in one round trip and one socket write', async function () {
    const revoked = `${PREFIX}${uniqueId('read-revoked')}`;
    const forever = `${PREFIX}${uniqueId('read-forever')}`;
    const absent = [1, 2, 3].map((i) => `${PREFIX}${uniqueId(`read-absent-${i}`)}`);
    await client.set(revoked, 'why', 'PX', 60_000);
    await client.set(forever, '1');
    const writes = countWrites(client.stream);
    let readings: Awaited<ReturnType<typeof readKeys>>;
    try {
      readings = await readKeys(client, [revoked, ...absent, forever]);
    } finally {
      writes.restore();
    }
    // Ten commands (GET and PTTL per key); written one by one they were ten system calls.
    expect(writes.count()).to.equal(1);
    expect(readings.get(revoked)?.value).to.equal('why');
    expect(readings.get(revoked)?.pttlMs).to.be.within(1, 60_000);
    expect(readings.get(forever)).to.deep.equal({ value: '1', pttlMs: -1 });
    for (const key of absent) expect(readings.get(key)).to.deep.equal({ value: null, pttlMs: -2 });
  });
});
