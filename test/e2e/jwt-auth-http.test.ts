/**
 * jwt-auth end to end over real HTTP: client -> local gateway -> built runner (child
 * process, real socket) -> echo upstream, with a real redis-server for revocation.
 * What the client gets back and what the upstream received are both checked.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Redis } from 'ioredis';
import { startHttpGateway, type RunningHttpGateway } from '../../runner/gateway/http-gateway.js';
import { parseRoutes } from '../../runner/gateway/routes-file.js';
import { startEchoUpstream, type EchoedRequest, type EchoUpstream } from '../support/echo-upstream.js';
import { LeakLedger, liveToken } from '../support/jwt-e2e-kit.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { RunnerProcess } from '../support/runner-process.js';

const SECRET = `e2e-http-${randomBytes(16).toString('hex')}`;
/** Issue 4: a revocation pushed to Redis takes effect within one second. */
const REVOCATION_BOUND_MS = 1000;

interface HttpReply {
  readonly status: number;
  readonly body: string;
  header(name: string): string | undefined;
  json(): Record<string, unknown>;
}

/** One raw HTTP/1.1 request: header lines exactly as given (repeats allowed). */
function send(base: string, method: string, target: string, headers: Array<[string, string]> = [], body?: string): Promise<HttpReply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const lines: Array<[string, string]> = [['Host', url.host], ...headers];
    const req = httpRequest({ host: url.hostname, port: url.port, method, path: target, headers: lines.flat(), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          body: text,
          header: (name) => {
            const value = res.headers[name.toLowerCase()];
            return Array.isArray(value) ? value.join(', ') : value;
          },
          json: () => JSON.parse(text) as Record<string, unknown>,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Every value of a header the upstream received, from its raw lines. */
function upstreamValues(request: EchoedRequest, name: string): string[] {
  const raw = request.rawHeaders;
  return raw.flatMap((value, i) => (i % 2 === 1 && raw[i - 1]!.toLowerCase() === name.toLowerCase() ? [value] : []));
}

describe('jwt-auth over real HTTP: client -> gateway -> runner -> upstream (e2e)', function () {
  this.timeout(20_000);
  const ledger = new LeakLedger();
  ledger.remember(SECRET);
  let redis: RedisServerHandle;
  let runner: RunnerProcess;
  let upstream: EchoUpstream;
  let gateway: RunningHttpGateway;
  let admin: Redis;

  const token = (claims: Record<string, unknown> = {}, secret = SECRET): string =>
    ledger.rememberToken(liveToken('HS256', secret, { jti: `jti-${randomBytes(6).toString('hex')}`, ...claims }));
  const auth = (value: string): [string, string] => ['Authorization', `Bearer ${value}`];

  before(async function () {
    this.timeout(30_000);
    redis = await startRedisServer();
    runner = await RunnerProcess.start({
      configYaml: ['log:', '  level: trace', 'redis:', `  url: "${redis.url}"`, ''].join('\n'),
    });
    upstream = await startEchoUpstream();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    await admin.connect();
    const base = { algorithms: ['HS256'], secret: SECRET, claims_to_headers: { sub: 'X-User-Id', scope: 'X-Scope' } };
    const route = (id: string, uri: string, conf: Record<string, unknown>) => ({
      id,
      uri,
      upstream: upstream.url,
      plugins: { 'ext-plugin-pre-req': { conf: [{ name: 'jwt-auth', value: JSON.stringify({ ...base, ...conf }) }] } },
    });
    const routes = parseRoutes({
      routes: [
        route('api', '/api/*', {}),
        route('scoped', '/scoped', { authorization: { all_of: ['orders:write'] } }),
        route('query', '/query', { query: 'access_token' }),
        route('cookie', '/cookie', { cookie: 'jwt' }),
        route('form', '/form', { form_field: 'access_token' }),
        route('visible', '/visible', { hide_credentials: false }),
        route('anonymous', '/anonymous', { anonymous: true }),
      ],
    });
    gateway = await startHttpGateway({ socketPath: runner.socketPath, routes });
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
    admin?.disconnect();
    await runner?.cleanup();
    await redis?.stop();
  });

  it('a valid token passes: the upstream sees the claim headers and no Authorization', async () => {
    const reply = await send(gateway.url, 'GET', '/api/orders?page=2', [auth(token({ scope: 'orders:read' }))]);
    expect(reply.status, reply.body).to.equal(200);
    const seen = upstream.last();
    expect(seen.url).to.equal('/api/orders?page=2');
    expect(upstreamValues(seen, 'x-user-id')).to.deep.equal(['alice']);
    expect(upstreamValues(seen, 'x-scope')).to.deep.equal(['orders:read']);
    expect(upstreamValues(seen, 'authorization')).to.deep.equal([]);
  });

  it('no token: 401 with a Bearer challenge without error, and the upstream is not called', async () => {
    const before = upstream.requests.length;
    const reply = await send(gateway.url, 'GET', '/api/orders');
    expect(reply.status).to.equal(401);
    expect(reply.header('www-authenticate')).to.equal('Bearer realm="apisix"');
    expect(reply.header('content-type')).to.match(/^application\/json/);
    expect(reply.json()['error']).to.equal('unauthorized');
    expect(upstream.requests.length).to.equal(before);
  });

  it('a bad token: 401 error="invalid_token"', async () => {
    const forged = token({}, `wrong-${randomBytes(16).toString('hex')}`);
    const reply = await send(gateway.url, 'GET', '/api/orders', [auth(forged)]);
    expect(reply.status).to.equal(401);
    expect(reply.header('www-authenticate')).to.equal('Bearer realm="apisix", error="invalid_token", error_description="invalid token"');
    expect(reply.json()).to.deep.equal({ error: 'invalid_token', error_description: 'invalid token' });
    expect(reply.body).not.to.include(forged.split('.')[2]!);
  });

  it('insufficient scope: 403 with the required scope in the challenge', async () => {
    const reply = await send(gateway.url, 'POST', '/scoped', [auth(token({ scope: 'orders:read' }))]);
    expect(reply.status).to.equal(403);
    expect(reply.header('www-authenticate')).to.equal(
      'Bearer realm="apisix", error="insufficient_scope", error_description="insufficient scope", scope="orders:write"',
    );
    expect(reply.json()['error']).to.equal('insufficient_scope');
    expect((await send(gateway.url, 'POST', '/scoped', [auth(token({ scope: 'orders:write' }))])).status).to.equal(200);
  });

  it('two different tokens in one request: 400 invalid_request', async () => {
    const reply = await send(gateway.url, 'GET', `/query?access_token=${token()}`, [auth(token())]);
    expect(reply.status).to.equal(400);
    expect(reply.header('www-authenticate')).to.include('error="invalid_request"');
    expect(reply.json()['error']).to.equal('invalid_request');
  });

  it('a repeated Authorization header: 400 invalid_request', async () => {
    const one = token();
    const reply = await send(gateway.url, 'GET', '/api/orders', [auth(one), auth(one)]);
    expect(reply.status).to.equal(400);
    expect(reply.json()['error']).to.equal('invalid_request');
  });

  it('client-sent identity headers are replaced (with a token) or removed (anonymous, no token)', async () => {
    const spoofed: Array<[string, string]> = [['X-User-Id', 'mallory'], ['X-User-Id', 'root'], ['X-Scope', 'admin']];
    expect((await send(gateway.url, 'GET', '/api/me', [auth(token({ scope: undefined })), ...spoofed])).status).to.equal(200);
    expect(upstreamValues(upstream.last(), 'x-user-id')).to.deep.equal(['alice']);
    expect(upstreamValues(upstream.last(), 'x-scope')).to.deep.equal([]);

    expect((await send(gateway.url, 'GET', '/anonymous', spoofed)).status).to.equal(200);
    expect(upstreamValues(upstream.last(), 'x-user-id')).to.deep.equal([]);
    expect(upstreamValues(upstream.last(), 'x-scope')).to.deep.equal([]);
  });

  describe('hide_credentials', () => {
    it('header: Authorization removed by default, kept with hide_credentials false', async () => {
      const value = token();
      expect((await send(gateway.url, 'GET', '/api/x', [auth(value)])).status).to.equal(200);
      expect(upstreamValues(upstream.last(), 'authorization')).to.deep.equal([]);
      expect((await send(gateway.url, 'GET', '/visible', [auth(value)])).status).to.equal(200);
      expect(upstreamValues(upstream.last(), 'authorization')).to.deep.equal([`Bearer ${value}`]);
    });

    it('query: the token argument is removed, other arguments stay', async () => {
      const value = token();
      const reply = await send(gateway.url, 'GET', `/query?page=2&access_token=${value}&sort=asc`);
      expect(reply.status, reply.body).to.equal(200);
      const seen = upstream.last();
      expect(seen.url).not.to.include(value);
      const args = new URL(seen.url, 'http://x').searchParams;
      expect([...args.keys()].sort()).to.deep.equal(['page', 'sort']);
    });

    it('cookie: the token cookie is removed, other cookies stay', async () => {
      const value = token();
      const reply = await send(gateway.url, 'GET', '/cookie', [['Cookie', `theme=dark; jwt=${value}; lang=en`]]);
      expect(reply.status, reply.body).to.equal(200);
      expect(upstreamValues(upstream.last(), 'cookie')).to.deep.equal(['theme=dark; lang=en']);
    });

    it('form_field: the token field is removed from the body, other fields stay', async () => {
      const value = token();
      const body = `item=42&access_token=${value}&note=hi`;
      const reply = await send(gateway.url, 'POST', '/form', [['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(body.length)]], body);
      expect(reply.status, reply.body).to.equal(200);
      const seen = upstream.last();
      expect(seen.body).to.equal('item=42&note=hi');
      expect(seen.headers['content-length']).to.equal(String('item=42&note=hi'.length));
    });
  });

  it(`revocation via a plain redis SET is honoured within ${REVOCATION_BOUND_MS} ms`, async () => {
    const jti = `revoke-me-${randomBytes(6).toString('hex')}`;
    const value = token({ jti });
    // Served (and remembered as not revoked) first, so only the push can explain the change.
    expect((await send(gateway.url, 'GET', '/api/r', [auth(value)])).status).to.equal(200);
    expect((await send(gateway.url, 'GET', '/api/r', [auth(value)])).status).to.equal(200);

    await admin.set(`jwt:revoked:${jti}`, '1', 'EX', 600);
    const started = performance.now();
    let reply: HttpReply;
    // No event is visible from outside the runner: poll with back-to-back requests, bounded.
    for (;;) {
      reply = await send(gateway.url, 'GET', '/api/r', [auth(value)]);
      if (reply.status !== 200 || performance.now() - started > REVOCATION_BOUND_MS * 2) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const elapsed = performance.now() - started;
    expect(reply.status).to.equal(401);
    expect(reply.header('www-authenticate')).to.include('error_description="token revoked"');
    expect(elapsed).to.be.lessThan(REVOCATION_BOUND_MS);
    // Other tokens of the same subject are unaffected.
    expect((await send(gateway.url, 'GET', '/api/r', [auth(token())])).status).to.equal(200);
  });

  // Mocha runs a describe's own tests before its nested groups: the log check stops the
  // runner, so it sits in the last group.
  describe('logs', () => {
    it('no runner log line at any level contains a token or secret used here', async () => {
      await runner.stop();
      expect(runner.lines.length).to.be.greaterThan(5);
      expect(ledger.size).to.be.greaterThan(15);
      expect(ledger.leaksIn(runner.lines)).to.deep.equal([]);
    });
  });
});
