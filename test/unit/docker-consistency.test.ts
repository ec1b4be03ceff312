/**
 * Docker cannot run here, so this test holds docker/ and conf/apisix/ to each other
 * and to the repository: the command APISIX starts, every path it names, the files
 * the compose file mounts, the env variables the runner needs and the services the
 * configs point at must all line up.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { RUNNER_NODE_FLAGS } from '../../runner/node-flags.js';
import { expect } from 'chai';
import { parse } from 'yaml';
import { validateRunnerSettings } from '../../runner/config/loader.js';
import { REPO_ROOT } from '../support/runner-process.js';

const APISIX_HOME = '/usr/local/apisix';
const DOCKER_DIR = join(REPO_ROOT, 'docker');

interface CopyInstruction {
  readonly from: string | null;
  readonly sources: readonly string[];
  readonly dest: string;
}

interface Stage {
  readonly base: string;
  readonly name: string | null;
  readonly workdir: string | null;
  readonly copies: CopyInstruction[];
  readonly runs: string[];
}

/** Just enough of the Dockerfile grammar for our own file: ARG defaults, FROM … AS, WORKDIR, COPY, RUN. */
function parseDockerfile(text: string): Stage[] {
  const logical = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map<string, string>();
  const substitute = (value: string) => value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args.get(a ?? b ?? '') ?? '');
  const stages: Stage[] = [];
  for (const line of logical) {
    const [op = '', ...rest] = line.split(/\s+/);
    const words = rest.map(substitute);
    const stage = stages.at(-1);
    switch (op.toUpperCase()) {
      case 'ARG': {
        const [name = '', value = ''] = rest.join(' ').split('=');
        if (!args.has(name) || value !== '') args.set(name, value);
        break;
      }
      case 'FROM':
        stages.push({ base: words[0] ?? '', name: words[1]?.toUpperCase() === 'AS' ? (words[2] ?? null) : null, workdir: null, copies: [], runs: [] });
        break;
      case 'WORKDIR':
        if (stage !== undefined) (stage as { workdir: string | null }).workdir = words[0] ?? null;
        break;
      case 'RUN':
        stage?.runs.push(words.join(' '));
        break;
      case 'COPY': {
        const flags = words.filter((w) => w.startsWith('--'));
        const paths = words.filter((w) => !w.startsWith('--'));
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length) ?? null;
        stage?.copies.push({ from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' });
        break;
      }
    }
  }
  return stages;
}

function readYaml(file: string): Record<string, unknown> {
  return parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  expect(value, what).to.be.an('object');
  return value as Record<string, unknown>;
}

const stages = parseDockerfile(readFileSync(join(DOCKER_DIR, 'Dockerfile'), 'utf8'));
const finalStage = stages.at(-1)!;
const buildStage = stages.find((s) => s.name === 'build');
const compose = readYaml(join(DOCKER_DIR, 'docker-compose.yml'));
const services = asRecord(compose['services'], 'compose services');
const apisixService = asRecord(services['apisix'], 'compose service apisix');
const apisixConfig = readYaml(join(REPO_ROOT, 'conf', 'apisix', 'config.yaml'));
const cmd = asRecord(apisixConfig['ext-plugin'], 'ext-plugin')['cmd'] as string[];

/** Compose volume `src:dest[:mode]` (src relative to docker/) as [repo path, container path]. */
function volumes(): Array<[string, string]> {
  return ((apisixService['volumes'] as string[] | undefined) ?? []).map((spec) => {
    const [src = '', dest = ''] = spec.split(':');
    return [resolve(DOCKER_DIR, src), dest];
  });
}

type Origin = { kind: 'repo'; path: string } | { kind: 'built'; path: string } | { kind: 'node-image'; path: string };

/**
 * Where a path of the running container comes from: a compose volume (mounted over the
 * image), a COPY from the build context, or a COPY from the build stage (files the build
 * stage copied or produced under its WORKDIR map back to the repository).
 */
function originOf(containerPath: string): Origin | undefined {
  const under = (dest: string) => containerPath === dest || containerPath.startsWith(`${dest.replace(/\/$/, '')}/`);
  const rest = (dest: string) => containerPath.slice(dest.replace(/\/$/, '').length);
  const volume = volumes().filter(([, dest]) => under(dest)).sort((a, b) => b[1].length - a[1].length)[0];
  if (volume !== undefined) return { kind: 'repo', path: volume[0] + rest(volume[1]) };
  const copy = finalStage.copies.filter((c) => c.sources.length === 1 && under(c.dest)).sort((a, b) => b.dest.length - a.dest.length)[0];
  if (copy === undefined) return undefined;
  const source = copy.sources[0]! + rest(copy.dest);
  if (copy.from === null) return { kind: 'repo', path: join(REPO_ROOT, source) };
  expect(copy.from, `COPY --from for ${containerPath}`).to.equal('build');
  const workdir = buildStage?.workdir ?? '';
  if (workdir !== '' && source.startsWith(`${workdir}/`)) return { kind: 'built', path: posix.relative(workdir, source) };
  return { kind: 'node-image', path: source };
}

/** The repository file behind a container path; fails the test when there is none. */
function repoFileFor(containerPath: string): string {
  const origin = originOf(containerPath);
  expect(origin, `${containerPath} is neither copied into the image nor mounted`).not.to.equal(undefined);
  if (origin!.kind === 'repo') return origin!.path;
  expect(origin!.kind, `${containerPath} must come from the repository`).to.equal('built');
  return join(REPO_ROOT, origin!.path);
}

function routeBodies(): Array<[string, Record<string, unknown>]> {
  const dir = join(REPO_ROOT, 'conf', 'routes');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>]);
}

function configArgument(): string {
  const index = cmd.indexOf('--config');
  expect(index, 'ext-plugin.cmd passes --config').to.be.greaterThan(0);
  return cmd[index + 1]!;
}

function runnerConfigData(): Record<string, unknown> {
  return parse(readFileSync(repoFileFor(configArgument()), 'utf8')) as Record<string, unknown>;
}

/** Environment variables the runner config reads secrets from. */
function secretEnvNames(): string[] {
  const settings = validateRunnerSettings(runnerConfigData());
  return Object.values(settings.providers).flatMap((p) => [p.secret?.env, p.public_key?.env, p.jwks?.env]).filter((n): n is string => n !== undefined);
}

describe('docker/ and conf/apisix/ consistency', () => {
  it('builds on the official APISIX image with a Node.js 20 build stage that compiles the runner', () => {
    expect(finalStage.base).to.match(/^apache\/apisix:3\.\d+\.\d+-/);
    expect(buildStage, 'a stage named build').not.to.equal(undefined);
    expect(buildStage!.base).to.match(/^node:20[.-]/);
    expect(buildStage!.runs.join('\n')).to.contain('npm ci').and.to.contain('tsc -p tsconfig.json').and.to.contain('npm prune --omit=dev');
    for (const copy of buildStage!.copies) {
      for (const source of copy.sources) expect(existsSync(join(REPO_ROOT, source)), `build context has ${source}`).to.equal(true);
    }
  });

  it('ext-plugin.cmd starts `node <runner node flags> <built CLI> run --config <file>` from absolute paths the image provides', () => {
    expect(cmd).to.be.an('array');
    for (const arg of cmd) expect(arg).to.be.a('string');
    const [node, ...rest] = cmd;
    expect(rest.slice(0, RUNNER_NODE_FLAGS.length), 'the recommended node flags').to.deep.equal([...RUNNER_NODE_FLAGS]);
    const [script, command] = rest.slice(RUNNER_NODE_FLAGS.length);
    expect(node).to.equal('/usr/local/bin/node');
    expect(originOf(node!)).to.deep.equal({ kind: 'node-image', path: '/usr/local/bin/node' });

    expect(posix.isAbsolute(script!)).to.equal(true);
    const scriptOrigin = originOf(script!);
    expect(scriptOrigin?.kind).to.equal('built');
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(scriptOrigin!.path).to.equal(manifest.bin['apisix-jwt-runner']);
    expect(existsSync(join(REPO_ROOT, scriptOrigin!.path)), `${scriptOrigin!.path} is built`).to.equal(true);
    expect(command).to.equal('run');

    // The CLI finds its package root (and default config) through package.json next to dist/,
    // and imports every compiled layer plus production dependencies.
    const installRoot = posix.dirname(posix.dirname(posix.dirname(script!)));
    for (const part of ['package.json', 'node_modules', 'dist/bin', 'dist/runner', 'dist/plugins']) {
      expect(originOf(`${installRoot}/${part}`), `${installRoot}/${part} in the image`).not.to.equal(undefined);
    }
  });

  it('the --config file exists in the repository and is a valid runner config', () => {
    const config = configArgument();
    expect(posix.isAbsolute(config)).to.equal(true);
    const file = repoFileFor(config);
    expect(statSync(file).isFile(), file).to.equal(true);
    expect(() => validateRunnerSettings(runnerConfigData())).not.to.throw();
  });

  it('nginx_config.envs declares what the runner reads, and compose sets the secrets and REDIS_URL', () => {
    const envs = asRecord(apisixConfig['nginx_config'], 'nginx_config')['envs'] as string[];
    const secrets = secretEnvNames();
    expect(secrets.length).to.be.greaterThan(0);
    expect(envs).to.include.members(['REDIS_URL', 'RUNNER_CONFIG', 'LOG_LEVEL', ...secrets]);
    const environment = asRecord(apisixService['environment'], 'apisix environment');
    expect(environment['REDIS_URL']).to.equal('redis://redis:6379');
    expect(services).to.have.property('redis');
    for (const name of secrets) {
      expect(environment[name], `compose sets ${name}`).to.be.a('string');
      // The compose default must itself be long enough for HS256 (32 bytes).
      const fallback = /:-([^}]*)\}$/.exec(String(environment[name]))?.[1] ?? String(environment[name]);
      expect(fallback.length, `${name} default`).to.be.at.least(32);
    }
  });

  it('enables the ext-plugin phases (pre-req keeps the token cache alive) and every plugin the example routes use', () => {
    const plugins = apisixConfig['plugins'] as string[];
    expect(plugins).to.include.members(['ext-plugin-pre-req', 'ext-plugin-post-req']);
    for (const [file, route] of routeBodies()) {
      for (const name of Object.keys(asRecord(route['plugins'], `${file} plugins`))) {
        expect(plugins, `${file} uses ${name}`).to.include(name);
      }
    }
  });

  it('points APISIX at the compose etcd service and keeps a placeholder admin key', () => {
    const deployment = asRecord(apisixConfig['deployment'], 'deployment');
    const hosts = asRecord(deployment['etcd'], 'deployment.etcd')['host'] as string[];
    expect(hosts).to.deep.equal(['http://etcd:2379']);
    const etcd = asRecord(services['etcd'], 'compose service etcd');
    expect((etcd['command'] as string[]).join(' ')).to.contain('--advertise-client-urls=http://etcd:2379');
    const keys = asRecord(deployment['admin'], 'deployment.admin')['admin_key'] as Array<{ key: string }>;
    // The well-known key from APISIX's own examples must never ship.
    for (const { key } of keys) expect(key).to.be.a('string').and.not.to.equal('edd1c9f034335f136f87ad84b625c8f1');
  });

  it('compose builds the Dockerfile from the repository and mounts existing conf files at the paths the configs use', () => {
    const build = asRecord(apisixService['build'], 'apisix build');
    const context = resolve(DOCKER_DIR, String(build['context']));
    expect(context).to.equal(resolve(REPO_ROOT));
    expect(existsSync(join(context, String(build['dockerfile'])))).to.equal(true);

    const mounts = volumes();
    expect(mounts.length).to.be.greaterThan(0);
    for (const [source, dest] of mounts) {
      expect(existsSync(source), `mounted ${source}`).to.equal(true);
      expect(source.startsWith(join(REPO_ROOT, 'conf')), `${source} is under conf/`).to.equal(true);
      expect(posix.isAbsolute(dest)).to.equal(true);
    }
    const configMount = mounts.find(([, dest]) => dest === `${APISIX_HOME}/conf/config.yaml`);
    expect(configMount?.[0]).to.equal(join(REPO_ROOT, 'conf', 'apisix', 'config.yaml'));
    // Baked into the image too, so the image works without the compose file.
    expect(finalStage.copies.some((c) => c.from === null && c.sources[0] === 'conf/apisix/config.yaml' && c.dest === `${APISIX_HOME}/conf/config.yaml`)).to.equal(true);
  });

  it('example routes send traffic to the compose echo service on the port it listens on', () => {
    const echo = asRecord(services['echo'], 'compose service echo');
    const port = String(asRecord(echo['environment'], 'echo environment')['HTTP_PORT']);
    for (const [file, route] of routeBodies()) {
      const nodes = asRecord(asRecord(route['upstream'], `${file} upstream`)['nodes'], `${file} upstream nodes`);
      expect(Object.keys(nodes), file).to.deep.equal([`echo:${port}`]);
    }
  });
});
