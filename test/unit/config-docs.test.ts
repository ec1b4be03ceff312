import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT } from '../support/runner-process.js';

const SCRIPT = join(REPO_ROOT, 'scripts', 'gen-config-docs.mjs');
const DOC = join(REPO_ROOT, 'docs', 'configuration.md');

function generator(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('docs/configuration.md (generated from the JSON Schemas)', function () {
  this.timeout(30_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'config-docs-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is current: `npm run docs:config -- --check` passes', async () => {
    const result = await generator(['--check']);
    expect(result.code, result.stderr).to.equal(0);
  });

  it('documents every option of both schemas with its default', async () => {
    const text = await readFile(DOC, 'utf8');
    for (const row of [
      '| `redis.command_timeout_ms` | integer; 1–60000 | `250` |',
      '| `providers.<name>.issuer` | string | required |',
      '| `algorithms` | array of string;',
      '| `revocation.on_store_error` | string; one of `deny`, `allow` | `deny` |',
      '| `issuers[].provider` | string |',
      '| `claims_to_headers.<key>` | string |',
    ]) {
      expect(text).to.contain(row);
    }
  });

  it('--check fails, naming the fix, when the file differs from what the schemas generate', async () => {
    const copy = join(dir, 'configuration.md');
    expect((await generator(['--out', copy])).code).to.equal(0);
    expect((await generator(['--check', '--out', copy])).code).to.equal(0);
    await writeFile(copy, (await readFile(copy, 'utf8')).replace('`jwt:revoked:`', '`stale:`'));
    const stale = await generator(['--check', '--out', copy]);
    expect(stale.code).to.equal(1);
    expect(stale.stderr).to.contain('out of date').and.to.contain('npm run docs:config');
  });
});
