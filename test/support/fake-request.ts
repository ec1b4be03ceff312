/**
 * An in-memory RequestContext for plugin tests: headers as a multi-map (names
 * lower-cased, reads see changes), query args, gateway variables from a map, a body,
 * and a record of every change a plugin made, as the runner would turn them into a
 * Rewrite.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { abortSourceOf, type QueryArgs, type RequestContext, type RequestHeaders } from '../../runner/plugin-api/index.js';

export interface FakeRequestInit {
  readonly method?: string;
  readonly path?: string;
  /** Headers in order; a repeated name gives several values. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly args?: ReadonlyArray<readonly [string, string | null]>;
  readonly vars?: Readonly<Record<string, string | null>>;
  readonly body?: string | Uint8Array | null;
  readonly clientIp?: string | null;
  readonly routeKey?: string;
  readonly logger?: Logger;
}

/** Log lines captured by {@link captureLogger}. */
export interface CapturedLogs {
  readonly lines: string[];
  readonly logger: Logger;
}

/** A pino logger writing JSON lines into memory (level trace), for asserting what is logged. */
export function captureLogger(): CapturedLogs {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
  return { lines, logger };
}

class FakeHeaders implements RequestHeaders {
  entries: Array<[string, string]>;
  /** Names whose value the plugin replaced, with the last value set. */
  readonly setValues = new Map<string, string>();
  /** Names the plugin deleted (and did not set again afterwards). */
  readonly deleted = new Set<string>();

  constructor(initial: ReadonlyArray<readonly [string, string]>) {
    this.entries = initial.map(([name, value]) => [name.toLowerCase(), value]);
  }

  get(name: string): string | undefined {
    return this.entries.find(([n]) => n === name.toLowerCase())?.[1];
  }
  getAll(name: string): string[] {
    return this.entries.filter(([n]) => n === name.toLowerCase()).map(([, v]) => v);
  }
  getRaw(name: string): Uint8Array | undefined {
    const value = this.get(name);
    return value === undefined ? undefined : Buffer.from(value, 'utf8');
  }
  has(name: string): boolean {
    return this.count(name) > 0;
  }
  count(name: string): number {
    return this.getAll(name).length;
  }
  names(): string[] {
    return [...new Set(this.entries.map(([n]) => n))];
  }
  set(name: string, value: string | Uint8Array): void {
    const lower = name.toLowerCase();
    const text = typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
    this.entries = this.entries.filter(([n]) => n !== lower);
    this.entries.push([lower, text]);
    this.setValues.set(lower, text);
    this.deleted.delete(lower);
  }
  delete(name: string): void {
    const lower = name.toLowerCase();
    this.entries = this.entries.filter(([n]) => n !== lower);
    this.setValues.delete(lower);
    this.deleted.add(lower);
  }
}

class FakeArgs implements QueryArgs {
  entries: Array<[string, string | null]>;
  readonly deleted = new Set<string>();

  constructor(initial: ReadonlyArray<readonly [string, string | null]>) {
    this.entries = initial.map(([name, value]) => [name, value]);
  }
  get(name: string): string | null | undefined {
    const found = this.entries.find(([n]) => n === name);
    return found === undefined ? undefined : found[1];
  }
  getAll(name: string): Array<string | null> {
    return this.entries.filter(([n]) => n === name).map(([, v]) => v);
  }
  has(name: string): boolean {
    return this.entries.some(([n]) => n === name);
  }
  names(): string[] {
    return [...new Set(this.entries.map(([n]) => n))];
  }
  set(name: string, value: string | null): void {
    this.entries = this.entries.filter(([n]) => n !== name);
    this.entries.push([name, value]);
  }
  append(name: string, value: string | null): void {
    this.entries.push([name, value]);
  }
  delete(name: string): void {
    this.entries = this.entries.filter(([n]) => n !== name);
    this.deleted.add(name);
  }
}

export class FakeRequest implements RequestContext {
  readonly callId = 1;
  readonly routeKey: string;
  readonly logger: Logger;
  readonly #abort = new AbortController();
  readonly signal: AbortSignal = this.#abort.signal;
  /** How many times a plugin started watching for the call's abort. */
  onAbortCalls = 0;
  readonly method: string;
  readonly clientIp: string | null;
  path: string;
  readonly headers: FakeHeaders;
  readonly args: FakeArgs;
  private readonly vars: Readonly<Record<string, string | null>>;
  private readonly requestBody: Uint8Array | null;
  /** Variables the plugin asked for, in order. */
  readonly varCalls: string[] = [];
  bodyCalls = 0;
  newBody: string | null = null;
  readonly responseHeaders: Array<[string, string]> = [];

  constructor(init: FakeRequestInit = {}) {
    this.method = init.method ?? 'GET';
    this.path = init.path ?? '/';
    this.headers = new FakeHeaders(init.headers ?? []);
    this.args = new FakeArgs(init.args ?? []);
    this.vars = init.vars ?? { scheme: 'https' };
    this.requestBody = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : (init.body ?? null);
    this.clientIp = init.clientIp ?? '127.0.0.1';
    this.routeKey = init.routeKey ?? 'route#1#ext-plugin-pre-req#1';
    this.logger = init.logger ?? pino({ level: 'silent' });
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    this.onAbortCalls += 1;
    return abortSourceOf(this.signal).onAbort(listener);
  }

  /** Abort the call, as the runner does when its deadline passes or the gateway hangs up. */
  abort(reason: unknown): void {
    this.#abort.abort(reason);
  }

  async var(name: string): Promise<string | null> {
    this.varCalls.push(name);
    return Object.hasOwn(this.vars, name) ? (this.vars[name] ?? null) : null;
  }
  setPath(path: string): void {
    this.path = path;
  }
  async body(): Promise<Uint8Array | null> {
    this.bodyCalls += 1;
    return this.requestBody;
  }
  setBody(body: string | Uint8Array): void {
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    if (text.length === 0) throw new Error('setBody: the gateway cannot clear a body');
    this.newBody = text;
  }
  addResponseHeader(name: string, value: string): void {
    this.responseHeaders.push([name, value]);
  }
}
