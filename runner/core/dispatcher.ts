/**
 * Transport-agnostic call handling: PrepareConf -> token, HTTPReqCall and
 * HTTPRespCall -> run the token's plugin chain -> one action. Failures are thrown
 * as RunnerErrors; the transport maps them to error frames with rpcErrorCodeFor.
 */
import { ErrorCode, RunnerError, assertNever } from '../errors.js';
import type { StopOutcome } from '../plugin-api/index.js';
import type {
  HTTPReqCallRequest,
  HTTPRespCallRequest,
  PrepareConfRequest,
  ReqCallAction,
  RespCallReply,
  StopAction,
} from '../protocol/messages.js';
import { decodeUtf8, encodeUtf8 } from './bytes.js';
import type { CallScope } from './call-scope.js';
import { LocalConfDirectory, type ConfDirectory } from './conf-directory.js';
import { ConfStore, type ConfToken } from './conf-store.js';
import type { ChainLink, ChainState, PluginRegistry, PreparedChain } from './plugin-registry.js';
import { NO_ACTION, RequestContextImpl, assertHeaderName, assertHeaderValue } from './request-context.js';
import { ResponseContextImpl } from './response-context.js';

export interface DispatcherOptions {
  readonly registry: PluginRegistry;
  readonly confExpireSeconds: number;
  readonly maxConfEntries: number;
  /** Token directory; a local ConfStore sized by the two options above when absent. */
  readonly directory?: ConfDirectory;
}

/** The body of the 503 a misconfigured route answers with: says what, names no secret. */
const MISCONFIGURED_BODY = JSON.stringify({
  error: 'runner_misconfigured',
  message: 'the route\'s runner plugin configuration is invalid; see the runner log',
});

const MISCONFIGURED_STOP: StopAction = Object.freeze({
  kind: 'stop',
  status: 503,
  headers: [{ name: 'content-type', value: 'application/json' }],
  body: encodeUtf8(MISCONFIGURED_BODY),
});

const EMPTY_RESPONSE_REPLY: RespCallReply = Object.freeze({ status: 0, headers: null, body: null });

export class Dispatcher {
  readonly #directory: ConfDirectory;

  constructor(options: DispatcherOptions) {
    this.#directory =
      options.directory ??
      new LocalConfDirectory(
        options.registry,
        new ConfStore<PreparedChain>({ confExpireSeconds: options.confExpireSeconds, maxEntries: options.maxConfEntries }),
      );
  }

  /** Answer a PrepareConf. Never throws for a bad conf: that yields a fail-closed chain. */
  prepareConf(request: PrepareConfRequest): ConfToken | Promise<ConfToken> {
    const key = request.key === null ? null : decodeUtf8(request.key);
    const entries = request.conf.map((entry) => ({
      name: decodeUtf8(entry.name),
      value: entry.value === null ? '' : decodeUtf8(entry.value),
    }));
    return this.#directory.prepare(key, entries);
  }

  /** Look a token up; throws (or rejects with) CONF_TOKEN_NOT_FOUND so the gateway re-prepares. */
  chainFor(token: number): PreparedChain | Promise<PreparedChain> {
    const chain = this.#directory.lookup(token);
    if (chain instanceof Promise) return chain.then((found) => found ?? tokenNotFound(token));
    return chain ?? tokenNotFound(token);
  }

  /**
   * Run the request chain. Returns the action synchronously when no plugin is
   * async (the pass-through fast path), or a promise.
   */
  handleReqCall(call: HTTPReqCallRequest, chain: PreparedChain, scope: CallScope): ReqCallAction | Promise<ReqCallAction> {
    const state = chain.state;
    if (state === null) return (chain.pending as Promise<ChainState>).then((settled) => this.#runRequest(call, settled, scope));
    return this.#runRequest(call, state, scope);
  }

  handleRespCall(call: HTTPRespCallRequest, chain: PreparedChain, scope: CallScope): RespCallReply | Promise<RespCallReply> {
    const state = chain.state;
    if (state === null) return (chain.pending as Promise<ChainState>).then((settled) => this.#runResponse(call, settled, scope));
    return this.#runResponse(call, state, scope);
  }

  #runRequest(call: HTTPReqCallRequest, state: ChainState, scope: CallScope): ReqCallAction | Promise<ReqCallAction> {
    switch (state.kind) {
      case 'failed':
        return MISCONFIGURED_STOP;
      case 'ready':
        break;
      default:
        return assertNever(state);
    }
    const { links } = state;
    if (links.length === 0) return NO_ACTION;
    return runLinks(links, 0, new RequestContextImpl(call, scope));
  }

  async #runResponse(call: HTTPRespCallRequest, state: ChainState, scope: CallScope): Promise<RespCallReply> {
    switch (state.kind) {
      case 'failed':
        // A failed response chain cannot stop the request any more: fail the call (503).
        throw new RunnerError(ErrorCode.PLUGIN_FAILED, 'the route\'s runner plugin configuration is invalid');
      case 'ready':
        break;
      default:
        return assertNever(state);
    }
    if (!state.hasResponseHooks && call.headers.length === 0) return EMPTY_RESPONSE_REPLY;
    const ctx = new ResponseContextImpl(call, scope);
    for (const link of state.links) {
      if (link.plugin.onResponse !== undefined) await link.plugin.onResponse(ctx, link.prepared);
    }
    return ctx.toReply();
  }
}

/**
 * Plugins run in conf order from `start`; the first Stop wins; synchronous hooks stay
 * synchronous (a module function, not a closure per call: this is every call's path).
 */
function runLinks(links: readonly ChainLink[], start: number, ctx: RequestContextImpl): ReqCallAction | Promise<ReqCallAction> {
  for (let i = start; i < links.length; i++) {
    const link = links[i]!;
    if (link.plugin.onRequest === undefined) continue;
    const result = link.plugin.onRequest(ctx, link.prepared);
    if (result instanceof Promise) {
      return result.then((outcome) => (outcome?.kind === 'stop' ? toStopAction(outcome) : runLinks(links, i + 1, ctx)));
    }
    if (result?.kind === 'stop') return toStopAction(result);
  }
  return ctx.toAction();
}

function tokenNotFound(token: number): never {
  throw new RunnerError(ErrorCode.CONF_TOKEN_NOT_FOUND, `conf token ${token} is unknown or expired`);
}

export function toStopAction(outcome: StopOutcome): StopAction {
  const { status } = outcome;
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new RunnerError(ErrorCode.PLUGIN_FAILED, `stop: ${status} is not an HTTP status (100-599)`);
  }
  const headers = outcome.headers.map(([name, value]) => {
    assertHeaderName(name);
    assertHeaderValue(name, value);
    return { name, value };
  });
  const body = outcome.body === null ? null : typeof outcome.body === 'string' ? encodeUtf8(outcome.body) : outcome.body;
  return { kind: 'stop', status, headers, body: body !== null && body.length > 0 ? body : null };
}
