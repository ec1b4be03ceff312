/**
 * Replies leave at the end of the event-loop turn that produced them (end-of-turn.ts):
 * calls that arrive together are all handled before any of their replies is written.
 * A runner in this process over real Unix sockets, so the test can see the order of the
 * server side's reads and writes.
 */
import { expect } from 'chai';
import { Socket } from 'node:net';
import { GatewayConnection } from '../../../runner/gateway/gateway-connection.js';
import type { RunningRunner } from '../../../runner/main.js';
import { decodeRunnerReply, encodeHTTPReqCallRequest, encodePrepareConfRequest } from '../../../runner/protocol/gateway-codec.js';
import { writeAtEndOfTurn } from '../../../runner/transport/end-of-turn.js';
import { startInProcessRunner, type InProcessRunner } from '../../support/in-process-runner.js';

describe('replies leave at the end of the event-loop turn', () => {
  let inProcess: InProcessRunner;
  let runner: RunningRunner;

  before(async () => {
    inProcess = await startInProcessRunner('end-of-turn-');
    runner = inProcess.runner;
  });

  after(async () => {
    await inProcess.close();
  });

  it('writeAtEndOfTurn calls its owners after the turn\'s microtasks, once each, in order', async () => {
    const calls: string[] = [];
    writeAtEndOfTurn({ writeHeldReply: () => calls.push('a') });
    writeAtEndOfTurn({ writeHeldReply: () => calls.push('b') });
    await Promise.resolve();
    expect(calls, 'nothing written within the turn').to.deep.equal([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).to.deep.equal(['a', 'b']);
  });

  it('two calls read in one turn are both handled before either reply is written', async () => {
    const prepare = await GatewayConnection.open(runner.socketPath);
    prepare.write(encodePrepareConfRequest({ key: 'turn', conf: [{ name: 'probe-stop', value: '{"status":203}' }] }));
    const prepared = decodeRunnerReply(...frameParts(await prepare.readFrame(5000)));
    prepare.close();
    if (prepared.type !== 'prepare_conf') throw new Error(`unexpected reply ${prepared.type}`);

    const clients = [await GatewayConnection.open(runner.socketPath), await GatewayConnection.open(runner.socketPath)];
    // The server side of each connection: reads are 'data' events, replies are writes.
    const events: string[] = [];
    const originalEmit = Socket.prototype.emit;
    const originalWrite = Socket.prototype.write;
    const serverSide = (socket: Socket) => (socket as Socket & { server?: unknown }).server != null;
    Socket.prototype.emit = function (this: Socket, event: string | symbol, ...args: unknown[]) {
      if (event === 'data' && serverSide(this)) events.push('read');
      return originalEmit.apply(this, [event, ...args] as Parameters<typeof originalEmit>);
    } as typeof Socket.prototype.emit;
    Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
      if (serverSide(this)) events.push('write');
      return (originalWrite as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof Socket.prototype.write;
    try {
      // Both requests are in the server's receive buffers before its next poll.
      clients.forEach((client, i) => client.write(encodeHTTPReqCallRequest({ id: i + 1, confToken: prepared.token, method: 0, srcIp: null, path: '/', args: [], headers: [] })));
      const replies = await Promise.all(clients.map(async (client) => decodeRunnerReply(...frameParts(await client.readFrame(5000)))));
      for (const reply of replies) expect(reply.type === 'req_call' && reply.action.kind === 'stop' ? reply.action.status : reply.type).to.equal(203);
    } finally {
      Socket.prototype.emit = originalEmit;
      Socket.prototype.write = originalWrite;
      for (const client of clients) client.close();
    }
    expect(events).to.deep.equal(['read', 'read', 'write', 'write']);
  });
});

function frameParts(frame: { type: number; payload: Uint8Array }): [number, Uint8Array] {
  return [frame.type, frame.payload];
}
