/**
 * The built runner's life as APISIX manages it (protocol reference 1.3-1.7 and the
 * lifecycle edge cases of section 10): environment, socket file, restarts,
 * connection closes, conf expiry and SIGTERM. Each test drives a real child process
 * over a real Unix socket.
 */
import { expect } from 'chai';
import { existsSync, lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayClient, type PhaseConf } from '../../runner/gateway/gateway-client.js';
import { GatewayConnection } from '../../runner/gateway/gateway-connection.js';
import {
  encodeHTTPReqCallRequest,
  encodePrepareConfRequest,
  type HTTPReqCallRequestInput,
  type RunnerReply,
} from '../../runner/protocol/gateway-codec.js';
import { FrameDecoder } from '../../runner/protocol/frame-decoder.js';
import { RpcErrorCode } from '../../runner/protocol/messages.js';
import { RUNNER_NODE_FLAGS } from '../../runner/node-flags.js';
import { rawReply } from '../support/raw-reply.js';
import { RunnerProcess } from '../support/runner-process.js';

const BASE_REQUEST: Omit<HTTPReqCallRequestInput, 'confToken'> = { id: 1, method: 0, srcIp: null, path: '/p', args: [], headers: [] };

const STOP_ROUTE: PhaseConf = { key: 'route#1#ext-plugin-pre-req#1', conf: [{ name: 'probe-stop', value: '{"status":202}' }] };

function replyStatus(reply: RunnerReply): number | string {
  if (reply.type === 'req_call' && reply.action.kind === 'stop') return reply.action.status;
  return reply.type === 'error' ? `error ${reply.code}` : reply.type;
}


/** Whether a fresh connection to `path` is refused (ENOENT / ECONNREFUSED). */
function connectFails(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

function openRaw(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function problems(runner: RunnerProcess): Array<Record<string, unknown>> {
  return runner.records().filter((r) => r.level === 'warn' || r.level === 'error' || r.level === 'fatal');
}

describe('runner lifecycle (built runner as a child process)', function () {
  this.timeout(20000);
  const started: RunnerProcess[] = [];

  async function start(options: Parameters<typeof RunnerProcess.start>[0] = {}): Promise<RunnerProcess> {
    const runner = await RunnerProcess.start({ probePlugins: true, ...options });
    started.push(runner);
    return runner;
  }

  afterEach(async () => {
    // Newest first: a later runner may share an earlier runner's socket directory.
    for (const runner of started.splice(0).reverse()) await runner.cleanup();
  });

  describe('start-up', () => {
    // Every start-up case spawns at once: runner start-up dominates this file's run time.
    const envCases: Array<[string, Record<string, string>, RegExp]> = [
      ['APISIX_LISTEN_ADDRESS without unix:', { APISIX_LISTEN_ADDRESS: '/tmp/x.sock' }, /APISIX_LISTEN_ADDRESS must be "unix:" followed by an absolute socket path/],
      ['APISIX_LISTEN_ADDRESS with a relative path', { APISIX_LISTEN_ADDRESS: 'unix:runner.sock' }, /APISIX_LISTEN_ADDRESS must be "unix:"/],
      ['APISIX_CONF_EXPIRE_TIME not a number', { APISIX_CONF_EXPIRE_TIME: 'abc' }, /APISIX_CONF_EXPIRE_TIME must be a positive decimal integer/],
      ['APISIX_CONF_EXPIRE_TIME zero', { APISIX_CONF_EXPIRE_TIME: '0' }, /APISIX_CONF_EXPIRE_TIME must be a positive decimal integer/],
      ['APISIX_CONF_EXPIRE_TIME fractional', { APISIX_CONF_EXPIRE_TIME: '1.5' }, /APISIX_CONF_EXPIRE_TIME must be a positive decimal integer/],
      ['a socket directory that does not exist', { APISIX_LISTEN_ADDRESS: 'unix:/nonexistent-dir-for-test/x.sock' }, /nonexistent-dir-for-test/],
    ];
    const envResults = new Map<string, Promise<{ code: number | null; stderr: string }>>();
    const kept: RunnerProcess[] = [];
    const keptDirs: string[] = [];
    let staleRunner: RunnerProcess;
    let defaultPathRunner: RunnerProcess;
    let flaggedRunner: RunnerProcess;
    let defaultSocketPath: string;

    before(async function () {
      // Eight processes starting at once on a busy machine take a while.
      this.timeout(60000);
      for (const [title, env] of envCases) {
        const runner = RunnerProcess.spawn({ probePlugins: true, env });
        kept.push(runner);
        let stderr = '';
        runner.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        envResults.set(
          title,
          runner.exited.then((exit) => ({ code: exit.code, stderr })),
        );
      }
      const staleDir = mkdtempSync(join(tmpdir(), 'runner-life-'));
      keptDirs.push(staleDir);
      const stalePath = join(staleDir, 'stale.sock');
      writeFileSync(stalePath, 'left over by a crashed runner');
      const defaultDir = mkdtempSync(join(tmpdir(), 'runner-life-'));
      keptDirs.push(defaultDir);
      defaultSocketPath = join(defaultDir, 'default.sock');
      [staleRunner, defaultPathRunner, flaggedRunner] = await Promise.all([
        RunnerProcess.start({ probePlugins: true, socketPath: stalePath }),
        RunnerProcess.start({
          probePlugins: true,
          omitListenAddress: true,
          socketPath: defaultSocketPath,
          configYaml: `log:\n  level: info\nsocket:\n  default_path: ${defaultSocketPath}\n`,
        }),
        RunnerProcess.start({ nodeArgs: RUNNER_NODE_FLAGS }),
      ]);
      kept.push(staleRunner, defaultPathRunner, flaggedRunner);
    });

    after(async () => {
      for (const runner of kept) await runner.cleanup();
      for (const dir of keptDirs) rmSync(dir, { recursive: true, force: true });
    });

    it('says which recommended node flags it was started without, and nothing when it has them', async () => {
      const hint = (runner: RunnerProcess) => runner.records().find((record) => 'missing_node_flags' in record);
      // The hint follows "runner ready": wait for it rather than for time to pass.
      await staleRunner.waitForLine((line) => line.includes('missing_node_flags'));
      expect(hint(staleRunner)).to.deep.include({ missing_node_flags: [...RUNNER_NODE_FLAGS] });
      expect(hint(flaggedRunner)).to.equal(undefined);
    });

    it('collects start-up garbage before it is ready, and its RSS drops', async () => {
      const runner = await start({ configYaml: 'log:\n  level: debug\n' });
      const messages = runner.records().map((record) => record.msg);
      const collected = runner.records().find((record) => record.msg === 'start-up garbage collected');
      expect(collected, 'start-up collection logged').to.not.equal(undefined);
      expect(messages.indexOf('start-up garbage collected')).to.be.below(messages.indexOf('runner ready'));
      expect(collected!.rss_after_mib as number).to.be.below(collected!.rss_before_mib as number);
    });

    it('applies mode 0766 to the socket file after start', () => {
      const stat = lstatSync(staleRunner.socketPath);
      expect(stat.isSocket()).to.equal(true);
      expect(stat.mode & 0o777).to.equal(0o766);
    });

    it('edge 35: a stale file at the socket path is replaced at start', async () => {
      expect(lstatSync(staleRunner.socketPath).isSocket()).to.equal(true);
      const gateway = new GatewayClient(staleRunner.socketPath);
      expect(replyStatus((await gateway.reqCall(STOP_ROUTE, BASE_REQUEST)).reply)).to.equal(202);
      gateway.close();
    });

    it('listens on socket.default_path when APISIX_LISTEN_ADDRESS is unset (started by hand)', async () => {
      expect(lstatSync(defaultSocketPath).isSocket()).to.equal(true);
      expect(await rawReply(defaultSocketPath, encodePrepareConfRequest({ key: 'k', conf: [] }))).to.have.property('type', 'prepare_conf');
      expect(defaultPathRunner.child.exitCode).to.equal(null);
    });

    for (const [title, , message] of envCases) {
      it(`edge 36: ${title} -> non-zero exit, stderr names the variable and the expected format`, async () => {
        const result = await envResults.get(title)!;
        expect(result.code).to.be.a('number').and.not.equal(0);
        expect(result.stderr).to.match(message);
      });
    }
  });

  describe('connections closing', () => {
    let runner: RunnerProcess;
    before(async () => {
      runner = await RunnerProcess.start({ probePlugins: true, configYaml: 'log:\n  level: debug\n' });
    });
    after(async () => {
      await runner.cleanup();
    });

    it('edge 17: the gateway closing mid-call (during an ExtraInfo wait) is logged at debug, and the next connection works', async () => {
      const gateway = new GatewayClient(runner.socketPath);
      const token = await gateway.token({ key: 'ask', conf: [{ name: 'probe-ask', value: '{"vars":["v"]}' }] });
      const socket = await openRaw(runner.socketPath);
      const decoder = new FrameDecoder();
      const question = new Promise<number>((resolve) => socket.on('data', (chunk: Buffer) => decoder.push(Buffer.from(chunk)).forEach((f) => resolve(f.type))));
      socket.write(encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: token }));
      expect(await question).to.equal(3);
      socket.destroy();
      const line = await runner.waitForLine((l) => l.includes('gateway closed the connection during a call'));
      expect((JSON.parse(line) as { level: string }).level).to.be.oneOf(['debug', 'info']);
      expect(replyStatus((await gateway.reqCall(STOP_ROUTE, BASE_REQUEST)).reply)).to.equal(202);
      expect(problems(runner)).to.deep.equal([]);
      expect(runner.child.exitCode).to.equal(null);
      gateway.close();
    });

    it('edge 17/30: a plugin finishing after the gateway left writes nothing and the process stays up', async () => {
      const gateway = new GatewayClient(runner.socketPath);
      const late: PhaseConf = { key: 'late', conf: [{ name: 'probe-fail', value: '{"how":"delay","delay_ms":200,"ask_var":"in_flight"}' }] };
      const token = await gateway.token(late);
      const socket = await openRaw(runner.socketPath);
      const inFlight = new Promise<void>((resolve) => socket.once('data', () => resolve()));
      socket.write(encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: token }));
      await inFlight;
      socket.destroy(); // without answering: the plugin's question fails, then it sleeps 200 ms and finishes
      // A witness with the same delay, started later, ends after the abandoned call's plugin did.
      const witness = await gateway.reqCall({ key: 'witness', conf: [{ name: 'probe-fail', value: '{"how":"delay","delay_ms":200}' }] }, BASE_REQUEST);
      expect(witness.reply).to.have.property('type', 'req_call');
      expect(problems(runner)).to.deep.equal([]);
      expect(runner.child.exitCode).to.equal(null);
      gateway.close();
    });

    it('edge 18: connections closed while idle produce no warning or error log', async () => {
      // Half-close after a conversation: the runner's own end proves it saw the close.
      const socket = await openRaw(runner.socketPath);
      const decoder = new FrameDecoder();
      const replied = new Promise<void>((resolve) => socket.on('data', (chunk: Buffer) => decoder.push(Buffer.from(chunk)).length > 0 && resolve()));
      socket.write(encodePrepareConfRequest({ key: 'k', conf: [] }));
      await replied;
      const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
      socket.end();
      await ended;
      socket.destroy();
      // Abrupt closes, with and without a conversation.
      const silent = await openRaw(runner.socketPath);
      silent.destroy();
      const used = await GatewayConnection.open(runner.socketPath);
      await used.converse(encodePrepareConfRequest({ key: 'k2', conf: [] }));
      used.close();
      await used.whenClosed();
      // A later round trip lets the runner work through the close events first.
      expect(await rawReply(runner.socketPath, encodePrepareConfRequest({ key: 'k3', conf: [] }))).to.have.property('type', 'prepare_conf');
      expect(problems(runner)).to.deep.equal([]);
    });

  });

  it('edge 24/35: after a crash (SIGKILL) the next runner replaces the socket, the old token is unknown (error 2) and the gateway retry re-prepares', async () => {
    const first = await start();
    const gateway = new GatewayClient(first.socketPath);
    const oldToken = await gateway.token(STOP_ROUTE);
    expect(replyStatus((await gateway.reqCall(STOP_ROUTE, BASE_REQUEST)).reply)).to.equal(202);
    await first.stop('SIGKILL');
    expect(existsSync(first.socketPath), 'SIGKILL leaves the socket file behind').to.equal(true);

    const second = await start({ socketPath: first.socketPath });
    const reply = await rawReply(second.socketPath, encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: oldToken }));
    expect(reply).to.deep.equal({ type: 'error', code: RpcErrorCode.CONF_TOKEN_NOT_FOUND });
    // The gateway still holds the old token (and dead pooled connections): its retry must recover.
    gateway.close();
    expect(replyStatus((await gateway.reqCall(STOP_ROUTE, BASE_REQUEST)).reply)).to.equal(202);
    expect(gateway.prepareCount).to.equal(2);
    expect(await gateway.token(STOP_ROUTE)).to.not.equal(oldToken);
    gateway.close();
  });

  it('conf tokens expire 1.2 x APISIX_CONF_EXPIRE_TIME after their last use, not after creation', async function () {
    this.timeout(15000);
    const runner = await start({ env: { APISIX_CONF_EXPIRE_TIME: '1' } });
    const connection = await GatewayConnection.open(runner.socketPath);
    const { reply } = await connection.converse(encodePrepareConfRequest({ key: STOP_ROUTE.key, conf: STOP_ROUTE.conf }));
    if (reply.type !== 'prepare_conf') throw new Error('PrepareConf failed');
    const call = async () => replyStatus((await rawReply(runner.socketPath, encodeHTTPReqCallRequest({ ...BASE_REQUEST, confToken: reply.token }))));
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // Timing is what this test is about; the pauses are the point, not a wait for an event.
    await pause(800);
    expect(await call()).to.equal(202); // 0.8 s after creation
    await pause(800);
    expect(await call()).to.equal(202); // 1.6 s after creation, 0.8 s after last use: sliding
    await pause(1300);
    expect(await call()).to.equal(`error ${RpcErrorCode.CONF_TOKEN_NOT_FOUND}`); // 1.3 s idle > 1.2 s
    // The same key now gets a fresh, live token.
    const again = await connection.converse(encodePrepareConfRequest({ key: STOP_ROUTE.key, conf: STOP_ROUTE.conf }));
    if (again.reply.type !== 'prepare_conf') throw new Error('PrepareConf failed');
    expect(again.reply.token).to.not.equal(reply.token);
    connection.close();
  });

  it('edge 37: SIGTERM -> in-flight call answered, new connections refused, socket removed, exit 0 within 1 s', async () => {
    const runner = await start();
    const gateway = new GatewayClient(runner.socketPath);
    const route: PhaseConf = { key: 'slow', conf: [{ name: 'probe-fail', value: '{"how":"delay","delay_ms":300,"ask_var":"in_flight"}' }] };
    const token = await gateway.token(route);
    gateway.close();
    const connection = await GatewayConnection.open(runner.socketPath);
    let signalledAt = 0;
    const result = await connection.converse(encodeHTTPReqCallRequest({ ...BASE_REQUEST, id: 31, confToken: token }), async () => {
      // The call is inside the plugin now: stop the runner, and answer once it has begun stopping.
      signalledAt = performance.now();
      runner.child.kill('SIGTERM');
      await runner.waitForLine((l) => l.includes('"stopping"'));
      return null;
    });
    expect(result.reply).to.deep.equal({ type: 'req_call', id: 31, action: { kind: 'none' } });
    expect(await connectFails(runner.socketPath)).to.be.oneOf(['ENOENT', 'ECONNREFUSED']);
    const exit = await runner.exited;
    expect(performance.now() - signalledAt).to.be.below(1000);
    expect(exit.code).to.equal(0);
    expect(existsSync(runner.socketPath)).to.equal(false);
    connection.close();
  });

  it('on exit leaves the socket alone when another runner has replaced it (reload)', async () => {
    const oldRunner = await start();
    const newRunner = await start({ socketPath: oldRunner.socketPath });
    const replacedIdentity = statSync(newRunner.socketPath).ino;
    const exit = await oldRunner.stop('SIGTERM');
    expect(exit.code).to.equal(0);
    expect(existsSync(newRunner.socketPath)).to.equal(true);
    expect(statSync(newRunner.socketPath).ino).to.equal(replacedIdentity);
    const gateway = new GatewayClient(newRunner.socketPath);
    expect(replyStatus((await gateway.reqCall(STOP_ROUTE, BASE_REQUEST)).reply)).to.equal(202);
    gateway.close();
    await oldRunner.waitForLine((l) => l.includes('belongs to another runner'));
  });
});
