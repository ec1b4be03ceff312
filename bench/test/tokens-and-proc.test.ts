import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { jwtVerify } from 'jose';
import { cpuSeconds, openFdCount, processTree, rssBytes } from '../lib/proc-stats.js';
import { BENCH_ALGORITHMS, BENCH_AUDIENCE, BENCH_ISSUER, generateBenchKeys, mintTokens } from '../lib/tokens.js';

describe('bench token minting', () => {
  for (const alg of BENCH_ALGORITHMS) {
    it(`mints distinct ${alg} tokens that jose verifies with the conf key`, async () => {
      const keys = generateBenchKeys(alg);
      const tokens = await mintTokens(keys, { jtiPrefix: 't-', start: 5, count: 3, issuedAt: Math.floor(Date.now() / 1000) });
      expect(new Set(tokens).size).to.equal(3);
      const key = 'secret' in keys.confKey ? new TextEncoder().encode(keys.confKey.secret) : createPublicKey(keys.confKey.public_key);
      const { payload, protectedHeader } = await jwtVerify(tokens[2]!, key, { issuer: BENCH_ISSUER, audience: BENCH_AUDIENCE, algorithms: [alg] });
      expect(protectedHeader.alg).to.equal(alg);
      expect(payload.jti).to.equal('t-7');
    });
  }

  it('splits large slow batches over worker threads without losing or repeating tokens', async function () {
    this.timeout(60_000);
    const keys = generateBenchKeys('ES256');
    const tokens = await mintTokens(keys, { jtiPrefix: 'w-', start: 0, count: 2_001, issuedAt: Math.floor(Date.now() / 1000) });
    expect(tokens).to.have.length(2_001);
    expect(new Set(tokens).size).to.equal(2_001);
    const jtis = tokens.map((t) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).jti as string);
    expect(jtis[0]).to.equal('w-0');
    expect(jtis[2000]).to.equal('w-2000');
  });
});

describe('bench /proc readings', () => {
  it('finds descendants, counts CPU time, RSS and open descriptors', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      expect(processTree(process.pid)).to.include(child.pid);

      const before = cpuSeconds([process.pid]);
      const until = Date.now() + 150;
      let spin = 0;
      while (Date.now() < until) spin++;
      expect(spin).to.be.greaterThan(0);
      expect(cpuSeconds([process.pid]) - before).to.be.greaterThan(0.05);

      expect(rssBytes([process.pid])).to.be.greaterThan(10 * 1048576);
      const fds = openFdCount([process.pid]);
      const fd = openSync('/proc/self/stat', 'r');
      try {
        expect(openFdCount([process.pid])).to.equal(fds + 1);
      } finally {
        closeSync(fd);
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
