/**
 * One client request as the local gateway holds it between phase plugins: the
 * values APISIX keeps in Nginx variables and its request context (`$uri`,
 * `$upstream_uri`, `$upstream_host`, current headers and query, the body when it
 * has been read or replaced, response headers queued by Rewrite `resp_headers`).
 */
import type { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import type { GatewayRoute } from './routes-file.js';
import { HeaderList } from './header-list.js';

export class ProxiedRequest {
  readonly req: IncomingMessage;
  readonly route: GatewayRoute;
  readonly method: string;
  /** Raw request target as received (`$request_uri`). */
  readonly requestUri: string;
  /** Raw path part of the target (forwarded unchanged unless a Rewrite sets `path`). */
  readonly rawPath: string;
  /** Decoded, normalised path (`$uri`). */
  readonly uri: Buffer;
  /** Current raw query string without `?`; null when the request had none. */
  query: string | null;
  /** Upstream path written by a Rewrite (already escaped); null = not set. */
  upstreamPath: string | null = null;
  /** Current request headers, as they will be proxied. */
  readonly headers: HeaderList;
  /** `$upstream_host`: the client's Host unless a Rewrite set `host`. */
  upstreamHost: string;
  /** Response headers queued by Rewrite `resp_headers`. */
  readonly respHeaders = new HeaderList();
  /** Gateway port the request arrived on (`$server_port`). */
  readonly serverPort: number;
  #body: Buffer | null = null;
  #reading: Promise<Buffer> | null = null;

  constructor(init: {
    req: IncomingMessage;
    route: GatewayRoute;
    requestUri: string;
    rawPath: string;
    uri: Buffer;
    query: string | null;
    serverPort: number;
  }) {
    this.req = init.req;
    this.route = init.route;
    this.method = init.req.method ?? 'GET';
    this.requestUri = init.requestUri;
    this.rawPath = init.rawPath;
    this.uri = init.uri;
    this.query = init.query;
    this.headers = HeaderList.fromRaw(init.req.rawHeaders);
    this.upstreamHost = this.headers.get('host') ?? '';
    this.serverPort = init.serverPort;
  }

  /** The client address without an IPv4-mapped prefix (`$remote_addr`). */
  get remoteAddress(): string {
    const address = this.req.socket.remoteAddress ?? '';
    return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  }

  /** `$binary_remote_addr`: 4 bytes for IPv4, 16 for IPv6; null when unknown. */
  get binaryRemoteAddress(): Buffer | null {
    return ipBytes(this.remoteAddress);
  }

  /** True once the body has been read into memory (asked for, or replaced). */
  get bodyBuffered(): boolean {
    return this.#body !== null;
  }

  /** The whole request body, read once and kept (what the gateway does for ReqBody). */
  readBody(): Promise<Buffer> {
    if (this.#body !== null) return Promise.resolve(this.#body);
    this.#reading ??= new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      this.req.on('data', (chunk: Buffer) => chunks.push(chunk));
      this.req.once('end', () => {
        this.#body = Buffer.concat(chunks);
        resolve(this.#body);
      });
      this.req.once('error', reject);
    });
    return this.#reading;
  }

  /** Replace the body (Rewrite `body`); the original is read and discarded first, as the gateway does. */
  async replaceBody(body: Buffer): Promise<void> {
    await this.readBody();
    this.#body = body;
  }

  /** The buffered body, or null when it has not been read (it is then streamed upstream). */
  get bufferedBody(): Buffer | null {
    return this.#body;
  }

  /** Upstream request target: path (rewritten or raw) plus the current query. */
  get upstreamTarget(): string {
    const path = this.upstreamPath ?? this.rawPath;
    return this.query === null || this.query === '' ? path : `${path}?${this.query}`;
  }
}

/** Address bytes in network order; null for anything that is not an IP literal. */
export function ipBytes(address: string): Buffer | null {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  let text = address.split('%')[0] ?? '';
  if (!isIPv6(text)) return null;
  // An embedded IPv4 tail (`::ffff:192.0.2.1`) stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (isIPv4(tail)) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const double = text.indexOf('::');
  const head = (double < 0 ? text : text.slice(0, double)).split(':').filter((g) => g !== '');
  const rest = double < 0 ? [] : text.slice(double + 2).split(':').filter((g) => g !== '');
  const groups = double < 0 ? head : [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  if (groups.length !== 8) return null;
  const out = Buffer.alloc(16);
  groups.forEach((group, i) => out.writeUInt16BE(Number.parseInt(group, 16), i * 2));
  return out;
}
