import { expect } from 'chai';
import { GatewayClient, type PhaseConf } from '../../runner/gateway/gateway-client.js';
import { RunnerProcess } from '../support/runner-process.js';

describe('runner process (smoke)', () => {
  let runner: RunnerProcess;
  let gateway: GatewayClient;

  before(async () => {
    runner = await RunnerProcess.start({ probePlugins: true });
    gateway = new GatewayClient(runner.socketPath);
  });

  after(async () => {
    gateway.close();
    await runner.cleanup();
  });

  it('prepares a conf and answers a call with the plugin chain result', async () => {
    const phase: PhaseConf = {
      key: 'route#1#ext-plugin-pre-req#1',
      conf: [{ name: 'probe-rewrite', value: JSON.stringify({ set_headers: { 'x-a': '1' }, path: '/new' }) }],
    };
    const { reply } = await gateway.reqCall(phase, { id: 7, method: 0, srcIp: null, path: '/old', args: [], headers: [] });
    expect(reply.type).to.equal('req_call');
    if (reply.type !== 'req_call' || reply.action.kind !== 'rewrite') throw new Error('expected a rewrite');
    expect(reply.id).to.equal(7);
    expect(Buffer.from(reply.action.path!).toString()).to.equal('/new');
    expect(reply.action.headers.map((e) => [Buffer.from(e.name).toString(), Buffer.from(e.value!).toString()])).to.deep.equal([['x-a', '1']]);
  });

  it('stops within one second of SIGTERM with exit code 0', async () => {
    const started = Date.now();
    const exit = await runner.stop('SIGTERM');
    expect(exit.code).to.equal(0);
    expect(Date.now() - started).to.be.below(1000);
  });
});
