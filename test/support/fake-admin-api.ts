/**
 * A local stand-in for APISIX's Admin API (protocol reference, section 9.3), enough
 * for the `route` command: GET and PATCH of /apisix/admin/routes/{id}, `X-API-KEY`
 * authentication, APISIX's answer shapes (`{key, value, createdIndex, modifiedIndex}`)
 * and its PATCH merge (objects merged recursively, arrays replaced, null deletes).
 * Every request is recorded so tests can check it byte for byte.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const ROUTE_PATH = /^\/apisix\/admin\/routes\/([^/?]+)$/;

export class FakeAdminApi {
  readonly requests: RecordedRequest[] = [];
  /** Answer every request with an HTML page (a wrong port, a proxy error page). */
  answerHtml = false;
  readonly #routes = new Map<string, { value: JsonObject; created: number; modified: number }>();
  readonly #server: Server;
  readonly #apiKey: string;
  #index = 100;

  private constructor(server: Server, apiKey: string) {
    this.#server = server;
    this.#apiKey = apiKey;
  }

  static async start(apiKey: string): Promise<FakeAdminApi> {
    let api: FakeAdminApi | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const answer = api!.#handle({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(answer.status, { 'content-type': answer.contentType });
        res.end(answer.body);
      });
    });
    api = new FakeAdminApi(server, apiKey);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Store a route as a PUT would. */
  putRoute(id: string, value: JsonObject): void {
    this.#index += 1;
    this.#routes.set(id, { value: structuredClone(value), created: this.#index, modified: this.#index });
  }

  /** The stored route (a copy), or undefined. */
  route(id: string): JsonObject | undefined {
    const stored = this.#routes.get(id);
    return stored === undefined ? undefined : structuredClone(stored.value);
  }

  modifiedIndex(id: string): number | undefined {
    return this.#routes.get(id)?.modified;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(request: RecordedRequest): { status: number; contentType: string; body: string } {
    this.requests.push(request);
    const json = (status: number, body: Json) => ({ status, contentType: 'application/json', body: JSON.stringify(body) });
    if (this.answerHtml) return { status: 200, contentType: 'text/html', body: '<html><body>Welcome to nginx!</body></html>' };
    if (request.headers['x-api-key'] !== this.#apiKey) return json(401, { error_msg: 'failed to check token' });

    const match = ROUTE_PATH.exec(request.url);
    if (match === null) return json(404, { error_msg: 'not found' });
    const id = decodeURIComponent(match[1]!);
    const stored = this.#routes.get(id);
    if (stored === undefined) return json(404, { message: 'Key not found' });

    switch (request.method) {
      case 'GET':
        break;
      case 'PATCH': {
        let patch: unknown;
        try {
          patch = JSON.parse(request.body);
        } catch {
          return json(400, { error_msg: 'invalid request body' });
        }
        if (!isObject(patch)) return json(400, { error_msg: 'invalid request body' });
        stored.value = mergePatch(stored.value, patch) as JsonObject;
        this.#index += 1;
        stored.modified = this.#index;
        break;
      }
      default:
        return json(405, { error_msg: `method ${request.method} not allowed` });
    }
    return json(200, { key: `/apisix/routes/${id}`, value: stored.value, createdIndex: stored.created, modifiedIndex: stored.modified });
  }
}

/** APISIX's PATCH merge: objects recursively, arrays and scalars replaced, null deletes the key. */
function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch) || !isObject(target)) return structuredClone(patch);
  const merged: JsonObject = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = key in merged ? mergePatch(merged[key]!, value) : structuredClone(value);
  }
  return merged;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
