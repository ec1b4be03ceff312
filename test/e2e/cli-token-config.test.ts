import { generateKeyPairSync } from 'node:crypto';
import { readFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { REPO_ROOT, runCli } from '../support/cli-process.js';

const SECRET = 'token-command-test-secret-0123456789abcdef';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('CLI token and config check', function () {
  // Each case spawns the CLI; on a busy machine a Node start-up takes seconds.
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-token-config-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('token', () => {
    it('mints an HS256 token that jose verifies, with the requested claims', async () => {
      const before = Math.floor(Date.now() / 1000);
      const result = await runCli([
        'token', '--secret', SECRET, '--iss', 'https://id.test/', '--aud', 'orders', '--sub', 'alice',
        '--scope', 'orders:read orders:write', '--ttl', '600', '--kid', 'k1',
        '--claim', 'tenant=acme', '--claim', 'level=3', '--claim', 'roles=["a","b"]',
      ]);
      expect(result.stderr).to.equal('');
      expect(result.code).to.equal(0);
      const token = result.stdout.trim();
      const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(SECRET), {
        issuer: 'https://id.test/',
        audience: 'orders',
        algorithms: ['HS256'],
      });
      expect(protectedHeader).to.deep.equal({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
      expect(payload.sub).to.equal('alice');
      expect(payload['scope']).to.equal('orders:read orders:write');
      expect(payload['tenant']).to.equal('acme');
      expect(payload['level']).to.equal(3);
      expect(payload['roles']).to.deep.equal(['a', 'b']);
      expect(payload.jti).to.match(UUID);
      expect(payload.iat).to.be.within(before, before + 30);
      expect(payload.exp! - payload.iat!).to.equal(600);
    });

    it('reads the secret from --secret-file (one trailing newline ignored) and can omit jti or take several audiences', async () => {
      const file = join(dir, 'secret.txt');
      await writeFile(file, `${SECRET}\n`);
      const result = await runCli(['token', '--secret-file', file, '--no-jti', '--aud', 'a', '--aud', 'b']);
      expect(result.code).to.equal(0);
      const { payload } = await jwtVerify(result.stdout.trim(), new TextEncoder().encode(SECRET));
      expect(payload).not.to.have.property('jti');
      expect(payload.aud).to.deep.equal(['a', 'b']);
    });

    it('signs RS256 and ES256 with a PEM private key from --key-file', async () => {
      for (const [alg, pair] of [
        ['RS256', generateKeyPairSync('rsa', { modulusLength: 2048 })],
        ['ES256', generateKeyPairSync('ec', { namedCurve: 'prime256v1' })],
      ] as const) {
        const keyFile = join(dir, `${alg}.pem`);
        await writeFile(keyFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
        const result = await runCli(['token', '--alg', alg, '--key-file', keyFile, '--sub', 'bob']);
        expect(result.code, result.stderr).to.equal(0);
        const token = result.stdout.trim();
        expect(decodeProtectedHeader(token).alg).to.equal(alg);
        const { payload } = await jwtVerify(token, pair.publicKey, { algorithms: [alg] });
        expect(payload.sub).to.equal('bob');
      }
    });

    it('refuses an HS secret shorter than the hash size (exit 2, no token printed)', async () => {
      const cases: Array<[string, string, number]> = [
        ['HS256', 'x'.repeat(31), 32],
        ['HS384', 'x'.repeat(47), 48],
        ['HS512', 'x'.repeat(63), 64],
      ];
      const results = await Promise.all(cases.map(([alg, secret]) => runCli(['token', '--alg', alg, '--secret', secret])));
      results.forEach((result, i) => {
        const [alg, secret, min] = cases[i]!;
        expect(result.code, alg).to.equal(2);
        expect(result.stdout).to.equal('');
        expect(result.stderr).to.contain(`the ${alg} secret is ${secret.length} bytes; it must be at least ${min} bytes`);
      });
      const ok = await runCli(['token', '--alg', 'HS256', '--secret', 'x'.repeat(32)]);
      expect(ok.code).to.equal(0);
    });

    it('rejects a key of the wrong kind, conflicting claims and unknown algorithms as usage errors', async () => {
      const keyFile = join(dir, 'rsa.pem');
      await writeFile(keyFile, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const cases: Array<[string[], string]> = [
        [['token', '--alg', 'HS256', '--key-file', keyFile], 'not --key-file'],
        [['token', '--alg', 'RS256', '--secret', SECRET], 'use --key-file'],
        [['token', '--alg', 'ES256', '--key-file', keyFile], 'cannot sign with ES256'],
        [['token', '--alg', 'none', '--secret', SECRET], '--alg must be one of'],
        [['token', '--secret', SECRET, '--sub', 'a', '--claim', 'sub=b'], 'conflicts with --sub'],
        [['token', '--secret', SECRET, '--secret-file', keyFile], 'cannot be combined'],
      ];
      const results = await Promise.all(cases.map(([args]) => runCli(args)));
      results.forEach((result, i) => {
        const [args, message] = cases[i]!;
        expect(result.code, args.join(' ')).to.equal(2);
        expect(result.stderr, args.join(' ')).to.contain(message);
        expect(result.stdout).to.equal('');
      });
    });
  });

  describe('config check', () => {
    const routeFiles = async () =>
      (await readdir(join(REPO_ROOT, 'conf', 'routes'))).filter((f) => f.endsWith('.json')).map((f) => join(REPO_ROOT, 'conf', 'routes', f));

    it('passes on conf/runner.yaml with every conf/routes/*.json (warning that their providers are not in that config)', async () => {
      const files = await routeFiles();
      expect(files.length).to.be.within(3, 4);
      const result = await runCli(['config', 'check', '--config', join(REPO_ROOT, 'conf', 'runner.yaml'), '--route', ...files]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(new RegExp(`^OK: .*${files.length} route files, ${files.length} runner-plugin conf entries valid`));
      const warnings = result.stderr.trimEnd().split('\n');
      expect(warnings).to.have.length(files.length);
      for (const line of warnings) expect(line).to.match(/: warning: .*provider "[a-z-]+" is not defined in the runner config checked/);
    });

    it('passes without warnings on the deployment config conf/apisix/runner.yaml that defines their providers', async () => {
      const result = await runCli(
        ['config', 'check', '--config', join(REPO_ROOT, 'conf', 'apisix', 'runner.yaml'), '--route', ...(await routeFiles())],
        { env: { DEMO_JWT_SECRET: 'demo-secret-for-the-config-check-test-0123456789' } },
      );
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stderr).to.equal('');
      expect(result.stdout).to.match(/^OK: /);
    });

    it('names the file, the entry and each bad field of a broken route (exit 1)', async () => {
      const route = JSON.parse(await readFile(join(REPO_ROOT, 'conf', 'routes', 'orders-hs256.json'), 'utf8')) as {
        plugins: Record<string, { conf: Array<{ name: string; value: unknown }> }>;
      };
      const entries = route.plugins['ext-plugin-pre-req']!.conf;
      const conf = JSON.parse(entries[0]!.value as string) as Record<string, unknown>;
      entries[0]!.value = JSON.stringify({ ...conf, audience: 42, mode: 'block' });
      entries.push({ name: 'jwt-auth', value: { algorithms: ['HS256'] } });
      const file = join(dir, 'broken-route.json');
      await writeFile(file, JSON.stringify(route));

      const result = await runCli(['config', 'check', '--route', file]);
      expect(result.code).to.equal(1);
      const lines = result.stderr.split('\n');
      expect(lines).to.include(`${file}: plugins.ext-plugin-pre-req.conf[0] (jwt-auth): mode: must be one of enforce, report_only`);
      expect(lines.some((l) => l.startsWith(`${file}: plugins.ext-plugin-pre-req.conf[0] (jwt-auth): audience`))).to.equal(true);
      expect(lines.some((l) => l.startsWith(`${file}: plugins.ext-plugin-pre-req.conf[1] (jwt-auth): value: must be a JSON string, not an object`))).to.equal(true);
      expect(result.stderr).to.contain('config check failed');
      expect(result.stdout).to.equal('');
    });

    it('checks a bare [{name, value}] list and reports unknown plugins and JSON errors', async () => {
      const file = join(dir, 'list.json');
      await writeFile(file, JSON.stringify([{ name: 'jwt-auth', value: '{"algorithms":["HS256"]}' }, { name: 'no-such', value: '{}' }, { name: 'jwt-auth', value: '{oops' }]));
      const result = await runCli(['config', 'check', '--route', file]);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.contain(`${file}: [1] (no-such): unknown plugin "no-such"`);
      expect(result.stderr).to.contain(`${file}: [2] (jwt-auth): value is not valid JSON`);
      expect(result.stderr).not.to.contain('[0]');
    });

    it('names the bad field of an invalid runner config (exit 1)', async () => {
      const config = join(dir, 'bad-runner.yaml');
      await writeFile(config, 'redis:\n  url: redis://127.0.0.1:6379\n  command_timeout_ms: fast\n');
      const result = await runCli(['config', 'check', '--config', config]);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.contain('redis.command_timeout_ms').and.to.contain('config check failed');
    });
  });
});
