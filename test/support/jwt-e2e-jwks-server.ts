/**
 * A loopback HTTP server publishing a JWK Set whose keys a test can change, counting
 * the fetches, for `jwks_uri` tests through the runner (plain http, which the route
 * must allow explicitly).
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JwksServer {
  /** `http://127.0.0.1:<port>/jwks.json`. */
  readonly url: string;
  /** Fetches served so far. */
  readonly fetches: number;
  /** Replace the published keys (public JWKs). */
  publish(keys: ReadonlyArray<Record<string, unknown>>): void;
  /** Resolves on the next fetch after the call. */
  nextFetch(): Promise<void>;
  close(): Promise<void>;
}

export async function startJwksServer(keys: ReadonlyArray<Record<string, unknown>>): Promise<JwksServer> {
  let published = [...keys];
  let fetches = 0;
  let waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches += 1;
    const body = Buffer.from(JSON.stringify({ keys: published }));
    res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'content-length': String(body.length) });
    res.end(body);
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get fetches() {
      return fetches;
    },
    publish(next) {
      published = [...next];
    },
    nextFetch() {
      return new Promise((resolve) => waiters.push(resolve));
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
