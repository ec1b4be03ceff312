/**
 * Fault injection against the BUILT runner process, for the faults of the hardening
 * issue that no other test covers (docs/security.md lists where the rest live:
 * Redis down, slow, restarted and wrong password at the checker level in
 * test/integration/revocation/failure.test.ts; Redis down through the runner and a
 * jwks_uri unknown-kid refresh in test/e2e/jwt-auth-socket.test.ts; JWKS error
 * statuses, bad JSON, oversize and timeouts at function level in
 * test/unit/jwt-auth/jwks-remote.test.ts; the gateway closing during an ExtraInfo
 * wait, a plugin finishing after the gateway left, and SIGTERM with one call in
 * flight in test/e2e/runner-lifecycle.test.ts; plugins that throw, reject or never
 * settle in test/e2e/runner-protocol.test.ts).
 *
 * Every case has a defined outcome, asserted: the reply (or error code) the gateway
 * gets, how fast, what the log says at which level, and that the process keeps
 * serving.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { GatewayClient, type PhaseConf } from '../../runner/gateway/gateway-client.js';
import { GatewayConnection, type ConversationResult } from '../../runner/gateway/gateway-connection.js';
import {
  decodeRunnerReply,
  encodeExtraInfoAnswer,
  encodeHTTPReqCallRequest,
  encodePrepareConfRequest,
  type HTTPReqCallRequestInput,
} from '../../runner/protocol/gateway-codec.js';
import type { OutEntry } from '../../runner/protocol/messages.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { REPO_ROOT, RunnerProcess } from '../support/runner-process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { HS256_SECRET, mint, testKeys } from '../support/jwt-kit.js';

const FAULT_PLUGINS = join(REPO_ROOT, 'dist', 'test', 'fixtures', 'plugins', 'fault-plugins.js');

// ---- helpers ---------------------------------------------------------------------------------

let routeSequence = 0;
function phase(name: string, value: unknown): PhaseConf {
  routeSequence += 1;
  return { key: `route#fault-${routeSequence}#ext-plugin-pre-req#1`, conf: [{ name, value: JSON.stringify(value) }] };
}

function request(id: number, headers: readonly OutEntry[] = []): Omit<HTTPReqCallRequestInput, 'confToken'> {
  return { id, method: 0, srcIp: Uint8Array.of(127, 0, 0, 1), path: '/fault', args: [], headers };
}

function bearer(token: string): OutEntry[] {
  return [{ name: 'authorization', value: `Bearer ${token}` }];
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The action kind of a req_call reply, `error:<code>` for an error frame. */
function outcomeOf(result: ConversationResult): string {
  const { reply } = result;
  if (reply.type === 'error') return `error:${reply.code}`;
  if (reply.type !== 'req_call') return `unexpected:${reply.type}`;
  return reply.action.kind === 'stop' ? `stop:${reply.action.status}` : reply.action.kind;
}

function stopJson(result: ConversationResult): Record<string, unknown> {
  const { reply } = result;
  if (reply.type !== 'req_call' || reply.action.kind !== 'stop' || reply.action.body === null) throw new Error(`expected a Stop with a body, got ${outcomeOf(result)}`);
  return JSON.parse(Buffer.from(reply.action.body).toString('utf8')) as Record<string, unknown>;
}

/** Log records at warn level or above among `lines`. */
function problems(lines: readonly string[]): string[] {
  return lines.filter((line) => /"level":"(warn|error|fatal)"/.test(line));
}

function dumpOnFailure(runner: () => RunnerProcess | undefined): void {
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(runner()?.lines.slice(-40).join('\n'));
  });
}

// ---- tests -----------------------------------------------------------------------------------

describe('fault injection (built runner as a child process)', function () {
  this.timeout(30000);

  describe('the gateway hanging up', () => {
    let runner: RunnerProcess;
    let gateway: GatewayClient;
    const ask = phase('probe-ask', { vars: ['remote_addr'] });
    const slow = phase('probe-fail', { how: 'delay', delay_ms: 300 });
    const stopper = phase('probe-stop', { status: 418, body: 'short and stout' });
    dumpOnFailure(() => runner);

    before(async () => {
      runner = await RunnerProcess.start({ probePlugins: true, configYaml: 'log:\n  level: debug\n' });
      gateway = new GatewayClient(runner.socketPath);
    });
    after(async () => {
      gateway?.close();
      await runner?.cleanup();
    });

    it('closing in the middle of an ExtraInfo answer frame: the call is dropped quietly (debug), a call in flight elsewhere completes, the runner keeps serving', async () => {
      const mark = runner.lines.length;
      const token = await gateway.token(ask);
      const connection = await GatewayConnection.open(runner.socketPath);
      connection.write(encodeHTTPReqCallRequest({ ...request(1), confToken: token }));
      const question = await connection.readFrame(5000);
      expect(decodeRunnerReply(question.type, question.payload)).to.deep.include({ type: 'extra_info' });

      const elsewhere = gateway.reqCall(slow, request(2));
      const answer = encodeExtraInfoAnswer(Buffer.from('10.1.2.3'));
      connection.write(answer.subarray(0, 4 + ((answer.length - 4) >> 1))); // header and half the payload
      connection.close();
      await runner.waitForLine((line) => line.includes('gateway closed the connection during a call'));

      expect(outcomeOf(await elsewhere)).to.equal('none');
      expect(outcomeOf(await gateway.reqCall(stopper, request(3)))).to.equal('stop:418');
      expect(problems(runner.lines.slice(mark))).to.deep.equal([]);
    });

    it('closing right after sending a call, before reading the answer (async and sync plugins, 50 times): nothing above debug, the runner keeps serving', async () => {
      const mark = runner.lines.length;
      const slowToken = await gateway.token(slow);
      const stopToken = await gateway.token(stopper);
      const abandoned = runner.waitForLine((line) => line.includes('gateway closed the connection during a call'));
      for (let i = 0; i < 50; i++) {
        for (const confToken of [slowToken, stopToken]) {
          const connection = await GatewayConnection.open(runner.socketPath);
          connection.write(encodeHTTPReqCallRequest({ ...request(100 + i), confToken }));
          connection.close();
        }
      }
      // The async call saw the gateway leave while its plugin was still running.
      await abandoned;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => gateway.reqCall(i % 2 === 0 ? stopper : slow, request(200 + i))));
      expect(results.map(outcomeOf)).to.deep.equal(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'stop:418' : 'none')));
      expect(runner.child.exitCode).to.equal(null);
      expect(problems(runner.lines.slice(mark))).to.deep.equal([]);
    });
  });

  describe('an event-loop stall in one call', () => {
    let runner: RunnerProcess;
    let gateway: GatewayClient;
    dumpOnFailure(() => runner);

    before(async () => {
      runner = await RunnerProcess.start({
        probePlugins: true,
        args: ['--plugin', FAULT_PLUGINS],
        configYaml: 'log:\n  level: info\nlimits:\n  call_timeout_ms: 1000\n',
      });
      gateway = new GatewayClient(runner.socketPath);
    });
    after(async () => {
      gateway?.close();
      await runner?.cleanup();
    });

    it('a 400 ms synchronous stall delays 20 concurrent calls on other connections by about the stall only: all answered correctly within the 1000 ms per-call deadline', async () => {
      const stall = phase('probe-stall', { stall_ms: 400, ask_var: 'remote_addr' });
      const delay = phase('probe-fail', { how: 'delay', delay_ms: 100 });
      const stopper = phase('probe-stop', { status: 403 });
      const tokens = { stall: await gateway.token(stall), delay: await gateway.token(delay), stop: await gateway.token(stopper) };

      // Connections for the other calls are open before the stall starts.
      const others = await Promise.all(Array.from({ length: 20 }, () => GatewayConnection.open(runner.socketPath)));
      const stalled = await GatewayConnection.open(runner.socketPath);
      stalled.write(encodeHTTPReqCallRequest({ ...request(1), confToken: tokens.stall }));
      expect((await stalled.readFrame(5000)).type).to.equal(3);

      const stallStarted = performance.now();
      stalled.write(encodeExtraInfoAnswer(Buffer.from('127.0.0.1'))); // the runner now spins for 400 ms
      const timed = others.map(async (connection, i) => {
        const started = performance.now();
        const result = await connection.converse(encodeHTTPReqCallRequest({ ...request(10 + i), confToken: i % 2 === 0 ? tokens.delay : tokens.stop }));
        return { outcome: outcomeOf(result), ms: performance.now() - started };
      });
      const stalledFrame = await stalled.readFrame(5000);
      const stalledMs = performance.now() - stallStarted;
      const results = await Promise.all(timed);

      expect(decodeRunnerReply(stalledFrame.type, stalledFrame.payload)).to.deep.include({ type: 'req_call' });
      expect(stalledMs).to.be.at.least(390);
      expect(results.map((r) => r.outcome)).to.deep.equal(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'none' : 'stop:403')));
      // Serialised behind each other the 10 delayed calls alone would take 1 s; they run side by side after the stall.
      const slowest = Math.max(...results.map((r) => r.ms));
      expect(slowest, `slowest other call ${Math.round(slowest)} ms`).to.be.below(1000);
      for (const connection of [...others, stalled]) connection.close();
    });
  });

  describe('SIGTERM under load', () => {
    let runner: RunnerProcess;
    dumpOnFailure(() => runner);

    after(async () => {
      await runner?.cleanup();
    });

    it('200 connections, 100 calls in flight: every call in flight is answered, idle connections are closed, new connections are refused or dropped unserved, exit 0 within 1 s, socket removed', async () => {
      runner = await RunnerProcess.start({ probePlugins: true, configYaml: 'log:\n  level: info\nlimits:\n  shutdown_grace_ms: 700\n' });
      const gateway = new GatewayClient(runner.socketPath);
      const busy = phase('probe-fail', { how: 'delay', delay_ms: 300, ask_var: 'remote_addr' });
      const token = await gateway.token(busy);
      gateway.close();

      const connections = await Promise.all(Array.from({ length: 200 }, () => GatewayConnection.open(runner.socketPath)));
      const inFlight = connections.slice(0, 100);
      const idle = connections.slice(100);
      // Each call is inside the runner once its ExtraInfo question has arrived; answer it and the plugin waits 300 ms.
      await Promise.all(
        inFlight.map(async (connection, i) => {
          connection.write(encodeHTTPReqCallRequest({ ...request(i + 1), confToken: token }));
          const question = await connection.readFrame(5000);
          expect(question.type).to.equal(3);
          connection.write(encodeExtraInfoAnswer(Buffer.from('127.0.0.1')));
        }),
      );
      const replies = inFlight.map((connection) => connection.readFrame(5000));
      const idleClosed = idle.map((connection) => connection.whenClosed());

      const signalled = performance.now();
      const exited = runner.stop('SIGTERM');
      await runner.waitForLine((line) => line.includes('"stopping"'));
      // A connection attempted now is refused, or accepted by the kernel and then dropped
      // unserved: a PrepareConf sent on it never gets an answer.
      const refused = await new Promise<string>((resolve) => {
        const socket = connect({ path: runner.socketPath });
        socket.once('connect', () => {
          socket.write(encodePrepareConfRequest({ key: 'route#late#ext-plugin-pre-req#1', conf: [] }));
          socket.once('data', () => resolve('served'));
          socket.once('close', () => resolve('dropped'));
        });
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });

      const frames = await Promise.all(replies);
      await Promise.all(idleClosed);
      const exit = await exited;
      const elapsed = performance.now() - signalled;

      expect(refused).to.be.oneOf(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'dropped']);
      expect(frames.map((frame) => decodeRunnerReply(frame.type, frame.payload).type)).to.deep.equal(Array.from({ length: 100 }, () => 'req_call'));
      expect(exit).to.deep.equal({ code: 0, signal: null });
      expect(elapsed, `exit after ${Math.round(elapsed)} ms`).to.be.below(1000);
      expect(existsSync(runner.socketPath)).to.equal(false);
      for (const connection of connections) connection.close();
    });
  });

  describe('JWKS endpoint faults through the runner (jwks_uri, no cached copy yet)', () => {
    let runner: RunnerProcess;
    let gateway: GatewayClient;
    let server: Server;
    let base: string;
    const held: ServerResponse[] = [];
    const rsa = testKeys.rsa();
    const other = testKeys.ec256();
    const jwk = { ...rsa.publicJwk, kid: 'k1', alg: 'RS256', use: 'sig' };
    dumpOnFailure(() => runner);

    const routes: Record<string, (res: ServerResponse) => void> = {
      '/ok': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
      '/slow': (res) => void held.push(res),
      '/500': (res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error'),
      '/html': (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><body>maintenance</body></html>'),
      '/empty': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}'),
      '/other-kid': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [{ ...rsa.publicJwk, kid: 'k2', alg: 'RS256' }] })),
    };

    before(async () => {
      server = createServer((req: IncomingMessage, res: ServerResponse) => {
        const handler = routes[req.url ?? ''];
        if (handler === undefined) res.writeHead(404).end();
        else handler(res);
      });
      server.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      runner = await RunnerProcess.start({ configYaml: 'log:\n  level: info\n' });
      gateway = new GatewayClient(runner.socketPath);
    });
    after(async () => {
      gateway?.close();
      await runner?.cleanup();
      for (const res of held) res.destroy();
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    });

    const route = (path: string): PhaseConf =>
      phase('jwt-auth', { algorithms: ['RS256'], jwks_uri: `${base}${path}`, allow_insecure_jwks_uri: true, jwks_timeout_ms: 200, error_detail: 'verbose' });
    const token = (): string => mint({ alg: 'RS256', kid: 'k1' }, { sub: 'alice', iat: nowSeconds() - 5, exp: nowSeconds() + 600 }, rsa.privateKey);

    it('a healthy endpoint verifies (the baseline the faults are measured against)', async () => {
      const result = await gateway.reqCall(route('/ok'), request(1, bearer(token())));
      expect(outcomeOf(result)).to.equal('rewrite');
    });

    for (const [path, what] of [
      ['/500', 'HTTP 500'],
      ['/html', 'an HTML page'],
      ['/empty', 'an empty key set'],
    ] as const) {
      it(`${what}: the call fails closed with error code 1 (gateway 503), the warn log names the endpoint but no token`, async () => {
        const mark = runner.lines.length;
        const jwt = token();
        const result = await gateway.reqCall(route(path), request(2, bearer(jwt)));
        expect(outcomeOf(result)).to.equal('error:1');
        const warned = await runner.waitForLine((line) => line.includes('JWK Set fetch failed') && line.includes(path));
        expect(warned).to.include('"level":"warn"');
        expect(runner.lines.slice(mark).join('\n')).to.not.include(jwt.split('.')[2]);
      });
    }

    it('a slow endpoint (never answers): error code 1 after the 200 ms jwks_timeout_ms, not the 56 s call deadline', async () => {
      const started = performance.now();
      const result = await gateway.reqCall(route('/slow'), request(3, bearer(token())));
      const ms = performance.now() - started;
      expect(outcomeOf(result)).to.equal('error:1');
      expect(ms, `answered after ${Math.round(ms)} ms`).to.be.below(1500);
    });

    it('a key set without the token\'s kid: one refresh, then 401 invalid_token "no key for this alg and kid"', async () => {
      const result = await gateway.reqCall(route('/other-kid'), request(4, bearer(token())));
      expect(outcomeOf(result)).to.equal('stop:401');
      expect(stopJson(result)).to.deep.equal({ error: 'invalid_token', error_description: 'no key for this alg and kid' });
      // A token of an unrelated key type is refused the same way, never a 5xx.
      const ecToken = mint({ alg: 'ES256', kid: 'k1' }, { sub: 'x', exp: nowSeconds() + 60 }, other.privateKey);
      expect(outcomeOf(await gateway.reqCall(route('/other-kid'), request(5, bearer(ecToken))))).to.equal('stop:401');
    });
  });

  describe('Redis faults through the runner', () => {
    let redis: RedisServerHandle;
    let proxy: TcpProxy;
    let runner: RunnerProcess;
    let gateway: GatewayClient;
    let admin: Redis;
    const prefix = 'jwt:revoked:';
    dumpOnFailure(() => runner);

    before(async function () {
      this.timeout(30000);
      redis = await startRedisServer();
      proxy = await startTcpProxy(redis.port);
      runner = await RunnerProcess.start({
        configYaml: ['log:', '  level: info', 'redis:', `  url: "redis://127.0.0.1:${proxy.port}"`, '  command_timeout_ms: 250', '  cache_ttl_ms: 0', ''].join('\n'),
      });
      gateway = new GatewayClient(runner.socketPath);
      admin = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
      await admin.connect();
    });
    after(async () => {
      gateway?.close();
      admin?.disconnect();
      await runner?.cleanup();
      await proxy?.close();
      await redis?.stop();
    });

    const conf = (onStoreError: 'deny' | 'allow') => ({ algorithms: ['HS256'], secret: HS256_SECRET, revocation: { on_store_error: onStoreError } });
    const deny = phase('jwt-auth', conf('deny'));
    const allow = phase('jwt-auth', conf('allow'));
    const tokenWithJti = (jti: string): string => mint({ alg: 'HS256' }, { sub: 'alice', jti, iat: nowSeconds() - 5, exp: nowSeconds() + 600 }, HS256_SECRET);

    it('Redis answering an error (a revocation key of the wrong type -> WRONGTYPE): deny gives 503 JSON, allow lets the token through with a warning; fixing the key revokes it', async () => {
      const jti = `wrongtype-${randomBytes(6).toString('hex')}`;
      const jwt = tokenWithJti(jti);
      await admin.rpush(`${prefix}${jti}`, 'not', 'a', 'string');
      const mark = runner.lines.length;

      const denied = await gateway.reqCall(deny, request(1, bearer(jwt)));
      expect(outcomeOf(denied)).to.equal('stop:503');
      expect(stopJson(denied)).to.deep.equal({ error: 'temporarily_unavailable', error_description: 'revocation status unavailable' });

      expect(outcomeOf(await gateway.reqCall(allow, request(2, bearer(jwt))))).to.equal('rewrite');
      const warning = await runner.waitForLine((line) => line.includes('allowed by on_store_error'));
      expect(warning).to.include('"level":"warn"');
      expect(warning).to.include('WRONGTYPE');
      expect(runner.lines.slice(mark).join('\n')).to.not.include(jwt.split('.')[2]);

      await admin.del(`${prefix}${jti}`);
      await admin.set(`${prefix}${jti}`, '1', 'EX', 60);
      const revoked = await gateway.reqCall(deny, request(3, bearer(jwt)));
      expect(outcomeOf(revoked)).to.equal('stop:401');
      expect(stopJson(revoked)).to.deep.include({ error: 'invalid_token' });
    });

    it('Redis slow (the proxy stalls every byte): deny answers 503 within the 250 ms command timeout plus a margin, allow passes; traffic recovers when bytes flow again', async () => {
      const jwt = tokenWithJti(`slow-${randomBytes(6).toString('hex')}`);
      proxy.stall();
      try {
        const started = performance.now();
        const denied = await gateway.reqCall(deny, request(4, bearer(jwt)));
        const ms = performance.now() - started;
        expect(outcomeOf(denied)).to.equal('stop:503');
        expect(ms, `answered after ${Math.round(ms)} ms`).to.be.below(1000);
        expect(outcomeOf(await gateway.reqCall(allow, request(5, bearer(jwt))))).to.equal('rewrite');
      } finally {
        proxy.resume();
      }
      // Once bytes flow again the same token is checked and passes on the deny route.
      let outcome = '';
      for (let attempt = 0; attempt < 20 && outcome !== 'rewrite'; attempt++) {
        outcome = outcomeOf(await gateway.reqCall(deny, request(6, bearer(jwt))));
      }
      expect(outcome).to.equal('rewrite');
    });
  });
});
