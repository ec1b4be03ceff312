/**
 * A loopback HTTP upstream that answers every request with what it received, as
 * JSON `{ method, url, headers, rawHeaders, body }`, and records each request so a
 * test can check what the gateway forwarded. Tests that need another answer pass
 * a `respond` function.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoedRequest {
  readonly method: string;
  /** Request target as received (path and query, still escaped). */
  readonly url: string;
  /** Node's merged, lower-cased header object. */
  readonly headers: Record<string, string | string[] | undefined>;
  /** Header lines as received: `[name, value, name, value, ...]`. */
  readonly rawHeaders: string[];
  /** Body as UTF-8 text. */
  readonly body: string;
}

export interface EchoUpstream {
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: EchoedRequest[];
  /** The last request received (throws when none arrived). */
  last(): EchoedRequest;
  close(): Promise<void>;
}

/** Custom answer for a request; the default echoes it as JSON with status 200. */
export type EchoResponder = (request: EchoedRequest, res: ServerResponse) => void;

const echoJson: EchoResponder = (request, res) => {
  const body = Buffer.from(JSON.stringify(request));
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(body.length), 'X-Upstream': 'echo' });
  res.end(body);
};

export async function startEchoUpstream(respond: EchoResponder = echoJson): Promise<EchoUpstream> {
  const requests: EchoedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: EchoedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: { ...req.headers },
        rawHeaders: [...req.rawHeaders],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      respond(request, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    last() {
      const request = requests.at(-1);
      if (request === undefined) throw new Error('the echo upstream received no request');
      return request;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
