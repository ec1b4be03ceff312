/**
 * End-to-end kit for jwt-auth through the built runner: tokens valid on the real
 * clock (the runner process cannot be frozen), a route caller that speaks the
 * ext-plugin protocol over the runner's socket (one PrepareConf key per distinct
 * conf, ExtraInfo answered from the test's variables and body), a readable view of
 * the runner's reply, and a ledger of every token and secret a test used so the
 * runner's log can be searched for leaks afterwards.
 */
import type { KeyObject } from 'node:crypto';
import { GatewayClient, type PhaseConf } from '../../runner/gateway/gateway-client.js';
import type { ConversationResult, ExtraInfoAnswerer } from '../../runner/gateway/gateway-connection.js';
import type { DecodedExtraInfoQuestion, RunnerReply } from '../../runner/protocol/gateway-codec.js';
import { METHOD_NAMES, type RawEntry } from '../../runner/protocol/messages.js';
import { mint } from './jwt-kit.js';

/** The real clock in whole seconds: the runner under test reads `Date.now()`. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Every token and secret used against the runner: none of them may ever appear in its log. */
export class LeakLedger {
  readonly #values = new Set<string>();

  /** Remember values that must never be logged (tokens, secrets, PEM bodies). */
  remember(...values: string[]): void {
    for (const value of values) if (value.length >= 8) this.#values.add(value);
  }

  /** Remember a token and its signature segment (a log holding only the signature still leaks it). */
  rememberToken(token: string): string {
    this.remember(token);
    const signature = token.split('.').at(-1) ?? '';
    if (signature.length >= 16) this.remember(signature);
    return token;
  }

  get size(): number {
    return this.#values.size;
  }

  /** The remembered values that occur in `lines`, each with the first line holding it. */
  leaksIn(lines: readonly string[]): Array<{ value: string; line: string }> {
    const leaks: Array<{ value: string; line: string }> = [];
    for (const value of this.#values) {
      const line = lines.find((candidate) => candidate.includes(value));
      if (line !== undefined) leaks.push({ value: `${value.slice(0, 12)}…`, line: line.slice(0, 300) });
    }
    return leaks;
  }
}

/**
 * A compact JWS signed by hand (node:crypto, no JWT library) that is valid now:
 * `iat` a few seconds ago, `exp` ten minutes ahead, `sub` alice, unless `claims`
 * overrides them (an `undefined` value removes the claim).
 */
export function liveToken(
  alg: string,
  key: KeyObject | string | Uint8Array,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): string {
  const now = nowSeconds();
  const payload: Record<string, unknown> = { sub: 'alice', iat: now - 5, exp: now + 600, ...claims };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return mint({ alg, typ: 'JWT', ...header }, payload, key);
}

/** One request as the gateway would describe it in an HTTPReqCall. */
export interface E2eRequest {
  readonly method?: string;
  readonly path?: string;
  /** Header lines, lower-cased names as the gateway sends them; repeated names allowed. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  /** Query arguments in order; null is a valueless argument. */
  readonly args?: ReadonlyArray<readonly [string, string | null]>;
  /** Answers to ExtraInfo Var questions (e.g. `scheme`); unknown variables are absent. */
  readonly vars?: Readonly<Record<string, string>>;
  /** Answer to the ExtraInfo ReqBody question; null = no body. */
  readonly body?: string | null;
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

function lastEntry(entries: readonly RawEntry[], name: string, caseInsensitive: boolean): RawEntry | undefined {
  const wanted = caseInsensitive ? name.toLowerCase() : name;
  let found: RawEntry | undefined;
  for (const entry of entries) {
    if ((caseInsensitive ? text(entry.name).toLowerCase() : text(entry.name)) === wanted) found = entry;
  }
  return found;
}

/** The runner's answer to one HTTPReqCall, with the questions it asked on the way. */
export class E2eReply {
  readonly reply: RunnerReply;
  readonly questions: readonly DecodedExtraInfoQuestion[];

  constructor(result: ConversationResult) {
    this.reply = result.reply;
    this.questions = result.questions;
  }

  /** `pass` for Rewrite or no action, `stop`, or `error` for an RPC error frame. */
  get kind(): 'pass' | 'stop' | 'error' {
    if (this.reply.type === 'error') return 'error';
    if (this.reply.type !== 'req_call') throw new Error(`unexpected reply ${this.reply.type}`);
    return this.reply.action.kind === 'stop' ? 'stop' : 'pass';
  }

  /** The Stop status, or 0 when the request passes (what the gateway would proxy). */
  get status(): number {
    const action = this.#action();
    return action.kind === 'stop' ? action.status : 0;
  }

  /** A Stop response header. */
  stopHeader(name: string): string | undefined {
    const action = this.#action();
    if (action.kind !== 'stop') throw new Error(`expected a stop, the request passed`);
    const entry = lastEntry(action.headers, name, true);
    return entry?.value === null || entry === undefined ? undefined : text(entry.value);
  }

  /** The Stop body as text ('' when absent). */
  get stopBody(): string {
    const action = this.#action();
    if (action.kind !== 'stop') throw new Error(`expected a stop, the request passed`);
    return action.body === null ? '' : text(action.body);
  }

  /** The Stop body parsed as JSON. */
  stopJson(): Record<string, unknown> {
    return JSON.parse(this.stopBody) as Record<string, unknown>;
  }

  /** Upstream request header change: the new value, null when deleted, undefined when untouched. */
  headerChange(name: string): string | null | undefined {
    const action = this.#action();
    if (action.kind !== 'rewrite') return undefined;
    const entry = lastEntry(action.headers, name, true);
    if (entry === undefined) return undefined;
    return entry.value === null ? null : text(entry.value);
  }

  /** Names of every header the Rewrite sets or deletes, lower-cased. */
  get changedHeaders(): string[] {
    const action = this.#action();
    return action.kind === 'rewrite' ? action.headers.map((entry) => text(entry.name).toLowerCase()) : [];
  }

  /** Query argument change: new values, null when deleted, undefined when untouched. */
  argChange(name: string): string[] | null | undefined {
    const action = this.#action();
    if (action.kind !== 'rewrite') return undefined;
    const entries = action.args.filter((entry) => text(entry.name) === name);
    if (entries.length === 0) return undefined;
    if (entries.length === 1 && entries[0]!.value === null) return null;
    return entries.map((entry) => (entry.value === null ? '' : text(entry.value)));
  }

  /** The replacement request body, or null when the body is left alone. */
  get newBody(): string | null {
    const action = this.#action();
    return action.kind === 'rewrite' && action.body !== null ? text(action.body) : null;
  }

  /** Whether the runner asked this ExtraInfo question. */
  asked(kind: 'req_body' | 'var', varName?: string): boolean {
    return this.questions.some(
      (question) => question.kind === kind && (varName === undefined || (question.kind === 'var' && text(question.name) === varName)),
    );
  }

  #action() {
    if (this.reply.type !== 'req_call') {
      throw new Error(`expected an HTTPReqCall reply, got ${this.reply.type}${this.reply.type === 'error' ? ` code ${this.reply.code}` : ''}`);
    }
    return this.reply.action;
  }
}

/**
 * Calls routes of a running runner the way APISIX does. Each distinct conf gets its
 * own PrepareConf key (a route of its own), prepared once and reused, so a test file
 * can exercise many routes on one runner process.
 */
export class RouteCaller {
  readonly client: GatewayClient;
  readonly ledger: LeakLedger;
  readonly #routes = new Map<string, PhaseConf>();
  #callId = 0;

  constructor(socketPath: string, ledger: LeakLedger) {
    this.client = new GatewayClient(socketPath);
    this.ledger = ledger;
  }

  /** The phase conf (PrepareConf key and conf list) of a jwt-auth route conf. */
  route(conf: unknown): PhaseConf {
    const value = JSON.stringify(conf);
    let phase = this.#routes.get(value);
    if (phase === undefined) {
      phase = { key: `route#e2e-${this.#routes.size + 1}#ext-plugin-pre-req#1`, conf: [{ name: 'jwt-auth', value }] };
      this.#routes.set(value, phase);
    }
    return phase;
  }

  /** Run one request through the route of `conf`. */
  async call(conf: unknown, request: E2eRequest = {}): Promise<E2eReply> {
    for (const [, value] of request.headers ?? []) this.#rememberTokensIn(value);
    for (const [, value] of request.args ?? []) if (value !== null) this.#rememberTokensIn(value);
    if (request.body !== undefined && request.body !== null) this.#rememberTokensIn(request.body);
    const answer: ExtraInfoAnswerer = (question) => {
      if (question.kind === 'var') {
        const value = request.vars?.[text(question.name)];
        return value === undefined ? null : Buffer.from(value, 'utf8');
      }
      if (question.kind === 'req_body') {
        return request.body === undefined || request.body === null ? null : Buffer.from(request.body, 'utf8');
      }
      return null;
    };
    const method = METHOD_NAMES.indexOf((request.method ?? 'GET') as (typeof METHOD_NAMES)[number]);
    const result = await this.client.reqCall(
      this.route(conf),
      {
        id: (this.#callId += 1),
        method: method < 0 ? 0 : method,
        srcIp: Buffer.from([127, 0, 0, 1]),
        path: request.path ?? '/e2e',
        args: (request.args ?? []).map(([name, value]) => ({ name, value })),
        headers: (request.headers ?? []).map(([name, value]) => ({ name, value })),
      },
      answer,
    );
    return new E2eReply(result);
  }

  /** Bearer request headers for a token (remembered in the ledger). */
  bearer(token: string, extra: ReadonlyArray<readonly [string, string]> = []): E2eRequest {
    return { headers: [['authorization', `Bearer ${token}`], ...extra] };
  }

  close(): void {
    this.client.close();
  }

  /** Anything that looks like a compact JWS/JWE inside a value is a credential. */
  #rememberTokensIn(value: string): void {
    for (const match of value.matchAll(/[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){2,4}/g)) {
      this.ledger.rememberToken(match[0]);
    }
  }
}
