import { expect } from 'chai';
import { pino } from 'pino';
import { CallScope, type ExtraInfoPort } from '../../../runner/core/call-scope.js';
import { Dispatcher, toStopAction } from '../../../runner/core/dispatcher.js';
import { PluginRegistry } from '../../../runner/core/plugin-registry.js';
import { rpcErrorCodeFor } from '../../../runner/core/rpc-errors.js';
import { ErrorCode, RunnerError, isRunnerError } from '../../../runner/errors.js';
import { stop, type AnyPlugin } from '../../../runner/plugin-api/index.js';
import { RpcErrorCode, type HTTPReqCallRequest, type HTTPRespCallRequest, type RawEntry } from '../../../runner/protocol/messages.js';

const silent = pino({ level: 'silent' });

const port: ExtraInfoPort = { ask: () => Promise.resolve(null) };

function entry(name: string, value: string): RawEntry {
  return { name: Buffer.from(name), value: Buffer.from(value) };
}

function dispatcherWith(...plugins: AnyPlugin[]): Dispatcher {
  const registry = new PluginRegistry(silent);
  for (const plugin of plugins) registry.register(plugin);
  return new Dispatcher({ registry, confExpireSeconds: 3600, maxConfEntries: 100 });
}

const reqCall = (confToken: number): HTTPReqCallRequest => ({ id: 9, confToken, method: 0, srcIp: null, path: Buffer.from('/'), args: [], headers: [] });
const respCall = (confToken: number, headers: RawEntry[] = []): HTTPRespCallRequest => ({ id: 9, confToken, status: 200, headers });
const scope = () => new CallScope(port, 9, 'route#1', silent);

function expectRunnerError(fn: () => unknown, code: ErrorCode): void {
  try {
    fn();
  } catch (err) {
    expect(isRunnerError(err, code), String(err)).to.equal(true);
    return;
  }
  expect.fail(`expected ${code}`);
}

const stopper: AnyPlugin = { name: 'stopper', confSchema: { type: 'object', required: ['status'], properties: { status: { type: 'integer' } } }, onRequest: (_req, conf) => stop((conf as { status: number }).status) };

describe('core/dispatcher', () => {
  it('answers a repeated key with the same token and a keyless PrepareConf with a new one', async () => {
    const dispatcher = dispatcherWith(stopper);
    const conf = [entry('stopper', '{"status":200}')];
    const a = await dispatcher.prepareConf({ key: Buffer.from('route#1#ext-plugin-pre-req#1'), conf });
    const b = await dispatcher.prepareConf({ key: Buffer.from('route#1#ext-plugin-pre-req#1'), conf });
    const c = await dispatcher.prepareConf({ key: null, conf });
    const d = await dispatcher.prepareConf({ key: null, conf });
    expect(b).to.equal(a);
    expect(new Set([a, c, d]).size).to.equal(3);
  });

  it('throws CONF_TOKEN_NOT_FOUND for an unknown token, mapped to RPC code 2', async () => {
    const dispatcher = dispatcherWith(stopper);
    let failure: unknown;
    try {
      await dispatcher.chainFor(12345);
    } catch (err) {
      failure = err;
    }
    expect(isRunnerError(failure, ErrorCode.CONF_TOKEN_NOT_FOUND)).to.equal(true);
    expect(rpcErrorCodeFor(new RunnerError(ErrorCode.CONF_TOKEN_NOT_FOUND, 'x'))).to.equal(RpcErrorCode.CONF_TOKEN_NOT_FOUND);
  });

  it('fails closed: a rejected conf answers every request call with a 503 JSON Stop and fails response calls', async () => {
    const dispatcher = dispatcherWith(stopper);
    const token = await dispatcher.prepareConf({ key: Buffer.from('route#2'), conf: [entry('stopper', '{"status":"s3cr3t"}')] });
    const action = await dispatcher.handleReqCall(reqCall(token), await dispatcher.chainFor(token), scope());
    if (action.kind !== 'stop') throw new Error('expected a Stop');
    expect(action.status).to.equal(503);
    expect(action.headers).to.deep.equal([{ name: 'content-type', value: 'application/json' }]);
    const body = Buffer.from(action.body!).toString();
    expect(JSON.parse(body)).to.have.property('error', 'runner_misconfigured');
    expect(body).not.to.include('s3cr3t');
    let failure: unknown;
    await Promise.resolve(dispatcher.handleRespCall(respCall(token), await dispatcher.chainFor(token), scope())).catch((err: unknown) => (failure = err));
    expect(isRunnerError(failure, ErrorCode.PLUGIN_FAILED)).to.equal(true);
  });

  it('holds calls on a token until its async prepare settles', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: AnyPlugin = {
      name: 'slow',
      confSchema: {},
      prepare: async () => {
        await gate;
        return 'ready';
      },
      onRequest: (_req, prepared) => stop(prepared === 'ready' ? 204 : 500),
    };
    const dispatcher = dispatcherWith(slow);
    const token = await dispatcher.prepareConf({ key: null, conf: [entry('slow', '')] });
    let answered = false;
    const pending = Promise.resolve(dispatcher.handleReqCall(reqCall(token), await dispatcher.chainFor(token), scope())).then((action) => {
      answered = true;
      return action;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).to.equal(false);
    release();
    expect(await pending).to.include({ kind: 'stop', status: 204 });
  });

  it('runs response hooks in order and returns one merged reply', async () => {
    const order: string[] = [];
    const first: AnyPlugin = { name: 'first', confSchema: {}, onResponse: (res) => void (order.push('first'), res.headers.set('x-first', '1')) };
    const second: AnyPlugin = {
      name: 'second',
      confSchema: {},
      onResponse: async (res) => {
        order.push(`second saw ${res.headers.get('x-first')}`);
        res.setStatus(201);
      },
    };
    const dispatcher = dispatcherWith(first, second);
    const token = await dispatcher.prepareConf({ key: null, conf: [entry('first', ''), entry('second', '')] });
    const reply = await dispatcher.handleRespCall(respCall(token, [entry('Content-Type', 'text/plain')]), await dispatcher.chainFor(token), scope());
    expect(order).to.deep.equal(['first', 'second saw 1']);
    expect(reply.status).to.equal(201);
    expect(reply.headers).to.have.length(2);
  });

  it('answers a response call on a chain without response hooks and without headers with an empty reply', async () => {
    const dispatcher = dispatcherWith(stopper);
    const token = await dispatcher.prepareConf({ key: null, conf: [entry('stopper', '{"status":200}')] });
    expect(await dispatcher.handleRespCall(respCall(token), await dispatcher.chainFor(token), scope())).to.deep.equal({ status: 0, headers: null, body: null });
  });

  describe('toStopAction', () => {
    it('keeps the status as is and omits an empty body', () => {
      expect(toStopAction(stop(418, { body: '' }))).to.deep.equal({ kind: 'stop', status: 418, headers: [], body: null });
      expect(toStopAction(stop(302, { headers: [['location', '/x']], body: 'moved' }))).to.deep.equal({
        kind: 'stop',
        status: 302,
        headers: [{ name: 'location', value: '/x' }],
        body: Buffer.from('moved'),
      });
    });

    it('refuses a status outside 100-599 and header values with CR/LF/NUL', () => {
      for (const status of [0, 99, 600, 404.5]) expectRunnerError(() => toStopAction(stop(status)), ErrorCode.PLUGIN_FAILED);
      expectRunnerError(() => toStopAction(stop(200, { headers: [['x-a', 'a\r\nb']] })), ErrorCode.PLUGIN_FAILED);
      expectRunnerError(() => toStopAction(stop(200, { headers: [['x-a', 'a\u0000']] })), ErrorCode.PLUGIN_FAILED);
      expectRunnerError(() => toStopAction(stop(200, { headers: [['x:a', 'v']] })), ErrorCode.PLUGIN_FAILED);
    });
  });

  describe('rpcErrorCodeFor', () => {
    it('maps protocol faults to 0, unknown tokens to 2 and everything else to 1', () => {
      const code = (c: ErrorCode) => rpcErrorCodeFor(new RunnerError(c, 'x'));
      expect(code(ErrorCode.PROTOCOL_MALFORMED)).to.equal(RpcErrorCode.BAD_REQUEST);
      expect(code(ErrorCode.PROTOCOL_EMPTY_FRAME)).to.equal(RpcErrorCode.BAD_REQUEST);
      expect(code(ErrorCode.PROTOCOL_UNEXPECTED_FRAME)).to.equal(RpcErrorCode.BAD_REQUEST);
      expect(code(ErrorCode.PROTOCOL_FRAME_TOO_LARGE)).to.equal(RpcErrorCode.BAD_REQUEST);
      expect(code(ErrorCode.CONF_TOKEN_NOT_FOUND)).to.equal(RpcErrorCode.CONF_TOKEN_NOT_FOUND);
      expect(code(ErrorCode.PROTOCOL_REPLY_TOO_LARGE)).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
      expect(code(ErrorCode.PLUGIN_TIMEOUT)).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
      expect(code(ErrorCode.PLUGIN_FAILED)).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
      expect(rpcErrorCodeFor(new Error('plain'))).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
      expect(rpcErrorCodeFor('thrown string')).to.equal(RpcErrorCode.SERVICE_UNAVAILABLE);
    });
  });
});
