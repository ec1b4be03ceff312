import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { ErrorCode, isRunnerError } from '../../../runner/plugin-api/index.js';
import { RemoteJwks } from '../../../plugins/jwt-auth/jwks-remote.js';
import { bearer, JwtHarness, mint, NOW_MS, NOW_S, testKeys } from '../../support/jwt-kit.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real JWKS endpoint on loopback whose behaviour a test switches at will. */
class JwksServer {
  requests = 0;
  handler: Handler = (_req, res) => res.writeHead(500).end();
  private readonly server: Server = createServer((req, res) => {
    this.requests += 1;
    this.handler(req, res);
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }
  serve(keys: unknown[]): void {
    this.handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const silent = pino({ level: 'silent' });

describe('jwt-auth remote JWK Set', () => {
  let server: JwksServer;
  let clock: number;
  const k1 = () => ({ ...testKeys.rsa().publicJwk, kid: 'k1' });
  const k2 = () => ({ ...testKeys.ec256().publicJwk, kid: 'k2' });

  beforeEach(async () => {
    server = new JwksServer();
    await server.start();
    clock = NOW_MS;
  });
  afterEach(() => server.stop());

  function remote(overrides: Partial<ConstructorParameters<typeof RemoteJwks>[0]> = {}): RemoteJwks {
    return new RemoteJwks({
      uri: server.url,
      allowInsecure: true,
      algorithms: ['RS256', 'ES256'],
      timeoutMs: 500,
      cacheSeconds: 60,
      now: () => clock,
      logger: silent,
      ...overrides,
    });
  }

  it('fetches lazily on first use and then serves from the cache', async () => {
    server.serve([k1()]);
    const set = remote();
    expect(server.requests).to.equal(0);
    expect(await set.candidates('RS256', 'k1')).to.have.length(1);
    expect(await set.candidates('RS256', 'k1')).to.have.length(1);
    expect(await set.candidates('RS256', null)).to.have.length(1);
    expect(server.requests).to.equal(1);
  });

  it('refreshes once for an unknown kid (single-flight), then honours the cooldown', async () => {
    server.serve([k1()]);
    const set = remote();
    await set.candidates('RS256', 'k1');
    server.serve([k1(), k2()]);
    const found = await Promise.all(Array.from({ length: 10 }, () => set.candidates('ES256', 'k2')));
    expect(found.every((keys) => keys.length === 1)).to.equal(true);
    expect(server.requests).to.equal(2);
    // A made-up kid right after: no new fetch inside the cooldown.
    expect(await set.candidates('ES256', 'made-up')).to.deep.equal([]);
    expect(server.requests).to.equal(2);
    clock += 10_001;
    await set.candidates('ES256', 'made-up');
    expect(server.requests).to.equal(3);
  });

  it('serves the stale copy when the endpoint fails after expiry', async () => {
    server.serve([k1()]);
    const set = remote();
    await set.candidates('RS256', 'k1');
    server.handler = (_req, res) => res.writeHead(503).end();
    clock += 61_000;
    expect(await set.candidates('RS256', 'k1')).to.have.length(1);
    await set.settled();
    expect(server.requests).to.equal(2);
    // The failing endpoint is retried at most once a second, not on every request.
    expect(await set.candidates('RS256', 'k1')).to.have.length(1);
    await set.settled();
    expect(server.requests).to.equal(2);
    clock += 1_000;
    expect(await set.candidates('RS256', 'k1')).to.have.length(1);
    await set.settled();
    expect(server.requests).to.equal(3);
  });

  it('throws ERR_JWKS_UNAVAILABLE with no copy: error status, bad JSON, bad shape, too large, timeout', async () => {
    const failures: Handler[] = [
      (_req, res) => res.writeHead(500).end(),
      (_req, res) => res.writeHead(200).end('{not json'),
      (_req, res) => res.writeHead(200).end('{"keys":"nope"}'),
      (_req, res) => res.writeHead(200).end(JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] })),
      (_req, res) => res.writeHead(200).end(JSON.stringify({ keys: [k1()], pad: 'x'.repeat(4096) })),
      () => undefined, // never answers
      (_req, res) => res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end(),
    ];
    for (const [index, handler] of failures.entries()) {
      server.handler = handler;
      const set = remote({ maxResponseBytes: 2048, timeoutMs: 150 });
      let caught: unknown = null;
      try {
        await set.candidates('RS256', 'k1');
      } catch (err) {
        caught = err;
      }
      expect(isRunnerError(caught, ErrorCode.JWKS_UNAVAILABLE), `failure #${index}`).to.equal(true);
      set.close();
    }
  });

  it('refuses http unless allowed', () => {
    expect(() => remote({ allowInsecure: false })).to.throw(/https/);
  });

  it('verifies tokens through a route conf, and a key rotation is picked up on an unknown kid', async () => {
    server.serve([k1()]);
    const harness = new JwtHarness();
    try {
      const prepared = await harness.prepare({ algorithms: ['RS256', 'ES256'], jwks_uri: server.url, allow_insecure_jwks_uri: true });
      const t1 = mint({ alg: 'RS256', kid: 'k1' }, { exp: NOW_S + 60 }, testKeys.rsa().privateKey);
      expect((await harness.call(prepared, bearer(t1))).outcome.kind).to.equal('continue');
      server.serve([k1(), k2()]);
      const t2 = mint({ alg: 'ES256', kid: 'k2' }, { exp: NOW_S + 60 }, testKeys.ec256().privateKey);
      expect((await harness.call(prepared, bearer(t2))).outcome.kind).to.equal('continue');
      // A header pointing at another key set is never followed.
      const jku = mint({ alg: 'ES256', kid: 'k9', jku: 'http://127.0.0.1:1/evil' }, { exp: NOW_S + 60 }, testKeys.ec256().privateKey);
      expect((await harness.call(prepared, bearer(jku))).outcome.kind).to.equal('stop');
    } finally {
      await harness.close();
    }
  });
});
