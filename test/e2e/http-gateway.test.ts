import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { startHttpGateway, type RunningHttpGateway } from '../../runner/gateway/http-gateway.js';
import { parseRoutes } from '../../runner/gateway/routes-file.js';
import type { RunningRunner } from '../../runner/main.js';
import { startEchoUpstream, type EchoedRequest, type EchoUpstream } from '../support/echo-upstream.js';
import { startInProcessRunner, type InProcessRunner } from '../support/in-process-runner.js';

interface Reply {
  readonly status: number;
  /** Header lines as received. */
  readonly raw: string[];
  readonly body: string;
  header(name: string): string[];
}

/** A raw HTTP/1.1 request: exact target, repeated headers, custom Host. */
function send(base: string, method: string, target: string, headers: Array<[string, string]> = [], body?: string): Promise<Reply> {
  const url = new URL(base);
  // With an array of header lines Node adds no Host of its own.
  const lines = headers.some(([name]) => name.toLowerCase() === 'host') ? headers : [['Host', url.host] as [string, string], ...headers];
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path: target, headers: lines.flat(), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const raw = res.rawHeaders;
        resolve({
          status: res.statusCode ?? 0,
          raw,
          body: Buffer.concat(chunks).toString('utf8'),
          header: (name) => raw.flatMap((value, i) => (i % 2 === 1 && raw[i - 1]!.toLowerCase() === name.toLowerCase() ? [value] : [])),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const echoed = (reply: Reply): EchoedRequest => JSON.parse(reply.body) as EchoedRequest;

/** Query of an upstream target as name -> values, order between names ignored. */
function queryOf(url: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of new URL(url, 'http://x').searchParams) (out[name] ??= []).push(value);
  return out;
}

function phase(conf: Array<{ name: string; value: unknown }>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { conf, ...extra };
}

describe('local HTTP gateway -> runner -> upstream (e2e)', function () {
  let inProcess: InProcessRunner;
  let runner: RunningRunner;
  let upstream: EchoUpstream;
  let gateway: RunningHttpGateway;
  let deadGateway: RunningHttpGateway;

  before(async () => {
    inProcess = await startInProcessRunner('http-gateway-test-');
    runner = inProcess.runner;
    upstream = await startEchoUpstream();
    const route = (id: string, uri: string, plugins: Record<string, unknown>, methods?: string[]) => ({
      id,
      uri,
      upstream: upstream.url,
      plugins,
      ...(methods === undefined ? {} : { methods }),
    });
    const routes = parseRoutes({
      routes: [
        route('pass', '/pass/*', { 'ext-plugin-pre-req': phase([{ name: 'probe-rewrite', value: '{}' }]) }),
        route('plain', '/plain', {}),
        route('stop', '/stop', {
          'ext-plugin-pre-req': phase([
            {
              name: 'probe-stop',
              value: { status: 418, body: 'short and stout', headers: [['X-Same', 'one'], ['X-Same', 'two'], ['Content-Type', 'text/x-tea']] },
            },
          ]),
        }),
        route('stop-empty', '/stop-empty', { 'ext-plugin-pre-req': phase([{ name: 'probe-stop', value: { status: 200 } }]) }),
        route('stop-401', '/stop-401', { 'ext-plugin-pre-req': phase([{ name: 'probe-stop', value: { status: 401 } }]) }),
        route('rw-path', '/rw/path', { 'ext-plugin-pre-req': phase([{ name: 'probe-rewrite', value: { path: '/new path/a?b%/é' } }]) }),
        route('rw-headers', '/rw/headers', {
          'ext-plugin-pre-req': phase([
            { name: 'probe-rewrite', value: { set_headers: { 'X-Added': 'yes', Host: 'upstream.example:8443' }, delete_headers: ['x-remove'] } },
          ]),
        }),
        route('rw-args', '/rw/args', {
          'ext-plugin-pre-req': phase([
            { name: 'probe-rewrite', value: { set_args: { a: 'new value' }, append_args: { b: 'two' }, delete_args: ['c'] } },
          ]),
        }),
        route('rw-body', '/rw/body', { 'ext-plugin-pre-req': phase([{ name: 'probe-rewrite', value: { body: 'replaced body' } }]) }),
        route('rw-resp', '/rw/resp', {
          'ext-plugin-pre-req': phase([
            { name: 'probe-rewrite', value: { resp_headers: { 'X-Resp': 'added', 'Content-Type': 'text/evil', Location: '/elsewhere' } } },
          ]),
        }),
        route('ask', '/ask/*', {
          'ext-plugin-pre-req': phase([
            {
              name: 'probe-ask',
              value: {
                vars: [
                  'scheme', 'remote_addr', 'uri', 'request_uri', 'request_method', 'host', 'server_port', 'route_id',
                  'arg_q', 'arg_empty', 'arg_flag', 'arg_missing', 'http_x_multi', 'http_x_missing', 'cookie_session',
                  'cookie_none', 'no_such_variable',
                ],
                body: true,
              },
            },
          ]),
        }),
        route('ask-headers', '/ask-headers', { 'ext-plugin-pre-req': phase([{ name: 'probe-ask', value: {} }]) }),
        route('post-req', '/stage', {
          'ext-plugin-pre-req': phase([{ name: 'probe-rewrite', value: { path: '/after pre', set_headers: { 'X-Pre': '1' } } }]),
          'ext-plugin-post-req': phase([{ name: 'probe-ask', value: { vars: ['http_x_pre'] } }]),
        }),
        route('resp-headers', '/resp/headers', {
          'ext-plugin-post-resp': phase([{ name: 'probe-resp', value: { set_headers: { 'X-Resp-Added': '1' }, delete_headers: ['x-upstream'] } }]),
        }),
        route('resp-body', '/resp/body', { 'ext-plugin-post-resp': phase([{ name: 'probe-resp', value: { append_to_body: '<-tail' } }]) }),
        route('resp-status', '/resp/status', { 'ext-plugin-post-resp': phase([{ name: 'probe-resp', value: { status: 201, body: 'created' } }]) }),
        route('resp-degrade', '/resp/degrade', {
          'ext-plugin-post-resp': phase([{ name: 'probe-resp', value: { status: 299 } }], { allow_degradation: true }),
        }),
        route('fail', '/fail', { 'ext-plugin-pre-req': phase([{ name: 'probe-fail', value: { how: 'throw' } }]) }),
        route('fail-degrade', '/fail-degrade', {
          'ext-plugin-pre-req': phase([{ name: 'probe-fail', value: { how: 'throw' } }], { allow_degradation: true }),
        }),
        route('disabled', '/disabled', {
          'ext-plugin-pre-req': phase([{ name: 'probe-stop', value: { status: 403 } }], { _meta: { disable: true } }),
        }),
        route('methods', '/only-post', { 'ext-plugin-pre-req': phase([{ name: 'probe-stop', value: { status: 202 } }]) }, ['POST']),
      ],
    });
    gateway = await startHttpGateway({ socketPath: runner.socketPath, routes });
    // Same routes, but no runner behind the socket path.
    deadGateway = await startHttpGateway({ socketPath: join(inProcess.dir, 'nobody-listens.sock'), routes });
  });

  after(async () => {
    await gateway?.close();
    await deadGateway?.close();
    await upstream?.close();
    await inProcess?.close();
  });

  it('passes a request through unchanged when the runner answers with no action', async () => {
    const reply = await send(gateway.url, 'GET', '/pass/a%2Fb?x=1&x=2', [['X-Client', 'c']]);
    expect(reply.status).to.equal(200);
    const got = echoed(reply);
    expect(got.url).to.equal('/pass/a%2Fb?x=1&x=2');
    expect(got.headers['x-client']).to.equal('c');
    expect(got.headers['x-real-ip']).to.equal('127.0.0.1');
    expect(reply.header('x-upstream')).to.deep.equal(['echo']);
    expect(reply.header('content-type')).to.deep.equal(['application/json']);
  });

  it('answers 404 like APISIX when no route matches, and honours methods', async () => {
    expect((await send(gateway.url, 'GET', '/nowhere')).status).to.equal(404);
    expect((await send(gateway.url, 'GET', '/only-post')).status).to.equal(404);
    expect((await send(gateway.url, 'POST', '/only-post')).status).to.equal(202);
  });

  it('applies Stop: status, headers lower-cased with repeats appended, body', async () => {
    const before = upstream.requests.length;
    const reply = await send(gateway.url, 'GET', '/stop');
    expect(reply.status).to.equal(418);
    expect(reply.body).to.equal('short and stout');
    expect(reply.header('x-same')).to.deep.equal(['one', 'two']);
    expect(reply.header('content-type')).to.deep.equal(['text/x-tea']);
    expect(upstream.requests.length).to.equal(before);
  });

  it('treats an empty Stop body as no body', async () => {
    const ok = await send(gateway.url, 'GET', '/stop-empty');
    expect(ok.status).to.equal(200);
    expect(ok.body).to.equal('');
    const denied = await send(gateway.url, 'GET', '/stop-401');
    expect(denied.status).to.equal(401);
    expect(denied.header('content-type')).to.deep.equal(['text/html']);
    expect(denied.body).to.contain('401 Unauthorized');
  });

  it('escapes a rewritten path Nginx-style and keeps the query', async () => {
    const got = echoed(await send(gateway.url, 'GET', '/rw/path?x=1'));
    expect(got.url).to.equal('/new%20path/a%3Fb%25/%C3%A9?x=1');
  });

  it('sets and deletes request headers, and a host header sets the upstream Host', async () => {
    const got = echoed(
      await send(gateway.url, 'GET', '/rw/headers', [['X-Remove', 'gone'], ['X-Added', 'client value'], ['Host', 'client.example']]),
    );
    expect(got.headers['x-added']).to.equal('yes');
    expect(got.headers).not.to.have.property('x-remove');
    expect(got.headers['host']).to.equal('upstream.example:8443');
  });

  it('patches arguments: replace, append after restated values, delete, keep the rest', async () => {
    const got = echoed(await send(gateway.url, 'GET', '/rw/args?a=old&a=older&b=one&c=gone&d=keep%20me&flag'));
    expect(queryOf(got.url)).to.deep.equal({ a: ['new value'], b: ['one', 'two'], d: ['keep me'], flag: [''] });
    expect(got.url).to.match(/(^|[?&])flag(&|$)/); // still valueless
    expect(got.url).to.contain('a=new%20value');
  });

  it('replaces the request body and its Content-Length', async () => {
    const got = echoed(await send(gateway.url, 'POST', '/rw/body', [['Content-Type', 'text/plain']], 'the original, longer body'));
    expect(got.body).to.equal('replaced body');
    expect(got.headers['content-length']).to.equal(String('replaced body'.length));
  });

  it('adds resp_headers to the client response and silently ignores excluded names', async () => {
    const reply = await send(gateway.url, 'GET', '/rw/resp');
    expect(reply.status).to.equal(200);
    expect(reply.header('x-resp')).to.deep.equal(['added']);
    expect(reply.header('content-type')).to.deep.equal(['application/json']);
    expect(reply.header('location')).to.deep.equal([]);
  });

  it('answers ExtraInfo variables (absent vs empty) and the request body', async () => {
    const reply = await send(
      gateway.url,
      'POST',
      '/ask/%41b/./c?q=a%20b&empty=&flag',
      [['Host', 'api.example:8080'], ['X-Multi', '1'], ['X-Multi', '2'], ['Cookie', 'session=abc; other=1']],
      'request body bytes',
    );
    expect(reply.status).to.equal(200);
    const seen = JSON.parse(reply.body) as {
      vars: Record<string, string | null>;
      body: string;
      path: string;
      client_ip: string;
      method: string;
      headers: Record<string, string[]>;
      args: Record<string, Array<string | null>>;
    };
    expect(seen.vars).to.deep.equal({
      scheme: 'http',
      remote_addr: '127.0.0.1',
      uri: '/ask/Ab/c',
      request_uri: '/ask/%41b/./c?q=a%20b&empty=&flag',
      request_method: 'POST',
      host: 'api.example',
      server_port: String(gateway.port),
      route_id: 'ask',
      arg_q: 'a%20b',
      arg_empty: '',
      arg_flag: null,
      arg_missing: null,
      http_x_multi: '1, 2',
      http_x_missing: null,
      cookie_session: 'abc',
      cookie_none: null,
      no_such_variable: null,
    });
    expect(Buffer.from(seen.body, 'base64').toString()).to.equal('request body bytes');
    expect(seen.path).to.equal('/ask/Ab/c');
    expect(seen.method).to.equal('POST');
    expect(seen.client_ip).to.equal('127.0.0.1');
    expect(seen.args).to.deep.equal({ q: ['a b'], empty: [''], flag: [null] });
    expect(seen.headers['x-multi']).to.deep.equal(['1', '2']);
    expect(seen.headers['host']).to.deep.equal(['api.example:8080']);
  });

  it('sends at most the first 100 header lines in the call', async () => {
    const many: Array<[string, string]> = Array.from({ length: 120 }, (_, i) => [`X-H-${i}`, String(i)]);
    const seen = JSON.parse((await send(gateway.url, 'GET', '/ask-headers', many)).body) as { headers: Record<string, string[]> };
    const lines = Object.values(seen.headers).reduce((n, values) => n + values.length, 0);
    expect(lines).to.equal(100);
    expect(seen.headers).to.have.property('x-h-90');
    expect(seen.headers).not.to.have.property('x-h-119');
  });

  it('runs ext-plugin-post-req after pre-req, seeing its changes', async () => {
    const seen = JSON.parse((await send(gateway.url, 'GET', '/stage?k=v')).body) as {
      vars: Record<string, string | null>;
      path: string;
      args: Record<string, string[]>;
    };
    expect(seen.path).to.equal('/after%20pre');
    expect(seen.args).to.deep.equal({ k: ['v'] });
    expect(seen.vars['http_x_pre']).to.equal('1');
  });

  it('post-resp: keeps the upstream Content-Type and applies header changes', async () => {
    const reply = await send(gateway.url, 'GET', '/resp/headers');
    expect(reply.status).to.equal(200);
    expect(reply.header('content-type')).to.deep.equal(['application/json']);
    expect(reply.header('x-resp-added')).to.deep.equal(['1']);
    expect(reply.header('x-upstream')).to.deep.equal([]);
    expect(echoed(reply).url).to.equal('/resp/headers');
  });

  it('post-resp: answers RespBody and replaces the body', async () => {
    const reply = await send(gateway.url, 'GET', '/resp/body');
    expect(reply.status).to.equal(200);
    expect(reply.body.endsWith('<-tail')).to.equal(true);
    expect((JSON.parse(reply.body.slice(0, -'<-tail'.length)) as EchoedRequest).url).to.equal('/resp/body');
    expect(reply.header('content-length')).to.deep.equal([String(Buffer.byteLength(reply.body))]);
  });

  it('post-resp: a non-zero status with a body replaces both', async () => {
    const reply = await send(gateway.url, 'GET', '/resp/status');
    expect(reply.status).to.equal(201);
    expect(reply.body).to.equal('created');
  });

  it('answers 503 when the runner fails, and continues with allow_degradation', async () => {
    expect((await send(gateway.url, 'GET', '/fail')).status).to.equal(503);
    const degraded = await send(gateway.url, 'GET', '/fail-degrade');
    expect(degraded.status).to.equal(200);
    expect(echoed(degraded).url).to.equal('/fail-degrade');
  });

  it('answers 503 when the runner cannot be reached, and continues with allow_degradation', async () => {
    expect((await send(deadGateway.url, 'GET', '/pass/x')).status).to.equal(503);
    expect((await send(deadGateway.url, 'GET', '/fail-degrade')).status).to.equal(200);
    // A route without phase plugins never needs the runner.
    expect((await send(deadGateway.url, 'GET', '/plain')).status).to.equal(200);
  });

  it('post-resp failure: upstream body with 503, or the upstream status with allow_degradation, never upstream headers', async () => {
    const failed = await send(deadGateway.url, 'GET', '/resp/headers');
    expect(failed.status).to.equal(503);
    expect(echoed(failed).url).to.equal('/resp/headers');
    expect(failed.header('x-upstream')).to.deep.equal([]);
    const degraded = await send(deadGateway.url, 'GET', '/resp/degrade');
    expect(degraded.status).to.equal(200);
    expect(echoed(degraded).url).to.equal('/resp/degrade');
    expect(degraded.header('x-upstream')).to.deep.equal([]);
    expect(degraded.header('content-type')).to.deep.equal(['text/plain']);
    // With the runner up, the same route gets the runner's status.
    expect((await send(gateway.url, 'GET', '/resp/degrade')).status).to.equal(299);
  });

  it('refuses a method outside the protocol enum on a route with a phase plugin', async () => {
    expect((await send(gateway.url, 'PURGE', '/pass/x')).status).to.equal(405);
    const plain = await send(gateway.url, 'PURGE', '/plain');
    expect(plain.status).to.equal(200);
    expect(echoed(plain).method).to.equal('PURGE');
  });

  it('skips a phase plugin with _meta.disable: true', async () => {
    const prepared = gateway.client.prepareCount;
    const reply = await send(gateway.url, 'GET', '/disabled');
    expect(reply.status).to.equal(200);
    expect(echoed(reply).url).to.equal('/disabled');
    expect(gateway.client.prepareCount).to.equal(prepared);
  });
});
