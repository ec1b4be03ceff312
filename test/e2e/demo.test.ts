import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/runner-process.js';

const DEMO = join(REPO_ROOT, 'dist', 'bin', 'demo.js');

/** Hold port 9080 so the demo must fall back (and never disturbs a demo someone is running); null when already taken. */
async function occupyDemoPort(): Promise<Server | null> {
  const server = createServer();
  server.listen(9080, '127.0.0.1');
  const [event] = await Promise.race([once(server, 'listening').then(() => ['listening']), once(server, 'error').then(() => ['error'])]);
  return event === 'listening' ? server : null;
}

describe('npm run demo -- --once (e2e)', function () {
  this.timeout(60_000);

  it('runs the whole story, falls back from a busy port 9080, and exits 0', async () => {
    const blocker = await occupyDemoPort();
    try {
      const child = spawn(process.execPath, [DEMO, '--once'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code, output).to.equal(0);
      expect(output).to.contain('port 9080 is busy');
      expect(output).not.to.contain('http://127.0.0.1:9080');
      for (const step of ['1. No token', '2. A valid token', '3. Wrong audience', '4. Missing scope', '5. Revoke']) {
        expect(output).to.contain(step);
      }
      expect(output).to.contain('upstream received x-user-id: user-42');
      expect(output).to.contain('upstream received the Authorization header: no');
      expect(output).to.contain('every step behaved as expected');
      expect(output).not.to.contain('FAILED');
    } finally {
      if (blocker !== null) await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('rejects an unknown argument with a non-zero exit', async () => {
    const child = spawn(process.execPath, [DEMO, '--bogus'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).to.equal(2);
    expect(errors).to.contain('--bogus');
  });
});
