/**
 * A small client for APISIX's Admin API (protocol reference, section 9.3): routes
 * only, JSON in and out, `X-API-KEY` authentication, a deadline on every request,
 * and one clear error per failure (refused key, missing route, nothing listening,
 * an answer that is not the Admin API's JSON). The admin key is never printed.
 */
import { ErrorCode, RunnerError } from '../../runner/errors.js';
import { usageError } from './exit.js';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9180';
export const DEFAULT_ADMIN_TIMEOUT_MS = 5000;
const ADMIN_PATH_PREFIX = '/apisix/admin';
/** APISIX's id rule for routes: 1-64 characters of letters, digits, `-`, `_`, `.`. */
const ROUTE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export interface AdminApiOptions {
  /** Base URL, e.g. `http://127.0.0.1:9180` (an `/apisix/admin` suffix is accepted). */
  readonly baseUrl: string;
  /** Value of the `X-API-KEY` header; undefined sends none. */
  readonly apiKey: string | undefined;
  readonly timeoutMs?: number;
}

/** A route as the Admin API stores it (the `value` of a GET answer). */
export type RouteBody = Record<string, unknown>;

export class AdminApiClient {
  readonly #base: URL;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number;

  /** @throws RunnerError `ERR_CLI_USAGE` for a base URL that is not http(s). */
  constructor(options: AdminApiOptions) {
    this.#base = parseAdminUrl(options.baseUrl);
    this.#apiKey = options.apiKey === '' ? undefined : options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
  }

  /** The base URL as it may be shown (no credentials, no trailing slash). */
  get displayUrl(): string {
    return `${this.#base.protocol}//${this.#base.host}${this.#base.pathname.replace(/\/$/, '')}`;
  }

  /** GET /apisix/admin/routes/{id}: the stored route. */
  async getRoute(id: string): Promise<RouteBody> {
    return routeValue(await this.#request('GET', routePath(id), id, undefined), this.displayUrl);
  }

  /** PATCH /apisix/admin/routes/{id} with `body` (merged into the stored route); the route after the merge. */
  async patchRoute(id: string, body: RouteBody): Promise<RouteBody> {
    return routeValue(await this.#request('PATCH', routePath(id), id, body), this.displayUrl);
  }

  async #request(method: 'GET' | 'PATCH', path: string, routeId: string, body: RouteBody | undefined): Promise<unknown> {
    const url = new URL(`${this.#base.pathname.replace(/\/$/, '')}${path}`, this.#base);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#apiKey !== undefined) headers['x-api-key'] = this.#apiKey;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const what = `${method} ${path}`;

    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
    } catch (cause) {
      throw new RunnerError(ErrorCode.ADMIN_API, `${connectionProblem(cause, this.#timeoutMs)} (Admin API at ${this.displayUrl}, ${what})`, { cause });
    }
    const text = await readBody(response, this.#timeoutMs, this.displayUrl);

    if (response.status === 401 || response.status === 403) {
      const advice = this.#apiKey === undefined ? 'no admin key was given' : 'the admin key was refused';
      throw new RunnerError(
        ErrorCode.ADMIN_API,
        `the Admin API at ${this.displayUrl} answered HTTP ${response.status} to ${what}: ${advice}; ` +
          'pass --admin-key or set APISIX_ADMIN_KEY (deployment.admin.admin_key in APISIX config.yaml)',
      );
    }
    if (response.status === 404) {
      throw new RunnerError(ErrorCode.ADMIN_API, `route ${JSON.stringify(routeId)} not found: the Admin API at ${this.displayUrl} answered HTTP 404 to ${what}`);
    }
    const parsed = parseJson(text);
    if (!response.ok) {
      const detail = parsed.ok ? apisixMessage(parsed.value) : undefined;
      throw new RunnerError(
        ErrorCode.ADMIN_API,
        `the Admin API at ${this.displayUrl} answered HTTP ${response.status} to ${what}${detail === undefined ? '' : `: ${detail}`}`,
      );
    }
    if (!parsed.ok) {
      const type = response.headers.get('content-type') ?? 'none';
      throw new RunnerError(
        ErrorCode.ADMIN_API,
        `the answer to ${what} from ${this.displayUrl} is not JSON (content-type: ${type}); ` +
          "is --admin-url APISIX's Admin API (port 9180 by default)?",
      );
    }
    return parsed.value;
  }
}

/** Validate a route id before it goes into a URL path. */
export function checkRouteId(id: string): string {
  if (!ROUTE_ID_PATTERN.test(id)) {
    throw usageError('ROUTE_ID must be 1-64 characters of letters, digits, "-", "_" or "."');
  }
  return id;
}

function parseAdminUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError('--admin-url (or APISIX_ADMIN_URL) is not a URL; expected e.g. http://127.0.0.1:9180');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`--admin-url must be http:// or https://, got ${url.protocol}//`);
  }
  if (url.search !== '' || url.hash !== '') throw usageError('--admin-url must not have a query or fragment');
  // Accept both the server root and the documented prefix as the base.
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith(ADMIN_PATH_PREFIX) ? path.slice(0, -ADMIN_PATH_PREFIX.length) || '/' : path || '/';
  url.username = '';
  url.password = '';
  return url;
}

function routePath(id: string): string {
  return `${ADMIN_PATH_PREFIX}/routes/${encodeURIComponent(checkRouteId(id))}`;
}

/** APISIX 3.x answers `{key, value, …}`; 2.x answered `{node: {key, value}, action}`. */
function routeValue(answer: unknown, base: string): RouteBody {
  const value = isObject(answer) ? (answer['value'] ?? (isObject(answer['node']) ? answer['node']['value'] : undefined)) : undefined;
  if (!isObject(value)) {
    throw new RunnerError(ErrorCode.ADMIN_API, `the Admin API at ${base} answered without a route object ("value")`);
  }
  return value;
}

function apisixMessage(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const message = body['error_msg'] ?? body['message'];
  return typeof message === 'string' ? message.slice(0, 300) : undefined;
}

function connectionProblem(cause: unknown, timeoutMs: number): string {
  if (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`;
  }
  const code = errnoCode(cause instanceof Error ? cause.cause : undefined) ?? errnoCode(cause);
  if (code === 'ECONNREFUSED') return 'connection refused: is APISIX running and is its Admin API enabled?';
  return `cannot reach the Admin API${code === undefined ? '' : ` (${code})`}`;
}

async function readBody(response: Response, timeoutMs: number, base: string): Promise<string> {
  try {
    return await response.text();
  } catch (cause) {
    throw new RunnerError(ErrorCode.ADMIN_API, `reading the answer from ${base} failed: ${connectionProblem(cause, timeoutMs)}`, { cause });
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function errnoCode(err: unknown): string | undefined {
  if (!isObject(err)) return undefined;
  const code = err['code'];
  return typeof code === 'string' ? code : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
