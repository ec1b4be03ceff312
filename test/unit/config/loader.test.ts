import { expect } from 'chai';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ErrorCode, RunnerError } from '../../../runner/errors.js';
import {
  defaultRunnerConfigPath,
  loadRunnerSettings,
  validateRunnerSettings,
} from '../../../runner/config/loader.js';
import type { RunnerSettings } from '../../../runner/config/types.js';

const DEFAULTS: RunnerSettings = {
  log: { level: 'warn', file: null },
  socket: { default_path: '/tmp/apisix-jwt-runner.sock', mode: 0o766 },
  limits: { max_frame_bytes: 16777215, call_timeout_ms: 56000, max_conf_entries: 10000, shutdown_grace_ms: 700 },
  metrics: { enabled: false, host: '127.0.0.1', port: 9091 },
  redis: null,
  providers: {},
  workers: 1,
};

const REDIS_DEFAULTS = {
  url: null,
  sentinel: null,
  cluster: null,
  key_prefix: 'jwt:revoked:',
  connect_timeout_ms: 1000,
  command_timeout_ms: 250,
  cache_ttl_ms: 1000,
};

const HS_PROVIDER = { issuer: 'https://id.example.com/', algorithms: ['HS256'], secret: { value: 'inline-secret' } };

/** Run `fn`, expect a CONFIG_INVALID RunnerError, return its message. */
function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(RunnerError);
    expect((err as RunnerError).code).to.equal(ErrorCode.CONFIG_INVALID);
    return (err as RunnerError).message;
  }
  expect.fail('expected a CONFIG_INVALID error');
}

async function asyncConfigErrorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(RunnerError);
    expect((err as RunnerError).code).to.equal(ErrorCode.CONFIG_INVALID);
    return (err as RunnerError).message;
  }
  expect.fail('expected a CONFIG_INVALID error');
}

describe('runner config loader', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'runner-config-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function yamlFile(name: string, text: string): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return file;
  }

  describe('defaults', () => {
    it('fills every default for an empty configuration', () => {
      expect(validateRunnerSettings({})).to.deep.equal(DEFAULTS);
    });

    it('fills redis defaults when only a url is given', () => {
      const settings = validateRunnerSettings({ redis: { url: 'redis://127.0.0.1:6379/0' } });
      expect(settings.redis).to.deep.equal({ ...REDIS_DEFAULTS, url: 'redis://127.0.0.1:6379/0' });
    });

    it('fills provider defaults and keeps secret sources unresolved', () => {
      const settings = validateRunnerSettings({
        providers: { corp: { issuer: 'i', algorithms: ['HS256'], secret: { env: 'CORP_SECRET' } } },
      });
      expect(settings.providers['corp']).to.deep.equal({
        issuer: 'i',
        algorithms: ['HS256'],
        secret: { env: 'CORP_SECRET' },
        base64_secret: false,
        allow_insecure_jwks_uri: false,
      });
    });

    it('deep-freezes the result', () => {
      const settings = validateRunnerSettings({ providers: { corp: HS_PROVIDER } });
      expect(Object.isFrozen(settings)).to.equal(true);
      expect(Object.isFrozen(settings.log)).to.equal(true);
      expect(Object.isFrozen(settings.providers)).to.equal(true);
      expect(Object.isFrozen(settings.providers['corp']?.algorithms)).to.equal(true);
      expect(Object.isFrozen(settings.providers['corp']?.secret)).to.equal(true);
    });

    it('does not modify the raw input', () => {
      const raw = { log: { level: 'info' }, providers: { corp: { ...HS_PROVIDER } } };
      const before = JSON.stringify(raw);
      validateRunnerSettings(raw, { LOG_LEVEL: 'debug', REDIS_URL: 'redis://127.0.0.1:1' });
      expect(JSON.stringify(raw)).to.equal(before);
    });

    it('treats a missing default file as all defaults', async () => {
      const settings = await loadRunnerSettings({ env: {}, defaultPath: path.join(dir, 'absent.yaml') });
      expect(settings).to.deep.equal(DEFAULTS);
    });

    it('treats sections whose options are all commented out as defaults', async () => {
      const file = await yamlFile('empty-sections.yaml', 'log:\n  # level: info\nlimits:\nproviders:\nredis:\n');
      expect(await loadRunnerSettings({ path: file, env: {} })).to.deep.equal(DEFAULTS);
    });

    it('treats an empty or comment-only file as all defaults', async () => {
      expect(await loadRunnerSettings({ path: await yamlFile('empty.yaml', ''), env: {} })).to.deep.equal(DEFAULTS);
      expect(await loadRunnerSettings({ path: await yamlFile('comments.yaml', '# nothing\n'), env: {} })).to.deep.equal(
        DEFAULTS,
      );
    });
  });

  describe('the shipped conf/runner.yaml', () => {
    it('is found relative to the package, not the working directory', () => {
      const file = defaultRunnerConfigPath();
      expect(path.isAbsolute(file)).to.equal(true);
      expect(file.endsWith(path.join('conf', 'runner.yaml'))).to.equal(true);
      expect(existsSync(file)).to.equal(true);
    });

    it('loads as the default file and yields exactly the defaults', async () => {
      const cwd = process.cwd();
      process.chdir(tmpdir()); // APISIX starts the runner with its own working directory
      try {
        expect(await loadRunnerSettings({ env: {} })).to.deep.equal(DEFAULTS);
      } finally {
        process.chdir(cwd);
      }
    });
  });

  describe('choosing the file', () => {
    it('reads options.path', async () => {
      const file = await yamlFile('explicit.yaml', 'workers: 3\n');
      expect((await loadRunnerSettings({ path: file, env: {} })).workers).to.equal(3);
    });

    it('reads RUNNER_CONFIG when no path is given', async () => {
      const file = await yamlFile('from-env.yaml', 'workers: 5\n');
      expect((await loadRunnerSettings({ env: { RUNNER_CONFIG: file } })).workers).to.equal(5);
    });

    it('prefers options.path over RUNNER_CONFIG', async () => {
      const option = await yamlFile('option.yaml', 'workers: 6\n');
      const fromEnv = await yamlFile('env.yaml', 'workers: 7\n');
      expect((await loadRunnerSettings({ path: option, env: { RUNNER_CONFIG: fromEnv } })).workers).to.equal(6);
    });

    it('fails naming the path when an explicit file is missing', async () => {
      const missing = path.join(dir, 'nope', 'runner.yaml');
      const message = await asyncConfigErrorOf(loadRunnerSettings({ path: missing, env: {} }));
      expect(message).to.contain(missing);
    });

    it('fails naming the path and the variable when RUNNER_CONFIG names a missing file', async () => {
      const missing = path.join(dir, 'missing-from-env.yaml');
      const message = await asyncConfigErrorOf(loadRunnerSettings({ env: { RUNNER_CONFIG: missing } }));
      expect(message).to.contain(missing).and.to.contain('RUNNER_CONFIG');
    });
  });

  describe('YAML', () => {
    it('names the line and column of a syntax error', async () => {
      const file = await yamlFile('bad.yaml', 'workers: 2\nlog:\n  level: info\n file: x\nmetrics: {}\n');
      const message = await asyncConfigErrorOf(loadRunnerSettings({ path: file, env: {} }));
      expect(message).to.contain(file).and.to.match(/line 4, column \d+/);
    });

    it('does not quote the source of a syntax error', async () => {
      const file = await yamlFile('bad-secret.yaml', 'providers:\n  c:\n    secret: { value: "TOPSECRET-42\n');
      const message = await asyncConfigErrorOf(loadRunnerSettings({ path: file, env: {} }));
      expect(message).to.match(/line \d+/);
      expect(message).not.to.contain('TOPSECRET');
    });

    it('rejects duplicate keys', async () => {
      const file = await yamlFile('dup.yaml', 'workers: 1\nworkers: 2\n');
      expect(await asyncConfigErrorOf(loadRunnerSettings({ path: file, env: {} }))).to.contain('line 2');
    });

    it('reads socket.mode as octal in every documented spelling', async () => {
      const cases: Array<[string, number]> = [
        ['"0766"', 0o766],
        ['"640"', 0o640],
        ['"0o700"', 0o700],
        ['0o755', 0o755],
        ['0640', 0o640], // unquoted: YAML 1.2 says decimal 640, operators mean octal
        ['420', 420],
      ];
      for (const [text, expected] of cases) {
        const file = await yamlFile('mode.yaml', `socket:\n  mode: ${text}\n`);
        expect((await loadRunnerSettings({ path: file, env: {} })).socket.mode, text).to.equal(expected);
      }
    });
  });

  describe('environment overrides', () => {
    it('REDIS_URL creates the redis section', () => {
      const settings = validateRunnerSettings({}, { REDIS_URL: 'redis://127.0.0.1:6380/2' });
      expect(settings.redis).to.deep.equal({ ...REDIS_DEFAULTS, url: 'redis://127.0.0.1:6380/2' });
    });

    it('REDIS_URL replaces the url and keeps the other redis options', () => {
      const settings = validateRunnerSettings(
        { redis: { url: 'redis://127.0.0.1:1', key_prefix: 'x:' } },
        { REDIS_URL: 'rediss://127.0.0.1:6380' },
      );
      expect(settings.redis?.url).to.equal('rediss://127.0.0.1:6380');
      expect(settings.redis?.key_prefix).to.equal('x:');
    });

    it('LOG_LEVEL sets the level, case-insensitively', () => {
      expect(validateRunnerSettings({ log: { level: 'error' } }, { LOG_LEVEL: 'debug' }).log.level).to.equal('debug');
      expect(validateRunnerSettings({}, { LOG_LEVEL: 'INFO' }).log.level).to.equal('info');
    });

    it('METRICS_PORT sets the port and enables metrics', () => {
      const settings = validateRunnerSettings({ metrics: { host: '::1' } }, { METRICS_PORT: '9200' });
      expect(settings.metrics).to.deep.equal({ enabled: true, host: '::1', port: 9200 });
    });

    it('RUNNER_WORKERS sets the worker count', () => {
      expect(validateRunnerSettings({ workers: 2 }, { RUNNER_WORKERS: '4' }).workers).to.equal(4);
    });

    it('ignores empty variables', () => {
      const env = { REDIS_URL: '', LOG_LEVEL: '', METRICS_PORT: '', RUNNER_WORKERS: '' };
      expect(validateRunnerSettings({}, env)).to.deep.equal(DEFAULTS);
    });

    it('applies overrides when loading a file', async () => {
      const file = await yamlFile('overridden.yaml', 'log:\n  level: error\nworkers: 2\n');
      const settings = await loadRunnerSettings({ path: file, env: { LOG_LEVEL: 'info', RUNNER_WORKERS: '3' } });
      expect(settings.log.level).to.equal('info');
      expect(settings.workers).to.equal(3);
    });

    it('names the variable when an override is invalid', () => {
      const message = configErrorOf(() =>
        validateRunnerSettings({}, { METRICS_PORT: 'ninety', RUNNER_WORKERS: '0', LOG_LEVEL: 'loud' }),
      );
      expect(message).to.contain('metrics.port: must be integer (from METRICS_PORT)');
      expect(message).to.contain('workers: must be >= 1 (from RUNNER_WORKERS)');
      expect(message).to.contain('log.level: must be one of').and.to.contain('(from LOG_LEVEL)');
    });
  });

  describe('invalid fields', () => {
    const provider = (extra: Record<string, unknown>): unknown => ({ providers: { corp: { ...HS_PROVIDER, ...extra } } });
    const cases: Array<[title: string, raw: unknown, expected: string]> = [
      ['top level not an object', ['workers'], 'top level: must be object'],
      ['unknown top-level field', { foo: 1 }, 'unknown field "foo" at top level'],
      ['unknown nested field', { log: { foo: 1 } }, 'unknown field "foo" at log'],
      ['unknown redis field', { redis: { url: 'redis://h', password: 'x' } }, 'unknown field "password" at redis'],
      ['unknown provider field', provider({ issure: 'x' }), 'unknown field "issure" at providers.corp'],
      ['log level', { log: { level: 'loud' } }, 'log.level: must be one of trace, debug, info, warn, error, fatal, silent'],
      ['log file type', { log: { file: 5 } }, 'log.file: must be string or null'],
      ['relative socket path', { socket: { default_path: 'runner.sock' } }, 'socket.default_path: must match pattern'],
      ['socket mode out of range', { socket: { mode: 0o1777 } }, 'socket.mode: must be <= 511'],
      ['socket mode not octal', { socket: { mode: '0999' } }, 'socket.mode: must match pattern'],
      ['frame limit too small', { limits: { max_frame_bytes: 100 } }, 'limits.max_frame_bytes: must be >= 1024'],
      ['frame limit too big', { limits: { max_frame_bytes: 16777216 } }, 'limits.max_frame_bytes: must be <= 16777215'],
      ['call timeout too big', { limits: { call_timeout_ms: 60000 } }, 'limits.call_timeout_ms: must be <= 59000'],
      ['call timeout too small', { limits: { call_timeout_ms: 99 } }, 'limits.call_timeout_ms: must be >= 100'],
      ['shutdown grace too big', { limits: { shutdown_grace_ms: 1000 } }, 'limits.shutdown_grace_ms: must be <= 900'],
      ['conf entries zero', { limits: { max_conf_entries: 0 } }, 'limits.max_conf_entries: must be >= 1'],
      ['metrics enabled type', { metrics: { enabled: 'yes' } }, 'metrics.enabled: must be boolean'],
      ['metrics port', { metrics: { port: 70000 } }, 'metrics.port: must be <= 65535'],
      ['workers fraction', { workers: 1.5 }, 'workers: must be integer'],
      ['workers too many', { workers: 65 }, 'workers: must be <= 64'],
      ['redis scheme', { redis: { url: 'http://127.0.0.1:6379' } }, 'redis.url: must match pattern "^rediss?://"'],
      ['redis command timeout', { redis: { url: 'redis://h', command_timeout_ms: 0 } }, 'redis.command_timeout_ms: must be >= 1'],
      ['redis without a target', { redis: { key_prefix: 'x:' } }, 'redis: set exactly one of "url", "sentinel" or "cluster"'],
      [
        'redis with two targets',
        { redis: { url: 'redis://h', cluster: { nodes: [{ host: 'h', port: 7000 }] } } },
        'redis: set exactly one of "url", "sentinel" or "cluster"',
      ],
      ['sentinel without nodes', { redis: { sentinel: { name: 'm', nodes: [] } } }, 'redis.sentinel.nodes: must NOT have fewer than 1 items'],
      ['sentinel without name', { redis: { sentinel: { nodes: [{ host: 'h', port: 1 }] } } }, 'redis.sentinel.name: is required'],
      ['cluster node port', { redis: { cluster: { nodes: [{ host: 'h', port: 0 }] } } }, 'redis.cluster.nodes[0].port: must be >= 1'],
      ['provider name', { providers: { 'bad name': HS_PROVIDER } }, 'invalid name "bad name" at providers'],
      ['provider issuer missing', { providers: { corp: { algorithms: ['HS256'], secret: { value: 'x' } } } }, 'providers.corp.issuer: is required'],
      ['provider algorithms missing', { providers: { corp: { issuer: 'i', secret: { value: 'x' } } } }, 'providers.corp.algorithms: is required'],
      ['provider algorithms empty', provider({ algorithms: [] }), 'providers.corp.algorithms: must NOT have fewer than 1 items'],
      ['provider algorithm none', provider({ algorithms: ['HS256', 'none'] }), 'providers.corp.algorithms[1]: must be one of HS256'],
      ['provider algorithm lowercase', provider({ algorithms: ['hs256'] }), 'providers.corp.algorithms[0]: must be one of'],
      ['provider without key source', { providers: { corp: { issuer: 'i', algorithms: ['HS256'] } } }, 'providers.corp: set at least one key source'],
      ['secret source with two fields', provider({ secret: { value: 'x', env: 'X' } }), 'providers.corp.secret: set exactly one of "value", "env" or "file"'],
      ['secret source empty', provider({ secret: {} }), 'providers.corp.secret: set exactly one of "value", "env" or "file"'],
      ['secret source unknown field', provider({ secret: { path: '/x' } }), 'unknown field "path" at providers.corp.secret'],
      ['secret env name', provider({ secret: { env: 'NOT-A-NAME' } }), 'providers.corp.secret.env: must match pattern'],
      ['public key type', provider({ public_key: 'PEM' }), 'providers.corp.public_key: must be object'],
      ['base64 flag type', provider({ base64_secret: 'true' }), 'providers.corp.base64_secret: must be boolean'],
      ['jwks_uri scheme', provider({ jwks_uri: 'ftp://x' }), 'providers.corp.jwks_uri: must match pattern'],
      ['insecure jwks_uri', provider({ jwks_uri: 'http://127.0.0.1/jwks' }), 'providers.corp: "jwks_uri" must use https://'],
      ['audience empty list', provider({ audience: [] }), 'providers.corp.audience: must NOT have fewer than 1 items'],
      ['audience type', provider({ audience: 5 }), 'providers.corp.audience: must be string or array'],
      ['audience item', provider({ audience: ['a', 7] }), 'providers.corp.audience[1]: must be string'],
    ];
    for (const [title, raw, expected] of cases) {
      it(`reports ${title}`, () => {
        expect(configErrorOf(() => validateRunnerSettings(raw))).to.contain(expected);
      });
    }

    it('lists every bad field in one error', () => {
      const message = configErrorOf(() =>
        validateRunnerSettings({ log: { level: 'x' }, workers: 0, limits: { call_timeout_ms: 1 }, extra: true }),
      );
      for (const fragment of ['log.level', 'workers', 'limits.call_timeout_ms', 'unknown field "extra"']) {
        expect(message).to.contain(fragment);
      }
    });

    it('does not report branch noise for a wrong-typed secret source', () => {
      const message = configErrorOf(() => validateRunnerSettings(provider({ secret: 'inline' })));
      expect(message).to.contain('providers.corp.secret: must be object');
      expect(message).not.to.contain('exactly one');
    });

    it('accepts an http jwks_uri when allow_insecure_jwks_uri is true', () => {
      const settings = validateRunnerSettings({
        providers: {
          corp: { issuer: 'i', algorithms: ['RS256'], jwks_uri: 'http://127.0.0.1/jwks', allow_insecure_jwks_uri: true },
        },
      });
      expect(settings.providers['corp']?.jwks_uri).to.equal('http://127.0.0.1/jwks');
    });

    it('accepts sentinel and cluster targets', () => {
      const nodes = [{ host: '127.0.0.1', port: 26379 }];
      expect(validateRunnerSettings({ redis: { sentinel: { name: 'm', nodes } } }).redis?.sentinel).to.deep.equal({
        name: 'm',
        nodes,
      });
      expect(validateRunnerSettings({ redis: { cluster: { nodes } } }).redis?.cluster).to.deep.equal({ nodes });
    });

    it('never echoes values in error messages', () => {
      const secret = 'SUPERSECRET-value-1234';
      const message = configErrorOf(() =>
        validateRunnerSettings(
          {
            log: { level: secret, file: 42 },
            workers: secret,
            providers: { corp: { issuer: 'i', algorithms: [secret], secret, public_key: { value: 7 } } },
          },
          { REDIS_URL: `http://user:${secret}@127.0.0.1:6379`, METRICS_PORT: secret },
        ),
      );
      expect(message).to.contain('providers.corp.secret').and.to.contain('redis.url');
      expect(message).not.to.contain('SUPERSECRET');
    });
  });

  describe('provider secret sources', () => {
    it('fails when an env source names an unset variable, naming provider, field and variable', () => {
      const message = configErrorOf(() =>
        validateRunnerSettings({ providers: { corp: { ...HS_PROVIDER, secret: { env: 'CORP_JWT_SECRET' } } } }, {}),
      );
      expect(message).to.contain('providers.corp.secret.env').and.to.contain('"CORP_JWT_SECRET" is not set');
    });

    it('fails when an env source names an empty variable', () => {
      const message = configErrorOf(() =>
        validateRunnerSettings(
          { providers: { corp: { ...HS_PROVIDER, secret: { env: 'CORP_JWT_SECRET' } } } },
          { CORP_JWT_SECRET: '' },
        ),
      );
      expect(message).to.contain('"CORP_JWT_SECRET" is empty');
    });

    it('accepts a set env source and leaves it unresolved', () => {
      const settings = validateRunnerSettings(
        { providers: { corp: { ...HS_PROVIDER, secret: { env: 'CORP_JWT_SECRET' } } } },
        { CORP_JWT_SECRET: 'the-secret' },
      );
      expect(settings.providers['corp']?.secret).to.deep.equal({ env: 'CORP_JWT_SECRET' });
      expect(JSON.stringify(settings)).not.to.contain('the-secret');
    });

    it('fails loading when a file source does not exist, naming provider, field and path', async () => {
      const missing = path.join(dir, 'keys', 'absent.pem');
      const file = await yamlFile(
        'file-source.yaml',
        `providers:\n  corp:\n    issuer: i\n    algorithms: [RS256]\n    public_key: { file: ${JSON.stringify(missing)} }\n`,
      );
      const message = await asyncConfigErrorOf(loadRunnerSettings({ path: file, env: {} }));
      expect(message).to.contain('providers.corp.public_key.file').and.to.contain(missing).and.to.contain('ENOENT');
    });

    it('fails loading when a file source is a directory', async () => {
      const keyDir = path.join(dir, 'a-directory');
      await mkdir(keyDir, { recursive: true });
      const file = await yamlFile(
        'dir-source.yaml',
        `providers:\n  corp:\n    issuer: i\n    algorithms: [RS256]\n    jwks: { file: ${JSON.stringify(keyDir)} }\n`,
      );
      const message = await asyncConfigErrorOf(loadRunnerSettings({ path: file, env: {} }));
      expect(message).to.contain('providers.corp.jwks.file');
    });

    it('loads when a file source is readable', async () => {
      const pem = path.join(dir, 'corp.pem');
      await writeFile(pem, '-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n');
      const file = await yamlFile(
        'file-ok.yaml',
        `providers:\n  corp:\n    issuer: i\n    algorithms: [RS256]\n    public_key: { file: ${JSON.stringify(pem)} }\n`,
      );
      const settings = await loadRunnerSettings({ path: file, env: {} });
      expect(settings.providers['corp']?.public_key).to.deep.equal({ file: pem });
    });
  });
});
