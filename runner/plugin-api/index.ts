/**
 * The plugin API: the only module a runner plugin may import from the runner.
 *
 * A plugin is a {@link Plugin} object built by a {@link PluginFactory}. The runner
 * builds every registered plugin once at start-up, validates each route's plugin
 * configuration against the plugin's JSON Schema at PrepareConf time (ajv, compiled
 * once, defaults applied, unknown fields rejected), calls {@link Plugin.prepare} once
 * per conf token, and then calls {@link Plugin.onRequest} / {@link Plugin.onResponse}
 * for every HTTP call quoting that token.
 *
 * Three kinds of failure, three channels:
 * - misuse (bad plugin definition) throws at start-up;
 * - infrastructure faults (a store down, a bug) are thrown from hooks and become RPC
 *   error replies (the gateway answers 503, or passes the request when the route
 *   allows degradation);
 * - policy decisions (a bad or expired token) are return values: {@link stop}.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export type { Logger } from 'pino';
export { RunnerError, ErrorCode, isRunnerError, assertNever } from '../errors.js';
export type { RunnerSettings, ProviderSettings, RedisSettings } from '../config/types.js';
export { JWS_ALGORITHMS, type JwsAlgorithm } from '../config/jws-algorithms.js';

/** What a hook may return. `undefined` means {@link CONTINUE}. */
export type Outcome = ContinueOutcome | StopOutcome;

export interface ContinueOutcome {
  readonly kind: 'continue';
}

/** Answer the client now; the request is not proxied and later plugins do not run. */
export interface StopOutcome {
  readonly kind: 'stop';
  /** HTTP status, 100-599. */
  readonly status: number;
  /** Response headers, in order; a repeated name becomes several values. */
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  /** Response body; strings are sent as UTF-8. */
  readonly body: string | Uint8Array | null;
}

export const CONTINUE: ContinueOutcome = Object.freeze({ kind: 'continue' });

/** Build a Stop outcome. */
export function stop(
  status: number,
  options: { headers?: ReadonlyArray<readonly [string, string]>; body?: string | Uint8Array | null } = {},
): StopOutcome {
  return { kind: 'stop', status, headers: options.headers ?? [], body: options.body ?? null };
}

/** Build a Stop outcome with a JSON body and `Content-Type: application/json`. */
export function stopJson(
  status: number,
  body: unknown,
  headers: ReadonlyArray<readonly [string, string]> = [],
): StopOutcome {
  return stop(status, {
    headers: [['content-type', 'application/json'], ...headers],
    body: JSON.stringify(body),
  });
}

/**
 * Request headers as the gateway sent them (names lower-cased, repeated names as
 * consecutive values, at most the first 100 headers). Reads see earlier plugins'
 * changes. Names are compared case-insensitively.
 */
export interface RequestHeaders {
  /** First value decoded as UTF-8, or undefined when absent. */
  get(name: string): string | undefined;
  /** Every value, in order, decoded as UTF-8. */
  getAll(name: string): string[];
  /** First value as raw bytes (a copy), or undefined. */
  getRaw(name: string): Uint8Array | undefined;
  has(name: string): boolean;
  /** Number of values the header has (0 when absent). */
  count(name: string): number;
  /** Distinct lower-cased names present. */
  names(): string[];
  /** Replace all values of `name` with one value (Rewrite `headers` entry). */
  set(name: string, value: string | Uint8Array): void;
  /** Remove the header upstream (Rewrite entry without value). A no-op when it is absent and never set. */
  delete(name: string): void;
}

/**
 * Query arguments, percent-decoded by the gateway. A valueless argument (`?k`) has
 * the value `null`; `?k=` has the empty string. Changes are diffed into Rewrite
 * `args` entries; unchanged arguments are never re-sent. The protocol cannot write
 * a valueless argument (an entry without value means delete), so a `null` written
 * by `set`/`append` — or restated by `append` — reaches the upstream as `k=`.
 */
export interface QueryArgs {
  get(name: string): string | null | undefined;
  getAll(name: string): Array<string | null>;
  has(name: string): boolean;
  names(): string[];
  /** Replace every value of `name` with one value (null = valueless). */
  set(name: string, value: string | null): void;
  /** Add a value after the existing ones. */
  append(name: string, value: string | null): void;
  delete(name: string): void;
}

/** Where a wait hears that its call was aborted; every call context is one. */
export interface AbortSource {
  /**
   * Run `listener` once when the call is aborted (when `signal` would abort), or at once
   * if it already was. Returns the function that stops watching: call it when the wait is
   * over. For waits that many calls make (a store lookup): no AbortSignal is created,
   * whose event-target bookkeeping costs a short-lived call about a kilobyte.
   */
  onAbort(listener: (reason: unknown) => void): () => void;
}

/** An AbortSignal as an {@link AbortSource}, for waits given a signal rather than a call context. */
export function abortSourceOf(signal: AbortSignal): AbortSource {
  return {
    onAbort(listener: (reason: unknown) => void): () => void {
      if (signal.aborted) {
        listener(signal.reason);
        return () => undefined;
      }
      const onAbort = (): void => listener(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      return () => signal.removeEventListener('abort', onAbort);
    },
  };
}

/** Context shared by both phases. */
interface CallContextBase extends AbortSource {
  /** The gateway's call id (unique per worker over time; informational). */
  readonly callId: number;
  /** The PrepareConf idempotency key of the route, e.g. `route#1#ext-plugin-pre-req#37`. */
  readonly routeKey: string;
  /** Child logger carrying call id, route key and plugin name. */
  readonly logger: Logger;
  /** Aborted when the per-call deadline passes or the gateway closes the connection. */
  readonly signal: AbortSignal;
  /**
   * A gateway variable (`scheme`, `remote_addr`, `route_id`, `http_x_foo`, …), fetched
   * through ExtraInfo once per call and cached. `null` when the gateway has no value;
   * `''` when the value is empty.
   */
  var(name: string): Promise<string | null>;
}

/** One HTTPReqCall as a plugin sees and changes it. */
export interface RequestContext extends CallContextBase {
  /** `GET`, `POST`, …; `UNKNOWN` for a method value outside the protocol enum. */
  readonly method: string;
  /** Client address (`203.0.113.7`, `2001:db8::1`), or null when the gateway sent none or an odd length. */
  readonly clientIp: string | null;
  /** Current path (percent-decoded form), including changes by earlier plugins. */
  readonly path: string;
  readonly headers: RequestHeaders;
  readonly args: QueryArgs;
  /** Change the upstream path (decoded form; `?` does not start a query). */
  setPath(path: string): void;
  /** The request body, fetched once through ExtraInfo; null when there is none. */
  body(): Promise<Uint8Array | null>;
  /** Replace the request body upstream (must be non-empty: the gateway cannot clear a body). */
  setBody(body: string | Uint8Array): void;
  /** Add a header to the eventual client response (Rewrite `resp_headers`; some names are ignored by the gateway). */
  addResponseHeader(name: string, value: string): void;
}

/** Upstream response headers for HTTPRespCall (names in upstream case; compared case-insensitively). */
export interface ResponseHeaders {
  get(name: string): string | undefined;
  getAll(name: string): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  append(name: string, value: string): void;
  delete(name: string): void;
  /** Every entry in order, as [name, value]. */
  entries(): Array<[string, string]>;
}

/** One HTTPRespCall (`ext-plugin-post-resp`) as a plugin sees and changes it. */
export interface ResponseContext extends CallContextBase {
  /** Upstream status, or the status set by an earlier plugin. */
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** The upstream body, fetched once through ExtraInfo; null when there is none. */
  body(): Promise<Uint8Array | null>;
  setStatus(status: number): void;
  /** Replace the response body (non-empty). */
  setBody(body: string | Uint8Array): void;
}

/** Runner-level services handed to a plugin factory once at start-up. */
export interface PluginEnv {
  /** The validated, frozen runner configuration. */
  readonly settings: import('../config/types.js').RunnerSettings;
  /** Logger bound to the plugin name. */
  readonly logger: Logger;
  /**
   * Registry the plugin registers its Prometheus metrics in; null when the runner's
   * metrics are off (then prom-client is never loaded: count nothing).
   */
  readonly metrics: Registry | null;
}

/** Per-token services handed to {@link Plugin.prepare}. */
export interface PrepareContext {
  readonly routeKey: string;
  readonly logger: Logger;
}

/**
 * A runner plugin. `Conf` is the route configuration after schema validation (with
 * defaults applied); `Prepared` is what {@link prepare} derives from it once per
 * conf token (imported keys, compiled matchers) and what every call receives.
 */
export interface Plugin<Conf = unknown, Prepared = Conf> {
  /** Name used in a route's `conf[].name`; 1-128 characters, unique in the runner. */
  readonly name: string;
  /** JSON Schema (draft 2020-12 subset ajv supports) for the route configuration. */
  readonly confSchema: Readonly<Record<string, unknown>>;
  /**
   * Derive per-token state. Runs at PrepareConf time, which the gateway serialises
   * across all workers: keep it fast and avoid network I/O. Throw a
   * {@link RunnerError} with code `ERR_CONFIG_INVALID` to reject the configuration;
   * the token then answers every call with a 503 Stop (fail closed).
   */
  prepare?(conf: Conf, ctx: PrepareContext): Prepared | Promise<Prepared>;
  /** Request phase (`ext-plugin-pre-req` and `ext-plugin-post-req`). */
  onRequest?(req: RequestContext, prepared: Prepared): Outcome | void | Promise<Outcome | void>;
  /** Response phase (`ext-plugin-post-resp`). */
  onResponse?(res: ResponseContext, prepared: Prepared): void | Promise<void>;
  /** Release plugin-level resources (clients, timers) at shutdown. Must be idempotent. */
  close?(): Promise<void>;
}

/** A plugin with its configuration types erased, as the registry holds it. */
export type AnyPlugin = Plugin<unknown, unknown>;

/** Builds a plugin once per runner process. */
export type PluginFactory = (env: PluginEnv) => AnyPlugin | Promise<AnyPlugin>;

/**
 * Helper that keeps a plugin's `Conf`/`Prepared` types attached to its hooks.
 */
export function definePlugin<Conf, Prepared = Conf>(plugin: Plugin<Conf, Prepared>): Plugin<Conf, Prepared> {
  return plugin;
}
