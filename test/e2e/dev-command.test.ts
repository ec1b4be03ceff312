import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { startEchoUpstream, type EchoUpstream } from '../support/echo-upstream.js';
import { PROBE_PLUGINS, RUNNER_BIN } from '../support/runner-process.js';

/** Resolves with the first stdout line matching, or rejects when the process exits first. */
function firstLine(child: ChildProcess, match: RegExp, seen: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      seen.push(line);
      if (match.test(line)) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`dev exited with ${code} before printing ${match}:\n${seen.join('\n')}`)));
  });
}

describe('apisix-jwt-runner dev (e2e)', () => {
  let dir: string;
  let upstream: EchoUpstream;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dev-command-test-'));
    upstream = await startEchoUpstream();
    writeFileSync(
      join(dir, 'routes.yaml'),
      [
        'routes:',
        '  - id: tagged',
        '    uri: /tagged/*',
        `    upstream: ${upstream.url}`,
        '    plugins:',
        '      ext-plugin-pre-req:',
        '        conf:',
        '          - name: probe-rewrite',
        '            value: { set_headers: { X-Dev: "yes" } }',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves routes through an in-process runner and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [RUNNER_BIN, 'dev', '--routes', join(dir, 'routes.yaml'), '--listen', '127.0.0.1:0', '--plugin', PROBE_PLUGINS],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'silent' } },
    );
    const exited = once(child, 'exit');
    const lines: string[] = [];
    const line = await firstLine(child, /listening on http:/, lines);
    const url = /http:\/\/[\d.]+:\d+/.exec(line)![0];
    const socketPath = /runner socket (\S+)/.exec(line)![1]!;
    expect(lines.join('\n')).to.contain('production traffic goes through APISIX');

    const response = await fetch(`${url}/tagged/x`);
    expect(response.status).to.equal(200);
    expect(upstream.last().headers['x-dev']).to.equal('yes');

    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).to.equal(0);
    expect(existsSync(dirname(socketPath))).to.equal(false);
  });

  it('fails with a message naming the problem for a bad routes file', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'routes:\n  - id: x\n    uri: /x\n');
    const child = spawn(process.execPath, [RUNNER_BIN, 'dev', '--routes', join(dir, 'bad.yaml'), '--listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let errors = '';
    child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).to.equal(1);
    expect(errors).to.contain('routes[0].upstream: is required');
  });
});
