import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { GatewayConnection } from '../../runner/gateway/gateway-connection.js';
import { encodeHTTPReqCallRequest, encodePrepareConfRequest } from '../../runner/protocol/gateway-codec.js';
import { RunnerProcess } from '../support/runner-process.js';

const CONF = [{ name: 'probe-stop', value: JSON.stringify({ status: 418, body: 'teapot' }) }];

function call(token: number, id: number): Buffer {
  return encodeHTTPReqCallRequest({ id, confToken: token, method: 0, srcIp: null, path: '/', args: [], headers: [] });
}

async function prepare(socketPath: string, key: string): Promise<number> {
  const connection = await GatewayConnection.open(socketPath);
  const { reply } = await connection.converse(encodePrepareConfRequest({ key, conf: CONF }));
  connection.close();
  if (reply.type !== 'prepare_conf') throw new Error(`PrepareConf failed: ${JSON.stringify(reply)}`);
  return reply.token;
}

function workerPids(runner: RunnerProcess): number[] {
  return runner.records().filter((r) => r.msg === 'worker ready').map((r) => r.pid as number);
}

describe('runner with several worker processes (workers: 2)', () => {
  let runner: RunnerProcess;

  before(async () => {
    runner = await RunnerProcess.start({ probePlugins: true, configYaml: 'log:\n  level: info\nworkers: 2\n' });
  });

  after(async () => {
    await runner.cleanup();
  });

  it('serves a token prepared on one connection on every other connection, whichever worker takes it', async () => {
    const token = await prepare(runner.socketPath, 'route#1#ext-plugin-pre-req#1');
    const connections = await Promise.all(Array.from({ length: 16 }, () => GatewayConnection.open(runner.socketPath)));
    const replies = await Promise.all(connections.map((c, i) => c.converse(call(token, i))));
    for (const { reply } of replies) {
      expect(reply.type, JSON.stringify(reply)).to.equal('req_call');
      if (reply.type === 'req_call') expect(reply.action.kind).to.equal('stop');
    }
    connections.forEach((c) => c.close());
    expect(workerPids(runner)).to.have.length(2);
  });

  it('answers a repeated key with the same token from any worker', async () => {
    const first = await prepare(runner.socketPath, 'route#2#ext-plugin-pre-req#1');
    const again = await Promise.all(Array.from({ length: 8 }, () => prepare(runner.socketPath, 'route#2#ext-plugin-pre-req#1')));
    expect(new Set(again)).to.deep.equal(new Set([first]));
  });

  it('still answers CONF_TOKEN_NOT_FOUND for a token nobody issued', async () => {
    const connection = await GatewayConnection.open(runner.socketPath);
    const { reply } = await connection.converse(call(12345, 1));
    expect(reply).to.deep.equal({ type: 'error', code: 2 });
  });

  it('replaces a worker that dies, keeping the socket and the tokens', async () => {
    const token = await prepare(runner.socketPath, 'route#3#ext-plugin-pre-req#1');
    const [victim] = workerPids(runner);
    const replaced = runner.waitForLine((line) => line.includes('"worker ready"') && !workerPids(runner).slice(0, 2).includes(JSON.parse(line).pid));
    process.kill(victim!, 'SIGKILL');
    await replaced;
    const connections = await Promise.all(Array.from({ length: 8 }, () => GatewayConnection.open(runner.socketPath)));
    const replies = await Promise.all(connections.map((c, i) => c.converse(call(token, i))));
    expect(replies.map((r) => r.reply.type)).to.deep.equal(Array(8).fill('req_call'));
    connections.forEach((c) => c.close());
  });

  it('stops on SIGTERM within one second, workers included, and removes its socket', async () => {
    const pids = workerPids(runner);
    const started = Date.now();
    const exit = await runner.stop('SIGTERM');
    expect(exit.code).to.equal(0);
    expect(Date.now() - started).to.be.below(1000);
    expect(existsSync(runner.socketPath)).to.equal(false);
    for (const pid of pids) {
      expect(() => process.kill(pid, 0), `worker ${pid} still alive`).to.throw();
    }
  });
});
