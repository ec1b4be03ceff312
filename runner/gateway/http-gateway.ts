/**
 * The local development gateway: a real HTTP server that runs requests through a
 * runner exactly as APISIX's ext-plugin phase plugins do, then proxies them to the
 * route's upstream. It exists so plugin authors and the end-to-end tests can send
 * real HTTP traffic through the runner without APISIX. Production traffic goes
 * through APISIX, never through this server.
 *
 * What it reproduces (protocol reference sections in brackets):
 * - the HTTPReqCall fields [5.2]: lower-cased headers (first 100 lines, repeated
 *   names consecutive, `host` = upstream Host), decoded path and arguments, client
 *   address bytes, method enum;
 * - ExtraInfo answers [6.2]: variables and the request body, read only when asked;
 * - Stop [5.4] and Rewrite [5.5] applied in the gateway's order;
 * - `ext-plugin-pre-req`, then `ext-plugin-post-req` (same call, later, seeing the
 *   pre-req changes), then proxying, or `ext-plugin-post-resp` [7]: the upstream is
 *   fetched first, HTTPRespCall carries its status and headers, RespBody is
 *   answered, and the reply is applied as the gateway does, quirks included;
 * - failures [8]: 503 (or pass-through with `allow_degradation`), the
 *   CONF_TOKEN_NOT_FOUND retry (done by GatewayClient), `_meta.disable`.
 *
 * Deliberate differences: a method outside the protocol enum gets 405 (APISIX fails
 * such a request with a Lua error, most likely 500); framing headers
 * (`Content-Length`, `Transfer-Encoding`, `Connection`, `Keep-Alive`) a runner puts
 * in an HTTPRespCall header set are left to Node so the response stays well formed;
 * `_meta.error_response` and `_meta.filter` are not supported.
 */
import { once } from 'node:events';
import { Agent, STATUS_CODES, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { assertNever } from '../errors.js';
import type { DecodedExtraInfoQuestion, DecodedReqCallAction, RunnerReply } from '../protocol/gateway-codec.js';
import { METHOD_NAMES, type RawEntry } from '../protocol/messages.js';
import { GatewayClient } from './gateway-client.js';
import type { ExtraInfoAnswerer } from './gateway-connection.js';
import { resolveVar } from './gateway-vars.js';
import { HeaderList, withoutHopByHop } from './header-list.js';
import { escapeUpstreamPath, normaliseRequestPath, parseQueryArgs, patchQueryArgs, serialiseQueryArgs } from './nginx-uri.js';
import { ProxiedRequest } from './proxied-request.js';
import type { GatewayRoute, RoutePhase } from './routes-file.js';

/** OpenResty hands at most this many request header lines to Lua. */
export const MAX_CALL_HEADERS = 100;

/**
 * Response headers the gateway never takes from a runner's Rewrite `resp_headers`
 * and never copies from the upstream in a header-less HTTPRespCall reply.
 */
export const EXCLUDED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'content-length',
  'transfer-encoding',
  'location',
  'server',
  'www-authenticate',
  'content-encoding',
  'content-type',
  'content-location',
  'content-language',
]);

/** Headers Node frames itself; a runner-supplied value would make the response inconsistent. */
const FRAMING_HEADERS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** APISIX's `default_type`: what a client sees when nobody set a Content-Type. */
const DEFAULT_CONTENT_TYPE = 'text/plain';

/** The gateway's call id: worker id in the high bits, a counter wrapping at 2^22 below. */
const CALL_ID_COUNTER_LIMIT = 2 ** 22;

export interface HttpGatewayOptions {
  /** The runner's Unix socket. */
  readonly socketPath: string;
  readonly routes: readonly GatewayRoute[];
  /** Listen host; default 127.0.0.1. */
  readonly host?: string;
  /** Listen port; default 0 (any free port). */
  readonly port?: number;
  /** Warnings (runner failures, degradations) go here; silent by default. */
  readonly logger?: Logger;
}

export interface RunningHttpGateway {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** The runner client (tests read its PrepareConf count). */
  readonly client: GatewayClient;
  /** Stop listening, drop idle runner and upstream connections. Idempotent. */
  close(): Promise<void>;
}

/** What a request phase decided. */
type PhaseResult = 'continue' | 'responded';

/**
 * Start the gateway. Rejects with the listen error (e.g. `EADDRINUSE`) so a caller
 * can fall back to another port.
 */
export async function startHttpGateway(options: HttpGatewayOptions): Promise<RunningHttpGateway> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const client = new GatewayClient(options.socketPath);
  const agent = new Agent({ keepAlive: true });
  let callCounter = 0;
  const nextCallId = (): number => {
    const id = callCounter;
    callCounter = (callCounter + 1) % CALL_ID_COUNTER_LIMIT;
    return id;
  };

  const server = createServer((req, res) => {
    const port = (server.address() as AddressInfo).port;
    const gateway: GatewayContext = { client, agent, logger, nextCallId, routes: options.routes, port };
    handleRequest(gateway, req, res).catch((err: unknown) => {
      logger.error({ err_class: err instanceof Error ? err.name : typeof err, err_message: err instanceof Error ? err.message : '' }, 'gateway failure');
      if (!res.headersSent) sendDefault(res, 500);
      else res.destroy();
    });
  });

  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    client,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        client.close();
        agent.destroy();
      });
      return closing;
    },
  };
}

interface GatewayContext {
  readonly client: GatewayClient;
  readonly agent: Agent;
  readonly logger: Logger;
  readonly nextCallId: () => number;
  readonly routes: readonly GatewayRoute[];
  readonly port: number;
}

// ---------------------------------------------------------------------------
// Routing and the phase sequence

/** Exact `uri` first, then the longest `*` prefix; `methods` must include the method when set. */
export function matchRoute(routes: readonly GatewayRoute[], path: string, method: string): GatewayRoute | null {
  const allowed = (route: GatewayRoute) => route.methods === null || route.methods.includes(method);
  const exact = routes.find((route) => !route.uri.endsWith('*') && route.uri === path && allowed(route));
  if (exact !== undefined) return exact;
  let best: GatewayRoute | null = null;
  for (const route of routes) {
    if (!route.uri.endsWith('*') || !allowed(route)) continue;
    const prefix = route.uri.slice(0, -1);
    if (path.startsWith(prefix) && (best === null || prefix.length > best.uri.length - 1)) best = route;
  }
  return best;
}

async function handleRequest(gateway: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestUri = req.url ?? '/';
  const queryAt = requestUri.indexOf('?');
  const rawPath = queryAt < 0 ? requestUri : requestUri.slice(0, queryAt);
  const query = queryAt < 0 ? null : requestUri.slice(queryAt + 1);
  const uri = rawPath.startsWith('/') ? normaliseRequestPath(rawPath) : null;
  if (uri === null) {
    sendDefault(res, 400);
    return;
  }
  const method = req.method ?? 'GET';
  const route = matchRoute(gateway.routes, uri.toString('utf8'), method);
  if (route === null) {
    // APISIX's own answer when no route matches.
    sendBody(res, 404, new HeaderList(), Buffer.from('{"error_msg":"404 Route Not Found"}\n'), 'application/json');
    return;
  }
  const request = new ProxiedRequest({ req, route, requestUri, rawPath, uri, query, serverPort: gateway.port });
  const phases = route.phases.filter((phase) => !phase.disabled);
  if (phases.length > 0 && !(METHOD_NAMES as readonly string[]).includes(method)) {
    sendDefault(res, 405);
    return;
  }

  for (const phase of phases) {
    if (phase.phase === 'ext-plugin-post-resp') continue;
    if ((await runRequestPhase(gateway, request, phase, res)) === 'responded') return;
  }
  const responsePhase = phases.find((phase) => phase.phase === 'ext-plugin-post-resp');
  if (responsePhase === undefined) await proxy(gateway, request, res);
  else await proxyThroughResponsePhase(gateway, request, responsePhase, res);
}

// ---------------------------------------------------------------------------
// HTTPReqCall

async function runRequestPhase(gateway: GatewayContext, request: ProxiedRequest, phase: RoutePhase, res: ServerResponse): Promise<PhaseResult> {
  let reply: RunnerReply;
  try {
    ({ reply } = await gateway.client.reqCall(phase, buildReqCall(gateway, request), requestAnswerer(request)));
  } catch (err) {
    return phaseFailed(gateway, phase, request, res, `call failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (reply.type === 'error') return phaseFailed(gateway, phase, request, res, `runner answered error code ${reply.code}`);
  if (reply.type !== 'req_call') return phaseFailed(gateway, phase, request, res, `unexpected reply type ${reply.type}`);
  return applyReqCallAction(request, reply.action, res);
}

function phaseFailed(gateway: GatewayContext, phase: RoutePhase, request: ProxiedRequest, res: ServerResponse, why: string): PhaseResult {
  if (phase.allowDegradation) {
    gateway.logger.warn({ route_key: phase.key, why }, 'runner failed; allow degradation: continuing without the phase plugin');
    return 'continue';
  }
  gateway.logger.warn({ route_key: phase.key, why }, 'runner failed; answering 503');
  sendDefault(res, 503, request.respHeaders.copy());
  return 'responded';
}

/** The HTTPReqCall fields as the gateway fills them (reference 5.2). */
function buildReqCall(gateway: GatewayContext, request: ProxiedRequest) {
  // After a Rewrite `path`, a later call sees the upstream URI the gateway holds.
  const path: string | Uint8Array = request.upstreamPath ?? request.uri;
  const args = parseQueryArgs(request.query).flatMap((group) => group.values.map((value) => ({ name: group.name, value })));
  const headers = headerLinesForCall(request);
  return {
    id: gateway.nextCallId(),
    method: (METHOD_NAMES as readonly string[]).indexOf(request.method),
    srcIp: request.binaryRemoteAddress,
    path,
    args,
    headers,
  };
}

function headerLinesForCall(request: ProxiedRequest): Array<{ name: string; value: Buffer }> {
  const capped = new HeaderList();
  for (const [name, value] of request.headers.entries().slice(0, MAX_CALL_HEADERS)) capped.append(name, value);
  return capped.grouped().map(([name, value]) => ({
    name,
    value: Buffer.from(name === 'host' ? request.upstreamHost : value, 'latin1'),
  }));
}

function requestAnswerer(request: ProxiedRequest): ExtraInfoAnswerer {
  return async (question: DecodedExtraInfoQuestion) => {
    switch (question.kind) {
      case 'var':
        return resolveVar(request, Buffer.from(question.name).toString('latin1'));
      case 'req_body': {
        const body = await request.readBody();
        return body.length === 0 ? null : body;
      }
      case 'resp_body':
        // No upstream response yet; the gateway logs "not exits" and answers nothing.
        return null;
      case 'unknown':
        return null; // GatewayConnection aborts the call before asking.
      default:
        return assertNever(question);
    }
  };
}

async function applyReqCallAction(request: ProxiedRequest, action: DecodedReqCallAction, res: ServerResponse): Promise<PhaseResult> {
  switch (action.kind) {
    case 'none':
      return 'continue';
    case 'stop': {
      // 5.4: names lower-cased; first of a name sets, later ones append; a
      // valueless first entry removes the header. Nothing is filtered.
      // Response headers set by an earlier phase's Rewrite are already on the response.
      const headers = request.respHeaders.copy();
      applyHeaderEntries(headers, action.headers, { filter: null });
      const body = action.body !== null && action.body.length > 0 ? Buffer.from(action.body) : null;
      const status = action.status === 0 ? 200 : action.status;
      if (body === null) sendDefault(res, status, headers);
      else sendBody(res, status, headers, body, DEFAULT_CONTENT_TYPE);
      return 'responded';
    }
    case 'rewrite':
      await applyRewrite(request, action);
      return 'continue';
    default:
      return assertNever(action);
  }
}

/** Reference 5.5, in the gateway's order. */
async function applyRewrite(request: ProxiedRequest, action: Extract<DecodedReqCallAction, { kind: 'rewrite' }>): Promise<void> {
  // 1. path: escaped Nginx-style; the query is appended in step 6.
  if (action.path !== null) request.upstreamPath = escapeUpstreamPath(action.path);
  // 2. headers: set (replacing every value) or delete; `host` also sets the upstream Host.
  for (const entry of action.headers) {
    const name = latin1(entry.name);
    if (entry.value === null) {
      request.headers.delete(name);
      continue;
    }
    const value = latin1(entry.value);
    request.headers.set(name, value);
    if (name.toLowerCase() === 'host') request.upstreamHost = value;
  }
  // 3. body: only a non-empty one replaces (Content-Length follows when proxying).
  if (action.body !== null && action.body.length > 0) await request.replaceBody(Buffer.from(action.body));
  // 4. resp_headers: excluded names silently ignored.
  applyHeaderEntries(request.respHeaders, action.respHeaders, { filter: EXCLUDED_RESPONSE_HEADERS });
  // 5. args: a patch on the current arguments, re-serialised.
  if (action.args.length > 0) {
    request.query = serialiseQueryArgs(patchQueryArgs(parseQueryArgs(request.query), action.args));
  }
  // 6. the upstream URI is assembled from upstreamPath and query when proxying.
}

/**
 * Apply `entries` to a response header list the way the gateway does for Stop,
 * `resp_headers` and HTTPRespCall: lower-cased names, the first entry of a name in
 * this list sets (replacing what was there), later ones append.
 */
function applyHeaderEntries(target: HeaderList, entries: readonly RawEntry[], options: { filter: ReadonlySet<string> | null }): void {
  const seen = new Set<string>();
  for (const entry of entries) {
    const name = latin1(entry.name).toLowerCase();
    if (options.filter?.has(name)) continue;
    const first = !seen.has(name);
    seen.add(name);
    if (entry.value === null) {
      if (first) target.delete(name);
      continue;
    }
    const value = latin1(entry.value);
    if (first) target.set(name, value);
    else target.append(name, value);
  }
}

// ---------------------------------------------------------------------------
// Proxying

/** Send the request upstream as Nginx would (`proxy_set_header` lines of APISIX's template). */
async function forwardUpstream(gateway: GatewayContext, request: ProxiedRequest): Promise<IncomingMessage> {
  const headers = withoutHopByHop(request.headers);
  headers.set('Host', request.upstreamHost);
  const remote = request.remoteAddress;
  const forwardedFor = request.headers.getAll('x-forwarded-for');
  headers.set('X-Real-IP', remote);
  headers.set('X-Forwarded-For', [...forwardedFor, remote].join(', '));
  if (!headers.has('x-forwarded-proto')) headers.set('X-Forwarded-Proto', 'http');
  if (!headers.has('x-forwarded-host')) headers.set('X-Forwarded-Host', request.upstreamHost.split(':')[0] ?? '');
  if (!headers.has('x-forwarded-port')) headers.set('X-Forwarded-Port', String(gateway.port));

  const body = request.bufferedBody;
  if (body !== null) {
    headers.delete('content-length');
    if (body.length > 0 || request.req.headers['content-length'] !== undefined || request.req.headers['transfer-encoding'] !== undefined) {
      headers.set('Content-Length', String(body.length));
    }
  } else if (request.req.headers['transfer-encoding'] !== undefined) {
    // The body is streamed with chunked framing, which Node adds itself.
    headers.delete('content-length');
  }

  const upstream = request.route.upstream;
  const outgoing = httpRequest({
    host: upstream.hostname.replace(/^\[|\]$/g, ''),
    port: upstream.port === '' ? 80 : Number(upstream.port),
    method: request.method,
    path: request.upstreamTarget,
    headers: headers.flat(),
    setHost: false,
    agent: gateway.agent,
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    outgoing.once('response', resolve);
    outgoing.once('error', reject);
  });
  if (body !== null) outgoing.end(body);
  else request.req.pipe(outgoing);
  return response;
}

/** Plain proxying: upstream status, headers (hop-by-hop removed) and streamed body, plus queued resp_headers. */
async function proxy(gateway: GatewayContext, request: ProxiedRequest, res: ServerResponse): Promise<void> {
  let upstream: IncomingMessage;
  try {
    upstream = await forwardUpstream(gateway, request);
  } catch (err) {
    gateway.logger.warn({ route_id: request.route.id, err_message: err instanceof Error ? err.message : String(err) }, 'upstream request failed');
    sendDefault(res, 502);
    return;
  }
  const headers = withoutHopByHop(HeaderList.fromRaw(upstream.rawHeaders));
  for (const [name, value] of request.respHeaders.entries()) headers.set(name, value);
  // Keep the upstream's framing when it declared a length; otherwise Node chunks.
  res.writeHead(upstream.statusCode ?? 502, headers.flat());
  await pipeToClient(upstream, res);
}

// ---------------------------------------------------------------------------
// HTTPRespCall (reference 7)

async function proxyThroughResponsePhase(gateway: GatewayContext, request: ProxiedRequest, phase: RoutePhase, res: ServerResponse): Promise<void> {
  let upstream: IncomingMessage;
  try {
    upstream = await forwardUpstream(gateway, request);
  } catch (err) {
    // 7.1: the upstream request failed, the runner is not called.
    gateway.logger.warn({ route_id: request.route.id, err_message: err instanceof Error ? err.message : String(err) }, 'upstream request failed');
    sendDefault(res, 502);
    return;
  }
  const upstreamStatus = upstream.statusCode ?? 502;
  let upstreamBody: Promise<Buffer> | null = null;
  const readUpstreamBody = (): Promise<Buffer> => {
    upstreamBody ??= (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of upstream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    })();
    return upstreamBody;
  };

  const answer: ExtraInfoAnswerer = async (question) => {
    if (question.kind === 'resp_body') return readUpstreamBody();
    return requestAnswerer(request)(question);
  };
  const rawHeaders = upstream.rawHeaders;
  const upstreamEntries: Array<{ name: string; value: Buffer }> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    // Quirk kept from the gateway: an entry named exactly `host` carries the upstream Host.
    upstreamEntries.push({ name, value: Buffer.from(name === 'host' ? request.upstreamHost : rawHeaders[i + 1]!, 'latin1') });
  }

  let reply: RunnerReply | null = null;
  let failure: string | null = null;
  try {
    ({ reply } = await gateway.client.respCall(phase, { id: gateway.nextCallId(), status: upstreamStatus, headers: upstreamEntries }, answer));
    if (reply.type === 'error') failure = `runner answered error code ${reply.code}`;
    else if (reply.type !== 'resp_call') failure = `unexpected reply type ${reply.type}`;
  } catch (err) {
    failure = `call failed: ${err instanceof Error ? err.message : String(err)}`;
  }

  if (failure !== null || reply === null || reply.type !== 'resp_call') {
    // 7.4: no header copying happens; the status is 503 unless the route degrades.
    gateway.logger.warn({ route_key: phase.key, why: failure }, phase.allowDegradation ? 'runner failed; allow degradation' : 'runner failed; answering 503 with the upstream body');
    const headers = new HeaderList();
    headers.set('content-type', DEFAULT_CONTENT_TYPE);
    for (const [name, value] of request.respHeaders.entries()) headers.set(name, value);
    await sendUpstreamBody(res, phase.allowDegradation ? upstreamStatus : 503, headers, upstream, upstreamBody);
    return;
  }

  const headers = new HeaderList();
  if (reply.headers !== null && reply.headers.length > 0) {
    // The runner's list is the complete header set.
    applyHeaderEntries(headers, reply.headers, { filter: null });
    for (const name of FRAMING_HEADERS) headers.delete(name);
  } else {
    for (const [name, value] of HeaderList.fromRaw(upstream.rawHeaders).entries()) {
      const lower = name.toLowerCase();
      if (!EXCLUDED_RESPONSE_HEADERS.has(lower) && !FRAMING_HEADERS.has(lower)) headers.append(name, value);
    }
  }
  if (!headers.has('content-type')) headers.set('content-type', DEFAULT_CONTENT_TYPE);
  for (const [name, value] of request.respHeaders.entries()) headers.set(name, value);
  const status = reply.status === 0 ? upstreamStatus : reply.status;

  if (reply.body !== null && reply.body.length > 0) {
    upstream.resume(); // the replaced body is not needed
    sendBody(res, status, headers, Buffer.from(reply.body), DEFAULT_CONTENT_TYPE);
    return;
  }
  await sendUpstreamBody(res, status, headers, upstream, upstreamBody);
}

async function sendUpstreamBody(res: ServerResponse, status: number, headers: HeaderList, upstream: IncomingMessage, read: Promise<Buffer> | null): Promise<void> {
  if (read !== null) {
    const body = await read;
    headers.set('content-length', String(body.length));
    res.writeHead(status, headers.flat());
    res.end(body);
    return;
  }
  res.writeHead(status, headers.flat());
  await pipeToClient(upstream, res);
}

/** Stream an upstream body to the client; a broken upstream stream aborts the client response. */
async function pipeToClient(upstream: IncomingMessage, res: ServerResponse): Promise<void> {
  upstream.once('error', () => res.destroy());
  upstream.pipe(res);
  if (!res.writableFinished) await once(res, 'close');
}

// ---------------------------------------------------------------------------
// Writing responses

function sendBody(res: ServerResponse, status: number, headers: HeaderList, body: Buffer, defaultType: string): void {
  if (!headers.has('content-type')) headers.set('content-type', defaultType);
  headers.set('content-length', String(body.length));
  res.writeHead(status, headers.flat());
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * A response without a runner-supplied body. For error statuses Nginx sends its
 * default error page; that is what a client of APISIX sees.
 */
function sendDefault(res: ServerResponse, status: number, headers: HeaderList = new HeaderList()): void {
  if (status < 400) {
    headers.set('content-length', '0');
    res.writeHead(status, headers.flat());
    res.end();
    return;
  }
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  const page = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>apisix-jwt-runner dev gateway</center>\r\n</body>\r\n</html>\r\n`;
  headers.set('content-type', 'text/html');
  sendBody(res, status, headers, Buffer.from(page), 'text/html');
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
